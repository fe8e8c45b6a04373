"""Changing the workspace's settings: the library, `shopmind config`, `/v1/settings` and the
dashboard's Settings page. One rule everywhere: the file changes all or nothing, settings
from `SHOPMIND_*` variables are read-only, the database password is never shown."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from shopmind.api.app import app_from_env, create_app
from shopmind.api.server import export_settings
from shopmind.cli import app as cli
from shopmind.config import (
    CONFIG_FILE,
    DEFAULT_TOML,
    Settings,
    SettingsChangeError,
    describe_settings,
    env_variable,
    init_workspace,
    load_settings,
    update_settings,
)
from shopmind.store import Store, users
from shopmind.store.apikeys import create_api_key
from shopmind.web import i18n

ADMIN = ("owner@example.com", "correct horse battery")
VIEWER = ("clerk@example.com", "another long secret")
SECRET_URL = "postgresql+psycopg://shop:s3cret-pw@db.example:5432/shop"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No SHOPMIND_* variable of the machine running the tests decides a source here."""
    for name in Settings.model_fields:
        monkeypatch.setenv(env_variable(name), "")
        monkeypatch.delenv(env_variable(name))


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    folder = tmp_path / "ws"
    init_workspace(folder)
    return folder


def config_text(ws: Path) -> str:
    return (ws / CONFIG_FILE).read_text(encoding="utf-8")


# --- the library -----------------------------------------------------------------------------


def test_a_change_is_written_with_the_comments_and_other_keys_kept(ws: Path) -> None:
    settings = update_settings(ws, {"currency": "eur", "session_hours": "8", "batch_size": 250})
    assert (settings.currency, settings.session_hours, settings.batch_size) == ("EUR", 8.0, 250)
    text = config_text(ws)
    assert "# shopmind workspace settings." in text  # the header comment
    assert "# Threads for numeric and model work (torch, faiss).\nthreads = 2" in text
    assert 'currency = "EUR"' in text and "session_hours = 8.0" in text
    assert load_settings(ws).batch_size == 250
    assert sorted(p.name for p in ws.iterdir()) == ["models", CONFIG_FILE]  # no temporary left


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"batch_size": "0"}, "batch_size"),
        ({"currency": "EURO"}, "currency"),
        ({"threads": "two"}, "threads"),
        ({"rate_limit_per_minute": "inf"}, "rate_limit_per_minute"),
        ({"api_host": "<script>"}, "api_host"),
        ({"currency": "USD\x00"}, "currency"),
        ({"currency": "GBP", "login_lockout_seconds": "0"}, "login_lockout_seconds"),
        ({"nonsense": "1"}, "nonsense"),
        ({"workspace": "/elsewhere"}, "workspace"),
    ],
)
def test_a_refused_change_names_the_key_and_writes_nothing(
    ws: Path, changes: dict[str, str], named: str
) -> None:
    before = config_text(ws)
    with pytest.raises(SettingsChangeError) as refused:
        update_settings(ws, changes)
    assert [key for key, _, _ in refused.value.problems] == [named]
    assert str(refused.value).startswith(f"{named}: ")
    assert config_text(ws) == before  # the valid currency of the pair was not written either


