"""shopmind — a self-hosted AI growth engine for online stores."""

__version__ = "0.1.0"
