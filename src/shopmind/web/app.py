"""The dashboard on the API's FastAPI app: templates, static files, pages, error pages.

``mount_dashboard(app)`` adds every page router, ``/static`` and the handlers that turn
a missing session into a redirect to ``/login`` and a refused action into a page. Pages
are rendered on the server by Jinja2 with autoescaping on: shop text (reviews, product
fields, page titles) is escaped wherever it is shown. One Jinja2 environment per
interface language, each with its gettext catalog installed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.exceptions import HTTPException as StarletteHTTPException

from shopmind import __version__
from shopmind.web import i18n
from shopmind.web.auth import (
    LOGIN_CSRF_COOKIE,
    SECURITY_HEADERS,
    LoginRequired,
    Viewer,
    login_redirect,
    session_viewer,
)

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
LANGUAGE_COOKIE = "shopmind_lang"
UPLOAD_PATH = "/imports/upload"  # its own body-size limit (upload_max_mb) in the API app

# (path, msgid of the label, admin only); pages of later capabilities add theirs here.
NAV: list[tuple[str, str, bool]] = [
    ("/", i18n.N_("Overview"), False),
    ("/products", i18n.N_("Products"), False),
    ("/reviews", i18n.N_("Reviews"), False),
    ("/content", i18n.N_("Content"), False),
    ("/recommendations", i18n.N_("Recommendations"), False),
    ("/support", i18n.N_("Support"), False),
    ("/imports", i18n.N_("Imports"), True),
    ("/jobs", i18n.N_("Jobs"), False),
    ("/settings", i18n.N_("Settings"), False),
    ("/insights", i18n.N_("Insights"), False),
]


@cache
def environment(locale: str) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html", "xml"], default=True),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(i18n.translations(locale), newstyle=True)  # type: ignore[attr-defined]
    env.globals["version"] = __version__
    return env


def request_locale(request: Request, viewer: Viewer | None = None) -> str:
    choice = request.cookies.get(LANGUAGE_COOKIE) or (viewer.locale if viewer else None)
    return i18n.negotiate(request.headers.get("accept-language"), choice)


def job_title(kind: str, locale: str) -> str:
    """A job kind as the pages name it, in the interface language."""
    from shopmind.jobs import KINDS

    found = KINDS.get(kind)
    return i18n.gettext(found.title, locale) if found else kind


# An active review alert's reason (``reviews.insights``: ``reason_code`` → sentence); the
# English msgid is the sentence the insights store in ``reason``.
ALERT_REASONS = {
    "negative_share_high": i18n.N_(
        "negative share %(share)s in the last %(days)s days (%(negative)s of %(reviews)s "
        "reviews) vs %(normal)s normally (upper limit %(upper)s)"
    ),
}


def alert_reason(alert: dict[str, Any], locale: str) -> str:
    """An active alert's reason in the interface language, from its code and numbers
    (insights stored before alerts had a code: from the numbers they kept); the stored
    English ``reason`` where neither reads."""
    params = alert.get("reason_params") or _older_alert_params(alert)
    sentence = ALERT_REASONS.get(alert.get("reason_code") or "negative_share_high")
    try:
        values = {
            "share": i18n.format_percent(params["share"], locale, 0),
            "days": i18n.format_number(params["window_days"], locale),
            "negative": i18n.format_number(params["negative"], locale),
            "reviews": i18n.format_number(params["reviews"], locale),
            "normal": i18n.format_percent(params["normal_share"], locale, 0),
            "upper": i18n.format_percent(params["upper"], locale, 0),
        }
    except (KeyError, TypeError, ValueError, ArithmeticError):
        sentence = None
    if sentence is None:
        return str(alert.get("reason") or "")
    return i18n.gettext(sentence, locale) % values


def _older_alert_params(alert: dict[str, Any]) -> dict[str, Any]:
    recent, history = alert.get("recent") or {}, alert.get("history") or {}
    return {
        "share": recent.get("negative_share"),
        "window_days": alert.get("window_days"),
        "negative": recent.get("negative"),
        "reviews": recent.get("reviews"),
        "normal_share": history.get("negative_share"),
        "upper": (alert.get("normal_range") or {}).get("upper"),
    }


def formatters(locale: str, currency: str) -> dict[str, Callable[..., str]]:
    return {
        "job_title": lambda kind: job_title(kind, locale),
        "alert_reason": lambda alert: alert_reason(alert, locale),
        "fmt_number": lambda v, digits=0: i18n.format_number(v, locale, digits),
        "fmt_money": lambda v, cur=None: i18n.format_currency(v, cur or currency, locale),
        "fmt_percent": lambda v, digits=1: i18n.format_percent(v, locale, digits),
        "fmt_date": lambda v: i18n.format_date(v, locale),
        "fmt_datetime": lambda v: format_time(v, locale),
    }


def format_time(value: dt.datetime | str, locale: str) -> str:
    """A stored time (naive UTC, or ISO 8601 text) as the dashboard shows every time: in
    the locale's way, marked UTC."""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return value
    return i18n.format_datetime(value, locale, zone=True)


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    status_code: int = 200,
    viewer: Viewer | None = None,
) -> HTMLResponse:
    """A page: the template with the viewer, navigation, language and formatters."""
    viewer = viewer or getattr(request.state, "viewer", None)
    locale = request_locale(request, viewer)
    settings = request.app.state.settings
    page = {
        "request": request,
        "viewer": viewer,
        "csrf_token": viewer.csrf_token if viewer else "",
        "locale": locale,
        "lang": i18n.html_lang(locale),
        "languages": i18n.LANGUAGES,
        "nav": [(p, label) for p, label, admin in NAV if not admin or (viewer and viewer.is_admin)],
        "path": request.url.path,
        **formatters(locale, settings.currency),
        **(context or {}),
    }
    html = environment(locale).get_template(template).render(page)
    response = HTMLResponse(html, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"
    return response


def _wants_json(request: Request) -> bool:
    return request.url.path.endswith(".json") or "application/json" in request.headers.get(
        "accept", ""
    )


async def _login_required(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoginRequired)
    if _wants_json(request):
        return JSONResponse({"detail": "log-in required"}, status_code=401)
    return RedirectResponse(login_redirect(exc.next_url), status_code=303)


def _is_dashboard(request: Request) -> bool:
    path = request.url.path
    return not (
        path.startswith(("/v1/", "/public/"))
        or path in ("/health", "/docs", "/openapi.json", "/widget.js", "/chat-widget.js")
    )


def install_error_pages(app: FastAPI, api_handler: Callable[..., Any] | None) -> None:
    """HTML error pages for dashboard paths; the API keeps its JSON errors."""

    async def handler(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if _is_dashboard(request) and not _wants_json(request):
            viewer = getattr(request.state, "viewer", None) or session_viewer(request)
            request.state.viewer = viewer
            return render(
                request,
                "error.html",
                {"status": exc.status_code, "detail": str(exc.detail)},
                status_code=exc.status_code,
                viewer=viewer,
            )
        if api_handler is not None:
            return await api_handler(request, exc)
        return JSONResponse(
            {"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers
        )

    app.add_exception_handler(StarletteHTTPException, handler)
    app.add_exception_handler(HTTPException, handler)


def mount_dashboard(app: FastAPI) -> None:
    from shopmind.web.pages import PAGE_ROUTERS

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_exception_handler(LoginRequired, _login_required)
    install_error_pages(app, None)
    for router in PAGE_ROUTERS:
        app.include_router(router, include_in_schema=False)

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Callable[..., Any]) -> Response:
        response = await call_next(request)
        if _is_dashboard(request):
            for name, value in SECURITY_HEADERS.items():
                response.headers.setdefault(name, value)
        return response


__all__ = ["LOGIN_CSRF_COOKIE", "environment", "mount_dashboard", "render"]
