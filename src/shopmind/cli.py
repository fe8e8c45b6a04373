"""The ``shopmind`` command line: thin wrappers over the library."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from sqlalchemy import make_url
from sqlalchemy.exc import OperationalError

from shopmind import __version__
from shopmind.config import Settings, SettingsError, init_workspace, load_settings
from shopmind.store import Store

app = typer.Typer(
    help="shopmind — a self-hosted AI growth engine for online stores.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
app.add_typer(db_app, name="db")

console = Console()
err = Console(stderr=True)


class State:
    workspace: Path = Path(".")


state = State()


def _version(value: bool) -> None:
    if value:
        console.print(f"shopmind {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    workspace: Annotated[
        Path,
        typer.Option(
            "--workspace",
            "-w",
            envvar="SHOPMIND_WORKSPACE",
            help="Workspace folder (shopmind.toml, database, models).",
        ),
    ] = Path("."),
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show version.")
    ] = False,
) -> None:
    state.workspace = workspace


def get_settings() -> Settings:
    try:
        return load_settings(state.workspace)
    except SettingsError as exc:
        raise fail(str(exc)) from exc


def open_store(upgrade: bool = True, create: bool = False) -> Store:
    """The workspace's store, migrated to the latest schema.

    Only commands that bring data in (``create=True``) make a missing workspace folder;
    the others refuse, so a mistyped ``--workspace`` never yields an empty new store.
    """
    if not state.workspace.is_dir():
        if create:
            init_workspace(state.workspace)
            err.print(f"created workspace {state.workspace}")
        elif not os.environ.get("SHOPMIND_DATABASE_URL"):
            raise fail(
                f"no workspace at {state.workspace} "
                f"(create it with: shopmind --workspace {state.workspace} init)"
            )
    settings = get_settings()
    store = Store.from_settings(settings)
    try:
        if upgrade:
            store.upgrade()
        else:
            store.current_revision()
    except OperationalError as exc:
        url = make_url(settings.resolved_database_url).render_as_string(hide_password=True)
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise fail(f"cannot open the database {url}: {reason}") from exc
    return store


def fail(message: str, code: int = 1) -> typer.Exit:
    # Messages quote user input (keys, paths): escaped, so "[/]" in it is text, not markup.
    err.print(f"[red]error:[/red] {escape(message)}", highlight=False)
    return typer.Exit(code)


@contextmanager
def progress_bar(label: str, total: int | None = None) -> Iterator[Callable[[int], None]]:
    """A transient progress bar on stderr; yields the ``progress(done)`` callback."""
    from rich.progress import Progress

    with Progress(console=err, transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda done: bar.update(task, completed=done)


@app.command()
def init() -> None:
    """Create the workspace: shopmind.toml, models/ and the database."""
    path = init_workspace(state.workspace)
    store = open_store(create=True)
    console.print(f"workspace ready: {path.parent.resolve()} ({store.dialect})")


@db_app.command("upgrade")
def db_upgrade(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
) -> None:
    """Apply database migrations (up to REVISION, default head)."""
    from shopmind.store.daily import needs_rebuild

    store = open_store(upgrade=False)
    store.upgrade(revision)
    console.print(f"database at revision {store.current_revision()}")
    if store.is_current() and needs_rebuild(store):
        err.print(
            "the dashboard's daily aggregates are empty while the store holds events or "
            "orders: fill them with `shopmind db rebuild-aggregates`"
        )


@db_app.command("rebuild-aggregates")
def db_rebuild_aggregates() -> None:
    """Recompute the dashboard's daily aggregates from the stored events and orders.

    Needed once for a store filled before the aggregates existed; imports, the simulator
    and the API keep them up to date after that. Other writers wait while it runs.
    """
    from shopmind.store.daily import rebuild_daily

    store = open_store()
    with progress_bar("counting events", total=store.stats()["events"]) as progress:
        counts = rebuild_daily(store, progress=progress)
    console.print(", ".join(f"{n:,} {table}" for table, n in counts.items()))


@app.command()
def stats(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Row counts of the store's main tables."""
    counts = open_store().stats()
    if as_json:
        print(json.dumps(counts))
        return
    for name, n in counts.items():
        console.print(f"{name:>10}  {n:,}")


IMPORT_KINDS = [
    "shopify-products",
    "shopify-orders",
    "woocommerce-products",
    "events",
    "orders",
    "reviews",
    "pages",
    "ad-spend",
]
RawOption = typer.Option(
    "--raw",
    help="Write CSV cells exactly as read, even those a spreadsheet would run as a "
    "formula (by default they get a ' in front).",
)


def _parse_mapping(items: list[str]) -> dict[str, str]:
    mapping = {}
    for item in items:
        field, sep, column = item.partition("=")
        if not sep or not field.strip() or not column.strip():
            raise fail(f"--map expects FIELD=COLUMN, got {item!r}")
        mapping[field.strip()] = column.strip()
    return mapping


