"""The growth-insights routes (/v1/insights/…) over HTTP on a small simulated store: each
answer is the service's, with the key only, bad periods and parameters are 400s that say
what is wrong, the CSV and HTML downloads are safe, and uploaded experiments give known
answers without leaking the server's temporary path.
"""

from __future__ import annotations

import csv
import io
import re
import tempfile
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from insights_data import assert_same
from shopmind.api.app import create_app
from shopmind.config import init_workspace, load_settings
from shopmind.insights import service as service_module
from shopmind.insights.common import Period
from shopmind.insights.service import Insights
from shopmind.simulate import SimulationConfig, simulate
from shopmind.store import Store
from shopmind.store.apikeys import create_api_key
from shopmind.store.models import Customer, Order

CONFIG = SimulationConfig(customers=400, days=60, products=40, seed=8, traffic=1.5)
EVIL = '=HYPERLINK("http://evil.example/x","click")'
ROUTES = ("funnel", "acquisition", "cohorts", "segments", "segments/customers", "clv",
          "anomalies", "demand", "products", "recommendations", "report")  # fmt: skip


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, dict[str, str]]]:
    root = tmp_path_factory.mktemp("insights-api")
    ws = root / "ws"
    init_workspace(ws)
    settings = load_settings(ws, database_url=f"sqlite:///{root / 'shop.db'}", threads=1,
                             insights_writer="template")  # fmt: skip
    store = Store(settings.resolved_database_url)
    store.upgrade()
    simulate(store, CONFIG)
    with store.session() as s:
        who = Customer(external_id="evil-1", email="evil@example.com", first_name=EVIL,
                       last_name="@SUM(1)")  # fmt: skip
        s.add(who)
        s.flush()
        for n, day in enumerate((5, 9, 14)):
            s.add(Order(external_id=f"EVIL-{n}", customer_id=who.id, email=who.email,
                        created_at=datetime(2026, 1, day, 12), total=300.0))  # fmt: skip
    key = create_api_key(store, "insights")
    with (
        pytest.MonkeyPatch.context() as mp,
        TestClient(create_app(settings, store=store)) as client,
    ):
        mp.setattr(service_module, "CACHE_SECONDS", 3600.0)  # one computation per question
        yield client, {"Authorization": f"Bearer {key}"}
    store.dispose()


@pytest.fixture(scope="module")
def ins(api: tuple[TestClient, dict[str, str]]) -> Insights:
    """The app's own service (its cache shared with the routes): called with the arguments a
    route should pass, it answers from the cache only when the route passed just those."""
    client, auth = api
    assert client.get("/v1/insights/segments", headers=auth).status_code == 200
    return client.app.state.insights


@pytest.fixture(scope="module")
def period(ins: Insights) -> Period:
    return ins.period(days=30)


def get(api: tuple[TestClient, dict[str, str]], route: str, code: int = 200, **params: Any) -> Any:
    client, auth = api
    r = client.get(f"/v1/insights/{route}", params=params, headers=auth)
    assert r.status_code == code, r.text
    return r


def plain(value: Any) -> Any:
    import json

    return json.loads(json.dumps(value, default=str))


# -- each route is the service's answer ----------------------------------------------------------


def test_funnel(api: Any, ins: Insights, period: Period) -> None:
    got = get(api, "funnel").json()
    assert got["period"] == period.to_dict()
    want = ins.funnel(period, steps=None, by=None, unit="session", window_minutes=None)
    assert_same(got, plain(want))
    got = get(api, "funnel", by="device", unit="user", window=120, days=20).json()
    want = ins.funnel(ins.period(days=20), steps=None, by="device", unit="user",
                      window_minutes=120)  # fmt: skip
    assert_same(got, plain(want))
    assert got["unit"] == "user" and {g["key"] for g in got["groups"]} >= {"mobile", "desktop"}


def test_acquisition_and_cohorts(api: Any, ins: Insights, period: Period) -> None:
    got = get(api, "acquisition", level="medium", model="first_touch", lookback=7).json()
    want = ins.acquisition(period, level="medium", model="first_touch", lookback_days=7)
    assert_same(got, plain(want))
    assert got["attribution_model"] == "first_touch" and got["lookback_days"] == 7
    got = get(api, "cohorts", months=3).json()
    assert_same(got, plain(ins.cohorts(period.end, 3)))


