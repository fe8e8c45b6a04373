"""``shopmind recommend …``: training, serving and evaluating recommenders."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from shopmind.cli import app, console, err, fail, get_settings, open_store, progress_bar

recommend_app = typer.Typer(
    help="Recommendations: train models on the store, ask them, evaluate them.",
    no_args_is_help=True,
)
app.add_typer(recommend_app, name="recommend")

MODEL_HELP = "popular | itemknn | als | content | sasrec"


def _filters(
    in_stock: bool,
    category: list[str] | None,
    min_price: float | None,
    max_price: float | None,
    per_category: int | None,
    pin: list[str] | None = None,
    boost: list[str] | None = None,
) -> Any:
    from shopmind.recommend import Filters
    from shopmind.recommend.service import parse_boosts

    try:
        return Filters(in_stock_only=in_stock, categories=tuple(category or ()),
                       min_price=min_price, max_price=max_price,
                       max_per_category=per_category, pinned=tuple(pin or ()),
                       boost=parse_boosts(",".join(boost or ())))  # fmt: skip
    except ValueError as exc:
        raise fail(str(exc)) from exc


InStock = Annotated[bool, typer.Option("--in-stock", help="Only items in stock.")]
Category = Annotated[
    list[str] | None, typer.Option("--category", help="Only this category (repeatable).")
]
MinPrice = Annotated[float | None, typer.Option("--min-price", min=0, help="Lowest price.")]
MaxPrice = Annotated[float | None, typer.Option("--max-price", min=0, help="Highest price.")]
PerCategory = Annotated[
    int | None, typer.Option("--per-category", min=1, help="At most K items of one category.")
]
N = Annotated[int, typer.Option("-n", min=1, max=1000, help="How many items.")]
Pin = Annotated[
    list[str] | None, typer.Option("--pin", help="A product to show first (repeatable).")
]
Boost = Annotated[
    list[str] | None, typer.Option("--boost", help="PRODUCT_ID:FACTOR, a score × (repeatable).")
]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _service() -> Any:
    from shopmind.recommend.service import RecommendService

    settings = get_settings()
    from shopmind.models.device import set_threads

    set_threads(settings)
    return RecommendService.from_settings(settings, open_store())


def _show(result: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(result, ensure_ascii=False, indent=1))
        return
    if result.get("fallback"):
        err.print(f"note: {result['fallback']}", markup=False)
    if result.get("unknown"):
        err.print(f"ignored unknown ids: {', '.join(result['unknown'])}", markup=False)
    for i, item in enumerate(result["items"], start=1):
        console.print(f"{i:>3}. {item['item_id']:<20} {item['score']:>9.4f}  {item['title'][:50]}"
                      f"  — {item['reason_text']}", markup=False, highlight=False)  # fmt: skip


def _answer(call: Any) -> dict[str, Any]:
    from shopmind.recommend import RecommendError

    try:
        return call()
    except RecommendError as exc:
        raise fail(str(exc)) from exc


@recommend_app.command("train")
def recommend_train(
    model: Annotated[str, typer.Option("--model", help=MODEL_HELP)] = "sasrec",
    epochs: Annotated[
        int | None, typer.Option(min=1, max=1000, help="sasrec: most epochs.")
    ] = None,
    time_budget: Annotated[
        float | None, typer.Option("--time-budget", min=1, help="sasrec: stop after N s.")
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Train MODEL on the store's events and orders and publish it.

    Measures it first (each shopper's last item, full ranking: HR@10 and NDCG@10) and
    publishes it as model recommend/MODEL; with orders, recommend/bought-together too. A
    running server picks the new version up at its next request.
    """
    from shopmind.recommend import MODELS, RecommendError
    from shopmind.recommend.train import train

    if model not in MODELS:
        raise fail(f"unknown model {model!r}; models: {MODEL_HELP}")
    settings = get_settings()
    params: dict[str, Any] = {}
    if model in ("als", "sasrec"):
        params["threads"] = settings.threads
    if model == "sasrec":
        params |= {k: v for k, v in (("epochs", epochs), ("time_budget_s", time_budget))
                   if v is not None}  # fmt: skip
    store = open_store()
    with progress_bar(f"training {model}", total=None) as progress:
        try:
            metrics = train(store, settings.models_dir, model, params,
                            keep=settings.model_versions_keep,
                            progress=lambda row: progress(int(row["epoch"])))  # fmt: skip
        except (RecommendError, ValueError) as exc:
            raise fail(str(exc)) from exc
    if as_json:
        print(json.dumps(metrics, indent=1))
        return
    console.print(
        f"recommend/{model} {metrics['version']}: {metrics['users']} shoppers, "
        f"{metrics['items']} items; HR@10 {metrics.get('hr@10', 0):.4f}, "
        f"NDCG@10 {metrics.get('ndcg@10', 0):.4f} ({metrics['train_seconds']} s)",
        highlight=False,
    )