def test_a_setting_from_the_environment_is_refused(
    ws: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHOPMIND_BATCH_SIZE", "77")
    before = config_text(ws)
    with pytest.raises(SettingsChangeError, match="environment variable SHOPMIND_BATCH_SIZE"):
        update_settings(ws, {"batch_size": "100"})
    with pytest.raises(SettingsChangeError, match="SHOPMIND_BATCH_SIZE"):
        update_settings(ws, {"batch_size": None})
    assert config_text(ws) == before


def test_unset_removes_the_key_so_the_default_applies(ws: Path) -> None:
    update_settings(ws, {"currency": "JPY"})
    settings = update_settings(ws, {"currency": None, "api_port": None})  # api_port: not there
    assert settings.currency == "USD"
    assert "currency =" not in config_text(ws)
    assert "# Store currency (ISO 4217)" in config_text(ws)


def test_a_missing_file_is_created_from_the_commented_default(tmp_path: Path) -> None:
    update_settings(tmp_path, {"api_port": "8080"})
    text = config_text(tmp_path)
    assert text.startswith(DEFAULT_TOML) and text.rstrip().endswith("api_port = 8080")


def test_the_database_url_changes_only_from_the_command_line_and_is_never_echoed(
    ws: Path,
) -> None:
    with pytest.raises(SettingsChangeError) as refused:
        update_settings(ws, {"database_url": SECRET_URL}, remote=True)
    assert "shopmind config set database_url" in str(refused.value)
    assert "s3cret" not in str(refused.value) and "s3cret" not in repr(refused.value.problems)
    assert update_settings(ws, {"database_url": SECRET_URL}).database_url == SECRET_URL


SECRET_KEY = "sk-live-0123456789abcdefWXYZ"


def test_the_language_model_key_is_a_secret_everywhere(
    ws: Path, api: tuple[TestClient, dict[str, str]]
) -> None:
    """Guards llm_api_key like database_url: set only from the command line, never echoed,
    shown as its last four characters at most (CLI, REST, the dashboard's rows)."""
    from shopmind.web.pages.settings import setting_rows

    with pytest.raises(SettingsChangeError) as refused:
        update_settings(ws, {"llm_api_key": SECRET_KEY}, remote=True)
    assert "shopmind config set llm_api_key" in str(refused.value)
    assert "0123456789" not in str(refused.value) + repr(refused.value.problems)
    done = run(ws, "config", "set", "llm_api_key", SECRET_KEY)
    assert done.exit_code == 0 and "0123456789" not in done.output and "…WXYZ" in done.output
    rows = {r["name"]: r for r in json.loads(run(ws, "config", "show", "--json").stdout)}
    assert rows["llm_api_key"]["value"] == "…WXYZ"
    assert "0123456789" not in run(ws, "config", "show").stdout
    client, headers = api
    answer = client.get("/v1/settings", headers=headers)
    assert "0123456789" not in answer.text
    row = next(r for r in answer.json()["settings"] if r["name"] == "llm_api_key")
    assert row["configured"] == "…WXYZ" and not row["editable"]
    page = setting_rows(describe_settings(ws))
    assert "0123456789" not in repr(page)
    assert next(r for r in page if r["name"] == "llm_api_key")["cli_only"]
    update_settings(ws, {"llm_api_key": "short"})
    assert run(ws, "config", "show", "--json").stdout.count("short") == 0


def test_sources_are_environment_file_or_default(ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("shopmind_threads", "3")  # pydantic reads variables in any case
    update_settings(ws, {"api_port": "9000"})
    infos = {i.name: i for i in describe_settings(ws)}
    assert "workspace" not in infos and set(infos) == set(Settings.model_fields) - {"workspace"}
    assert (infos["threads"].source, infos["threads"].value) == ("environment", 3)
    assert (infos["api_port"].source, infos["api_port"].value) == ("file", 9000)
    assert (infos["session_hours"].source, infos["session_hours"].value) == ("default", 12)
    assert infos["api_port"].restart and not infos["currency"].restart


def test_every_setting_has_a_chinese_description_for_the_settings_page() -> None:
    """Guards i18n.VALUE_MESSAGES against a new setting or a reworded description."""
    for name, field in Settings.model_fields.items():
        if name != "workspace":
            assert field.description, name
            assert i18n.gettext(field.description, "zh_CN") != field.description, name


# --- the command line ------------------------------------------------------------------------

runner = CliRunner()


def run(ws: Path, *args: str):
    return runner.invoke(cli, ["--workspace", str(ws), *args])


def test_config_set_show_and_unset(ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    done = run(ws, "config", "set", "currency", "cny")
    assert done.exit_code == 0, done.output
    assert "currency = CNY" in done.stdout and load_settings(ws).currency == "CNY"
    assert run(ws, "config", "set", "database_url", SECRET_URL).exit_code == 0
    monkeypatch.setenv("SHOPMIND_THREADS", "4")
    shown = run(ws, "config", "show", "--json")
    assert shown.exit_code == 0, shown.output
    rows = {r["name"]: r for r in json.loads(shown.stdout)}
    assert (rows["currency"]["value"], rows["currency"]["source"]) == ("CNY", "file")
    assert (rows["threads"]["value"], rows["threads"]["source"]) == (4, "environment")
    assert rows["session_hours"]["source"] == "default"
    assert rows["database_url"]["value"] == "postgresql+psycopg://shop:***@db.example:5432/shop"
    table = run(ws, "config", "show")
    assert "SHOPMIND_THREADS" in table.stdout and "s3cret" not in table.stdout
    assert run(ws, "config", "unset", "currency").exit_code == 0
    assert load_settings(ws).currency == "USD"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("set", "batch_size", "0"), "batch_size: Input should be greater than or equal to 1"),
        (("set", "colour", "red"), "colour: unknown setting"),
        (("set", "threads", "8"), "environment variable SHOPMIND_THREADS"),
        (("unset", "workspace"), "workspace: the workspace is given with --workspace"),
    ],
)
def test_config_refusals_exit_non_zero_and_write_nothing(
    ws: Path, monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...], message: str
) -> None:
    monkeypatch.setenv("SHOPMIND_THREADS", "2")
    before = config_text(ws)
    refused = run(ws, "config", *args)
    assert refused.exit_code == 1
    assert message in " ".join(refused.output.split())
    assert config_text(ws) == before


