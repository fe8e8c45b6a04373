"""The offline growth report (shopmind.insights.report): one HTML file that opens without a
network — every chart inline SVG, no script, no link out — in English and Chinese, and a JSON
twin with the same recommendations and the service's numbers; both written whole or not at all.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from insights_data import assert_same
from shopmind.insights import report as report_module
from shopmind.insights import service as service_module
from shopmind.insights.common import Period
from shopmind.insights.engine import InsightsError
from shopmind.insights.report import build_report, write_report
from shopmind.insights.service import Insights
from shopmind.simulate import SimulationConfig, simulate
from shopmind.store import Store

CONFIG = SimulationConfig(customers=400, days=60, products=40, seed=3)
CJK = re.compile(r"[\u4e00-\u9fff]")
XMLNS = {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}


@pytest.fixture(scope="module")
def ins(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Insights]:
    path = tmp_path_factory.mktemp("report") / "shop.db"
    store = Store(f"sqlite:///{path}")
    store.upgrade()
    simulate(store, CONFIG)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(service_module, "CACHE_SECONDS", 3600.0)  # every language from one run
        yield Insights(store)
    store.dispose()


@pytest.fixture(scope="module")
def period(ins: Insights) -> Period:
    return ins.period(days=30)


class Page(HTMLParser):
    """The parts of a page the checks read: tags, headings, text, attribute values."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.stack: list[str] = []
        self.headings: list[str] = []
        self.text: list[str] = []
        self.attributes: list[str] = []
        self.unclosed: list[str] = []
        self.captions: list[str] = []  # one per <figure>, with its count of <svg>
        self.figure_svgs: list[int] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes += [f"{k}={v}" for k, v in attrs if v is not None]
        if tag in ("h1", "h2", "h3"):
            self.headings.append("")
        if tag == "figure":
            self.captions.append("")
            self.figure_svgs.append(0)
        if tag == "svg" and "figure" in self.stack:
            self.figure_svgs[-1] += 1
        if tag in ("svg", "section", "figure", "figcaption", "table", "ol", "main", "h1", "h2"):
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("svg", "section", "figure", "figcaption", "table", "ol", "main", "h1", "h2"):
            if not self.stack or self.stack[-1] != tag:
                self.unclosed.append(tag)
            else:
                self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self.stack and self.stack[-1] in ("h1", "h2", "h3"):
            self.headings[-1] += data
        if self.stack and self.stack[-1] == "figcaption":
            self.captions[-1] += data


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    page.close()
    return page


@pytest.fixture(scope="module")
def written(
    ins: Insights, period: Period, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, tuple[Path, Path]]:
    folder = tmp_path_factory.mktemp("out")
    stages: list[str] = []
    out = {
        "en": write_report(ins, period, folder / "growth.html", "en", progress=stages.append),
        "zh": write_report(ins, period, folder / "growth-zh.htm", "zh"),
    }
    assert stages == ["findings", "cohorts", "recommendations", "drawing"]
    return out


def html_of(written: dict[str, tuple[Path, Path]], lang: str) -> str:
    return written[lang][0].read_text(encoding="utf-8")


def data_of(written: dict[str, tuple[Path, Path]], lang: str) -> dict[str, Any]:
    return json.loads(written[lang][1].read_text(encoding="utf-8"))


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_page_parses_and_is_self_contained(
    written: dict[str, tuple[Path, Path]], lang: str
) -> None:
    html = html_of(written, lang)
    page = parse(html)
    assert page.stack == [] and page.unclosed == [], (page.stack, page.unclosed)
    assert "script" not in page.tags and "link" not in page.tags and "img" not in page.tags
    assert "iframe" not in page.tags and "object" not in page.tags
    urls = set(re.findall(r"https?://[^\s\"'<>)]+", html))
    assert urls <= XMLNS, urls - XMLNS
    assert not any(a.startswith(("src=", "href=http", "href=//")) for a in page.attributes)
    assert "@import" not in html and "url(" not in html and "@font-face" not in html
    assert "<script" not in html.lower() and "javascript:" not in html.lower()


