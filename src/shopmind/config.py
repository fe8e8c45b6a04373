"""Typed settings: the workspace's ``shopmind.toml`` overlaid by ``SHOPMIND_*`` variables.

A workspace is a folder holding ``shopmind.toml``, the SQLite database (unless
``database_url`` points elsewhere) and model artifacts under ``models/``.

``update_settings`` changes the file (``shopmind config set``, ``PATCH /v1/settings``, the
dashboard's Settings page): every value is checked by ``Settings`` first, a setting a
``SHOPMIND_*`` variable sets is refused (the environment wins at every start), and the file
is rewritten atomically with its comments kept. ``RESTART_SETTINGS`` are read by a server
only when it starts; ``CLI_ONLY_SETTINGS`` are not changed over the network.
"""

from __future__ import annotations

import math
import os
import stat
import tempfile
import threading
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import tomlkit
from pydantic import Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from shopmind.safety.chars import unstorable_problem

CONFIG_FILE = "shopmind.toml"
DATABASE_FILE = "shopmind.db"
ENV_PREFIX = "SHOPMIND_"

RESTART_SETTINGS = frozenset(
    {"database_url", "api_host", "api_port", "threads", "model_slots", "model_wait_seconds",
     "job_workers"}
)  # fmt: skip
"""Read by a server only when it starts: a change waits for the next start. The others
apply to a running server at once when changed from its dashboard or API."""

CLI_ONLY_SETTINGS = frozenset({"database_url", "llm_api_key"})
"""Changed only with ``shopmind config set`` or in the file, never over the network: the
URL may hold a password, and another database needs a restart anyway; a key is a secret."""

SECRET_SETTINGS = frozenset({"database_url", "llm_api_key"})
"""Never shown in full (``shown_value``): the database URL without its password, a key
as its last four characters at most."""

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


class SettingsChangeError(SettingsError):
    """A change refused as a whole (nothing written): ``problems`` holds, for each
    offending key, ``(key, value, reason)``."""

    def __init__(self, problems: list[tuple[str, Any, str]]) -> None:
        # A database URL may hold a password: never echoed.
        self.problems = [
            (key, "…" if key in SECRET_SETTINGS and value else value, reason)
            for key, value, reason in problems
        ]
        problems = self.problems
        super().__init__(
            "; ".join(f"{key}: {reason} (got {value!r})" for key, value, reason in problems)
        )


# DuckDB's memory cap for the growth analyses unless set (insights/engine.py).
INSIGHTS_MEMORY_MB = 512


