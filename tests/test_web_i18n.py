"""The dashboard's languages: negotiation, catalogs (complete, in step with the source) and
locale formatting."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from jinja2 import Environment

from shopmind.web import i18n

# --- negotiation -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh_CN"),
        ("fr", "en"),
        ("fr-FR,fr;q=0.9", "en"),
        ("fr-FR,fr;q=0.9,zh;q=0.5", "zh_CN"),  # the first language we have
        ("en;q=0.5,zh-CN;q=0.9", "zh_CN"),  # by quality, not by position
        ("zh;q=0,en", "en"),  # q=0 means "not this one"
        ("zh;q=abc,en", "en"),  # a malformed quality is not a preference
        ("zh-Hans-CN", "zh_CN"),
        ("zh-TW", "zh_CN"),  # the only Chinese there is
        ("EN-gb", "en"),
        ("*", "en"),
        ("", "en"),
        (None, "en"),
    ],
)
def test_negotiate_follows_accept_language(header: str | None, expected: str) -> None:
    assert i18n.negotiate(header, None) == expected


def test_the_users_choice_wins_over_the_browser() -> None:
    assert i18n.negotiate("zh-CN,zh;q=0.9", "en") == "en"
    assert i18n.negotiate("en-US,en;q=0.9", "zh_CN") == "zh_CN"
    assert i18n.negotiate("en-US", "zh-CN") == "zh_CN"  # a BCP 47 spelling works too
    assert i18n.negotiate("zh-CN", "fr") == "zh_CN"  # a choice we do not have is ignored


def test_html_lang_and_the_language_picker_cover_every_locale() -> None:
    assert i18n.html_lang("zh_CN") == "zh-CN"
    assert [code for code, _ in i18n.LANGUAGES] == list(i18n.LOCALES)
    with pytest.raises(ValueError, match="'fr'"):
        i18n.html_lang("fr")


# --- catalogs ----------------------------------------------------------------------------


def test_every_message_of_the_source_has_a_chinese_translation() -> None:
    """Fails when a page ships a string that ``python -m shopmind.web.i18n update`` has not
    brought into the catalog, or that nobody translated (empty or fuzzy)."""
    assert i18n.check() == []


def test_check_names_missing_empty_fuzzy_and_broken_entries(tmp_path: Path) -> None:
    source = tmp_path / "web"
    (source / "templates").mkdir(parents=True)
    (source / "page.py").write_text('_("Overview")\n_("A new button")\n_("Hi %(name)s")\n')
    (source / "templates" / "page.html").write_text(
        '<h1>{{ _("From a template") }}</h1>\n'
        '{{ ngettext("%(num)s order", "%(num)s orders", n) }}\n'
    )
    catalog = Catalog(locale="zh_CN", domain=i18n.DOMAIN)
    catalog.add("Overview", "概览")
    catalog.add("A new button", "")
    catalog.add("From a template", "来自模板", flags=["fuzzy"])
    catalog.add(("%(num)s order", "%(num)s orders"), ("订单",), flags=["python-format"])
    catalog.add("Hi %(name)s", "你好 %(nom)s", flags=["python-format"])
    locale_dir = _locale_dir(tmp_path, catalog)

    problems = i18n.check(source, locale_dir)

    text = "\n".join(problems)
    assert "'Overview'" not in text
    assert "'A new button': no translation" in text
    assert "'From a template': fuzzy" in text
    assert "'%(num)s order': translation lacks %(num)s" in text
    assert "'Hi %(name)s': unknown named placeholder 'nom'" in text
    assert all(p.startswith(str(locale_dir)) for p in problems)


def test_check_finds_a_template_string_missing_from_the_catalog(tmp_path: Path) -> None:
    source = tmp_path / "web"
    (source / "templates").mkdir(parents=True)
    (source / "templates" / "new.html").write_text('<p>{{ _("A page nobody translated") }}</p>')
    locale_dir = _locale_dir(tmp_path, Catalog(locale="zh_CN", domain=i18n.DOMAIN))

    assert i18n.check(source, locale_dir) == [
        f"{i18n.catalog_path('zh_CN', locale_dir)}: 'A page nobody translated': not in the catalog"
    ]


def test_update_keeps_translations_and_adds_new_strings_untranslated(tmp_path: Path) -> None:
    source = tmp_path / "web"
    source.mkdir()
    (source / "page.py").write_text('_("Overview")\n_("Quarterly forecast")\n_("Brand new")\n')
    locale_dir = tmp_path / "locale"
    shutil.copytree(i18n.LOCALE_DIR, locale_dir)

    [written] = i18n.update(source, locale_dir)

    catalog = i18n.read_catalog("zh_CN", locale_dir)
    assert written == i18n.catalog_path("zh_CN", locale_dir)
    assert catalog.get("Overview").string == "概览"
    assert catalog.get("Quarterly forecast").string == ""
    assert catalog.get("Brand new").fuzzy  # a guess from "Brand", to be checked
    assert catalog.get("Log in") is None  # gone from the source, gone from the catalog
    assert i18n.untranslated(catalog) == [
        "'Quarterly forecast': no translation",
        "'Brand new': fuzzy",
    ]


def test_extract_command_writes_a_template(tmp_path: Path) -> None:
    output = tmp_path / "messages.pot"
    assert i18n.main(["extract", "-o", str(output)]) == 0
    text = output.read_text(encoding="utf-8")
    assert 'msgid "No data for this period"' in text
    assert "#: src/shopmind/web/charts.py:" in text


def _locale_dir(tmp_path: Path, catalog: Catalog) -> Path:
    from babel.messages.pofile import write_po

    locale_dir = tmp_path / "locale"
    shutil.copytree(i18n.LOCALE_DIR, locale_dir)
    with i18n.catalog_path("zh_CN", locale_dir).open("wb") as fp:
        write_po(fp, catalog)
    return locale_dir


# --- translations at run time --------------------------------------------------------------


def test_translations_speak_chinese_and_english() -> None:
    zh = i18n.translations("zh_CN")
    assert zh.gettext("Log in") == "登录"
    assert zh.gettext("Overview") == "概览"
    assert zh.gettext("A string nobody wrote") == "A string nobody wrote"
    assert i18n.translations("en").gettext("Log in") == "Log in"
    with pytest.raises(ValueError, match="'de'"):
        i18n.translations("de")


@pytest.mark.parametrize(
    ("locale", "lock_out", "reviews"),
    [
        ("en", "Too many failed attempts; try again in 30 seconds", "1 review / 3 reviews"),
        ("zh_CN", "失败次数过多，请在 30 秒后重试", "1 条评价 / 3 条评价"),
    ],
)
def test_jinja_renders_the_catalog(locale: str, lock_out: str, reviews: str) -> None:
    env = Environment(extensions=["jinja2.ext.i18n"], autoescape=True)
    env.install_gettext_translations(i18n.translations(locale), newstyle=True)  # type: ignore[attr-defined]
    template = env.from_string(
        '{{ _("Too many failed attempts; try again in %(seconds)s seconds", seconds=30) }}|'
        '{{ ngettext("%(num)s review", "%(num)s reviews", 1) }} / '
        '{{ ngettext("%(num)s review", "%(num)s reviews", 3) }}|'
        '{{ _("Log in") }}'
    )
    lock, plural, login = template.render().split("|")
    assert (lock, plural) == (lock_out, reviews)
    assert login == ("登录" if locale == "zh_CN" else "Log in")


# --- formatting --------------------------------------------------------------------------


def test_currency_follows_the_locale() -> None:
    assert i18n.format_currency(1234567.891, "USD", "en") == "$1,234,567.89"
    assert i18n.format_currency(1234567.891, "USD", "zh_CN") == "US$1,234,567.89"
    assert i18n.format_currency(1234567.891, "CNY", "zh_CN") == "¥1,234,567.89"
    assert i18n.format_currency(1234567.891, "CNY", "en") == "CN¥1,234,567.89"
    assert i18n.format_currency(1234.5, "JPY", "en") == "¥1,234"  # yen have no cents
    with pytest.raises(ValueError, match="'EURO'"):
        i18n.format_currency(1, "EURO", "en")


def test_numbers_and_percentages() -> None:
    assert i18n.format_number(1234567.891, "en") == "1,234,567.891"
    assert i18n.format_number(1234567.891, "zh_CN", 0) == "1,234,568"
    assert i18n.format_number(0.5, "en", 2) == "0.50"
    assert i18n.format_percent(0.1234, "zh_CN") == "12.3%"
    assert i18n.format_percent(0.5, "en", 0) == "50%"


def test_dates_and_date_times() -> None:
    day = dt.date(2024, 3, 7)
    assert i18n.format_date(day, "en") == "Mar 7, 2024"
    assert i18n.format_date(day, "zh_CN") == "2024年3月7日"
    assert i18n.format_day(day, "zh_CN") == "3月7日"
    assert i18n.format_month(day, "en") == "Mar 2024"
    assert i18n.format_month(day, "zh_CN") == "2024年3月"
    moment = dt.datetime(2024, 3, 7, 15, 4, tzinfo=dt.UTC)
    assert i18n.format_datetime(moment, "zh_CN") == "2024年3月7日 15:04:00"
    assert i18n.format_datetime(moment, "en") == "Mar 7, 2024, 3:04:00\u202fPM"
    naive = moment.replace(tzinfo=None)  # taken as UTC, shown in the zone asked for
    assert i18n.format_datetime(naive, "zh_CN", tz="Asia/Shanghai") == "2024年3月7日 23:04:00"
