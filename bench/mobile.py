"""Listing mobile extractions: `evidencekit files --hash none` on a UFDR and on a compressed `.ab`
against `unzip -l` and `tar -tzf` on the same content (issue 14).

Target: evidencekit at least 80% of the peers' speed (ratio ours/peer <= 1.25) on large files,
and peak memory flat in the number of entries. `unzip -l` reads only the zip's central
directory; a UFDR listing also parses report.xml (the device paths), so its cost grows with the
number of entries, not with the bytes. The UFDR part therefore uses many tiny entries
(EVIDENCEKIT_BENCH_MOBILE_UFDR_FILES, default 50,000) and says where the time goes: interpreter
start, imports, zipfile's member index, the report.xml parse with the mapping to entries, and the
output; it compares with `unzip -l` and with `unzip -l` plus a bare streamed parse of the same
report.xml (`unzip -p | python iterparse`, elements cleared: the least any reader of the report
must spend). The `.ab` part is short (about 100 MB of content); EVIDENCEKIT_BENCH_MOBILE_MB and
EVIDENCEKIT_BENCH_MOBILE_FILES make it larger.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shlex
import shutil
import sys
import zipfile
from pathlib import Path

from bench.util import alternate, peak_rss_kib

ROOT = Path(__file__).resolve().parent.parent
NS = "http://pa.cellebrite.com/report/2.0"


def _ek() -> list[str]:
    return ["env", f"PYTHONPATH={ROOT / 'src'}", sys.executable, "-m", "evidencekit"]


def _content(i: int, size: int) -> bytes:
    seed = hashlib.sha256(str(i).encode()).digest()
    return (seed * (size // len(seed) + 1))[:size]  # compressible, like app data


def _ufdr(path: Path, files: int, size: int) -> Path:
    if path.exists():
        return path
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        with zf.open("report.xml", "w") as report:
            report.write(f'<?xml version="1.0" encoding="utf-8"?><project xmlns="{NS}"><taggedFiles>'.encode())
            for i in range(files):
                report.write(f'<file path="/data/media/0/f{i // 500}/{i}.bin" size="{size}" deleted="Intact">'
                             '<accessInfo><timestamp name="ModifyTime">2021-06-14T17:30:09.007+00:00</timestamp>'
                             f'</accessInfo><metadata section="File"><item name="Local Path"><![CDATA[files\\Other\\'
                             f'{i}.bin]]></item></metadata></file>'.encode())
            report.write(b"</taggedFiles><decodedData/></project>")
        for i in range(files):
            zf.writestr(f"files/Other/{i}.bin", _content(i, size))
    return path


def _ab_and_tgz(work: Path, files: int, size: int) -> tuple[Path, Path]:
    from evidencekit.training.adb import Member, write_backup

    ab, tgz = work / f"mobile-{files}-{size}.ab", work / f"mobile-{files}-{size}.tar.gz"
    if not ab.exists():
        members = [Member(f"shared/0/f{i // 500}/{i}.bin", _content(i, size)) for i in range(files)]
        write_backup(ab, members, version=5, compressed=True)
        raw = ab.read_bytes()
        import zlib

        tar = zlib.decompress(raw[raw.index(b"none\n") + 5:])
        with gzip.open(tgz, "wb", compresslevel=6) as fh:
            fh.write(tar)
    return ab, tgz


BARE_PARSE = ("import sys; from xml.etree.ElementTree import iterparse\n"
              "for _, el in iterparse(sys.stdin.buffer):\n    el.clear()")


def _py(code: str) -> str:
    return f"env PYTHONPATH={ROOT / 'src'} {sys.executable} -c {shlex.quote(code)}"


def _ufdr_phases(work: Path, files: int) -> list[str]:
    """Where the time of listing a UFDR of many tiny entries goes, each phase a command of its own."""
    ufdr = _ufdr(work / f"mobile-ufdr-{files}.ufdr", files, 20)
    q = shlex.quote(str(ufdr))
    opened = f"from evidencekit import open_evidence; ev = open_evidence({str(ufdr)!r})"
    commands = {
        "unzip -l": f"unzip -l {q} > /dev/null",
        "unzip -p report.xml | bare iterparse": f"unzip -p {q} report.xml | {sys.executable} -c "
                                                f"{shlex.quote(BARE_PARSE)}",
        "python start": _py("pass"),
        "+ imports (evidencekit.cli)": _py("import evidencekit.cli"),
        "+ plugin registry": _py("import evidencekit.cli; from evidencekit.registry import registry; registry()"),
        "+ open (zip index, report head)": _py(opened),
        "+ entries (report parse, mapping)": _py(opened + "; sum(1 for _ in ev.entries())"),
        "evidencekit files --hash none": f"{' '.join(_ek())} files --hash none {q} > /dev/null",
    }
    t = alternate(commands, rounds=3)
    ours, unzip, bare = t["evidencekit files --hash none"], t["unzip -l"], t["unzip -p report.xml | bare iterparse"]
    lines = [f"  UFDR of {files:,} entries of 20 bytes (report.xml {_report_size(ufdr) / 1e6:.1f} MB)"]
    lines += [f"  {name:<40} median {secs:7.2f} s" for name, secs in t.items()]
    steps = ["python start", "+ imports (evidencekit.cli)", "+ plugin registry", "+ open (zip index, report head)",
             "+ entries (report parse, mapping)", "evidencekit files --hash none"]
    parts = [t[steps[0]]] + [max(t[b] - t[a], 0.0) for a, b in zip(steps, steps[1:], strict=False)]
    names = ["interpreter", "imports", "registry", "zip index + head", "report parse + mapping", "output (jsonl)"]
    lines.append("  where the time goes: " + ", ".join(f"{n} {p:.2f} s" for n, p in zip(names, parts, strict=True)))
    lines.append(f"  ratio ufdr / unzip -l = {ours / unzip:.1f}  (target <= 1.25: missed, see docs/mobile.md)")
    lines.append(f"  ratio ufdr / (unzip -l + bare streamed parse) = {ours / (unzip + bare):.2f}")
    small = peak_rss_kib([*_ek(), "files", "--hash", "none", str(_ufdr(work / f"mobile-ufdr-{files // 4}.ufdr",
                                                                           files // 4, 20))])
    big = peak_rss_kib([*_ek(), "files", "--hash", "none", str(ufdr)])
    lines.append(f"  peak RSS (ufdr): {files // 4:,} entries {small / 1024:.0f} MiB, {files:,} entries "
                 f"{big / 1024:.0f} MiB (zipfile's member index grows, about 0.6 KiB an entry; the parse does not)")
    return lines


def _report_size(ufdr: Path) -> int:
    with zipfile.ZipFile(ufdr) as zf:
        return zf.getinfo("report.xml").file_size


def run(work: Path) -> list[str]:
    for tool in ("unzip", "tar"):
        if shutil.which(tool) is None:
            return [f"skipped: {tool} missing (apt-get install {tool})"]
    sys.path.insert(0, str(ROOT / "src"))
    total_mb = int(os.environ.get("EVIDENCEKIT_BENCH_MOBILE_MB", "100"))
    files = int(os.environ.get("EVIDENCEKIT_BENCH_MOBILE_FILES", "5000"))
    size = total_mb * 1_000_000 // files
    ab, tgz = _ab_and_tgz(work, files, size)
    ek = " ".join(_ek())
    medians = alternate({
        "evidencekit files --hash none (.ab)": f"{ek} files --hash none {ab} > /dev/null",
        "tar -tzf (same tar, gzip)": f"tar -tzf {tgz} > /dev/null",
    }, rounds=3)
    lines = [f"  {files} files of {size:,} bytes ({total_mb} MB)"]
    lines += [f"  {name:<40} median {secs:7.2f} s" for name, secs in medians.items()]
    lines.append(f"  ratio .ab / tar -tzf  = {medians['evidencekit files --hash none (.ab)'] / medians['tar -tzf (same tar, gzip)']:.2f}"
                 "  (target <= 1.25)")
    small_ab, _ = _ab_and_tgz(work, files // 4, 1000)
    big_ab, _ = _ab_and_tgz(work, files, 1000)
    small = peak_rss_kib([*_ek(), "files", "--hash", "md5", str(small_ab)])
    big = peak_rss_kib([*_ek(), "files", "--hash", "md5", str(big_ab)])
    lines.append(f"  peak RSS (.ab): {files // 4} entries {small / 1024:.0f} MiB, {files} entries {big / 1024:.0f} MiB "
                 f"(growth {big / small:.2f}x for 4x the entries)")
    return lines + _ufdr_phases(work, int(os.environ.get("EVIDENCEKIT_BENCH_MOBILE_UFDR_FILES", "50000")))
