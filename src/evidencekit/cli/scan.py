"""``evidencekit scan``: file types, YARA rules and hash sets over a case or a piece of evidence."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import click

from evidencekit.cli.common import credential_options, open_from_cli, progress_bar
from evidencekit.cli.examiner import acting_examiner, examiner_option
from evidencekit.errors import ValidationError
from evidencekit.scan.engine import DEFAULT_WORKERS, ContentPass, FileResult
from evidencekit.scan.magic import HEAD_BYTES
from evidencekit.scan.yara import YaraScanner, compile_rules
from evidencekit.sources import Credentials
from evidencekit.textout import escape_control

_SIZE_RE = re.compile(r"^\s*(\d+)\s*([KMGT]?)i?B?\s*$", re.I)


JSON_OPTION = click.option("--json", "as_json", is_flag=True, help="Print one JSON object per exhibit (JSON Lines).")


def parse_size(text: str | None) -> int | None:
    """``"100M"`` -> 104857600 (K, M, G, T are powers of 1024); ``None`` stays ``None``."""
    if text is None:
        return None
    found = _SIZE_RE.match(text)
    if not found:
        raise ValidationError("size {text!r}: use a number of bytes with an optional K, M, G or T suffix",
                              text=text)
    return int(found[1]) * 1024 ** " KMGT".index((found[2] or " ").upper())


def is_case_dir(path: str) -> bool:
    return (Path(path) / "case.db").is_file()


@click.group("scan")
def scan_group() -> None:
    """Content analysis: libmagic file types, YARA rules, known-good/known-bad hash sets."""


def _case_only(target: str) -> None:
    if not is_case_dir(target):
        raise ValidationError("{target}: not a case directory (no case.db)", target=target)


@scan_group.command("yara")
@click.argument("target", metavar="DIR|EVIDENCE", type=click.Path(exists=True))
@click.option("--rules", "rules_path", required=True, type=click.Path(exists=True),
              help="A .yar/.yara file, or a folder of them (each file its own namespace).")
@click.option("--exhibit", "exhibits", multiple=True, metavar="ID", help="Only this exhibit of the case (repeatable).")
@click.option("--timeout", default=60, show_default=True, type=click.IntRange(1), metavar="SECONDS",
              help="Per-file time-out; a file that hits it is a recorded warning.")
@click.option("--max-size", metavar="SIZE", help="Skip files larger than SIZE (e.g. 512M); each is a recorded warning.")
@click.option("--types/--no-types", default=None,
              help="Also identify file types (default: on for a case, off for evidence).")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "table"]), default="jsonl", show_default=True,
              help="Output of matches when scanning evidence without a case.")
@click.option("--workers", default=DEFAULT_WORKERS, show_default=True, type=click.IntRange(1),
              help="Threads running libmagic and YARA.")
@click.option("--allow-outside-includes", is_flag=True,
              help="Let rules include files outside the rules folder (each is still hashed and named in the ledger).")
@JSON_OPTION
@examiner_option
@credential_options
def yara_cmd(target: str, rules_path: str, exhibits: tuple[str, ...], timeout: int, max_size: str | None,
             types: bool | None, fmt: str, workers: int, allow_outside_includes: bool, as_json: bool,
             examiner_id: str | None,
             password: str | None, recovery_key: str | None) -> None:
    """Scan every file's content (deleted files and NTFS streams included) with YARA rules.

    With a case directory DIR, matches, types and warnings are stored with each file and each
    exhibit's scan is one signed ledger entry naming the rules' hash. With EVIDENCE (an image,
    extraction or folder) matches are printed and nothing is stored.
    """
    ruleset = compile_rules(rules_path, allow_outside_includes)
    scanner = YaraScanner(ruleset, timeout=timeout, max_size=parse_size(max_size))
    case_mode = is_case_dir(target)
    content = ContentPass(scanner, types=case_mode if types is None else types, workers=workers)
    if case_mode:
        _scan_case(target, exhibits, content, examiner_id, Credentials(password, recovery_key), as_json)
    elif exhibits:
        raise ValidationError("{target}: --exhibit needs a case directory; this is evidence (nothing is "
                              "stored)", target=target)
    else:
        _scan_evidence(target, content, fmt, password, recovery_key)


@scan_group.command("types")
@click.argument("case_dir", metavar="DIR", type=click.Path(exists=True, file_okay=False))
@click.option("--exhibit", "exhibits", multiple=True, metavar="ID", help="Only this exhibit (repeatable).")
@click.option("--head-bytes", default=HEAD_BYTES, show_default=True, type=click.IntRange(16),
              help="Bytes of each file libmagic looks at.")
@click.option("--workers", default=DEFAULT_WORKERS, show_default=True, type=click.IntRange(1),
              help="Threads running libmagic.")
@JSON_OPTION
@examiner_option
@credential_options
def types_cmd(case_dir: str, exhibits: tuple[str, ...], head_bytes: int, workers: int, as_json: bool,
              examiner_id: str | None, password: str | None, recovery_key: str | None) -> None:
    """Identify every file's type with libmagic and flag extension mismatches, stored in the case."""
    _case_only(case_dir)
    content = ContentPass(None, types=True, head_bytes=head_bytes, workers=workers)
    _scan_case(case_dir, exhibits, content, examiner_id, Credentials(password, recovery_key), as_json)