def chart_titles(data: dict[str, Any]) -> list[str]:
    """The titles of the charts the report draws (``render_html``), in page order."""
    from shopmind.web import insights_charts as ic

    loc, cur = report_module.LANGS[data["lang"]], data["currency"]
    charts = [
        ic.funnel_steps(data["funnel"], loc),
        ic.funnel_groups(data["funnel_by_device"], loc),
        ic.channel_conversion(data["acquisition"], loc),
        ic.channel_revenue(data["acquisition"], loc, cur),
        ic.average_retention(data["cohorts"], loc),
        ic.segment_sizes(data["segments"], loc),
    ]
    if "top" in data["clv"]:
        charts.append(ic.prob_alive(data["clv"], loc))
    charts += [ic.kpi_band(data["anomalies"], k, loc, cur) for k in ic.KPI_TITLES]
    if data["demand"]["top_terms"]:
        charts.append(ic.top_searches(data["demand"], loc))
    return [c.title for c in charts]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_chart_is_inline_svg(written: dict[str, tuple[Path, Path]], lang: str) -> None:
    data = data_of(written, lang)
    page = parse(html_of(written, lang))
    assert page.figure_svgs and set(page.figure_svgs) == {1}  # each figure: one inline SVG
    assert page.tags.count("svg") == len(page.captions)
    missing = [t for t in chart_titles(data) if t not in page.captions]
    assert not missing, f"charts drawn but not on the page: {missing}"
    assert "Revenue by channel" in chart_titles(data) or lang == "zh"


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_recommendations_are_in_both_files(
    written: dict[str, tuple[Path, Path]], ins: Insights, period: Period, lang: str
) -> None:
    data = data_of(written, lang)
    recs = ins.recommendations(period, lang)
    assert recs, "the simulated store should give something to do"
    assert [r["text"] for r in data["recommendations"]] == [r["text"] for r in recs]
    text = " ".join(" ".join(parse(html_of(written, lang)).text).split())
    for r in recs:
        assert " ".join(r["text"].split()) in text, r["id"]
    if lang == "zh":
        assert all(CJK.search(r["text"]) for r in recs)


def test_the_json_twin_holds_the_services_numbers(
    written: dict[str, tuple[Path, Path]], ins: Insights, period: Period
) -> None:
    data = data_of(written, "en")
    assert data["period"] == period.to_dict() and data["lang"] == "en"
    assert data["currency"] == "USD"
    plain = json.loads(json.dumps(ins.funnel(period), default=str))
    assert_same(data["funnel"], plain)
    assert data["funnel"]["steps"][0]["units"] > 0
    assert_same(data["segments"], json.loads(json.dumps(ins.segments(period.end), default=str)))
    assert_same(data["anomalies"], json.loads(json.dumps(ins.anomalies(period), default=str)))
    assert data["clv"].get("customers", 0) > 30 or "error" in data["clv"]
    html = html_of(written, "en")
    first = data["funnel"]["steps"][0]["units"]
    assert f"{first:,}" in html  # the funnel's first step, as the page writes it


def test_english_and_chinese_headings(written: dict[str, tuple[Path, Path]]) -> None:
    en = parse(html_of(written, "en"))
    zh = parse(html_of(written, "zh"))
    assert '<html lang="en">' in html_of(written, "en")
    assert '<html lang="zh-CN">' in html_of(written, "zh")
    assert "Growth report" in en.headings and "What to do next" in en.headings
    assert len(zh.headings) == len(en.headings)
    untranslated = [h for h in zh.headings if h.strip() and not CJK.search(h)]
    assert not untranslated, f"zh report headings still in English: {untranslated}"


def test_the_chinese_report_says_its_assumptions_steps_and_captions_in_chinese(
    written: dict[str, tuple[Path, Path]], ins: Insights, period: Period
) -> None:
    """Not only the headings: what an expected value assumes, the funnel's steps (the event
    name beside them) and every figure's caption."""
    page = parse(html_of(written, "zh"))
    text = " ".join(page.text)
    basis = [r for r in ins.recommendations(period, "zh") if r["value_basis"]]
    assert basis and all(CJK.search(r["value_basis"]) for r in basis)
    assert "浏览商品" in text and "view_item" in text
    assert "Assumes" not in text and "abandoned checkouts" not in text
    english = [c for c in page.captions if not CJK.search(c)]
    assert not english, f"zh captions still in English: {english}"
    assert "generated" not in text and "UTC" in text  # the moment, readable


def test_written_atomically_and_named_as_asked(written: dict[str, tuple[Path, Path]]) -> None:
    html, data = written["en"]
    assert (html.name, data.name) == ("growth.html", "growth.json")
    zh_html, zh_data = written["zh"]
    assert (zh_html.name, zh_data.name) == ("growth-zh.htm", "growth-zh.json")
    assert sorted(p.name for p in html.parent.iterdir()) == [
        "growth-zh.htm", "growth-zh.json", "growth.html", "growth.json",
    ]  # fmt: skip


def test_a_failed_write_leaves_no_half_file(
    ins: Insights, period: Period, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = tmp_path / "r.html"
    old.write_text("the previous report", encoding="utf-8")

    def broken(data: dict[str, Any]) -> str:
        raise RuntimeError("drawing failed")

    monkeypatch.setattr(report_module, "render_html", broken)
    with pytest.raises(RuntimeError, match="drawing failed"):
        write_report(ins, period, old, "en")
    assert old.read_text(encoding="utf-8") == "the previous report"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.html"]


def test_output_without_its_folder_or_in_another_language_is_refused(
    ins: Insights, period: Period, tmp_path: Path
) -> None:
    with pytest.raises(InsightsError, match="no such folder"):
        write_report(ins, period, tmp_path / "missing" / "r.html")
    assert not (tmp_path / "missing").exists()
    with pytest.raises(InsightsError, match="report language"):
        build_report(ins, period, "fr")
    odd = write_report(ins, period, tmp_path / "r.txt")
    assert [p.name for p in odd] == ["r.html", "r.json"]  # an HTML file, whatever the suffix