def test_config_set_needs_a_workspace(tmp_path: Path) -> None:
    refused = run(tmp_path / "nowhere", "config", "set", "currency", "EUR")
    assert refused.exit_code == 1 and "no workspace" in refused.output
    assert not (tmp_path / "nowhere").exists()


# --- the REST API ----------------------------------------------------------------------------


@pytest.fixture
def api(ws: Path) -> Iterator[tuple[TestClient, dict[str, str]]]:
    settings = load_settings(ws)
    store = Store(settings.resolved_database_url)
    store.upgrade()
    key = create_api_key(store, "t")
    with TestClient(create_app(settings, store=store)) as client:
        yield client, {"Authorization": f"Bearer {key}"}
    store.dispose()


def test_get_settings_tells_value_source_and_hides_the_password(
    api: tuple[TestClient, dict[str, str]], ws: Path
) -> None:
    client, headers = api
    update_settings(ws, {"database_url": SECRET_URL})  # as `shopmind config set` would
    answer = client.get("/v1/settings", headers=headers)
    assert answer.status_code == 200
    assert "s3cret" not in answer.text
    rows = {r["name"]: r for r in answer.json()["settings"]}
    assert (
        rows["database_url"]["configured"] == "postgresql+psycopg://shop:***@db.example:5432/shop"
    )
    assert rows["database_url"]["pending"] and not rows["database_url"]["editable"]
    assert answer.json()["restart_needed"] == ["database_url"]
    assert rows["currency"] | {"description": ""} == {
        "name": "currency", "value": "USD", "configured": "USD", "source": "file",
        "env": "SHOPMIND_CURRENCY", "default": "USD", "description": "", "editable": True,
        "restart": False, "pending": False,
    }  # fmt: skip
    assert client.get("/v1/settings").status_code == 401