def test_segments_and_their_customers(api: Any, ins: Insights, period: Period) -> None:
    got = get(api, "segments").json()
    assert_same(got, plain(ins.segments(period.end)))
    everyone = get(api, "segments/customers").json()
    assert_same(everyone, plain(ins.segment_customers(period.end, None, None)))
    [evil] = [r for r in everyone if r["external_id"] == "evil-1"]
    top = get(api, "segments/customers", segment=evil["segment"], limit=5).json()
    assert top == plain(ins.segment_customers(period.end, evil["segment"], 5))
    assert len(top) <= 5 and {r["segment"] for r in top} == {evil["segment"]}


def test_segment_customers_as_a_safe_csv(api: Any, ins: Insights, period: Period) -> None:
    [evil] = [r for r in ins.segment_customers(period.end) if r["external_id"] == "evil-1"]
    r = get(api, "segments/customers", segment=evil["segment"], format="csv")
    assert r.headers["content-type"].startswith("text/csv")
    assert r.headers["content-disposition"] == (
        f'attachment; filename="customers-{evil["segment"]}.csv"'
    )
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert len(rows) == len(ins.segment_customers(period.end, evil["segment"]))
    [row] = [x for x in rows if x["external_id"] == "evil-1"]
    assert row["first_name"] == "'" + EVIL and row["last_name"] == "'@SUM(1)"
    assert all(not v.startswith(("=", "+", "-", "@")) for x in rows for v in x.values())


def test_clv_anomalies_demand_products(api: Any, ins: Insights, period: Period) -> None:
    got = get(api, "clv", top=5).json()
    assert_same(got, plain(ins.clv(period.end, 12, None, 5)))
    assert len(got["top"]) == 5 and got["customers"] > 30
    got = get(api, "anomalies", weeks=2, threshold=4).json()
    assert_same(got, plain(ins.anomalies(period, weeks=2, threshold=4.0)))
    assert got["baseline_weeks"] == 2 and len(got["days"]) == 30
    got = get(api, "demand").json()
    assert_same(got, plain(ins.demand(period)))
    assert got["searches"] > 0
    got = get(api, "products", min_views=5).json()
    assert_same(got, plain(ins.products(period, 5)))


def test_recommendations_in_both_languages(api: Any, ins: Insights, period: Period) -> None:
    en = get(api, "recommendations").json()
    assert en and en == plain(ins.recommendations(period, "en"))
    zh = get(api, "recommendations", lang="zh").json()
    assert [r["id"] for r in zh] == [r["id"] for r in en]
    assert all(re.search(r"[\u4e00-\u9fff]", r["text"]) for r in zh)


def test_report_as_json_and_as_html(api: Any, ins: Insights, period: Period) -> None:
    data = get(api, "report").json()
    assert data["period"] == period.to_dict() and data["lang"] == "en"
    assert [r["text"] for r in data["recommendations"]] == [
        r["text"] for r in ins.recommendations(period, "en")
    ]
    assert_same(data["funnel"], plain(ins.funnel(period)))
    r = get(api, "report", format="html", lang="zh")
    assert r.headers["content-type"].startswith("text/html")
    page = r.text
    assert page.startswith("<!doctype html>") and '<html lang="zh-CN">' in page
    assert page.count("<svg") >= 5 and "<script" not in page.lower()
    urls = set(re.findall(r"https?://[^\s\"'<>)]+", page))
    assert urls <= {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}, urls
    assert not re.search(r"<link\b|\bsrc=|@import|url\(", page)


# -- the key, bad periods and parameters -----------------------------------------------------------


@pytest.mark.parametrize("route", ROUTES)
def test_every_route_needs_the_key(api: Any, route: str) -> None:
    client, _ = api
    r = client.get(f"/v1/insights/{route}")
    assert r.status_code == 401 and "API key" in r.json()["detail"]
    bad = client.get(f"/v1/insights/{route}", headers={"Authorization": "Bearer sm_nope_x"})
    assert bad.status_code == 401


