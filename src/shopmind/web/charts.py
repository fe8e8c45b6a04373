"""Charts rendered on the server: Vega-Lite specifications built with altair, drawn to SVG by
vl-convert (no JavaScript, CDN or web font), each with a table equivalent for screen readers.

Shared by the dashboard pages and the offline growth report. A builder returns a
:class:`Chart`; a template places ``chart.svg`` in a ``<figure>`` under ``chart.title`` and
``chart.columns``/``chart.rows`` in a ``<table>`` (``templates/_chart.html``).

- Labels (product titles, traffic sources) are untrusted: they only ever travel as data
  values, never as field names or expressions, lose the characters XML forbids, and the SVG
  writer escapes them. The result is checked to parse as XML in the tests.
- Axis numbers and dates follow the locale (Babel's symbols, the store's currency); the table
  is formatted by :mod:`shopmind.web.i18n`. Dates are drawn in UTC: a day stays that day
  whatever the server's time zone.
- No data (no points, or every value missing) gives a chart with ``empty=True``: a small SVG
  saying "No data for this period" in the locale, and no rows. Zeros are data.
- Rendering starts a JavaScript engine inside vl-convert on first use (~0.5 s; later charts
  ~30 ms). Nothing renders at import: call :func:`warm_up` once at server start.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal
from xml.sax.saxutils import escape as xml_escape

import altair as alt
import orjson
import vl_convert
from babel import Locale, numbers
from markupsafe import Markup

from shopmind.web import i18n
from shopmind.web.i18n import N_

Unit = Literal["count", "number", "percent", "currency"]
Period = Literal["day", "week", "month"]
Value = float | int | None

FONT_STACK = (
    "system-ui, -apple-system, 'Segoe UI', Roboto, 'Noto Sans', 'Helvetica Neue', Arial, "
    "'PingFang SC', 'Hiragino Sans GB', 'Microsoft YaHei', 'Noto Sans CJK SC', sans-serif"
)
# Okabe-Ito (told apart with the common colour-vision deficiencies), those with at least the
# 3:1 contrast on white that graphics need first.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#000000", "#E69F00", "#56B4E9", "#F0E442")
TEXT = "#333333"
EMPTY_HEIGHT = 80
LABEL_CHARS = 32  # longer labels are shortened in the drawing (the table keeps them whole)
_CONFIG = {
    "font": FONT_STACK,
    "aria": False,  # the <svg> as a whole is one role="img", see _accessible()
    "background": "white",
    "view": {"stroke": None},
    "axis": {
        "labelColor": TEXT,
        "titleColor": TEXT,
        "labelFontSize": 12,
        "titleFontSize": 12,
        "titleFontWeight": "normal",
        "gridColor": "#e6e6e6",
        "domainColor": "#888888",
        "tickColor": "#888888",
        "labelLimit": 0,  # no truncation by Vega: see _short()
        "titleLimit": 0,
    },
    "legend": {"labelColor": TEXT, "labelFontSize": 12, "orient": "top", "labelLimit": 0},
}
_MEASURE_FONT = "sans-serif"
_STACK_ATTR = xml_escape(FONT_STACK, {'"': "&quot;"})
# Vega-Lite specs are checked by the tests (every builder against the schema), not as each
# piece is made: altair's debug mode validates every object at construction, which took
# a third of a chart's time before drawing.
alt.utils.schemapi.disable_debug_mode()
# d3 spellings of the locales and of Babel's MMMd / yMMM skeletons.
_D3_TIME_LOCALE = {"en": "en-US", "zh_CN": "zh-CN"}
_D3_DATE = {
    "en": {"day": "%b %-d", "month": "%b %Y"},
    "zh_CN": {"day": "%-m月%-d日", "month": "%Y年%-m月"},
}
_D3_NUMBER = {"count": ",d", "number": ",.2~f", "percent": ".1~%", "currency": "$,.2~f"}
_XML_ILLEGAL = re.compile("[\x00-\x1f\x7f\ud800-\udfff\ufffe\uffff]")


@dataclass(frozen=True)
class Series:
    """Named values and the unit they are shown in (``currency``: an ISO 4217 code)."""

    label: str
    values: Sequence[Value]
    unit: Unit = "number"
    currency: str | None = None

    def __post_init__(self) -> None:
        if self.unit not in _D3_NUMBER:
            raise ValueError(f"series {self.label!r}: unknown unit {self.unit!r}")
        if self.unit == "currency" and not numbers.is_currency(self.currency or ""):
            raise ValueError(f"series {self.label!r}: currency {self.currency!r} is not ISO 4217")

    def format(self, value: Value, locale: str) -> str:
        """``value`` as the table shows it (``–`` when missing)."""
        if value is None:
            return "–"
        if self.unit == "count":
            return i18n.format_number(value, locale, 0)
        if self.unit == "percent":
            return i18n.format_percent(value, locale)
        if self.unit == "currency":
            return i18n.format_currency(value, self.currency or "", locale)
        return i18n.format_number(value, locale)


@dataclass(frozen=True)
class Chart:
    """A rendered chart. ``svg`` is standalone, well-formed SVG (``role="img"``, ``aria-label``
    and ``<title>`` set to ``title``), safe to embed as is; ``columns`` and ``rows`` are the
    same data as formatted text for a ``<table>``. ``empty``: there was nothing to draw."""

    svg: Markup
    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    empty: bool = False
    spec: dict[str, Any] | None = field(default=None, repr=False, compare=False)


# --- builders ----------------------------------------------------------------------------


def daily_chart(
    days: Sequence[dt.date],
    first: Series,
    second: Series | None = None,
    *,
    title: str,
    locale: str = i18n.DEFAULT,
    width: int = 640,
    height: int = 240,
) -> Chart:
    """Lines over ``days`` (e.g. revenue and sessions); a ``second`` series gets its own axis
    on the right, since the two rarely share a unit."""
    series = [s for s in (first, second) if s is not None]
    _check_lengths(series, len(days), "days")
    columns = (i18n.gettext("Date", locale), *(_clean(s.label) for s in series))
    if _no_data(series):
        return _empty(title, columns, locale, width)
    labels = _drawn([s.label for s in series])
    colors = alt.Scale(domain=labels, range=list(PALETTE[: len(labels)]))
    legend = alt.Legend() if len(labels) > 1 else None
    layers, datasets = [], {}
    for index, (one, label) in enumerate(zip(series, labels, strict=True)):
        datasets[f"series{index}"] = [
            {"day": day.isoformat(), "value": value, "series": label}
            for day, value in zip(days, one.values, strict=True)
        ]
        y_axis = _value_axis(one, label, orient="left" if index == 0 else "right")
        encoding = alt.FacetedEncoding(
            x=_time_x(days, "day", locale),
            y=alt.Y("value:Q", axis=y_axis),
            color=alt.Color("series:N", scale=colors, title=None, legend=legend),
        )
        mark = alt.MarkDef(type="line", point=len(days) <= 31, strokeWidth=2)
        layers.append(alt.Chart(alt.NamedData(f"series{index}"), mark=mark, encoding=encoding))
    # Charts are built whole, never by chained calls: altair deep-copies a chart at every
    # call (three times the cost of the same spec built at once).
    independent = alt.Resolve(scale=alt.ScaleResolveMap(y="independent"))
    chart = _layered(layers, resolve=independent, width=width, height=height)
    rows = tuple(
        (i18n.format_date(day, locale), *(s.format(s.values[i], locale) for s in series))
        for i, day in enumerate(days)
    )
    currency = next((s.currency for s in series if s.currency), None)
    return _render(chart, datasets, title, columns, rows, locale, currency)


def bar_chart(
    categories: Sequence[str],
    series: Series,
    *,
    title: str,
    locale: str = i18n.DEFAULT,
    category_title: str | None = None,
    colors: Sequence[str] | None = None,
    width: int = 640,
) -> Chart:
    """Horizontal bars in the order given (e.g. conversion by source/medium, review counts
    by sentiment), each labelled with its value. A repeated label gets a ``#2`` suffix;
    ``colors`` gives one colour per bar."""
    _check_lengths([series], len(categories), "categories")
    columns = (_clean(category_title or i18n.gettext("Category", locale)), _clean(series.label))
    if _no_data([series]):
        return _empty(title, columns, locale, width)
    names = _unique([_clean(c) for c in categories])
    labels = _drawn(names)
    bars = [
        {"category": label, "value": value}
        for label, value in zip(labels, series.values, strict=True)
    ]
    fill = (
        alt.Color("category:N", scale=alt.Scale(domain=labels, range=list(colors)), legend=None)
        if colors
        else alt.ColorValue(PALETTE[0])
    )
    y = alt.Y("category:N", sort=labels, title=None)
    x = alt.X("value:Q", axis=_value_axis(series, _drawn([series.label])[0], tick_count=8))
    drawn = alt.Chart(
        mark=alt.MarkDef(type="bar"), encoding=alt.FacetedEncoding(x=x, y=y, color=fill)
    )
    text = alt.Chart(
        mark=alt.MarkDef(type="text", align="left", dx=4, color=TEXT),
        encoding=alt.FacetedEncoding(
            x=x, y=y, text=alt.Text("value:Q", format=_D3_NUMBER[series.unit])
        ),
        transform=[alt.FilterTransform(filter="isValid(datum.value)")],
    )
    # The labels are measured in a generic font and drawn in the system's, which may be
    # wider (about a pixel a character): room on the left keeps the longest from being cut.
    room = 8 + max((len(label) for label in labels), default=0)
    padding = {"left": max(16, room), "top": 5, "right": 5, "bottom": 5}
    chart = _layered(
        [drawn, text],
        data=alt.NamedData("bars"),
        width=width,
        height=alt.Step(28),
        padding=padding,
    )

    rows = tuple(
        (name, series.format(value, locale))
        for name, value in zip(names, series.values, strict=True)
    )
    return _render(chart, {"bars": bars}, title, columns, rows, locale, series.currency)


def stacked_chart(
    periods: Sequence[dt.date],
    stacks: Sequence[Series],
    *,
    title: str,
    locale: str = i18n.DEFAULT,
    period: Period = "week",
    normalize: bool = False,
    mark: Literal["bar", "area"] = "bar",
    period_title: str | None = None,
    colors: Sequence[str] | None = None,
    width: int = 640,
    height: int = 240,
) -> Chart:
    """Series stacked per period, first series at the bottom (e.g. negative, neutral and
    positive reviews per week). ``periods`` are each period's first day. ``normalize`` draws
    shares; the table then gives each value with its share."""
    _check_lengths(stacks, len(periods), "periods")
    if len({s.unit for s in stacks}) > 1:
        raise ValueError(f"stacked series need one unit, got {[s.unit for s in stacks]}")
    period_title = _clean(period_title or i18n.gettext("Period", locale))
    columns = (period_title, *(_clean(s.label) for s in stacks))
    if _no_data(stacks) or (normalize and not any(v for s in stacks for v in s.values)):
        return _empty(title, columns, locale, width)
    labels = _drawn([s.label for s in stacks])
    names = [_period_name(day, period, locale) for day in periods]
    ticks = names if period == "month" else _short_days(periods, locale)
    values = [
        {"day": day.isoformat(), "tick": tick, "series": label, "k": k, "value": value}
        for k, (one, label) in enumerate(zip(stacks, labels, strict=True))
        for day, tick, value in zip(periods, ticks, one.values, strict=True)
    ]
    if normalize:
        axis = alt.Axis(format=".0%", title=None)
    else:
        top = max(sum(s.values[i] or 0 for s in stacks) for i in range(len(periods)))
        axis = _value_axis(stacks[0], None, top=top)
    palette = list(colors) if colors else [PALETTE[i % len(PALETTE)] for i in range(len(labels))]
    encoding = {
        "y": alt.Y("value:Q", stack="normalize" if normalize else "zero", axis=axis),
        "color": alt.Color("series:N", scale=alt.Scale(domain=labels, range=palette), title=None),
        "order": alt.Order("k:O"),
    }
    if mark == "area":
        x = _time_x(periods, "month" if period == "month" else "day", locale)
    else:
        x = alt.X("tick:O", sort=ticks, title=None, axis=alt.Axis(labelAngle=0))
    chart = alt.Chart(
        alt.NamedData("stacks"),
        mark=alt.MarkDef(type=mark),
        encoding=alt.FacetedEncoding(x=x, **encoding),
        width=width,
        height=height,
    )
    rows = tuple(
        (name, *_stack_cells(stacks, i, normalize, locale)) for i, name in enumerate(names)
    )
    currency = stacks[0].currency if stacks else None
    return _render(chart, {"stacks": values}, title, columns, rows, locale, currency)


def band_chart(
    days: Sequence[dt.date],
    values: Series,
    low: Sequence[Value],
    high: Sequence[Value],
    *,
    title: str,
    flagged: Sequence[bool] | None = None,
    range_label: str | None = None,
    locale: str = i18n.DEFAULT,
    width: int = 640,
    height: int = 220,
) -> Chart:
    """A daily line against its expected range (a shaded band), flagged days marked with a
    point (e.g. a KPI against its seasonal baseline). The table gives value, range and flag."""
    _check_lengths([values, Series("low", low), Series("high", high)], len(days), "days")
    flags = list(flagged) if flagged is not None else [False] * len(days)
    band_name = _clean(range_label or i18n.gettext("Expected range", locale))
    columns = (i18n.gettext("Date", locale), _clean(values.label), band_name)
    if _no_data([values]):
        return _empty(title, columns, locale, width)
    points = [
        {"day": d.isoformat(), "value": v, "low": lo, "high": hi, "flag": bool(f)}
        for d, v, lo, hi, f in zip(days, values.values, low, high, flags, strict=True)
    ]
    x = _time_x(days, "day", locale)
    # No axis title: the chart's title names the figure, and a title beside wide currency
    # labels overlapped them where the browser's font is wider than the renderer's.
    y_axis = _value_axis(values, None)
    drawn = [v for v in (*values.values, *low, *high) if v is not None]
    scale = alt.Scale(domain=[min(0, *drawn), max(drawn)], nice=True)
    band = alt.Chart(
        mark=alt.MarkDef(type="area", color="#0072B2", opacity=0.15),
        encoding=alt.FacetedEncoding(
            x=x, y=alt.Y("low:Q", axis=y_axis, scale=scale), y2=alt.Y2("high:Q")
        ),
        transform=[alt.FilterTransform(filter="isValid(datum.low) && isValid(datum.high)")],
    )
    line = alt.Chart(
        mark=alt.MarkDef(type="line", color=PALETTE[0], strokeWidth=2, point=len(days) <= 31),
        encoding=alt.FacetedEncoding(x=x, y=alt.Y("value:Q", axis=y_axis, scale=scale)),
    )
    marks = alt.Chart(
        mark=alt.MarkDef(type="point", shape="diamond", size=120, filled=True, color=PALETTE[1]),
        encoding=alt.FacetedEncoding(x=x, y=alt.Y("value:Q", axis=y_axis, scale=scale)),
        transform=[alt.FilterTransform(filter="datum.flag")],
    )
    chart = _layered([band, line, marks], data=alt.NamedData("band"), width=width, height=height)
    rows = tuple(
        (
            i18n.format_date(d, locale),
            values.format(v, locale),
            "–" if lo is None or hi is None else
            f"{values.format(lo, locale)} – {values.format(hi, locale)}" + (" ⚠" if f else ""),
        )
        for d, v, lo, hi, f in zip(days, values.values, low, high, flags, strict=True)
    )  # fmt: skip
    return _render(chart, {"band": points}, title, columns, rows, locale, values.currency)


# --- the store's charts ------------------------------------------------------------------

SENTIMENTS = (
    ("negative", N_("Negative"), "#D55E00"),
    ("neutral", N_("Neutral"), "#8C8C8C"),
    ("positive", N_("Positive"), "#009E73"),
)


def sentiment_share_by_month(
    months: Sequence[Mapping[str, Any]], *, locale: str = i18n.DEFAULT, title: str | None = None
) -> Chart:
    """Share of negative/neutral/positive reviews per month, from rows as
    ``store.reviews.sentiment_by_month`` gives them: ``{"month": "2026-01", "negative": 3,
    "neutral": 5, "positive": 40}``; a missing label counts 0."""
    periods = [_month_start(row.get("month"), index) for index, row in enumerate(months)]
    stacks = [
        Series(i18n.gettext(name, locale), [int(row.get(key) or 0) for row in months], "count")
        for key, name, _ in SENTIMENTS
    ]
    return stacked_chart(
        periods,
        stacks,
        title=title or i18n.gettext("Review sentiment by month", locale),
        locale=locale,
        period="month",
        normalize=True,
        period_title=i18n.gettext("Month", locale),
        colors=[color for _, _, color in SENTIMENTS],
    )


def sentiment_trend(
    trend: Sequence[Mapping[str, Any]], *, locale: str = i18n.DEFAULT, title: str | None = None
) -> Chart:
    """One product's sentiment per month, from ``reviews.insights.monthly_trend`` entries
    (``{"month": "2026-01", "counts": {"negative": 1, ...}, ...}``)."""
    months = [{"month": entry.get("month"), **(entry.get("counts") or {})} for entry in trend]
    return sentiment_share_by_month(months, locale=locale, title=title)


def _month_start(month: Any, index: int) -> dt.date:
    try:
        return dt.datetime.strptime(str(month), "%Y-%m").date()
    except ValueError:
        raise ValueError(f"row {index}: month {month!r} is not YYYY-MM") from None


# --- pieces ------------------------------------------------------------------------------


def _check_lengths(series: Sequence[Series], expected: int, what: str) -> None:
    for one in series:
        if len(one.values) != expected:
            raise ValueError(
                f"series {one.label!r} has {len(one.values)} values for {expected} {what}"
            )


def _no_data(series: Sequence[Series]) -> bool:
    return all(value is None for one in series for value in one.values)


def _clean(label: str) -> str:
    """A label that can be written to XML: control characters become spaces. (Given a NUL,
    vl-convert does not raise: its text measurement panics and aborts the process.)"""
    return _XML_ILLEGAL.sub(" ", str(label)).strip()


def _drawn(labels: Sequence[str]) -> list[str]:
    """Labels as the SVG shows them: clean, at most ``LABEL_CHARS`` long, and distinct.

    Vega's own truncation (by pixel width) cuts UTF-16 code units, can split an emoji's
    surrogate pair and then fails the whole render, so it is off and labels are shortened
    here, by code points."""
    shortened = []
    for label in labels:
        label = _clean(label)
        if len(label) > LABEL_CHARS:
            label = label[: LABEL_CHARS - 1].rstrip() + "…"
        shortened.append(label)
    return _unique(shortened)


def _unique(labels: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    unique = []
    for label in labels:
        seen[label] = seen.get(label, 0) + 1
        unique.append(label if seen[label] == 1 else f"{label} #{seen[label]}")
    return unique


def _stack_cells(stacks: Sequence[Series], i: int, normalize: bool, locale: str) -> list[str]:
    cells = [s.format(s.values[i], locale) for s in stacks]
    total = sum(s.values[i] or 0 for s in stacks)
    if not normalize or not total:
        return cells
    shares = [i18n.format_percent((s.values[i] or 0) / total, locale) for s in stacks]
    return [f"{cell} ({share})" for cell, share in zip(cells, shares, strict=True)]


def _time_x(days: Sequence[dt.date], unit: Literal["day", "month"], locale: str) -> alt.X:
    """A UTC date axis with about 8 ticks on whole days (or months)."""
    if unit == "month":
        span = (max(days).year - min(days).year) * 12 + max(days).month - min(days).month + 1
    else:
        span = (max(days) - min(days)).days + 1
    axis = alt.Axis(
        format=_D3_DATE[locale][unit],  # a utc scale formats in UTC (formatType would drop it)
        tickCount={"interval": unit, "step": max(1, -(-span // 8))},
        labelOverlap=True,
        grid=False,
    )
    return alt.X("day:T", scale=alt.Scale(type="utc"), axis=axis, title=None)


def _value_axis(
    series: Series,
    title: str | None,
    orient: str | None = None,
    tick_count: int = 6,
    top: float | None = None,
) -> alt.Axis:
    """A value axis; counts tick on whole numbers (``top``: the largest value drawn)."""
    axis = alt.Axis(format=_D3_NUMBER[series.unit], title=title, tickCount=tick_count)
    if orient:
        axis.orient = orient
    if series.unit == "count":
        axis.tickMinStep = 1
        top = max((v for v in series.values if v is not None), default=0) if top is None else top
        if 0 <= top < tick_count:  # d3 would tick at halves, each labelled as a whole
            axis.values = list(range(int(top) + 1))
    return axis


def _period_name(day: dt.date, period: Period, locale: str) -> str:
    return i18n.format_month(day, locale) if period == "month" else i18n.format_date(day, locale)


def _short_days(days: Sequence[dt.date], locale: str) -> list[str]:
    """``Mar 7``-style labels; short dates with the year when the days span two years."""
    if len({day.year for day in days}) > 1:
        return [i18n.format_date(day, locale, format="short") for day in days]
    return [i18n.format_day(day, locale) for day in days]


def d3_number_locale(locale: str, currency: str | None = None) -> dict[str, Any]:
    """The d3-format locale for axis numbers: the locale's symbols and, given a currency,
    that currency's symbol placed where the locale places it."""
    babel_locale = Locale.parse(locale)
    pattern = numbers.parse_pattern(babel_locale.currency_formats["standard"].pattern)
    symbols = babel_locale.number_symbols["latn"]
    symbol = numbers.get_currency_symbol(currency, locale) if currency else ""
    return {
        "decimal": symbols["decimal"],
        "thousands": symbols["group"],
        "grouping": [3],
        "currency": [
            pattern.prefix[0].replace("¤", symbol),
            pattern.suffix[0].replace("¤", symbol),
        ],
        "percent": symbols["percentSign"],
        "minus": symbols["minusSign"],
    }


