"""The dashboard's languages: English and Simplified Chinese through gettext catalogs.

English is the source language (the msgids), so it has no catalog. Every other language has a
source catalog ``locale/<locale>/LC_MESSAGES/messages.po``, read with Babel and compiled in
memory the first time it is needed: nothing to build after a clone and no binary ``.mo`` in git.

Locales are Babel/POSIX identifiers: ``"en"`` and ``"zh_CN"``. :func:`negotiate` maps an
``Accept-Language`` header (BCP 47 tags such as ``zh-CN``) or the user's stored choice to one.

For Jinja2, ``env.install_gettext_translations(translations(locale), newstyle=True)`` on
one environment per locale. Message maintenance (``babel.cfg`` lives in ``locale/``)::

    python -m shopmind.web.i18n extract [-o messages.pot]  # print/write the template
    python -m shopmind.web.i18n update                     # merge new msgids into each .po
    python -m shopmind.web.i18n check                      # exit 1 on an untranslated msgid
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import re
import sys
from collections.abc import Iterator
from decimal import Decimal
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from babel import Locale, dates, numbers
from babel.messages.catalog import Catalog, Message
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po
from babel.support import NullTranslations, Translations

from shopmind import __version__

DEFAULT = "en"
LOCALES = ("en", "zh_CN")
CATALOG_LOCALES = tuple(locale for locale in LOCALES if locale != DEFAULT)
# (locale, its name in itself) for a language picker; never translated.
LANGUAGES = (("en", "English"), ("zh_CN", "简体中文"))
_HTML_LANG = {"en": "en", "zh_CN": "zh-CN"}
# Primary language subtag of an Accept-Language tag -> our locale. Every Chinese tag
# (zh-TW and zh-Hant too) gets Simplified Chinese: it is the only Chinese we have and reads
# better to a Chinese reader than English does; the user's choice can override it.
_BY_LANGUAGE = {"en": "en", "zh": "zh_CN"}
_MAX_ACCEPT_ITEMS = 32

WEB_DIR = Path(__file__).resolve().parent
LOCALE_DIR = WEB_DIR / "locale"
MAPPING_FILE = LOCALE_DIR / "babel.cfg"
DOMAIN = "messages"
_PLACEHOLDER = re.compile(r"%\((\w+)\)")


def N_(message: str) -> str:
    """Mark ``message`` for extraction without translating it (gettext_noop)."""
    return message


# Values that templates translate at run time (``{{ _(job.status) }}``, ``{{ _(u.role) }}``),
# declared here because extraction reads only web/. Keep in step with their sources: job
# statuses (store/jobs.py ``STATUSES``), import-run statuses (``ImportRun.status``: done,
# failed, validated), account roles (store/users.py ``ROLES``) and the descriptions of the
# settings (tests/test_settings_edit.py checks these).
VALUE_MESSAGES = (
    N_("queued"),
    N_("running"),
    N_("done"),
    N_("failed"),
    N_("interrupted"),
    N_("validated"),
    N_("admin"),
    N_("viewer"),
    # the titles of the job kinds (shopmind.jobs.kinds)
    N_("Train a sentiment model"),
    N_("Score the store's reviews"),
    N_("Import a file"),
    N_("Check a file without importing it"),
    N_("Rebuild the daily figures"),
    N_("Write copy"),
    N_("Write an article"),
    N_("Tune the language model to the store's voice"),
    N_("Train a recommender"),
    N_("Index the help pages and catalog for the assistant"),
    N_("Train the support intent classifier"),
    N_("Write the growth report"),
    # the descriptions of the settings (shopmind.config.Settings, but workspace)
    N_("SQLAlchemy URL; empty means SQLite."),
    N_("Store currency (ISO 4217) used when an import or event names none."),
    N_("Rows written per transaction by importers and the simulator."),
    N_("Threads for numeric and model work."),
    N_("Interface the server binds when --host is not given."),
    N_("Port the server listens on when --port is not given."),
    N_("Cost units one scoring request may take (a Latin character is 1)."),
    N_("Concurrent model calls; 0: as many as threads."),
    N_("Seconds a request waits for a free model slot."),
    N_("Tokens an API key gets back per minute; 0: no limit."),
    N_("Tokens an API key can spend at once."),
    N_("Versions of each model kept in models/."),
    N_("Largest file the dashboard takes (MiB)."),
    N_("Background jobs one server runs at once."),
    N_("Failed dashboard log-ins in a row before a lock."),
    N_("First lock-out; doubles per further failure."),
    N_("Hours a dashboard log-in lasts."),
    N_("Language-model backend: local (in this process) or openai (a server)."),
    N_("The tone copy is written in, in a few words."),
    N_("Words copy never uses, separated by commas."),
    N_("Words copy works in where they fit, separated by commas."),
    N_("Descriptions of similar products of the store shown to the model."),
    N_("Write with the adapter tuned to the store's voice, when there is one."),
    N_(
        "The model that serves recommendations; auto: the trained one that ranks the "
        "store's own shoppers best."
    ),
    N_("Leave out what the shopper already bought."),
    N_("Leave out what the shopper already looked at."),
    N_("Product ids shown first wherever they pass the rules, comma-separated."),
    N_("Products whose scores are multiplied: ID:FACTOR, comma-separated."),
    N_("Widget calls one client (key and IP) gets back per minute; 0: no limit."),
    N_("Widget calls one client can make at once."),
    N_(
        "local: a model folder, .gguf file or cached Hugging Face id (empty: the packaged "
        "SmolLM2-135M-Instruct); openai: the model the server serves."
    ),
    N_(
        "local: the weights' precision; auto is bfloat16 where the hardware does it "
        "(AVX512-BF16/AMX CPUs, recent GPUs), else float32."
    ),
    N_("Base URL of the OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1."),
    N_("API key sent to that server (never shown)."),
    N_("Seconds to wait for the server's answer."),
    N_("Retries after a refused connection, 429 or 5xx."),
    N_(
        "Who words answers: model (the language model, from the passages only), extractive "
        "(the passages' own sentences); auto: model when llm_backend is openai, else "
        "extractive."
    ),
    N_("Intent confidence below which a message's intent counts as unknown."),
    N_(
        "Similarity a passage needs to answer from; below it the assistant says it does not "
        "know and offers a person."
    ),
    N_(
        "Send e-mail addresses, phone and card numbers to a remote model server (openai "
        "backend) instead of masking them first."
    ),
    N_("Turns in a row the assistant could not help before it hands over."),
    N_(
        "Where the growth analyses run: duckdb (in this process, reading the store), postgres "
        "(inside a PostgreSQL store), spark (PySpark over insights_spark_path)."
    ),
    N_("Folder of Parquet tables the spark engine reads (shopmind insights export writes one)."),
    N_(
        "Memory the duckdb engine may use, in MB; past it DuckDB spills to the system's "
        "temporary folder, so a larger store takes longer rather than more memory."
    ),
    N_(
        "Who words the recommendations: template, or model (the language model rewords them; "
        "kept only when every number survives); auto: model when llm_backend is openai, else "
        "template."
    ),
)

# A message no page spells out any more (login.html ends the sentence with a full stop) but
# tests/test_web_i18n.py still renders from the catalog; drop it once the test uses the page's.
FRAME_MESSAGES = (N_("Too many failed attempts; try again in %(seconds)s seconds"),)


# --- negotiation -----------------------------------------------------------------------


def match_locale(tag: str | None) -> str | None:
    """Our locale for one language tag (``zh-CN``, ``zh_Hans_CN``, ``en-GB``, ``en``), or None."""
    if not tag:
        return None
    language = tag.strip().replace("_", "-").split("-", 1)[0].lower()
    return _BY_LANGUAGE.get(language)


def _accepted_tags(header: str) -> Iterator[str]:
    """Tags of an Accept-Language header, most preferred first (q=0 and malformed dropped)."""
    weighted = []
    for position, item in enumerate(header.split(",")[:_MAX_ACCEPT_ITEMS]):
        tag, _, params = item.partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if tag.strip() and quality > 0:
            weighted.append((-quality, position, tag.strip()))
    for _, _, tag in sorted(weighted):
        yield tag


def negotiate(accept_language: str | None, user_choice: str | None = None) -> str:
    """The locale to serve: the user's choice if supported, else the browser's first
    supported preference, else English."""
    chosen = match_locale(user_choice)
    if chosen:
        return chosen
    for tag in _accepted_tags(accept_language or ""):
        found = match_locale(tag)
        if found:
            return found
    return DEFAULT


def html_lang(locale: str) -> str:
    """The BCP 47 tag for ``<html lang>`` (``"zh-CN"`` for ``"zh_CN"``)."""
    return _HTML_LANG[_check(locale)]


def _check(locale: str) -> str:
    if locale not in LOCALES:
        raise ValueError(f"locale {locale!r} is not supported; use one of {LOCALES}")
    return locale


@cache
def _babel(locale: str) -> Locale:
    """The parsed locale, kept: Babel parses a locale name on every call otherwise (a
    third of a formatted number's cost)."""
    return Locale.parse(_check(locale))


@lru_cache(maxsize=512)
def _is_currency(code: str) -> bool:
    return numbers.is_currency(code)


# --- catalogs --------------------------------------------------------------------------


def catalog_path(locale: str, locale_dir: Path = LOCALE_DIR) -> Path:
    return locale_dir / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


def read_catalog(locale: str, locale_dir: Path = LOCALE_DIR) -> Catalog:
    """The source catalog of ``locale`` as Babel reads it."""
    path = catalog_path(locale, locale_dir)
    with path.open("rb") as fp:
        return read_po(fp, locale=locale, domain=DOMAIN)


@cache
def translations(locale: str) -> NullTranslations:
    """gettext/ngettext/pgettext for ``locale``, for ``Environment.install_gettext_translations``
    or plain Python. Fuzzy and empty entries fall back to English."""
    if _check(locale) == DEFAULT:
        return NullTranslations()
    buffer = io.BytesIO()
    write_mo(buffer, read_catalog(locale), use_fuzzy=False)
    buffer.seek(0)
    return Translations(fp=buffer, domain=DOMAIN)


def gettext(message: str, locale: str) -> str:
    """``message`` in ``locale`` (English when it has no translation)."""
    return translations(locale).gettext(message)


# --- formatting ------------------------------------------------------------------------

Number = int | float | Decimal


def format_number(value: Number, locale: str, decimals: int | None = None) -> str:
    """``1,234,567.891`` in the locale's symbols; ``decimals`` fixes the fraction digits."""
    pattern = None if decimals is None else "#,##0" + ("." + "0" * decimals if decimals else "")
    return numbers.format_decimal(value, pattern, locale=_babel(locale))


def format_percent(ratio: Number, locale: str, decimals: int = 1) -> str:
    """``0.1234`` -> ``12.3%``."""
    pattern = "#,##0" + ("." + "0" * decimals if decimals else "") + "%"
    return numbers.format_percent(ratio, pattern, locale=_babel(locale))


def format_currency(amount: Number, currency: str, locale: str) -> str:
    """``amount`` of ``currency`` (an ISO 4217 code) with the currency's usual digits."""
    if not _is_currency(currency):
        raise ValueError(f"currency {currency!r} is not an ISO 4217 code")
    return numbers.format_currency(amount, currency, locale=_babel(locale))


def format_date(value: dt.date, locale: str, *, format: str = "medium") -> str:
    """A date: ``Mar 7, 2024`` / ``2024年3月7日`` (``format``: short/medium/long/full or CLDR)."""
    return dates.format_date(value, format, locale=_babel(locale))


def format_day(value: dt.date, locale: str) -> str:
    """Month and day, as on a chart axis: ``Mar 7`` / ``3月7日``."""
    return dates.format_skeleton("MMMd", value, locale=_babel(locale))


def format_month(value: dt.date, locale: str) -> str:
    """A calendar month: ``Mar 2024`` / ``2024年3月``."""
    return dates.format_skeleton("yMMM", value, locale=_babel(locale))


def format_datetime(
    value: dt.datetime,
    locale: str,
    *,
    format: str = "medium",
    tz: str | dt.tzinfo | None = None,
    zone: bool = False,
) -> str:
    """A date-time shown in ``tz`` (default UTC); a naive ``value`` is taken as UTC.

    ``zone``: name the zone with the time, as the locale places it (``Mar 7, 2024,
    3:04:00 PM UTC`` / ``2024年3月7日 UTC 15:04:00``), for a reader who would otherwise take
    the time for their own.
    """
    where = dates.get_timezone(tz or "UTC")
    if not zone:
        return dates.format_datetime(value, format, tzinfo=where, locale=_check(locale))
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    local = value.astimezone(where)
    time = dates.format_time(local, "long", tzinfo=where, locale=_check(locale))
    day = dates.format_date(local, format, locale=locale)
    pattern = str(dates.get_datetime_format(format, locale=locale)).replace("'", "")
    return pattern.replace("{0}", time).replace("{1}", day)


# --- message maintenance ---------------------------------------------------------------


def extract(source: Path = WEB_DIR) -> Catalog:
    """Every translatable string in ``source`` (``web/``): ``**.py`` and ``templates/**.html``
    as ``locale/babel.cfg`` maps them."""
    from babel.messages.extract import extract_from_dir
    from babel.messages.frontend import parse_mapping_cfg

    with MAPPING_FILE.open() as fp:
        method_map, options_map = parse_mapping_cfg(fp, filename=str(MAPPING_FILE))
    template = Catalog(project="shopmind", domain=DOMAIN, charset="utf-8")
    found = extract_from_dir(str(source), method_map, options_map, strip_comment_tags=True)
    prefix = Path("src/shopmind/web") if source == WEB_DIR else source
    for filename, lineno, message, comments, context in found:
        location = (str(prefix / filename), lineno)
        template.add(message, None, [location], auto_comments=comments, context=context)
    return template


def untranslated(catalog: Catalog) -> list[str]:
    """What keeps ``catalog`` from being complete, each named by its msgid: a fuzzy or empty
    entry, a placeholder the translation invents (Babel's check) or one its general form
    drops (``%(num)s`` may only be left out of a form for a single number)."""
    problems = []
    for message in catalog:
        if not message.id:
            continue  # the header
        name = _msgid(message)
        if message.fuzzy:
            problems.append(f"{name}: fuzzy")
        elif not message.string or not all(_strings(message)):
            problems.append(f"{name}: no translation")
        else:
            source = message.id[-1] if isinstance(message.id, tuple) else message.id
            lost = set(_PLACEHOLDER.findall(source)) - set(
                _PLACEHOLDER.findall(_strings(message)[-1])
            )
            problems.extend(f"{name}: translation lacks %({p})s" for p in sorted(lost))
    for message, errors in catalog.check():
        problems.extend(f"{_msgid(message)}: {error}" for error in errors)
    return problems


def missing(template: Catalog, catalog: Catalog) -> list[str]:
    """msgids of ``template`` (the source) that ``catalog`` lacks."""
    return [_msgid(m) for m in template if m.id and (m.id, m.context) not in _keys(catalog)]


def _keys(catalog: Catalog) -> set[tuple[Any, str | None]]:
    return {(m.id, m.context) for m in catalog if m.id}


def _msgid(message: Message) -> str:
    return repr(message.id[0] if isinstance(message.id, tuple) else message.id)


def _strings(message: Message) -> tuple[str, ...]:
    string = message.string
    return tuple(string) if isinstance(string, (tuple, list)) else (string,)


def check(source: Path = WEB_DIR, locale_dir: Path = LOCALE_DIR) -> list[str]:
    """Every reason the catalogs are not ready to ship, each naming its file and msgid:
    a string of the source missing from a catalog, or an entry :func:`untranslated` flags."""
    template = extract(source)
    problems = []
    for locale in CATALOG_LOCALES:
        catalog = read_catalog(locale, locale_dir)
        found = [f"{m}: not in the catalog" for m in missing(template, catalog)]
        found += untranslated(catalog)
        problems += [f"{catalog_path(locale, locale_dir)}: {problem}" for problem in found]
    return problems


def update(source: Path = WEB_DIR, locale_dir: Path = LOCALE_DIR) -> list[Path]:
    """Merge the extracted strings into every catalog: new msgids arrive empty, changed ones
    as fuzzy guesses, vanished ones are dropped (git keeps them). Returns the files written."""
    template = extract(source)
    written = []
    for locale in CATALOG_LOCALES:
        catalog = read_catalog(locale, locale_dir)
        catalog.update(template, update_header_comment=False)
        catalog.project, catalog.version = "shopmind", __version__
        path = catalog_path(locale, locale_dir)
        with path.open("wb") as fp:
            write_po(fp, catalog, width=100, ignore_obsolete=True)
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shopmind.web.i18n", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    extract_cmd = commands.add_parser("extract", help="write the message template (.pot)")
    extract_cmd.add_argument("-o", "--output", type=Path, help="file to write (default stdout)")
    commands.add_parser("update", help="merge extracted strings into every .po catalog")
    commands.add_parser("check", help="fail on a missing, empty or fuzzy translation")
    args = parser.parse_args(argv)
    if args.command == "extract":
        buffer = io.BytesIO()
        write_po(buffer, extract(), width=100)
        if args.output:
            args.output.write_bytes(buffer.getvalue())
        else:
            sys.stdout.write(buffer.getvalue().decode("utf-8"))
    elif args.command == "update":
        for path in update():
            print(f"updated {path}")
    else:
        problems = check()
        print("\n".join(problems) or "all messages translated")
        return 1 if problems else 0
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
