"""Broken and awkward files: clear errors, all-or-nothing writes, reject files, encodings."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from sqlalchemy import select, text

from shopmind.store import Store
from shopmind.store.importers import IMPORTERS, ImportFileError, import_file
from shopmind.store.models import Product, Variant

DATA = Path(__file__).parent / "data" / "importers"
HEADER = "Handle,Title,Body (HTML),Option1 Name,Option1 Value,Variant SKU,Variant Price\n"


def _write(tmp_path: Path, text: str, name: str = "products.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def _titles(store: Store) -> dict[str, str]:
    with store.session() as s:
        return dict(s.execute(select(Product.external_id, Product.title)).all())


def test_bad_price_is_refused_with_file_line_and_field(store: Store, tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        HEADER + "tee,Tee,,Size,S,T-S,10\ntee,,,,M,T-M,abc\n",
    )
    with pytest.raises(ImportFileError) as info:
        import_file(store, "shopify-products", path)
    error = info.value
    assert (error.path, error.line, error.field) == (path, 3, "Variant Price")
    assert str(error) == f"{path}, line 3, field 'Variant Price': not a number: 'abc'"
    assert store.stats()["products"] == 0


def test_failure_after_a_written_batch_rolls_everything_back(store: Store, tmp_path: Path) -> None:
    import_file(store, "shopify-products", DATA / "shopify_products.csv")
    before, titles = store.stats(), _titles(store)
    text = (DATA / "shopify_products.csv").read_text(encoding="utf-8")
    text = text.replace("Linen Camp Shirt,", "RENAMED,", 1).replace("Trail Runner GTX", "RENAMED")
    text += "zz-new,New product,,,,,,,Size,S,,,,,NEW-1,,,1,,,not-a-price,,,,,,,,,,,,,,\n"
    path = _write(tmp_path, text)

    with pytest.raises(ImportFileError) as info:
        import_file(store, "shopify-products", path, batch_size=1)  # earlier products flushed

    assert (info.value.line, info.value.field) == (12, "Variant Price")
    assert store.stats() == before
    assert _titles(store) == titles


def test_skip_bad_rows_writes_rejects_with_reasons(store: Store, tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        HEADER
        + "tee,Tee,,Size,S,T-S,10\n"
        + "tee,,,,M,T-M,12\n"
        + "mug,Mug,,,,MUG,$5.00\n"
        + "cap,Cap,,Color,Red,CAP-R,free\n"
        + "cap,,,,Blue,CAP-B,9\n"
        + ",Orphan,,,,X,1\n",
    )
    result = import_file(store, "shopify-products", path, skip_bad_rows=True)

    assert (result.rows, result.rejected) == (2, 3)
    assert result.reject_file == tmp_path / "products.csv.rejects.csv"
    assert sorted(_titles(store)) == ["mug", "tee"]
    assert "3 rows rejected" in result.summary()
    with result.reject_file.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == [*HEADER.strip().split(","), "reason"]
    # The whole product goes to the reject file, each row as it was read.
    assert rows[1:] == [
        [
            "cap",
            "Cap",
            "",
            "Color",
            "Red",
            "CAP-R",
            "free",
            "line 5, field 'Variant Price': not a number: 'free'",
        ],
        [
            "cap",
            "",
            "",
            "",
            "Blue",
            "CAP-B",
            "9",
            "line 5, field 'Variant Price': not a number: 'free'",
        ],
        ["", "Orphan", "", "", "", "X", "1", "line 7, field 'Handle': is empty"],
    ]

    # Fixed, the reject file imports as it is (its extra reason column is ignored).
    fixed = _write(
        tmp_path,
        result.reject_file.read_text(encoding="utf-8").replace(",free,", ",8,"),
        "fixed.csv",
    )
    again = import_file(
        store, "shopify-products", fixed, skip_bad_rows=True, reject_file=tmp_path / "r.csv"
    )
    assert (again.rows, again.rejected, again.reject_file) == (1, 1, tmp_path / "r.csv")
    assert sorted(_titles(store)) == ["cap", "mug", "tee"]


def test_clean_import_leaves_no_reject_file(store: Store, tmp_path: Path) -> None:
    path = _write(tmp_path, HEADER + "tee,Tee,,,,T,10\n")
    result = import_file(store, "shopify-products", path, skip_bad_rows=True)
    assert (result.rejected, result.reject_file) == (0, None)
    assert not (tmp_path / "products.csv.rejects.csv").exists()


def test_utf8_bom_cp1252_and_semicolons(store: Store, tmp_path: Path) -> None:
    bom = _write(tmp_path, "\ufeff" + HEADER + "creme,Crème brûlée mug,,,,CB,12\n", "bom.csv")
    cp1252 = _write(
        tmp_path,
        HEADER.replace(",", ";")
        + 'cafe;Café “noir” – tasse;"<p>Caf&eacute;</p>";;;CN;1.299,00 €\n',
        "excel.csv",
        encoding="cp1252",
    )
    latin1 = _write(tmp_path, HEADER + "sol,Soleil d'été,,,,SO,£ 12\n", "latin.csv", "latin-1")
    for path in (bom, cp1252, latin1):
        import_file(store, "shopify-products", path)

    assert _titles(store) == {
        "creme": "Crème brûlée mug",
        "cafe": "Café “noir” – tasse",
        "sol": "Soleil d'été",
    }
    with store.session() as s:
        prices = dict(s.execute(select(Variant.sku, Variant.price)).all())
        description = s.scalar(select(Product.description).where(Product.external_id == "cafe"))
    assert prices == {"CB": 12.0, "CN": 1299.0, "SO": 12.0}
    assert description == "Café"


@pytest.mark.parametrize("kind", sorted(IMPORTERS))
def test_empty_file_is_refused_for_every_kind(store: Store, tmp_path: Path, kind: str) -> None:
    path = _write(tmp_path, "", "empty.csv")
    with pytest.raises(ImportFileError, match="file is empty") as info:
        import_file(store, kind, path)
    assert info.value.line is None
    blank = _write(tmp_path, "\n  \n", "blank.csv")
    with pytest.raises(ImportFileError, match="file is empty"):
        import_file(store, kind, blank)


def test_header_only_file_has_no_data_rows(store: Store, tmp_path: Path) -> None:
    path = _write(tmp_path, HEADER + "\n")
    with pytest.raises(ImportFileError, match="no data rows"):
        import_file(store, "shopify-products", path)


def test_missing_column_names_it_and_lists_what_was_found(store: Store, tmp_path: Path) -> None:
    path = _write(tmp_path, "Title,Price\nTee,10\n")
    with pytest.raises(ImportFileError) as info:
        import_file(store, "shopify-products", path)
    assert (info.value.line, info.value.field) == (1, "Handle")
    assert "missing required column (found: 'Title', 'Price')" in str(info.value)


def test_quoted_newlines_keep_line_numbers_and_long_fields_load(
    store: Store, tmp_path: Path
) -> None:
    long_html = "<p>" + "Linen " * 200_000 + "</p>"  # ~1.2 MB in one cell
    text = (
        HEADER
        + 'tee,Tee,"<p>line one\nline two\n\nline four</p>",,,T,10\n'
        + f'big,Big,"{long_html}",,,B,20\n'
        + "bad,Bad,,,,X,??\n"
    )
    path = _write(tmp_path, text)
    with pytest.raises(ImportFileError) as info:
        import_file(store, "shopify-products", path)
    assert info.value.line == 7  # header 1, tee 2-5, big 6, bad 7

    path = _write(tmp_path, text.replace("??", "30"))
    import_file(store, "shopify-products", path)
    with store.session() as s:
        big = s.scalar(select(Product.description).where(Product.external_id == "big"))
    assert len(big) == len("Linen " * 200_000) - 1


def test_too_long_title_and_too_wide_row_are_bad_rows(store: Store, tmp_path: Path) -> None:
    path = _write(
        tmp_path, HEADER + f"long,{'T' * 600},,,,L,1\nwide,Wide,,,,W,1,extra\nok,Ok,,,,O,1\n"
    )
    result = import_file(store, "shopify-products", path, skip_bad_rows=True)
    assert list(_titles(store)) == ["ok"]
    with result.reject_file.open(encoding="utf-8", newline="") as fh:
        reasons = [r[-1] for r in csv.reader(fh)][1:]
    assert reasons == [
        "line 2, field 'Title': longer than 512 characters",
        "line 3: 8 fields but the header has 7",
    ]


def test_hostile_text_is_stored_as_plain_text(store: Store, tmp_path: Path) -> None:
    evil = "Robert'); DROP TABLE products;--"
    path = _write(
        tmp_path,
        HEADER + f'x,"{evil}","<img src=x onerror=alert(1)>ok\x00",,,"A\x00B",1\n',
    )
    import_file(store, "shopify-products", path)
    with store.session() as s:
        product = s.scalars(select(Product)).one()
        sku = s.scalar(select(Variant.sku))
    assert product.title == evil
    assert product.description == "ok"
    assert sku == "AB"  # NUL characters are dropped (PostgreSQL refuses them)
    assert store.stats()["products"] == 1


def test_missing_path_and_unknown_kind(store: Store, tmp_path: Path) -> None:
    with pytest.raises(ImportFileError, match="no such file"):
        import_file(store, "events", tmp_path / "nope.csv")
    with pytest.raises(ImportFileError, match="is a folder"):
        import_file(store, "events", tmp_path)
    with pytest.raises(ValueError, match="unknown import kind"):
        import_file(store, "magento", tmp_path)


def test_cli_import_prints_summary_and_clear_errors(workspace: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from shopmind.cli import app

    runner = CliRunner()
    ws = ["--workspace", str(workspace)]
    good = runner.invoke(
        app, [*ws, "import", "shopify-products", str(DATA / "shopify_products.csv")]
    )
    assert good.exit_code == 0, good.output
    assert "stored 3 products, 8 variants" in " ".join(good.output.split())

    bad = _write(tmp_path, HEADER + "tee,Tee,,,,T,ten\n")
    refused = runner.invoke(app, [*ws, "import", "shopify-products", str(bad)])
    assert refused.exit_code == 1
    assert "line 2, field 'Variant Price': not a number: 'ten'" in " ".join(refused.output.split())

    mapped = runner.invoke(
        app,
        [*ws, "import", "reviews", str(DATA / "reviews.csv"), "--skip-bad-rows"]
        + ["--reject-file", str(tmp_path / "rejects.csv")]
        + [
            f"--map={k}={v}"
            for k, v in {"product": "item", "body": "text", "rating": "stars"}.items()
        ],
    )
    assert mapped.exit_code == 0, mapped.output
    assert "1 rows rejected" in " ".join(mapped.output.split())  # no beanie in this catalog
    assert "MB-CHAR" in (tmp_path / "rejects.csv").read_text(encoding="utf-8")


# --- reject file rules ------------------------------------------------------------------


def test_reject_file_that_is_the_input_is_refused_before_reading(
    store: Store, tmp_path: Path
) -> None:
    """Regression: ``--reject-file`` naming the input file overwrote the merchant's input."""
    text = HEADER + "tee,Tee,,,,T,10\nmug,Mug,,,,M,abc\n"
    path = _write(tmp_path, text)
    (tmp_path / "sub").mkdir()
    link = tmp_path / "link.csv"
    link.symlink_to(path)
    hard = tmp_path / "hard.csv"
    hard.hardlink_to(path)
    for same in (path, tmp_path / "sub" / ".." / "products.csv", link, hard):
        with pytest.raises(ImportFileError, match="reject file is the input file") as info:
            import_file(store, "shopify-products", path, skip_bad_rows=True, reject_file=same)
        assert info.value.path == path and info.value.line is None
        assert path.read_text(encoding="utf-8") == text
    assert store.stats()["products"] == 0


