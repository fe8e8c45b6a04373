"""The growth analyses give known answers: hand-made events and orders with answers worked
out by hand, a pure-Python oracle over a simulated store, and the simulator's ground truth.

The hand-made tables run on DuckDB (``from_frames``); :mod:`test_insights_engines` shows
that every engine gives the same answers as this one.
"""

from __future__ import annotations

import json
import sqlite3
import statistics
from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from insights_data import (
    SMALL,
    SMALL_PERIOD,
    at,
    event,
    hand_tables,
    session,
    simulated_store,
)
from shopmind.insights.acquisition import acquisition
from shopmind.insights.cohorts import cohorts
from shopmind.insights.common import Period, first_day, last_days, latest_day, wilson
from shopmind.insights.engine import InsightsError, Tables, from_frames, open_tables
from shopmind.insights.funnel import funnel
from shopmind.insights.segments import rfm_table, segment_customers, segments
from shopmind.simulate import SimulationConfig
from shopmind.store import Store

# -- the funnel -----------------------------------------------------------------------------

WEEK = Period(date(2026, 3, 2), date(2026, 3, 8))  # Monday … Sunday; the week before compares
CHECKOUT = ("add_to_cart", "begin_checkout", "purchase")
FUNNEL_EVENTS = [
    # u1, session a: the whole funnel in order (P1, 50)
    *session(
        "u1", "a",
        [("view_item", "2026-03-02 10:00"), ("add_to_cart", "2026-03-02 10:01"),
         ("begin_checkout", "2026-03-02 10:02"), ("purchase", "2026-03-02 10:03")],
        source="google", medium="cpc", device="mobile", item="P1", customer="C1",
        value=50.0, txn="T1",
    ),
    # u2: add_to_cart before view_item does not count, nor anything after it
    *session(
        "u2", "b",
        [("add_to_cart", "2026-03-03 09:00"), ("view_item", "2026-03-03 09:01"),
         ("begin_checkout", "2026-03-03 09:02"), ("purchase", "2026-03-03 09:03")],
        source="facebook", medium="paid_social", device="desktop", item="SKU-2",
        value=30.0, txn="T2",
    ),
    # u3: skips begin_checkout, buys (20) — only when begin_checkout is optional
    *session(
        "u3", "c",
        [("view_item", "2026-03-04 12:00"), ("add_to_cart", "2026-03-04 12:05"),
         ("purchase", "2026-03-04 12:10")],
        source="google", medium="cpc", device="desktop", item="P1", customer="C3",
        value=20.0, txn="T3",
    ),
    # u4: buys (40) 90 minutes after entering: outside a 60-minute window; no source
    *session(
        "u4", "d",
        [("view_item", "2026-03-05 08:00"), ("add_to_cart", "2026-03-05 08:01"),
         ("begin_checkout", "2026-03-05 08:02"), ("purchase", "2026-03-05 09:30")],
        device="mobile", item="SKU-2", value=40.0, txn="T4",
    ),
    # u1 again, a second session that only looks
    *session(
        "u1", "a2", [("view_item", "2026-03-06 15:00")],
        source="newsletter", medium="email", device="tablet", item="P3", customer="C1",
    ),
    # u6 looks and carts in one session, checks out and buys (70) the next day in another
    *session(
        "u6", "f", [("view_item", "2026-03-07 10:00"), ("add_to_cart", "2026-03-07 10:01")],
        source="google", medium="organic", device="desktop", item="P1", customer="C6",
    ),
    *session(
        "u6", "g",
        [("begin_checkout", "2026-03-08 09:00"), ("purchase", "2026-03-08 09:05")],
        source="google", medium="organic", device="desktop", item="P1", customer="C6",
        value=70.0, txn="T6",
    ),
    # the week before: u5 carts; u8's session begins at 23:59 on its last day, so it
    # belongs to that week even though it views an item again after midnight
    *session(
        "u5", "e", [("view_item", "2026-02-25 10:00"), ("add_to_cart", "2026-02-25 10:01")],
        source="google", medium="cpc", device="mobile", item="P1",
    ),
    *session(
        "u8", "late",
        [("view_item", "2026-03-01 23:59"), ("add_to_cart", "2026-03-02 00:01"),
         ("view_item", "2026-03-02 00:02")],
        source="bing", medium="organic", device="mobile", item="P1",
    ),
    # after the week: not counted
    *session(
        "u7", "h", [("view_item", "2026-03-09 10:00"), ("add_to_cart", "2026-03-09 10:01")],
        source="google", medium="cpc", device="mobile", item="P1",
    ),
    # events of other names are ignored
    event("page_view", "2026-03-02 09:59", "u1", "a", source="google", medium="cpc"),
]  # fmt: skip
FUNNEL_PRODUCTS = [
    {"id": 1, "external_id": "P1", "title": "Blue Mug"},
    {"id": 2, "external_id": "P2", "title": "Red Cup"},
]
FUNNEL_VARIANTS = [{"id": 20, "external_id": "V2", "product_id": 2, "sku": "SKU-2"}]
FUNNEL_CUSTOMERS = [{"id": n, "external_id": f"C{n}"} for n in (1, 3, 6)]
FUNNEL_ORDERS = [  # C1 bought twice, lately; C3 once, long ago; C6 never
    {"id": 1, "customer_id": 1, "created_at": at("2026-03-02 10:03"), "total": 50.0},
    {"id": 2, "customer_id": 1, "created_at": at("2026-02-10 10:00"), "total": 20.0},
    {"id": 3, "customer_id": 3, "created_at": at("2026-01-05 10:00"), "total": 20.0},
]


