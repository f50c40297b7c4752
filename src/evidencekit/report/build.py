"""``evidencekit report build``: render the examination report into CASE/reports/ and record it.

The file's SHA-256 goes into a ``reported`` ledger entry as an output (``reports/<name>``), so
``custody verify`` re-hashes it and reports any change. The report cites the ledger head as it
stood before that entry (a document cannot contain the hash of the entry that records it).
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evidencekit import i18n
from evidencekit.case.examiners import Examiner
from evidencekit.case.ledger import tool_versions
from evidencekit.case.store import Case
from evidencekit.errors import ValidationError
from evidencekit.exporters import caseuco
from evidencekit.hashing import sha256_file
from evidencekit.models import TIME_FIELDS
from evidencekit.report import render
from evidencekit.report.data import gather

FORMATS = ("pdf", "html")


@dataclass
class BuiltReport:
    path: Path
    sha256: str
    entry_seq: int
    draft: bool
    missing: list[str]
    lang: str


def languages() -> tuple[str, ...]:
    """Languages the report has a catalogue for (English needs none)."""
    return tuple(lang for lang in i18n.available()
                 if lang == i18n.SOURCE_LANG or (i18n.LOCALE_DIR / lang / "LC_MESSAGES" / "report.po").is_file())


def build_report(case: Case, examiner: Examiner, *, lang: str = "en", fmt: str = "pdf",
                 template_dir: str | os.PathLike[str] | None = None, tz: str = "UTC", lab: str = "") -> BuiltReport:
    """Render the report of ``case`` now, write it under reports/, and record it in the ledger."""
    if lang not in languages():
        raise ValidationError("--lang {lang!r}: no report catalogue; available: {listing}", lang=lang,
                              listing=', '.join(languages()))
    if fmt not in FORMATS:
        raise ValidationError("--format {fmt!r}: one of {listing}", fmt=fmt, listing=', '.join(FORMATS))
    if template_dir is not None and not (Path(template_dir) / render.TEMPLATE).is_file():
        raise ValidationError("{template_dir}: no {TEMPLATE} in the template directory",
                              template_dir=template_dir, TEMPLATE=render.TEMPLATE)
    language = render.Language(lang, tz)
    data = gather(case)
    twin = json.dumps(caseuco.build_graph(case), indent=2, ensure_ascii=False, sort_keys=True).encode("utf-8")
    stem = _free_stem(case.root / "reports", f"report-{lang}-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}")
    twin_name = f"{stem}.case-uco.jsonld"
    data.update(built=time.time_ns(), author={"name": examiner.name, "id": examiner.id}, lab=lab,
                generator=tool_versions().get("evidencekit", ""), twin_name=twin_name,
                twin_sha256=_sha256(twin), signers=_signers(examiner, data),
                page_footer=_page_footer(language), css=_css_string,
                time_fields=TIME_FIELDS)
    html = render.render_html(data, language, template_dir)
    reports = case.root / "reports"
    out = reports / f"{stem}.{fmt}"
    outputs: dict[str, str] = {}
    if fmt == "pdf":
        _publish(out, lambda tmp: render.write_pdf(html, tmp, twin, twin_name, reports))
    else:
        _publish(out, lambda tmp: tmp.write_text(html, encoding="utf-8"))
        _publish(reports / twin_name, lambda tmp: tmp.write_bytes(twin))
        outputs[f"reports/{twin_name}"] = sha256_file(reports / twin_name)
    digest = sha256_file(out)
    outputs[f"reports/{out.name}"] = digest
    missing = [language.say(m) for m in data["missing"]]
    english = [render.Language("en", tz).say(m) for m in data["missing"]]
    details: dict[str, Any] = {
        "report": "examination", "file": out.name, "lang": lang, "format": fmt, "zone": language.tz_name,
        "draft": bool(missing), "missing": english, "findings": [f["id"] for f in data["findings"]],
        "questions": len(data["questions"]), "custody_head": {"seq": data["custody"]["head_seq"],
                                                              "hash": data["custody"]["head_hash"]},
        "template": str(Path(template_dir).absolute()) if template_dir else "built-in",
        "template_sha256": _template_hash(template_dir), "attachment": {"name": twin_name, "sha256": _sha256(twin)},
    }
    with case.run("reported", examiner=examiner, details=details) as act:
        for key, value in outputs.items():
            act.record(key, value)
    assert act.entry is not None
    return BuiltReport(out, digest, act.entry.seq, bool(missing), missing, lang)


def _signers(author: Examiner, data: dict[str, Any]) -> list[dict[str, str]]:
    """The author, then every other examiner who recorded a finding or an answer."""
    names = {x["id"]: x["name"] for x in data["examiners"]}
    ids = [author.id]
    for f in data["findings"]:
        ids.append(f["examiner"])
    for q in data["questions"]:
        if q["answer"]:
            ids.append(q["answer"]["examiner"])
    seen: list[str] = []
    for i in ids:
        if i not in seen:
            seen.append(i)
    return [{"id": i, "name": names.get(i, author.name if i == author.id else i)} for i in seen]


def _page_footer(lang: render.Language) -> Any:
    """CSS content for "page N of M" in the report's language (the numbers are CSS counters)."""
    from markupsafe import Markup

    text = lang.tr.gettext("page {page} of {pages}")
    parts: list[str] = []
    for piece in text.replace("{pages}", "\0pages\0").replace("{page}", "\0page\0").split("\0"):
        if piece in ("page", "pages"):
            parts.append(f"counter({piece})")
        elif piece:
            parts.append(_css_string(piece))
    return Markup(" ".join(parts))


def _css_string(text: str) -> Any:
    """A CSS string literal, safe inside <style> (no quote, backslash or tag can break out)."""
    from markupsafe import Markup

    escaped = "".join(c if c.isalnum() or c in " .,:;-–—/()№#" else f"\\{ord(c):06x}" for c in str(text))
    return Markup(f'"{escaped}"')


def _free_stem(folder: Path, stem: str) -> str:
    n = 1
    name = stem
    while any(folder.glob(f"{name}.*")):
        n += 1
        name = f"{stem}-{n}"
    return name


def _publish(final: Path, write: Any) -> None:
    """Write through a temporary file, then hard-link into place: never overwrite, never half-written."""
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{final.name}.", dir=final.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        os.link(tmp, final)
    except FileExistsError:
        raise ValidationError("{final}: exists; a report is never overwritten", final=final) from None
    finally:
        tmp.unlink(missing_ok=True)


def _sha256(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def _template_hash(template_dir: str | os.PathLike[str] | None) -> str:
    """SHA-256 over the template files used (names and contents), built-in or the examiner's."""
    import hashlib

    digest = hashlib.sha256()
    folders = [render.PACKAGE_TEMPLATES] + ([Path(template_dir)] if template_dir else [])
    for folder in folders:
        for path in sorted(folder.glob("*")):
            if path.is_file():
                digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()
