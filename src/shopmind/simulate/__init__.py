"""A seeded store simulator: catalog, shoppers, sessions, orders and reviews, with truth.

>>> from shopmind.simulate import SimulationConfig, simulate
>>> result = simulate(store, SimulationConfig(customers=1000, days=30), truth_path="truth.json")
... # doctest: +SKIP
"""

from shopmind.simulate.config import DEFAULT_CHANNELS, Channel, SimulationConfig
from shopmind.simulate.run import (
    Simulation,
    SimulationError,
    SimulationResult,
    iter_events,
    simulate,
)

__all__ = [
    "DEFAULT_CHANNELS",
    "Channel",
    "Simulation",
    "SimulationConfig",
    "SimulationError",
    "SimulationResult",
    "iter_events",
    "simulate",
]
