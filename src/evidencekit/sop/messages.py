"""Step summaries in the checklist's languages.

An automated step's result, an attestation's outcome or a review is recorded in the ledger with
its English summary and, beside it, the catalogue key and arguments it was made from
(``details.message``), so that a checklist in another language says the same thing in that
language. A key this catalogue does not know (a plug-in action, an older entry) shows the
recorded English summary.

Arguments are the facts (numbers, names, hashes); they are never translated.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Template = str | Callable[[dict[str, Any]], str]

KIND_RU = {"known-bad": "известные вредоносные", "known-good": "известные доверенные"}


def _mismatch_items(args: dict[str, Any], lang: str) -> str:
    parts = []
    for item in args["items"]:
        alg, kind, source = item["algorithm"], item["kind"], item.get("source", "")
        if lang == "ru":
            parts.append({"intake": f"{alg}, зарегистрированный при приёме",
                          "acquisition": f"{alg} из хеша получения, зарегистрированного для объекта"}.get(
                kind, f"{alg} из источника «{source}»"))
        else:
            parts.append({"intake": f"{alg} registered at intake",
                          "acquisition": f"{alg} from the acquisition hash registered with the exhibit"}.get(
                kind, f"{alg} from {source}"))
    return ", ".join(parts)


def _wrong_facts(args: dict[str, Any], lang: str) -> str:
    word = "ожидалось" if lang == "ru" else "expected"
    return "; ".join(f"{w['field']} = {w['value']!r}, {word} {w['expected']!r}" for w in args["wrong"])


def _warnings(args: dict[str, Any], lang: str) -> str:
    if not args.get("warnings"):
        return ""
    if lang == "ru":
        return f"; предупреждений: {args['warnings']}, первое: {args['first_warning']}"
    return f"; {args['warnings']} warning(s), first: {args['first_warning']}"


CATALOGUE: dict[str, dict[str, Template]] = {
    "verify_ok": {
        "en": "verified: {count} reference hash(es) match ({algorithms}); unchanged since intake",
        "ru": "проверено: эталонных хешей совпало: {count} ({algorithms}); без изменений с момента приёма",
    },
    "verify_mismatch": {
        "en": lambda a: "MISMATCH: " + _mismatch_items(a, "en"),
        "ru": lambda a: "НЕСОВПАДЕНИЕ: " + _mismatch_items(a, "ru"),
    },
    "verify_no_reference": {
        "en": "no acquisition hash to verify against (container, --acquisition-hash or sidecar)",
        "ru": "нет хеша получения для сверки (контейнер, --acquisition-hash или файл-спутник)",
    },
    "inventory_done": {
        "en": lambda a: f"{a['files']} entries inventoried, {a['deleted']} deleted"
                        + (" (already processed)" if a.get("already") else ""),
        "ru": lambda a: f"учтено записей: {a['files']}, из них удалённых: {a['deleted']}"
                        + (" (обработано ранее)" if a.get("already") else ""),
    },
    "inventory_refused": {"en": "inventory refused: {error}", "ru": "инвентаризация отклонена: {error}"},
    "timeline_done": {
        "en": lambda a: f"{a['total']} events ({a['parts']})" + _warnings(a, "en"),
        "ru": lambda a: f"событий: {a['total']} ({a['parts']})" + _warnings(a, "ru"),
    },
    "timeline_exported": {
        "en": "{count} events exported to {file} ({format}, {zone})",
        "ru": "экспортировано событий: {count}, файл {file} ({format}, {zone})",
    },
    "yara_done": {
        "en": "{matches} YARA match(es) in {files} of {scanned} files",
        "ru": "совпадений YARA: {matches}, в файлах: {files} из {scanned}",
    },
    "hashset_done": {
        "en": "{hits} file(s) in {kind} set {name} (of {checked} checked)",
        "ru": lambda a: f"файлов из набора {a['name']} ({KIND_RU.get(a['kind'], a['kind'])}): {a['hits']} "
                        f"из {a['checked']} проверенных",
    },
    "custody_failed": {
        "en": "custody ledger does not verify: {count} finding(s), first: {kind}: {message}",
        "ru": "журнал цепочки хранения не проходит проверку: замечаний {count}, первое: {kind}: {message}",
    },
    "custody_exported": {
        "en": "ledger of {entries_verified} entries verified; bundle {bundle}",
        "ru": "журнал из {entries_verified} записей проверен; пакет {bundle}",
    },
    "condition_false": {"en": "condition false: {condition}", "ru": "условие не выполнено: {condition}"},
    "attested": {
        "en": "attested ({given} of {fields} fields given)",
        "ru": "засвидетельствовано (заполнено полей: {given} из {fields})",
    },
    "attested_wrong": {
        "en": lambda a: "attested facts fail the check: " + _wrong_facts(a, "en"),
        "ru": lambda a: "засвидетельствованные сведения не прошли проверку: " + _wrong_facts(a, "ru"),
    },
    "review": {
        "en": lambda a: f"{'approved' if a['approved'] else 'rejected'} by {a['reviewer']}"
                        + (f": {a['comment']}" if a.get("comment") else ""),
        "ru": lambda a: f"{'утверждено' if a['approved'] else 'отклонено'}, проверяющий {a['reviewer']}"
                        + (f": {a['comment']}" if a.get("comment") else ""),
    },
    "report_missing": {
        "en": "no examination report in the case: build one with 'evidencekit report build'",
        "ru": "в деле нет заключения: составьте его командой «evidencekit report build»",
    },
    "report_altered": {
        "en": "report {report} (entry {entry}) is missing or altered since it was built",
        "ru": "заключение {report} (запись {entry}) отсутствует или изменено после составления",
    },
    "report_draft": {
        "en": "report {report} is a draft: {missing}",
        "ru": "заключение {report} является проектом: {missing}",
    },
    "report_ok": {
        "en": "report {report} (entry {entry}) unaltered, sha256 {sha256}",
        "ru": "заключение {report} (запись {entry}) не изменено, sha256 {sha256}",
    },
    "action_error": {"en": "error: {error}", "ru": "ошибка: {error}"},
    "action_internal_error": {
        "en": "internal error in action {action}: {error}",
        "ru": "внутренняя ошибка действия {action}: {error}",
    },
}


def render(key: str, args: dict[str, Any], lang: str = "en") -> str:
    """The summary ``key`` says with ``args``, in ``lang`` (English where the language lacks it)."""
    forms = CATALOGUE[key]
    template = forms.get(lang, forms["en"])
    return template(args) if callable(template) else template.format(**args)


def text(message: dict[str, Any] | None, lang: str) -> str | None:
    """A recorded ``{"key", "args"}`` message in ``lang``; None when there is none or its key is unknown."""
    if not message or message.get("key") not in CATALOGUE:
        return None
    try:
        return render(message["key"], message.get("args") or {}, lang)
    except (KeyError, IndexError, TypeError, ValueError):  # arguments recorded by another version
        return None