def test_patch_applies_at_once_what_it_can(api: tuple[TestClient, dict[str, str]], ws: Path):
    client, headers = api
    answer = client.patch(
        "/v1/settings",
        headers=headers,
        # 1 a minute: no token comes back while the test runs, however slow the machine
        json={"currency": "eur", "rate_limit_burst": 3, "rate_limit_per_minute": 1,
              "api_port": 9100, "session_hours": None},
    )  # fmt: skip
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["restart_needed"] == ["api_port"] and body["applies_at_once"]
    state = client.app.state
    assert state.settings.currency == "EUR" and state.settings.api_port == 8000
    assert load_settings(ws).api_port == 9100
    rows = {r["name"]: r for r in body["settings"]}
    assert (rows["api_port"]["value"], rows["api_port"]["configured"]) == (8000, 9100)
    # the rate limiter follows: a burst of 3 tokens, the PATCH above took one before it changed
    codes = [client.get("/v1/stats", headers=headers).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"currency": "GBP", "batch_size": 0}, "batch_size"),
        ({"threads": 4}, "threads"),  # SHOPMIND_THREADS is set below
        ({"database_url": SECRET_URL}, "database_url"),
        ({"workspace": "/tmp"}, "workspace"),
        ({"no_such_setting": 1}, "no_such_setting"),
    ],
)
def test_patch_refuses_with_422_naming_the_key_and_writes_nothing(
    api: tuple[TestClient, dict[str, str]],
    ws: Path,
    monkeypatch: pytest.MonkeyPatch,
    body: dict[str, object],
    loc: str,
) -> None:
    client, headers = api
    monkeypatch.setenv("SHOPMIND_THREADS", "2")
    before = config_text(ws)
    answer = client.patch("/v1/settings", headers=headers, json=body)
    assert answer.status_code == 422
    assert [e["loc"] for e in answer.json()["detail"]] == [["body", loc]]
    assert "s3cret" not in answer.text
    assert config_text(ws) == before
    assert client.app.state.settings.currency == "USD"


