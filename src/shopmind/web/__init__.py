"""The merchant dashboard: server-rendered pages on the API's FastAPI app (``/``; the API
stays under ``/v1``), with accounts, background jobs, charts and two languages."""
