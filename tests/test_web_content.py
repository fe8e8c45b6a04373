"""The Content page over plain HTTP: a writing job from the form, drafts with their
checks, approve / reject / edit within the channel's limits, roles, escaping, Chinese."""

from __future__ import annotations

import re

from shopmind.store import content as drafts
from shopmind.store.models import Product
from test_web import ADMIN, VIEWER, _wait_job, csrf, log_in, site  # noqa: F401 (fixture)


def add_products(store) -> None:
    with store.session() as s:
        s.add_all([
            Product(external_id="stool-1", title="Oak Stool", brand="Hewn", category="Seating",
                    attributes={"finish": "oiled"}, description="A three-legged oak stool."),
            Product(external_id="lamp-2", title="Brass Desk Lamp", brand="Lumen",
                    attributes={"colour": "brass"}),
            Product(external_id="evil-3", title='<script>alert("x")</script> Mug', brand="Evil"),
        ])  # fmt: skip


def write_job(client, **fields) -> int:
    data = {"task": "seo", "scope": "chosen", "writer": "rules", "n": "2", "language": "en",
            "csrf_token": csrf(client, "/content"), **fields}  # fmt: skip
    started = client.post("/content/generate", data=data, follow_redirects=False)
    assert started.status_code == 303, started.text
    return int(started.headers["location"].rsplit("/", 1)[1])


def test_a_writing_job_from_the_form_fills_the_drafts(site):  # noqa: F811
    client, store, _ = site
    add_products(store)
    log_in(client, ADMIN)
    page = client.get("/content")
    assert page.status_code == 200 and 'href="/content"' in page.text
    assert 'value="stool-1"' in page.text and "Start writing" in page.text
    job_id = write_job(client, product_ids=["stool-1", "lamp-2"])
    job = _wait_job(client, job_id)
    assert job["status"] == "done", job
    assert job["summary"]["written"] == 2 and job["summary"]["skipped"] == 0
    written = drafts.list_drafts(store, job_id=job_id)
    assert {d.product_key for d in written} == {"stool-1", "lamp-2"}
    assert {d.model for d in written} == {"rules"}
    listed = client.get(f"/content?job={job_id}").text
    assert "Oak Stool | Hewn" in listed and "facts writer" in listed
    assert f'href="/content?job={job_id}"' in client.get(f"/jobs/{job_id}").text
    again = _wait_job(client, write_job(client, product_ids=["stool-1", "lamp-2"]))
    assert again["summary"]["skipped"] == 2 and again["summary"]["written"] == 0
    nothing = client.post("/content/generate", data={"task": "seo", "scope": "chosen",
                          "csrf_token": csrf(client, "/content")})  # fmt: skip
    assert nothing.status_code == 422 and "choose at least one product" in nothing.text
    bad = client.post("/content/generate", data={"task": "poem", "scope": "all",
                      "csrf_token": csrf(client, "/content")})  # fmt: skip
    assert bad.status_code == 409 and "task: must be one of" in bad.text


def test_approve_reject_and_edit_within_the_limits(site):  # noqa: F811
    client, store, _ = site
    add_products(store)
    log_in(client, ADMIN)
    _wait_job(client, write_job(client, product_ids=["stool-1"]))
    first, second = drafts.list_drafts(store, product_key="stool-1")[:2]
    token = csrf(client, "/content")
    for draft in (first, second):
        done = client.post(f"/content/drafts/{draft.id}/decide",
                           data={"status": "approved", "csrf_token": token,
                                 "back": "/content?task=seo"},
                           follow_redirects=False)  # fmt: skip
        assert done.status_code == 303 and done.headers["location"] == "/content?task=seo"
    assert drafts.get_draft(store, first.id).status == "draft"  # one approved at a time
    assert drafts.get_draft(store, second.id).status == "approved"
    outside = client.post(f"/content/drafts/{first.id}/decide",
                          data={"status": "rejected", "csrf_token": token,
                                "back": "https://evil.test/"},
                          follow_redirects=False)  # fmt: skip
    assert outside.headers["location"] == "/content"
    form = client.get(f"/content/drafts/{second.id}")
    assert form.status_code == 200 and 'name="field_meta_description"' in form.text
    too_long = client.post(f"/content/drafts/{second.id}", data={
        "csrf_token": token, "field_title": "x" * 61,
        "field_meta_description": "Fine."})  # fmt: skip
    assert too_long.status_code == 422 and "61 characters, at most 60" in too_long.text
    assert drafts.get_draft(store, second.id).fields == second.fields  # nothing half-written
    saved = client.post(f"/content/drafts/{second.id}", data={
        "csrf_token": token, "field_title": "Oak stool, oiled | Hewn",
        "field_meta_description": "Our own words."}, follow_redirects=False)  # fmt: skip
    assert saved.status_code == 303
    edited = drafts.get_draft(store, second.id)
    assert edited.edited and edited.fields == {"title": "Oak stool, oiled | Hewn",
                                               "meta_description": "Our own words."}  # fmt: skip
    assert client.get("/content/drafts/999999").status_code == 404