@recommend_app.command("user")
def recommend_user(
    user_id: Annotated[str, typer.Argument(help="A customer id or a browser's user id.")],
    n: N = 10,
    in_stock: InStock = False,
    category: Category = None,
    min_price: MinPrice = None,
    max_price: MaxPrice = None,
    per_category: PerCategory = None,
    pin: Pin = None,
    boost: Boost = None,
    as_json: AsJson = False,
) -> None:
    """What USER_ID is most likely to want next (their latest history from the store)."""
    rules = _filters(in_stock, category, min_price, max_price, per_category, pin, boost)
    service = _service()
    _show(_answer(lambda: service.for_user(user_id, n, rules)), as_json)


@recommend_app.command("session")
def recommend_session(
    item_ids: Annotated[list[str], typer.Argument(help="The items clicked, oldest first.")],
    n: N = 10,
    in_stock: InStock = False,
    category: Category = None,
    min_price: MinPrice = None,
    max_price: MaxPrice = None,
    per_category: PerCategory = None,
    pin: Pin = None,
    boost: Boost = None,
    as_json: AsJson = False,
) -> None:
    """What comes next after an anonymous session's ITEM_IDS (unknown ids are ignored)."""
    rules = _filters(in_stock, category, min_price, max_price, per_category, pin, boost)
    service = _service()
    _show(_answer(lambda: service.for_session(item_ids, n, rules)), as_json)


@recommend_app.command("similar")
def recommend_similar(
    item_id: Annotated[str, typer.Argument(help="A product's id.")],
    n: N = 10,
    together: Annotated[
        bool, typer.Option("--together", help="Bought together (orders) instead.")
    ] = False,
    in_stock: InStock = False,
    category: Category = None,
    min_price: MinPrice = None,
    max_price: MaxPrice = None,
    per_category: PerCategory = None,
    pin: Pin = None,
    boost: Boost = None,
    as_json: AsJson = False,
) -> None:
    """Items to show beside ITEM_ID: similar ones, or with --together bought together."""
    rules = _filters(in_stock, category, min_price, max_price, per_category, pin, boost)
    service = _service()
    call = service.bought_together if together else service.similar
    _show(_answer(lambda: call(item_id, n, rules)), as_json)


