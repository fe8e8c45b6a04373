"""Dashboard accounts and sessions (store/users.py) and the ``shopmind users`` commands.

Real Argon2 hashes throughout, on SQLite and PostgreSQL (the ``store`` and ``workspace``
fixtures). The clock is moved through the ``now`` parameters, never by sleeping.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select, update
from typer.testing import CliRunner

from shopmind.cli import app
from shopmind.config import Settings
from shopmind.store import Store, users
from shopmind.store.models import User, WebSession
from shopmind.store.users import (
    BAD,
    LOCKED,
    UserError,
    add_user,
    authenticate,
    create_session,
    end_session,
    end_user_sessions,
    get_user,
    list_users,
    lock_duration,
    normalize_email,
    purge_expired,
    remove_user,
    session_for,
    set_locale,
    set_password,
    set_role,
)

PASSWORD = "correct horse battery"
T0 = datetime(2030, 1, 1, 12, 0, 0)
runner = CliRunner()


def user_row(store: Store, email: str) -> dict[str, object]:
    with store.engine.connect() as conn:
        return dict(conn.execute(select(User).where(User.email == email)).mappings().one())


def session_rows(store: Store) -> list[dict[str, object]]:
    with store.engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(WebSession.__table__)).mappings()]


class CountingHasher(PasswordHasher):
    """The real hasher, counting its verifications (to show what each log-in costs)."""

    verifies = 0

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        self.verifies += 1
        return super().verify(hash, password)


@pytest.fixture
def counting(monkeypatch: pytest.MonkeyPatch) -> CountingHasher:
    hasher = CountingHasher()
    monkeypatch.setattr(users, "_hasher", hasher)
    return hasher


# --- accounts -----------------------------------------------------------------------------


def test_add_user_stores_only_an_argon2id_hash(store: Store) -> None:
    user = add_user(store, "  Ana@Example.COM ", PASSWORD, "admin")
    assert (user.email, user.role, user.locale, user.last_login_at) == (
        "ana@example.com",
        "admin",
        None,
        None,
    )
    row = user_row(store, "ana@example.com")
    assert str(row["password_hash"]).startswith("$argon2id$")
    assert all(PASSWORD not in str(value) for value in row.values())
    assert row["failed_logins"] == 0 and row["locked_until"] is None
    assert "password_hash" not in user.to_dict()


@pytest.mark.parametrize(
    "email",
    [
        "",
        "   ",
        "ana",
        "ana@@example.com",
        "ana@b@example.com",
        "@example.com",
        "ana@example",
        "ana@example..com",
        "ana@.com",
        "ana@example.",
        "an a@example.com",
        "ana@exa\tmple.com",
        "ana\x00@example.com",
        "ana\x1b@example.com",
        "ana\ud800@example.com",
        "a" * 310 + "@example.com",
    ],
)
def test_malformed_email_is_refused_naming_the_field(email: str) -> None:
    with pytest.raises(UserError, match=r"^email: ") as caught:
        normalize_email(email)
    assert caught.value.field == "email"


def test_email_is_normalised() -> None:
    assert normalize_email("\t Zhang.Wei@Example.CN \n") == "zhang.wei@example.cn"
    assert normalize_email("用户@例子.中国") == "用户@例子.中国"
    assert normalize_email("a" * 308 + "@example.com") == "a" * 308 + "@example.com"  # 320


@pytest.mark.parametrize(
    ("password", "rule"),
    [
        ("short", "at least 10"),
        ("123456789", "at least 10"),
        ("x" * 1025, "longer than 1,024"),
        ("Ana@Example.com", "not be the e-mail"),
        ("secret\ud800secret", "lone surrogate"),
    ],
)
def test_password_policy(store: Store, password: str, rule: str) -> None:
    with pytest.raises(UserError, match=rule) as caught:
        add_user(store, "ana@example.com", password, "viewer")
    assert caught.value.field == "password"
    assert password not in str(caught.value)
    assert list_users(store) == []


def test_password_at_the_limits_is_accepted(store: Store) -> None:
    add_user(store, "a@example.com", "x" * 10, "viewer")
    add_user(store, "b@example.com", "y" * 1024, "viewer")
    assert authenticate(store, "b@example.com", "y" * 1024).ok


def test_unknown_role_and_duplicate_email_are_refused(store: Store) -> None:
    with pytest.raises(UserError, match="role: must be admin or viewer, not 'owner'"):
        add_user(store, "ana@example.com", PASSWORD, "owner")
    add_user(store, "ana@example.com", PASSWORD, "admin")
    with pytest.raises(UserError, match=r"with e-mail 'ana@example\.com' already exists") as e:
        add_user(store, "ANA@example.com", "another password", "viewer")
    assert e.value.field == "email"
    assert [u.email for u in list_users(store)] == ["ana@example.com"]


def test_last_admin_cannot_be_removed_or_demoted(store: Store) -> None:
    add_user(store, "ana@example.com", PASSWORD, "admin")
    add_user(store, "bo@example.com", PASSWORD, "viewer")
    with pytest.raises(UserError, match="last admin"):
        remove_user(store, "ana@example.com")
    with pytest.raises(UserError, match="last admin"):
        set_role(store, "ana@example.com", "viewer")
    assert get_user(store, "ana@example.com").role == "admin"
    assert set_role(store, "bo@example.com", "admin").role == "admin"
    remove_user(store, "Ana@Example.com")  # another admin remains
    assert [(u.email, u.role) for u in list_users(store)] == [("bo@example.com", "admin")]
    with pytest.raises(UserError, match=r"email: no account with e-mail 'ana@example\.com'"):
        remove_user(store, "ana@example.com")


def test_set_locale(store: Store) -> None:
    ana = add_user(store, "ana@example.com", PASSWORD, "viewer")
    assert set_locale(store, ana.id, "zh_CN").locale == "zh_CN"
    assert get_user(store, "ana@example.com").locale == "zh_CN"
    session = create_session(store, ana.id, 1)
    assert session_for(store, session.token).user.locale == "zh_CN"
    with pytest.raises(UserError, match="locale: "):
        set_locale(store, ana.id, "zh CN<script>")
    with pytest.raises(UserError, match="user: no account with id 999"):
        set_locale(store, 999, "en")
    assert set_locale(store, ana.id, None).locale is None


# --- log-in -------------------------------------------------------------------------------


def test_right_password_logs_in(store: Store) -> None:
    add_user(store, "ana@example.com", PASSWORD, "admin")
    result = authenticate(store, " ANA@example.com", PASSWORD, now=T0)
    assert result.ok and result.reason is None
    assert result.user.email == "ana@example.com" and result.user.last_login_at == T0
    assert user_row(store, "ana@example.com")["last_login_at"] == T0


def test_wrong_password_and_unknown_email_answer_alike(
    store: Store, counting: CountingHasher
) -> None:
    add_user(store, "ana@example.com", PASSWORD, "admin")
    counting.verifies = 0
    wrong = authenticate(store, "ana@example.com", PASSWORD + "!", now=T0)
    assert counting.verifies == 1
    unknown = authenticate(store, "nobody@example.com", PASSWORD, now=T0)
    assert counting.verifies == 2  # the same Argon2 work: no timing oracle
    malformed = authenticate(store, "not an e-mail", PASSWORD, now=T0)
    assert counting.verifies == 3
    assert wrong == unknown == malformed
    assert (wrong.ok, wrong.user, wrong.reason, wrong.retry_after) == (False, None, BAD, None)
    assert user_row(store, "ana@example.com")["failed_logins"] == 1


def test_lock_out_after_max_failures_with_back_off(
    store: Store, counting: CountingHasher, caplog: pytest.LogCaptureFixture
) -> None:
    defaults = Settings.model_fields
    assert defaults["login_max_failures"].default == 5
    assert defaults["login_lockout_seconds"].default == 30
    add_user(store, "ana@example.com", PASSWORD, "admin")
    caplog.set_level(logging.DEBUG)
    for attempt in range(5):
        result = authenticate(store, "ana@example.com", f"wrong guess {attempt}", now=T0)
        assert result.reason == BAD
    row = user_row(store, "ana@example.com")
    assert row["failed_logins"] == 5 and row["locked_until"] == T0 + timedelta(seconds=30)

    counting.verifies = 0
    locked = authenticate(store, "ana@example.com", PASSWORD, now=T0)  # the right one
    assert (locked.ok, locked.reason, locked.retry_after) == (False, LOCKED, 30)
    later = authenticate(store, "ana@example.com", PASSWORD, now=T0 + timedelta(seconds=29.5))
    assert (later.reason, later.retry_after) == (LOCKED, 1)
    assert counting.verifies == 0  # a locked account's password is not even checked
    assert user_row(store, "ana@example.com")["failed_logins"] == 5  # nor counted
    assert get_user(store, "ana@example.com").locked_until is not None

    # Each failure after a lock ends doubles the next lock: 60 s, then 120 s.
    t1 = T0 + timedelta(seconds=30)
    assert authenticate(store, "ana@example.com", "wrong again", now=t1).reason == BAD
    assert user_row(store, "ana@example.com")["locked_until"] == t1 + timedelta(seconds=60)
    assert authenticate(store, "ana@example.com", PASSWORD, now=t1).retry_after == 60
    t2 = t1 + timedelta(seconds=60)
    assert authenticate(store, "ana@example.com", "and again", now=t2).reason == BAD
    assert user_row(store, "ana@example.com")["locked_until"] == t2 + timedelta(seconds=120)

    # Once the lock has ended the right password logs in and resets the count.
    t3 = t2 + timedelta(seconds=120)
    assert authenticate(store, "ana@example.com", PASSWORD, now=t3).ok
    row = user_row(store, "ana@example.com")
    assert row["failed_logins"] == 0 and row["locked_until"] is None
    assert authenticate(store, "ana@example.com", "wrong once", now=t3).reason == BAD
    assert user_row(store, "ana@example.com")["locked_until"] is None
    assert "locked" in caplog.text
    assert all(PASSWORD not in r.getMessage() and "wrong" not in r.getMessage()
               for r in caplog.records)  # fmt: skip


def test_lock_is_capped_at_an_hour(store: Store) -> None:
    assert lock_duration(4, 5, 30) == 0
    assert [lock_duration(n, 5, 30) for n in (5, 6, 7, 11)] == [30, 60, 120, 1920]
    assert lock_duration(12, 5, 30) == lock_duration(10**6, 5, 30) == 3600
    add_user(store, "ana@example.com", PASSWORD, "admin")
    with store.connect() as conn:
        conn.execute(update(User).values(failed_logins=40))
    authenticate(store, "ana@example.com", "wrong", now=T0)
    assert user_row(store, "ana@example.com")["locked_until"] == T0 + timedelta(hours=1)


def test_success_resets_the_failures_in_a_row(store: Store) -> None:
    add_user(store, "ana@example.com", PASSWORD, "admin")
    for _ in range(2):
        authenticate(store, "ana@example.com", "wrong", max_failures=3, now=T0)
    assert authenticate(store, "ana@example.com", PASSWORD, max_failures=3, now=T0).ok
    for _ in range(2):
        authenticate(store, "ana@example.com", "wrong", max_failures=3, now=T0)
    assert authenticate(store, "ana@example.com", PASSWORD, max_failures=3, now=T0).ok
    authenticate(store, "ana@example.com", "wrong", max_failures=1, lockout_seconds=5, now=T0)
    assert authenticate(store, "ana@example.com", PASSWORD, now=T0).retry_after == 5


def test_set_password_lifts_the_lock(store: Store) -> None:
    add_user(store, "ana@example.com", PASSWORD, "admin")
    authenticate(store, "ana@example.com", "wrong", max_failures=1, now=T0)
    set_password(store, "ana@example.com", "a new long password")
    assert authenticate(store, "ana@example.com", "a new long password", now=T0).ok
    assert authenticate(store, "ana@example.com", PASSWORD, now=T0).reason == BAD


def test_old_argon2_parameters_are_rehashed_on_log_in(store: Store) -> None:
    add_user(store, "ana@example.com", PASSWORD, "admin")
    weak = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(PASSWORD)
    with store.connect() as conn:
        conn.execute(update(User).values(password_hash=weak))
    assert authenticate(store, "ana@example.com", PASSWORD).ok
    rehashed = str(user_row(store, "ana@example.com")["password_hash"])
    assert rehashed != weak and not PasswordHasher().check_needs_rehash(rehashed)
    assert authenticate(store, "ana@example.com", PASSWORD).ok
    assert user_row(store, "ana@example.com")["password_hash"] == rehashed  # current: kept


def test_password_is_compared_after_nfkc(store: Store) -> None:
    add_user(store, "ana@example.com", "ｐａｓｓｗｏｒｄ２０３０", "viewer")  # full-width
    assert authenticate(store, "ana@example.com", "password2030").ok
    add_user(store, "bo@example.com", "password2030", "viewer")
    assert authenticate(store, "bo@example.com", "ｐａｓｓｗｏｒｄ２０３０").ok


# --- sessions -----------------------------------------------------------------------------


def test_session_token_is_stored_hashed(store: Store) -> None:
    user = add_user(store, "ana@example.com", PASSWORD, "admin")
    token, csrf_token = create_session(store, user.id, 12, now=T0)
    assert token != csrf_token and len(token) >= 43
    (row,) = session_rows(store)
    assert row["token_hash"] == hashlib.sha256(token.encode()).hexdigest()
    assert all(token not in str(value) for value in row.values())
    assert row["csrf_token"] == csrf_token
    assert row["expires_at"] == T0 + timedelta(hours=12)

    found = session_for(store, token, now=T0 + timedelta(hours=1))
    assert found is not None
    live_user, live_csrf = found
    assert live_csrf == csrf_token
    assert (live_user.id, live_user.email, live_user.role, live_user.locale) == (
        user.id,
        "ana@example.com",
        "admin",
        None,
    )
    assert session_for(store, row["token_hash"], now=T0) is None  # the hash is no token


@pytest.mark.parametrize("token", [None, "", "x" * 500, "tökén", "\ud800"])
def test_garbage_cookie_finds_no_session(store: Store, token: str | None) -> None:
    user = add_user(store, "ana@example.com", PASSWORD, "viewer")
    create_session(store, user.id, 1)
    assert session_for(store, token) is None
    assert end_session(store, token) is False
    assert len(session_rows(store)) == 1


def test_expired_session_is_refused_and_deleted(store: Store) -> None:
    user = add_user(store, "ana@example.com", PASSWORD, "viewer")
    new = create_session(store, user.id, 2, now=T0)
    assert session_for(store, new.token, now=T0 + timedelta(hours=2) - timedelta(seconds=1))
    assert session_for(store, new.token, now=T0 + timedelta(hours=2)) is None
    assert session_rows(store) == []
    assert session_for(store, new.token, now=T0) is None  # gone for good


def test_end_session_and_purge_expired(store: Store) -> None:
    user = add_user(store, "ana@example.com", PASSWORD, "viewer")
    short = create_session(store, user.id, 1, now=T0)
    long = create_session(store, user.id, 24, now=T0)
    other = create_session(store, user.id, 24, now=T0)
    assert end_session(store, other.token) is True
    assert end_session(store, other.token) is False
    assert session_for(store, other.token, now=T0) is None
    assert purge_expired(store, now=T0 + timedelta(hours=1)) == 1
    assert session_for(store, short.token, now=T0) is None
    assert session_for(store, long.token, now=T0) is not None
    assert end_user_sessions(store, user.id) == 1
    assert session_rows(store) == []


def test_set_password_and_remove_user_end_sessions(store: Store) -> None:
    ana = add_user(store, "ana@example.com", PASSWORD, "admin")
    bo = add_user(store, "bo@example.com", PASSWORD, "viewer")
    ana_session, bo_session = create_session(store, ana.id, 1), create_session(store, bo.id, 1)
    set_password(store, "ana@example.com", "another long password")
    assert session_for(store, ana_session.token) is None
    assert session_for(store, bo_session.token) is not None
    with pytest.raises(UserError, match="password: must not be the e-mail"):
        set_password(store, "bo@example.com", "BO@example.com")
    remove_user(store, "bo@example.com")
    assert session_for(store, bo_session.token) is None
    assert session_rows(store) == []


# --- the command line ---------------------------------------------------------------------


def cli(ws: Path, *args: str, input: str | None = None):
    return runner.invoke(app, ["--workspace", str(ws), *args], input=input)


def test_cli_add_list_remove(workspace: Path) -> None:
    out = cli(workspace, "users", "add", "Ana@Example.com", "--role", "admin",
              "--password-stdin", input=PASSWORD + "\nsecond line\n")  # fmt: skip
    assert out.exit_code == 0, out.output
    assert "added ana@example.com (admin)" in out.output
    prompted = cli(workspace, "users", "add", "bo@example.com", "--role", "viewer",
                   input=f"{PASSWORD}\n{PASSWORD}\n")  # fmt: skip
    assert prompted.exit_code == 0, prompted.output
    assert PASSWORD not in out.output + prompted.output

    listed = cli(workspace, "users", "list", "--json")
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.stdout)
    assert [(r["email"], r["role"]) for r in rows] == [
        ("ana@example.com", "admin"),
        ("bo@example.com", "viewer"),
    ]
    assert set(rows[0]) == {
        "id", "email", "role", "locale", "created_at", "last_login_at", "locked_until"
    }  # fmt: skip
    table = cli(workspace, "users", "list")
    assert "ana@example.com" in table.stdout and "locked until" in table.stdout

    store = Store.open(workspace)
    assert authenticate(store, "ana@example.com", PASSWORD).ok  # "second line" not read
    assert authenticate(store, "bo@example.com", PASSWORD).ok

    refused = cli(workspace, "users", "remove", "ana@example.com")
    assert refused.exit_code == 1 and "last admin" in refused.output
    removed = cli(workspace, "users", "remove", "BO@example.com")
    assert removed.exit_code == 0, removed.output
    assert [u.email for u in list_users(store)] == ["ana@example.com"]
    store.dispose()


def test_cli_refusals(workspace: Path) -> None:
    mismatch = cli(workspace, "users", "add", "ana@example.com", "--role", "admin",
                   input=f"{PASSWORD}\n{PASSWORD}?\n")  # fmt: skip
    assert mismatch.exit_code == 1
    assert "the two passwords differ; nothing was changed" in mismatch.output
    assert PASSWORD not in mismatch.output

    role = cli(workspace, "users", "add", "ana@example.com", "--role", "owner",
               "--password-stdin", input=PASSWORD)  # fmt: skip
    assert role.exit_code == 1 and "role: must be admin or viewer" in role.output
    email = cli(workspace, "users", "add", "ana@", "--role", "admin", "--password-stdin",
                input=PASSWORD)  # fmt: skip
    assert email.exit_code == 1 and "email: " in email.output
    weak = cli(workspace, "users", "add", "ana@example.com", "--role", "admin",
               "--password-stdin", input="tooshort\n")  # fmt: skip
    assert weak.exit_code == 1 and "password: must be at least 10" in weak.output
    assert "tooshort" not in weak.output
    empty = cli(workspace, "users", "list")
    assert empty.exit_code == 0 and "no accounts yet" in empty.output

    ok = cli(workspace, "users", "add", "ana@example.com", "--role", "admin",
             "--password-stdin", input=PASSWORD + "\r\n")  # fmt: skip
    assert ok.exit_code == 0, ok.output
    twice = cli(workspace, "users", "add", "ana@example.com", "--role", "viewer",
                "--password-stdin", input="another password")  # fmt: skip
    assert twice.exit_code == 1 and "already exists" in twice.output
    unknown = cli(workspace, "users", "remove", "nobody@example.com")
    assert unknown.exit_code == 1 and "no account with e-mail" in unknown.output


def test_cli_set_password(workspace: Path) -> None:
    assert cli(workspace, "users", "add", "ana@example.com", "--role", "admin",
               "--password-stdin", input=PASSWORD).exit_code == 0  # fmt: skip
    changed = cli(workspace, "users", "set-password", "ana@example.com", "--password-stdin",
                  input="a brand new password\n")  # fmt: skip
    assert changed.exit_code == 0, changed.output
    store = Store.open(workspace)
    assert authenticate(store, "ana@example.com", "a brand new password").ok
    assert not authenticate(store, "ana@example.com", PASSWORD).ok
    store.dispose()
    missing = cli(workspace, "users", "set-password", "bo@example.com", "--password-stdin",
                  input="a brand new password\n")  # fmt: skip
    assert missing.exit_code == 1 and "no account with e-mail 'bo@example.com'" in missing.output
