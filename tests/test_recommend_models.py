"""One contract suite over every recommender, on data with a known answer.

The store: 20 items in two worlds — ``a0 … a9`` (wool knitwear) and ``b0 … b9`` (kitchen
steel). In ``worlds()`` each shopper touches a few items of one world in random order,
so a session in one world must get items of that world. In ``walks()`` each shopper
walks one world's items in cycle order from a random start (``a3 a4 a5 …``, after ``a9``
comes ``a0``), so a model of sequences must know that ``a5`` follows ``a3 a4``.
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
import torch

from shopmind.recommend import (
    MODELS,
    Filters,
    Interactions,
    ItemTable,
    PopularRecommender,
    Recommender,
    RecommendError,
)

WORLDS = {"a": "merino wool sweater, knitted, colour {}", "b": "stainless steel chef knife no {}"}
ITEMS = [f"{w}{i}" for w in WORLDS for i in range(10)]
TEXTS = {f"{w}{i}": text.format(i) for w, text in WORLDS.items() for i in range(10)}
FAST = {
    "popular": {},
    "itemknn": {},
    "als": {"factors": 3, "iterations": 10, "threads": 1},  # two worlds: rank 2 structure
    "content": {},
    "sasrec": {"hidden": 32, "layers": 1, "dropout": 0.1, "lr": 5e-3, "epochs": 40,
               "patience": 0, "batch_tokens": 512, "threads": 1},
}  # fmt: skip


def worlds(users: int = 240, seed: int = 0) -> Interactions:
    rng = random.Random(seed)
    rows = []
    for u in range(users):
        world, picked = rng.choice("ab"), rng.sample(range(10), rng.randrange(4, 8))
        rows += [(f"u{u}", f"{world}{i}", float(t)) for t, i in enumerate(picked)]
    return Interactions.from_rows(rows, items=ITEMS)


def walk_rows(users: int = 240, seed: int = 0) -> list[tuple[str, str, float]]:
    rng = random.Random(seed)
    rows = []
    for u in range(users):
        world, start, length = rng.choice("ab"), rng.randrange(10), rng.randrange(5, 9)
        rows += [(f"u{u}", f"{world}{(start + t) % 10}", float(t)) for t in range(length)]
    return rows


def walks(users: int = 240, seed: int = 0) -> Interactions:
    return Interactions.from_rows(walk_rows(users, seed), items=ITEMS)


@pytest.fixture(scope="module")
def data() -> Interactions:
    return worlds()


@pytest.fixture(scope="module", params=sorted(MODELS))
def model(request: pytest.FixtureRequest, data: Interactions) -> Recommender:
    torch.manual_seed(0)
    torch.set_num_threads(1)
    return MODELS[request.param](**FAST[request.param]).fit(data, item_texts=TEXTS)


def test_a_session_in_one_world_gets_that_worlds_items(model: Recommender) -> None:
    if model.name == "popular":
        pytest.skip("popular is the same for everyone")
    ids, scores, reasons = model.recommend(["a2", "a3", "a4"], n=5)
    assert len(ids) == 5 and all(i.startswith("a") for i in ids), ids
    assert not {"a2", "a3", "a4"} & set(ids)  # the history is left out
    assert scores == sorted(scores, reverse=True)
    assert all(r["kind"] in ("viewed", "together", "similar", "popular") for r in reasons)
    ids, _, _ = model.recommend(["b7"], n=3)
    assert all(i.startswith("b") for i in ids), ids


def test_the_sequence_model_knows_what_comes_next() -> None:
    torch.manual_seed(0)
    torch.set_num_threads(1)
    model = MODELS["sasrec"](**FAST["sasrec"]).fit(walks())
    for session, following in ((["a3", "a4"], "a5"), (["b8", "b9"], "b0"), (["a6"], "a7")):
        ids, _, reasons = model.recommend(session, n=3)
        assert ids[0] == following, (session, ids)
        assert reasons[0]["kind"] == "viewed" and reasons[0]["item"] in session
    assert model.best_epoch_ >= 1 and model.history_[0]["ndcg@10"] >= 0


@pytest.mark.parametrize("refit", [True, False])
def test_sasrec_refits_on_the_items_held_out_to_choose_its_epochs(refit: bool) -> None:
    """A third of the shoppers end their walk with new items "x1" then "x2" — a step only
    their last item shows. The epochs are chosen with those last items held out; the
    refit learns the step, the first run alone cannot."""
    rows = walk_rows() + [(f"u{u}", item, 100.0 + t) for u in range(0, 240, 3)
                          for t, item in enumerate(("x1", "x2"))]  # fmt: skip
    data = Interactions.from_rows(rows, items=[*ITEMS, "x1", "x2"])
    torch.manual_seed(0)
    torch.set_num_threads(1)
    seen: list[dict] = []
    model = MODELS["sasrec"](**FAST["sasrec"], refit=refit).fit(data, progress=seen.append)
    assert model.best_epoch_ >= 1 and model.selected_["ndcg@10"] > 0
    refits = [r["epoch"] for r in seen if r.get("refit")]
    assert refits == (list(range(1, model.best_epoch_ + 1)) if refit else [])
    assert model.refitted_ is refit
    ids, _, _ = model.recommend(["x1"], n=1)
    assert (ids[0] == "x2") is refit, ids


def test_a_known_user_gets_items_of_their_world_they_have_not_had(
    model: Recommender, data: Interactions
) -> None:
    user = data.users[0]
    had = {data.items[i] for i in model.histories_[0]}
    ids, _, _ = model.recommend(user, n=2)
    assert not had & set(ids)
    if model.name != "popular":
        assert {i[0] for i in ids} == {next(iter(had))[0]}


def test_unknown_users_and_items_fall_back_and_say_so(model: Recommender) -> None:
    got = model.recommend("nobody", n=3)
    assert got.fallback and "unknown user" in got.fallback
    assert got.item_ids == [model.items_[i] for i in np.argsort(-model.popularity_)[:3]]
    assert all(r["kind"] == "popular" for r in got.reasons)
    mixed = model.recommend(["zz1", "a1", "zz2"], n=2)
    assert mixed.unknown == ["zz1", "zz2"] and mixed.fallback is None
    empty = model.recommend([], n=2)
    assert empty.fallback and "no known item" in empty.fallback and len(empty.item_ids) == 2


def test_n_larger_than_the_catalog_gives_every_allowed_item(model: Recommender) -> None:
    ids, _, _ = model.recommend(["a1"], n=500)
    assert sorted(ids) == sorted(set(ITEMS) - {"a1"})
    with pytest.raises(RecommendError, match="n must be at least 1"):
        model.recommend(["a1"], n=0)


def test_similar_items_leave_the_item_out(model: Recommender) -> None:
    ids, _, _ = model.similar("b4", n=4)
    assert "b4" not in ids and len(ids) == 4
    if model.name != "popular":
        assert all(i.startswith("b") for i in ids)
    with pytest.raises(RecommendError, match="unknown item 'nope'"):
        model.similar("nope")


def test_save_and_load_give_the_same_answers(model: Recommender, tmp_path: Path) -> None:
    folder = model.save(tmp_path / model.name)
    assert not list(folder.glob("*.pkl"))
    again = Recommender.load(folder)
    assert type(again) is type(model) and again.get_params() == model.get_params()
    histories = [np.array([0, 1]), np.array([12])]
    np.testing.assert_allclose(again.score(histories), model.score(histories), rtol=1e-5)
    assert again.recommend(["a1"], n=3).item_ids == model.recommend(["a1"], n=3).item_ids
    other = "popular" if model.name != "popular" else "itemknn"
    with pytest.raises(RecommendError, match=f"holds model '{model.name}'"):
        MODELS[other].load(folder)


def test_loading_something_else_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RecommendError, match="not a saved recommender"):
        Recommender.load(tmp_path)


def test_an_unfitted_model_says_so() -> None:
    with pytest.raises(RecommendError, match="not fitted"):
        PopularRecommender().recommend(["a1"])


def test_no_interactions_is_refused() -> None:
    empty = Interactions.from_rows([], items=ITEMS)
    with pytest.raises(RecommendError, match="no interactions"):
        PopularRecommender().fit(empty)


# -- the rules, on popular (a fixed order: items touched more come first) ---------------
@pytest.fixture(scope="module")
def ranked() -> PopularRecommender:
    rows = [(f"u{k}", item, 0.0) for item, times in (("a", 6), ("b", 5), ("c", 4), ("d", 3),
                                                     ("e", 2), ("f", 1))
            for k in range(times)]  # fmt: skip
    return PopularRecommender(half_life=None).fit(Interactions.from_rows(rows))


@pytest.fixture(scope="module")
def table() -> ItemTable:
    return ItemTable(
        ids=list("abcdef"),
        titles=[f"Item {x}" for x in "abcdef"],
        categories=["Tops > Tees", "Tops > Shirts", "Shoes", "Tops > Tees", "Shoes", ""],
        prices=np.array([10.0, 20.0, 30.0, 40.0, np.nan, 60.0]),
        in_stock=np.array([True, False, True, True, True, True]),
    )


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (Filters(), list("abcd")),
        (Filters(in_stock_only=True), list("acde")),
        (Filters(categories=("tops",)), list("abd")),
        (Filters(min_price=15, max_price=45), list("bcd")),  # e has no price
        (Filters(max_per_category=1), list("acf")),  # one of Tops, one of Shoes, one other
        (Filters(exclude=("a", "c")), list("bdef")),
        (Filters(pinned=("f", "b")), list("fbac")),
        (Filters(pinned=("b",), in_stock_only=True), list("acde")),  # a pin obeys the filters
        (Filters(boost={"e": 10.0}), list("eabc")),
    ],
)  # fmt: skip
def test_rules_shape_the_list(
    ranked: PopularRecommender, table: ItemTable, filters: Filters, expected: list[str]
) -> None:
    assert ranked.recommend("nobody", n=4, filters=filters, table=table).item_ids == expected


def test_popular_reasons_name_the_category(ranked: PopularRecommender, table: ItemTable) -> None:
    _, _, reasons = ranked.recommend("nobody", n=3, table=table)
    assert [r["category"] for r in reasons] == ["Tops", "Tops", "Shoes"]


def test_bad_rules_are_refused() -> None:
    with pytest.raises(ValueError, match="max_per_category"):
        Filters(max_per_category=0)
    with pytest.raises(ValueError, match="min_price 5 is above max_price 1"):
        Filters(min_price=5, max_price=1)
    with pytest.raises(ValueError, match="boost"):
        Filters(boost={"a": 0})


def test_als_folds_a_history_in_as_implicit_recalculates_a_user(data: Interactions) -> None:
    from implicit.cpu.als import AlternatingLeastSquares
    from threadpoolctl import threadpool_limits

    ours = MODELS["als"](factors=4, iterations=5, regularization=0.1, alpha=2.0, threads=1)
    ours.fit(data)
    with threadpool_limits(1, "blas"):
        theirs = AlternatingLeastSquares(factors=4, iterations=5, regularization=0.1, alpha=2.0,
                                         random_state=0, num_threads=1)  # fmt: skip
        theirs.fit(data.matrix(), show_progress=False)
    np.testing.assert_allclose(ours.item_vectors_, theirs.item_factors, rtol=1e-4, atol=1e-5)
    row = data.matrix()[3]
    folded = ours._query([np.asarray(row.indices)])[0]
    np.testing.assert_allclose(folded, theirs.recalculate_user(3, row), rtol=1e-3, atol=1e-4)


def test_pinned_items_say_they_are_featured(ranked: PopularRecommender, table: ItemTable) -> None:
    got = ranked.recommend("nobody", n=3, filters=Filters(pinned=("f",)), table=table)
    assert got.item_ids[0] == "f" and got.reasons[0]["kind"] == "featured"
    assert got.reasons[1]["kind"] == "popular"


def test_boosts_parse_or_name_the_bad_one() -> None:
    from shopmind.recommend.service import parse_boosts

    assert parse_boosts("P1:2, P:7:1.5 ,") == {"P1": 2.0, "P:7": 1.5}
    for bad in ("P1", "P1:0", "P1:x", ":2"):
        with pytest.raises(ValueError, match="PRODUCT_ID:FACTOR"):
            parse_boosts(bad)


def test_a_boost_reaches_items_the_index_did_not_return(data: Interactions) -> None:
    model = MODELS["als"](factors=3, iterations=10, threads=1).fit(data)
    plain = model.recommend(["a2"], n=20, filters=Filters(exclude_history=False))
    last = plain.item_ids[-1]
    boosted = model.recommend(["a2"], n=3, filters=Filters(boost={last: 1e6}))
    assert boosted.item_ids[0] == last
    pinned = model.recommend(["a2"], n=3, filters=Filters(pinned=(last,)))
    assert pinned.item_ids[0] == last and np.isfinite(pinned.scores[0])


def test_popular_falls_back_on_decayed_counts() -> None:
    rows = [(f"u{k}", "old", 0.0) for k in range(5)] + [(f"v{k}", "new", 100.0) for k in range(2)]
    model = PopularRecommender(half_life=10.0).fit(Interactions.from_rows(rows))
    assert model.recommend("nobody", n=2).item_ids == ["new", "old"]


def test_a_category_rule_matches_whole_path_parts(table: ItemTable) -> None:
    from shopmind.recommend.rules import allowed

    shoes = ItemTable(["a", "b"], ["A", "B"], ["Shoes > Boots", "Shoelaces"],
                      np.array([1.0, 1.0]), np.array([True, True]))  # fmt: skip
    assert allowed(shoes, Filters(categories=("shoes",))).tolist() == [True, False]
    assert allowed(shoes, Filters(categories=(" ",))).tolist() == [True, True]
    with pytest.raises(ValueError, match="finite"):
        Filters(boost={"a": float("inf")})


def test_the_index_path_gives_the_exact_top_items_and_reaches_boosted_ones() -> None:
    rng = np.random.default_rng(1)
    rows = [(f"u{u}", f"i{int(i)}", float(t)) for u in range(300)
            for t, i in enumerate(rng.integers(0, 3000, 6))]  # fmt: skip
    data = Interactions.from_rows(rows, items=[f"i{k}" for k in range(3000)])
    model = MODELS["als"](factors=8, iterations=3, threads=1).fit(data)
    history = ["i5", "i17", "i99"]
    got = model.recommend(history, n=10)
    assert model.index() is not None and len(model.index()) == 3000
    codes = [model._item_index[h] for h in history]
    scores = model.score([np.asarray(codes)])[0]
    scores[codes] = -np.inf
    expected = [model.items_[c] for c in np.argsort(-scores, kind="stable")[:10]]
    assert got.item_ids == expected
    worst = model.items_[int(np.argmin(np.where(np.isfinite(scores), scores, np.inf)))]
    assert model.recommend(history, n=3, filters=Filters(boost={worst: 1e6})).item_ids[0] == worst
    pinned = model.recommend(history, n=3, filters=Filters(pinned=(worst,)))
    assert pinned.item_ids[0] == worst and np.isfinite(pinned.scores[0])


def test_sasrec_reports_how_far_a_budget_let_a_run_go() -> None:
    """The refit serves only when it ran all the chosen epochs: a run the budget cuts
    short says how many it had."""
    torch.set_num_threads(1)
    model = MODELS["sasrec"](**FAST["sasrec"]).fit(walks())
    sequences = [np.asarray(s) for s in model.histories_]
    _, _, reached = model._train(sequences, 5, None, budget_s=0.0)
    assert reached == 1
    _, _, reached = model._train(sequences, 3, None, budget_s=None)
    assert reached == 3