@pytest.fixture(scope="module")
def shop() -> Tables:
    return hand_tables(
        events=FUNNEL_EVENTS,
        products=FUNNEL_PRODUCTS,
        variants=FUNNEL_VARIANTS,
        customers=FUNNEL_CUSTOMERS,
        orders=FUNNEL_ORDERS,
    )


def test_funnel_counts_steps_in_order_within_the_session(shop: Tables) -> None:
    result = funnel(shop, WEEK)
    # sessions a, b, c, d, a2, f enter (g never views; u8's began the week before);
    # b's add_to_cart came before its view_item, so b stops at the first step
    assert result.totals == [6, 4, 2, 2]
    assert result.value == 90.0  # a and d bought
    assert result.previous == [2, 2, 0, 0]  # e and u8's late session
    assert result.previous_value == 0.0
    data = result.to_dict()
    assert [s["units"] for s in data["steps"]] == [6, 4, 2, 2]
    assert [s["drop_off"] for s in data["steps"]] == [None, 2, 2, 0]
    assert data["steps"][1]["rate_from_previous"] == pytest.approx(4 / 6)
    assert data["steps"][1]["change"] == pytest.approx(4 / 2 - 1)
    assert data["conversion"] == pytest.approx(2 / 6)
    assert data["conversion_ci"] == pytest.approx(list(wilson(2, 6)))
    assert data["previous_period"] == {"start": "2026-02-23", "end": "2026-03-01"}
    assert data["previous_conversion"] == 0.0 and data["conversion_change"] is None


def test_optional_step_may_be_skipped(shop: Tables) -> None:
    result = funnel(shop, WEEK, ["view_item", *CHECKOUT], optional=["begin_checkout"])
    assert result.totals == [6, 4, 2, 3]  # c bought without checking out
    assert result.value == 110.0
    steps = result.to_dict()["steps"]
    assert steps[2]["optional"] and not steps[3]["optional"]
    # an optional step is skipped when rating the next one: 3 of the 4 carts bought
    assert steps[3]["rate_from_previous"] == pytest.approx(3 / 4)
    assert steps[3]["drop_off"] == 1
    same = funnel(shop, WEEK, "view_item, add_to_cart, begin_checkout?, purchase")
    assert same.totals == result.totals


def test_conversion_window_excludes_a_late_purchase(shop: Tables) -> None:
    assert funnel(shop, WEEK, window_minutes=60).totals == [6, 4, 2, 1]  # not d's, at 90 min
    assert funnel(shop, WEEK, window_minutes=60).value == 50.0
    assert funnel(shop, WEEK, window_minutes=90).totals == [6, 4, 2, 2]  # the edge counts


def test_user_funnel_follows_a_shopper_across_sessions(shop: Tables) -> None:
    result = funnel(shop, WEEK, unit="user")
    # u1, u2, u3, u4, u6, and u8 (whose first view in the week is after midnight); u6
    # buys in another session, within the 7-day window; u8 carted before that view
    assert result.totals == [6, 4, 3, 3]
    assert result.value == 160.0
    assert result.window_minutes == 7 * 24 * 60
    assert result.previous == [2, 2, 0, 0]  # u5 and u8
    assert funnel(shop, WEEK, unit="user", window_minutes=60).totals == [6, 4, 2, 1]


def _groups(result: Any) -> dict[str, tuple[list[int], float | None]]:
    return {g["key"]: (g["units"], g["value"]) for g in result.groups}


