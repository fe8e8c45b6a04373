"""A versioned, crash-safe registry of model artifacts in the workspace's ``models/`` folder.

Every artifact — a sentiment tier now; recommenders, LoRA adapters and vector indexes
next — has a name such as ``reviews/linear`` and a folder ``models/<name>/``::

    models/reviews/linear/
      current               pointer: a small JSON file naming the live version
      versions/v0001/       one complete version: the artifact's files + manifest.json
      versions/v0002/
      .staging/<token>/     a save in progress (hidden, never loaded)
      .staging/<token>.lock held (flock) by the saving process for as long as it lives
      .lock                 serialises publish, rollback, prune and adoption

Why: a training killed while it saves (``kill -9``, a full disk, a power cut) must never
leave something that looks like a model, and a server must never read a half-written one.
So a save writes a *new* folder in ``.staging``, fsyncs every file and folder, writes
``manifest.json`` last (every file with its size and sha256, the metrics, what trained it),
renames the folder into ``versions/`` and only then switches ``current`` atomically (temp
file, fsync, ``os.replace``, fsync of the folder). A load resolves ``current`` and checks
the manifest (every file present, same size, same checksum) before it hands out a path.

The next publish or prune removes what killed runs left behind (staging folders whose
owner lock is free, stray pointer temp files), keeps the newest ``keep`` versions and never
deletes the current one. A version that verifies but whose loader fails (a file format this
build cannot read, a missing optional package) is reported as ``LoadFailed``, naming the
model, the version and the rollback command.

Workspaces from before the registry held a model written in place
(``models/reviews/linear/config.json``). Reading never writes: given a ``legacy_check``, a
read serves such a model in place (version id ``legacy``) when it is complete and ignores
it (and says so) when it is not; the next publish, or ``prune(legacy=True)``, adopts a
complete one as a version, and the latter also deletes old-layout files that are
incomplete or superseded by a complete current version.

Locking is POSIX ``fcntl.flock``: the registry runs on Linux and macOS, not on Windows.

Beside it: ``shopmind.models.durable`` holds the fsync, atomic-replace and flock helpers it
writes with; ``shopmind.models.listing`` lists every model of a workspace (``list_models``);
``shopmind.models.cache`` holds ``ArtifactCache``, which keeps a loaded artifact in a
long-running process and reloads it when a pointer changes.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import re
import secrets
import socket
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from shopmind.models.durable import (
    SymlinkInTree,
    file_table,
    fsync_path,
    fsync_tree,
    link_tree,
    remove,
    sha256_file,
    try_lock,
    write_durable,
)

log = logging.getLogger(__name__)

POINTER = "current"
VERSIONS = "versions"
STAGING = ".staging"
LOCK = ".lock"
MANIFEST = "manifest.json"
FORMAT = 1
DEFAULT_KEEP = 3
LEGACY = "legacy"  # the id of a model served in place from the old layout
_OWN = {POINTER, VERSIONS, STAGING, LOCK}
_POINTER_TMP = re.compile(r"^\.current\.[0-9a-f]+\.tmp$")
_VERSION_ID = re.compile(r"^v(\d{4,})$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*(/[A-Za-z0-9][A-Za-z0-9_.-]*)*$")
T = TypeVar("T")


class RegistryError(ValueError):
    """A registry request that cannot be served; the message names the model and version."""


class IncompleteVersion(RegistryError):
    """A version whose files do not match its manifest (missing, short, or changed)."""

    def __init__(self, message: str, why: str) -> None:
        super().__init__(message)
        self.why = why


class LoadFailed(RegistryError):
    """A complete version (it matches its manifest) whose loader raised."""


@dataclass(frozen=True)
class Version:
    """One complete, verified version: its folder and its manifest."""

    name: str
    id: str
    path: Path
    manifest: dict[str, Any]

    @property
    def size(self) -> int:
        return sum(f["size"] for f in self.manifest["files"].values())

    @property
    def created_at(self) -> str:
        return str(self.manifest.get("created_at", ""))

    @property
    def metrics(self) -> dict[str, Any]:
        return dict(self.manifest.get("metrics", {}))


@dataclass
class VersionInfo:
    """A version as listed: cheap checks only (manifest readable, files of the right size)."""

    id: str
    current: bool
    complete: bool
    created_at: str = ""
    size: int = 0
    metrics: dict[str, Any] = field(default_factory=dict)
    source: dict[str, Any] = field(default_factory=dict)
    problem: str = ""


@dataclass
class Staging:
    """A save in progress: write the artifact's files into ``path``; fill ``metrics``."""

    path: Path
    metrics: dict[str, Any]
    source: dict[str, Any]
    version: Version | None = None


