"""The report as HTML (Jinja2) and PDF (WeasyPrint, PDF/A-3b with the CASE/UCO twin attached).

Words come from the ``report`` message catalogue (:mod:`evidencekit.i18n`): the template's
``_()``/``ngettext()`` and the messages below marked with ``N_``. Adding a language is adding
``locale/<lang>/LC_MESSAGES/report.po``. Dates in prose are Babel's long form in the report's
language ("1 декабря 2026 г."); times in tables are ISO 8601 at the source's precision in the
display zone, which the report names.
"""

from __future__ import annotations

import datetime
import os
from datetime import UTC
from pathlib import Path
from typing import Any

import jinja2

from evidencekit import i18n
from evidencekit.errors import EvidenceKitError
from evidencekit.times import render, zone

DOMAIN = "report"
TEMPLATE = "report.html.j2"
PACKAGE_TEMPLATES = Path(__file__).with_name("templates")


def N_(message: str) -> str:  # noqa: N802 - the gettext convention for a message marked, translated later
    return message


def NN_(singular: str, plural: str) -> tuple[str, str]:  # noqa: N802 - a marked plural pair
    return singular, plural


# Sentences built from ledger data: catalogue key -> (message or plural pair, the count argument).
MESSAGES: dict[str, tuple[str | tuple[str, str], str | None]] = {
    "step_received": (N_("Registered; media decoded as %(chain)s; acquisition hash check: %(check)s"), None),
    "step_verified": (N_("Media hash verification (%(phase)s): %(result)s"), None),
    "step_processed": (NN_("Inventory of %(files)d file system entry with %(hashes)s hashes and times",
                           "Inventory of %(files)d file system entries with %(hashes)s hashes and times"), "files"),
    "step_timeline": (NN_("Timeline (%(source)s): %(events)d event", "Timeline (%(source)s): %(events)d events"),
                      "events"),
    "step_scan": (NN_("Scan %(analysis)s of %(files)d file, %(matched)d matched",
                      "Scan %(analysis)s of %(files)d files, %(matched)d matched"), "files"),
    "step_exported": (N_("Export %(what)s: %(file)s"), None),
    "step_extracted": (NN_("Extraction of %(files)d file, manifest %(manifest)s",
                           "Extraction of %(files)d files, manifest %(manifest)s"), "files"),
    "exhibit_unprocessed": (N_("exhibit %(exhibit)s is not processed (status: %(status)s)"), None),
    "sop_open": (N_("procedure %(sop)s %(version)s on exhibit %(exhibit)s is not completed (open steps: %(steps)s)"),
                 None),
    "sop_stopped": (N_("procedure %(sop)s %(version)s on exhibit %(exhibit)s stopped at a failed step (%(steps)s)"),
                    None),
    "question_unanswered": (N_("question %(number)d has no answer"), None),
    "custody_broken": (N_("the custody ledger does not verify"), None),
}
# Words the ledger stores (check results, phases, statuses) as the report prints them.
WORDS = {
    "match": N_("match"), "mismatch": N_("MISMATCH"), "no acquisition hash": N_("no acquisition hash"),
    "not applicable (no single media)": N_("not applicable (no single media)"), "verified": N_("verified"),
    "intake": N_("at intake"), "before": N_("before processing"), "after": N_("after processing"),
    "sop": N_("procedure step"), "open": N_("open"), "completed": N_("completed"), "stopped": N_("stopped"),
    "passed": N_("passed"), "failed": N_("failed"), "deviated": N_("deviated"), "skipped": N_("skipped"),
    "pending": N_("pending"), "running": N_("running"), "processed": N_("processed"), "registered": N_("registered"),
    "computed": N_("computed"), "unreadable": N_("unreadable"), "timeline": N_("timeline"), "zip": N_("zip archive"), "directory": N_("directory"),
    "fs": N_("file system"), "manual": N_("examiner"), "scan": N_("scan"),
    # the file system timeline's meanings (timeline/events.py FS_TIMES); plaso's stay as plaso says them
    "Content Modification Time": N_("Content modified"), "Last Access Time": N_("Last accessed"),
    "Metadata Modification Time": N_("Metadata changed"), "Creation Time": N_("Created"),
    "Deletion Time": N_("Deleted"),
    "mtime": N_("modified"), "atime": N_("accessed"), "ctime": N_("metadata changed"), "crtime": N_("created"),
    "dtime": N_("deleted"), "fn_mtime": N_("modified ($FILE_NAME)"), "fn_atime": N_("accessed ($FILE_NAME)"),
    "fn_ctime": N_("changed ($FILE_NAME)"), "fn_crtime": N_("created ($FILE_NAME)"),
}


