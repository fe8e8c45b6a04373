"""Dashboard accounts and their browser sessions.

Accounts
    An account is an e-mail (stripped and lower-cased), an Argon2id password hash
    (argon2-cffi's ``PasswordHasher`` with its defaults) and a role, ``admin`` or ``viewer``.
    Passwords are normalised (Unicode NFKC, so the same password typed on two keyboards
    matches), held to a policy (10 to 1,024 characters, not the e-mail) and never stored,
    logged or put into a message in clear.

Log-in
    ``authenticate`` checks an e-mail and password. After ``login_max_failures`` failures in
    a row the account is locked for ``login_lockout_seconds``, doubling with each further
    failure and capped at an hour; while locked it is refused even with the right password,
    without checking it. A success resets the count. An unknown (or malformed) e-mail is
    verified against a dummy hash, so it costs the same Argon2 work as a known one and
    answers the same ``bad``. Hashes made with older Argon2 parameters are replaced on the
    next successful log-in.

Sessions
    A browser session is a random token (the cookie) and a CSRF token. Only the SHA-256 of
    the session token is stored, in ``web_sessions``; the row ends at ``expires_at`` and is
    deleted when found expired, on log-out, or when the user's password changes.

All times are naive UTC, as the store keeps them; functions that depend on the clock take
``now`` so that tests (and callers) can move it.
"""

from __future__ import annotations

import hashlib
import logging
import math
import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shopmind.config import Settings
from shopmind.safety.chars import has_lone_surrogate, unstorable_problem
from shopmind.store.db import Store
from shopmind.store.models import User, WebSession

log = logging.getLogger(__name__)

ADMIN, VIEWER = "admin", "viewer"
ROLES = (ADMIN, VIEWER)
MAX_EMAIL_CHARS = 320  # users.email is VARCHAR(320)
MIN_PASSWORD_CHARS = 10
MAX_PASSWORD_CHARS = 1024
MAX_LOCK_SECONDS = 3600
"""The longest a lock-out lasts, however many failures came before it."""
BAD, LOCKED = "bad", "locked"
"""Why a log-in was refused: a wrong e-mail or password, or an account locked for now."""

DEFAULT_MAX_FAILURES: int = Settings.model_fields["login_max_failures"].default
DEFAULT_LOCKOUT_SECONDS: float = Settings.model_fields["login_lockout_seconds"].default
DEFAULT_SESSION_HOURS: float = Settings.model_fields["session_hours"].default

