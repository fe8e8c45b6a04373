"""Broken and awkward files: clear errors, all-or-nothing writes, reject files, encodings."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from sqlalchemy import select

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
