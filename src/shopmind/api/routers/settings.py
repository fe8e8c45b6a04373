"""The workspace's settings over REST: read them, change those the file holds.

The same rules as the dashboard's Settings page (``shopmind.api.live``): a setting a
``SHOPMIND_*`` variable sets is read-only, ``database_url`` is changed only from the
command line and shown without its password, a change is all or nothing.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, HTTPException, Request, status
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field, StrictFloat, StrictInt, StrictStr

from shopmind.api import live
from shopmind.api.schemas import ErrorResponse, InvalidRequest
from shopmind.config import (
    SECRET_SETTINGS,
    SettingInfo,
    SettingsChangeError,
    SettingsError,
    shown_value,
)

router = APIRouter(tags=["settings"])

Scalar = str | int | float
MAX_CHANGES = 64
CHANGES_EXAMPLE = {"currency": "EUR", "rate_limit_per_minute": 600, "session_hours": None}


class SettingOut(BaseModel):
    name: str
    value: Scalar = Field(
        description="What the server uses now (database_url: no password; llm_api_key: "
        "its last four characters at most)."
    )
    configured: Scalar = Field(
        description="What the environment, shopmind.toml or the default give now; differs "
        "from value while a change waits for a restart."
    )
    source: Literal["environment", "file", "default"]
    env: str = Field(description="The variable that would set it: SHOPMIND_<NAME>.")
    default: Scalar
    description: str
    editable: bool = Field(description="Whether PATCH may change it.")
    restart: bool = Field(description="Read only when the server starts.")
    pending: bool = Field(description="Changed, waiting for the next start.")


class SettingsResponse(BaseModel):
    settings: list[SettingOut]
    applies_at_once: bool = Field(
        description="Whether this server applies a change at once (false with several "
        "worker processes: every change waits for the next start)."
    )
    restart_needed: list[str] = Field(description="Settings whose change waits for a restart.")


def _out(info: SettingInfo) -> SettingOut:
    def shown(value: Any) -> Scalar:
        return shown_value(info.name, value) if info.name in SECRET_SETTINGS else value

    return SettingOut(
        name=info.name,
        value=shown(info.value),
        configured=shown(info.configured),
        source=info.source,
        env=info.env,
        default=info.default,
        description=info.description,
        editable=live.editable_remotely(info),
        restart=info.restart,
        pending=info.pending,
    )


def _response(request: Request) -> SettingsResponse:
    try:
        infos = live.settings_info(request.app.state)
    except SettingsError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=str(exc)) from None
    return SettingsResponse(
        settings=[_out(i) for i in infos],
        applies_at_once=live.applies_at_once(request.app.state),
        restart_needed=[i.name for i in infos if i.pending],
    )


BROKEN = {409: {"model": ErrorResponse, "description": "shopmind.toml cannot be read"}}


@router.get(
    "/settings",
    response_model=SettingsResponse,
    summary="The workspace's settings and where each comes from",
    responses=BROKEN,
)
def get_settings(request: Request) -> SettingsResponse:
    return _response(request)


@router.patch(
    "/settings",
    response_model=SettingsResponse,
    summary="Change settings in shopmind.toml (null: back to the default)",
    responses={
        **BROKEN,
        422: {
            "model": InvalidRequest,
            "description": "An unknown, read-only or invalid setting (loc names it); "
            "nothing was changed",
        },
    },
)
def patch_settings(
    request: Request,
    changes: Annotated[
        dict[StrictStr, StrictStr | StrictInt | StrictFloat | None],
        Body(max_length=MAX_CHANGES, examples=[CHANGES_EXAMPLE]),
    ],
) -> SettingsResponse:
    """Set each key to its value, or remove it from the file for `null`. All or nothing."""
    try:
        live.change_settings(request.app.state, changes)
    except SettingsChangeError as exc:
        raise RequestValidationError(
            [
                {"type": "value_error", "loc": ("body", key), "msg": reason, "input": value}
                for key, value, reason in exc.problems
            ]
        ) from None
    except SettingsError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=str(exc)) from None
    return _response(request)
