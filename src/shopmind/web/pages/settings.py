"""Settings: the workspace's settings (admins change those of the file), API keys (admins
create and revoke) and users.

Everyone sees the settings and the keys' names and prefixes; only admins change them.
A new key's secret is shown once, on the page that answers its creation, and never
again (only its hash is stored). Settings that come from ``SHOPMIND_*`` variables are
read-only here (the environment wins over the file at every start), and so are
``database_url`` and ``llm_api_key`` (``shopmind config set``); the others are one form, saved by
``shopmind.api.live.change_settings`` as ``PATCH /v1/settings`` saves them.
"""

from __future__ import annotations

from typing import Annotated, Any

from annotated_types import Ge, Le
from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from shopmind.api import live
from shopmind.config import (
    CLI_ONLY_SETTINGS,
    SettingInfo,
    Settings,
    SettingsChangeError,
    SettingsError,
    shown_value,
)
from shopmind.store import users
from shopmind.store.apikeys import create_api_key, list_api_keys, revoke_api_key
from shopmind.web.app import render
from shopmind.web.auth import AdminFormDep, ViewerDep

router = APIRouter()
MAX_VALUE = 1000  # characters of one typed value


def _input(name: str) -> dict[str, Any]:
    """The HTML input for a setting: its type and the bounds the browser can check."""
    field = Settings.model_fields[name]
    if field.annotation not in (int, float):
        return {"type": "text", "step": None, "min": None, "max": None}
    bounds: dict[str, Any] = {"min": None, "max": None}
    for rule in field.metadata:
        if isinstance(rule, Ge):
            bounds["min"] = rule.ge
        elif isinstance(rule, Le):
            bounds["max"] = rule.le
    return {"type": "number", "step": "1" if field.annotation is int else "any", **bounds}


def setting_rows(
    infos: list[SettingInfo],
    typed: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> list[dict[str, Any]]:
    """The Workspace table: each setting with its value, source, and for the form the
    value to show (``typed`` back after a refusal) and its ``errors``."""
    typed, errors = typed or {}, errors or {}
    rows = []
    for info in infos:
        configured = shown_value(info.name, info.configured)
        rows.append(
            {
                "name": info.name,
                "value": shown_value(info.name, info.value),
                "input_value": typed.get(info.name, configured),
                "source": info.source,
                "env": info.env,
                "description": info.description,
                "default": shown_value(info.name, info.default),
                "restart": info.restart,
                "pending": info.pending,
                "editable": live.editable_remotely(info),
                "cli_only": info.name in CLI_ONLY_SETTINGS,
                "error": errors.get(info.name, ""),
                "input": _input(info.name),
            }
        )
    return rows


def form_changes(infos: list[SettingInfo], form: dict[str, str]) -> dict[str, str | None]:
    """What a submitted form changes: each editable field whose text differs from the
    configured value; an empty field removes a key of the file (its default applies)."""
    changes: dict[str, str | None] = {}
    for info in infos:
        if not live.editable_remotely(info) or info.name not in form:
            continue
        typed = form[info.name].strip()
        if not typed:
            if info.source == "file":
                changes[info.name] = None
        elif typed != shown_value(info.name, info.configured):
            changes[info.name] = typed
    return changes


def _page(
    request: Request,
    new_key: str = "",
    message: str = "",
    error: str = "",
    status_code: int = 200,
    **workspace: Any,
) -> Response:
    store = request.app.state.store
    viewer = request.state.viewer
    try:
        infos = live.settings_info(request.app.state)
        rows = setting_rows(infos, workspace.get("typed"), workspace.get("field_errors"))
        broken = ""
    except SettingsError as exc:  # shopmind.toml edited by hand into something unreadable
        rows, broken = [], str(exc)
    context = {
        "settings_rows": rows,
        "settings_broken": broken,
        "settings_saved": workspace.get("saved"),
        "settings_restart": workspace.get("restart", []),
        "settings_error": workspace.get("settings_error", ""),
        "live": live.applies_at_once(request.app.state),
        "workspace": str(request.app.state.settings.workspace),
        "keys": list_api_keys(store),
        "new_key": new_key,
        "message": message,
        "error": error,
        "users": users.list_users(store) if viewer.is_admin else [],
        "roles": ("admin", "viewer"),
    }
    return render(request, "settings.html", context, status_code=status_code)


@router.get("/settings")
def settings_page(request: Request, viewer: ViewerDep) -> Response:
    return _page(request)


@router.post("/settings/workspace")
async def change_settings(request: Request, viewer: AdminFormDep) -> Response:
    form = await request.form()
    typed = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}
    return await run_in_threadpool(_save_settings, request, typed)


def _save_settings(request: Request, typed: dict[str, str]) -> Response:
    try:
        infos = live.settings_info(request.app.state)
    except SettingsError as exc:
        return _page(request, settings_error=str(exc), status_code=409)
    too_long = [k for k, v in typed.items() if len(v) > MAX_VALUE]
    if too_long:
        errors = {k: f"longer than {MAX_VALUE} characters" for k in too_long}
        return _refused(request, typed, errors, list(errors))
    changes = form_changes(infos, typed)
    try:
        restart = live.change_settings(request.app.state, changes) if changes else []
    except SettingsChangeError as exc:
        errors = {key: reason for key, _value, reason in exc.problems}
        return _refused(request, typed, errors, list(errors))
    return _page(request, saved=sorted(changes), restart=restart)


def _refused(
    request: Request, typed: dict[str, str], errors: dict[str, str], names: list[str]
) -> Response:
    return _page(
        request,
        typed=typed,
        field_errors=errors,
        settings_error=", ".join(names),
        status_code=422,
    )


@router.post("/settings/keys")
def create_key(
    request: Request, viewer: AdminFormDep, name: Annotated[str, Form(max_length=255)] = ""
) -> Response:
    try:
        key = create_api_key(request.app.state.store, name)
    except ValueError as exc:
        return _page(request, error=str(exc), status_code=422)
    return _page(request, new_key=key)


@router.post("/settings/keys/revoke")
def revoke_key(
    request: Request, viewer: AdminFormDep, prefix: Annotated[str, Form(max_length=64)] = ""
) -> Response:
    if not revoke_api_key(request.app.state.store, prefix):
        return _page(request, error=f"no active key with prefix {prefix!r}", status_code=404)
    return _page(request, message=f"revoked {prefix}")


@router.post("/settings/users")
def add_user(
    request: Request,
    viewer: AdminFormDep,
    email: Annotated[str, Form(max_length=320)] = "",
    role: Annotated[str, Form(max_length=16)] = "viewer",
    password: Annotated[str, Form(max_length=1024)] = "",
) -> Response:
    try:
        users.add_user(request.app.state.store, email, password, role)
    except users.UserError as exc:
        return _page(request, error=str(exc), status_code=422)
    return _page(request, message=f"added {email.strip().lower()} ({role})")


@router.post("/settings/users/remove")
def remove_user(
    request: Request, viewer: AdminFormDep, email: Annotated[str, Form(max_length=320)] = ""
) -> Response:
    try:
        users.remove_user(request.app.state.store, email)
    except users.UserError as exc:
        return _page(request, error=str(exc), status_code=409)
    return _page(request, message=f"removed {email}")