@app.command("import")
def import_(
    kind: Annotated[str, typer.Argument(help="One of: " + ", ".join(IMPORT_KINDS))],
    path: Annotated[Path, typer.Argument(help="File (or, for pages, a folder) to import.")],
    skip_bad_rows: Annotated[
        bool,
        typer.Option(help="Import the good rows; write rejected rows and reasons to a file."),
    ] = False,
    reject_file: Annotated[
        Path | None, typer.Option(help="Where rejected rows go (default: FILE.rejects.csv).")
    ] = None,
    map_: Annotated[
        list[str],
        typer.Option("--map", help="Column mapping FIELD=COLUMN (repeatable)."),
    ] = [],  # noqa: B006
    raw: Annotated[bool, RawOption] = False,
) -> None:
    """Import a store export; re-importing updates rows by natural key."""
    if kind not in IMPORT_KINDS:
        raise fail(f"unknown import kind {kind!r}; choose one of: {', '.join(IMPORT_KINDS)}")
    mapping = _parse_mapping(map_)
    from shopmind.store.importers import ImportFileError, import_file

    settings = get_settings()
    store = open_store(create=True)
    with progress_bar(f"importing {path.name}") as progress:
        try:
            result = import_file(
                store,
                kind,
                path,
                skip_bad_rows=skip_bad_rows,
                reject_file=reject_file,
                mapping=mapping,
                currency=settings.currency,
                batch_size=settings.batch_size,
                progress=progress,
                raw=raw,
            )
        except ImportFileError as exc:
            raise fail(str(exc)) from exc
        finally:
            store.dispose()
    console.print(result.summary())


@app.command()
def simulate(
    customers: Annotated[int, typer.Option(min=1, help="Shoppers to simulate.")] = 1000,
    days: Annotated[int, typer.Option(min=1, help="Days of trading.")] = 30,
    products: Annotated[int, typer.Option(min=1, help="Catalog size.")] = 200,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same store).")] = 0,
) -> None:
    """Simulate a realistic store; writes its ground truth to simulation_truth.json."""
    from shopmind.simulate import SimulationConfig, SimulationError
    from shopmind.simulate import simulate as run_simulation

    try:
        config = SimulationConfig(customers=customers, days=days, products=products, seed=seed)
    except ValueError as exc:
        raise fail(str(exc)) from exc
    store = open_store(create=True)
    with progress_bar("simulating", total=days) as progress:
        try:
            result = run_simulation(
                store,
                config,
                truth_path=state.workspace / "simulation_truth.json",
                progress=progress,
            )
        except SimulationError as exc:
            raise fail(str(exc)) from exc
    console.print(result.summary())


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
) -> None:
    """Serve the dashboard (/) and the REST API (/v1; OpenAPI docs at /docs)."""
    from shopmind.api.server import run_server
    from shopmind.store.users import list_users

    settings = get_settings()
    store = open_store()
    nobody = not list_users(store)
    store.dispose()
    where = host or settings.api_host
    shown = "127.0.0.1" if where in ("0.0.0.0", "::") else where
    err.print(f"dashboard: http://{shown}:{port or settings.api_port}/   API: /v1   docs: /docs")
    if nobody:
        err.print("no dashboard users yet: shopmind users add you@yourshop.com --role admin")
    run_server(settings, where, port or settings.api_port, workers=workers)


config_app = typer.Typer(
    help="Workspace settings: shopmind.toml, overridden by SHOPMIND_* variables.",
    no_args_is_help=True,
)
app.add_typer(config_app, name="config")