@scan_group.command("hashsets")
@click.argument("case_dir", metavar="DIR", type=click.Path(exists=True, file_okay=False))
@click.option("--set", "set_names", multiple=True, metavar="NAME",
              help="Only this imported hash set (repeatable; default: every imported set).")
@click.option("--exhibit", "exhibits", multiple=True, metavar="ID", help="Only this exhibit (repeatable).")
@JSON_OPTION
@examiner_option
def hashsets_cmd(case_dir: str, set_names: tuple[str, ...], exhibits: tuple[str, ...], as_json: bool,
                 examiner_id: str | None) -> None:
    """Look up every file's inventory hashes in hash sets: flag known-bad, mark known-good."""
    from evidencekit.case import Case
    from evidencekit.pipeline.scan import check_exhibit, exhibit_ids
    from evidencekit.scan.hashsets import list_hash_sets, open_hash_set

    _case_only(case_dir)
    sets = [open_hash_set(n) for n in set_names] if set_names else list_hash_sets()
    if not sets:
        raise ValidationError("no hash sets imported: use 'evidencekit hashset import NAME FILE --kind ...'")
    examiner = acting_examiner(examiner_id)
    with Case.open(case_dir) as case:
        for exhibit in exhibit_ids(case, exhibits):
            out = check_exhibit(case, exhibit, examiner, sets)
            if as_json:
                click.echo(json.dumps({"exhibit": exhibit, **out}, sort_keys=True, default=str))
                continue
            for name, res in out["results"].items():
                click.echo(f"{exhibit}: {out['files_checked']} files, {res['hits']} in {name} ({res['kind']})"
                           + (f", {res['files_without_usable_hash']} without a usable hash"
                              if res["files_without_usable_hash"] else ""))


def _scan_case(case_dir: str, exhibits: tuple[str, ...], content: ContentPass, examiner_id: str | None,
               credentials: Credentials, as_json: bool = False) -> None:
    from evidencekit.case import Case
    from evidencekit.pipeline.scan import exhibit_ids, scan_exhibit

    examiner = acting_examiner(examiner_id)
    with Case.open(case_dir) as case:
        for exhibit in exhibit_ids(case, exhibits):
            total = case.db.execute("SELECT count(*) FROM files WHERE exhibit = ? AND type = 'file'",
                                    (exhibit,)).fetchone()[0]
            with progress_bar(f"scanning {exhibit}", total=total, unit="files") as advance:
                out = scan_exhibit(case, exhibit, examiner, content, credentials=credentials,
                                   progress=lambda _rec: advance(1))
            click.echo(json.dumps(out, sort_keys=True, default=str) if as_json else _summary_line(out))


def _summary_line(out: dict[str, Any]) -> str:
    parts = [f"{out['exhibit']}: {out['files_scanned']} files"]
    if "matches" in out:
        parts.append(f"{out['matches']} YARA matches in {out['files_matched']} files")
    if "mismatches" in out:
        parts.append(f"{out['mismatches']} extension mismatches")
    parts.append(f"{out['warnings']} warnings (run {out['run_id']})")
    return ", ".join(parts)


def _scan_evidence(evidence: str, content: ContentPass, fmt: str, password: str | None,
                   recovery_key: str | None) -> None:
    with open_from_cli(evidence, password, recovery_key) as ev, progress_bar("scanning", unit="files") as advance:
        if fmt == "table":
            click.echo(f"{'rule':<32} {'offsets':<24} path")
        for res in content.run(ev.entries(), lambda _rec: advance(1)):
            for warning in res.all_warnings:
                click.echo(f"evidencekit: warning: {escape_control(res.record.path)}: {warning}", err=True)
            if res.yara:
                for line in _match_lines(res, fmt):
                    click.echo(line)


def _match_lines(res: FileResult, fmt: str) -> list[str]:
    rec = res.record
    lines = []
    for m in res.yara.matches if res.yara else []:
        if fmt == "table":
            offsets = ",".join(f"{s.identifier}@{s.offset}" for s in m.strings[:3])
            name = escape_control(rec.path + (f":{rec.stream}" if rec.stream else ""))
            lines.append(f"{m.namespace + ':' + m.rule:<32} {offsets:<24} {name}" + (" (deleted)" if rec.deleted else ""))
            continue
        row = {"path": rec.path, "stream": rec.stream, "volume": rec.volume, "inode": rec.inode,
               "deleted": rec.deleted, "size": rec.size, **m.to_dict(),
               "mime": res.type.mime if res.type else None, "locator": json.loads(rec.locator.to_json())}
        lines.append(json.dumps(row, default=str))
    return lines


COMMANDS = [scan_group]