def test_funnel_breakdowns(shop: Tables) -> None:
    by_source = funnel(shop, WEEK, by="source", compare=False)
    assert [g["key"] for g in by_source.groups] == [
        "google", "(not set)", "facebook", "newsletter",
    ]  # fmt: skip
    assert _groups(by_source) == {
        "google": ([3, 3, 1, 1], 50.0),
        "(not set)": ([1, 1, 1, 1], 40.0),
        "facebook": ([1, 0, 0, 0], 0.0),
        "newsletter": ([1, 0, 0, 0], 0.0),
    }
    assert by_source.groups[0]["conversion"] == pytest.approx(1 / 3)
    by_device = funnel(shop, WEEK, by="device", compare=False)
    assert list(_groups(by_device).items()) == [
        ("desktop", ([3, 2, 0, 0], 0.0)),
        ("mobile", ([2, 2, 2, 2], 90.0)),
        ("tablet", ([1, 0, 0, 0], 0.0)),
    ]
    by_day = funnel(shop, WEEK, by="day", compare=False)
    assert [g["key"] for g in by_day.groups] == [
        "2026-03-02", "2026-03-03", "2026-03-04", "2026-03-05", "2026-03-06", "2026-03-07",
    ]  # fmt: skip
    assert by_day.groups[0]["units"] == [1, 1, 1, 1]
    by_week = funnel(shop, WEEK, by="week", compare=False)
    assert _groups(by_week) == {"2026-03-02": ([6, 4, 2, 2], 90.0)}
    by_sm = funnel(shop, WEEK, by="source_medium", compare=False)
    assert _groups(by_sm)["google / cpc"] == ([2, 2, 1, 1], 50.0)
    assert _groups(by_sm)["(not set) / (not set)"] == ([1, 1, 1, 1], 40.0)


def test_funnel_by_product_names_products_and_skus(shop: Tables) -> None:
    result = funnel(shop, WEEK, by="product", compare=False)
    got = {g["key"]: (g["units"], g["title"]) for g in result.groups}
    assert got == {
        "P1": ([3, 3, 1, 1], "Blue Mug"),
        "SKU-2": ([2, 1, 1, 1], "Red Cup"),  # a variant's SKU, through variants
        "P3": ([1, 0, 0, 0], None),  # not in the catalogue
    }


def test_funnel_by_segment_puts_shoppers_in_their_rfm_segment(shop: Tables) -> None:
    result = funnel(shop, WEEK, by="segment", compare=False)
    # as of the week's end C1 (two orders, lately) is a champion and C3 (one, long ago)
    # lost; C6 has no orders; u2's and u4's sessions were not signed in
    assert list(_groups(result).items()) == [
        ("(not signed in)", ([2, 1, 1, 1], 40.0)),
        ("champions", ([2, 1, 1, 1], 50.0)),
        ("(no orders)", ([1, 1, 0, 0], 0.0)),
        ("lost", ([1, 1, 0, 0], 0.0)),
    ]


def test_funnel_of_other_steps_has_no_value(shop: Tables) -> None:
    result = funnel(shop, WEEK, "view_item,add_to_cart", compare=False, by="device")
    assert result.totals == [6, 4] and result.value is None
    assert all(g["value"] is None for g in result.groups)


# -- acquisition and attribution ------------------------------------------------------------

APRIL = Period(date(2026, 4, 1), date(2026, 4, 30))
VIEW = "view_item"
JOURNEYS = [
    # A: google → facebook → direct, then buys 100 in the direct session
    *session("a", "a1", [(VIEW, "2026-04-02 10:00")], source="google", medium="cpc",
             campaign="shopping"),
    *session("a", "a2", [(VIEW, "2026-04-05 11:00")], source="facebook",
             medium="paid_social", campaign="prospecting"),
    *session("a", "a3", [(VIEW, "2026-04-09 12:00"), ("purchase", "2026-04-09 12:05")],
             value=100.0, txn="T1"),
    # B: google → newsletter, buys 60 there; the purchase is sent twice
    *session("b", "b1", [(VIEW, "2026-04-10 09:00")], source="google", medium="cpc",
             campaign="shopping"),
    *session("b", "b2", [(VIEW, "2026-04-12 18:00"), ("purchase", "2026-04-12 18:05"),
                         ("purchase", "2026-04-12 18:06")],
             source="newsletter", medium="email", campaign="weekly", value=60.0, txn="T2"),
    # C: bing 42 days before buying 80 through google organic; 30 days look back by default
    *session("c", "c0", [(VIEW, "2026-02-20 10:00")], source="bing", medium="organic"),
    *session("c", "c1", [(VIEW, "2026-04-03 12:00"), ("purchase", "2026-04-03 12:10")],
             source="google", medium="organic", value=80.0, txn="T3"),
]  # fmt: skip
AD_SPEND = [
    {"day": date(2026, 3, 31), "source": "google", "medium": "cpc", "campaign": "shopping",
     "spend": 999.0},  # the day before the period
    {"day": date(2026, 4, 1), "source": "google", "medium": "cpc", "campaign": "shopping",
     "spend": 30.0},
    {"day": date(2026, 4, 15), "source": "google", "medium": "cpc", "campaign": "",
     "spend": 20.0},
    {"day": date(2026, 4, 2), "source": "facebook", "medium": "paid_social",
     "campaign": "prospecting", "spend": 45.0},
    {"day": date(2026, 4, 5), "source": "tiktok", "medium": "paid_social",
     "campaign": "creators", "spend": 10.0},  # no session came
]  # fmt: skip
GCPC, FB, DIRECT = "google / cpc", "facebook / paid_social", "(direct) / (none)"
GORG, NEWS, BING = "google / organic", "newsletter / email", "bing / organic"


