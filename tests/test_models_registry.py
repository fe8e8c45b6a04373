"""The model registry: versions, manifests, rollback, prune, hot reload — and kill -9.

Regression tests for issue 7, "Half-written models": a training killed while it saves
(with or without an earlier model) must never leave a version that loads half, a folder
that ``best_model`` picks, debris in the live version, or a mix of two runs' files.
And for the registry's review: a complete version that does not load, a damaged pointer,
reads that wrote, old-layout debris nothing cleaned.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from reviews_contract import synthetic_reviews
from shopmind.api.app import create_app
from shopmind.cli import app as cli
from shopmind.config import init_workspace, load_settings
from shopmind.models.cache import ArtifactCache
from shopmind.models.listing import list_models
from shopmind.models.registry import (
    LEGACY,
    MANIFEST,
    IncompleteVersion,
    LoadFailed,
    Registry,
    RegistryError,
)
from shopmind.reviews.linear import LinearSentiment
from shopmind.reviews.service import (
    ReviewsError,
    best_model,
    load_model,
    model_dir,
    open_best,
    open_model,
    registry,
    save_model,
)

CHILD = Path(__file__).with_name("registry_child.py")


def write_files(**files: str):
    """A ``write(folder)`` for ``Registry.publish`` that writes the given text files."""

    def write(folder: Path) -> None:
        for rel, text in files.items():
            path = folder / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")

    return write


@pytest.fixture(scope="module")
def data() -> tuple[list[str], list[int]]:
    return synthetic_reviews(300, seed=3)


@pytest.fixture(scope="module")
def linear(data) -> LinearSentiment:
    return LinearSentiment().fit(*data)


@pytest.fixture(scope="module")
def flipped(data) -> LinearSentiment:
    """Trained with negative and positive swapped: every marked text scores the other way."""
    texts, labels = data
    return LinearSentiment().fit(texts, [2 - y for y in labels])


@pytest.fixture
def server(api_workspace: tuple[TestClient, dict[str, str], Path]):
    """A running app on its own SQLite store: client, auth headers, its models folder."""
    client, headers, ws = api_workspace
    return client, headers, load_settings(ws).models_dir


def labels_of(model, texts: list[str]) -> list[str]:
    return [p.label for p in model.predict(texts)]


def entries(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*")}


def snapshot(folder: Path) -> dict[str, tuple[int, int, int]]:
    """Every path under ``folder`` with its inode, mtime and size: what any write changes."""
    return {
        p.relative_to(folder).as_posix(): (st.st_ino, st.st_mtime_ns, st.st_size)
        for p in sorted(folder.rglob("*"))
        for st in [p.lstat()]
    }


def publish_unloadable_transformer(models: Path) -> str:
    """A complete transformer version this build cannot read (``shopmind.json`` format 99)."""
    state = {"tier": "transformer", "format": 99, "labels": ["negative", "neutral", "positive"]}
    files = write_files(**{"shopmind.json": json.dumps(state)})
    return registry(models, "transformer").publish(files).id


def publish_corrupt_linear(models: Path, model: LinearSentiment) -> str:
    """A linear version published with a corrupt ``weights.npz``: its manifest holds the
    corrupt file's checksum, so it verifies, and it does not load."""

    def write(folder: Path) -> None:
        model.save(folder)
        (folder / "weights.npz").write_bytes(b"PK\x03\x04 not a whole zip archive")

    return registry(models, "linear").publish(write).id


# -- publish, verify, load -----------------------------------------------------------------


def test_publish_writes_a_new_version_with_its_manifest(tmp_path: Path) -> None:
    reg = Registry(tmp_path, "recommend/sasrec")
    first = reg.publish(write_files(**{"a.txt": "one", "sub/b.bin": "two"}), {"ndcg": 0.3})
    second = reg.publish(write_files(**{"a.txt": "uno"}), {"ndcg": 0.4}, {"params": {"k": 1}})
    assert (first.id, second.id) == ("v0001", "v0002")
    assert reg.current_id() == "v0002" and reg.current() == second
    assert (first.path / "a.txt").read_text() == "one", "a new save never touches a version"
    manifest = json.loads((second.path / MANIFEST).read_text())
    assert manifest["files"] == {"a.txt": {"size": 3, "sha256": hashlib.sha256(b"uno").hexdigest()}}
    assert manifest["metrics"] == {"ndcg": 0.4} and manifest["source"]["params"] == {"k": 1}
    for key in ("shopmind_version", "host", "pid"):
        assert key in manifest["source"]
    assert manifest["created_at"].endswith("Z")
    assert entries(reg.folder) >= {"current", "versions/v0001/sub/b.bin", ".staging"}
    assert not list(reg.staging_dir.iterdir()), "staging is empty after a publish"


