from __future__ import annotations

from pathlib import Path

import pytest

from shopmind.config import CONFIG_FILE, init_workspace, load_settings


def test_defaults_use_sqlite_in_workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SHOPMIND_DATABASE_URL", raising=False)
    settings = load_settings(tmp_path)
    assert settings.resolved_database_url == f"sqlite:///{(tmp_path / 'shopmind.db').resolve()}"
    assert settings.currency == "USD"


def test_toml_then_env_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SHOPMIND_DATABASE_URL", raising=False)
    monkeypatch.delenv("SHOPMIND_BATCH_SIZE", raising=False)
    (tmp_path / CONFIG_FILE).write_text('currency = "eur"\nbatch_size = 123\n')
    settings = load_settings(tmp_path)
    assert (settings.currency, settings.batch_size) == ("EUR", 123)
    monkeypatch.setenv("SHOPMIND_BATCH_SIZE", "77")
    monkeypatch.setenv("SHOPMIND_DATABASE_URL", "postgresql+psycopg://u@h/db")
    settings = load_settings(tmp_path)
    assert settings.batch_size == 77
    assert settings.resolved_database_url == "postgresql+psycopg://u@h/db"
    assert settings.workspace == tmp_path


def test_bad_toml_names_the_file(tmp_path: Path) -> None:
    (tmp_path / CONFIG_FILE).write_text("currency = \n")
    with pytest.raises(ValueError, match=r"shopmind\.toml"):
        load_settings(tmp_path)


def test_invalid_value_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOPMIND_BATCH_SIZE", "0")
    with pytest.raises(ValueError, match="batch_size"):
        load_settings(tmp_path)


def test_init_keeps_existing_config(tmp_path: Path) -> None:
    path = init_workspace(tmp_path / "ws")
    path.write_text('currency = "GBP"\n')
    init_workspace(tmp_path / "ws")
    assert path.read_text() == 'currency = "GBP"\n'
    assert (tmp_path / "ws" / "models").is_dir()
