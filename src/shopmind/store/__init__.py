"""The store: the only code that speaks SQL."""

from shopmind.store.db import Store, make_engine

__all__ = ["Store", "make_engine"]
