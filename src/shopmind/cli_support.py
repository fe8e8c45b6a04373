"""``shopmind support …``: ask the assistant, label messages with intents, build its index."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from shopmind.cli import app, console, err, fail, get_settings, open_store, progress_bar

support_app = typer.Typer(
    help="Support assistant: answers from the help pages and catalog, intents, hand-over.",
    no_args_is_help=True,
)
app.add_typer(support_app, name="support")
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _assistant() -> Any:
    from shopmind.models.device import set_threads
    from shopmind.support.assistant import Assistant

    settings = get_settings()
    set_threads(settings)
    return Assistant(open_store(), settings)


@support_app.command("ask")
def ask(
    question: Annotated[str, typer.Argument(help="The shopper's message.")],
    session: Annotated[
        str | None, typer.Option("--session", help="Continue this conversation (its id).")
    ] = None,
    product: Annotated[
        str | None, typer.Option("--product", help="The product page the shopper is on.")
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Ask the assistant as a shopper would; the reply names its sources and the session."""
    from shopmind.support.assistant import SupportError

    try:
        reply = _assistant().chat(question, session=session, channel="cli", product=product)
    except SupportError as exc:
        raise fail(str(exc)) from exc
    out = reply.as_dict()
    if as_json:
        print(json.dumps(out, ensure_ascii=False, indent=1))
        return
    console.print(out["answer"], markup=False, highlight=False)
    for c in out["citations"]:
        console.print(f"  [{c['n']}] {c['title']}" + (f" <{c['url']}>" if c["url"] else ""),
                      markup=False, highlight=False)  # fmt: skip
    if out["handover"]:
        err.print(f"handed over to a person: {out['handover_reason']}", markup=False)
    err.print(f"intent {out['intent']} ({out['confidence']}), outcome {out['outcome']}; "
              f"continue with --session {out['session']}", markup=False)  # fmt: skip


@support_app.command("intents")
def intents(
    input: Annotated[Path, typer.Option("--input", help="A CSV file of messages.")],
    text_column: Annotated[str, typer.Option("--text-column", help="The column with the text.")],
    output: Annotated[Path, typer.Option("--output", help="Where to write the labelled CSV.")],
) -> None:
    """Label every message of a CSV with its intent: adds predicted_intent and confidence."""
    from shopmind.support.intents import load_intents
    from shopmind.support.training import IntentFileError, label_file

    settings = get_settings()
    if input.resolve() == output.resolve():
        raise fail("--output must be another file than --input")
    clf = load_intents(settings.models_dir)
    clf.min_confidence = settings.support_min_confidence
    with progress_bar("labelling messages") as progress:
        try:
            n = label_file(clf, input, text_column, output, progress=progress)
        except IntentFileError as exc:
            raise fail(str(exc)) from exc
    console.print(f"labelled {n:,} messages → {output}")


@support_app.command("train")
def train(
    data: Annotated[Path, typer.Option("--data", help="Labelled CSV: a text column, intent.")],
    max_per_intent: Annotated[
        int, typer.Option("--max-per-intent", min=10, help="Messages per intent used at most.")
    ] = 300,
    as_json: AsJson = False,
) -> None:
    """Train the intent classifier on labelled messages (e.g. the Bitext sets), measured on
    a held-out fifth, and publish it."""
    from shopmind.models.device import set_threads
    from shopmind.support.training import train_from_file

    settings = get_settings()
    set_threads(settings)
    try:
        with progress_bar("training intents") as _:
            metrics = train_from_file(settings.models_dir, data, max_per_intent,
                                      min_confidence=settings.support_min_confidence)  # fmt: skip
    except ValueError as exc:
        raise fail(str(exc)) from exc
    if as_json:
        print(json.dumps(metrics, indent=1))
        return
    console.print(f"trained on {metrics['train']:,} messages, {metrics['intents']} intents; "
                  f"held-out accuracy {metrics['held_out_accuracy']:.3f}, "
                  f"macro-F1 {metrics['held_out_macro_f1']:.3f}")  # fmt: skip


@support_app.command("index")
def index(
    rebuild: Annotated[
        bool, typer.Option("--rebuild", help="Embed every passage again, changed or not.")
    ] = False,
    as_json: AsJson = False,
) -> None:
    """Bring the search index of help pages, FAQs and products up to date (only what
    changed is embedded again)."""
    from shopmind.models.device import set_threads
    from shopmind.support.knowledge import ensure_index, rebuild_index

    settings = get_settings()
    set_threads(settings)
    store = open_store()
    build = rebuild_index if rebuild else ensure_index
    with progress_bar("indexing passages") as progress:
        idx = build(store, settings.models_dir, progress=progress)
    summary = _index_summary(idx)
    if as_json:
        print(json.dumps(summary, indent=1))
        return
    console.print(f"indexed {summary['passages']:,} passages: " + ", ".join(
        f"{n:,} {k}" for k, n in summary["by_source"].items()))  # fmt: skip


def _index_summary(idx: Any) -> dict[str, Any]:
    from shopmind.support.knowledge import source_counts

    return {"passages": len(idx.passages), "by_source": source_counts(idx.passages),
            "fingerprint": idx.fingerprint}  # fmt: skip