class ReportError(EvidenceKitError):
    """The report cannot be rendered (template error, PDF libraries missing)."""


class Language:
    """Translation helpers for one language, exposed to the template."""

    def __init__(self, lang: str, tz_name: str):
        self.lang = lang
        self.tz = zone(tz_name)
        self.tz_name = "UTC" if self.tz is UTC else tz_name
        self.tr = i18n.translations(DOMAIN, lang)

    def gettext(self, message: str, **args: Any) -> str:
        text = self.tr.gettext(message)
        return text % args if args else text

    def ngettext(self, singular: str, plural: str, n: int, **args: Any) -> str:
        return self.tr.ngettext(singular, plural, n) % {"num": n, **args}

    def say(self, message: dict[str, Any]) -> str:
        text, count = MESSAGES[message["key"]]
        args = {k: self.word(v) if isinstance(v, str) else v for k, v in message.items() if k != "key"}
        if isinstance(text, tuple) and count:
            return self.tr.ngettext(text[0], text[1], int(args[count])) % args
        assert isinstance(text, str)
        return self.tr.gettext(text) % args

    def word(self, value: Any) -> str:
        if value is None:
            return "—"
        text = str(value)
        return self.tr.gettext(WORDS[text]) if text in WORDS else text

    def time(self, ns: int | None, digits: int = 9) -> str:
        if ns is None:
            return "—"
        return render(int(ns), int(digits), self.tz).replace("T", " ")

    def date(self, ns: int) -> str:
        """A date in prose: "1 декабря 2026 г." / "December 1, 2026" (in the display zone)."""
        from babel.dates import format_date

        day = datetime.datetime.fromtimestamp(ns / 1e9, tz=self.tz).date()
        return format_date(day, "long", locale=self.lang)

    def size(self, n: int | None) -> str:
        if n is None:
            return "—"
        from babel.numbers import format_decimal

        return self.ngettext("%(count)s byte", "%(count)s bytes", n, count=format_decimal(n, locale=self.lang))


def environment(lang: Language, template_dir: str | os.PathLike[str] | None) -> jinja2.Environment:
    loaders: list[jinja2.BaseLoader] = []
    if template_dir is not None:
        loaders.append(jinja2.FileSystemLoader(str(template_dir)))
    loaders.append(jinja2.FileSystemLoader(str(PACKAGE_TEMPLATES)))
    env = jinja2.Environment(loader=jinja2.ChoiceLoader(loaders), autoescape=True, undefined=jinja2.StrictUndefined,
                             extensions=["jinja2.ext.i18n"], trim_blocks=True, lstrip_blocks=True)
    env.install_gettext_callables(lang.tr.gettext, lang.tr.ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.globals.update(say=lang.say, word=lang.word, t=lang.time, date=lang.date, size=lang.size)
    return env


def render_html(data: dict[str, Any], lang: Language, template_dir: str | os.PathLike[str] | None) -> str:
    try:
        template = environment(lang, template_dir).get_template(TEMPLATE)
        return template.render(**data, lang=lang.lang, tz_name=lang.tz_name)
    except jinja2.TemplateError as err:
        where = getattr(err, "filename", None) or template_dir or PACKAGE_TEMPLATES
        raise ReportError(f"{where}: report template error: {err}") from err


def write_pdf(html: str, out: Path, attachment: bytes, attachment_name: str, base_url: Path) -> None:
    """PDF/A-3b with the machine-readable twin attached (PDF/A-3 allows embedded files)."""
    try:
        import weasyprint
    except (ImportError, OSError) as err:
        raise ReportError(
            "PDF output needs WeasyPrint and its system libraries (Debian: libpango-1.0-0 libpangoft2-1.0-0 "
            f"libharfbuzz0b fonts-dejavu-core; 'make sysdeps'), or use --format html: {err}") from err
    twin = weasyprint.Attachment(string=attachment, name=attachment_name, relationship="Data",
                                 description="CASE/UCO JSON-LD of the case's chain of custody")
    doc = weasyprint.HTML(string=html, base_url=str(base_url))
    doc.write_pdf(str(out), pdf_variant="pdf/a-3b", attachments=[twin], uncompressed_pdf=False)