@pytest.fixture(scope="module")
def journeys() -> Tables:
    return hand_tables(events=JOURNEYS)


def _credit(result: Any, model: str) -> dict[str, tuple[float, float]]:
    return {
        c["channel"]: (c["attributed"][model]["conversions"], c["attributed"][model]["revenue"])
        for c in result.channels
        if c["attributed"][model]["conversions"]
    }


def test_channels_count_sessions_conversions_and_revenue_once(journeys: Tables) -> None:
    result = acquisition(journeys, APRIL)
    rows = {c["channel"]: (c["sessions"], c["conversions"], c["revenue"]) for c in result.channels}
    assert [c["channel"] for c in result.channels] == [GCPC, DIRECT, FB, GORG, NEWS]
    assert rows == {
        GCPC: (2, 0, 0.0),
        DIRECT: (1, 1, 100.0),  # no source: direct
        FB: (1, 0, 0.0),
        GORG: (1, 1, 80.0),
        NEWS: (1, 1, 60.0),  # T2 sent twice counts once
    }
    assert result.totals == {
        "sessions": 6, "users": 3, "conversions": 3, "conversion_rate": 0.5,
        "revenue": 240.0, "spend": None, "roas": None,
    }  # fmt: skip
    assert not result.has_spend


def test_attribution_models_share_a_purchase_among_sessions(journeys: Tables) -> None:
    result = acquisition(journeys, APRIL)
    assert _credit(result, "first_touch") == {GCPC: (2.0, 160.0), GORG: (1.0, 80.0)}
    assert _credit(result, "last_touch") == {
        DIRECT: (1.0, 100.0), NEWS: (1.0, 60.0), GORG: (1.0, 80.0),
    }  # fmt: skip
    assert _credit(result, "linear") == {  # A: a third each; B: half each
        GCPC: (0.833, 63.33), FB: (0.333, 33.33), DIRECT: (0.333, 33.33),
        NEWS: (0.5, 30.0), GORG: (1.0, 80.0),
    }  # fmt: skip
    assert _credit(result, "position_based") == {  # A: 40/20/40 %; B: 50/50 %
        GCPC: (0.9, 70.0), FB: (0.2, 20.0), DIRECT: (0.4, 40.0),
        NEWS: (0.5, 30.0), GORG: (1.0, 80.0),
    }  # fmt: skip
    for model in ("first_touch", "last_touch", "linear", "position_based"):
        credit = _credit(result, model)
        assert sum(c for c, _ in credit.values()) == pytest.approx(3.0, abs=0.002), model


def test_look_back_decides_which_sessions_share(journeys: Tables) -> None:
    wide = acquisition(journeys, APRIL, lookback_days=60)
    # C's bing session (42 days before) now shares; bing had no session in April but
    # still shows, with its credit
    assert _credit(wide, "first_touch") == {GCPC: (2.0, 160.0), BING: (1.0, 80.0)}
    assert _credit(wide, "position_based")[GORG] == (0.5, 40.0)
    assert _credit(wide, "position_based")[BING] == (0.5, 40.0)
    bing = next(c for c in wide.channels if c["channel"] == BING)
    assert bing["sessions"] == 0 and bing["conversion_rate"] is None
    assert wide.channels[-1] is bing  # after the channels with sessions
    short = acquisition(journeys, APRIL, lookback_days=1)  # each buyer's own session only
    assert _credit(short, "first_touch") == _credit(short, "last_touch")


