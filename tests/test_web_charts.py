"""Server-rendered charts: well-formed SVG with untrusted labels escaped, nothing fetched or
scripted, locale-formatted axes, a table equivalent, and an explicit empty chart."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest
from altair.utils.schemapi import validate_jsonschema
from altair.vegalite.v6.schema import load_schema
from hypothesis import given, settings
from hypothesis import strategies as st

from shopmind.web import charts
from shopmind.web.charts import Chart, Series

SVG = "{http://www.w3.org/2000/svg}"
DAYS = [dt.date(2024, 3, 1) + dt.timedelta(days=i) for i in range(14)]
HOSTILE = '<script>alert("x")</script> Tom & Jerry\'s "best"\x00\x1b'
HOSTILE_CLEAN = '<script>alert("x")</script> Tom & Jerry\'s "best"'


def revenue(currency: str = "USD") -> Series:
    return Series("Revenue", [1000 + 125.5 * i for i in range(14)], "currency", currency)


def sessions() -> Series:
    return Series("Sessions", [200 + 3 * i for i in range(14)], "count")


def texts(chart: Chart) -> list[str]:
    """The text drawn in the chart, as a browser would read it."""
    root = ET.fromstring(chart.svg)
    return [t.text or "" for t in root.iter(f"{SVG}text")]


@pytest.fixture(scope="module")
def hostile_charts() -> list[Chart]:
    """Every builder fed an untrusted label in every place a label can go."""
    title = f"Orders for {HOSTILE}"
    return [
        charts.daily_chart(DAYS, Series(HOSTILE, [1.0] * 14), sessions(), title=title),
        charts.bar_chart(
            [HOSTILE, "google / cpc", HOSTILE],
            Series("Rate", [0.1, 0.2, 0.3], "percent"),
            title=title,
            category_title=HOSTILE,
        ),
        charts.stacked_chart(
            DAYS[:3],
            [Series(HOSTILE, [1, 2, 3], "count"), Series("b", [3, 2, 1], "count")],
            title=title,
            mark="area",
        ),
        charts.daily_chart([], Series(HOSTILE, []), title=title),  # the empty chart
        charts.band_chart(
            DAYS[:3],
            Series(HOSTILE, [5.0, 9.0, None], "count"),
            [1.0, None, 2.0],
            [8.0, None, 7.0],
            title=title,
            flagged=[False, True, False],
            range_label=HOSTILE,
        ),
    ]


# --- safety ------------------------------------------------------------------------------


def test_untrusted_labels_stay_text_in_well_formed_svg(hostile_charts: list[Chart]) -> None:
    for chart in hostile_charts:
        root = ET.fromstring(chart.svg)  # well-formed XML, or this raises
        tags = {element.tag.removeprefix(SVG) for element in root.iter()}
        assert not tags & {"script", "foreignObject", "iframe", "image", "use", "a", "style"}
        for element in root.iter():
            for name in element.attrib:
                assert not name.lower().startswith("on"), (element.tag, name)
                assert not name.endswith("href"), (element.tag, name)
        assert "<script" not in chart.svg
        assert root.get("role") == "img"
        assert root.get("aria-label") == f"Orders for {HOSTILE_CLEAN}"
        assert root.find(f"{SVG}title").text == f"Orders for {HOSTILE_CLEAN}"
    drawn = [texts(chart) for chart in hostile_charts[:3]]  # (a legend may shorten it: …)
    assert all(any(t.startswith(HOSTILE_CLEAN[:27]) for t in chart) for chart in drawn)


def test_long_labels_with_emoji_are_shortened_not_fatal() -> None:
    """Regression: Vega shortened a label of 40 emoji inside a surrogate pair and the whole
    render failed ("unexpected end of hex escape")."""
    long = "🔥" * 60
    bar = charts.bar_chart([long, "short"], Series("Units", [3, 1], "count"), title="t")
    assert bar.rows[0][0] == long  # the table keeps the whole label
    assert "🔥" * (charts.LABEL_CHARS - 1) + "…" in texts(bar)
    daily = charts.daily_chart(DAYS, Series(long, [1.0] * 14), sessions(), title="t")
    assert daily.columns[1] == long
    assert "🔥" * (charts.LABEL_CHARS - 1) + "…" in texts(daily)  # legend and axis title


@settings(max_examples=25)
@given(st.lists(st.text(max_size=50), min_size=1, max_size=3))
def test_any_label_renders_to_well_formed_svg(labels: list[str]) -> None:
    chart = charts.bar_chart(labels, Series("n", [1] * len(labels), "count"), title="t")
    ET.fromstring(chart.svg)
    assert len(chart.rows) == len(labels)


def test_repeated_labels_are_told_apart(hostile_charts: list[Chart]) -> None:
    bar = hostile_charts[1]
    assert [row[0] for row in bar.rows] == [HOSTILE_CLEAN, "google / cpc", f"{HOSTILE_CLEAN} #2"]
    assert bar.columns == (HOSTILE_CLEAN, "Rate")


def test_nothing_is_fetched_or_loaded_from_elsewhere(hostile_charts: list[Chart]) -> None:
    for chart in hostile_charts:
        without_namespaces = chart.svg.replace('xmlns="http://www.w3.org/2000/svg"', "").replace(
            'xmlns:xlink="http://www.w3.org/1999/xlink"', ""
        )
        assert "http" not in without_namespaces
        assert "url(" not in chart.svg and "@import" not in chart.svg
        fonts = {t.get("font-family") for t in ET.fromstring(chart.svg).iter(f"{SVG}text")}
        assert fonts == {charts.FONT_STACK}  # system fonts only


def test_a_spec_that_names_a_url_is_refused() -> None:
    with pytest.raises(ValueError, match="not allowed"):
        charts.render_svg({"data": {"url": "http://example.com/x.csv"}, "mark": "point"})


# --- the builders ------------------------------------------------------------------------


def test_daily_chart_two_series_with_their_own_axes() -> None:
    chart = charts.daily_chart(DAYS, revenue(), sessions(), title="Revenue and sessions")
    drawn = texts(chart)
    assert {"Mar 1", "Mar 3", "Revenue", "Sessions", "$1,000", "$2,000"} <= set(drawn)
    assert chart.columns == ("Date", "Revenue", "Sessions")
    assert chart.rows[0] == ("Mar 1, 2024", "$1,000.00", "200")
    assert chart.rows[-1] == ("Mar 14, 2024", "$2,631.50", "239")
    assert not chart.empty


def test_daily_chart_in_chinese_with_the_stores_currency() -> None:
    chart = charts.daily_chart(DAYS, revenue("USD"), title="收入", locale="zh_CN")
    drawn = set(texts(chart))
    assert {"3月1日", "3月3日", "US$1,000"} <= drawn
    assert chart.columns == ("日期", "Revenue")
    assert chart.rows[0] == ("2024年3月1日", "US$1,000.00")


def test_missing_values_are_gaps_not_zeros() -> None:
    values = [None if i % 2 else 10.0 for i in range(14)]
    chart = charts.daily_chart(DAYS, Series("Rate", values), title="t")
    assert chart.rows[1] == ("Mar 2, 2024", "–")
    assert not chart.empty


def test_bar_chart_keeps_the_order_and_labels_each_bar() -> None:
    chart = charts.bar_chart(
        ["google / cpc", "(direct) / (none)", "email / newsletter"],
        Series("Conversion rate", [0.031, 0.0126, None], "percent"),
        title="Conversion by source / medium",
        category_title="Source / medium",
    )
    assert chart.columns == ("Source / medium", "Conversion rate")
    assert chart.rows == (
        ("google / cpc", "3.1%"),
        ("(direct) / (none)", "1.3%"),
        ("email / newsletter", "–"),
    )
    drawn = texts(chart)
    assert {"3.1%", "1.3%"} <= set(drawn)  # the bars' value labels
    assert drawn.index("google / cpc") < drawn.index("(direct) / (none)")


def test_band_chart_marks_the_flagged_days_and_tables_the_range() -> None:
    band = charts.band_chart(
        DAYS[:3],
        Series("Revenue", [100.0, 400.0, 120.0], "currency", "USD"),
        [80.0, 90.0, None],
        [150.0, 160.0, None],
        title="Revenue against its range",
        flagged=[False, True, False],
    )
    assert band.columns == ("Date", "Revenue", "Expected range")
    assert band.rows[0] == ("Mar 1, 2024", "$100.00", "$80.00 – $150.00")
    assert band.rows[1][2] == "$90.00 – $160.00 ⚠"  # the flagged day
    assert band.rows[2][2] == "–"  # no range: too little history
    layers = band.spec["layer"]
    assert [layer["mark"]["type"] for layer in layers] == ["area", "line", "point"]
    assert layers[2]["transform"] == [{"filter": "datum.flag"}]
    assert charts.band_chart(
        DAYS[:2], Series("n", [None, None]), [None, None], [None, None], title="t"
    ).empty


def test_stacked_shares_per_period() -> None:
    chart = charts.stacked_chart(
        DAYS[::7],
        [Series("Negative", [1, 0], "count"), Series("Positive", [3, 0], "count")],
        title="Sentiment per week",
        normalize=True,
        period_title="Week",
    )
    assert chart.columns == ("Week", "Negative", "Positive")
    assert chart.rows == (("Mar 1, 2024", "1 (25.0%)", "3 (75.0%)"), ("Mar 8, 2024", "0", "0"))
    assert {"Mar 1", "Mar 8", "100%", "Negative", "Positive"} <= set(texts(chart))


def test_store_sentiment_by_month_in_chinese() -> None:
    months = [
        {"month": "2025-12", "negative": 2, "neutral": 2, "positive": 6},
        {"month": "2026-01", "negative": 1, "positive": 3},  # no neutral review that month
    ]
    chart = charts.sentiment_share_by_month(months, locale="zh_CN")
    assert chart.title == "每月评价情感"
    assert chart.columns == ("月份", "负面", "中性", "正面")
    assert chart.rows == (
        ("2025年12月", "2 (20.0%)", "2 (20.0%)", "6 (60.0%)"),
        ("2026年1月", "1 (25.0%)", "0 (0.0%)", "3 (75.0%)"),
    )
    assert {"2025年12月", "2026年1月", "负面"} <= set(texts(chart))


def test_product_sentiment_trend_reads_monthly_trend_entries() -> None:
    trend = [{"month": "2026-02", "reviews": 4, "counts": {"negative": 1, "positive": 3}}]
    chart = charts.sentiment_trend(trend, title="Trend")
    assert chart.rows == (("Feb 2026", "1 (25.0%)", "0 (0.0%)", "3 (75.0%)"),)


def test_a_bad_month_names_its_row() -> None:
    with pytest.raises(ValueError, match=r"row 1: month '2026/02' is not YYYY-MM"):
        charts.sentiment_share_by_month([{"month": "2026-01"}, {"month": "2026/02"}])


def test_mismatched_lengths_and_units_are_refused() -> None:
    with pytest.raises(ValueError, match="series 'Revenue' has 2 values for 14 days"):
        charts.daily_chart(DAYS, Series("Revenue", [1, 2]), title="t")
    with pytest.raises(ValueError, match="series 'Revenue': currency 'EURO' is not ISO 4217"):
        Series("Revenue", [1], "currency", "EURO")
    with pytest.raises(ValueError, match="one unit"):
        charts.stacked_chart(
            DAYS[:1], [Series("a", [1], "count"), Series("b", [1], "percent")], title="t"
        )


# --- no data -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("locale", "message"), [("en", "No data for this period"), ("zh_CN", "该时间段没有数据")]
)
def test_no_data_draws_a_message_and_no_rows(locale: str, message: str) -> None:
    empties = [
        charts.daily_chart([], Series("Revenue", []), title="t", locale=locale),
        charts.daily_chart(DAYS, Series("Revenue", [None] * 14), title="t", locale=locale),
        charts.bar_chart([], Series("Rate", []), title="t", locale=locale),
        charts.sentiment_share_by_month([], locale=locale),
        charts.sentiment_share_by_month([{"month": "2026-01"}], locale=locale),  # all zero
    ]
    for chart in empties:
        assert chart.empty and chart.rows == ()
        assert texts(chart) == [message]
    assert empties[0].columns[0] == ("Date" if locale == "en" else "日期")


def test_small_counts_tick_on_whole_numbers() -> None:
    """Regression: d3 ticked 0..2 at halves and the count format drew 0, 1, 1, 2, 2."""
    chart = charts.daily_chart(DAYS[:3], Series("Orders", [2, 1, 2], "count"), title="t")
    assert [t for t in texts(chart) if t.isdigit()] == ["0", "1", "2"]


def test_zeros_are_data() -> None:
    chart = charts.bar_chart(["a"], Series("Orders", [0], "count"), title="t")
    assert not chart.empty and chart.rows == (("a", "0"),)


# --- specifications and rendering --------------------------------------------------------


def test_every_builder_emits_valid_vega_lite(hostile_charts: list[Chart]) -> None:
    schema = load_schema()
    built = [
        *hostile_charts[:3],
        hostile_charts[4],
        charts.stacked_chart(DAYS[:2], [Series("a", [1, 2], "count")], title="t"),
        charts.sentiment_share_by_month([{"month": "2026-01", "positive": 1}]),
    ]
    for chart in built:
        assert chart.spec is not None
        validate_jsonschema(chart.spec, schema)  # raises on an invalid spec


def test_a_specs_own_config_wins_over_the_house_style() -> None:
    spec = {"data": {"values": [{"a": 1}]}, "mark": "text", "encoding": {"text": {"field": "a"}}}
    house = ET.fromstring(charts.render_svg(spec))
    own = ET.fromstring(charts.render_svg({**spec, "config": {"font": "serif"}}))
    assert {t.get("font-family") for t in house.iter(f"{SVG}text")} == {charts.FONT_STACK}
    assert {t.get("font-family") for t in own.iter(f"{SVG}text")} == {"serif"}


def test_axis_number_locale_places_the_stores_currency() -> None:
    assert charts.d3_number_locale("zh_CN", "USD")["currency"] == ["US$", ""]
    assert charts.d3_number_locale("en", "EUR")["currency"] == ["€", ""]
    assert charts.d3_number_locale("en")["thousands"] == ","


def test_dates_stay_the_same_day_in_any_server_time_zone() -> None:
    """Regression: on a local-time scale a UTC+14 server drew 1 March as 2 March."""
    code = (
        "import datetime as dt; from shopmind.web import charts;"
        "c = charts.daily_chart([dt.date(2024, 3, 1), dt.date(2024, 3, 3)],"
        " charts.Series('x', [1, 2]), title='t');"
        "print('|'.join(charts.ET.fromstring(c.svg).itertext()))"
    ).replace("charts.ET", "__import__('xml.etree.ElementTree').etree.ElementTree")
    env = {"TZ": "Pacific/Kiritimati", "PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout
    labels = out.strip().split("|")
    assert "Mar 1" in labels and "Mar 3" in labels, labels


def test_warm_up_starts_the_engine() -> None:
    assert charts.warm_up() >= 0


def test_a_chart_seen_again_is_not_drawn_again_and_new_data_is() -> None:
    spec = {"data": {"values": [{"a": 1}]}, "mark": "text", "encoding": {"text": {"field": "a"}}}
    charts.clear_cache()
    first = charts.render_svg(spec)
    again = charts.render_svg({"encoding": spec["encoding"], "mark": "text", "data": spec["data"]})
    info = charts._render_cached.cache_info()
    assert again == first and (info.hits, info.misses) == (1, 1)
    changed = charts.render_svg({**spec, "data": {"values": [{"a": 2}]}})
    assert ">2<" in changed and ">1<" not in changed
    assert charts.render_svg(spec, locale="zh_CN") is not None
    assert charts._render_cached.cache_info().misses == 3  # another locale is another chart
