"""Content exports: approved copy to a Shopify CSV and a Google Merchant Center feed.

Each output is read back in its own format's terms: the Shopify CSV with the csv module
and through shopmind's own Shopify importer, the TSV with csv's tab dialect, the XML with
an XML parser (namespaces, elements); and over HTTP and the command line.
"""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from shopmind.api.app import create_app
from shopmind.cli import app as cli
from shopmind.config import init_workspace, load_settings
from shopmind.content import export
from shopmind.safety import html_to_text
from shopmind.store import Store
from shopmind.store import content as drafts
from shopmind.store.apikeys import create_api_key
from shopmind.store.importers.common import Options
from shopmind.store.importers.shopify_products import import_products
from shopmind.store.models import Product, Variant

G = "{http://base.google.com/ns/1.0}"
SHOP = "https://shop.example.com"
BODY = "<p>Soft <strong>linen</strong> tee, cut loose.</p>"
AI_TITLE = "Linen tee — breathable & light"
# What a model (or a person editing a draft) may leave in: markup-like text, an XML CDATA
# end, a control character, an escape and U+FFFE, none of which may break the XML.
AI_DESCRIPTION = 'Cool <b>&</b> linen ]]> "airy"\x07 tee\x1b[31m\ufffe.\nMachine washable.'
LONG_ID = "x" * 51


def approve(
    store: Store, key: str, task: str, fields: dict[str, Any], language: str = "en"
) -> drafts.DraftView:
    (draft,) = drafts.save_run(
        store, product_key=key, product_id=None, task=task, language=language,
        variants=[(fields, {})], model="test", settings={},
    )  # fmt: skip
    return drafts.decide(store, draft.id, "approved", by="test")


def seed(store: Store) -> None:
    """Products and drafts with a known answer for every export."""
    with store.session() as s:
        tee = Product(
            external_id="linen-tee", title="Linen tee", description="Merchant tee.",
            description_html="<p>Merchant <b>tee</b>.</p>", brand="Fjell",
            category="Women > Tops", price=29.0, compare_at_price=39.0, currency="usd",
            inventory=5, image_url="https://cdn.example.com/tee.jpg", seo_title="Merchant SEO",
            seo_description="Merchant meta.", attributes={"MPN": "TEE-1", "condition": "New"},
        )  # fmt: skip
        tee.variants = [Variant(external_id="linen-tee:1", title="S", barcode="4006381333931")]
        s.add_all(
            [
                tee,
                Product(
                    external_id="wool-cap",
                    title='=HYPERLINK("http://evil")',
                    description_html="<p>Merchant cap.</p>",
                    description="Merchant cap.",
                    price=12.0,
                    inventory=0,
                    image_url="https://cdn.example.com/cap.jpg",
                    seo_title="Cap SEO",
                    seo_description="Cap meta.",
                ),
                Product(
                    external_id="plain-sock",
                    title="Sock " + "long " * 60,
                    description="Merchant sock. " * 400,
                    price=4.5,
                    image_url="https://cdn.example.com/sock.jpg",
                ),
                Product(external_id="no-price", title="Free?", image_url=f"{SHOP}/i.jpg"),
                Product(
                    external_id="no-image",
                    title="Ghostly",
                    price=3.0,
                    image_url="javascript:alert(1)",
                ),
                Product(external_id=LONG_ID, title="Long id", price=1.0, image_url=f"{SHOP}/l.jpg"),
                Product(external_id="bare", title="Bare", price=2.0, image_url=f"{SHOP}/b.jpg"),
                Product(
                    external_id="old",
                    title="Old",
                    price=1.0,
                    status="archived",
                    image_url=f"{SHOP}/o.jpg",
                ),
            ]
        )
    approve(store, "linen-tee", "product-description", {"description": "Soft.", "html": BODY})
    approve(store, "linen-tee", "seo", {"title": "Linen tee | Fjell", "meta_description": "Airy."})
    approve(store, "linen-tee", "seo", {"title": "亚麻T恤", "meta_description": "透气。"}, "zh")
    approve(store, "linen-tee", "merchant-feed", {"title": AI_TITLE, "description": AI_DESCRIPTION})
    approve(store, "wool-cap", "seo", {"title": "-cap +wool", "meta_description": "@cap"})
    approve(store, "ghost", "seo", {"title": "Not stored", "meta_description": "Gone."})
    drafts.save_run(  # a draft nobody approved never leaves the store
        store, product_key="plain-sock", product_id=None, task="seo", language="en",
        variants=[({"title": "Unapproved", "meta_description": "No."}, {})], model="t", settings={},
    )  # fmt: skip
    rejected = approve(store, "plain-sock", "merchant-feed", {"title": "Nope", "description": "No"})
    drafts.decide(store, rejected.id, "rejected")


