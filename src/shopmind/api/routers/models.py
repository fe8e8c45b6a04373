"""The workspace's model versions over REST: what ``shopmind models list`` shows.

Read only, and it never fails on what it finds: a damaged pointer, an unreadable manifest
or a version with missing files is listed with its ``problem``. Text read from manifests
is made JSON-safe on the way out (non-finite numbers as text, undecodable characters
replaced), so a hand-edited file cannot turn the answer into a server error.
"""

from __future__ import annotations

import json
import math
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from shopmind.api.deps import SettingsDep
from shopmind.models.listing import ModelEntry, list_models
from shopmind.models.registry import VersionInfo
from shopmind.safety.chars import replace_lone_surrogates

router = APIRouter(tags=["models"])

MAX_DEPTH = 8  # nesting of metrics shown; deeper parts read "…"


class ModelVersionOut(BaseModel):
    id: str = Field(description="v0001, v0002, … (newest last)")
    current: bool = Field(description="Whether this version serves.")
    complete: bool = Field(description="Manifest readable, every file there with its size.")
    created_at: str = Field(description="When it was published (UTC, ISO 8601); '' if unknown.")
    size: int = Field(description="Bytes of its files.")
    metrics: dict[str, Any] = Field(description="Training metrics from its manifest.")
    problem: str = Field(description="Why it is incomplete; '' when complete.")


class ModelOut(BaseModel):
    name: str = Field(description="reviews/linear, reviews/transformer, …")
    current: str | None = Field(description="The version that serves; null when none.")
    versions: list[ModelVersionOut]
    legacy: list[str] = Field(description="Files written in place by an older shopmind.")
    problem: str = Field(description="A damaged version pointer, an unreadable folder; or ''.")


class ModelsResponse(BaseModel):
    models: list[ModelOut]


@router.get("/models", response_model=ModelsResponse, summary="Model versions in the workspace")
def models(settings: SettingsDep) -> ModelsResponse:
    """Every model in the workspace's `models/` folder with its versions."""
    entries = list_models(settings.models_dir)
    return ModelsResponse(models=[_model_out(e) for e in entries])


def _model_out(entry: ModelEntry) -> ModelOut:
    return ModelOut(
        name=_text(entry.name),
        current=entry.current,
        versions=[_version_out(v) for v in entry.versions],
        legacy=[_text(name) for name in entry.legacy],
        problem=_text(entry.problem),
    )


def _version_out(info: VersionInfo) -> ModelVersionOut:
    return ModelVersionOut(
        id=info.id,
        current=info.current,
        complete=info.complete,
        created_at=_text(info.created_at),
        size=info.size,
        metrics=_json_safe(info.metrics),
        problem=_text(info.problem),
    )


def _text(value: str) -> str:
    """``value`` as valid UTF-8: lone surrogates (undecodable file names, ``\\ud800`` in a
    manifest) become U+FFFD."""
    return replace_lone_surrogates(value)


def _json_safe(value: Any, depth: int = 0) -> Any:
    """A JSON value from a manifest: NaN/Infinity as text, strings UTF-8 safe, nesting
    beyond ``MAX_DEPTH`` cut to ``"…"``."""
    if depth > MAX_DEPTH:
        return "…"
    if isinstance(value, float) and not math.isfinite(value):
        return json.dumps(value)  # NaN, Infinity, -Infinity
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, dict):
        return {_text(str(k)): _json_safe(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v, depth + 1) for v in value]
    return value
