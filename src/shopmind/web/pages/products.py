"""Products: a searchable, paginated list, and one product with its review intelligence."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Request
from fastapi.responses import Response

from shopmind.store.catalog import product_detail, search_products
from shopmind.store.reviews import product_insights
from shopmind.web import charts
from shopmind.web.app import render, request_locale
from shopmind.web.auth import ViewerDep

router = APIRouter()
SORTS = ("title", "price", "inventory", "reviews", "negative")


@router.get("/products")
def products_page(
    request: Request,
    viewer: ViewerDep,
    q: Annotated[str, Query(max_length=200)] = "",
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    sort: Annotated[str, Query(max_length=16)] = "title",
) -> Response:
    sort = sort if sort in SORTS else "title"
    found = search_products(request.app.state.store, q, page=page, sort=sort)
    return render(request, "products.html", {"found": found, "q": q, "sort": sort,
                                             "sorts": SORTS})  # fmt: skip


@router.get("/products/{product_id}")
def product_page(
    request: Request, viewer: ViewerDep, product_id: Annotated[int, Path(ge=1, le=2**31 - 1)]
) -> Response:
    store = request.app.state.store
    product = product_detail(store, product_id)
    if product is None:
        raise HTTPException(404, detail=f"no product {product_id}")
    insights = product_insights(store, product_id)
    trend = None
    if insights and insights.get("trend"):
        trend = charts.sentiment_trend(insights["trend"], locale=request_locale(request, viewer))
    return render(request, "product.html", {"product": product, "insights": insights,
                                            "trend": trend})  # fmt: skip
