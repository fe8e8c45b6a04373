"""Product feeds over HTTP: the Google Merchant Center XML feed of the store's products.

``GET /v1/feeds/google-merchant.xml`` answers what ``shopmind content export --format
gmc-xml`` writes (``shopmind.content.export``): RSS 2.0 with the ``g`` namespace, the
active products, approved ``merchant-feed`` copy as ``structured_title`` /
``structured_description``. The counts of items written and products left out come in
headers, since the body is the feed itself.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from fastapi.exceptions import RequestValidationError

from shopmind.api.deps import StoreDep
from shopmind.api.schemas import InvalidRequest
from shopmind.content import export

router = APIRouter(tags=["feeds"])

ShopUrl = Annotated[
    str,
    Query(
        min_length=10,
        max_length=2000,
        pattern=r"^https?://[^\s\x00-\x1f\x7f]+$",
        description="The shop's address: links are <shop_url>/products/<handle>, or the URL "
        "with {handle} filled in when it holds that placeholder.",
    ),
]


@router.get(
    "/feeds/google-merchant.xml",
    response_class=Response,
    summary="Google Merchant Center product feed (RSS 2.0, XML) with approved AI copy marked",
    responses={
        200: {
            "content": {"application/xml": {"schema": {"type": "string"}}},
            "description": "The feed; X-Shopmind-Items and X-Shopmind-Skipped count its items "
            "and the active products left out",
        },
        422: {"model": InvalidRequest, "description": "An unknown language or a bad shop_url"},
    },
)
def google_merchant_feed(
    store: StoreDep, shop_url: ShopUrl, language: Literal["en", "zh"] = "en"
) -> Response:
    try:
        body, result = export.google_merchant_xml_bytes(store, language, shop_url=shop_url)
    except ValueError as exc:
        raise RequestValidationError(
            [{"type": "value_error", "loc": ("query", "shop_url"), "msg": str(exc)}]
        ) from None
    headers = {"X-Shopmind-Items": str(result.written),
               "X-Shopmind-Skipped": str(len(result.skipped))}  # fmt: skip
    return Response(body, media_type="application/xml", headers=headers)
