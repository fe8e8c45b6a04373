"""Durable files: the pieces of a write that a crash (``kill -9``, a power cut) cannot tear.

What they guarantee, used in this order:

- fsync before rename: ``fsync_tree`` (or ``write_durable`` for one file) puts a folder's
  contents on disk before the folder is renamed into place, so a rename never publishes
  files whose data is not there yet; ``fsync_path(parent, directory=True)`` then makes the
  rename itself durable.
- atomic replace: ``write_durable`` a temp file beside the target, ``os.replace`` it over
  the target, ``fsync_path`` the folder; a reader sees the old file or the new, never a mix.
- advisory flock: ``try_lock`` takes a non-blocking exclusive ``fcntl.flock`` (POSIX only:
  Linux and macOS). The kernel drops it when its holder dies, so a lock file nobody holds
  marks the work of a dead process.

``sha256_file`` and ``file_table`` describe what was written (for a manifest), and
``link_tree`` and ``remove`` copy and delete trees.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
from collections.abc import Collection
from pathlib import Path
from typing import Any


class SymlinkInTree(ValueError):
    """``file_table`` met a symbolic link under its folder (``path``)."""

    def __init__(self, path: Path) -> None:
        super().__init__(f"{path}: symbolic links are refused")
        self.path = path


def fsync_path(path: Path, directory: bool = False) -> None:
    """fsync one file, or a folder (its entries: renames and new files in it)."""
    flags = os.O_RDONLY | (os.O_DIRECTORY if directory else 0)
    fd = os.open(path, flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_tree(folder: Path) -> None:
    """fsync every file, then every folder bottom-up, of ``folder``."""
    for dirpath, dirnames, filenames in os.walk(folder, topdown=False):
        for name in filenames:
            fsync_path(Path(dirpath) / name)
        for name in dirnames:
            fsync_path(Path(dirpath) / name, directory=True)
    fsync_path(folder, directory=True)


def sha256_file(path: Path) -> str:
    """The hex sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def file_table(folder: Path, exclude: Collection[str] = ()) -> dict[str, dict[str, Any]]:
    """Every file under ``folder`` (relative POSIX path → size and sha256), sorted.

    Paths in ``exclude`` are left out; a symbolic link raises ``SymlinkInTree``.
    """
    table: dict[str, dict[str, Any]] = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if path.is_symlink():
            raise SymlinkInTree(path)
        if path.is_file() and rel not in exclude:
            table[rel] = {"size": path.stat().st_size, "sha256": sha256_file(path)}
    return table


def write_durable(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` and fsync it before returning."""
    with path.open("w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())


def remove(path: Path) -> None:
    """Delete a file or a folder tree; what is already gone is no error."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def try_lock(path: Path) -> int | None:
    """An fd holding an exclusive flock on ``path``; None when another process holds it
    or ``path`` does not exist. Closing the fd releases the lock."""
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def link_tree(src: Path, dst: Path) -> None:
    """Hard-link (or copy where links are refused) ``src`` to ``dst``, folders recursively."""
    if src.is_dir():
        dst.mkdir()
        for child in src.iterdir():
            link_tree(child, dst / child.name)
        return
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)
