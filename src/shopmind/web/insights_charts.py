"""The growth-insights charts, built from the JSON-ready results of
:class:`shopmind.insights.service.Insights` — shared by the dashboard's Insights pages and
the offline growth report (:mod:`shopmind.insights.report`), so both draw the same SVGs."""

from __future__ import annotations

import datetime as dt
from typing import Any

from shopmind.web import i18n
from shopmind.web.charts import Chart, Series, band_chart, bar_chart

_ = i18n.gettext
KPI_TITLES = {
    "sessions": (i18n.N_("Sessions"), "count"),
    "conversion_rate": (i18n.N_("Conversion rate"), "percent"),
    "revenue": (i18n.N_("Revenue"), "currency"),
    "aov": (i18n.N_("Average order value"), "currency"),
}


STEP_LABELS = {
    "view_item": i18n.N_("Viewed a product"),
    "add_to_cart": i18n.N_("Added to cart"),
    "begin_checkout": i18n.N_("Began checkout"),
    "add_payment_info": i18n.N_("Added payment details"),
    "add_shipping_info": i18n.N_("Added shipping details"),
    "purchase": i18n.N_("Bought"),
    "search": i18n.N_("Searched"),
    "view_search_results": i18n.N_("Saw search results"),
    "view_item_list": i18n.N_("Saw a product list"),
    "select_item": i18n.N_("Chose a product from a list"),
    "page_view": i18n.N_("Viewed a page"),
}


def step_label(name: str, locale: str) -> str:
    """A funnel step (a GA4 event name) in words, where it is a known one."""
    found = STEP_LABELS.get(name)
    return _(found, locale) if found else name


def funnel_steps(funnel: dict[str, Any], locale: str, *, width: int = 640) -> Chart:
    steps = funnel["steps"]
    unit = _("Sessions", locale) if funnel["unit"] == "session" else _("Shoppers", locale)
    return bar_chart(
        [step_label(s["name"], locale) for s in steps],
        Series(unit, [s["units"] for s in steps], "count"),
        title=_("Funnel", locale),
        category_title=_("Step", locale),
        locale=locale,
        width=width,
    )


GROUP_LABELS = {
    "mobile": i18n.N_("mobile"),
    "desktop": i18n.N_("desktop"),
    "tablet": i18n.N_("tablet"),
    "(not set)": i18n.N_("(not set)"),
    "(not signed in)": i18n.N_("(not signed in)"),
    "(no orders)": i18n.N_("(no orders)"),
}


def group_label(funnel: dict[str, Any], group: dict[str, Any], locale: str) -> str:
    """A funnel group as people read it: a product's title, a segment's or device's name,
    a day in the locale's way."""
    key, by = group["key"], funnel.get("by")
    if by == "segment" and key in SEGMENT_LABELS:
        return _(SEGMENT_LABELS[key], locale)
    if by in ("day", "week"):
        try:
            return i18n.format_date(dt.date.fromisoformat(key), locale)
        except ValueError:
            return key
    if key in GROUP_LABELS and by in ("device", "segment", "product"):
        return _(GROUP_LABELS[key], locale)
    return group.get("title") or key


GROUP_TITLES = {
    "device": i18n.N_("Conversion rate by device"),
    "source_medium": i18n.N_("Conversion rate by channel"),
}


def funnel_groups(
    funnel: dict[str, Any], locale: str, limit: int = 15, *, width: int = 640
) -> Chart:
    groups = funnel["groups"][:limit]
    names = [group_label(funnel, g, locale) for g in groups]
    return bar_chart(
        names,
        Series(_("Conversion rate", locale), [g["conversion"] for g in groups], "percent"),
        title=_(GROUP_TITLES.get(funnel.get("by") or "", "Conversion rate"), locale),
        category_title=_("Group", locale),
        locale=locale,
        width=width,
    )


