"""Value parsing and text extraction used by the importers (no database needed)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from shopmind.safety import (
    front_matter,
    html_to_text,
    markdown_to_text,
    parse_html,
    visible_text,
)
from shopmind.store.importers.reading import detect_encoding, key, sniff_delimiter
from shopmind.store.importers.values import (
    detect_language,
    parse_bool,
    parse_datetime,
    parse_int,
    parse_money,
    split_list,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12.5", 12.5),
        ("$1,299.00", 1299.0),
        ("1.299,00 €", 1299.0),
        ("€ 12", 12.0),
        ("1 299,50", 1299.5),
        ("1\u00a0299,50 €", 1299.5),
        ("CHF 1'299.90", 1299.9),
        ("1,234,567.89", 1234567.89),
        ("1.234.567,89", 1234567.89),
        ("1,299", 1299.0),  # one comma + three digits: thousands
        ("12,50", 12.5),  # one comma + two digits: decimals
        ("0,500", 0.5),
        ("US$ 5", 5.0),
        ("12 USD", 12.0),
        ("R$ 10,00", 10.0),
        ("19.999", 20.0),  # a lone dot is a decimal point; money keeps cents
    ],
)
def test_parse_money_reads_store_price_formats(text: str, expected: float) -> None:
    assert parse_money(text) == expected


@pytest.mark.parametrize("text", ["abc", "12abc", "1e5", "12.50.00", "1,2,3", "$", "1 2"])
def test_parse_money_refuses_what_is_not_a_price(text: str) -> None:
    with pytest.raises(ValueError, match="not a number"):
        parse_money(text)


def test_parse_money_signs_and_bounds() -> None:
    assert parse_money("-5.00", negative=True) == -5.0
    assert parse_money("(3.00)", negative=True) == -3.0
    with pytest.raises(ValueError, match="negative"):
        parse_money("-5.00")
    with pytest.raises(ValueError, match="out of range"):
        parse_money("99,999,999,999.00")


def test_parse_int_and_bool() -> None:
    assert parse_int("1,250") == 1250
    assert parse_int("-3") == -3
    assert parse_int("7.0") == 7
    with pytest.raises(ValueError, match="whole number"):
        parse_int("2.5")
    assert parse_bool("TRUE") is True
    assert parse_bool("no") is False
    assert parse_bool("-1") is False  # WooCommerce "private"
    with pytest.raises(ValueError):
        parse_bool("maybe")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-03-01 10:15:00 -0500", datetime(2024, 3, 1, 15, 15)),  # Shopify
        ("2024-03-01T10:15:00Z", datetime(2024, 3, 1, 10, 15)),
        ("2024-03-01", datetime(2024, 3, 1)),
        ("2024-03-01 10:15:00 UTC", datetime(2024, 3, 1, 10, 15)),
        ("Fri, 01 Mar 2024 10:15:00 +0100", datetime(2024, 3, 1, 9, 15)),
        ("3/1/2024", datetime(2024, 3, 1)),
        ("01.03.2024 10:00", datetime(2024, 3, 1, 10)),
        ("1709287200", datetime(2024, 3, 1, 10)),
        ("1709287200000000", datetime(2024, 3, 1, 10)),
    ],
)
def test_parse_datetime_gives_naive_utc(text: str, expected: datetime) -> None:
    assert parse_datetime(text) == expected


@pytest.mark.parametrize("text", ["yesterday", "2024-13-45", "1850-01-01"])
def test_parse_datetime_refuses_nonsense(text: str) -> None:
    with pytest.raises(ValueError):
        parse_datetime(text)


def test_split_list_handles_escaped_separators_and_duplicates() -> None:
    assert split_list(r"Clothing > Tops, Sale, Sale, Tees\, basic,") == [
        "Clothing > Tops",
        "Sale",
        "Tees, basic",
    ]


def test_header_keys_ignore_case_spaces_and_punctuation() -> None:
    assert key("Variant SKU") == key("variant_sku") == key(" VARIANT-SKU ")
    assert key("Body (HTML)") == key("body html")
    assert key("Compare-at price") != key("Variant Compare At Price")


def test_html_to_text_drops_scripts_and_styles_and_decodes_entities() -> None:
    html = (
        "<style>p{color:red}</style><p>Soft <b>cotton</b>&nbsp;tee &amp; more.</p>"
        "<script>alert('x')</script><ul><li>One</li><li>Two</li></ul>"
        "<img src=x onerror=alert(1)>"
    )
    text = html_to_text(html)
    assert text.split() == ["Soft", "cotton", "tee", "&", "more.", "One", "Two"]
    assert "alert" not in text and "color" not in text
    # Escaped markup is decoded and then read as markup: no live <script> comes out of it
    # (issue 7, "Live markup from text"); a lone "<" stays text.
    assert html_to_text("2 &lt; 3 &lt;script&gt;") == "2 < 3"


def test_visible_text_tells_tags_from_prose_and_keeps_lines_when_asked() -> None:
    assert html_to_text("I <3 this & 2 < 3 > 1") == "I <3 this & 2 < 3 > 1"
    assert visible_text("<p>line one\nline two</p>", keep_newlines=True) == (
        "\nline one\nline two\n"
    )
    assert html_to_text("<p>line one\nline two</p>") == "line one line two"
    assert "x" not in html_to_text("<title>x</title><div>body</div>")  # title is not body text


def test_parse_html_title_falls_back_to_h1() -> None:
    assert parse_html("<title>Shipping</title><h1>Other</h1><p>x</p>")[0] == "Shipping"
    assert parse_html("<h1>Returns <em>&amp;</em> refunds</h1><p>x</p>")[0] == "Returns & refunds"


def test_markdown_to_text() -> None:
    meta, _ = front_matter("---\ntitle: 'Terms'\nurl: https://x.test/terms\n---\n# Heading\n")
    assert meta == {"title": "Terms", "url": "https://x.test/terms"}
    title, text = markdown_to_text(
        "Intro line\n\n## Delivery times\n\nWe ship **fast** to [most places](http://x).\n"
        "![a box](box.png) snake_case_name stays.\n```\ncode\n```\n> quoted\n"
    )
    assert title == "Delivery times"
    assert "We ship fast to most places." in text
    assert "a box snake_case_name stays." in text
    assert "**" not in text and "http" not in text and "```" not in text
    assert "quoted" in text


def test_detect_language() -> None:
    assert detect_language("Runs small, order a size up.") == "en"
    assert detect_language("质量很好，物流也快。") == "zh"
    assert detect_language("iPhone壳很好用") == "zh"
    assert detect_language("I love my new 包 bag") == "en"
    assert detect_language("とても良いです") == "ja"
    assert detect_language("아주 좋아요") == "ko"


def test_detect_encoding(tmp_path: Path) -> None:
    cases = {
        "bom.csv": "\ufeffname\nCafé\n".encode(),
        "utf8.csv": "name\nCafé\n".encode(),
        "cp1252.csv": "name\nCafé – “quoted”\n".encode("cp1252"),
        "latin1.csv": b"name\nCaf\xe9 \x81\n",  # 0x81 is undefined in cp1252
        "utf16.csv": "name\nCafé\n".encode("utf-16"),
    }
    found = {}
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        found[name] = detect_encoding(tmp_path / name)
    assert found == {
        "bom.csv": "utf-8-sig",
        "utf8.csv": "utf-8",
        "cp1252.csv": "cp1252",
        "latin1.csv": "latin-1",
        "utf16.csv": "utf-16",
    }


def test_detect_encoding_checks_the_whole_file(tmp_path: Path) -> None:
    path = tmp_path / "late.csv"
    path.write_bytes(b"name\n" + b"plain ascii row\n" * 200_000 + b"Caf\xe9\n")
    assert detect_encoding(path) == "cp1252"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("a,b,c\n", ","),
        ("a;b;c\n", ";"),
        ("a\tb\tc\n", "\t"),
        ('"a;b",c,d\n', ","),  # delimiters inside quotes do not count
        ("single\n", ","),
    ],
)
def test_sniff_delimiter(line: str, expected: str) -> None:
    assert sniff_delimiter(line) == expected