# --- rendering ---------------------------------------------------------------------------


def render_svg(
    spec: dict[str, Any], locale: str = i18n.DEFAULT, currency: str | None = None
) -> str:
    """A Vega-Lite ``spec`` as SVG in the house style (its own ``config`` wins, key by key),
    formatted for ``locale``; a spec that names a URL to load is refused.

    The last :data:`CACHED` renders are kept by their spec, locale and currency: a page
    seen again before its data changes costs no render (one takes 50-100 ms here).
    """
    key = orjson.dumps(spec, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
    return _render_cached(key, locale, currency)


CACHED = 256


@lru_cache(maxsize=CACHED)
def _render_cached(key: bytes, locale: str, currency: str | None) -> str:
    spec = orjson.loads(key)
    own = spec.get("config", {})
    config = {**_CONFIG, **own}
    for name, value in _CONFIG.items():
        if isinstance(value, dict) and isinstance(own.get(name), dict):
            config[name] = {**value, **own[name]}
    house_font = "font" not in own
    if house_font:
        # Text is measured in one generic family: resolving the whole stack for every
        # label doubles the render time (bench/dashboard.py). The browser gets the stack.
        config["font"] = _MEASURE_FONT
    svg = vl_convert.vegalite_to_svg(
        {**spec, "config": config},
        format_locale=d3_number_locale(locale, currency),
        time_format_locale=_D3_TIME_LOCALE[locale],
        allowed_base_urls=[],
    )
    if house_font:
        svg = svg.replace(f'font-family="{_MEASURE_FONT}"', f'font-family="{_STACK_ATTR}"')
    return svg


def clear_cache() -> None:
    """Forget the kept renders (every chart is drawn anew)."""
    _render_cached.cache_clear()


def warm_up() -> float:
    """Start vl-convert's engine (the first render's cost); returns the seconds it took."""
    started = time.perf_counter()
    render_svg({"data": {"values": [{"x": 1}]}, "mark": "point"})
    return time.perf_counter() - started


def _layered(layers: Sequence[alt.Chart], **top: Any) -> dict[str, Any]:
    """The spec ``alt.LayerChart(layer=layers, **top)`` gives for layers without params or
    shared data, assembled from the layers' own specs: LayerChart deep-copies every layer,
    twice (a third of a chart's cost before drawing)."""
    spec = alt.Chart().to_dict(validate=False)  # $schema and the theme's config
    spec_data = spec.pop("data")  # altair's stand-in for "no data"
    spec.pop("datasets")
    drawn = []
    for layer in layers:
        one = layer.to_dict(validate=False)
        for name in ("$schema", "config", "datasets"):
            one.pop(name, None)
        if one.get("data") == spec_data:  # a layer without data of its own
            del one["data"]
        drawn.append(one)
    shared = [one.get("data") for one in drawn]
    if shared and shared[0] is not None and shared.count(shared[0]) == len(shared):
        spec["data"] = shared[0]  # as LayerChart does: data all layers share goes on top
        for one in drawn:
            del one["data"]
    spec["layer"] = drawn
    for name, value in top.items():
        spec[name] = value.to_dict(validate=False) if isinstance(value, alt.SchemaBase) else value
    return spec


def _render(
    chart: alt.Chart | dict[str, Any],
    datasets: dict[str, list[dict[str, Any]]],
    title: str,
    columns: tuple[str, ...],
    rows: tuple[tuple[str, ...], ...],
    locale: str,
    currency: str | None,
) -> Chart:
    # Not validated per render (it would cost more than the drawing): the tests check every
    # builder's spec against the Vega-Lite schema. Data joins as named datasets.
    own = chart if isinstance(chart, dict) else chart.to_dict(validate=False)
    spec = {**own, "datasets": datasets}
    svg = render_svg(spec, locale, currency)
    return Chart(_accessible(svg, title), _clean(title), columns, rows, spec=spec)


def _accessible(svg: str, title: str) -> Markup:
    """The SVG as one image named ``title``: ``role="img"``, ``aria-label`` and ``<title>``."""
    if not svg.startswith("<svg "):
        raise ValueError(f"vl-convert returned no <svg> element: {svg[:40]!r}")
    end = svg.index(">") + 1
    opening = svg[:end].replace("<svg ", "<svg " + _name_attrs(title), 1)
    return Markup(opening) + Markup("<title>%s</title>") % _clean(title) + Markup(svg[end:])


def _name_attrs(title: str) -> str:
    return str(Markup('role="img" aria-label="%s" ') % _clean(title))


def _empty(title: str, columns: tuple[str, ...], locale: str, width: int) -> Chart:
    message = i18n.gettext("No data for this period", locale)
    svg = Markup(
        '<svg xmlns="http://www.w3.org/2000/svg" %swidth="%d" height="%d" viewBox="0 0 %d %d">'
        '<title>%s</title><rect width="100%%" height="100%%" fill="white" stroke="#e6e6e6"/>'
        '<text x="50%%" y="50%%" text-anchor="middle" dominant-baseline="middle" '
        'font-family="%s" font-size="14" fill="%s">%s</text></svg>'
    ) % (
        Markup(_name_attrs(title)),
        width,
        EMPTY_HEIGHT,
        width,
        EMPTY_HEIGHT,
        _clean(title),
        FONT_STACK,
        TEXT,
        message,
    )
    return Chart(svg, _clean(title), columns, (), empty=True)
