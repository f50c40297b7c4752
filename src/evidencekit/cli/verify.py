"""``evidencekit verify``: hash the decoded media once and check it against every reference."""

from __future__ import annotations

import json
import sys

import click

from evidencekit.cli.common import credential_options, open_from_cli, progress_bar
from evidencekit.verify import VerifyResult, parse_expect, verify_evidence

EXIT_HELP = "Exit status: 0 every reference matches, 1 any mismatch, 2 nothing to check against or evidence unreadable."


@click.command("verify", epilog=EXIT_HELP)
@click.argument("evidence", type=click.Path(exists=False))
@click.option("--expect", "expect", multiple=True, metavar="ALG:HEX",
              help="An expected hash of the decoded media, e.g. md5:d41d8cd9...; repeatable (md5, sha1, sha256).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object instead of text.")
@click.option("--no-sidecars", is_flag=True, help="Ignore hash files next to the evidence (.md5, FTK .txt, Guymager .info, ...).")
@credential_options
def verify_command(
    evidence: str, expect: tuple[str, ...], as_json: bool, no_sidecars: bool, password: str | None, recovery_key: str | None
) -> None:
    """Hash EVIDENCE's decoded media with MD5, SHA1 and SHA256 in one read pass and compare.

    References: hashes stored in the container (E01), every --expect, and sidecar files next to
    the image (IMAGE.md5/.sha1/.sha256, md5sum/sha*sum and BSD lists, FTK Imager .txt reports,
    Guymager .info files, ewfacquire logs). A directory is checked by its tree digest, a zip or
    tar by its file bytes (see docs/verify.md). The evidence is opened read-only.
    """
    parse_expect(expect)  # a malformed --expect fails before the long read
    with open_from_cli(evidence, password, recovery_key, locked_ok=True) as ev, progress_bar("verify", ev.media_size, "bytes") as progress:
        result = verify_evidence(ev, expect=expect, progress=progress, sidecars=not no_sidecars)
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2, sort_keys=True))
    else:
        for line in render(result):
            click.echo(line)
    sys.exit(result.exit_code)


def render(result: VerifyResult) -> list[str]:
    """Human-readable report: what was hashed, the digests, each reference with its source, the verdict."""
    chain = " -> ".join(result.format_chain) or result.kind
    unit = " of file content" if result.kind == "directory" else ""
    size = f", {result.size:,} bytes{unit}" if result.size is not None else ""
    lines = [f"Evidence:   {result.evidence} ({chain})", f"Hashed:     {result.subject}{size}"]
    lines += [f"  {alg.upper():<7} {value}" for alg, value in result.digests.items()]
    for path, digests in result.file_digests.items():
        lines.append(f"File bytes: {path}")
        lines += [f"  {alg.upper():<7} {value}" for alg, value in digests.items()]
    if result.checks:
        lines.append("References:")
    for check in result.checks:
        ref = check.reference
        lines.append(f"  {check.status.upper():<9} {ref.algorithm.upper():<7} {ref.value}")
        lines.append(f"            from {ref.source} ({ref.description})")
        if check.status != "match":
            lines.append(f"            computed {check.computed}")
    lines += [f"Note:       {note}" for note in result.notes]
    lines.append(_verdict(result))
    return lines


def _verdict(result: VerifyResult) -> str:
    matched = sum(1 for c in result.checks if c.status == "match")
    total = len(result.checks)
    if result.status == "match":
        return f"Result:     MATCH ({matched} of {total} references match)"
    if result.status == "mismatch":
        return f"Result:     MISMATCH ({total - matched} of {total} references do not match)"
    return ("Result:     UNVERIFIED: no reference hash found (none stored in the container, no --expect, "
            "no sidecar file next to the evidence); the hashes above were computed but not checked")


COMMANDS = [verify_command]
