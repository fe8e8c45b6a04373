"""Growth insights: funnels, acquisition and attribution, cohorts, RFM segments, customer
lifetime value, experiments, trends and anomalies — and what to do next.

The store-wide analyses are Ibis expressions (:mod:`shopmind.insights.engine` opens the
backend: DuckDB reading the store by default, the PostgreSQL store itself, or Spark), so the
same code runs on every engine. The statistics on top of them (lifetime value, experiments)
are NumPy/SciPy on the small per-customer or per-arm tables the expressions return.
"""
