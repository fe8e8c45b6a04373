"""Settings: the workspace's settings, API keys (admins create and revoke) and users.

Everyone sees the settings and the keys' names and prefixes; only admins change them.
A new key's secret is shown once, on the page that answers its creation, and never
again (only its hash is stored). Settings that come from ``SHOPMIND_*`` variables are
read-only here: the environment wins over the file at every start.
"""

from __future__ import annotations

import os
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from shopmind.config import Settings
from shopmind.store import users
from shopmind.store.apikeys import create_api_key, list_api_keys, revoke_api_key
from shopmind.web.app import render
from shopmind.web.auth import AdminFormDep, ViewerDep

router = APIRouter()
HIDDEN = {"database_url"}  # may hold a password: shown without it


def _shown(name: str, value: Any) -> str:
    if name == "database_url" and not value:
        return "(empty: shopmind.db in the workspace)"
    if name == "database_url":
        from sqlalchemy import make_url

        try:
            return make_url(str(value)).render_as_string(hide_password=True)
        except Exception:
            return "(set)"
    return str(value)


def setting_rows(settings: Settings) -> list[dict[str, Any]]:
    rows = []
    for name, field in Settings.model_fields.items():
        if name == "workspace":
            continue
        env = f"SHOPMIND_{name.upper()}"
        source = "environment" if env in os.environ else "file or default"
        rows.append(
            {
                "name": name,
                "value": _shown(name, getattr(settings, name)),
                "env": env,
                "source": source,
                "description": field.description or "",
            }
        )
    return rows


def _page(
    request: Request, new_key: str = "", message: str = "", error: str = "", status_code: int = 200
) -> Response:
    store = request.app.state.store
    viewer = request.state.viewer
    context = {
        "settings_rows": setting_rows(request.app.state.settings),
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