def test_a_failed_save_publishes_nothing_and_leaves_no_staging(tmp_path: Path) -> None:
    reg = Registry(tmp_path, "reviews/linear")
    reg.publish(write_files(x="1"))

    def crash(folder: Path) -> None:
        (folder / "x").write_text("half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        reg.publish(crash)
    assert reg.current_id() == "v0001" and [v.id for v in reg.versions()] == ["v0001"]
    assert not list(reg.staging_dir.iterdir())
    with pytest.raises(RegistryError, match="wrote no files"):
        reg.publish(lambda folder: None)


def test_listing_and_loading_report_the_same_file_problem(tmp_path: Path) -> None:
    """One check of a version's files (the review found two copies that disagreed)."""
    reg = Registry(tmp_path, "reviews/linear")
    version = reg.publish(write_files(**{"w.bin": "original!"}))
    (version.path / "w.bin").write_bytes(b"sho")
    with pytest.raises(IncompleteVersion) as info:
        reg.get("v0001")
    [listed] = reg.versions()
    assert not listed.complete and listed.problem == info.value.why == "w.bin has 3 bytes, not 9"
    (version.path / MANIFEST).write_text(json.dumps({"format": 1, "files": {"w.bin": 3}}))
    assert reg.versions()[0].problem == "manifest.json: bad entry for w.bin"


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda p: p.write_bytes(b"tampered!"), "checksum mismatch"),
        (lambda p: p.write_bytes(b"sho"), "has 3 bytes, not 9"),
        (lambda p: p.unlink(), "is missing"),
    ],
)
def test_a_damaged_version_is_refused_with_a_clear_error(tmp_path: Path, damage, message) -> None:
    reg = Registry(tmp_path, "reviews/linear")
    version = reg.publish(write_files(**{"w.bin": "original!"}))
    damage(version.path / "w.bin")
    with pytest.raises(IncompleteVersion, match=message) as info:
        reg.current()
    text = str(info.value)
    assert "reviews/linear version v0001" in text and "w.bin" in text
    assert "shopmind models rollback reviews/linear" in text


def test_service_loads_only_verified_versions(tmp_path: Path, linear, data) -> None:
    texts = data[0][:20]
    version = save_model(tmp_path, "linear", linear, {"examples": 300})
    assert version.manifest["source"]["tier"] == "linear"
    assert version.manifest["source"]["params"]["C"] == linear.C
    assert labels_of(load_model(tmp_path, "linear"), texts) == labels_of(linear, texts)
    with (version.path / "weights.npz").open("r+b") as fh:  # one flipped byte
        fh.seek(100)
        byte = fh.read(1)
        fh.seek(100)
        fh.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(ReviewsError, match="checksum mismatch"):
        load_model(tmp_path, "linear")
    assert best_model(tmp_path).name == "lexicon", "a damaged tier is skipped, never loaded"


def test_a_loader_error_names_the_model_version_and_rollback(tmp_path: Path, linear) -> None:
    """Review of issue 7: a complete version whose loader fails (an optional package
    missing, a file published corrupt so that its checksum matches) raised the loader's
    bare error; it is now ``LoadFailed`` naming the model, the version and the fix."""
    reg = Registry(tmp_path, "recommend/sasrec")
    reg.publish(write_files(**{"index.bin": "built with an engine this host lacks"}))
    with pytest.raises(LoadFailed) as info:
        reg.load(lambda folder: importlib.import_module("shopmind_engine_not_installed"))
    text = str(info.value)
    assert "recommend/sasrec version v0001 does not load (ModuleNotFoundError" in text
    assert "shopmind models rollback recommend/sasrec" in text
    version = publish_corrupt_linear(tmp_path, linear)
    with pytest.raises(ReviewsError, match=f"reviews/linear version {version} does not load"):
        load_model(tmp_path, "linear")
    assert best_model(tmp_path).name == "lexicon", "the next tier serves"


def test_a_tier_that_does_not_load_falls_back_to_the_next(
    server, tmp_path: Path, linear, caplog
) -> None:
    """Review of issue 7 (blocker): a complete version whose loader fails — here a
    transformer ``shopmind.json`` of format 99 — made ``best_model`` raise, so a fresh
    server's default scoring answered 500 and ``reviews score`` failed. The next tier now
    serves; asking for the broken tier is a clear 409 / CLI error naming the fix."""
    client, headers, models = server
    save_model(models, "linear", linear)
    version = publish_unloadable_transformer(models)
    with caplog.at_level(logging.WARNING):
        assert open_best(models).tier == "linear"
    assert f"not using the transformer tier: reviews/transformer version {version}" in caplog.text
    r = client.post("/v1/reviews/score", json={"texts": ["fine"]}, headers=headers)
    assert r.status_code == 200, r.text
    assert (r.json()["model"], r.json()["version"]) == ("linear", "v0001")
    r = client.post(
        "/v1/reviews/score", json={"texts": ["fine"], "model": "transformer"}, headers=headers
    )
    assert r.status_code == 409
    assert "reviews/transformer version v0001 does not load (ValueError" in r.json()["detail"]
    assert "shopmind models rollback reviews/transformer" in r.json()["detail"]
    (tmp_path / "in.csv").write_text("text\nfine\n")
    runner, w = CliRunner(), ["--workspace", str(models.parent)]
    score = ["reviews", "score", "--input", str(tmp_path / "in.csv"), "--text-column", "text"]
    result = runner.invoke(cli, [*w, *score, "--output", str(tmp_path / "o.csv")])
    assert result.exit_code == 0, result.output
    result = runner.invoke(
        cli, [*w, *score, "--output", str(tmp_path / "t.csv"), "--model", "transformer"]
    )
    assert result.exit_code == 1
    assert "shopmind models rollback reviews/transformer" in " ".join(result.output.split())


