"""A running server's settings: change the workspace's file, apply at once what is safe.

The dashboard's Settings page and ``PATCH /v1/settings`` both call ``change_settings``:
``shopmind.config.update_settings`` checks and writes ``shopmind.toml`` (refusing keys set
by ``SHOPMIND_*`` variables and, over the network, ``database_url``); then the app's
settings take the new values of the changed keys, except ``RESTART_SETTINGS`` (the
address, the database, thread and worker counts: read only at the start). What applies
at once reaches everything that reads it:

- ``app.state.settings``, read per request (currency, score budget, log-in lock-out,
  session length, upload limit);
- the rate limiter (``RateLimiter.configure``);
- the job runner, whose next jobs get the new settings (batch size, currency, versions
  kept).

A server of several worker processes (``app_from_env``) applies nothing at once: one
worker cannot tell the others, so every change waits for the next start there.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from shopmind.config import (
    CLI_ONLY_SETTINGS,
    RESTART_SETTINGS,
    SettingInfo,
    Settings,
    Value,
    describe_settings,
    update_settings,
)

RATE_SETTINGS = frozenset({"rate_limit_per_minute", "rate_limit_burst"})
_lock = threading.Lock()


def settings_info(state: Any) -> list[SettingInfo]:
    """The app's settings as ``describe_settings`` tells them: running value, file value,
    source. ``state``: the app's ``app.state``."""
    settings: Settings = state.settings
    return describe_settings(settings.workspace, running=settings)


def editable_remotely(info: SettingInfo) -> bool:
    """Whether the dashboard and the API may change ``info``'s setting."""
    return info.source != "environment" and info.name not in CLI_ONLY_SETTINGS


def applies_at_once(state: Any) -> bool:
    """Whether this app applies changes at once (one process) or at its next start."""
    return bool(getattr(state, "live_settings", True))


def change_settings(state: Any, changes: Mapping[str, Value]) -> list[str]:
    """Write ``changes`` (``update_settings(..., remote=True)``: all or nothing, raising
    ``SettingsChangeError``) and apply what is safe; returns the changed keys that wait
    for the next start."""
    with _lock:
        fresh = update_settings(state.settings.workspace, changes, remote=True)
        now = [k for k in changes if k not in RESTART_SETTINGS and applies_at_once(state)]
        if now:
            apply(state, {k: getattr(fresh, k) for k in now})
    return [k for k in changes if k not in now]


def apply(state: Any, values: Mapping[str, Any]) -> None:
    """Give the running app ``values`` (settings that apply at once) everywhere it uses them."""
    settings: Settings = state.settings.model_copy(update=dict(values))
    state.settings = settings
    if RATE_SETTINGS & set(values):
        state.rate_limiter.configure(settings.rate_limit_per_minute, settings.rate_limit_burst)
    runner = getattr(state, "jobs", None)
    if runner is not None:
        runner.settings = settings