_LOCALE = re.compile(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*$")
_hasher = PasswordHasher()
_dummy_hash: str | None = None  # verified when the e-mail is unknown: made on first use


class UserError(ValueError):
    """An account change that cannot be made; ``field`` names the input at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


@dataclass(frozen=True)
class UserView:
    """An account as the pages and the CLI show it (never the hash).

    ``locked_until`` is set only while a lock-out is still running.
    """

    id: int
    email: str
    role: str
    locale: str | None
    created_at: datetime
    last_login_at: datetime | None = None
    locked_until: datetime | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == ADMIN

    def to_dict(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in self.__dataclass_fields__}
        for key in ("created_at", "last_login_at", "locked_until"):
            out[key] = None if out[key] is None else out[key].isoformat() + "Z"
        return out


@dataclass(frozen=True)
class LoginResult:
    """What ``authenticate`` decided: the user, or why not (``bad`` or ``locked``).

    ``retry_after`` is the number of whole seconds until a locked account can try again.
    """

    user: UserView | None
    reason: str | None = None
    retry_after: int | None = None

    @property
    def ok(self) -> bool:
        return self.user is not None


class NewSession(NamedTuple):
    """A session just made: ``token`` goes into the cookie and is never stored.

    >>> token, csrf_token = create_session(store, user_id)  # doctest: +SKIP
    """

    token: str
    csrf_token: str


class SessionView(NamedTuple):
    """A live session: its user and the CSRF token its forms must carry.

    >>> user, csrf_token = session_for(store, token)  # doctest: +SKIP
    """

    user: UserView
    csrf_token: str


def utcnow() -> datetime:
    """Naive UTC, as the store keeps times."""
    return datetime.now(UTC).replace(tzinfo=None)


# --- checks -------------------------------------------------------------------------------


def normalize_email(email: str) -> str:
    """``email`` stripped and lower-cased; ``UserError`` (field ``email``) saying what is wrong."""
    if not isinstance(email, str):
        raise UserError("email", f"must be text, not {type(email).__name__}")
    email = email.strip().lower()
    if not email:
        raise UserError("email", "is empty")
    if len(email) > MAX_EMAIL_CHARS:
        raise UserError("email", f"is longer than {MAX_EMAIL_CHARS} characters ({len(email):,})")
    problem = unstorable_problem(email)
    if problem is not None:
        raise UserError("email", problem)
    if any(char.isspace() for char in email):
        raise UserError("email", "contains white space")
    if email.count("@") != 1:
        raise UserError("email", f"must contain exactly one @ (has {email.count('@')})")
    local, domain = email.split("@")
    if not local:
        raise UserError("email", "has nothing before the @")
    if "." not in domain or not all(domain.split(".")):
        raise UserError("email", f"domain {domain!r} must be dot-separated names (example.com)")
    return email


def check_role(role: str) -> str:
    """``role`` when it is ``admin`` or ``viewer``; ``UserError`` (field ``role``) otherwise."""
    if role not in ROLES:
        raise UserError("role", f"must be admin or viewer, not {role!r}")
    return role


def check_password(password: str, email: str) -> str:
    """The password as it is hashed (NFKC), when it meets the policy; ``UserError`` (field
    ``password``) saying which rule it breaks, never quoting it."""
    if not isinstance(password, str):
        raise UserError("password", f"must be text, not {type(password).__name__}")
    if has_lone_surrogate(password):
        raise UserError("password", "contains a lone surrogate (not valid Unicode)")
    if len(password) > 4 * MAX_PASSWORD_CHARS:  # NFKC can grow text: bound it before
        raise UserError("password", f"is longer than {MAX_PASSWORD_CHARS:,} characters")
    password = unicodedata.normalize("NFKC", password)
    if len(password) < MIN_PASSWORD_CHARS:
        raise UserError("password", f"must be at least {MIN_PASSWORD_CHARS} characters")
    if len(password) > MAX_PASSWORD_CHARS:
        raise UserError("password", f"is longer than {MAX_PASSWORD_CHARS:,} characters")
    if password.strip().lower() == email.strip().lower():
        raise UserError("password", "must not be the e-mail address")
    return password


def check_locale(locale: str | None) -> str | None:
    """A language tag (``en``, ``zh-CN``) or ``None``; ``UserError`` (field ``locale``)."""
    if locale is None:
        return None
    if not isinstance(locale, str) or len(locale) > 16 or not _LOCALE.match(locale):
        raise UserError("locale", f"must be a language tag such as en or zh-CN, not {locale!r}")
    return locale


# --- accounts -----------------------------------------------------------------------------


def _view(user: User, at: datetime | None = None) -> UserView:
    at = at or utcnow()
    locked = user.locked_until if user.locked_until and user.locked_until > at else None
    return UserView(
        user.id, user.email, user.role, user.locale, user.created_at, user.last_login_at, locked
    )


def _find(session: Session, email: str) -> User:
    email = normalize_email(email)
    user = session.scalar(select(User).where(User.email == email))
    if user is None:
        raise UserError("email", f"no account with e-mail {email!r}")
    return user


def _keep_an_admin(session: Session, user: User, change: str) -> None:
    """Refuse ``change`` when ``user`` is the only admin. The admin rows are locked first
    (PostgreSQL), so two admins removing each other at once cannot both succeed."""
    if user.role != ADMIN:
        return
    admins = session.scalars(select(User.id).where(User.role == ADMIN).with_for_update()).all()
    if len(admins) <= 1:
        raise UserError("email", f"{user.email!r} is the last admin: {change} would leave none")


def add_user(store: Store, email: str, password: str, role: str) -> UserView:
    """Create an account; ``UserError`` naming the field when the e-mail is malformed or
    taken, the role unknown or the password too weak."""
    email = normalize_email(email)
    check_role(role)
    password = check_password(password, email)
    user = User(
        email=email,
        password_hash=_hasher.hash(password),
        role=role,
        failed_logins=0,
        created_at=utcnow(),
    )
    try:
        with store.session() as session:
            session.add(user)
            session.flush()
            return _view(user)
    except IntegrityError:
        raise UserError("email", f"an account with e-mail {email!r} already exists") from None


def get_user(store: Store, email: str) -> UserView | None:
    """The account with this e-mail, or ``None`` (also for a malformed e-mail)."""
    try:
        email = normalize_email(email)
    except UserError:
        return None
    with store.session() as session:
        user = session.scalar(select(User).where(User.email == email))
        return None if user is None else _view(user)


def list_users(store: Store) -> list[UserView]:
    """Every account, by e-mail."""
    at = utcnow()
    with store.session() as session:
        return [_view(u, at) for u in session.scalars(select(User).order_by(User.email))]


def remove_user(store: Store, email: str) -> None:
    """Delete an account and its sessions; the last admin is refused."""
    with store.session() as session:
        user = _find(session, email)
        _keep_an_admin(session, user, "removing it")
        session.execute(delete(WebSession).where(WebSession.user_id == user.id))
        session.delete(user)


def set_role(store: Store, email: str, role: str) -> UserView:
    """Make an account ``admin`` or ``viewer``; demoting the last admin is refused."""
    check_role(role)
    with store.session() as session:
        user = _find(session, email)
        if role != user.role:
            _keep_an_admin(session, user, "making it a viewer")
            user.role = role
        return _view(user)


def set_password(store: Store, email: str, password: str) -> None:
    """Replace an account's password, end all its sessions and lift any lock-out."""
    with store.session() as session:
        user = _find(session, email)
        hashed = _hasher.hash(check_password(password, user.email))
        user.password_hash = hashed
        user.failed_logins = 0
        user.locked_until = None
        session.execute(delete(WebSession).where(WebSession.user_id == user.id))


def set_locale(store: Store, user_id: int, locale: str | None) -> UserView:
    """The interface language of account ``user_id`` (a page has the id from the session);
    ``None``: follow the browser."""
    locale = check_locale(locale)
    with store.session() as session:
        user = session.get(User, user_id)
        if user is None:
            raise UserError("user", f"no account with id {user_id}")
        user.locale = locale
        return _view(user)


# --- log-in -------------------------------------------------------------------------------


def _verify(stored_hash: str | None, password: str) -> bool:
    """One Argon2 verification, whether or not there is an account (``stored_hash`` None)."""
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = _hasher.hash(secrets.token_urlsafe(32))
    usable = (
        isinstance(password, str)
        and not has_lone_surrogate(password)
        and len(password) <= 4 * MAX_PASSWORD_CHARS
    )
    candidate = unicodedata.normalize("NFKC", password) if usable else ""  # "" never matches
    try:
        return _hasher.verify(stored_hash or _dummy_hash, candidate) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def lock_duration(failures: int, max_failures: int, base_seconds: float) -> float:
    """How long an account with ``failures`` failures in a row is locked (0: not locked):
    ``base_seconds`` at ``max_failures``, doubling with each further one, at most an hour."""
    if failures < max_failures:
        return 0.0
    doublings = min(failures - max_failures, 32)
    return min(base_seconds * 2**doublings, MAX_LOCK_SECONDS)


def authenticate(
    store: Store,
    email: str,
    password: str,
    *,
    max_failures: int = DEFAULT_MAX_FAILURES,
    lockout_seconds: float = DEFAULT_LOCKOUT_SECONDS,
    now: datetime | None = None,
) -> LoginResult:
    """Check a log-in; the user on success, else the reason (``bad`` or ``locked``)."""
    at = now or utcnow()
    try:
        email = normalize_email(email)
    except UserError:
        email = ""
    with store.session() as session:
        user = session.scalar(select(User).where(User.email == email)) if email else None
    if user is not None and user.locked_until is not None and user.locked_until > at:
        wait = math.ceil((user.locked_until - at).total_seconds())
        return LoginResult(None, LOCKED, max(wait, 1))
    if not _verify(user.password_hash if user else None, password):
        if user is not None:
            _record_failure(store, user, max_failures, lockout_seconds, at)
        return LoginResult(None, BAD)
    assert user is not None  # _verify is True only against a stored hash
    values: dict[str, Any] = {"failed_logins": 0, "locked_until": None, "last_login_at": at}
    if _hasher.check_needs_rehash(user.password_hash):
        values["password_hash"] = _hasher.hash(unicodedata.normalize("NFKC", password))
    with store.connect() as conn:
        conn.execute(update(User).where(User.id == user.id).values(**values))
    user.last_login_at, user.locked_until = at, None
    return LoginResult(_view(user, at))


def _record_failure(
    store: Store, user: User, max_failures: int, base_seconds: float, at: datetime
) -> None:
    """Count one more failure in a row (atomically: concurrent attempts all count) and lock
    the account when the count reaches ``max_failures``."""
    with store.connect() as conn:
        failures = conn.execute(
            update(User)
            .where(User.id == user.id)
            .values(failed_logins=User.failed_logins + 1)
            .returning(User.failed_logins)
        ).scalar()
        seconds = lock_duration(failures or 0, max_failures, base_seconds)
        if seconds:
            until = at + timedelta(seconds=seconds)
            conn.execute(update(User).where(User.id == user.id).values(locked_until=until))
            log.warning(
                "account %s locked for %d s after %d failed log-ins", user.id, seconds, failures
            )


# --- sessions -----------------------------------------------------------------------------


def hash_token(token: str) -> str:
    """The SHA-256 hex digest under which a session token is stored."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _token_hash(token: str | None) -> str | None:
    """The stored form of a cookie value, or ``None`` when it cannot be a token of ours."""
    if not token or not isinstance(token, str) or len(token) > 128 or not token.isascii():
        return None
    return hash_token(token)


def create_session(
    store: Store,
    user_id: int,
    hours: float = DEFAULT_SESSION_HOURS,
    *,
    now: datetime | None = None,
) -> NewSession:
    """Start a session for ``user_id`` lasting ``hours``; the token is returned, only its
    hash is stored."""
    if not hours > 0:
        raise ValueError(f"session hours must be above 0, not {hours!r}")
    at = now or utcnow()
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    expires = at + timedelta(hours=hours)
    with store.session() as session:
        session.add(
            WebSession(
                token_hash=hash_token(token),
                user_id=user_id,
                csrf_token=csrf,
                created_at=at,
                expires_at=expires,
            )
        )
    return NewSession(token, csrf)


def session_for(
    store: Store, token: str | None, *, now: datetime | None = None
) -> SessionView | None:
    """The live session with this token, or ``None`` (unknown, or expired: then deleted)."""
    key = _token_hash(token)
    if key is None:
        return None
    at = now or utcnow()
    with store.session() as session:
        row = session.execute(
            select(WebSession, User)
            .join(User, User.id == WebSession.user_id)
            .where(WebSession.token_hash == key)
        ).first()
        if row is None:
            return None
        web, user = row
        if web.expires_at <= at:
            session.delete(web)
            return None
        return SessionView(_view(user, at), web.csrf_token)


def end_session(store: Store, token: str | None) -> bool:
    """Log out: delete the session with this token; False when there was none."""
    key = _token_hash(token)
    if key is None:
        return False
    with store.connect() as conn:
        return conn.execute(delete(WebSession).where(WebSession.token_hash == key)).rowcount > 0


def end_user_sessions(store: Store, user_id: int) -> int:
    """Delete every session of ``user_id``; how many there were."""
    with store.connect() as conn:
        return conn.execute(delete(WebSession).where(WebSession.user_id == user_id)).rowcount


def purge_expired(store: Store, *, now: datetime | None = None) -> int:
    """Delete every expired session; how many there were."""
    at = now or utcnow()
    with store.connect() as conn:
        return conn.execute(delete(WebSession).where(WebSession.expires_at <= at)).rowcount
