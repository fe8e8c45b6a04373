"""Every model in a workspace's ``models/`` folder, as ``shopmind models list`` shows it.

Read only: it opens each folder as a ``Registry`` and never writes. What cannot be read (a
damaged pointer, an unlistable folder) becomes the entry's ``problem``, never an error.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from shopmind.models.registry import (
    POINTER,
    STAGING,
    VERSIONS,
    Registry,
    RegistryError,
    VersionInfo,
)


@dataclass
class ModelEntry:
    """One named artifact as ``shopmind models list`` shows it."""

    name: str
    current: str | None
    versions: list[VersionInfo]
    legacy: list[str]
    problem: str = ""


def list_models(root: str | Path) -> list[ModelEntry]:
    """Every artifact under ``root``: registry folders, and models still in the old layout."""
    root = Path(root)
    entries: list[ModelEntry] = []
    if root.is_dir():
        _scan(root, root, entries, depth=0)
    return sorted(entries, key=lambda e: e.name)


def _scan(root: Path, folder: Path, out: list[ModelEntry], depth: int) -> None:
    try:
        children = sorted(folder.iterdir())
    except OSError as exc:
        name = folder.relative_to(root).as_posix()
        out.append(ModelEntry(name, None, [], [], problem=f"cannot list the folder ({exc})"))
        return
    is_registry = any(p.name in (POINTER, VERSIONS, STAGING) for p in children)
    holds_files = any(p.is_file() and not p.name.startswith(".") for p in children)
    if folder != root and (is_registry or holds_files):
        out.append(_entry(root, folder))
        return
    if depth < 4:
        for child in children:
            if child.is_dir() and not child.name.startswith("."):
                _scan(root, child, out, depth + 1)


def _entry(root: Path, folder: Path) -> ModelEntry:
    """One folder as listed; what cannot be read becomes its ``problem``, never an error."""
    entry = ModelEntry(folder.relative_to(root).as_posix(), None, [], [])
    try:
        reg = Registry(root, entry.name)
        entry.versions = reg.versions()
        entry.legacy = [p.name for p in reg.legacy_entries()]
        entry.current = reg.current_id()
    except (RegistryError, OSError) as exc:
        entry.problem = str(exc)
    return entry
