"""Who is asking: the session cookie, the roles, CSRF tokens and the security headers.

- A logged-in browser holds one cookie, ``shopmind_session``: a random token whose
  SHA-256 is the ``web_sessions`` row (``store.users``). HttpOnly, SameSite=Lax, and
  ``Secure`` when the request came over HTTPS (directly or, behind a proxy the operator
  trusts, ``X-Forwarded-Proto``: uvicorn's ``--forwarded-allow-ips`` decides).
- Every page but ``/login`` needs a session: without one, a page answers 303 to
  ``/login?next=…`` (a JSON endpoint answers 401).
- Viewers read; admins also change things. A viewer asking for an admin action gets 403.
- Every state-changing form carries the session's CSRF token in ``csrf_token`` and is
  refused with 403 without it (the log-in form, which has no session yet, uses a
  double-submit cookie). Compared in constant time.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote, urlsplit

from fastapi import Depends, Form, HTTPException, Request, status

from shopmind.store import users

SESSION_COOKIE = "shopmind_session"
LOGIN_CSRF_COOKIE = "shopmind_login_csrf"
ROLES = ("admin", "viewer")


@dataclass(frozen=True)
class Viewer:
    """The logged-in user of this request."""

    id: int
    email: str
    role: str
    locale: str | None
    csrf_token: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


class LoginRequired(Exception):
    """No valid session: pages redirect to the log-in form."""

    def __init__(self, next_url: str) -> None:
        super().__init__("log-in required")
        self.next_url = next_url


def is_https(request: Request) -> bool:
    return request.url.scheme == "https"


def safe_next(target: str | None) -> str:
    """A local path to return to after logging in; anything else (another host, a
    scheme, ``//evil``, a backslash trick) becomes ``/``."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    if "\\" in target or any(ord(c) < 32 for c in target):
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return "/"
    return target


def session_viewer(request: Request) -> Viewer | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token or len(token) > 256:
        return None
    found = users.session_for(request.app.state.store, token)
    if found is None:
        return None
    user, csrf = found
    return Viewer(user.id, user.email, user.role, user.locale, csrf)


def current_viewer(request: Request) -> Viewer:
    viewer = getattr(request.state, "viewer", None) or session_viewer(request)
    if viewer is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(target)
    request.state.viewer = viewer
    return viewer


def require_admin(viewer: Annotated[Viewer, Depends(current_viewer)]) -> Viewer:
    if not viewer.is_admin:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="only an admin can do this")
    return viewer


def check_csrf(
    viewer: Annotated[Viewer, Depends(current_viewer)],
    csrf_token: Annotated[str, Form(max_length=256)] = "",
) -> Viewer:
    """For every state-changing form: the session's token must come back with it."""
    if not csrf_token or not secrets.compare_digest(csrf_token, viewer.csrf_token):
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="missing or wrong CSRF token")
    return viewer


def check_admin_csrf(
    viewer: Annotated[Viewer, Depends(check_csrf)],
) -> Viewer:
    if not viewer.is_admin:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="only an admin can do this")
    return viewer


ViewerDep = Annotated[Viewer, Depends(current_viewer)]
AdminDep = Annotated[Viewer, Depends(require_admin)]
FormDep = Annotated[Viewer, Depends(check_csrf)]
AdminFormDep = Annotated[Viewer, Depends(check_admin_csrf)]


def login_redirect(next_url: str) -> str:
    return "/login?next=" + quote(safe_next(next_url), safe="/")


SECURITY_HEADERS = {
    # Inline SVG charts carry presentation attributes; no script runs but our own file.
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
        "script-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
        "frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}