def channel_conversion(
    acq: dict[str, Any], locale: str, limit: int = 15, *, width: int = 640
) -> Chart:
    rows = [c for c in acq["channels"] if c["sessions"]][:limit]
    return bar_chart(
        [c["channel"] for c in rows],
        Series(_("Conversion rate", locale), [c["conversion_rate"] for c in rows], "percent"),
        title=_("Conversion rate by channel", locale),
        category_title=_("Channel", locale),
        locale=locale,
        width=width,
    )


def channel_revenue(
    acq: dict[str, Any], locale: str, currency: str, limit: int = 15, *, width: int = 640
) -> Chart:
    rows = [c for c in acq["channels"] if c["sessions"]][:limit]
    return bar_chart(
        [c["channel"] for c in rows],
        Series(_("Revenue", locale), [c["revenue"] for c in rows], "currency", currency),
        title=_("Revenue by channel", locale),
        category_title=_("Channel", locale),
        locale=locale,
        width=width,
    )


def kpi_band(anomalies: dict[str, Any], kpi: str, locale: str, currency: str) -> Chart:
    label, unit = KPI_TITLES[kpi]
    days = [dt.date.fromisoformat(d["day"]) for d in anomalies["days"]]
    bands = [d["expected"].get(kpi) for d in anomalies["days"]]
    flagged = {(a["day"]) for a in anomalies["alerts"] if a["kpi"] == kpi}
    return band_chart(
        days,
        Series(_(label, locale), [d[kpi] for d in anomalies["days"]], unit,  # type: ignore[arg-type]
               currency if unit == "currency" else None),
        [b[1] if b else None for b in bands],
        [b[2] if b else None for b in bands],
        title=_(label, locale),
        flagged=[d["day"] in flagged for d in anomalies["days"]],
        locale=locale,
    )  # fmt: skip


def segment_sizes(segments: dict[str, Any], locale: str, *, width: int = 640) -> Chart:
    rows = segments["segments"]
    return bar_chart(
        [_(segment_label(s["segment"]), locale) for s in rows],
        Series(_("Customers", locale), [s["customers"] for s in rows], "count"),
        title=_("Customers per segment", locale),
        category_title=_("Segment", locale),
        locale=locale,
        width=width,
    )


def average_retention(cohorts: dict[str, Any], locale: str, *, width: int = 640) -> Chart:
    values = cohorts["average_retention"]
    last = max((i for i, v in enumerate(values) if v is not None), default=-1)
    return bar_chart(
        [_("Month %(n)s", locale) % {"n": i} for i in range(last + 1)],
        Series(_("Customers ordering", locale), values[: last + 1], "percent"),
        title=_("Retention after the first order", locale),
        category_title=_("Month", locale),
        locale=locale,
        width=width,
    )


def prob_alive(clv: dict[str, Any], locale: str, *, width: int = 640) -> Chart:
    bins = clv.get("prob_alive_histogram") or []
    return bar_chart(
        [f"{b['low']:.1f}–{b['high']:.1f}" for b in bins],
        Series(_("Customers", locale), [b["customers"] for b in bins], "count"),
        title=_("Probability a customer is still active", locale),
        category_title=_("Probability", locale),
        locale=locale,
        width=width,
    )


def top_searches(
    demand: dict[str, Any], locale: str, limit: int = 12, *, width: int = 640
) -> Chart:
    rows = demand["top_terms"][:limit]
    return bar_chart(
        [t["term"] for t in rows],
        Series(_("Searches", locale), [t["searches"] for t in rows], "count"),
        title=_("Top searches", locale),
        category_title=_("Search term", locale),
        locale=locale,
        width=width,
    )


SEGMENT_LABELS = {
    "champions": i18n.N_("Champions"),
    "new": i18n.N_("New"),
    "loyal": i18n.N_("Loyal"),
    "potential_loyalists": i18n.N_("Potential loyalists"),
    "cant_lose": i18n.N_("Can't lose them"),
    "at_risk": i18n.N_("At risk"),
    "hibernating": i18n.N_("Hibernating"),
    "lost": i18n.N_("Lost"),
}


def segment_label(name: str) -> str:
    return SEGMENT_LABELS.get(name, name)


