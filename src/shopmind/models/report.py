"""Readable rendering of the model registry (``shopmind models list | prune``) in a terminal."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from shopmind.models.listing import ModelEntry
from shopmind.models.registry import PruneReport


def render_models(entries: Sequence[ModelEntry], console: Console) -> None:
    """One row per version (``*`` marks the current one); notes for old-layout files."""
    table = Table(title="Models", caption="* the current version")
    table.add_column("model", no_wrap=True)
    table.add_column("version", no_wrap=True)
    table.add_column("created (UTC)", no_wrap=True)
    table.add_column("size", justify="right", no_wrap=True)
    table.add_column("metrics")
    for entry in entries:
        name = escape(entry.name)
        for v in entry.versions:
            if v.complete:
                metrics = escape(_metrics(v.metrics))
            else:
                metrics = f"[red]incomplete: {escape(v.problem)}[/red]"
            created = v.created_at[:16].replace("T", " ")
            table.add_row(name, f"{v.id} *" if v.current else v.id, created, _size(v.size), metrics)
            name = ""
        if not entry.versions:
            table.add_row(name, "—", "", "", "")
    console.print(table)
    for entry in entries:
        if entry.problem:
            console.print(f"[red]{escape(entry.name)}:[/red] {escape(entry.problem)}")
        if entry.legacy:
            console.print(
                f"{escape(entry.name)}: files written in place by an older shopmind "
                f"({escape(', '.join(entry.legacy[:5]))}); a complete model serves in place "
                "until the next training adopts it, an incomplete one is never loaded; "
                f"tidy up with: shopmind models prune {escape(entry.name)} --legacy"
            )


def prune_lines(name: str, report: PruneReport) -> list[str]:
    """What ``prune`` did to model ``name``, as plain lines (no markup)."""
    removed = ", ".join(report.removed_versions + report.removed_leftovers) or "nothing"
    lines = [f"{name}: kept {', '.join(report.kept) or 'none'}; removed {removed}"]
    if report.adopted:
        lines.append(f"{name}: the model written in place is now version {report.adopted}")
    if report.removed_legacy:
        lines.append(f"{name}: removed old-layout files {', '.join(report.removed_legacy)}")
    if report.legacy_kept:
        lines.append(f"{name}: old-layout files kept ({report.legacy_kept})")
    return lines


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KB", "MB"):
        if value < 1024:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"


def _metrics(metrics: dict[str, Any]) -> str:
    parts = []
    for key, value in metrics.items():
        if isinstance(value, dict):
            value = "/".join(str(v) for v in value.values())
        parts.append(f"{key} {value}")
    return ", ".join(parts)
