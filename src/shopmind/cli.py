"""The ``shopmind`` command line: thin wrappers over the library."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from shopmind import __version__
from shopmind.config import init_workspace, load_settings
from shopmind.store import Store

app = typer.Typer(
    help="shopmind — a self-hosted AI growth engine for online stores.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
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


def open_store(upgrade: bool = True) -> Store:
    """The workspace's store, migrated to the latest schema."""
    store = Store.from_settings(load_settings(state.workspace))
    if upgrade:
        store.upgrade()
    return store


def fail(message: str, code: int = 1) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}", highlight=False)
    return typer.Exit(code)


@app.command()
def init() -> None:
    """Create the workspace: shopmind.toml, models/ and the database."""
    path = init_workspace(state.workspace)
    store = open_store()
    console.print(f"workspace ready: {path.parent.resolve()} ({store.dialect})")


@db_app.command("upgrade")
def db_upgrade(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
) -> None:
    """Apply database migrations (up to REVISION, default head)."""
    store = open_store(upgrade=False)
    store.upgrade(revision)
    console.print(f"database at revision {store.current_revision()}")


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


if __name__ == "__main__":  # pragma: no cover
    app()
