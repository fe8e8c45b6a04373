from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from shopmind.cli import app

runner = CliRunner()


def invoke(ws: Path, *args: str):
    result = runner.invoke(app, ["--workspace", str(ws), *args])
    assert result.exit_code == 0, result.output
    return result


def test_init_upgrade_stats(workspace: Path) -> None:
    invoke(workspace, "init")
    out = invoke(workspace, "db", "upgrade").output
    assert "revision" in out
    counts = json.loads(invoke(workspace, "stats", "--json").stdout)
    assert counts == dict.fromkeys(
        ["products", "variants", "customers", "orders", "events", "reviews", "pages"], 0
    )


def test_unknown_import_kind_is_refused(workspace: Path, tmp_path: Path) -> None:
    f = tmp_path / "x.csv"
    f.write_text("a\n1\n")
    result = runner.invoke(app, ["--workspace", str(workspace), "import", "nonsense", str(f)])
    assert result.exit_code == 1
    assert "unknown import kind" in result.output


def test_bad_mapping_is_refused(workspace: Path, tmp_path: Path) -> None:
    f = tmp_path / "x.csv"
    f.write_text("a\n1\n")
    args = ["--workspace", str(workspace), "import", "orders", str(f), "--map", "nocolumn"]
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    assert "FIELD=COLUMN" in result.output


def test_apikey_create_list_revoke(workspace: Path) -> None:
    from shopmind.store import Store
    from shopmind.store.apikeys import verify_api_key

    key = invoke(workspace, "apikey", "create", "--name", "storefront").stdout.strip()
    prefix = key.split("_")[1]
    listing = invoke(workspace, "apikey", "list").stdout
    assert prefix in listing and "storefront" in listing
    assert key.split("_", 2)[2] not in listing  # the secret (may hold "_") is never shown again
    store = Store.open(workspace)
    assert verify_api_key(store, key)
    invoke(workspace, "apikey", "revoke", prefix)
    assert not verify_api_key(store, key)
    result = runner.invoke(app, ["--workspace", str(workspace), "apikey", "revoke", "nope"])
    assert result.exit_code == 1


def test_read_only_commands_refuse_a_missing_workspace(tmp_path: Path, monkeypatch) -> None:
    """Regression: `stats` on a mistyped folder created an empty new store."""
    monkeypatch.delenv("SHOPMIND_DATABASE_URL", raising=False)
    missing = tmp_path / "typo"
    for args in (["stats"], ["apikey", "create"], ["db", "upgrade"]):
        result = runner.invoke(app, ["--workspace", str(missing), *args])
        assert result.exit_code == 1
        assert "no workspace at" in result.output
    assert not missing.exists()


def test_bad_settings_give_one_line_errors(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("SHOPMIND_DATABASE_URL", raising=False)
    ws = tmp_path / "ws"
    invoke(ws, "init")
    monkeypatch.setenv("SHOPMIND_BATCH_SIZE", "abc")
    result = runner.invoke(app, ["--workspace", str(ws), "stats"])
    assert result.exit_code == 1
    assert "batch_size" in result.output and "Traceback" not in result.output
    monkeypatch.delenv("SHOPMIND_BATCH_SIZE")
    (ws / "shopmind.toml").write_text('currenc = "EUR"\n')
    result = runner.invoke(app, ["--workspace", str(ws), "stats"])
    assert result.exit_code == 1
    assert "unknown setting 'currenc'" in result.output


def test_unreachable_database_is_one_line_without_password(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("SHOPMIND_DATABASE_URL", "postgresql+psycopg://u:s3cret@127.0.0.1:9/x")
    result = runner.invoke(app, ["--workspace", str(tmp_path), "stats"])
    assert result.exit_code == 1
    assert "cannot open the database" in result.output
    assert "s3cret" not in result.output


def test_simulate_refuses_dates_past_2099(workspace: Path) -> None:
    result = runner.invoke(app, ["--workspace", str(workspace), "simulate", "--days", "3000000"])
    assert result.exit_code == 1
    assert "before 2100" in result.output