@pytest.fixture
def shop(store: Store) -> Store:
    seed(store)
    return store


# --- Shopify CSV ----------------------------------------------------------------------------


def shopify_rows(store: Store, **kw: Any) -> tuple[list[str], dict[str, dict[str, str]]]:
    out = io.StringIO()
    export.shopify_csv(store, out, **kw)
    reader = csv.DictReader(io.StringIO(out.getvalue()))
    rows = list(reader)
    return list(reader.fieldnames or []), {r["Handle"]: r for r in rows}


def test_shopify_csv_updates_by_handle_from_approved_drafts_only(shop: Store) -> None:
    out = io.StringIO()
    result = export.shopify_csv(shop, out)
    header, rows = shopify_rows(shop)
    assert header == ["Handle", "Title", "Body (HTML)", "SEO Title", "SEO Description"]
    assert sorted(rows) == ["linen-tee", "wool-cap"]  # plain-sock has no approved draft
    tee = rows["linen-tee"]
    assert tee["Title"] == "Linen tee" and tee["Body (HTML)"] == BODY
    assert (tee["SEO Title"], tee["SEO Description"]) == ("Linen tee | Fjell", "Airy.")
    # an approved seo draft alone: the body is the merchant's own, unchanged
    assert rows["wool-cap"]["Body (HTML)"] == "<p>Merchant cap.</p>"
    assert result.written == 2 and result.skipped == [export.Skipped("ghost", "not in the store")]


def test_shopify_csv_takes_the_asked_language(shop: Store) -> None:
    _, rows = shopify_rows(shop, language="zh")
    assert list(rows) == ["linen-tee"]
    assert rows["linen-tee"]["SEO Title"] == "亚麻T恤"
    assert rows["linen-tee"]["Body (HTML)"] == "<p>Merchant <b>tee</b>.</p>"  # none approved in zh
    with pytest.raises(ValueError, match="language 'fr'"):
        export.shopify_csv(shop, io.StringIO(), language="fr")


def test_shopify_csv_neutralises_formula_cells_unless_raw(shop: Store) -> None:
    """Guards the spreadsheet rule: title, SEO cells starting = + - @ get a quote."""
    cap = shopify_rows(shop)[1]["wool-cap"]
    assert cap["Title"] == '\'=HYPERLINK("http://evil")'
    assert (cap["SEO Title"], cap["SEO Description"]) == ("'-cap +wool", "'@cap")
    raw = shopify_rows(shop, raw=True)[1]["wool-cap"]
    assert raw["Title"] == '=HYPERLINK("http://evil")' and raw["SEO Title"] == "-cap +wool"


def test_shopify_csv_reimports_through_the_shopify_importer(shop: Store, tmp_path: Path) -> None:
    path = tmp_path / "shopify.csv"
    export.shopify_csv(shop, path)
    assert path.read_bytes().decode("utf-8")  # UTF-8 throughout
    fresh = Store(f"sqlite:///{tmp_path / 'fresh.db'}")
    fresh.upgrade()
    result = import_products(fresh, Options(path=path))
    assert result.rejected == 0
    with fresh.session() as s:
        tee = s.query(Product).filter_by(external_id="linen-tee").one()
        assert tee.description_html == BODY and tee.description == html_to_text(BODY)
        assert (tee.seo_title, tee.seo_description) == ("Linen tee | Fjell", "Airy.")
        assert tee.title == "Linen tee"
    fresh.dispose()


# --- Google Merchant Center -----------------------------------------------------------------


def read_tsv(text: str) -> list[dict[str, str]]:
    reader = csv.DictReader(io.StringIO(text), dialect="excel-tab", quoting=csv.QUOTE_NONE)
    assert reader.fieldnames == list(export.GMC_COLUMNS)
    return list(reader)


