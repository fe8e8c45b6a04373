"""Log in, log out, and the interface language."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from shopmind.store import users
from shopmind.web import i18n
from shopmind.web.app import LANGUAGE_COOKIE, render
from shopmind.web.auth import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    FormDep,
    is_https,
    safe_next,
    session_viewer,
)

router = APIRouter()
YEAR_S = 365 * 24 * 3600


def _login_page(request: Request, next_url: str, error: str = "", status_code: int = 200,
                email: str = "") -> Response:  # fmt: skip
    token = secrets.token_urlsafe(32)
    response = render(
        request,
        "login.html",
        {"login_csrf": token, "next": safe_next(next_url), "error": error, "email": email},
        status_code=status_code,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", secure=is_https(request),
        path="/login", max_age=3600,
    )  # fmt: skip
    return response


@router.get("/login")
def login_form(request: Request, next: str = "/", lang: str | None = None) -> Response:
    if session_viewer(request) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    if lang is not None and lang in i18n.LOCALES:
        response = RedirectResponse("/login?next=" + safe_next(next), status_code=303)
        response.set_cookie(LANGUAGE_COOKIE, lang, max_age=YEAR_S, samesite="lax",
                            secure=is_https(request))  # fmt: skip
        return response
    return _login_page(request, next)


@router.post("/login")
def login(
    request: Request,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    csrf_token: Annotated[str, Form(max_length=256)] = "",
    next: Annotated[str, Form(max_length=2048)] = "/",
) -> Response:
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not csrf_token or not cookie or not secrets.compare_digest(csrf_token, cookie):
        return _login_page(request, next, "csrf", status_code=403, email=email)
    store = request.app.state.store
    settings = request.app.state.settings
    result = users.authenticate(
        store,
        email,
        password,
        max_failures=settings.login_max_failures,
        lockout_seconds=settings.login_lockout_seconds,
    )
    if result.user is None:
        if result.reason == "locked":
            request.state.retry_after = result.retry_after
            page = _login_page(request, next, "locked", status_code=429, email=email)
            page.headers["Retry-After"] = str(int(result.retry_after or 1))
            return page
        return _login_page(request, next, "bad", status_code=401, email=email)
    token, _csrf = users.create_session(store, result.user.id, settings.session_hours)
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE, token, httponly=True, samesite="lax", secure=is_https(request),
        max_age=int(settings.session_hours * 3600), path="/",
    )  # fmt: skip
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout(request: Request, viewer: FormDep) -> Response:
    token = request.cookies.get(SESSION_COOKIE, "")
    users.end_session(request.app.state.store, token)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.post("/language")
def language(
    request: Request,
    viewer: FormDep,
    locale: Annotated[str, Form(max_length=32)] = "",
    back: Annotated[str, Form(max_length=2048)] = "/",
) -> Response:
    if locale not in i18n.LOCALES:
        locale = i18n.DEFAULT
    users.set_locale(request.app.state.store, viewer.id, locale)
    response = RedirectResponse(safe_next(back), status_code=303)
    response.set_cookie(LANGUAGE_COOKIE, locale, max_age=YEAR_S, samesite="lax",
                        secure=is_https(request))  # fmt: skip
    return response