class Settings(BaseSettings):
    """Settings of one workspace."""

    model_config = SettingsConfigDict(env_prefix="SHOPMIND_", extra="ignore")

    workspace: Path = Field(default=Path("."), description="Workspace folder.")
    database_url: str = Field(default="", description="SQLAlchemy URL; empty means SQLite.")
    currency: str = Field(
        default="USD",
        pattern=r"^[A-Za-z]{3}$",
        description="Store currency (ISO 4217) used when an import or event names none.",
    )
    batch_size: int = Field(
        default=5000,
        ge=1,
        le=1_000_000,
        description="Rows written per transaction by importers and the simulator.",
    )
    threads: int = Field(default=2, ge=1, le=256, description="Threads for numeric and model work.")
    api_host: str = Field(
        default="127.0.0.1",
        pattern=r"^[A-Za-z0-9._:%\[\]-]{1,255}$",
        description="Interface the server binds when --host is not given.",
    )
    api_port: int = Field(
        default=8000,
        ge=1,
        le=65535,
        description="Port the server listens on when --port is not given.",
    )
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
    model_wait_seconds: float = Field(
        default=1.0, ge=0, le=60, description="Seconds a request waits for a free model slot."
    )
    rate_limit_per_minute: float = Field(
        default=1200,
        ge=0,
        allow_inf_nan=False,
        description="Tokens an API key gets back per minute; 0: no limit.",
    )
    rate_limit_burst: int = Field(
        default=600, ge=1, le=1_000_000, description="Tokens an API key can spend at once."
    )
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
    # Language models (docs/language-models.md): in this process, or an OpenAI-compatible server.
    llm_backend: Literal["local", "openai"] = Field(
        default="local",
        description="Language-model backend: local (in this process) or openai (a server).",
    )
    llm_model: str = Field(
        default="",
        max_length=1000,
        description="local: a model folder, .gguf file or cached Hugging Face id (empty: the "
        "packaged SmolLM2-135M-Instruct); openai: the model the server serves.",
    )
    llm_precision: Literal["auto", "float32", "bfloat16"] = Field(
        default="auto",
        description="local: the weights' precision; auto is bfloat16 where the hardware "
        "does it (AVX512-BF16/AMX CPUs, recent GPUs), else float32.",
    )
    llm_base_url: str = Field(
        default="",
        max_length=2000,
        pattern=r"^(https?://[^\s]+)?$",
        description="Base URL of the OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1.",
    )
    llm_api_key: str = Field(
        default="", max_length=4096, description="API key sent to that server (never shown)."
    )
    llm_timeout_seconds: float = Field(
        default=60, gt=0, le=3600, description="Seconds to wait for the server's answer."
    )
    llm_max_retries: int = Field(
        default=3, ge=0, le=10, description="Retries after a refused connection, 429 or 5xx."
    )

    # The content studio's brand voice (docs/content.md).
    content_tone: str = Field(
        default="clear, warm and concrete",
        max_length=200,
        pattern=r"^[^\x00-\x1f\x7f]*$",
        description="The tone copy is written in, in a few words.",
    )
    content_banned_words: str = Field(
        default="", max_length=2000, pattern=r"^[^\x00-\x1f\x7f]*$",
        description="Words copy never uses, separated by commas.",
    )  # fmt: skip
    content_keywords: str = Field(
        default="", max_length=2000, pattern=r"^[^\x00-\x1f\x7f]*$",
        description="Words copy works in where they fit, separated by commas.",
    )  # fmt: skip
    content_tuned: bool = Field(
        default=True,
        description="Write with the adapter tuned to the store's voice, when there is one.",
    )
    content_examples: int = Field(
        default=2, ge=0, le=4,
        description="Descriptions of similar products of the store shown to the model.",
    )  # fmt: skip

    # Recommendations (docs/recommendations.md).
    recommend_model: Literal["auto", "popular", "itemknn", "als", "content", "sasrec"] = Field(
        default="auto",
        description="The model that serves recommendations; auto: the trained one that "
        "ranks the store's own shoppers best.",
    )
    recommend_exclude_bought: bool = Field(
        default=True, description="Leave out what the shopper already bought."
    )
    recommend_exclude_viewed: bool = Field(
        default=True, description="Leave out what the shopper already looked at."
    )
    recommend_pinned: str = Field(
        default="", max_length=2000, pattern=r"^[^\x00-\x1f\x7f]*$",
        description="Product ids shown first wherever they pass the rules, comma-separated.",
    )  # fmt: skip
    recommend_boosted: str = Field(
        default="", max_length=2000, pattern=r"^[^\x00-\x1f\x7f]*$",
        description="Products whose scores are multiplied: ID:FACTOR, comma-separated.",
    )  # fmt: skip
    widget_rate_limit_per_minute: float = Field(
        default=120, ge=0, le=100_000,
        description="Widget calls one client (key and IP) gets back per minute; 0: no limit.",
    )  # fmt: skip
    widget_rate_limit_burst: int = Field(
        default=60, ge=1, le=100_000, description="Widget calls one client can make at once."
    )

    # The support assistant (docs/support.md).
    support_writer: Literal["auto", "model", "extractive"] = Field(
        default="auto",
        description="Who words answers: model (the language model, from the passages "
        "only), extractive (the passages' own sentences); auto: model when llm_backend "
        "is openai, else extractive.",
    )
    support_min_confidence: float = Field(
        default=0.5, ge=0, le=1,
        description="Intent confidence below which a message's intent counts as unknown.",
    )  # fmt: skip
    support_min_relevance: float = Field(
        default=0.35, ge=0, le=1,
        description="Similarity a passage needs to answer from; below it the assistant "
        "says it does not know and offers a person.",
    )  # fmt: skip
    support_send_personal_data: bool = Field(
        default=False,
        description="Send e-mail addresses, phone and card numbers to a remote model "
        "server (openai backend) instead of masking them first.",
    )
    support_max_failures: int = Field(
        default=2, ge=1, le=20,
        description="Turns in a row the assistant could not help before it hands over.",
    )  # fmt: skip
    insights_engine: Literal["duckdb", "postgres", "spark"] = Field(
        default="duckdb",
        description="Where the growth analyses run: duckdb (in this process, reading the "
        "store), postgres (inside a PostgreSQL store), spark (PySpark over "
        "insights_spark_path).",
    )
    insights_spark_path: str = Field(
        default="",
        description="Folder of Parquet tables the spark engine reads (shopmind insights "
        "export writes one).",
    )
    insights_memory_mb: int = Field(
        default=INSIGHTS_MEMORY_MB, ge=64, le=1_048_576,
        description="Memory the duckdb engine may use, in MB; past it DuckDB spills to the "
        "system's temporary folder, so a larger store takes longer rather than more memory.",
    )  # fmt: skip
    insights_writer: Literal["auto", "model", "template"] = Field(
        default="auto",
        description="Who words the recommendations: template, or model (the language model "
        "rewords them; kept only when every number survives); auto: model when llm_backend "
        "is openai, else template.",
    )

    @field_validator("recommend_boosted")
    @classmethod
    def _boosts(cls, value: str) -> str:
        parse_boosts(value)  # ValueError names the bad pair
        return value

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


