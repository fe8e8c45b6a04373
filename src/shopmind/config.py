"""Typed settings: the workspace's ``shopmind.toml`` overlaid by ``SHOPMIND_*`` variables.

A workspace is a folder holding ``shopmind.toml``, the SQLite database (unless
``database_url`` points elsewhere) and model artifacts under ``models/``.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

CONFIG_FILE = "shopmind.toml"
DATABASE_FILE = "shopmind.db"

DEFAULT_TOML = """\
# shopmind workspace settings. Every key can be overridden by an environment
# variable: SHOPMIND_<KEY> (for example SHOPMIND_DATABASE_URL).

# Leave empty to use the SQLite file shopmind.db in this folder.
# database_url = "postgresql+psycopg://user:password@localhost:5432/shop"

# Store currency (ISO 4217) used when an import or event names none.
currency = "USD"

# Rows written per transaction by importers and the simulator.
batch_size = 5000

# Threads for numeric and model work (torch, faiss).
threads = 2

# Versions of each model kept in models/ (the current one is always kept).
model_versions_keep = 3
"""


class SettingsError(ValueError):
    """Settings that cannot be used; the message names the file or variable and the key."""


class Settings(BaseSettings):
    """Settings of one workspace."""

    model_config = SettingsConfigDict(env_prefix="SHOPMIND_", extra="ignore")

    workspace: Path = Field(default=Path("."), description="Workspace folder.")
    database_url: str = Field(default="", description="SQLAlchemy URL; empty means SQLite.")
    currency: str = Field(default="USD", pattern=r"^[A-Za-z]{3}$")
    batch_size: int = Field(default=5000, ge=1, le=1_000_000)
    threads: int = Field(default=2, ge=1, le=256)
    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8000, ge=1, le=65535)
    # Bounded request cost (docs/api.md "Limits"): cost units weighted per kind of text
    # (shopmind.reviews.cost, measured by bench/cost.py); model work and rate are capped.
    score_max_cost: int = Field(
        default=160_000,
        ge=1,
        le=100_000_000,
        description="Cost units one scoring request may take (a Latin character is 1).",
    )
    model_slots: int = Field(
        default=0, ge=0, le=1024, description="Concurrent model calls; 0: as many as threads."
    )
    model_wait_seconds: float = Field(default=1.0, ge=0, le=60)
    rate_limit_per_minute: float = Field(default=1200, ge=0, description="0: no rate limit.")
    rate_limit_burst: int = Field(default=600, ge=1, le=1_000_000)
    model_versions_keep: int = Field(
        default=3, ge=1, le=1000, description="Versions of each model kept in models/."
    )
    upload_max_mb: int = Field(
        default=1024, ge=1, le=1_048_576, description="Largest file the dashboard takes (MiB)."
    )
    job_workers: int = Field(
        default=1, ge=1, le=64, description="Background jobs one server runs at once."
    )
    login_max_failures: int = Field(
        default=5, ge=1, le=1000, description="Failed dashboard log-ins in a row before a lock."
    )
    login_lockout_seconds: float = Field(
        default=30, gt=0, le=3600, description="First lock-out; doubles per further failure."
    )
    session_hours: float = Field(
        default=12, gt=0, le=24 * 366, description="Hours a dashboard log-in lasts."
    )

    @field_validator("currency")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.upper()

    @property
    def config_path(self) -> Path:
        return self.workspace / CONFIG_FILE

    @property
    def resolved_model_slots(self) -> int:
        """Concurrent model calls per process: ``model_slots``, or ``threads`` when it is 0."""
        return self.model_slots or self.threads

    @property
    def models_dir(self) -> Path:
        return self.workspace / "models"

    @property
    def resolved_database_url(self) -> str:
        """The database URL, defaulting to ``shopmind.db`` inside the workspace."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.workspace / DATABASE_FILE).resolve()}"


def load_settings(workspace: str | Path = ".", **overrides: Any) -> Settings:
    """Read ``<workspace>/shopmind.toml`` (if present) under ``SHOPMIND_*`` variables.

    Priority, highest first: ``overrides``, environment variables, the toml file.
    """
    workspace = Path(workspace)
    toml_path = workspace / CONFIG_FILE
    if toml_path.exists():
        _check_toml(toml_path)

    class _WorkspaceSettings(Settings):
        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            toml = TomlConfigSettingsSource(settings_cls, toml_file=toml_path)
            return (init_settings, env_settings, toml)

    try:
        values = _WorkspaceSettings(**overrides)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc']))}: {e['msg']} (got {e.get('input')!r})"
            for e in exc.errors()
        )
        raise SettingsError(f"invalid settings (shopmind.toml or SHOPMIND_*): {problems}") from None
    data = values.model_dump()
    data["workspace"] = workspace
    return Settings.model_construct(**data)


def _check_toml(path: Path) -> None:
    """Refuse a broken file or an unknown key (a typo would otherwise be silently ignored)."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SettingsError(f"{path}: not valid TOML: {exc}") from None
    known = set(Settings.model_fields) - {"workspace"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise SettingsError(
            f"{path}: unknown setting {', '.join(map(repr, unknown))}; "
            f"known settings: {', '.join(sorted(known))}"
        )


def init_workspace(workspace: str | Path) -> Path:
    """Create the workspace folder and a commented ``shopmind.toml``; keep an existing one."""
    workspace = Path(workspace)
    workspace.mkdir(parents=True, exist_ok=True)
    (workspace / "models").mkdir(exist_ok=True)
    path = workspace / CONFIG_FILE
    if not path.exists():
        path.write_text(DEFAULT_TOML, encoding="utf-8")
    return path