SEGMENT_DESCRIPTIONS = {
    "champions": i18n.N_("bought recently, buy often and spend the most"),
    "new": i18n.N_("first order recently"),
    "loyal": i18n.N_("buy regularly"),
    "potential_loyalists": i18n.N_("recent customers with a few orders"),
    "cant_lose": i18n.N_("used to buy often, nothing for a long while"),
    "at_risk": i18n.N_("spent well or came back before, but not lately"),
    "hibernating": i18n.N_("one or two orders, some time ago"),
    "lost": i18n.N_("one order, long ago"),
}


def segment_description(name: str, locale: str) -> str:
    found = SEGMENT_DESCRIPTIONS.get(name)
    return _(found, locale) if found else ""


# -- recommendations: their kind, what their expected value assumes, their evidence ----------

REC_KINDS = {
    "anomalies": i18n.N_("Alert"),
    "segments": i18n.N_("Customer segments"),
    "funnel": i18n.N_("Funnel"),
    "acquisition": i18n.N_("Acquisition"),
    "products": i18n.N_("Products"),
    "demand": i18n.N_("Demand"),
    "clv": i18n.N_("Lifetime value"),
}


def rec_kind(rec: dict[str, Any], locale: str) -> str:
    found = REC_KINDS.get(rec.get("kind", ""))
    return _(found, locale) if found else str(rec.get("kind", ""))


EVIDENCE_LABELS = {
    "customers": i18n.N_("Customers"),
    "marketable": i18n.N_("Accept marketing e-mail"),
    "average_order_value": i18n.N_("Average order value"),
    "channel": i18n.N_("Channel"),
    "sessions": i18n.N_("Sessions"),
    "conversion_rate": i18n.N_("Conversion rate"),
    "conversion_ci": i18n.N_("Interval (95%)"),  # not "95% …": "% i" reads as a placeholder
    "store_conversion_rate": i18n.N_("Store conversion rate"),
    "roas": i18n.N_("ROAS"),
    "began_checkout": i18n.N_("Began checkout"),
    "did_not_pay": i18n.N_("Did not pay"),
    "widest_step": i18n.N_("Widest gap at"),
    "mobile": i18n.N_("Mobile conversion"),
    "desktop": i18n.N_("Desktop conversion"),
    "external_id": i18n.N_("Product id"),
    "title": i18n.N_("Product"),
    "category": i18n.N_("Category"),
    "view_sessions": i18n.N_("Sessions viewing it"),
    "orders": i18n.N_("Orders"),
    "conversion": i18n.N_("Conversion rate"),
    "category_conversion": i18n.N_("Category conversion rate"),
    "p_value": i18n.N_("p-value"),
    "complaint": i18n.N_("Most criticised in reviews"),
    "term": i18n.N_("Search term"),
    "searches": i18n.N_("Searches"),
    "earlier": i18n.N_("Earlier half"),
    "later": i18n.N_("Later half"),
    "growth": i18n.N_("Change in share"),
    "day": i18n.N_("Day"),
    "kpi": i18n.N_("Figure"),
    "value": i18n.N_("Value"),
    "expected": i18n.N_("Expected"),
    "share_of_value": i18n.N_("Share of expected value"),
}
_RATES = {"conversion_rate", "store_conversion_rate", "conversion", "category_conversion",
          "growth", "share_of_value"}  # fmt: skip
_MONEY = {"average_order_value"}
_HIDDEN = {"low", "high", "direction", "severity", "z", "change", "in_catalog"}


def evidence_items(rec: dict[str, Any], locale: str, currency: str) -> list[tuple[str, str]]:
    """A recommendation's evidence as (label, value) pairs to show, in the interface
    language; keys this module does not know are shown by name."""
    evidence = rec.get("evidence") or {}
    kpi = evidence.get("kpi") if rec.get("kind") == "anomalies" else None
    out = []
    for key, value in evidence.items():
        if key in _HIDDEN or value is None or value == "":
            continue
        label = EVIDENCE_LABELS.get(key)
        text = _evidence_value(key, value, kpi, locale, currency)
        if text:
            out.append((_(label, locale) if label else key, text))
    return out