def parse_boosts(text: str) -> dict[str, float]:
    """``"P1:2, P7:1.5"`` → ``{"P1": 2.0, "P7": 1.5}``; ``ValueError`` naming a bad one."""
    out: dict[str, float] = {}
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        item, sep, factor = part.rpartition(":")
        try:
            value = float(factor)
        except ValueError:
            value = -1.0
        if not sep or not item.strip() or not 0 < value < float("inf"):
            raise ValueError(f"boost {part!r}: expected PRODUCT_ID:FACTOR with a factor above 0")
        out[item.strip()] = value
    return out


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


# --- reading where each setting comes from ------------------------------------------------

Source = Literal["environment", "file", "default"]
Value = str | int | float | None


def env_variable(name: str) -> str:
    """The variable that sets ``name``: ``SHOPMIND_CURRENCY`` for ``currency``."""
    return f"{ENV_PREFIX}{name.upper()}"


def set_by_environment(name: str) -> bool:
    """Whether a ``SHOPMIND_*`` variable sets ``name`` (any case, as pydantic reads them)."""
    wanted = env_variable(name)
    return any(variable.upper() == wanted for variable in os.environ)


def file_values(workspace: str | Path) -> dict[str, Any]:
    """The keys ``shopmind.toml`` sets, as written ({} when there is no file)."""
    path = Path(workspace) / CONFIG_FILE
    if not path.exists():
        return {}
    _check_toml(path)
    return tomllib.loads(path.read_text(encoding="utf-8"))


@dataclass(frozen=True)
class SettingInfo:
    """One setting as ``shopmind config show``, the API and the dashboard describe it."""

    name: str
    value: Any  # what the running server uses (or, without one, what a start would read)
    configured: Any  # what a start would read now: environment, file or default
    source: Source
    env: str
    default: Any
    description: str
    restart: bool  # read only at a server's start

    @property
    def pending(self) -> bool:
        """Changed in the file since the running server read it: waits for a restart."""
        return self.source != "environment" and self.value != self.configured


def describe_settings(workspace: str | Path, running: Settings | None = None) -> list[SettingInfo]:
    """Every setting but ``workspace``: its value, where it comes from, its default.

    ``running``: the settings a server uses, when they may differ from the file's (a
    restart-only change, or a server that applies changes only at its next start).
    """
    configured = load_settings(workspace)
    in_file = file_values(workspace)
    infos = []
    for name, field in Settings.model_fields.items():
        if name == "workspace":
            continue
        source: Source = (
            "environment" if set_by_environment(name) else "file" if name in in_file else "default"
        )
        now = getattr(configured, name)
        infos.append(
            SettingInfo(
                name=name,
                value=getattr(running, name) if running is not None else now,
                configured=now,
                source=source,
                env=env_variable(name),
                default=field.default,
                description=field.description or "",
                restart=name in RESTART_SETTINGS,
            )
        )
    return infos