@dataclass
class PruneReport:
    removed_versions: list[str] = field(default_factory=list)
    removed_leftovers: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    removed_legacy: list[str] = field(default_factory=list)
    adopted: str = ""  # the version a complete old-layout model became
    legacy_kept: str = ""  # why old-layout files were left in place


# -- small helpers -----------------------------------------------------------------------


def _version_number(version_id: str) -> int:
    match = _VERSION_ID.match(version_id)
    return int(match.group(1)) if match else -1


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _version_files(folder: Path) -> dict[str, dict[str, Any]]:
    """The manifest's file table of a version being saved (``manifest.json`` left out)."""
    try:
        return file_table(folder, exclude={MANIFEST})
    except SymlinkInTree as exc:
        why = "symbolic links cannot be part of a model version"
        raise RegistryError(f"{exc.path}: {why}") from None


# -- the registry ------------------------------------------------------------------------


class Registry:
    """The versions of one named artifact under ``root`` (the workspace's models folder).

    ``legacy_check(folder)`` raises when a model written in place (the layout before the
    registry) is incomplete; with it the registry adopts a complete one as a version.
    """

    def __init__(
        self,
        root: str | Path,
        name: str,
        *,
        keep: int = DEFAULT_KEEP,
        legacy_check: Callable[[Path], object] | None = None,
    ) -> None:
        if not _NAME.match(name) or ".." in name.split("/"):
            raise RegistryError(f"invalid model name {name!r} (letters, digits, _.- and /)")
        if keep < 1:
            raise RegistryError(f"keep must be at least 1, got {keep}")
        self.root = Path(root)
        self.name = name
        self.keep = keep
        self.legacy_check = legacy_check
        self.folder = self.root / name
        self.pointer_path = self.folder / POINTER
        self.versions_dir = self.folder / VERSIONS
        self.staging_dir = self.folder / STAGING

    def __repr__(self) -> str:
        return f"Registry({str(self.root)!r}, {self.name!r})"

    # -- reading ---------------------------------------------------------------------------

    def current_id(self) -> str | None:
        """The id ``current`` names (no verification): the cheap read a server polls."""
        try:
            data = json.loads(self.pointer_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, RecursionError) as exc:
            raise self._bad_pointer(f"unreadable version pointer ({exc})") from exc
        version = data.get("version") if isinstance(data, dict) else None
        if not isinstance(version, str) or not _VERSION_ID.match(version):
            raise self._bad_pointer("the version pointer names no valid version")
        return version

    def current(self) -> Version | None:
        """The current version, verified; None when nothing was published.

        Never writes. Without a pointer, a complete model written in place by an older
        shopmind (``legacy_check`` passes) is returned as version ``legacy`` with the
        model's folder as its path. Raises ``IncompleteVersion`` when the current version's
        files do not match its manifest.
        """
        return self._current(check_legacy=True)

    def load(self, loader: Callable[[Path], T]) -> T | None:
        """``loader(path)`` of the current version; None when nothing was published."""
        loaded = self.load_version(loader)
        return None if loaded is None else loaded[1]

    def load_version(self, loader: Callable[[Path], T]) -> tuple[Version, T] | None:
        """The current version and ``loader(version.path)``; None when nothing was published.

        When the load fails because a publish or prune moved ``current`` meanwhile, the
        new current version is loaded instead. Otherwise a loader error is raised as
        ``LoadFailed`` (naming the model, the version and the rollback command). A model
        in the old layout counts as loadable when ``loader`` loads it (it is the check);
        when it does not, it is ignored (logged) and None returned. Never writes.
        """
        for attempt in range(3):
            version = self._current(check_legacy=False)
            if version is None:
                return None
            try:
                return version, loader(version.path)
            except Exception as exc:
                if attempt < 2 and self._pointer_or_none() != _pointed_id(version):
                    continue  # a publish, rollback or adoption moved it meanwhile
                if version.id == LEGACY:
                    self._ignore_legacy(exc)
                    return None
                raise self._load_failed(version, exc) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def get(self, version_id: str) -> Version:
        """A named version, verified against its manifest (sizes and sha256 of every file)."""
        manifest = self._manifest(version_id)
        self._check_files(version_id, manifest, checksums=True)
        return Version(self.name, version_id, self.versions_dir / version_id, manifest)

    def versions(self) -> list[VersionInfo]:
        """Every version folder, oldest first, with cheap completeness checks."""
        if not self.versions_dir.is_dir():
            return []
        try:
            current = self.current_id()
        except RegistryError:
            current = None
        ids = [p.name for p in self.versions_dir.iterdir() if _VERSION_ID.match(p.name)]
        return [self._info(v, v == current) for v in sorted(ids, key=_version_number)]

    def legacy_entries(self) -> list[Path]:
        """Files and folders in the model's folder that are not the registry's own."""
        if not self.folder.is_dir():
            return []
        return sorted(
            p
            for p in self.folder.iterdir()
            if p.name not in _OWN and not _POINTER_TMP.match(p.name)
        )

    # -- writing ---------------------------------------------------------------------------

    @contextlib.contextmanager
    def stage(
        self, metrics: dict[str, Any] | None = None, source: dict[str, Any] | None = None
    ) -> Iterator[Staging]:
        """A fresh staging folder; on a clean exit it is published as the new version.

        On an exception the folder is removed and nothing changes. ``staging.version``
        holds the published ``Version`` afterwards.
        """
        path, owner_fd = self._new_staging()
        staging = Staging(path, dict(metrics or {}), dict(source or {}))
        try:
            yield staging
            staging.version = self._commit(staging)
        except BaseException:
            remove(path)
            raise
        finally:
            (self.staging_dir / f"{path.name}.lock").unlink(missing_ok=True)
            os.close(owner_fd)

    def publish(
        self,
        write: Callable[[Path], object],
        metrics: dict[str, Any] | None = None,
        source: dict[str, Any] | None = None,
    ) -> Version:
        """``write(folder)`` the artifact's files into staging, then publish them."""
        with self.stage(metrics, source) as staging:
            write(staging.path)
        assert staging.version is not None
        return staging.version

    def rollback(self, to: str | None = None) -> Version:
        """Point ``current`` at version ``to``, or at the newest complete one before it.

        With ``to`` the old pointer is not read, so this also repairs a damaged one.
        """
        self._require_folder()
        with self._locked():
            if to is None:
                current = self.current_id()
                if current is None:
                    raise RegistryError(f"{self.name}: nothing published, nothing to roll back")
                target = self._previous(current)
            else:
                current = self._pointer_or_none()
                if not _VERSION_ID.match(to) or not (self.versions_dir / to).is_dir():
                    known = ", ".join(v.id for v in self.versions()) or "none"
                    raise RegistryError(f"{self.name} has no version {to!r} (versions: {known})")
                target = self.get(to)
            self._write_pointer(target.id)
        log.info("%s: current version is now %s (was %s)", self.name, target.id, current)
        return target

    def prune(self, keep: int | None = None, legacy: bool = False) -> PruneReport:
        """Remove leftovers of killed runs and all but the newest ``keep`` versions.

        An unreadable pointer counts as none (the newest complete versions stay). With
        ``legacy``, files of the old layout are dealt with too: a complete model with no
        version yet is adopted; incomplete ones, and any beside a complete current
        version, are deleted (see ``_prune_legacy_locked``).
        """
        keep = self.keep if keep is None else keep
        if keep < 1:
            raise RegistryError(f"keep must be at least 1, got {keep}")
        self._require_folder()
        with self._locked():
            report = PruneReport()
            if legacy:
                self._prune_legacy_locked(report)
            pruned = self._prune_locked(keep)
            report.removed_versions, report.kept = pruned.removed_versions, pruned.kept
            report.removed_leftovers = pruned.removed_leftovers
            return report

    def cleanup(self) -> list[str]:
        """Remove leftovers of killed runs (dead staging folders, stray temp files)."""
        if not self.folder.is_dir():
            return []
        with self._locked():
            return self._cleanup_locked()

    def adopt_legacy(self) -> str:
        """Make a model written in place (old layout) the first version.

        Returns ``"adopted"``, ``"incomplete"`` (``legacy_check`` refused it: left in place,
        never loaded), ``"unchecked"`` (no ``legacy_check``) or ``"none"``.
        """
        if not self.legacy_entries():
            return "none"
        if self.legacy_check is None:
            return "unchecked"
        with self._locked():
            return self._adopt_locked()

    # -- internals -------------------------------------------------------------------------

    def _require_folder(self) -> None:
        if not self.folder.is_dir():
            raise RegistryError(
                f"no model named {self.name!r} in {self.root} (see: shopmind models list)"
            )

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.folder / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def _new_staging(self) -> tuple[Path, int]:
        """A staging folder and the fd of its owner lock (created under the registry lock,
        so cleanup never sees an owner file that is not yet locked)."""
        with self._locked():
            self.staging_dir.mkdir(exist_ok=True)
            token = f"{os.getpid()}-{secrets.token_hex(6)}"
            fd = os.open(self.staging_dir / f"{token}.lock", os.O_RDWR | os.O_CREAT, 0o644)
            fcntl.flock(fd, fcntl.LOCK_EX)
            path = self.staging_dir / token
            path.mkdir()
        return path, fd

    def _commit(self, staging: Staging) -> Version:
        fsync_tree(staging.path)
        if (staging.path / MANIFEST).exists():
            raise RegistryError(f"{self.name}: the save wrote {MANIFEST}, a reserved name")
        files = _version_files(staging.path)
        if not files:
            raise RegistryError(f"{self.name}: the save wrote no files; nothing was published")
        with self._locked():
            if not self.pointer_path.exists() and self.legacy_entries():
                self._adopt_locked()  # the old model becomes the version to roll back to
            version = self._install_locked(staging, files)
            self._prune_locked(self.keep)
        log.info("%s: published version %s", self.name, version.id)
        return version

    def _current(self, check_legacy: bool) -> Version | None:
        if not self.folder.is_dir():
            return None
        for attempt in range(3):
            version_id = self.current_id()
            if version_id is None:
                legacy = self._legacy_version(check_legacy)
                if legacy is None and attempt < 2 and self.pointer_path.exists():
                    continue  # adopted meanwhile
                return legacy
            try:
                return self.get(version_id)
            except IncompleteVersion:
                if attempt == 2 or self.current_id() == version_id:  # no publish raced us
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _pointer_or_none(self) -> str | None:
        """``current_id()``, or None when the pointer is missing or unreadable."""
        try:
            return self.current_id()
        except RegistryError:
            return None

    def _bad_pointer(self, why: str) -> RegistryError:
        return RegistryError(
            f"{self.pointer_path}: {why}; repair it with: shopmind models rollback "
            f"{self.name} --to VERSION (see: shopmind models list)"
        )

    def _load_failed(self, version: Version, exc: Exception) -> LoadFailed:
        return LoadFailed(
            f"{self.name} version {version.id} does not load ({type(exc).__name__}: {exc}) "
            f"({version.path}); roll back with: shopmind models rollback {self.name}"
        )

    def _legacy_version(self, check: bool) -> Version | None:
        """A model written in place, as version ``legacy`` (``check``: only if complete)."""
        entries = [p for p in self.legacy_entries() if not p.name.startswith(".")]
        if not entries or self.legacy_check is None:
            return None
        if check:
            try:
                self.legacy_check(self.folder)
            except Exception as exc:
                self._ignore_legacy(exc)
                return None
        files = {}
        for entry in entries:
            for path in [entry, *entry.rglob("*")] if entry.is_dir() else [entry]:
                with contextlib.suppress(OSError):
                    if path.is_file():
                        rel = path.relative_to(self.folder).as_posix()
                        files[rel] = {"size": path.stat().st_size}
        manifest = {"files": files, "source": {"layout": LEGACY}}
        return Version(self.name, LEGACY, self.folder, manifest)

    def _ignore_legacy(self, exc: Exception) -> None:
        log.warning(
            "%s: ignoring an incomplete model written in place in %s (%s: %s); it is never "
            "loaded (delete it with: shopmind models prune %s --legacy)",
            self.name,
            self.folder,
            type(exc).__name__,
            exc,
            self.name,
        )

    def _check_files(self, version_id: str, manifest: dict[str, Any], checksums: bool) -> None:
        """Raise ``IncompleteVersion`` unless every file of the manifest is there with its
        size (and, with ``checksums``, its sha256)."""
        folder = self.versions_dir / version_id
        for rel, meta in manifest["files"].items():
            path = folder / rel
            try:
                if not path.is_file():
                    raise self._incomplete(version_id, f"{rel} is missing")
                size = path.stat().st_size
                if size != meta["size"]:
                    why = f"{rel} has {size} bytes, not {meta['size']}"
                    raise self._incomplete(version_id, why)
                if checksums and sha256_file(path) != meta["sha256"]:
                    raise self._incomplete(version_id, f"{rel}: checksum mismatch (file changed)")
            except OSError as exc:
                raise self._incomplete(version_id, f"{rel} cannot be read ({exc})") from exc

    def _install_locked(self, staging: Staging, files: dict[str, dict[str, Any]]) -> Version:
        """Manifest last, rename into ``versions/``, then the atomic pointer switch."""
        version_id = self._next_id()
        manifest = self._new_manifest(version_id, files, staging)
        write_durable(staging.path / MANIFEST, json.dumps(manifest, indent=1))
        fsync_path(staging.path, directory=True)
        self.versions_dir.mkdir(exist_ok=True)
        os.rename(staging.path, self.versions_dir / version_id)
        fsync_path(self.versions_dir, directory=True)
        fsync_path(self.staging_dir, directory=True)
        self._write_pointer(version_id)
        return Version(self.name, version_id, self.versions_dir / version_id, manifest)

    def _new_manifest(
        self, version_id: str, files: dict[str, dict[str, Any]], staging: Staging
    ) -> dict[str, Any]:
        from shopmind import __version__

        return {
            "format": FORMAT,
            "name": self.name,
            "version": version_id,
            "created_at": _now(),
            "files": files,
            "metrics": staging.metrics,
            "source": {
                **staging.source,
                "shopmind_version": __version__,
                "host": socket.gethostname(),
                "pid": os.getpid(),
            },
        }

    def _write_pointer(self, version_id: str) -> None:
        data = {"version": version_id, "published_at": _now(), "token": secrets.token_hex(8)}
        tmp = self.folder / f".current.{secrets.token_hex(6)}.tmp"
        write_durable(tmp, json.dumps(data))
        os.replace(tmp, self.pointer_path)
        fsync_path(self.folder, directory=True)

    def _next_id(self) -> str:
        if not self.versions_dir.is_dir():
            return "v0001"
        numbers = [_version_number(p.name) for p in self.versions_dir.iterdir()]
        return f"v{max([0, *numbers]) + 1:04d}"

    def _manifest(self, version_id: str) -> dict[str, Any]:
        path = self.versions_dir / version_id / MANIFEST
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise self._incomplete(version_id, "no manifest.json (never finished)") from None
        except (OSError, ValueError, RecursionError) as exc:
            raise self._incomplete(version_id, f"unreadable manifest.json ({exc})") from exc
        if (
            not isinstance(manifest, dict)
            or manifest.get("format") != FORMAT
            or not isinstance(manifest.get("metrics", {}), dict)
            or not isinstance(manifest.get("source", {}), dict)
        ):
            raise self._incomplete(version_id, "manifest.json is not a registry manifest")
        files = manifest.get("files")
        if not isinstance(files, dict) or not files:
            raise self._incomplete(version_id, "manifest.json has no file list")
        for rel, meta in files.items():
            if rel.startswith("/") or ".." in rel.split("/"):
                raise self._incomplete(version_id, f"manifest.json names a path outside: {rel}")
            if not _file_entry(meta):
                raise self._incomplete(version_id, f"manifest.json: bad entry for {rel}")
        return manifest

    def _incomplete(self, version_id: str, why: str) -> IncompleteVersion:
        return IncompleteVersion(
            f"{self.name} version {version_id} is incomplete or damaged: {why} "
            f"({self.versions_dir / version_id}); roll back with: "
            f"shopmind models rollback {self.name}",
            why,
        )

    def _info(self, version_id: str, current: bool) -> VersionInfo:
        info = VersionInfo(version_id, current, complete=False)
        try:
            manifest = self._manifest(version_id)
        except IncompleteVersion as exc:
            info.problem = exc.why
            return info
        try:
            self._check_files(version_id, manifest, checksums=False)
        except IncompleteVersion as exc:
            info.problem = exc.why
        info.complete = not info.problem
        info.created_at = str(manifest.get("created_at", ""))
        info.size = sum(int(m["size"]) for m in manifest["files"].values())
        info.metrics = dict(manifest.get("metrics", {}))
        info.source = dict(manifest.get("source", {}))
        return info

    def _previous(self, current: str) -> Version:
        older = [v for v in self.versions() if _version_number(v.id) < _version_number(current)]
        for info in reversed(older):
            if info.complete:
                with contextlib.suppress(IncompleteVersion):
                    return self.get(info.id)
        raise RegistryError(f"{self.name}: no complete version before {current} to roll back to")

    def _cleanup_locked(self) -> list[str]:
        removed = []
        for tmp in self.folder.iterdir():
            if _POINTER_TMP.match(tmp.name):
                tmp.unlink(missing_ok=True)
                removed.append(tmp.name)
        if self.staging_dir.is_dir():
            removed += self._cleanup_staging()
        if self.pointer_path.exists() and self._adopted_version() is not None:
            for path in self.legacy_entries():  # copies of an adopted model, left by a kill
                remove(path)
                removed.append(path.name)
        return removed

    def _cleanup_staging(self) -> list[str]:
        removed = []
        for owner in self.staging_dir.glob("*.lock"):
            fd = try_lock(owner)
            if fd is None:
                continue  # a live save
            try:
                remove(self.staging_dir / owner.name.removesuffix(".lock"))
                owner.unlink(missing_ok=True)
                removed.append(f"{STAGING}/{owner.name.removesuffix('.lock')}")
            finally:
                os.close(fd)
        for path in self.staging_dir.iterdir():
            if path.is_dir() and not (self.staging_dir / f"{path.name}.lock").exists():
                remove(path)  # a save that died before its owner file, or a deletion
                removed.append(f"{STAGING}/{path.name}")
        return removed

    def _prune_locked(self, keep: int) -> PruneReport:
        report = PruneReport(removed_leftovers=self._cleanup_locked())
        current = self._pointer_or_none()  # unreadable: none, the newest complete ones stay
        infos = self.versions()
        complete = [v.id for v in infos if v.complete]
        kept = set(complete[-keep:]) | ({current} if current else set())
        for info in infos:
            if info.id in kept:
                continue
            self._delete_version(info.id)
            report.removed_versions.append(info.id)
        report.kept = [v.id for v in infos if v.id in kept]
        if report.removed_versions:
            log.info("%s: removed versions %s", self.name, ", ".join(report.removed_versions))
        return report

    def _delete_version(self, version_id: str) -> None:
        """Rename out of ``versions/`` first, so a kill mid-delete leaves no broken version."""
        self.staging_dir.mkdir(exist_ok=True)
        trash = self.staging_dir / f"deleting-{version_id}-{secrets.token_hex(4)}"
        os.rename(self.versions_dir / version_id, trash)
        fsync_path(self.versions_dir, directory=True)
        remove(trash)

    def _prune_legacy_locked(self, report: PruneReport) -> None:
        """Old-layout files: a complete model with no version becomes one; files that are
        incomplete, or beside a complete current version, are deleted. Files nothing can
        judge (no ``legacy_check``, no complete current version) stay, and ``legacy_kept``
        says why."""
        if not self.legacy_entries():
            return
        status = self._adopt_locked()
        if status == "adopted":
            report.adopted = str(self._pointer_or_none())
            return
        if status == "unchecked":
            report.legacy_kept = "no check for this model's old layout and no version yet"
            return
        if status == "none" and not self._complete_current() and self._legacy_complete():
            report.legacy_kept = "a complete model, kept while the version pointer is damaged"
            return
        for path in self.legacy_entries():
            remove(path)
            report.removed_legacy.append(path.name)
        if report.removed_legacy:
            log.info("%s: removed old-layout files %s", self.name, report.removed_legacy)

    def _complete_current(self) -> bool:
        version_id = self._pointer_or_none()
        if version_id is None:
            return False
        try:
            self.get(version_id)
        except RegistryError:
            return False
        return True

    def _legacy_complete(self) -> bool:
        if self.legacy_check is None:
            return True  # nothing can tell: treated as complete, never deleted
        try:
            self.legacy_check(self.folder)
        except Exception:
            return False
        return True

    def _adopted_version(self) -> str | None:
        for info in self.versions():
            if info.source.get("adopted_from") == "legacy layout":
                return info.id
        return None

    def _adopt_locked(self) -> str:
        entries = self.legacy_entries()
        if self.pointer_path.exists() or not entries:
            return "none"
        if self.legacy_check is None:
            return "unchecked"
        try:
            self.legacy_check(self.folder)
        except Exception as exc:
            self._ignore_legacy(exc)
            return "incomplete"
        self._publish_legacy([p for p in entries if not p.name.startswith(".")])
        for path in entries:
            remove(path)
        log.info("%s: adopted the model written in place as a version", self.name)
        return "adopted"

    def _publish_legacy(self, entries: Sequence[Path]) -> None:
        self.staging_dir.mkdir(exist_ok=True)
        path = self.staging_dir / f"legacy-{secrets.token_hex(6)}"
        path.mkdir()
        for entry in entries:
            if entry.name != MANIFEST:
                link_tree(entry, path / entry.name)
        fsync_tree(path)
        staging = Staging(path, {}, {"adopted_from": "legacy layout"})
        self._install_locked(staging, _version_files(path))


def _pointed_id(version: Version) -> str | None:
    """What ``current`` names while ``version`` is current (nothing for a legacy model)."""
    return None if version.id == LEGACY else version.id


def _file_entry(meta: object) -> bool:
    """Whether a manifest's file entry is ``{"size": int >= 0, "sha256": str}``."""
    if not isinstance(meta, dict):
        return False
    size, digest = meta.get("size"), meta.get("sha256")
    return type(size) is int and size >= 0 and isinstance(digest, str)