def test_gmc_tsv_reads_back_with_every_required_attribute(shop: Store) -> None:
    out = io.StringIO()
    result = export.google_merchant_tsv(shop, out, shop_url=SHOP)
    items = {r["id"]: r for r in read_tsv(out.getvalue())}
    assert sorted(items) == ["linen-tee", "plain-sock", "wool-cap"]  # active and complete
    reasons = {s.product: s.reason for s in result.skipped}
    assert reasons == {
        "no-price": "no price",
        "no-image": "no http(s) image",
        "bare": "no description",
        LONG_ID: "id longer than 50 characters",
    }
    for item in items.values():
        for required in ("id", "description", "link", "image_link", "availability", "price"):
            assert item[required] or (required == "description" and item["structured_description"])
    tee = items["linen-tee"]
    assert tee["title"] == "" and tee["description"] == ""  # one of title / structured_title
    assert tee["structured_title"] == f'trained_algorithmic_media:"{AI_TITLE}"'
    description = tee["structured_description"]
    assert description.startswith('trained_algorithmic_media:"Cool <b>&</b> linen ]]> ""airy""')
    assert description.endswith('Machine washable."') and "\x07" not in description
    assert tee["link"] == f"{SHOP}/products/linen-tee"
    assert (tee["price"], tee["sale_price"]) == ("39.00 USD", "29.00 USD")  # compare-at: on sale
    assert (tee["availability"], tee["brand"], tee["gtin"]) == (
        "in_stock",
        "Fjell",
        "4006381333931",
    )
    assert (tee["mpn"], tee["condition"], tee["product_type"]) == ("TEE-1", "new", "Women > Tops")
    cap = items["wool-cap"]
    assert cap["title"] == '=HYPERLINK("http://evil")'  # merchant text, to a program: as is
    assert (cap["availability"], cap["price"], cap["sale_price"]) == (
        "out_of_stock",
        "12.00 USD",
        "",
    )


def test_gmc_text_fits_merchant_center_limits(shop: Store) -> None:
    out = io.StringIO()
    export.google_merchant_tsv(shop, out, shop_url=SHOP)
    sock = next(r for r in read_tsv(out.getvalue()) if r["id"] == "plain-sock")
    assert 140 <= len(sock["title"]) <= 150 and sock["title"].startswith("Sock long")
    assert not sock["title"].endswith(" ")
    assert 4900 <= len(sock["description"]) <= 5000 and sock["description"].endswith("sock.")


def gmc_xml(store: Store, **kw: Any) -> tuple[bytes, ET.Element]:
    body, _ = export.google_merchant_xml_bytes(store, shop_url=kw.pop("shop_url", SHOP), **kw)
    return body, ET.fromstring(body)


def test_gmc_xml_is_rss_2_with_the_google_namespace(shop: Store) -> None:
    body, root = gmc_xml(shop)
    assert body.startswith(b"<?xml version='1.0' encoding='utf-8'?>")
    assert b'xmlns:g="http://base.google.com/ns/1.0"' in body
    body.decode("utf-8")  # valid UTF-8
    assert root.tag == "rss" and root.get("version") == "2.0"
    (channel,) = root
    assert [c.tag for c in channel][:3] == ["title", "link", "description"]
    assert channel.findtext("link") == f"{SHOP}/"
    items = channel.findall("item")
    assert len(items) == 3
    for item in items:
        assert all(child.tag.startswith(G) for child in item)
        for required in ("id", "link", "image_link", "availability", "price"):
            assert item.find(G + required) is not None, required
    tee = next(i for i in items if i.findtext(G + "id") == "linen-tee")
    assert tee.find(G + "title") is None and tee.find(G + "description") is None
    for name, text in (("structured_title", AI_TITLE), ("structured_description", None)):
        node = tee.find(G + name)
        assert node is not None
        assert [c.tag for c in node] == [G + "digital_source_type", G + "content"]
        assert node.findtext(G + "digital_source_type") == "trained_algorithmic_media"
        if text is not None:
            assert node.findtext(G + "content") == text
    content = tee.find(G + "structured_description").findtext(G + "content")
    assert content == 'Cool <b>&</b> linen ]]> "airy" tee[31m.\nMachine washable.'
    cap = next(i for i in items if i.findtext(G + "id") == "wool-cap")
    assert cap.findtext(G + "title") == '=HYPERLINK("http://evil")'
    assert cap.find(G + "structured_title") is None


def test_gmc_xml_takes_the_asked_language_and_only_approved_copy(shop: Store) -> None:
    _, root = gmc_xml(shop, language="zh")
    titles = {i.findtext(G + "id"): i.findtext(G + "title") for i in root.iter("item")}
    assert titles["linen-tee"] == "Linen tee"  # no merchant-feed draft approved in Chinese
    _, root = gmc_xml(shop)
    sock = next(i for i in root.iter("item") if i.findtext(G + "id") == "plain-sock")
    assert sock.find(G + "structured_title") is None  # its merchant-feed draft was rejected