def shown_value(name: str, value: Any) -> str:
    """A setting's value as text; secrets (``SECRET_SETTINGS``) never in full: the
    database URL without its password, an API key as ``…`` and its last four characters
    (nothing of a key shorter than 20)."""
    if name == "llm_api_key":
        if not value:
            return ""
        return f"…{str(value)[-4:]}" if len(str(value)) >= 20 else "(set)"
    if name == "database_url":
        if not value:
            return ""
        from sqlalchemy import make_url

        try:
            return make_url(str(value)).render_as_string(hide_password=True)
        except Exception:  # not a URL: say nothing of what it holds
            return "(set, not a valid URL)"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# --- changing the file ----------------------------------------------------------------------


class _FileOnly(Settings):
    """``Settings`` validated from the values given only, without the environment."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


_write_lock = threading.Lock()


def update_settings(
    workspace: str | Path, changes: Mapping[str, Value], *, remote: bool = False
) -> Settings:
    """Set (or, for ``None``, remove so the default applies) keys of ``shopmind.toml``.

    All or nothing: an unknown key, ``workspace``, a key a ``SHOPMIND_*`` variable sets,
    a ``CLI_ONLY_SETTINGS`` key when ``remote`` (the dashboard, the API) or a value
    ``Settings`` refuses raises ``SettingsChangeError`` naming each key and value, and the
    file is left as it was. Otherwise the file is rewritten atomically (a temporary file
    in the same folder, fsync, rename) keeping its comments and other keys, and the
    workspace's settings are returned as a start would read them now.
    """
    workspace = Path(workspace)
    if not workspace.is_dir():
        raise SettingsError(f"no workspace at {workspace} (create it with: shopmind init)")
    problems = [p for key, value in changes.items() if (p := _refusal(key, value, remote))]
    if problems:
        raise SettingsChangeError(problems)
    path = workspace / CONFIG_FILE
    with _write_lock:
        written = file_values(workspace)
        merged = {**written, **changes}
        merged = {k: v for k, v in merged.items() if v is not None}
        checked = _validate(merged, changes)
        text = path.read_text(encoding="utf-8") if path.exists() else DEFAULT_TOML
        document = tomlkit.parse(text)
        for key, value in changes.items():
            if value is None:
                if key in document:
                    document.remove(key)
            else:
                if key not in document:
                    document.add(tomlkit.nl())
                document[key] = getattr(checked, key)
        _write_atomically(path, tomlkit.dumps(document))
    return load_settings(workspace)


def _refusal(key: object, value: object, remote: bool) -> tuple[str, Any, str] | None:
    """Why ``key`` may not be set to ``value`` before any look at its type, or None."""
    known = set(Settings.model_fields) - {"workspace"}
    if not isinstance(key, str) or key not in Settings.model_fields:
        return (str(key), value, f"unknown setting; known settings: {', '.join(sorted(known))}")
    if key == "workspace":
        return (key, value, "the workspace is given with --workspace or SHOPMIND_WORKSPACE")
    if set_by_environment(key):
        return (
            key,
            value,
            f"set by the environment variable {env_variable(key)}, which wins over "
            f"{CONFIG_FILE}: change or remove the variable instead",
        )
    if remote and key in CLI_ONLY_SETTINGS:
        return (key, value, f"changed only from the command line (shopmind config set {key} …)")
    if isinstance(value, bool) or not isinstance(value, str | int | float | None):
        return (key, value, "give a number or a text")
    if isinstance(value, str) and (problem := unstorable_problem(value)):
        return (key, value, problem)
    if isinstance(value, float) and not math.isfinite(value):
        return (key, value, "not a finite number")
    return None


def _validate(values: dict[str, Any], changes: Mapping[str, Value]) -> Settings:
    """``values`` checked by ``Settings`` (without the environment); a problem with a key
    that is not being changed is one the file already had."""
    try:
        return _FileOnly(**values)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            key = ".".join(map(str, error["loc"]))
            reason = error["msg"] if key in changes else f"{error['msg']} (in {CONFIG_FILE})"
            problems.append((key, error.get("input"), reason))
        raise SettingsChangeError(problems) from None


def _write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` by ``text`` so that a reader sees the old file or the new one."""
    mode = stat.S_IMODE(path.stat().st_mode) if path.exists() else 0o644
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