def test_bad_periods_and_parameters_are_400s_that_say_why(api: Any) -> None:
    for route in ("funnel", "acquisition", "anomalies", "demand", "products", "recommendations",
                  "report"):  # fmt: skip
        r = get(api, route, 400, start="2026-02-10", end="2026-02-01")
        assert r.json()["detail"] == "the period ends (2026-02-01) before it starts (2026-02-10)"
    r = get(api, "funnel", 400, by="planet")
    assert r.json()["detail"].startswith("unknown breakdown 'planet'; choose one of")
    r = get(api, "funnel", 400, steps="view_item")
    assert "at least two steps" in r.json()["detail"]
    r = get(api, "segments/customers", 400, segment="nobody")
    assert r.json()["detail"].startswith("unknown segment 'nobody'")
    r = get(api, "clv", 400, calibration_end="2030-01-01")
    assert "calibration end is after" in r.json()["detail"]
    assert get(api, "anomalies", 422, weeks=1).status_code == 422
    assert get(api, "funnel", 422, start="2026-02-30").status_code == 422
    assert get(api, "report", 422, format="pdf").status_code == 422


# -- uploaded experiments -------------------------------------------------------------------------


def upload(api: Any, text: str, **form: str) -> Any:
    client, auth = api
    files = {"file": ("ab.csv", text.encode(), "text/csv")}
    return client.post("/v1/insights/experiments", files=files, data=form, headers=auth)


def test_an_uploaded_experiment_gives_the_known_answer(api: Any) -> None:
    rows = ["arm,converted"]
    rows += [f"A,{int(i < 10)}" for i in range(100)] + [f"B,{int(i < 30)}" for i in range(100)]
    r = upload(api, "\n".join(rows) + "\n", arm_column="arm", metric="converted", control="A")
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["kind"] == "binary" and out["control"] == "A"
    assert {a["arm"]: (a["n"], a["mean"]) for a in out["arms"]} == {
        "A": (100, pytest.approx(0.1)), "B": (100, pytest.approx(0.3)),
    }  # fmt: skip
    [b] = out["comparisons"]
    assert b["arm"] == "B" and b["diff"] == pytest.approx(0.2)
    assert b["ci_low"] < 0.2 < b["ci_high"] and b["p_value"] < 0.001
    assert b["prob_beat_control"] > 0.999 and b["significant"] is True


def test_a_bad_upload_names_the_field_not_the_temp_file(api: Any) -> None:
    temp = tempfile.gettempdir()
    cases = [
        ("arm,converted\nA,1\nB,0\nA,maybe\nB,1\n", "converted", "line 4"),
        ("arm,converted\nA,1\nB,0\n", "visits", "no column 'visits'"),
    ]
    for text, metric, says in cases:
        r = upload(api, text, arm_column="arm", metric=metric)
        assert r.status_code == 400, r.text
        detail = r.json()["detail"]
        assert says in detail and "ab.csv" in detail and f"'{metric}'" in detail, detail
        assert temp not in detail and not re.search(r"tmp\w{6,}", detail), detail
    r = upload(api, "arm,converted\nA,1\n", arm_column="arm")  # no metric
    assert r.status_code == 422
    client, _ = api
    files = {"file": ("ab.csv", b"arm,converted\nA,1\n", "text/csv")}
    assert (
        client.post(
            "/v1/insights/experiments",
            files=files,
            data={"arm_column": "arm", "metric": "converted"},
        ).status_code
        == 401
    )


def test_the_period_defaults_to_the_latest_days(api: Any, period: Period) -> None:
    last = CONFIG.start + timedelta(days=CONFIG.days - 1)
    assert period.end == last and period.days == 30
    got = get(api, "anomalies", days=7).json()
    assert got["period"] == Period(last - timedelta(days=6), last).to_dict()
    got = get(api, "demand", start="2026-01-10", end="2026-01-20").json()
    assert got["period"] == {"start": "2026-01-10", "end": "2026-01-20"}


def test_no_leftover_temp_files(api: Any) -> None:
    before = set(Path(tempfile.gettempdir()).glob("tmp*.csv"))
    upload(api, "arm,converted\nA,1\nB,0\nA,0\nB,1\n", arm_column="arm", metric="converted")
    upload(api, "arm,converted\nA,x\n", arm_column="arm", metric="converted")
    assert set(Path(tempfile.gettempdir()).glob("tmp*.csv")) <= before
