"""The Insights pages over HTTP (the app's own client): every page in English and Chinese
with the numbers the service computes, periods and options from the address, the errors
they refuse with, roles, the customer CSV, an uploaded experiment, the report job and its
download.

One simulated store and one app for the module, so the service's cache serves the pages
that share an analysis (the browser test is ``test_insights_browser.py``)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

import pytest
from fastapi.testclient import TestClient
from markupsafe import escape
from sqlalchemy import select

from shopmind.api.app import create_app
from shopmind.config import Settings, init_workspace, load_settings
from shopmind.insights.service import Insights
from shopmind.jobs.runner import reports_dir, uploads_dir
from shopmind.simulate import SimulationConfig, simulate
from shopmind.store import Store, users
from shopmind.store.models import Customer
from shopmind.web import i18n
from shopmind.web.pages.insights import safe_cell
from test_web import ADMIN, VIEWER, _wait_job, csrf, log_in

# Small and quick to build (about 3 s), yet with repeat buyers enough for lifetime value,
# recommendations and alerts.
STORE = SimulationConfig(customers=300, days=45, products=40, seed=3, traffic=3.0)
EN = {"Accept-Language": "en-US"}
ZH = {"Accept-Language": "zh-CN"}
PAGES = (
    "/insights",
    "/insights/funnel?by=device",
    "/insights/acquisition",
    "/insights/cohorts",
    "/insights/segments",
    "/insights/clv",
    "/insights/anomalies",
    "/insights/experiments",
)


@dataclass
class Shop:
    settings: Settings
    store: Store
    admin: TestClient
    viewer: TestClient
    ins: Insights  # the service of the app, as the pages ask it


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    root = tmp_path_factory.mktemp("insights-web")
    init_workspace(root / "ws")
    settings = load_settings(root / "ws", database_url=f"sqlite:///{root / 'web.db'}")
    store = Store(settings.resolved_database_url)
    store.upgrade()
    simulate(store, STORE)
    users.add_user(store, *ADMIN, "admin")
    users.add_user(store, *VIEWER, "viewer")
    app = create_app(settings, store=store)
    with TestClient(app, base_url="http://shop.test") as admin:  # runs the app's jobs
        viewer = TestClient(app, base_url="http://shop.test")
        assert log_in(admin, ADMIN).status_code == 303
        assert log_in(viewer, VIEWER).status_code == 303
        assert admin.get("/insights/segments").status_code == 200  # makes the service
        yield Shop(settings, store, admin, viewer, app.state.insights)
    store.dispose()


def money(shop: Shop, amount: float, locale: str) -> str:
    return i18n.format_currency(amount, shop.settings.currency, locale)


def test_every_page_renders_in_english_and_chinese(shop: Shop) -> None:
    for headers, word in ((EN, "Insights"), (ZH, "增长洞察")):
        for path in PAGES:
            page = shop.viewer.get(path, headers=headers)
            assert page.status_code == 200, (path, page.text[-500:])
            assert f'href="/insights" aria-current="page">{word}</a>' in page.text, path
    nav = shop.viewer.get("/", headers=EN).text
    assert '<a href="/insights">Insights</a>' in nav


def test_the_overview_shows_the_recommendations_and_the_period_figures(shop: Shop) -> None:
    period = shop.ins.period(days=30)
    for headers, lang, locale in ((EN, "en", "en"), (ZH, "zh", "zh_CN")):
        page = shop.admin.get("/insights", headers=headers).text
        recs = shop.ins.recommendations(period, lang)
        assert recs, "the store should give at least one recommendation"
        for rec in recs:
            assert escape(rec["text"]) in page
            if rec["expected_value"] is not None:
                assert money(shop, rec["expected_value"], locale) in page
        totals = shop.ins.acquisition(period)["totals"]
        assert f'<div class="value">{i18n.format_number(totals["sessions"], locale)}</div>' in page
        assert page.count('<figure class="chart">') == 4  # the four KPI bands
        assert 'action="/insights/report"' in page
    assert "预期价值" in page and "依据" in page


def test_the_funnel_page_follows_its_address(shop: Shop) -> None:
    period = shop.ins.period(days=30)
    found = shop.ins.funnel(period, by="device")
    page = shop.viewer.get("/insights/funnel?by=device", headers=EN).text
    first, last = found["steps"][0], found["steps"][-1]
    assert f'<td class="num">{i18n.format_number(first["units"], "en")}</td>' in page
    assert f'<td class="num">{i18n.format_number(last["units"], "en")}</td>' in page
    mobile = next(g for g in found["groups"] if g["key"] == "mobile")
    assert i18n.format_percent(mobile["conversion"], "en", 2) in page
    assert '<option value="device" selected>' in page  # the form keeps the choice
    users_ = shop.ins.funnel(period, unit="user", steps="view_item,purchase")
    page = shop.viewer.get(
        "/insights/funnel?unit=user&steps=view_item,purchase&days=30", headers=ZH
    ).text
    assert (
        f'<td class="num">{i18n.format_number(users_["steps"][0]["units"], "zh_CN")}</td>' in page
    )
    assert "顾客数" in page and "浏览商品" in page


def test_acquisition_cohorts_segments_clv_and_trends_show_the_services_numbers(
    shop: Shop,
) -> None:
    period = shop.ins.period(days=30)
    acq = shop.ins.acquisition(period)
    page = shop.viewer.get("/insights/acquisition", headers=EN).text
    top = acq["channels"][0]
    assert escape(top["channel"]) in page
    assert f'<td class="num">{i18n.format_number(top["sessions"], "en")}</td>' in page
    low, high = top["conversion_ci"]
    assert f"{i18n.format_percent(low, 'en')} – {i18n.format_percent(high, 'en')}" in page
    assert "Position-based" in page and "Import ad spend" in page  # no spend in this store

    cohorts = shop.ins.cohorts(period.end, 12)
    page = shop.viewer.get("/insights/cohorts", headers=ZH).text
    assert (
        f'<td class="num">{i18n.format_number(cohorts["cohorts"][0]["customers"], "zh_CN")}</td>'
        in page
    )
    assert 'style="background:#' in page and "首次下单后的留存" in page

    segments = shop.ins.segments(period.end)
    page = shop.viewer.get("/insights/segments", headers=EN).text
    champions = next(s for s in segments["segments"] if s["segment"] == "champions")
    assert money(shop, champions["revenue"], "en") in page and "Champions" in page

    clv = shop.ins.clv(period.end)
    page = shop.viewer.get("/insights/clv", headers=ZH).text
    assert money(shop, clv["expected_value"], "zh_CN") in page and "BG/NBD" in page

    anomalies, demand = shop.ins.anomalies(period), shop.ins.demand(period)
    page = shop.viewer.get("/insights/anomalies", headers=EN).text
    assert page.count('<figure class="chart">') == 5  # four KPI bands and the top searches
    assert escape(demand["top_terms"][0]["term"]) in page
    alert = anomalies["alerts"][0]
    assert i18n.format_date(date.fromisoformat(alert["day"]), "en") in page


def test_too_little_history_for_lifetime_value_is_said_not_an_error(shop: Shop) -> None:
    first = shop.ins.span()["first"]
    page = shop.viewer.get(f"/insights/clv?end={first}", headers=EN)
    assert page.status_code == 200
    assert "Lifetime value needs more order history" in page.text


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("/insights/funnel?start=2026-02-10&end=2026-02-01", "before it starts"),
        ("/insights?days=0", "days: a whole number from 1 to 3660"),
        ("/insights/acquisition?start=2026-13-01", "start: not a date"),
        ("/insights/funnel?by=colour", "unknown breakdown"),
        ("/insights/funnel?steps=view_item", "at least two steps"),
        ("/insights/acquisition?model=magic", "unknown attribution model"),
        ("/insights/cohorts?months=99", "months: a whole number from 1 to 60"),
        ("/insights/anomalies?end=yesterday", "end: not a date"),
    ],
)
def test_a_period_or_option_the_analyses_refuse_is_a_400_with_its_reason(
    shop: Shop, query: str, message: str
) -> None:
    page = shop.viewer.get(query, headers=EN)
    assert page.status_code == 400
    assert "The analysis cannot run as asked:" in page.text and message in page.text
    assert 'class="toolbar period"' in page.text  # the form is there to correct it


def test_logged_out_visitors_go_to_the_log_in_page(shop: Shop) -> None:
    stranger = TestClient(shop.admin.app, base_url="http://shop.test")  # no lifespan of its own
    for path in ("/insights", "/insights/funnel", "/insights/segments/customers.csv"):
        answer = stranger.get(path, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/login")


def test_viewers_read_but_neither_export_customers_nor_upload(shop: Shop) -> None:
    page = shop.viewer.get("/insights/segments", headers=EN).text
    assert "customers.csv" not in page
    assert shop.viewer.get("/insights/segments/customers.csv").status_code == 403
    page = shop.viewer.get("/insights/experiments", headers=EN).text
    assert 'action="/insights/experiments"' not in page and "An admin uploads" in page
    sent = shop.viewer.post(
        "/insights/experiments",
        data={"csrf_token": csrf(shop.viewer, "/insights/experiments"), "arm_column": "arm",
              "metric": "y"},
        files={"file": ("t.csv", b"arm,y\nA,1\nB,0\n", "text/csv")},
    )  # fmt: skip
    assert sent.status_code == 403


def test_the_customer_csv_holds_the_segment_and_neutralises_formulas(shop: Shop) -> None:
    period = shop.ins.period(days=1)
    champions = shop.ins.segment_customers(period.end, "champions")
    target = next(c for c in champions if c["customer_id"] is not None)
    with shop.store.session() as s:  # a customer whose name a spreadsheet would run
        customer = s.scalars(select(Customer).where(Customer.id == target["customer_id"])).one()
        customer.first_name, customer.last_name = '=HYPERLINK("http://evil.test","x")', "@SUM(A1)"
        s.commit()
    answer = shop.admin.get("/insights/segments/customers.csv?segment=champions")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    assert "attachment" in answer.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert len(rows) == len(champions) and {r["segment"] for r in rows} == {"champions"}
    row = next(r for r in rows if r["customer_id"] == str(target["customer_id"]))
    assert row["first_name"] == '\'=HYPERLINK("http://evil.test","x")'
    assert row["last_name"] == "'@SUM(A1)"
    assert [r["email"] for r in rows] == [c["email"] for c in champions]
    everyone = shop.admin.get(f"/insights/segments/customers.csv?end={period.end}")
    assert everyone.status_code == 200
    assert len(everyone.text.splitlines()) == shop.ins.segments(period.end)["customers"] + 1
    assert shop.admin.get("/insights/segments/customers.csv?segment=vips").status_code == 400
    assert [safe_cell(v) for v in ("-1+2", "+1", "\tx", "ok", -3, None)] == [
        "'-1+2", "'+1", "'\tx", "ok", -3, ""]  # fmt: skip


def experiment_csv() -> bytes:
    """Arm A converts 10 of 100, arm B 30 of 100; a pre-period covariate and an order."""
    rows = ["user,arm,converted,visits_before,day"]
    for i in range(200):
        arm = "A" if i % 2 == 0 else "B"
        k = i // 2
        converted = int(k < (10 if arm == "A" else 30))
        rows.append(f"u{i},{arm},{converted},{(i * 7) % 5 + converted},{i}")
    return ("\n".join(rows) + "\n").encode()


def test_an_uploaded_experiment_is_analysed_and_its_file_deleted(shop: Shop) -> None:
    client = shop.admin
    token = csrf(client, "/insights/experiments")
    fields = {"csrf_token": token, "arm_column": "arm", "metric": "converted",
              "covariate": "visits_before", "order_column": "day", "alpha": "0.05"}  # fmt: skip
    page = client.post("/insights/experiments", data=fields, headers=EN,
                       files={"file": ("ab.csv", experiment_csv(), "text/csv")})  # fmt: skip
    assert page.status_code == 200, page.text[-800:]
    text = page.text
    assert "<strong>+20.00 points</strong>" in text  # B − A = 30% − 10%
    assert "10.00%" in text and "30.00%" in text
    assert '<td class="num">&lt; 0.001</td>' in text  # the two-proportion test's p-value
    assert "Sample ratio mismatch" not in text  # 100 and 100: the planned split
    assert "(CUPED)" in text and "Sequential (always valid)" in text
    assert "B is the best arm on converted" in text  # the library's own summary
    assert not any(uploads_dir(shop.settings).glob("*ab.csv"))  # nothing kept

    zh = client.post("/insights/experiments", data=fields, headers=ZH,
                     files={"file": ("ab.csv", experiment_csv(), "text/csv")})  # fmt: skip
    assert "+20.00 个百分点" in zh.text and "对照组" in zh.text

    wrong = client.post("/insights/experiments", data=fields | {"metric": "bought"}, headers=EN,
                        files={"file": ("ab.csv", experiment_csv(), "text/csv")})  # fmt: skip
    assert wrong.status_code == 400
    assert "no column &#39;bought&#39;; the header has user, arm, converted" in wrong.text
    assert "ab.csv" in wrong.text and str(uploads_dir(shop.settings)) not in wrong.text
    no_token = client.post("/insights/experiments", data=fields | {"csrf_token": "x"},
                           files={"file": ("ab.csv", experiment_csv(), "text/csv")})  # fmt: skip
    assert no_token.status_code == 403
    assert not any(uploads_dir(shop.settings).glob("*"))


def test_the_report_job_writes_the_report_and_the_page_offers_it(shop: Shop) -> None:
    client = shop.viewer  # a report is a read: viewers may ask for one
    period = shop.ins.period(days=30)
    started = client.post(
        "/insights/report",
        data={"csrf_token": csrf(client, "/insights/experiments"), "start": str(period.start),
              "end": str(period.end), "lang": "zh"},
        follow_redirects=False,
    )  # fmt: skip
    assert started.status_code == 303, started.text
    back = started.headers["location"]  # the page asked from follows the job
    assert back == f"/insights?start={period.start}&end={period.end}#report"
    row = re.search(r'<li><a href="/jobs/(\d+)">Write the growth report', client.get(back).text)
    job = _wait_job(client, int(row.group(1)), timeout=300)
    assert job["status"] == "done", job
    name = job["summary"]["html"]
    assert name.endswith(".html") and job["summary"]["period"]["start"] == str(period.start)
    assert (reports_dir(shop.settings) / job["summary"]["json"]).is_file()

    report = client.get(f"/insights/reports/{name}")
    assert report.status_code == 200 and report.headers["content-type"].startswith("text/html")
    assert report.headers["content-disposition"] == f'attachment; filename="{name}"'
    assert report.text.lstrip().startswith("<!doctype html>") and "<svg" in report.text
    overview = client.get("/insights", headers=EN).text
    assert f'href="/insights/reports/{name}"' in overview

    bad = client.post("/insights/report", data={"csrf_token": csrf(client, "/insights/experiments"),
                                                "lang": "fr"})  # fmt: skip
    assert bad.status_code == 422 and "lang: must be one of en, zh" in bad.text


def test_the_report_download_serves_only_the_reports_folder(shop: Shop) -> None:
    folder = reports_dir(shop.settings)
    folder.mkdir(parents=True, exist_ok=True)
    secret = folder.parent / "secret.html"
    secret.write_text("<p>the workspace's own file</p>")
    (folder / ".hidden.html").write_text("hidden")
    for name in ("..%2Fsecret.html", "%2E%2E%2Fsecret.html", "..%5Csecret.html", ".hidden.html",
                 "secret.html", "%2E%2E", "report.exe", "%2Fetc%2Fpasswd"):  # fmt: skip
        answer = shop.viewer.get(f"/insights/reports/{name}")
        assert answer.status_code == 404, name
        assert "the workspace's own file" not in answer.text
    assert shop.viewer.get("/insights/reports/../secret.html").status_code == 404
    assert secret.read_text().startswith("<p>")


def test_the_report_job_refuses_bad_parameters() -> None:
    from shopmind.jobs import JobError, check_params

    assert check_params("insights.report", {"start": "2026-01-01", "end": "2026-01-31"}) == {
        "start": "2026-01-01", "end": "2026-01-31", "days": 30, "lang": "en"}  # fmt: skip
    for params, field in (({"start": "Jan 1"}, "start"), ({"days": 0}, "days"),
                          ({"lang": "de"}, "lang"), ({"path": "/etc"}, "path")):  # fmt: skip
        with pytest.raises(JobError, match=f"^{field}:"):
            check_params("insights.report", params)


def test_the_insights_nav_tabs_mark_the_current_page(shop: Shop) -> None:
    page = shop.viewer.get("/insights/cohorts", headers=EN).text
    tabs = re.search(r'<nav class="tabs".*?</nav>', page, re.S).group(0)
    assert tabs.count("<a ") == 8
    assert '<a href="/insights/cohorts" aria-current="page">Cohorts</a>' in tabs
