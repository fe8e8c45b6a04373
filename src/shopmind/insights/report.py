"""The growth report: one self-contained HTML file and its JSON twin.

The HTML carries its own styles and the dashboard's server-rendered SVG charts inline —
no script, no web font, no link to load — so it opens offline and can be mailed as is.
The JSON holds every number the HTML shows (and more): the findings the recommendations
were drawn from, and the recommendations themselves.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from shopmind.insights.common import Period
from shopmind.insights.engine import InsightsError

LANGS = {"en": "en", "zh": "zh_CN"}


def build_report(
    ins: Any, period: Period, lang: str = "en", progress: Callable[[str], Any] | None = None
) -> dict[str, Any]:
    """Every analysis of ``period`` as one JSON-ready dict (``progress`` gets stage names)."""
    if lang not in LANGS:
        raise InsightsError(f"report language must be one of {', '.join(LANGS)}")
    step = progress or (lambda _stage: None)
    step("findings")
    findings = ins.findings(period)
    step("cohorts")
    cohorts = ins.cohorts(period.end, 12)
    step("recommendations")
    recs = ins.recommendations(period, lang)
    return {
        "generated_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "lang": lang,
        "currency": ins.currency,
        "period": period.to_dict(),
        "recommendations": recs,
        "funnel": findings["funnel"],
        "funnel_by_device": findings["funnel_device"],
        "acquisition": findings["acquisition"],
        "cohorts": cohorts,
        "segments": findings["segments"],
        "clv": findings["clv"],
        "anomalies": findings["anomalies"],
        "demand": findings["demand"],
        "products": findings["products"][:50],
    }


def render_html(data: dict[str, Any]) -> str:
    """The report as HTML (charts drawn here, in the report's language)."""
    from shopmind.web import i18n
    from shopmind.web import insights_charts as ic

    locale = LANGS[data["lang"]]
    cur = data["currency"]
    charts = {
        "funnel": ic.funnel_steps(data["funnel"], locale),
        "devices": ic.funnel_groups(data["funnel_by_device"], locale),
        "channels": ic.channel_conversion(data["acquisition"], locale),
        "revenue": ic.channel_revenue(data["acquisition"], locale, cur),
        "retention": ic.average_retention(data["cohorts"], locale),
        "segments": ic.segment_sizes(data["segments"], locale),
        "kpis": [ic.kpi_band(data["anomalies"], k, locale, cur) for k in ic.KPI_TITLES],
        "searches": ic.top_searches(data["demand"], locale)
        if data["demand"]["top_terms"]
        else None,
        "alive": ic.prob_alive(data["clv"], locale) if "top" in data["clv"] else None,
    }
    env = Environment(
        loader=PackageLoader("shopmind.web", "templates"),
        autoescape=select_autoescape(default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["_"] = lambda message, **kw: (
        i18n.gettext(message, locale) % kw if kw else i18n.gettext(message, locale)
    )
    env.filters["num"] = lambda v, d=None: "–" if v is None else i18n.format_number(v, locale, d)
    env.filters["pct"] = lambda v: "–" if v is None else i18n.format_percent(v, locale)
    env.filters["money"] = lambda v: "–" if v is None else i18n.format_currency(v, cur, locale)
    env.filters["segment"] = lambda name: i18n.gettext(ic.segment_label(name), locale)
    env.filters["step"] = lambda name: ic.step_label(name, locale)
    env.filters["when"] = lambda text: str(text).replace("T", " ")[:16] + " UTC"
    return env.get_template("report.html").render(data=data, charts=charts, lang=data["lang"])


def write_report(
    ins: Any,
    period: Period,
    output: str | os.PathLike[str],
    lang: str = "en",
    progress: Callable[[str], Any] | None = None,
) -> tuple[Path, Path]:
    """Write ``output`` (HTML) and the same name with ``.json``; both appear whole or not
    at all (written aside, then renamed)."""
    html_path = Path(output)
    if html_path.suffix.lower() not in (".html", ".htm"):
        html_path = html_path.with_suffix(".html")
    json_path = html_path.with_suffix(".json")
    if not html_path.parent.is_dir():
        raise InsightsError(f"{html_path.parent}: no such folder for the report")
    data = build_report(ins, period, lang, progress)
    if progress:
        progress("drawing")
    html = render_html(data)
    for path, text in ((json_path, json.dumps(data, ensure_ascii=False, indent=1, default=str)),
                       (html_path, html)):  # fmt: skip
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    return html_path, json_path