def test_gmc_links_follow_the_shop_url(shop: Store) -> None:
    _, root = gmc_xml(shop, shop_url="https://shop.example.com/p/{handle}?ref=feed")
    links = sorted(i.findtext(G + "link") for i in root.iter("item"))
    assert links[0] == "https://shop.example.com/p/linen-tee?ref=feed"
    assert export.shop_link(SHOP + "/", "a b/c") == f"{SHOP}/products/a%20b%2Fc"
    for bad in ("ftp://shop.example.com", "javascript:alert(1)", "shop.example.com",
                "http://[oops", "https://shop.example.com/a b"):  # fmt: skip
        with pytest.raises(ValueError):
            export.google_merchant_xml(shop, io.BytesIO(), shop_url=bad)


@pytest.mark.parametrize(
    ("barcode", "valid"),
    [("4006381333931", True), ("4006381333932", False), ("036000291452", True),
     ("96385074", True), ("12345", False), ("４００６３８１３３３９３１", False), ("", False)],
)  # fmt: skip
def test_gtin_needs_a_gs1_check_digit(barcode: str, valid: bool) -> None:
    assert (export.gtin(barcode) is not None) is valid


# --- REST and CLI ---------------------------------------------------------------------------


@pytest.fixture
def api(tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, str]]]:
    ws = tmp_path / "ws"
    init_workspace(ws)
    settings = load_settings(ws, database_url=f"sqlite:///{tmp_path / 'f.db'}", threads=1)
    store = Store(settings.resolved_database_url)
    store.upgrade()
    seed(store)
    key = create_api_key(store, "t")
    with TestClient(create_app(settings, store=store)) as client:
        yield client, {"Authorization": f"Bearer {key}"}
    store.dispose()


def test_feed_route_answers_the_xml_feed(api: Any) -> None:
    client, auth = api
    path = "/v1/feeds/google-merchant.xml"
    answer = client.get(path, params={"shop_url": SHOP}, headers=auth)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/xml"
    assert (answer.headers["x-shopmind-items"], answer.headers["x-shopmind-skipped"]) == ("3", "4")
    root = ET.fromstring(answer.content)
    assert root.tag == "rss" and len(root.findall("channel/item")) == 3
    zh = client.get(path, params={"shop_url": SHOP, "language": "zh"}, headers=auth)
    assert zh.status_code == 200 and b"structured_title" not in zh.content
    assert client.get(path, params={"shop_url": SHOP}).status_code == 401
    for params in ({}, {"shop_url": SHOP, "language": "fr"}, {"shop_url": "ftp://x.example"},
                   {"shop_url": "http://[oops.example"}):  # fmt: skip
        refused = client.get(path, params=params, headers=auth)
        assert refused.status_code == 422, (params, refused.text)
        assert refused.headers["content-type"] == "application/json"


def test_cli_writes_each_format(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    init_workspace(ws)
    runner = CliRunner()
    assert runner.invoke(cli, ["-w", str(ws), "db", "upgrade"]).exit_code == 0
    store = Store(load_settings(ws).resolved_database_url)
    seed(store)
    store.dispose()
    base = ["-w", str(ws), "content", "export"]
    for fmt, name in (("shopify-csv", "s.csv"), ("gmc-tsv", "g.tsv"), ("gmc-xml", "g.xml")):
        out = runner.invoke(cli, [*base, "--format", fmt, "-o", str(tmp_path / name),
                                  "--shop-url", SHOP])  # fmt: skip
        assert out.exit_code == 0, out.output
        assert (
            "wrote 2 rows" in out.output if fmt == "shopify-csv" else "wrote 3 items" in out.output
        )
    assert ET.parse(tmp_path / "g.xml").getroot().tag == "rss"
    assert len(read_tsv((tmp_path / "g.tsv").read_text(encoding="utf-8"))) == 3
    assert "linen-tee" in (tmp_path / "s.csv").read_text(encoding="utf-8")
    no_url = runner.invoke(cli, [*base, "--format", "gmc-xml", "-o", str(tmp_path / "x.xml")])
    assert no_url.exit_code == 1 and "--shop-url" in no_url.output
    bad = runner.invoke(cli, [*base, "--format", "pdf", "-o", str(tmp_path / "x")])
    assert bad.exit_code == 1 and "shopify-csv" in bad.output