def test_a_server_of_several_workers_applies_changes_at_its_next_start(
    ws: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Regression: the workers' settings came as one SHOPMIND_* variable each, which made
    every setting look set by the environment; and one worker cannot tell the others."""
    monkeypatch.setenv("SHOPMIND_WORKSPACE", "")
    export_settings(load_settings(ws, threads=3))  # `serve --workers 2` does this
    assert os.environ["SHOPMIND_THREADS"] == "3"  # not what the file gives: handed over
    assert "SHOPMIND_CURRENCY" not in os.environ  # the file gives it: the workers read it
    store = Store(load_settings(ws).resolved_database_url)
    store.upgrade()
    key = create_api_key(store, "t")
    with TestClient(app_from_env()) as client:
        answer = client.patch("/v1/settings", headers={"X-API-Key": key}, json={"currency": "EUR"})
        assert answer.status_code == 200, answer.text
        assert answer.json()["restart_needed"] == ["currency"]
        assert client.app.state.settings.currency == "USD"
    store.dispose()


# --- the dashboard ---------------------------------------------------------------------------


@pytest.fixture
def site(ws: Path) -> Iterator[tuple[TestClient, Path]]:
    settings = load_settings(ws, login_lockout_seconds=30)
    store = Store(settings.resolved_database_url)
    store.upgrade()
    users.add_user(store, ADMIN[0], ADMIN[1], "admin")
    users.add_user(store, VIEWER[0], VIEWER[1], "viewer")
    with TestClient(create_app(settings, store=store), base_url="http://shop.test") as client:
        yield client, ws
    store.dispose()


def log_in(client: TestClient, who: tuple[str, str]):
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    return client.post(
        "/login",
        data={"email": who[0], "password": who[1], "csrf_token": token},
        follow_redirects=False,
    )


def csrf(client: TestClient) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get("/settings").text).group(1)


def field(page: str, name: str) -> str:
    """The value attribute of the setting's input."""
    return re.search(rf'name="{name}" type="\w+" value="([^"]*)"', page).group(1)


def test_an_admin_changes_a_setting_and_sees_it_applied(site: tuple[TestClient, Path]) -> None:
    client, ws = site
    log_in(client, ADMIN)
    page = client.get("/settings").text
    assert field(page, "currency") == "USD" and 'name="database_url"' not in page
    answer = client.post(
        "/settings/workspace",
        data={"csrf_token": csrf(client), "currency": "EUR", "login_max_failures": "2",
              "api_port": "9200", "threads": "2"},
    )  # fmt: skip
    assert answer.status_code == 200, answer.text
    assert "Saved: api_port, currency, login_max_failures." in answer.text
    assert "Takes effect after a restart: api_port." in answer.text
    assert "The server uses 8000 until it restarts." in answer.text
    assert field(answer.text, "currency") == "EUR" and field(answer.text, "api_port") == "9200"
    assert "threads = 2" in config_text(ws) and load_settings(ws).currency == "EUR"
    # applied at once: the lock-out now comes after two failures, not five
    client.cookies.clear()
    assert [log_in(client, (VIEWER[0], "wrong")).status_code for _ in range(2)] == [401, 401]
    assert log_in(client, VIEWER).status_code == 429


def test_an_invalid_value_is_refused_with_422_naming_the_field(
    site: tuple[TestClient, Path],
) -> None:
    client, ws = site
    log_in(client, ADMIN)
    before = config_text(ws)
    answer = client.post(
        "/settings/workspace",
        data={"csrf_token": csrf(client), "currency": '"><script>x', "batch_size": "0",
              "session_hours": "6"},
    )  # fmt: skip
    assert answer.status_code == 422
    assert "Nothing was saved. Check: currency, batch_size" in answer.text
    assert 'id="error-batch_size">Input should be greater than or equal to 1' in answer.text
    assert field(answer.text, "batch_size") == "0" and field(answer.text, "session_hours") == "6"
    assert "<script>x" not in answer.text and "&#34;&gt;&lt;script&gt;x" in answer.text
    assert config_text(ws) == before
    assert client.app.state.settings.session_hours == 12


def test_settings_from_the_environment_are_read_only_on_the_page(
    site: tuple[TestClient, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, ws = site
    monkeypatch.setenv("SHOPMIND_BATCH_SIZE", "5000")
    log_in(client, ADMIN)
    page = client.get("/settings").text
    assert 'name="batch_size"' not in page and "<code>SHOPMIND_BATCH_SIZE</code>" in page
    before = config_text(ws)
    forced = client.post("/settings/workspace", data={"csrf_token": csrf(client),
                                                      "batch_size": "10"})  # fmt: skip
    assert forced.status_code == 200 and "No setting changed." in forced.text
    assert config_text(ws) == before


def test_a_viewer_reads_the_settings_but_cannot_change_them(
    site: tuple[TestClient, Path],
) -> None:
    client, ws = site
    log_in(client, VIEWER)
    page = client.get("/settings").text
    assert "<code>currency</code>" in page and "<code>USD</code>" in page
    assert 'action="/settings/workspace"' not in page and '<input id="setting-' not in page
    before = config_text(ws)
    refused = client.post("/settings/workspace",
                          data={"csrf_token": csrf(client), "currency": "EUR"})  # fmt: skip
    assert refused.status_code == 403
    assert config_text(ws) == before


def test_changing_settings_needs_the_csrf_token(site: tuple[TestClient, Path]) -> None:
    client, ws = site
    log_in(client, ADMIN)
    before = config_text(ws)
    assert client.post("/settings/workspace", data={"currency": "EUR"}).status_code == 403
    forged = client.post("/settings/workspace", data={"csrf_token": "forged", "currency": "EUR"})
    assert forged.status_code == 403
    assert config_text(ws) == before


def test_the_settings_page_speaks_chinese(site: tuple[TestClient, Path]) -> None:
    client, _ = site
    log_in(client, ADMIN)
    page = client.get("/settings", headers={"Accept-Language": "zh-CN"}).text
    assert "店铺货币（ISO 4217）" in page and "重启后生效" in page and "保存设置" in page
