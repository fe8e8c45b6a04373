"""Content drafts in the store: runs replace untouched drafts, decisions, edits, resuming."""

from __future__ import annotations

import pytest

from shopmind.store import Store
from shopmind.store import content as drafts
from shopmind.store.models import Product

SEO = {"model": "smollm2", "settings": {"n": 3, "temperature": 0.7}}


def run(store: Store, key: str = "tee", titles: tuple[str, ...] = ("A", "B"), **kw):
    return drafts.save_run(
        store,
        product_key=key,
        product_id=kw.pop("product_id", None),
        task=kw.pop("task", "seo"),
        language=kw.pop("language", "en"),
        variants=[({"title": t, "meta_description": t * 2}, {"spec": True}) for t in titles],
        **{**SEO, **kw},
    )


def test_a_run_stores_its_variants_best_first(store: Store) -> None:
    saved = run(store, titles=("Best", "Second"))
    assert [d.rank for d in saved] == [0, 1]
    assert [d.fields["title"] for d in drafts.list_drafts(store, product_key="tee")] == [
        "Best",
        "Second",
    ]
    assert all(d.status == "draft" and not d.edited for d in saved)
    assert saved[0].settings_key == drafts.settings_key("seo", "en", "smollm2", SEO["settings"])


def test_a_new_run_replaces_only_untouched_drafts(store: Store) -> None:
    first = run(store, titles=("A", "B", "C"))
    drafts.decide(store, first[0].id, "approved", by="owner@example.com")
    drafts.decide(store, first[1].id, "rejected")
    drafts.edit(store, first[2].id, {"title": "Mine", "meta_description": "mine"})
    run(store, titles=("D",))
    run(store, titles=("E",))  # replaces D, which nobody touched
    kept = {d.fields["title"]: d.status for d in drafts.list_drafts(store, product_key="tee")}
    assert kept == {"A": "approved", "B": "rejected", "Mine": "draft", "E": "draft"}


def test_one_approved_draft_per_product_task_and_language(store: Store) -> None:
    saved = run(store, titles=("A", "B"))
    other_language = run(store, titles=("中",), language="zh")
    drafts.decide(store, saved[0].id, "approved")
    drafts.decide(store, other_language[0].id, "approved")
    drafts.decide(store, saved[1].id, "approved")
    status = {d.fields["title"]: d.status for d in drafts.list_drafts(store)}
    assert status == {"A": "draft", "B": "approved", "中": "approved"}
    assert [d.fields["title"] for d in drafts.approved_for(store, "seo")] == ["B", "中"]


def test_bad_ids_and_statuses_are_refused(store: Store) -> None:
    saved = run(store)
    with pytest.raises(drafts.DraftNotFound, match="no content draft 999"):
        drafts.decide(store, 999, "approved")
    with pytest.raises(ValueError, match="status 'published'"):
        drafts.decide(store, saved[0].id, "published")
    with pytest.raises(ValueError, match="product_key is empty"):
        run(store, key="")
    assert drafts.get_draft(store, saved[0].id).status == "draft"


def test_done_keys_resume_a_bulk_run_only_for_the_same_settings(store: Store) -> None:
    run(store, key="a")
    run(store, key="b", task="google-ads")
    run(store, key="c", settings={"n": 5, "temperature": 0.7})
    key = drafts.settings_key("seo", "en", "smollm2", SEO["settings"])
    assert drafts.done_keys(store, "seo", "en", key) == {"a"}


def test_drafts_go_with_their_product(store: Store) -> None:
    with store.session() as s:
        product = Product(external_id="tee", title="Linen tee")
        s.add(product)
        s.flush()
        pid = product.id
    run(store, product_id=pid)
    with store.session() as s:
        s.delete(s.get(Product, pid))
    assert drafts.list_drafts(store) == []
