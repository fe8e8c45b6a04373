"""One module per dashboard page; each exposes ``router``. Later capabilities add theirs
to ``PAGE_ROUTERS`` and a navigation entry to ``shopmind.web.app.NAV``."""

from shopmind.web.pages import (
    content,
    imports,
    insights,
    jobs,
    login,
    overview,
    products,
    recommendations,
    reviews,
    settings,
    support,
)

PAGE_ROUTERS = [
    login.router,
    overview.router,
    products.router,
    reviews.router,
    content.router,
    recommendations.router,
    support.router,
    imports.router,
    jobs.router,
    settings.router,
    insights.router,
]
