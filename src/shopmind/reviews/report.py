"""Readable rendering of a product's review insights (terminal)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table


def render_insights(data: dict[str, Any], console: Console) -> None:
    """Shares, trend, aspects with pros and cons, and the alert of one product.

    Store text (ids, aspect names, shoppers' quotes) is escaped: ``[/]`` in a review is text,
    not Rich markup (unescaped, it would end the command with ``MarkupError``).
    """
    shares = data.get("shares", {})
    console.print(
        f"[bold]{escape(str(data.get('external_id', data.get('product_id'))))}[/bold]: "
        f"{data.get('reviews', 0):,} reviews scored by {data.get('model')} — "
        + ", ".join(f"{k} {v:.0%}" for k, v in shares.items() if v is not None)
    )
    alert = data.get("alert") or {}
    if alert.get("active"):
        console.print(f"[red]alert:[/red] {escape(str(alert.get('reason')))}")
    elif alert.get("note"):
        console.print(f"no alert possible: {escape(str(alert['note']))}")
    trend = data.get("trend") or []
    if trend:
        table = Table(title="Trend by month")
        for col in ("month", "reviews", "negative", "positive"):
            table.add_column(col, justify="left" if col == "month" else "right")
        for row in trend[-12:]:
            s = row.get("shares", {})
            table.add_row(
                str(row.get("month")),
                str(row.get("reviews", "")),
                _pct(s.get("negative")),
                _pct(s.get("positive")),
            )
        console.print(table)
    for aspect, info in (data.get("aspects") or {}).items():
        console.print(
            f"[bold]{escape(aspect)}[/bold]: {info['mentions']} mentions, "
            f"+{info['positive']} / -{info['negative']} (net {info['net']:+.2f})"
        )
        for kind, mark in (("pros", "+"), ("cons", "-")):
            for quote in info.get(kind, []):
                text = escape(str(quote.get("quote", quote)))
                console.print(f"   {mark} “{text}”", highlight=False)


def _pct(value: Any) -> str:
    return f"{value:.0%}" if isinstance(value, int | float) else ""