def test_ad_spend_gives_cost_per_acquisition_and_roas() -> None:
    tables = hand_tables(events=JOURNEYS, ad_spend=AD_SPEND)
    result = acquisition(tables, APRIL, model="linear")
    rows = {c["channel"]: c for c in result.channels}
    assert result.has_spend
    assert rows[GCPC]["spend"] == 50.0  # 30 + 20; not the 999 of March 31
    # linear: A's third (33.33) and B's half (30) to google cpc
    assert rows[GCPC]["cpa"] == pytest.approx(50.0 / (1 / 3 + 1 / 2))  # 60.00
    assert rows[GCPC]["roas"] == pytest.approx((100 / 3 + 30) / 50.0)
    assert rows[FB]["spend"] == 45.0
    assert rows[FB]["cpa"] == pytest.approx(45.0 / (1 / 3))
    assert rows[FB]["roas"] == pytest.approx((100 / 3) / 45.0)
    tiktok = rows["tiktok / paid_social"]  # paid for, no session: no acquisition at all
    assert (tiktok["sessions"], tiktok["spend"], tiktok["cpa"], tiktok["roas"]) == (
        0, 10.0, None, 0.0,
    )  # fmt: skip
    assert rows[NEWS]["spend"] is None and rows[NEWS]["cpa"] is None
    assert result.totals["spend"] == 105.0
    assert result.totals["roas"] == pytest.approx(240.0 / 105.0)
    first = {c["channel"]: c for c in acquisition(tables, APRIL, model="first_touch").channels}
    assert first[GCPC]["cpa"] == 25.0 and first[GCPC]["roas"] == 160.0 / 50.0
    assert first[FB]["cpa"] is None and first[FB]["roas"] == 0.0  # no first touches
    by_source = {c["channel"]: c for c in acquisition(tables, APRIL, level="source").channels}
    assert (by_source["google"]["sessions"], by_source["google"]["spend"]) == (3, 50.0)
    by_campaign = acquisition(tables, APRIL, level="campaign")
    spend = {c["channel"]: c["spend"] for c in by_campaign.channels if c["spend"]}
    assert spend == {"shopping": 30.0, "(not set)": 20.0, "prospecting": 45.0, "creators": 10.0}


def test_events_without_a_session_id_make_one_session_a_day() -> None:
    tables = hand_tables(
        events=[
            event(VIEW, "2026-04-20 10:00", "n", None, source="google", medium="cpc"),
            event("purchase", "2026-04-20 15:00", "n", None, value=10.0, txn="T9"),
            event(VIEW, "2026-04-21 09:00", "n", None),
        ]
    )
    result = acquisition(tables, APRIL)
    rows = {c["channel"]: (c["sessions"], c["conversions"], c["revenue"]) for c in result.channels}
    # the first event of the day names the channel of the day's session
    assert rows == {GCPC: (1, 1, 10.0), DIRECT: (1, 0, 0.0)}


def test_acquisition_compares_with_the_period_before(journeys: Tables) -> None:
    may = acquisition(journeys, Period(date(2026, 5, 1), date(2026, 5, 30)))
    assert may.totals["sessions"] == 0 and may.channels == []
    assert may.previous_totals is not None and may.previous_totals["revenue"] == 240.0
    assert may.to_dict()["changes"]["revenue"] == pytest.approx(-1.0)


# -- RFM segments ---------------------------------------------------------------------------

AS_OF = date(2026, 6, 30)
# who: (days since the last order, orders, amount per order) → R, F, M, segment
RFM = {
    "A": (1, 6, 150.0, 5, 5, 5, "champions"),
    "B": (5, 1, 30.0, 5, 1, 1, "new"),
    "C": (30, 3, 50.0, 3, 3, 3, "loyal"),
    "D": (20, 2, 30.0, 4, 2, 2, "potential_loyalists"),
    "E": (60, 5, 120.0, 2, 5, 5, "cant_lose"),
    "F": (120, 3, 70.0, 1, 3, 4, "at_risk"),
    "G": (80, 1, 45.0, 2, 1, 2, "hibernating"),
    "H": (170, 1, 20.0, 1, 1, 1, "lost"),
    "I": (10, 4, 100.0, 4, 4, 4, "champions"),
}


def _rfm_tables(extra_orders: Sequence[dict[str, Any]] = ()) -> Tables:
    customers, orders = [], []
    for n, (who, (recency, count, amount, *_)) in enumerate(RFM.items(), start=1):
        customers.append(
            {"id": n, "external_id": f"C{who}", "email": f"{who.lower()}@example.com",
             "first_name": who, "accepts_marketing": who in "ABE",
             "created_at": at("2025-01-01 00:00")}
        )  # fmt: skip
        last = datetime.combine(AS_OF - timedelta(days=recency), datetime.min.time())
        for k in range(count):
            orders.append(
                {"id": len(orders) + 1, "customer_id": n, "email": f"{who.lower()}@example.com",
                 "created_at": last - timedelta(days=10 * k, hours=-9), "total": amount}
            )  # fmt: skip
    extra = [dict(o, id=len(orders) + k) for k, o in enumerate(extra_orders, start=1)]
    return hand_tables(customers=customers, orders=orders + extra)