def test_reject_file_inside_the_pages_folder_is_refused(store: Store, tmp_path: Path) -> None:
    """Regression: a reject file written into the folder being imported overwrote a document."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "about.md").write_text("# About\n\nWe sell tea.\n", encoding="utf-8")
    with pytest.raises(ImportFileError, match="inside the folder being imported"):
        import_file(store, "pages", docs, skip_bad_rows=True, reject_file=docs / "about.md")
    assert (docs / "about.md").read_text(encoding="utf-8") == "# About\n\nWe sell tea.\n"


def test_reject_file_folder_is_checked_up_front(store: Store, tmp_path: Path) -> None:
    """Regression: a reject file in a missing folder failed with a FileNotFoundError traceback
    at the first bad row, after the good rows had been parsed and written."""
    path = _write(tmp_path, HEADER + "tee,Tee,,,,T,10\nmug,Mug,,,,M,abc\n")
    missing = tmp_path / "no" / "such" / "rejects.csv"
    with pytest.raises(ImportFileError) as info:
        import_file(store, "shopify-products", path, skip_bad_rows=True, reject_file=missing)
    assert str(info.value) == f"{missing}: the reject file's folder does not exist"
    with pytest.raises(ImportFileError, match="is a folder"):
        import_file(store, "shopify-products", path, skip_bad_rows=True, reject_file=tmp_path)
    assert store.stats()["products"] == 0


def test_failed_import_leaves_no_half_reject_file(store: Store, tmp_path: Path) -> None:
    """Regression: rejects were written straight into the reject file, so an import that
    failed later left it half written (and an earlier run's reject file was lost)."""
    folder = tmp_path / "files"
    folder.mkdir()
    rejects = folder / "rejects.csv"
    rejects.write_text("an earlier run's rejects\n", encoding="utf-8")
    good = '{"event_name": "view_item", "event_timestamp": 1709287200, "user_pseudo_id": "u"}'
    path = _write(folder, f'[{{"event_name": "x"}},\n {good},\n {good}\n', "events.json")
    during: list[str] = []

    def peek(_rows: int) -> None:
        during.append(rejects.read_text(encoding="utf-8"))

    with pytest.raises(ImportFileError, match="the JSON array is not closed"):
        import_file(
            store, "events", path, skip_bad_rows=True, reject_file=rejects, batch_size=1,
            progress=peek,
        )  # fmt: skip
    assert during and set(during) == {"an earlier run's rejects\n"}
    assert rejects.read_text(encoding="utf-8") == "an earlier run's rejects\n"
    assert sorted(p.name for p in folder.iterdir()) == ["events.json", "rejects.csv"]
    assert store.stats()["events"] == 0

    path.write_text(path.read_text(encoding="utf-8") + "]", encoding="utf-8")
    result = import_file(store, "events", path, skip_bad_rows=True, reject_file=rejects)
    assert (result.rows, result.rejected) == (2, 1)
    assert rejects.read_text(encoding="utf-8").splitlines()[0] == "record,reason"
    assert sorted(p.name for p in folder.iterdir()) == ["events.json", "rejects.csv"]


# --- duplicate headers ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "text", "mapping", "message"),
    [
        (
            "shopify-products",
            "Handle,Title,Title,Variant Price\ntee,Tee,,10\n",
            {},
            "line 1, field 'Title': duplicate column: 'Title' is column 2 and column 3",
        ),
        (
            "events",
            "event_name,event_timestamp,user_pseudo_id,Event Name\nview_item,1709287200,u,x\n",
            {},
            "line 1, field 'Event Name': duplicate column: 'event_name' is column 1 "
            "and 'Event Name' column 4",
        ),
        (
            "events",
            "event_name,When,user_pseudo_id,event_timestamp\nview_item,1709287200,u,1\n",
            {"event_timestamp": "When"},
            "line 1, field 'event_timestamp': duplicate column: 'When' is column 2 "
            "and 'event_timestamp' column 4",
        ),
        (
            "reviews",
            "sku,rating,Rating\nMUG-350,5,1\n",
            {},
            "line 1, field 'Rating': duplicate column: 'rating' is column 2 and 'Rating' column 3",
        ),
    ],
)
def test_duplicate_header_of_one_of_our_fields_is_refused(
    store: Store,
    tmp_path: Path,
    kind: str,
    text: str,
    mapping: dict[str, str],
    message: str,
) -> None:
    """Regression: a repeated header was read inconsistently (events CSV took the last
    column, other kinds the first), and ``Handle,Title,Title`` said 'Title is empty'."""
    path = _write(tmp_path, text, "dup.csv")
    with pytest.raises(ImportFileError) as info:
        import_file(store, kind, path, mapping=mapping)
    assert str(info.value) == f"{path}, {message}"
    assert sum(store.stats().values()) == 0