def test_concurrent_trainings_publish_whole_versions(tmp_path: Path, linear, data) -> None:
    """Two trainings of one model at once: each stages apart, the lock orders publishes."""

    def publisher(n: int) -> None:
        for _ in range(4):
            save_model(tmp_path, "linear", linear, {"examples": n}, keep=100)

    threads = [threading.Thread(target=publisher, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    reg = registry(tmp_path, "linear")
    assert [v.id for v in reg.versions()] == [f"v{i:04d}" for i in range(1, 17)]
    assert all(reg.get(v.id) for v in reg.versions()), "every version verifies"
    texts = data[0][:20]
    assert labels_of(load_model(tmp_path, "linear"), texts) == labels_of(linear, texts)


# -- rollback, prune, cleanup --------------------------------------------------------------


def test_rollback_to_previous_or_named_complete_version(tmp_path: Path) -> None:
    reg = Registry(tmp_path, "reviews/linear", keep=10)
    with pytest.raises(RegistryError, match="no model named 'reviews/linear'"):
        reg.rollback()
    reg.folder.mkdir(parents=True)
    with pytest.raises(RegistryError, match="nothing published"):
        reg.rollback()
    for i in range(4):
        reg.publish(write_files(v=str(i)))
    (reg.versions_dir / "v0003" / "v").unlink()  # v0003 is damaged: rollback skips it
    assert reg.rollback().id == "v0002"
    assert reg.rollback().id == "v0001"
    with pytest.raises(RegistryError, match="no complete version before v0001"):
        reg.rollback()
    assert reg.rollback("v0004").id == "v0004" and reg.current_id() == "v0004"
    with pytest.raises(RegistryError, match=r"no version 'v0009' \(versions: v0001, v0002"):
        reg.rollback("v0009")
    with pytest.raises(IncompleteVersion, match="v is missing"):
        reg.rollback("v0003")
    assert reg.current_id() == "v0004", "a refused rollback changes nothing"


@pytest.mark.parametrize("pointer", [b"", b"\x00garbage", b'{"version": "../v1"}', b"\xff\xfe"])
def test_a_damaged_pointer_is_repaired_by_rollback_to_and_pruned_past(
    tmp_path: Path, pointer: bytes
) -> None:
    """Review of issue 7: an empty or garbage ``current`` made ``models rollback --to`` and
    ``models prune`` fail with "unreadable version pointer"; they cannot repair it. With
    ``--to`` the old pointer is not read; prune takes it as none and keeps the newest."""
    ws = tmp_path / "ws"
    init_workspace(ws)
    reg = Registry(ws / "models", "reviews/linear", keep=10)
    for i in range(3):
        reg.publish(write_files(v=str(i)))
    reg.pointer_path.write_bytes(pointer)
    with pytest.raises(RegistryError, match="rollback reviews/linear --to VERSION"):
        reg.current()
    with pytest.raises(RegistryError, match="rollback reviews/linear --to VERSION"):
        reg.rollback()  # "the previous one" needs the pointer: the error says how to repair
    [entry] = list_models(reg.root)
    assert entry.current is None and "version pointer" in entry.problem
    assert [v.id for v in entry.versions] == ["v0001", "v0002", "v0003"]
    report = reg.prune(keep=1)
    assert report.kept == ["v0003"] and report.removed_versions == ["v0001", "v0002"]
    reg.publish(write_files(v="3"))  # v0004
    reg.pointer_path.write_bytes(pointer)
    runner, w = CliRunner(), ["--workspace", str(ws)]
    result = runner.invoke(cli, [*w, "models", "prune", "--keep", "2"])
    assert result.exit_code == 0, result.output
    assert "kept v0003, v0004" in result.output
    result = runner.invoke(cli, [*w, "models", "rollback", "reviews/linear", "--to", "v0003"])
    assert result.exit_code == 0, result.output
    assert "current version is now v0003" in result.output
    assert reg.current().id == "v0003"


def test_prune_keeps_the_newest_and_never_the_current_one(tmp_path: Path) -> None:
    reg = Registry(tmp_path, "reviews/linear", keep=10)
    for i in range(5):
        reg.publish(write_files(v=str(i)))
    reg.rollback("v0001")
    report = reg.prune(keep=2)
    assert report.removed_versions == ["v0002", "v0003"]
    assert [v.id for v in reg.versions()] == ["v0001", "v0004", "v0005"]
    assert reg.current().id == "v0001"
    auto = Registry(tmp_path, "reviews/linear", keep=2)  # publishing prunes to ``keep`` too
    assert auto.publish(write_files(v="6")).id == "v0006"
    assert [v.id for v in auto.versions()] == ["v0005", "v0006"]


def test_leftovers_of_dead_saves_are_cleaned_and_live_ones_kept(tmp_path: Path) -> None:
    reg = Registry(tmp_path, "reviews/linear")
    reg.publish(write_files(v="1"))
    # What a process killed mid-save leaves: its staging folder and an owner file nobody
    # holds any more, a pointer temp file, and a half-deleted version.
    (reg.staging_dir / "999-dead").mkdir()
    (reg.staging_dir / "999-dead" / "weights.bin").write_bytes(b"x" * 1000)
    (reg.staging_dir / "999-dead.lock").touch()
    (reg.folder / ".current.0123abcd.tmp").write_text("{")
    (reg.staging_dir / "deleting-v0000-ab").mkdir()
    with reg.stage() as live:  # a save in progress in this process, at the same time
        (live.path / "v").write_text("2")
        removed = reg.cleanup()
        assert sorted(removed) == [
            ".current.0123abcd.tmp",
            ".staging/999-dead",
            ".staging/deleting-v0000-ab",
        ]
        assert live.path.is_dir(), "a live save is never cleaned"
    assert live.version is not None and live.version.id == "v0002"
    assert not list(reg.staging_dir.iterdir())


# -- legacy layout (models written in place by an older shopmind) ----------------------------


def test_a_complete_legacy_model_serves_in_place_until_a_save_adopts_it(
    tmp_path: Path, linear, data
) -> None:
    folder = model_dir(tmp_path, "linear")
    linear.save(folder)  # the old layout: files straight in models/reviews/linear/
    loaded = open_model(tmp_path, "linear")
    assert labels_of(loaded.model, data[0][:20]) == labels_of(linear, data[0][:20])
    reg = registry(tmp_path, "linear")
    assert loaded.version == LEGACY and reg.current().path == folder
    assert reg.current_id() is None and reg.legacy_entries(), "a read adopts nothing"
    assert save_model(tmp_path, "linear", linear).id == "v0002"
    assert reg.versions()[0].source["adopted_from"] == "legacy layout"
    assert not reg.legacy_entries()
    assert reg.rollback().id == "v0001", "the adopted model stays a version to roll back to"


def test_reads_never_write_the_models_folder(server, tmp_path: Path, linear) -> None:
    """Review of issue 7: ``Registry.current()`` adopted old-layout models while reading, so
    a read-only models folder made a read fail (PermissionError, 500 in the API). Every
    read — load, best tier, listing, the API's scoring and listing, the CLI's listing and
    scoring — now leaves every file and folder as it was (inode, mtime, size)."""
    client, headers, models = server
    linear.save(model_dir(models, "linear"))  # a complete model, old layout
    half = model_dir(models, "transformer")  # a first transformer save killed half-way
    half.mkdir(parents=True)
    (half / "config.json").write_text('{"model_type": "bert"}')
    (half / "model.safetensors").write_bytes(b"\0" * 4096)
    Registry(models, "recommend/sasrec").publish(write_files(v="1"))
    before = snapshot(models)
    assert registry(models, "linear").current().id == LEGACY
    assert registry(models, "transformer").current() is None
    assert open_best(models).version == LEGACY and load_model(models, "linear").name == "linear"
    assert {e.name for e in list_models(models)} >= {"reviews/linear", "reviews/transformer"}
    r = client.post("/v1/reviews/score", json={"texts": ["fine"]}, headers=headers)
    assert r.status_code == 200 and (r.json()["model"], r.json()["version"]) == ("linear", LEGACY)
    assert client.get("/v1/models", headers=headers).status_code == 200
    (tmp_path / "in.csv").write_text("text\nfine\n")
    runner, w = CliRunner(), ["--workspace", str(models.parent)]
    result = runner.invoke(cli, [*w, "models", "list"])
    assert result.exit_code == 0
    assert "prune reviews/transformer --legacy" in " ".join(result.output.split())
    score = ["reviews", "score", "--input", str(tmp_path / "in.csv"), "--text-column", "text"]
    result = runner.invoke(cli, [*w, *score, "--output", str(tmp_path / "o.csv")])
    assert result.exit_code == 0, result.output
    assert snapshot(models) == before


def test_an_incomplete_legacy_model_is_ignored_and_reported(tmp_path: Path, linear, caplog) -> None:
    folder = model_dir(tmp_path, "linear")
    linear.save(folder)
    (folder / "weights.npz").write_bytes(b"PK\x03\x04 killed")  # killed while writing
    with caplog.at_level(logging.WARNING):
        assert best_model(tmp_path).name == "lexicon"
    assert "ignoring an incomplete model written in place" in caplog.text
    with pytest.raises(ReviewsError, match="no trained linear model"):
        load_model(tmp_path, "linear")
    assert (folder / "weights.npz").exists(), "never deleted: reported"
    [entry] = list_models(tmp_path)
    assert entry.name == "reviews/linear" and "weights.npz" in entry.legacy
    assert save_model(tmp_path, "linear", linear).id == "v0001"
    assert best_model(tmp_path).name == "linear"


def test_half_written_legacy_transformer_is_never_the_best_model(
    server, tmp_path: Path, linear
) -> None:
    """Issue 7: ``config.json`` + ``model.safetensors`` without ``shopmind.json`` (a kill -9
    during the first transformer save, old layout) made ``best_model`` pick the folder, and
    ``reviews score`` and a fresh server's default scoring failed."""
    client, headers, models = server
    save_model(models, "linear", linear)
    folder = model_dir(models, "transformer")
    folder.mkdir(parents=True)
    (folder / "config.json").write_text('{"model_type": "bert"}')
    (folder / "model.safetensors").write_bytes(b"\0" * 4096)
    (folder / ".tmpk2j3h4").write_bytes(b"\0" * 1024)
    assert best_model(models).name == "linear"
    with pytest.raises(ReviewsError, match="no trained transformer model"):
        load_model(models, "transformer")
    r = client.post("/v1/reviews/score", json={"texts": ["fine"]}, headers=headers)
    assert r.status_code == 200 and r.json()["model"] == "linear"
    (tmp_path / "in.csv").write_text("text\nfine\n")
    args = ["reviews", "score", "--input", str(tmp_path / "in.csv"), "--text-column", "text"]
    result = CliRunner().invoke(
        cli, ["--workspace", str(models.parent), *args, "--output", str(tmp_path / "o.csv")]
    )
    assert result.exit_code == 0, result.output


def test_unfinished_legacy_pretraining_is_not_used(tmp_path: Path) -> None:
    folder = model_dir(tmp_path, "pretrained")
    folder.mkdir(parents=True)
    (folder / "model.safetensors").write_bytes(b"\0" * 64)  # killed before pretrain.json
    assert registry(tmp_path, "pretrained").current() is None


def test_prune_legacy_removes_old_layout_debris(tmp_path: Path, linear) -> None:
    """Review of issue 7: what older builds left in place — a ``.tmp…`` file of a killed
    save, ``config.json`` + ``model.safetensors`` without ``shopmind.json`` — was never
    cleaned. ``models prune --legacy`` deletes incomplete old-layout files and any beside
    a complete current version, adopts a complete model, and leaves what it cannot judge."""
    ws = tmp_path / "ws"
    init_workspace(ws)
    models = ws / "models"
    half = model_dir(models, "transformer")  # the first transformer save, killed
    half.mkdir(parents=True)
    (half / "config.json").write_text('{"model_type": "bert"}')
    (half / "model.safetensors").write_bytes(b"\0" * 4096)
    (half / ".tmpk2j3h4").write_bytes(b"\0" * 1024)
    save_model(models, "linear", linear)  # a complete version, and debris beside it
    (model_dir(models, "linear") / ".tmp9x8y7z").write_bytes(b"\0" * 1024)
    (model_dir(models, "linear") / "config.json").write_text("{}")
    unfinished = model_dir(models, "pretrained")  # pretraining killed before pretrain.json
    unfinished.mkdir(parents=True)
    (unfinished / "model.safetensors").write_bytes(b"\0" * 64)
    other = models / "recommend" / "sasrec"  # no check for its old layout: left
    other.mkdir(parents=True)
    (other / "item_ids.json").write_text("[]")
    runner, w = CliRunner(), ["--workspace", str(ws)]

    result = runner.invoke(cli, [*w, "models", "prune"])
    assert result.exit_code == 0, result.output
    assert (half / ".tmpk2j3h4").exists(), "without --legacy old-layout files stay"
    result = runner.invoke(cli, [*w, "models", "prune", "--legacy"])
    assert result.exit_code == 0, result.output
    out = " ".join(result.output.split())
    removed = "removed old-layout files"
    assert f"reviews/transformer: {removed} .tmpk2j3h4, config.json, model.safetensors" in out
    assert f"reviews/linear: {removed} .tmp9x8y7z, config.json" in out
    assert f"reviews/pretrained: {removed} model.safetensors" in out
    assert "recommend/sasrec: old-layout files kept (no check" in out
    assert {p.name for p in half.iterdir()} <= {".lock", ".staging"}
    assert registry(models, "linear").current().id == "v0001", "the version is untouched"
    assert (other / "item_ids.json").exists()


def test_prune_legacy_adopts_a_complete_model(tmp_path: Path, linear, data) -> None:
    linear.save(model_dir(tmp_path, "linear"))
    reg = registry(tmp_path, "linear")
    report = reg.prune(legacy=True)
    assert report.adopted == "v0001" and not reg.legacy_entries()
    assert labels_of(load_model(tmp_path, "linear"), data[0][:9]) == labels_of(linear, data[0][:9])


# -- kill -9 ---------------------------------------------------------------------------------


class Child:
    """``registry_child.py``: fits once, then forks publishers on request (see its doc)."""

    def __init__(self, tier: str) -> None:
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
        self.proc = subprocess.Popen(
            [sys.executable, str(CHILD), tier],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        assert self.readline() == "ready"

    def readline(self) -> str:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        assert line, f"the child died (exit {self.proc.poll()})"
        return line

    def ask(self, command: str) -> dict:
        assert self.proc.stdin is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        return json.loads(self.readline())

    def kill(self, pid: int) -> int:
        os.kill(pid, signal.SIGKILL)
        return self.ask(f"reap {pid}")["status"]

    def fork(self, models: Path) -> int:
        return self.ask(f"fork {models}")["pid"]

    def crash(self, models: Path, n: int) -> int:
        return self.ask(f"crash {models} {n}")["pid"]

    def close(self) -> None:
        self.proc.kill()  # every process it forked was killed and reaped already
        self.proc.wait(timeout=30)


@pytest.fixture(scope="module")
def linear_child() -> Iterator[Child]:
    child = Child("linear")
    yield child
    child.close()


OWN = {"current", "versions", ".staging", ".lock"}


def check_serves(reg: Registry, texts: list[str], expected: list[str]) -> str:
    """The current version is complete, holds nothing but its files, and scores ``texts``."""
    version = reg.current()
    assert version is not None
    assert entries(version.path) == {*version.manifest["files"], MANIFEST}, "debris or mix"
    assert all(v.complete for v in reg.versions()), "an incomplete folder in versions/"
    assert labels_of(load_model(reg.root, "linear"), texts) == expected
    return version.id


def test_kill_loop_the_previous_version_always_serves(
    tmp_path: Path, linear_child: Child, linear, data
) -> None:
    """Issue 7: a publisher killed at 25 points spread over a save never leaves a store that
    cannot score; every kill, the registry's current version loads and scores."""
    texts = data[0][:50]
    expected = labels_of(linear, texts)
    reg = registry(tmp_path, "linear")
    started = time.perf_counter()
    save_model(tmp_path, "linear", linear)
    one_save = time.perf_counter() - started
    mid_save = advanced = 0
    for delay in np.linspace(0.0, 2.5 * one_save, 25):
        before, debris = reg.current_id(), set(reg.staging_dir.iterdir())
        pid = linear_child.fork(tmp_path)
        time.sleep(delay)
        assert linear_child.kill(pid) == -signal.SIGKILL
        mid_save += bool(set(reg.staging_dir.iterdir()) - debris)
        after = check_serves(reg, texts, expected)
        advanced += after != before
        assert all(p.name in OWN or p.name.startswith(".current.") for p in reg.folder.iterdir())
    assert mid_save >= 3 and advanced >= 3, (mid_save, advanced)  # kills landed all over
    save_model(tmp_path, "linear", linear)  # the next publish cleans what the kills left
    assert not list(reg.staging_dir.iterdir())
    assert not list(reg.folder.glob(".current.*.tmp"))
    assert len(reg.versions()) == 3


def test_killed_before_each_file_operation_of_a_publish(
    tmp_path: Path, linear_child: Child, linear, data
) -> None:
    """Issue 7, step by step rather than by timer: a publisher SIGKILLed right before its
    n-th call that changes files (open, write, mkdir, rename, replace, unlink …), for every
    such call of the commit and pruning and a spread over the model's own writes; each time
    the previous (or the new, complete) version serves. Every run starts from a copy of the
    same workspace (3 versions: the publish also prunes one), so call n is the same step."""
    texts = data[0][:50]
    expected = labels_of(linear, texts)
    base = tmp_path / "base"
    for _ in range(3):
        save_model(base, "linear", linear)
    shutil.copytree(base, tmp_path / "count")
    calls = linear_child.ask(f"count {tmp_path / 'count'}")["calls"]
    commit = max(i for i, c in enumerate(calls, 1) if c.endswith("in _locked"))
    assert commit > 5, calls
    outcomes = []
    points = {*np.linspace(1, commit, 6).astype(int), *range(commit - 8, len(calls) + 1)}
    for n in sorted(points):
        models = shutil.copytree(base, tmp_path / f"kill{n}")
        reg = registry(models, "linear")
        status = linear_child.ask(f"reap {linear_child.crash(models, n)}")["status"]
        assert status == -signal.SIGKILL, f"not killed before call {n}: {calls[n - 1]}"
        outcomes.append(check_serves(reg, texts, expected))
        save_model(models, "linear", linear)  # the next publish cleans what the kill left
        assert not list(reg.staging_dir.iterdir()) and len(reg.versions()) == 3
    assert {"v0003", "v0004"} <= set(outcomes), "kills before and after the switch"


@pytest.fixture(scope="module")
def transformer_child() -> Iterator[Child]:
    child = Child("transformer")
    yield child
    child.close()


def kill_mid_save(child: Child, reg: Registry) -> None:
    """Fork a transformer save and kill it once its weights are on disk, before the end."""
    pid = child.fork(reg.root)
    deadline = time.monotonic() + 60
    while not list(reg.staging_dir.glob("*/model.safetensors")):
        assert time.monotonic() < deadline, "the save never started"
        time.sleep(0.0005)
    assert child.kill(pid) == -signal.SIGKILL


def test_transformer_killed_during_its_first_save_is_never_picked(
    transformer_child: Child, tmp_path: Path, linear
) -> None:
    """Issue 7: kill -9 while the first transformer is being saved; best_model must not
    pick it and default scoring (CLI, API) keeps working with the linear tier."""
    child, models = transformer_child, tmp_path
    save_model(models, "linear", linear)
    reg = registry(models, "transformer")
    kill_mid_save(child, reg)
    half = [p for p in reg.staging_dir.iterdir() if p.is_dir()]
    assert half and not (half[0] / "shopmind.json").exists(), "killed mid-save"
    assert reg.current_id() is None and not reg.versions()
    assert best_model(models).name == "linear"
    assert "no trained transformer model" in child.ask(f"score {models}")["error"]
    reg.cleanup()
    assert not list(reg.staging_dir.iterdir())


def test_transformer_killed_saving_over_a_model_leaves_it_whole(
    transformer_child: Child, tmp_path: Path
) -> None:
    """Issue 7: killed while saving over an existing transformer, the live version has no
    ``.tmp`` debris and no file of the new run; it still loads and scores the same."""
    child, reg = transformer_child, registry(tmp_path, "transformer")
    first = child.ask(f"publish {tmp_path}")["version"]
    scored = child.ask(f"score {tmp_path}")
    before = {p: p.read_bytes() for p in reg.current().path.rglob("*") if p.is_file()}
    kill_mid_save(child, reg)
    assert reg.current_id() == first
    version = reg.current()  # verified: sizes and checksums
    assert {p: p.read_bytes() for p in version.path.rglob("*") if p.is_file()} == before
    assert not [p for p in version.path.rglob("*") if "tmp" in p.name]
    assert child.ask(f"score {tmp_path}") == scored


# -- a running server picks up new versions ----------------------------------------------------


def test_server_switches_to_a_new_version_without_restart(
    server, linear, flipped, data, caplog
) -> None:
    client, headers, models = server
    texts = [t for t, y in zip(*data, strict=True) if y != 1][:5]

    def score(model: str | None = None) -> tuple[str, list[str]]:
        body: dict = {"texts": texts, "aspects": False}
        if model:
            body["model"] = model
        r = client.post("/v1/reviews/score", json=body, headers=headers)
        assert r.status_code == 200, r.text
        return r.json()["model"], [x["label"] for x in r.json()["results"]]

    assert score()[0] == "lexicon"
    assert (
        client.post(
            "/v1/reviews/score", json={"texts": ["x"], "model": "linear"}, headers=headers
        ).status_code
        == 409
    )
    save_model(models, "linear", linear)
    assert score() == ("linear", labels_of(linear, texts)), "the first trained tier is picked up"
    save_model(models, "linear", flipped)
    assert score() == ("linear", labels_of(flipped, texts))
    assert score("linear") == ("linear", labels_of(flipped, texts))
    # A complete version that does not load: the old model keeps serving, the error is logged.
    registry(models, "linear").publish(write_files(**{"config.json": "{}"}))
    with caplog.at_level(logging.ERROR):
        assert score() == ("linear", labels_of(flipped, texts))
    assert "loading the new version failed; the old one keeps serving" in caplog.text
    registry(models, "linear").rollback("v0001")
    assert score() == ("linear", labels_of(linear, texts))


def test_a_running_server_keeps_serving_when_a_new_version_does_not_load(
    server, linear, flipped, data, caplog
) -> None:
    """Review of issue 7: a newly published version that verifies but does not load (here
    weights published corrupt) never replaces the model a server is serving — neither for
    the default model (which must not step down to the lexicon either) nor for a tier asked
    by name; ``version`` in the answer says which version scored."""
    client, headers, models = server
    texts = [t for t, y in zip(*data, strict=True) if y != 1][:5]

    def score(model: str | None = None) -> tuple[str, str | None, list[str]]:
        body: dict = {"texts": texts, "aspects": False} | ({"model": model} if model else {})
        r = client.post("/v1/reviews/score", json=body, headers=headers)
        assert r.status_code == 200, r.text
        return r.json()["model"], r.json()["version"], [x["label"] for x in r.json()["results"]]

    assert score()[:2] == ("lexicon", None), "the untrained lexicon has no version"
    save_model(models, "linear", linear)
    serving = ("linear", "v0001", labels_of(linear, texts))
    assert score() == serving and score("linear") == serving
    assert publish_corrupt_linear(models, flipped) == "v0002"
    with caplog.at_level(logging.ERROR):
        assert score() == serving and score("linear") == serving
    assert "loading the new version failed; the old one keeps serving" in caplog.text
    with TestClient(create_app(client.app.state.settings, store=client.app.state.store)) as fresh:
        r = fresh.post("/v1/reviews/score", json={"texts": texts}, headers=headers)
        assert r.status_code == 200 and r.json()["version"] is None, "a fresh one: the lexicon"
        r = fresh.post(
            "/v1/reviews/score", json={"texts": texts, "model": "linear"}, headers=headers
        )
        assert r.status_code == 409 and "linear version v0002 does not load" in r.text
    save_model(models, "linear", flipped)
    assert score() == ("linear", "v0003", labels_of(flipped, texts)), "the next good one serves"


def test_cache_serves_the_old_artifact_while_the_new_one_loads(tmp_path: Path) -> None:
    reg = Registry(tmp_path, "recommend/sasrec")
    reg.publish(write_files(v="1"))
    loading, release = threading.Event(), threading.Event()

    def load() -> str:
        version = reg.current()
        if version.id == "v0002":
            loading.set()
            release.wait(10)
        return (version.path / "v").read_text()

    cache = ArtifactCache(load, [reg.pointer_path], "test")
    assert cache.get() == "1" and cache.get() == "1" and cache.loads == 1
    reg.publish(write_files(v="2"))
    slow = threading.Thread(target=cache.get)
    slow.start()
    assert loading.wait(10)
    assert cache.get() == "1", "served the old artifact while the new one loads"
    release.set()
    slow.join(10)
    assert cache.get() == "2" and cache.loads == 2


# -- command line ------------------------------------------------------------------------------


def test_cli_models_list_rollback_prune(tmp_path: Path, monkeypatch, linear) -> None:
    ws = tmp_path / "ws"
    init_workspace(ws)
    monkeypatch.setenv("SHOPMIND_MODEL_VERSIONS_KEEP", "2")
    models = ws / "models"
    for _ in range(3):
        save_model(models, "linear", linear, {"examples": 300}, keep=10)
    Registry(models, "recommend/sasrec").publish(write_files(v="1"), {"ndcg@10": 0.41})
    runner, w = CliRunner(), ["--workspace", str(ws)]

    result = runner.invoke(cli, [*w, "models", "list"])
    assert result.exit_code == 0, result.output
    for text in ("reviews/linear", "recommend/sasrec", "v0003", "ndcg@10 0.41", "examples 300"):
        assert text in result.output
    listed = json.loads(runner.invoke(cli, [*w, "models", "list", "--json"]).stdout)
    assert [(e["name"], e["current"]) for e in listed] == [
        ("recommend/sasrec", "v0001"),
        ("reviews/linear", "v0003"),
    ]
    assert [v["current"] for v in listed[1]["versions"]] == [False, False, True]

    result = runner.invoke(cli, [*w, "models", "rollback", "reviews/linear"])
    assert result.exit_code == 0 and "current version is now v0002" in result.output
    result = runner.invoke(cli, [*w, "models", "rollback", "reviews/linear", "--to", "v0007"])
    assert result.exit_code == 1 and "no version 'v0007'" in result.output
    result = runner.invoke(cli, [*w, "models", "rollback", "../etc"])
    assert result.exit_code == 1 and "invalid model name" in result.output
    result = runner.invoke(cli, [*w, "models", "prune", "reviews/lineer"])
    assert result.exit_code == 1 and "no model named 'reviews/lineer'" in result.output
    assert not (models / "reviews" / "lineer").exists()

    result = runner.invoke(cli, [*w, "models", "prune"])  # keep 2 (the setting)
    assert result.exit_code == 0, result.output
    assert "reviews/linear: kept v0002, v0003; removed v0001" in result.output
    result = runner.invoke(cli, [*w, "models", "rollback", "reviews/linear", "--to", "v0003"])
    assert result.exit_code == 0, result.output
    assert "reviews/linear: current version is now v0003" in result.output
    result = runner.invoke(cli, [*w, "models", "prune", "reviews/linear", "--keep", "1"])
    assert result.exit_code == 0 and "kept v0003; removed v0002" in result.output
    assert [e.current for e in list_models(models)] == ["v0001", "v0003"]
    (models / "my model").mkdir()  # not a model name: reported, the others still pruned
    (models / "my model" / "notes.txt").write_text("")
    result = runner.invoke(cli, [*w, "models", "prune"])
    assert result.exit_code == 1 and "invalid model name 'my model'" in result.output
    assert "reviews/linear: kept v0003; removed nothing" in result.output