def test_rfm_scores_and_segments_of_hand_made_customers() -> None:
    tables = _rfm_tables(
        [  # neither counts: cancelled, or after the day
            {"customer_id": 8, "created_at": at("2026-06-28 12:00"), "total": 999.0,
             "cancelled_at": at("2026-06-29 12:00")},
            {"customer_id": 2, "created_at": at("2026-07-02 12:00"), "total": 500.0},
        ]
    )  # fmt: skip
    frame = tables.execute(rfm_table(tables, AS_OF))
    got = {
        row["first_name"]: (row["recency_days"], row["orders"], row["monetary"], row["r"],
                            row["f"], row["m"], row["segment"])
        for row in frame.to_dict("records")
    }  # fmt: skip
    want = {
        who: (recency, count, count * amount, r, f, m, name)
        for who, (recency, count, amount, r, f, m, name) in RFM.items()
    }
    assert got == want  # B, G and H share F = 1: one order each


def test_segment_summary_and_export() -> None:
    tables = _rfm_tables()
    result = segments(tables, AS_OF)
    assert result.customers == 9
    rows = {s["segment"]: s for s in result.segments}
    assert list(rows) == [
        "champions", "new", "loyal", "potential_loyalists", "cant_lose", "at_risk",
        "hibernating", "lost",
    ]  # fmt: skip
    champions = rows["champions"]  # A and I
    assert (champions["customers"], champions["revenue"], champions["marketable"]) == (2, 1300, 1)
    assert champions["share"] == pytest.approx(2 / 9)
    assert champions["avg_orders"] == 5.0 and champions["avg_recency_days"] == 5.5
    assert all(rows[s]["customers"] == 1 for s in rows if s != "champions")
    people = segment_customers(tables, AS_OF, "champions")
    assert [p["external_id"] for p in people] == ["CA", "CI"]  # most valuable first
    assert people[0] == {
        "customer_id": 1, "external_id": "CA", "email": "a@example.com",
        "first_name": "A", "last_name": None, "accepts_marketing": True,
        "segment": "champions", "r": 5, "f": 5, "m": 5, "recency_days": 1, "orders": 6,
        "monetary": 900.0, "first_order": "2026-05-10", "last_order": "2026-06-29",
    }  # fmt: skip
    top = segment_customers(tables, AS_OF, limit=3)
    assert [p["external_id"] for p in top] == ["CA", "CE", "CI"]


def test_orders_without_a_customer_count_by_email() -> None:
    tables = hand_tables(
        orders=[
            {"id": 1, "email": "Guest@Example.com", "created_at": at("2026-06-01 10:00"),
             "total": 10.0},
            {"id": 2, "email": "guest@example.com", "created_at": at("2026-06-20 10:00"),
             "total": 15.0},
            {"id": 3, "email": "other@example.com", "created_at": at("2026-06-25 10:00"),
             "total": 5.0},
        ]
    )  # fmt: skip
    people = {p["email"]: p for p in segment_customers(tables, AS_OF)}
    assert people["guest@example.com"]["orders"] == 2
    assert people["guest@example.com"]["monetary"] == 25.0
    assert people["guest@example.com"]["customer_id"] is None
    assert segments(tables, AS_OF).customers == 2


# -- cohorts --------------------------------------------------------------------------------

COHORT_ORDERS = [  # (customer, day, total)
    (1, "2026-01-05", 10.0), (1, "2026-02-10", 20.0), (1, "2026-04-02", 30.0),
    (2, "2026-01-20", 40.0), (2, "2026-03-03", 50.0),
    (3, "2026-01-25", 60.0),
    (4, "2026-02-14", 70.0), (4, "2026-03-01", 80.0), (4, "2026-04-20", 90.0),
    (5, "2026-04-10", 100.0),
]  # fmt: skip


@pytest.fixture(scope="module")
def cohort_tables() -> Tables:
    orders = [
        {"id": n, "customer_id": c, "created_at": at(f"{day} 12:00"), "total": total}
        for n, (c, day, total) in enumerate(COHORT_ORDERS, start=1)
    ]
    cancelled = {"id": 99, "customer_id": 3, "created_at": at("2026-02-05 12:00"),
                 "total": 999.0, "cancelled_at": at("2026-02-06 12:00")}  # fmt: skip
    return hand_tables(orders=[*orders, cancelled])


def test_cohorts_retention_leaves_out_months_not_ended(cohort_tables: Tables) -> None:
    result = cohorts(cohort_tables, date(2026, 4, 15))  # April has not ended
    got = {c["cohort"]: (c["customers"], c["active"], c["revenue"]) for c in result.cohorts}
    assert got == {
        "2026-01": (3, [3, 1, 1], [110.0, 20.0, 50.0]),  # not customer 1's April order
        "2026-02": (1, [1, 1], [70.0, 80.0]),
        "2026-04": (1, [1], [100.0]),  # month 0 is always there
    }
    january = result.cohorts[0]
    assert january["retention"] == pytest.approx([1.0, 1 / 3, 1 / 3])
    assert january["revenue_per_customer"] == [36.67, 6.67, 16.67]
    average = result.average_retention()
    assert len(average) == 13
    assert average[:3] == pytest.approx([1.0, 2 / 4, 1 / 3])  # weighted by cohort size
    assert average[3:] == [None] * 10