def test_duplicate_header_we_do_not_read_is_ignored(store: Store, tmp_path: Path) -> None:
    path = _write(tmp_path, "Handle,Title,Note,Note,Variant Price\ntee,Tee,a,b,10\n")
    result = import_file(store, "shopify-products", path)
    assert result.counts == {"products": 1, "variants": 1}


# --- database errors --------------------------------------------------------------------


_REFUSE_BOOM = {
    "sqlite": [
        "CREATE TRIGGER refuse_boom BEFORE INSERT ON order_lines WHEN NEW.sku = 'BOOM' "
        "BEGIN SELECT RAISE(ABORT, 'no BOOM lines'); END"
    ],
    "postgresql": [
        "CREATE FUNCTION refuse_boom() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "IF NEW.sku = 'BOOM' THEN RAISE EXCEPTION 'no BOOM lines'; END IF; RETURN NEW; END $$",
        "CREATE TRIGGER refuse_boom BEFORE INSERT ON order_lines FOR EACH ROW "
        "EXECUTE FUNCTION refuse_boom()",
    ],
}


def test_database_error_is_one_line_naming_the_file(store: Store, tmp_path: Path) -> None:
    """Regression: an error raised by the database escaped as a SQLAlchemy traceback that
    dumped the SQL and its parameters; now it is one line naming the file, and rolled back."""
    with store.connect() as conn:
        for statement in _REFUSE_BOOM[store.dialect]:
            conn.execute(text(statement))
    rows = "".join(f"A-{i},2024-01-01,SKU-{i},1\n" for i in range(5))
    path = _write(tmp_path, "order_id,created_at,sku,price\n" + rows + "B,2024-01-02,BOOM,1\n")

    with pytest.raises(ImportFileError) as info:
        import_file(store, "orders", path, batch_size=2)  # earlier batches already written

    assert str(info.value) == f"{path}: database error: no BOOM lines"
    assert info.value.__cause__ is None and info.value.__suppress_context__
    assert store.stats()["orders"] == 0