@config_app.command("show")
def config_show(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Every setting, its value and where it comes from: environment, file or default."""
    from shopmind.config import SECRET_SETTINGS, describe_settings, shown_value

    try:
        infos = describe_settings(state.workspace)
    except SettingsError as exc:
        raise fail(str(exc)) from exc
    if as_json:
        rows = [
            {"name": i.name, "source": i.source, "env": i.env, "restart": i.restart,
             "value": shown_value(i.name, i.value) if i.name in SECRET_SETTINGS else i.value}
            for i in infos
        ]  # fmt: skip
        print(json.dumps(rows, ensure_ascii=False, indent=1))
        return
    from rich.table import Table

    table = Table(title=f"Settings of {escape(str(state.workspace))}")
    for column in ("setting", "value", "from"):
        table.add_column(column, no_wrap=column != "value")
    for i in infos:
        where = i.env if i.source == "environment" else i.source
        table.add_row(i.name, escape(_setting_text(i.name, i.value)), where)
    console.print(table)


def _setting_text(name: str, value: object) -> str:
    from shopmind.config import shown_value

    text = shown_value(name, value)
    return "(empty: shopmind.db in the workspace)" if name == "database_url" and not text else text


@config_app.command("set")
def config_set(
    key: Annotated[str, typer.Argument(help="The setting (see: shopmind config show).")],
    value: Annotated[str, typer.Argument(help="Its new value, checked before it is written.")],
) -> None:
    """Set KEY to VALUE in shopmind.toml; nothing is written when it is refused."""
    _change_setting(key, value)


@config_app.command("unset")
def config_unset(
    key: Annotated[str, typer.Argument(help="The setting to remove from shopmind.toml.")],
) -> None:
    """Remove KEY from shopmind.toml, so its default applies."""
    _change_setting(key, None)


def _change_setting(key: str, value: str | None) -> None:
    from shopmind.config import update_settings

    try:
        settings = update_settings(state.workspace, {key: value})
    except SettingsError as exc:
        raise fail(str(exc)) from exc
    shown = escape(_setting_text(key, getattr(settings, key)))
    done = "=" if value is not None else "removed from the file; its default:"
    console.print(f"{key} {done} {shown}", highlight=False)
    err.print(
        f"written to {escape(str(settings.config_path))}; commands use it from now on, "
        "a running server from its next start",
        highlight=False,
    )


apikey_app = typer.Typer(help="API keys for the REST API.", no_args_is_help=True)
app.add_typer(apikey_app, name="apikey")


@apikey_app.command("create")
def apikey_create(
    name: Annotated[str, typer.Option(help="A label for the key.")] = "default",
) -> None:
    """Create an API key; it is shown once and stored only as a hash."""
    from shopmind.store.apikeys import create_api_key

    print(create_api_key(open_store(), name))


@apikey_app.command("list")
def apikey_list() -> None:
    """List API keys (prefix, name, dates); secrets are never shown."""
    from shopmind.store.apikeys import list_api_keys

    for key in list_api_keys(open_store()):
        print("\t".join(f"{k}={v}" for k, v in key.items()))


@apikey_app.command("revoke")
def apikey_revoke(
    prefix: Annotated[str, typer.Argument(help="The key's prefix (or the whole key).")],
) -> None:
    """Revoke an API key; requests with it are refused from then on."""
    from shopmind.store.apikeys import public_part, revoke_api_key

    shown = public_part(prefix)  # never echo the secret when given the whole key
    if shown is None:
        raise fail("not an API key or a key prefix (12 hex digits); not shown, it may be secret")
    if not revoke_api_key(open_store(), prefix):
        raise fail(f"no active API key with prefix {shown!r}")
    print(f"revoked {shown}")


reviews_app = typer.Typer(
    help="Review intelligence: sentiment, aspects, insights.", no_args_is_help=True
)
app.add_typer(reviews_app, name="reviews")

ModelOption = Annotated[
    str | None,
    typer.Option("--model", help="lexicon | linear | transformer (default: best trained)."),
]


def _review_model(tier: str | None) -> object:
    from shopmind.reviews.service import ReviewsError, best_model, load_model

    models = get_settings().models_dir
    try:
        return best_model(models) if tier is None else load_model(models, tier)
    except ReviewsError as exc:
        raise fail(str(exc)) from exc


TimeBudget = Annotated[
    float | None, typer.Option("--time-budget", min=1, help="Seconds of training at most.")
]


def _aspects() -> object:
    """The workspace's aspect list (``aspects.toml`` extends the defaults)."""
    from shopmind.reviews.service import ReviewsError, aspect_config

    try:
        return aspect_config(state.workspace)
    except ReviewsError as exc:
        raise fail(str(exc)) from exc


@reviews_app.command("train")
def reviews_train(
    model: Annotated[str, typer.Option("--model", help="linear | transformer.")] = "linear",
    time_budget: TimeBudget = None,
    epochs: Annotated[int | None, typer.Option(min=1, help="Transformer epochs.")] = None,
    max_examples: Annotated[
        int | None, typer.Option(min=10, help="Transformer: train on at most this many reviews.")
    ] = None,
) -> None:
    """Train a sentiment model on the store's starred reviews."""
    from shopmind.reviews.service import ReviewsError, train

    if model not in ("linear", "transformer"):
        raise fail(f"--model must be linear or transformer, not {model!r}")
    params: dict[str, object] = {}
    if model == "transformer":
        params["threads"] = get_settings().threads
        for key, value in (
            ("time_budget_s", time_budget),
            ("epochs", epochs),
            ("max_train_examples", max_examples),
        ):
            if value is not None:
                params[key] = value
    store = open_store()
    settings = get_settings()
    params["keep"] = settings.model_versions_keep
    label = "training (steps)" if model == "transformer" else "training"
    with progress_bar(label) as progress:
        try:
            report = train(store, settings.models_dir, model, progress=progress, **params)
        except ReviewsError as exc:
            raise fail(str(exc)) from exc
    console.print(report.summary())


@reviews_app.command("pretrain")
def reviews_pretrain(time_budget: TimeBudget = None) -> None:
    """Domain-pretrain the transformer (MLM + NSP) on the store's review and product text."""
    from shopmind.reviews.service import ReviewsError, pretrain

    store = open_store()
    settings = get_settings()
    params: dict[str, object] = {"keep": settings.model_versions_keep}
    if time_budget is not None:
        params["time_budget_s"] = time_budget
    with progress_bar("pretraining (steps)") as progress:
        try:
            folder = pretrain(store, settings.models_dir, progress=progress, **params)
        except ReviewsError as exc:
            raise fail(str(exc)) from exc
    console.print(
        f"pretrained model saved to {folder}; `reviews train --model transformer` uses it"
    )


@reviews_app.command("analyze")
def reviews_analyze(model: ModelOption = None) -> None:
    """Score every review; store sentiment, aspects and per-product insights."""
    from shopmind.reviews.service import analyze

    sentiment = _review_model(model)
    aspects = _aspects()
    store = open_store()
    total = store.stats()["reviews"]
    with progress_bar("scoring reviews", total=total) as progress:
        report = analyze(store, sentiment, progress=progress, aspects=aspects)
    console.print(report.summary())
    for alert in report.alerts[:10]:
        console.print(f"[yellow]alert[/yellow] product {alert['product_id']}: {alert['reason']}")


@reviews_app.command("score")
def reviews_score(
    input_path: Annotated[Path, typer.Option("--input", help="CSV file to score.")],
    text_column: Annotated[str, typer.Option(help="Column holding the review text.")],
    output: Annotated[Path, typer.Option(help="Where to write the scored CSV.")],
    model: ModelOption = None,
    raw: Annotated[bool, RawOption] = False,
) -> None:
    """Score any CSV file: adds label, score and aspects columns."""
    from shopmind.reviews.service import ReviewsError, score_file

    sentiment = _review_model(model)
    aspects = _aspects()
    with progress_bar(f"scoring {input_path.name}") as progress:
        try:
            n = score_file(
                sentiment,
                input_path,
                text_column,
                output,
                progress=progress,
                aspects=aspects,
                raw=raw,
            )
        except ReviewsError as exc:
            raise fail(str(exc)) from exc
    console.print(f"scored {n:,} rows → {output}")


def _product_key(value: str | None) -> str | None:
    """Check a PRODUCT argument with the store's key parser (exit 2 naming the argument)."""
    from shopmind.store.keys import ProductKeyError, parse_product_key

    if value is None:  # shell completion parses without values
        return value
    try:
        parse_product_key(value)
    except ProductKeyError as exc:
        raise typer.BadParameter(str(exc)) from exc
    return value


@reviews_app.command("insights")
def reviews_insights(
    product: Annotated[
        str,
        typer.Argument(help="Product id or external id (handle, SKU key).", callback=_product_key),
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """A product's review insights: shares, trend, pros and cons, alerts."""
    from shopmind.reviews.service import ReviewsError, insights

    try:
        data = insights(open_store(), product)
    except ReviewsError as exc:
        raise fail(str(exc)) from exc
    if as_json:
        print(json.dumps(data, default=str, ensure_ascii=False, indent=1))
        return
    from shopmind.reviews.report import render_insights

    render_insights(data, console)


models_app = typer.Typer(
    help="Model versions in the workspace: list, roll back, prune.", no_args_is_help=True
)
app.add_typer(models_app, name="models")


@models_app.command("list")
def models_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Every model: its versions, which one is current, when made, size and metrics."""
    from dataclasses import asdict

    from shopmind.models.listing import list_models

    entries = list_models(get_settings().models_dir)
    if as_json:
        print(json.dumps([asdict(e) for e in entries], ensure_ascii=False, indent=1))
        return
    if not entries:
        console.print(f"no models in {get_settings().models_dir}")
        return
    from shopmind.models.report import render_models

    render_models(entries, console)


@models_app.command("rollback")
def models_rollback(
    name: Annotated[str, typer.Argument(help="Model name, e.g. reviews/linear.")],
    to: Annotated[
        str | None, typer.Option("--to", help="Version to make current (default: previous).")
    ] = None,
) -> None:
    """Make the previous (or a named) complete version current again.

    With --to the old pointer is not read, so this also repairs a damaged one.
    """
    from shopmind.models.registry import RegistryError
    from shopmind.reviews.service import open_registry

    try:
        version = open_registry(get_settings().models_dir, name).rollback(to)
    except RegistryError as exc:
        raise fail(str(exc)) from exc
    console.print(f"{name}: current version is now {version.id} ({version.created_at})")


@models_app.command("prune")
def models_prune(
    name: Annotated[
        str | None, typer.Argument(help="Model name, e.g. reviews/linear (default: all).")
    ] = None,
    keep: Annotated[
        int | None,
        typer.Option(min=1, help="Versions to keep per model (default: model_versions_keep)."),
    ] = None,
    legacy: Annotated[
        bool,
        typer.Option(
            "--legacy",
            help="Also old-layout files: adopt a complete model, delete incomplete ones "
            "and any beside a complete current version.",
        ),
    ] = False,
) -> None:
    """Remove old versions and leftovers of killed trainings; the current one always stays."""
    from shopmind.models.listing import list_models
    from shopmind.models.registry import RegistryError
    from shopmind.models.report import prune_lines
    from shopmind.reviews.service import open_registry

    settings = get_settings()
    names = [name] if name else [e.name for e in list_models(settings.models_dir)]
    error = None
    for each in names:
        try:
            registry = open_registry(settings.models_dir, each)
            report = registry.prune(keep or settings.model_versions_keep, legacy=legacy)
        except RegistryError as exc:
            error = fail(str(exc))  # printed now; the other models are still pruned
            continue
        for line in prune_lines(each, report):
            console.print(line, markup=False, highlight=False)
    if error is not None:
        raise error


users_app = typer.Typer(help="Dashboard accounts: who can log in to the browser UI.",
                        no_args_is_help=True)  # fmt: skip
app.add_typer(users_app, name="users")

PasswordStdin = Annotated[
    bool,
    typer.Option(
        "--password-stdin",
        help="Read the password from the first line of standard input instead of prompting.",
    ),
]


def _new_password(from_stdin: bool) -> str:
    """A new password: the first line of standard input, or typed twice without echo."""
    if from_stdin:
        return sys.stdin.readline().removesuffix("\n").removesuffix("\r")
    first = typer.prompt("Password", hide_input=True, err=True)
    if typer.prompt("Repeat the password", hide_input=True, err=True) != first:
        raise fail("the two passwords differ; nothing was changed")
    return first


@users_app.command("add")
def users_add(
    email: Annotated[str, typer.Argument(help="The account's e-mail (its log-in name).")],
    role: Annotated[str, typer.Option("--role", help="admin (may change things) or viewer.")],
    password_stdin: PasswordStdin = False,
) -> None:
    """Create a dashboard account; the password is prompted for (hidden) or read from stdin."""
    from shopmind.store.users import UserError, add_user, check_role, normalize_email

    try:
        email = normalize_email(email)
        check_role(role)
    except UserError as exc:
        raise fail(str(exc)) from exc
    password = _new_password(password_stdin)
    try:
        user = add_user(open_store(), email, password, role)
    except UserError as exc:
        raise fail(str(exc)) from exc
    console.print(f"added {escape(user.email)} ({user.role})", highlight=False)


@users_app.command("list")
def users_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Dashboard accounts: e-mail, role, created, last log-in, locked until."""
    from shopmind.store.users import list_users

    users = list_users(open_store())
    if as_json:
        print(json.dumps([u.to_dict() for u in users], ensure_ascii=False, indent=1))
        return
    if not users:
        console.print("no accounts yet (add one with: shopmind users add EMAIL --role admin)")
        return
    from rich.table import Table

    def when(value: datetime | None) -> str:
        return "" if value is None else value.strftime("%Y-%m-%d %H:%M:%S")

    table = Table(title="Accounts (times in UTC)")
    for column in ("email", "role", "created", "last log-in", "locked until"):
        table.add_column(column, no_wrap=column != "email")
    for u in users:
        table.add_row(
            escape(u.email), u.role, when(u.created_at), when(u.last_login_at), when(u.locked_until)
        )
    console.print(table)


@users_app.command("remove")
def users_remove(
    email: Annotated[str, typer.Argument(help="The account's e-mail.")],
) -> None:
    """Delete a dashboard account and end its sessions; the last admin cannot be removed."""
    from shopmind.store.users import UserError, remove_user

    try:
        remove_user(open_store(), email)
    except UserError as exc:
        raise fail(str(exc)) from exc
    console.print(f"removed {escape(email.strip().lower())}", highlight=False)


@users_app.command("set-password")
def users_set_password(
    email: Annotated[str, typer.Argument(help="The account's e-mail.")],
    password_stdin: PasswordStdin = False,
) -> None:
    """Give an account a new password; ends its sessions and lifts a lock-out."""
    from shopmind.store.users import UserError, get_user, set_password

    store = open_store()
    if get_user(store, email) is None:  # before asking for a password that cannot be used
        raise fail(f"email: no account with e-mail {email.strip().lower()!r}")
    try:
        set_password(store, email, _new_password(password_stdin))
    except UserError as exc:
        raise fail(str(exc)) from exc
    console.print(f"password changed for {escape(email.strip().lower())}", highlight=False)


jobs_app = typer.Typer(help="Background jobs (run by the server; shown in the dashboard).",
                       no_args_is_help=True)  # fmt: skip
app.add_typer(jobs_app, name="jobs")


@jobs_app.command("list")
def jobs_list(
    limit: Annotated[int, typer.Option(min=1, max=10000, help="Newest N jobs.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Recent jobs, newest first: kind, status, progress, who started it."""

    from shopmind.jobs import recent_jobs

    store = open_store()
    jobs = recent_jobs(store, get_settings(), limit=limit)
    if as_json:
        print(json.dumps([j.to_dict() for j in jobs], ensure_ascii=False, indent=1))
        return
    if not jobs:
        console.print("no jobs yet")
        return
    from rich.table import Table

    table = Table(title="Jobs")
    for column in ("id", "kind", "status", "progress", "started by", "created (UTC)"):
        table.add_column(column, no_wrap=column != "kind")
    for j in jobs:
        shown = f"{j.progress_done:,}" + (f" / {j.progress_total:,}" if j.progress_total else "")
        table.add_row(
            str(j.id),
            escape(j.kind),
            j.status,
            shown,
            escape(j.created_by),
            j.created_at.strftime("%Y-%m-%d %H:%M"),
        )
    console.print(table)


@jobs_app.command("show")
def jobs_show(job_id: Annotated[int, typer.Argument(min=1, help="Job id.")]) -> None:
    """One job: parameters, progress, and its summary or error."""
    from shopmind.jobs import job_view
    from shopmind.store import jobs as jobstore

    store = open_store()
    try:
        job = job_view(store, get_settings(), job_id)
    except jobstore.JobNotFound as exc:
        raise fail(str(exc)) from exc
    print(json.dumps(job.to_dict(), ensure_ascii=False, indent=1))


llm_app = typer.Typer(
    help="Language models: try the configured backend (llm_backend, llm_model).",
    no_args_is_help=True,
)
app.add_typer(llm_app, name="llm")


@llm_app.command("generate")
def llm_generate(
    prompt: Annotated[str, typer.Argument(help="The user's message.")],
    system: Annotated[str | None, typer.Option("--system", help="A system message.")] = None,
    n: Annotated[int, typer.Option("-n", min=1, max=64, help="Variants (one batch).")] = 1,
    max_tokens: Annotated[int, typer.Option(min=1, help="Tokens per variant at most.")] = 128,
    temperature: Annotated[float, typer.Option(min=0, max=2, help="0: greedy.")] = 0.7,
    seed: Annotated[int | None, typer.Option(min=0, help="Seed for reproducible sampling.")] = None,
    stop: Annotated[
        list[str] | None, typer.Option("--stop", help="Stop string (repeatable).")
    ] = None,
    stream: Annotated[
        bool, typer.Option("--stream", help="Print one variant as it comes.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Generate N variants of the assistant's reply to PROMPT with the configured backend."""
    from dataclasses import asdict

    from shopmind.models.llm import LLMError, load_language_model

    messages = ([{"role": "system", "content": system}] if system else []) + [
        {"role": "user", "content": prompt}
    ]
    try:
        lm = load_language_model(get_settings())
        if stream and not as_json:
            for chunk in lm.stream(messages, max_tokens, temperature, stop, seed):
                print(chunk.text, end="", flush=True)
            print()
            return
        candidates = lm.generate(messages, n, max_tokens, temperature, stop, seed)
    except LLMError as exc:
        raise fail(str(exc)) from exc
    if as_json:
        out = {"backend": lm.name, "model": lm.model_id,
               "candidates": [asdict(c) for c in candidates]}  # fmt: skip
        print(json.dumps(out, ensure_ascii=False, indent=1))
        return
    for i, c in enumerate(candidates):
        if n > 1:
            err.print(f"--- {i + 1} ({c.finish_reason}, {c.completion_tokens} tokens)")
        print(c.text)


content_app = typer.Typer(
    help="Content studio: marketing copy that fits each channel and states only true facts.",
    no_args_is_help=True,
)
app.add_typer(content_app, name="content")


@content_app.command("generate")
def content_generate(
    task: Annotated[str, typer.Option("--task", help="seo, google-ads, product-description …")],
    product: Annotated[
        str | None, typer.Option("--product", help="A stored product: external id or #<id>.")
    ] = None,
    products: Annotated[
        Path | None, typer.Option("--products", help="A JSON Lines file of products.")
    ] = None,
    every: Annotated[
        bool, typer.Option("--all", help="Every active product in the store.")
    ] = False,
    n: Annotated[int, typer.Option("-n", min=1, max=8, help="Variants per product.")] = 3,
    language: Annotated[
        str, typer.Option("--language", help="auto (the product's own) | en | zh")
    ] = "auto",
    seed: Annotated[int | None, typer.Option(min=0, help="Seed for reproducible sampling.")] = None,
    redo: Annotated[
        bool, typer.Option("--redo", help="With --all: also products done the same way.")
    ] = False,
    save: Annotated[bool, typer.Option("--save/--no-save", help="Store drafts.")] = True,
    writer: Annotated[
        str,
        typer.Option(
            help="model: the language model, topped up by the facts writer; "
            "rules: the facts writer alone (no model, fast)."
        ),
    ] = "model",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Write TASK's copy for one product, a file of products or the whole catalogue.

    Every variant returned passed the channel's limits and the fact guard; the rest are
    listed as dropped with their reasons. Variants are stored as drafts to approve or
    reject (``content drafts``). With --all, products already done with the same
    settings are skipped, so an interrupted run resumes.
    """
    from shopmind.content import TASKS
    from shopmind.content import run as runs
    from shopmind.content import source as sources
    from shopmind.content.generate import WRITERS, Options
    from shopmind.content.voice import voice_from_settings
    from shopmind.models.llm import LLMError

    if task not in TASKS:
        raise fail(f"unknown task {task!r}; tasks: {', '.join(TASKS)}")
    if writer not in WRITERS:
        raise fail(f"--writer must be one of {', '.join(WRITERS)}")
    if sum(x is not None and x is not False for x in (product, products, every)) != 1:
        raise fail("give exactly one of --product ID, --products FILE.jsonl or --all")
    store = open_store()
    try:
        if product is not None:
            chosen = [sources.store_product(store, product)]
        elif products is not None:
            chosen = sources.file_products(products)
        else:
            chosen = list(sources.store_products(store))
    except (LookupError, sources.ProductsFileError) as exc:
        raise fail(str(exc)) from exc
    settings = get_settings()
    options = Options(n=n, language=language, seed=seed, writer=writer,
                      voice=voice_from_settings(settings))  # fmt: skip
    try:
        lm = runs.load_writer(settings) if writer == "model" else None
    except LLMError as exc:
        raise fail(str(exc)) from exc
    if every and not redo:
        chosen = list(runs.pending(store, lm, task, options, chosen))
    bank = runs.example_bank(store, settings, task, lm) if chosen else None
    results = []
    with progress_bar(f"writing {task}", total=len(chosen)) as progress:
        for i, item in enumerate(chosen, start=1):
            try:
                result = runs.write_copy(store, lm, task, item, options, save=save, bank=bank,
                                         examples=settings.content_examples)  # fmt: skip
            except (LLMError, ValueError) as exc:
                raise fail(f"product {item['id']}: {exc}") from exc
            results.append(result)
            progress(i)
    if as_json:
        print(json.dumps({"results": results}, ensure_ascii=False, indent=1))
        return
    for result in results:
        kept, dropped = len(result["variants"]), len(result["dropped"])
        console.print(
            f"[bold]{result['product_id']}[/bold] {task}: {kept} variants, {dropped} dropped"
        )
        for v in result["variants"]:
            console.print(
                f"[{v['writer']}] " + json.dumps(v["fields"], ensure_ascii=False),
                markup=False,
                highlight=False,
            )
        reasons = sorted({d["reason"] for d in result["dropped"]})
        if reasons:
            err.print(f"  dropped: {', '.join(reasons)}")


@content_app.command("article")
def content_article(
    topic: Annotated[str, typer.Argument(help='What the article is about: "linen for hot days".')],
    k: Annotated[int, typer.Option("-k", min=1, max=8, help="Products to write about.")] = 4,
    language: Annotated[
        str, typer.Option("--language", help="auto (the product's own) | en | zh")
    ] = "auto",
    seed: Annotated[int | None, typer.Option(min=0, help="Seed for reproducible sampling.")] = None,
    writer: Annotated[
        str, typer.Option(help="model (topped up by the facts writer) or rules (no model).")
    ] = "model",
    save: Annotated[bool, typer.Option("--save/--no-save", help="Store the draft.")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Write an article or buying guide on TOPIC from the store's products and FAQ pages.

    The products are the store's most like the topic (MiniLM similarity); each gets a
    section written from its own facts, linking to its page; the FAQ comes from the
    store's FAQ pages. Stored as a draft of task article (content drafts).
    """
    from shopmind.content import run as runs
    from shopmind.content.generate import WRITERS, Options
    from shopmind.content.voice import voice_from_settings
    from shopmind.models.llm import LLMError

    if writer not in WRITERS:
        raise fail(f"--writer must be one of {', '.join(WRITERS)}")
    settings = get_settings()
    options = Options(n=1, language=language, seed=seed, writer=writer,
                      voice=voice_from_settings(settings))  # fmt: skip
    try:
        lm = runs.load_writer(settings) if writer == "model" else None
        result = runs.write_store_article(open_store(), lm, topic, options, k=k, save=save)
    except (LLMError, ValueError) as exc:
        raise fail(str(exc)) from exc
    if as_json:
        print(json.dumps(result, ensure_ascii=False, indent=1))
        return
    products = ", ".join(f"{p['title']} ({p['similarity']:.2f})" for p in result["products"])
    console.print(f"[bold]{escape(result['topic'])}[/bold] — about: {escape(products)}")
    for variant in result["variants"]:
        fields = variant["fields"]
        console.print(f"# {fields['title']}\n{fields['meta_description']}", markup=False)
        for section in fields["sections"]:
            console.print(f"\n## {section['heading']} ({section.get('link', '')})\n"
                          f"{section['body']}", markup=False, highlight=False)  # fmt: skip
        for qa in fields.get("faq") or []:
            console.print(f"\nQ: {qa['question']}\nA: {qa['answer']}", markup=False)
    if not result["variants"]:
        err.print("no article passed the checks: " + ", ".join(
            sorted({d["reason"] for d in result["dropped"]})))  # fmt: skip


@content_app.command("tune")
def content_tune(
    epochs: Annotated[float, typer.Option(min=0.1, max=100, help="Passes over the pairs.")] = 2.0,
    time_budget: Annotated[
        float | None, typer.Option("--time-budget", min=1, help="Stop training after N s.")
    ] = None,
    held_out: Annotated[int, typer.Option(min=1, max=200, help="Products held out.")] = 8,
    generate: Annotated[
        bool, typer.Option("--generate/--no-generate", help="Also measure written copy.")
    ] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Tune the local language model to the store's voice (LoRA on its descriptions).

    Trains an adapter on the store's products with descriptions, measures it on held-out
    products (their descriptions' loss, and ROUGE-L of the copy written for them, before
    and after) and publishes it as model content/lora, which the writers then use.
    """
    from shopmind.content import source
    from shopmind.content.tune import TuneError, tune

    settings = get_settings()
    if settings.llm_backend != "local":
        raise fail("tuning needs llm_backend = local: a remote server's model cannot be tuned")
    products = list(source.store_products(open_store()))
    with progress_bar("training (steps)", total=None) as progress:
        try:
            report = tune(products, settings.models_dir, model=settings.llm_model, epochs=epochs,
                          time_budget_s=time_budget, held_out=held_out, generate=generate,
                          keep=settings.model_versions_keep, threads=settings.threads,
                          progress=progress)  # fmt: skip
        except TuneError as exc:
            raise fail(str(exc)) from exc
    if as_json:
        print(json.dumps(report.to_dict(), ensure_ascii=False, indent=1))
        return
    console.print(report.summary(), highlight=False)


@content_app.command("drafts")
def content_drafts(
    status: Annotated[str | None, typer.Option(help="draft | approved | rejected")] = None,
    task: Annotated[str | None, typer.Option(help="Only this task.")] = None,
    product: Annotated[str | None, typer.Option(help="Only this product id.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List content drafts, newest first."""
    from shopmind.store import content as drafts

    try:
        found = drafts.list_drafts(open_store(), status=status, task=task, product_key=product,
                                   limit=limit)  # fmt: skip
    except ValueError as exc:
        raise fail(str(exc)) from exc
    if as_json:
        print(json.dumps([d.as_dict() for d in found], ensure_ascii=False, indent=1))
        return
    for d in found:
        text = json.dumps(d.fields, ensure_ascii=False)
        console.print(f"{d.id:>6} {d.status:<8} {d.task:<20} {d.product_key:<20} {text[:80]}",
                      markup=False, highlight=False)  # fmt: skip


def _decide(draft_id: int, status: str) -> None:
    from shopmind.store import content as drafts

    try:
        d = drafts.decide(open_store(), draft_id, status, by="cli")
    except drafts.DraftNotFound as exc:
        raise fail(str(exc)) from exc
    console.print(f"draft {d.id} ({d.task}, {d.product_key}) is {d.status}")


@content_app.command("approve")
def content_approve(draft_id: Annotated[int, typer.Argument(help="The draft's id.")]) -> None:
    """Approve a draft (the product's previously approved one goes back to draft)."""
    _decide(draft_id, "approved")


@content_app.command("reject")
def content_reject(draft_id: Annotated[int, typer.Argument(help="The draft's id.")]) -> None:
    """Reject a draft."""
    _decide(draft_id, "rejected")


@content_app.command("export")
def content_export(
    fmt: Annotated[
        str, typer.Option("--format", help="shopify-csv | gmc-tsv | gmc-xml (Merchant Center).")
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="The file to write.")],
    language: Annotated[str, typer.Option("--language", help="en | zh")] = "en",
    shop_url: Annotated[
        str | None,
        typer.Option(
            help="gmc-*: the shop's address. Links are SHOP_URL/products/HANDLE, or "
            "SHOP_URL with {handle} filled in when it holds that placeholder."
        ),
    ] = None,
    raw: Annotated[
        bool, typer.Option("--raw", help="shopify-csv: leave formula-like cells as they are.")
    ] = False,
) -> None:
    """Write approved copy to a Shopify product CSV or a Google Merchant Center feed.

    Only approved drafts leave the store (docs/exports.md): shopify-csv updates Body
    (HTML), SEO Title and SEO Description by Handle; gmc-tsv and gmc-xml list the active
    products, with approved merchant-feed copy marked as AI-written.
    """
    from shopmind.content import export

    if fmt not in export.FORMATS:
        raise fail(f"--format must be one of {', '.join(export.FORMATS)}")
    if fmt != "shopify-csv" and not shop_url:
        raise fail("--shop-url is needed for a Merchant Center feed (its products' links)")
    store = open_store()
    try:
        result = export.write(store, fmt, output, language, shop_url=shop_url or "", raw=raw)
    except (ValueError, OSError) as exc:
        raise fail(str(exc)) from exc
    console.print(
        f"{output}: {export.summary(result)}", markup=False, highlight=False, soft_wrap=True
    )


@app.command()
def demo(
    directory: Annotated[Path, typer.Argument(help="Demo workspace folder.")] = Path(
        "demo-workspace"
    ),
    customers: Annotated[int, typer.Option(min=1, help="Shoppers to simulate.")] = 10000,
    days: Annotated[int, typer.Option(min=1, help="Days of trading.")] = 90,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 7,
) -> None:
    """Create a demo workspace, simulate a small store and show what shopmind makes of it."""
    from shopmind.demo import run_demo
    from shopmind.simulate import SimulationError

    try:
        run_demo(directory, customers=customers, days=days, seed=seed, console=console)
    except (SimulationError, SettingsError) as exc:
        raise fail(f"{exc} (use another demo folder, or the same options as before)") from exc


# capabilities with their own command modules (they add their groups to ``app``)
from shopmind import cli_insights, cli_recommend, cli_support  # noqa: E402, F401

if __name__ == "__main__":  # pragma: no cover
    app()
