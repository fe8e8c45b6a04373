"""Ad spend per day and channel (``ad-spend``): columns, re-imports, bad rows, the
migration that adds the table; on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import inspect, select

from shopmind.store import Store
from shopmind.store.db import alembic_config
from shopmind.store.importers import ImportFileError, import_file, preview_file, validate_file
from shopmind.store.models import AdSpend

SAMPLE = Path(__file__).parent / "data" / "ad_spend.csv"
HEADER = "date,source,medium,campaign,spend\n"


def _write(tmp_path: Path, text: str, name: str = "spend.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _spend(store: Store) -> dict[tuple[date, str, str, str], tuple[float, str]]:
    with store.session() as s:
        rows = s.scalars(select(AdSpend)).all()
    return {(r.day, r.source, r.medium, r.campaign): (r.spend, r.currency) for r in rows}


def test_sample_file_imports_with_the_store_currency_as_default(store: Store) -> None:
    result = import_file(store, "ad-spend", SAMPLE, currency="eur")

    assert (result.read, result.rows, result.counts) == (6, 6, {"ad spend rows": 6})
    spend = _spend(store)
    assert spend[(date(2026, 1, 1), "google", "cpc", "shopping")] == (125.4, "USD")
    assert spend[(date(2026, 1, 1), "instagram", "paid_social", "retargeting")] == (35.5, "USD")
    # no campaign is stored as "", no currency as the store's
    assert spend[(date(2026, 1, 2), "tiktok", "paid_social", "")] == (20.0, "EUR")
    assert sum(v for v, _ in spend.values()) == pytest.approx(470.25)


def test_reimport_updates_by_day_and_channel(store: Store, tmp_path: Path) -> None:
    import_file(store, "ad-spend", SAMPLE)
    changed = SAMPLE.read_text(encoding="utf-8").replace("125.40,USD", "99.99,GBP")
    changed += "2026-01-03,google,cpc,shopping,140,USD\n"

    result = import_file(store, "ad-spend", _write(tmp_path, changed))

    assert result.rows == 7
    spend = _spend(store)
    assert len(spend) == 7
    assert spend[(date(2026, 1, 1), "google", "cpc", "shopping")] == (99.99, "GBP")
    assert spend[(date(2026, 1, 3), "google", "cpc", "shopping")] == (140.0, "USD")


def test_rows_sharing_a_key_merge_into_the_last(store: Store, tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        HEADER + "2026-02-01,google,cpc,,10\n2026-02-01,google,cpc,,12\n2026-02-01,bing,cpc,,3\n",
    )
    result = import_file(store, "ad-spend", path, batch_size=1)  # the repeat in a later batch
    assert (result.rows, result.merged, result.counts) == (3, 1, {"ad spend rows": 2})
    assert "1 rows merged" in result.summary()
    assert _spend(store)[(date(2026, 2, 1), "google", "cpc", "")] == (12.0, "USD")
    result = import_file(store, "ad-spend", path)  # one batch: one statement, one row per key
    assert result.merged == 1
    assert len(_spend(store)) == 2


def test_columns_by_other_names_and_by_map(store: Store, tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "Day,Network,Channel,Campaign name,Cost,Currency code\n"
        '03/01/2026,Facebook,paid_social,Spring <b>Sale</b>,"$1,250.00",usd\n',
    )
    with pytest.raises(ImportFileError) as info:
        import_file(store, "ad-spend", path)
    assert (info.value.line, info.value.field) == (1, "source")
    assert "missing required column" in str(info.value)

    import_file(store, "ad-spend", path, mapping={"source": "Network", "medium": "Channel"})

    assert _spend(store) == {
        (date(2026, 3, 1), "Facebook", "paid_social", "Spring Sale"): (1250.0, "USD")
    }


@pytest.mark.parametrize(
    ("row", "field", "message"),
    [
        ("2026-13-01,google,cpc,,5", "date", "not a date: '2026-13-01'"),
        (",google,cpc,,5", "date", "is empty"),
        ("2026-01-01,google,cpc,,-5", "spend", "is negative: '-5'"),
        ("2026-01-01,google,cpc,,lots", "spend", "not a number: 'lots'"),
        ("2026-01-01,google,cpc,,", "spend", "is empty"),
        ("2026-01-01,,cpc,,5", "source", "is empty"),
        ("2026-01-01,google, ,,5", "medium", "is empty"),
        ("2026-01-01,<i></i>,cpc,,5", "source", "has no text once markup is removed"),
    ],
)
def test_bad_row_names_file_line_and_field_and_stores_nothing(
    store: Store, tmp_path: Path, row: str, field: str, message: str
) -> None:
    path = _write(tmp_path, HEADER + "2026-01-01,bing,cpc,,1\n" + row + "\n")
    with pytest.raises(ImportFileError) as info:
        import_file(store, "ad-spend", path, batch_size=1)  # the good row was flushed first
    assert (info.value.path, info.value.line, info.value.field) == (path, 3, field)
    assert str(info.value) == f"{path}, line 3, field {field!r}: {message}"
    assert _spend(store) == {}


def test_bad_currency_is_a_bad_row(store: Store, tmp_path: Path) -> None:
    path = _write(tmp_path, "date,source,medium,spend,currency\n2026-01-01,a,b,1,US$\n")
    with pytest.raises(ImportFileError, match="line 2, field 'currency': not a 3-letter"):
        import_file(store, "ad-spend", path)


def test_skip_bad_rows_imports_the_good_ones_and_rejects_the_rest(
    store: Store, tmp_path: Path
) -> None:
    path = _write(
        tmp_path,
        HEADER + "2026-01-01,google,cpc,a,5\n2026-01-01,google,cpc,b,-1\n"
        "yesterday,google,cpc,c,5\n2026-01-02,google,cpc,d,7.5\n",
    )
    result = import_file(store, "ad-spend", path, skip_bad_rows=True)

    assert (result.rows, result.rejected) == (2, 2)
    assert sorted(k[3] for k in _spend(store)) == ["a", "d"]
    with result.reject_file.open(encoding="utf-8", newline="") as fh:
        rejects = list(csv.reader(fh))
    assert rejects[0] == ["date", "source", "medium", "campaign", "spend", "reason"]
    assert [r[-1] for r in rejects[1:]] == [
        "line 3, field 'spend': is negative: '-1'",
        "line 4, field 'date': not a date: 'yesterday'",
    ]


def test_preview_and_validate_know_the_kind(store: Store, tmp_path: Path) -> None:
    preview = preview_file("ad-spend", SAMPLE, rows=2)
    assert preview.missing == [] and preview.more
    assert {m.field: m.column for m in preview.fields} == {
        "date": "date",
        "source": "source",
        "medium": "medium",
        "campaign": "campaign",
        "spend": "spend",
        "currency": "currency",
    }
    bad = _write(tmp_path, HEADER + "2026-01-01,google,cpc,,5\n2026-01-01,google,cpc,x,abc\n")
    validation = validate_file(store, "ad-spend", bad)
    assert (validation.stored, validation.error_count) == (1, 1)
    assert str(validation.errors[0]) == "line 3, field 'spend': not a number: 'abc'"
    assert _spend(store) == {}  # a dry run


def test_cli_imports_ad_spend(workspace: Path) -> None:
    from typer.testing import CliRunner

    from shopmind.cli import app

    result = CliRunner().invoke(
        app, ["--workspace", str(workspace), "import", "ad-spend", str(SAMPLE)]
    )
    assert result.exit_code == 0, result.output
    assert "stored 6 ad spend rows" in " ".join(result.output.split())


def test_migration_0008_downgrades_and_upgrades_again(store: Store) -> None:
    import_file(store, "ad-spend", SAMPLE)

    def tables_and_columns() -> tuple[set[str], set[str]]:
        found = inspect(store.engine)
        return set(found.get_table_names()), {c["name"] for c in found.get_columns("events")}

    def migrate(step: object, revision: str) -> None:
        with store.engine.begin() as conn:
            cfg = alembic_config(store.url)
            cfg.attributes["connection"] = conn
            step(cfg, revision)  # type: ignore[operator]

    assert store.current_revision() == "0008"
    migrate(command.downgrade, "0007")
    tables, columns = tables_and_columns()
    assert "ad_spend" not in tables and "search_term" not in columns
    assert store.current_revision() == "0007"
    store.upgrade()
    tables, columns = tables_and_columns()
    assert "ad_spend" in tables and "search_term" in columns
    assert _spend(store) == {}