def test_cohorts_at_a_month_end_include_that_month(cohort_tables: Tables) -> None:
    result = cohorts(cohort_tables, date(2026, 4, 30))
    got = {c["cohort"]: c["active"] for c in result.cohorts}
    assert got == {"2026-01": [3, 1, 1, 1], "2026-02": [1, 1, 1], "2026-04": [1]}
    only_recent = cohorts(cohort_tables, date(2026, 4, 30), months=1)  # March and April
    assert [c["cohort"] for c in only_recent.cohorts] == ["2026-04"]
    assert cohorts(cohort_tables, date(2026, 4, 30), months=2).cohorts[0]["active"] == [1, 1, 1]


def test_cohorts_from_a_first_month(cohort_tables: Tables) -> None:
    result = cohorts(cohort_tables, date(2026, 4, 30), first=date(2026, 2, 1))
    assert [c["cohort"] for c in result.cohorts] == ["2026-02", "2026-04"]


def test_default_period_ends_on_the_latest_day(shop: Tables) -> None:
    assert latest_day(shop) == date(2026, 3, 9)  # u7's view, after the week
    assert first_day(shop) == date(2026, 1, 5)  # C3's order
    assert last_days(shop, 7) == Period(date(2026, 3, 3), date(2026, 3, 9))


# -- errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda t: Period(date(2026, 3, 8), date(2026, 3, 2)), "2026-03-02"),
        (lambda t: funnel(t, WEEK, "view_item,add to cart"), "'add to cart'"),
        (lambda t: funnel(t, WEEK, ["view_item"]), "view_item"),
        (lambda t: funnel(t, WEEK, "view_item?,purchase"), "'view_item'"),
        (lambda t: funnel(t, WEEK, "view_item,purchase,purchase"), "'purchase'"),
        (lambda t: funnel(t, WEEK, by="colour"), "'colour'"),
        (lambda t: funnel(t, WEEK, unit="visitor"), "'visitor'"),
        (lambda t: funnel(t, WEEK, window_minutes=0), "window"),
        (lambda t: acquisition(t, APRIL, model="time_decay"), "'time_decay'"),
        (lambda t: acquisition(t, APRIL, level="country"), "'country'"),
        (lambda t: acquisition(t, APRIL, lookback_days=0), "look-back"),
        (lambda t: segment_customers(t, AS_OF, "vip"), "'vip'"),
        (lambda t: cohorts(t, AS_OF, months=0), "1 to 60"),
        (lambda t: from_frames({"visits": []}), "'visits'"),
        (lambda t: from_frames({}, "postgres"), "postgres"),
    ],
)
def test_bad_requests_name_what_is_wrong(journeys: Tables, call: Any, message: str) -> None:
    with pytest.raises(InsightsError, match=message):
        call(journeys)