def test_a_viewer_reads_the_drafts_but_cannot_write_or_decide(site):  # noqa: F811
    client, store, _ = site
    add_products(store)
    saved = drafts.save_run(store, product_key="evil-3", product_id=3, task="seo", language="en",
                            variants=[({"title": '<script>alert("x")</script> Mug',
                                        "meta_description": "<img src=x onerror=alert(1)>"},
                                       {"coverage": 0.5, "fluency": 0.9})],
                            model="rules", settings={})  # fmt: skip
    log_in(client, VIEWER)
    page = client.get("/content")
    assert (
        page.status_code == 200 and "Start writing" not in page.text and "Approve" not in page.text
    )
    assert "<script>alert" not in page.text and "<img src=x" not in page.text
    assert "&lt;script&gt;alert(" in page.text
    token = csrf(client, "/content")
    refused = client.post(f"/content/drafts/{saved[0].id}/decide",
                          data={"status": "approved", "csrf_token": token})  # fmt: skip
    assert refused.status_code == 403
    assert client.post("/content/generate", data={"task": "seo", "scope": "all",
                       "csrf_token": token}).status_code == 403  # fmt: skip
    assert (
        client.post(
            f"/content/drafts/{saved[0].id}/decide", data={"status": "approved"}
        ).status_code
        == 403
    )  # no CSRF token


def test_the_content_page_in_chinese(site):  # noqa: F811
    client, store, _ = site
    add_products(store)
    log_in(client, ADMIN)
    page = client.get("/content", headers={"Accept-Language": "zh-CN,zh;q=0.9"}).text
    assert re.search(r"<h1>内容</h1>", page) and "开始撰写" in page and "商品描述" in page


def test_an_article_written_from_the_page_is_a_draft_under_its_topic(site):  # noqa: F811
    client, store, _ = site
    add_products(store)
    log_in(client, ADMIN)
    started = client.post("/content/article", data={
        "topic": "a stool for a small kitchen", "k": "2", "writer": "rules",
        "csrf_token": csrf(client, "/content")}, follow_redirects=False)  # fmt: skip
    assert started.status_code == 303, started.text
    job = _wait_job(client, int(started.headers["location"].rsplit("/", 1)[1]))
    assert job["status"] == "done", job
    assert job["summary"]["products"][0]["id"] == "stool-1"
    (draft,) = drafts.list_drafts(store, task="article")
    page = client.get("/content?task=article").text
    assert "a stool for a small kitchen" in page and "/products/stool-1" in page
    assert draft.fields["sections"][0]["heading"] == "Oak Stool"


def test_the_approved_copy_downloads_as_a_shopify_csv_and_a_feed(site):  # noqa: F811
    import csv
    import io
    import xml.etree.ElementTree as ET

    client, store, _ = site
    add_products(store)
    log_in(client, VIEWER)
    saved = drafts.save_run(store, product_key="stool-1", product_id=1, task="seo", language="en",
                            variants=[({"title": "Oak Stool | Hewn", "meta_description": "Oiled."},
                                       {})], model="rules", settings={})  # fmt: skip
    drafts.decide(store, saved[0].id, "approved")
    got = client.get("/content/export?format=shopify-csv")
    assert got.status_code == 200 and "shopify-products.csv" in got.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(got.content.decode("utf-8"))))
    assert [(r["Handle"], r["SEO Title"]) for r in rows] == [("stool-1", "Oak Stool | Hewn")]
    missing = client.get("/content/export?format=gmc-xml")
    assert missing.status_code == 422 and "shop_url" in missing.text
    feed = client.get("/content/export?format=gmc-xml&shop_url=https://shop.example.com")
    assert feed.status_code == 200 and feed.headers["content-type"].startswith("application/xml")
    assert ET.fromstring(feed.content).tag == "rss"
