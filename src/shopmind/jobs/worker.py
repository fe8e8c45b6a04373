"""A job's own process: ``python -m shopmind.jobs.worker JOB_ID``.

Started by the server's ``JobRunner``; settings come as JSON in ``SHOPMIND_JOB_SETTINGS``
(so a server started with overrides runs its jobs with the same ones).
"""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path

from shopmind.config import Settings, load_settings
from shopmind.jobs.runner import SETTINGS_ENV, run_job
from shopmind.store.db import Store


def main(argv: list[str]) -> int:
    if len(argv) != 1 or not argv[0].isascii() or not argv[0].isdigit():
        print("usage: python -m shopmind.jobs.worker JOB_ID", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    state = os.environ.get(SETTINGS_ENV)
    if state:
        data = json.loads(state)
        data["workspace"] = Path(data["workspace"])
        settings = Settings.model_construct(**data)
    else:
        settings = load_settings(os.environ.get("SHOPMIND_WORKSPACE", "."))
    store = Store.from_settings(settings)
    try:
        run_job(store, settings, int(argv[0]))
    finally:
        store.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