def test_engine_choices_that_cannot_run(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    store.upgrade()
    with pytest.raises(InsightsError, match="insights_spark_path"):
        open_tables(store, "spark")  # the Spark engine reads Parquet, never the store
    with pytest.raises(InsightsError, match="sqlite"):
        open_tables(store, "postgres")
    with pytest.raises(InsightsError, match="'mysql'"):
        open_tables(store, "mysql")  # type: ignore[arg-type]
    empty = open_tables(store)  # an empty store: zeros, not errors
    try:
        assert funnel(empty, WEEK).totals == [0, 0, 0, 0]
        assert acquisition(empty, APRIL).channels == []
        assert segments(empty, AS_OF).customers == 0
    finally:
        empty.close()
    store.dispose()


# -- an independent oracle over a simulated store ---------------------------------------------


@pytest.fixture(scope="module")
def small_store(tmp_path_factory: pytest.TempPathFactory) -> Any:
    path = tmp_path_factory.mktemp("small") / "store.db"
    store = simulated_store(f"sqlite:///{path}", SMALL)
    yield store, path
    store.dispose()


def _sessions(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """The store's events per session (plain SQL, no Ibis), in time order."""
    with sqlite3.connect(path) as db:
        rows = db.execute(
            "SELECT ts, name, user_id, session_id, source, medium, device, value,"
            " transaction_id, event_id FROM events"
        ).fetchall()
    out: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    for ts, name, user, sid, *rest in rows:
        moment = datetime.fromisoformat(ts)
        key = f"{user}|{sid}" if sid is not None else f"{user}|day|{moment.date()}"
        out[key].append((moment, name, *rest))
    for events in out.values():
        events.sort(key=lambda e: (e[0], e[-1]))
    return out


def _oracle_funnel(
    sessions: dict[str, list[tuple[Any, ...]]], period: Period, steps: list[str]
) -> tuple[list[int], dict[str, list[int]]]:
    """Sessions entering with their first ``steps[0]`` event in the period, and how many
    then reach each step in order; per device of the entering event too."""
    totals = [0] * len(steps)
    by_device: dict[str, list[int]] = defaultdict(lambda: [0] * len(steps))
    for events in sessions.values():
        first = next((e for e in events if e[1] == steps[0]), None)
        if first is None or not period.lo <= first[0] < period.hi:
            continue
        reached, moment = 1, first[0]
        for step in steps[1:]:
            hit = next((e for e in events if e[1] == step and e[0] >= moment), None)
            if hit is None:
                break
            reached, moment = reached + 1, hit[0]
        for k in range(reached):
            totals[k] += 1
            by_device[first[4]][k] += 1
    return totals, dict(by_device)


def _oracle_channels(
    sessions: dict[str, list[tuple[Any, ...]]], period: Period
) -> dict[str, tuple[int, int, float]]:
    """Per source / medium of a session's first event: sessions starting in the period,
    those with a purchase, and their revenue (each transaction once)."""
    out: dict[str, list[Any]] = defaultdict(lambda: [0, 0, 0.0])
    for events in sessions.values():
        start = events[0]
        if not period.lo <= start[0] < period.hi:
            continue
        row = out[f"{start[2] or '(direct)'} / {start[3] or '(none)'}"]
        bought = {e[6]: e[5] for e in events if e[1] == "purchase"}
        row[0] += 1
        row[1] += bool(bought)
        row[2] += sum(float(v or 0) for v in bought.values())
    return {k: (n, k2, round(r, 2)) for k, (n, k2, r) in out.items()}


def test_funnel_matches_an_independent_oracle(small_store: Any) -> None:
    store, path = small_store
    sessions = _sessions(path)
    tables = open_tables(store)
    try:
        for steps in (
            ["view_item", "add_to_cart", "begin_checkout", "purchase"],
            ["view_item_list", "view_item", "add_to_cart", "add_payment_info", "purchase"],
        ):
            want, want_devices = _oracle_funnel(sessions, SMALL_PERIOD, steps)
            result = funnel(tables, SMALL_PERIOD, steps, by="device", compare=False)
            assert want[-1] > 10 and result.totals == want, steps
            assert {g["key"]: g["units"] for g in result.groups} == want_devices
    finally:
        tables.close()


def test_channels_match_an_independent_oracle(small_store: Any) -> None:
    store, path = small_store
    want = _oracle_channels(_sessions(path), SMALL_PERIOD)
    tables = open_tables(store)
    try:
        result = acquisition(tables, SMALL_PERIOD)
    finally:
        tables.close()
    got = {c["channel"]: (c["sessions"], c["conversions"], c["revenue"]) for c in result.channels}
    assert sum(n for n, _, _ in want.values()) > 500
    assert got.keys() == want.keys()
    for channel, (n, k, revenue) in want.items():
        assert got[channel][:2] == (n, k), channel
        assert got[channel][2] == pytest.approx(revenue, abs=0.011), channel


# -- the simulator's ground truth -----------------------------------------------------------

Z999 = statistics.NormalDist().inv_cdf(1 - 0.001 / 2)  # two-sided 99.9 %: 3.29


def test_channel_conversion_rates_recover_the_simulated_truth(tmp_path: Path) -> None:
    config = SimulationConfig(customers=2000, days=60, products=40, seed=5)
    truth_path = tmp_path / "truth.json"
    store = simulated_store(f"sqlite:///{tmp_path / 'store.db'}", config, truth_path)
    truth = json.loads(truth_path.read_text(encoding="utf-8"))["channels"]
    whole = Period(config.start, config.start + timedelta(days=config.days - 1))
    tables = open_tables(store)
    try:
        channels = {c["channel"]: c for c in acquisition(tables, whole, compare=False).channels}
    finally:
        tables.close()
        store.dispose()
    assert channels.keys() == truth.keys()
    for key, t in truth.items():
        c = channels[key]
        assert c["sessions"] == t["realised"]["sessions"], key
        assert c["conversions"] == t["realised"]["purchases"], key
        assert c["revenue"] == pytest.approx(t["realised"]["revenue"], abs=0.011), key
        low, high = wilson(c["conversions"], c["sessions"], Z999)
        assert low <= t["conversion_rate"] <= high, (key, low, t["conversion_rate"], high)
        assert c["conversion_ci"] == pytest.approx(list(wilson(c["conversions"], c["sessions"])))