def _evidence_value(key: str, value: Any, kpi: str | None, locale: str, currency: str) -> str:
    if key == "kpi":
        return _(KPI_TITLES[value][0], locale) if value in KPI_TITLES else str(value)
    if key in ("value", "expected") and kpi in KPI_TITLES:
        return kpi_value(kpi, value, locale, currency)
    if key in ("mobile", "desktop") and isinstance(value, dict):
        rate = value.get("conversion")
        return "" if rate is None else i18n.format_percent(rate, locale, 2)
    if key == "complaint" and isinstance(value, dict):
        return f"{value.get('aspect', '')} ({value.get('negative')}/{value.get('mentions')})"
    if key == "conversion_ci" and isinstance(value, list | tuple) and None not in value:
        return interval(value, locale)
    if key == "p_value":
        return p_value(value, locale)
    if key == "widest_step":
        return step_label(str(value), locale)
    if key == "roas":
        return i18n.format_number(value, locale, 2)
    if key == "day":
        return i18n.format_date(dt.date.fromisoformat(str(value)), locale)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value) if not isinstance(value, dict | list) else ""
    if key in _RATES:
        return i18n.format_percent(value, locale, 1)
    if key in _MONEY:
        return i18n.format_currency(value, currency, locale)
    return i18n.format_number(value, locale)


def kpi_value(kpi: str, value: float | None, locale: str, currency: str) -> str:
    """A daily KPI's value as the alerts show it."""
    if value is None:
        return "—"
    unit = KPI_TITLES.get(kpi, ("", "number"))[1]
    if unit == "percent":
        return i18n.format_percent(value, locale, 2)
    if unit == "currency":
        return i18n.format_currency(value, currency, locale)
    return i18n.format_number(value, locale, 0 if unit == "count" else None)


def interval(bounds: Any, locale: str, digits: int = 1) -> str:
    """A 95 % interval of a rate: ``1.2% – 3.4%``."""
    low, high = bounds
    if low is None or high is None:
        return "—"
    return (
        f"{i18n.format_percent(low, locale, digits)} – {i18n.format_percent(high, locale, digits)}"
    )


def p_value(p: float | None, locale: str) -> str:
    if p is None:
        return "—"
    if p < 0.001:
        return "< " + i18n.format_number(0.001, locale, 3)
    return i18n.format_number(p, locale, 3)


# -- cohorts: the retention matrix, shaded ----------------------------------------------------

# Light to dark blue; text turns white on the three darkest.
HEAT = ("#f1f6fb", "#d6e6f4", "#b4d1ea", "#84b3da", "#5291c6", "#2a6fb0", "#0b4f8c")


def heat_style(share: float | None) -> str:
    """An inline style shading a cell by ``share`` (0–1): one of :data:`HEAT`."""
    if share is None:
        return ""
    step = min(len(HEAT) - 1, max(0, int(share * (len(HEAT) - 1) + 0.5)))
    text = "#ffffff" if step >= len(HEAT) - 3 else "#1b1f24"
    return f"background:{HEAT[step]};color:{text}"


def retention_rows(cohorts: dict[str, Any], locale: str) -> list[dict[str, Any]]:
    """One row per cohort: its month, customers, and per month offset (as far as the oldest
    cohort reaches) a cell with the retention as text and its shade; months not yet ended
    are empty."""
    width = max((len(c["retention"]) for c in cohorts["cohorts"]), default=0)
    rows = []
    for c in cohorts["cohorts"]:
        month = dt.date.fromisoformat(c["cohort"] + "-01")
        cells = []
        for k in range(width):
            if k < len(c["retention"]):
                share = c["retention"][k]  # shaded by its square root: 5 % and 20 % differ
                cells.append({"text": i18n.format_percent(share, locale, 0),
                              "style": heat_style(share**0.5),
                              "active": c["active"][k]})  # fmt: skip
            else:
                cells.append({"text": "", "style": "", "active": None})
        rows.append({"cohort": i18n.format_month(month, locale), "customers": c["customers"],
                     "cells": cells})  # fmt: skip
    return rows