@recommend_app.command("evaluate")
def recommend_evaluate(
    sequences: Annotated[
        Path, typer.Option("--sequences", help="One user a line: 'user item1 item2 …'.")
    ],
    model: Annotated[str, typer.Option("--model", help=MODEL_HELP)] = "sasrec",
    params: Annotated[
        str | None, typer.Option("--params", help='Model settings as JSON: {"hidden": 64}.')
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Train MODEL on a sequence file and measure it (leave-one-out, full ranking).

    Each user's last item is the test target and the second-last the validation target;
    validation is scored by a fit without the last two items, test by a fit on everything
    before the last (sasrec chooses its epochs by validation, then refits); the user's
    earlier items are left out of the ranking. Prints {"model", "users", "items", "hr@10",
    "ndcg@10", "train_seconds"}.
    """
    from shopmind.models.device import set_threads
    from shopmind.recommend import MODELS, Interactions, InteractionsError, read_sequences
    from shopmind.recommend.train import fit_and_measure

    if model not in MODELS:
        raise fail(f"unknown model {model!r}; models: {MODEL_HELP}")
    try:
        extra = json.loads(params) if params else {}
    except json.JSONDecodeError as exc:
        raise fail(f"--params is not JSON: {exc}") from exc
    if not isinstance(extra, dict):
        raise fail("--params must be a JSON object")
    set_threads(get_settings() if _has_workspace() else 2)
    try:
        data = Interactions.from_sequences(read_sequences(sequences))
    except InteractionsError as exc:
        raise fail(str(exc)) from exc
    with progress_bar(f"training {model}", total=None) as progress:
        try:
            _, metrics = fit_and_measure(
                model, data, extra, refit=False, progress=lambda row: progress(int(row["epoch"]))
            )
        except TypeError as exc:
            raise fail(f"--params: {exc}") from exc
        except ValueError as exc:
            raise fail(str(exc)) from exc
    keys = ("model", "users", "items", "hr@10", "ndcg@10", "train_seconds")
    out = {k: metrics.get(k) for k in keys} | {
        k: v for k, v in metrics.items() if k not in keys and k != "interactions"
    }
    if as_json:
        print(json.dumps(out, indent=1))
        return
    console.print(
        f"{model}: {out['users']} users, {out['items']} items; HR@10 {out['hr@10']:.4f}, "
        f"NDCG@10 {out['ndcg@10']:.4f}; trained in {out['train_seconds']} s",
        highlight=False,
    )


def _has_workspace() -> bool:
    from shopmind.cli import state

    return (Path(state.workspace) / "shopmind.toml").is_file()


widget_app = typer.Typer(
    help="The storefront widget: publishable keys, the snippet, what placements bring.",
    no_args_is_help=True,
)
app.add_typer(widget_app, name="widget")


@widget_app.command("key-create")
def widget_key_create(
    name: Annotated[str, typer.Option("--name", help="A label: the shop or theme.")],
    origin: Annotated[
        list[str], typer.Option("--origin", help="An allowed origin: https://shop.example.com")
    ],
) -> None:
    """Create a publishable key for the widget, limited to the given origins.

    The key is public by design (it sits in the shop's pages): it opens only the widget's
    read-only routes, from those origins, under a per-client rate limit.
    """
    from shopmind.store.publishable import PublishableKeyError, create_publishable_key

    try:
        info = create_publishable_key(open_store(), name, origin)
    except PublishableKeyError as exc:
        raise fail(str(exc)) from exc
    console.print(info.key, markup=False, highlight=False)
    err.print(f"allowed origins: {', '.join(info.allowed_origins)}", markup=False)
    err.print(
        f"signing secret (keep it on the shop's server; it signs customer ids as "
        f"data-user-signature = HMAC-SHA256 hex): {info.signing_secret}",
        markup=False,
    )


@widget_app.command("keys")
def widget_keys(as_json: AsJson = False) -> None:
    """List the publishable keys."""
    from shopmind.store.publishable import list_publishable_keys

    keys = list_publishable_keys(open_store())
    if as_json:
        print(json.dumps([k.as_dict() for k in keys], indent=1))
        return
    for k in keys:
        state = "revoked" if k.revoked_at else "live"
        console.print(f"{k.id:>4} {state:<8} {k.name:<24} {k.key}  {', '.join(k.allowed_origins)}",
                      markup=False, highlight=False)  # fmt: skip


@widget_app.command("key-revoke")
def widget_key_revoke(
    key_id: Annotated[int, typer.Argument(help="The key's id (widget keys).")],
) -> None:
    """Revoke a publishable key (widgets using it stop within 30 seconds)."""
    from shopmind.store.publishable import revoke_publishable_key

    if not revoke_publishable_key(open_store(), key_id):
        raise fail(f"no live publishable key with id {key_id}")
    console.print(f"revoked publishable key {key_id}")


@widget_app.command("snippet")
def widget_snippet(
    key: Annotated[str, typer.Option("--key", help="A publishable key (pk_…).")],
    server: Annotated[
        str, typer.Option("--server", help="Where shopmind is reached from the shop's pages.")
    ],
    placement: Annotated[str, typer.Option(help="for_you | similar | together")] = "for_you",
    n: Annotated[int, typer.Option("-n", min=1, max=24)] = 4,
) -> None:
    """Print the script tag to paste into the shop's theme."""
    from html import escape

    if placement not in ("for_you", "similar", "together"):
        raise fail("--placement must be for_you, similar or together")
    item = "" if placement == "for_you" else ' data-item="PRODUCT_ID"'
    print(f'<script async src="{escape(server.rstrip("/"))}/widget.js" data-key="{escape(key)}" '
          f'data-placement="{placement}"{item} data-n="{n}" '
          'data-product-url="/products/{id}"></script>')  # fmt: skip


@widget_app.command("stats")
def widget_stats(
    days: Annotated[int, typer.Option(min=1, max=3650, help="The last N days.")] = 30,
    as_json: AsJson = False,
) -> None:
    """Impressions, clicks, click-through and attributed revenue per placement."""
    from datetime import UTC, datetime, timedelta

    from shopmind.store.placements import placement_stats

    since = datetime.now(UTC).replace(tzinfo=None) - timedelta(days=days)
    rows = placement_stats(open_store(), since=since)
    if as_json:
        print(json.dumps(rows, indent=1))
        return
    if not rows:
        console.print("no widget impressions or clicks recorded yet")
    for r in rows:
        ctr = f"{r['ctr']:.1%}" if r["ctr"] is not None else "—"
        console.print(f"{r['placement']:<12} {r['impressions']:>8} shown {r['clicks']:>6} clicks "
                      f"{ctr:>6}  {r['orders']:>4} orders {r['revenue']:>10.2f}",
                      markup=False, highlight=False)  # fmt: skip
