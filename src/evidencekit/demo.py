"""`make demo`: the main job of a lab, end to end, on the sample evidence shipped in training_images/.

An examiner identity is created, a case opened under a (fictional) warrant, three exhibits
registered, verified and inventoried, a timeline built and exported with its hash, and the chain
of custody verified and exported for exchange. Every step is an ordinary `evidencekit` command,
printed before it runs, so the demo doubles as a worked example.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
IMAGES = ROOT / "training_images"
PAUSES = "<exit 3 expected>"  # marks a step whose exit code 3 (paused for review) is the expected outcome


def steps(out: Path) -> list[list[str]]:
    office = str(IMAGES / "office-workstation" / "workstation.E01")
    usb = str(IMAGES / "usb-data-theft" / "usb.img.gz")
    android = str(IMAGES / "mobile" / "android-extraction.zip")
    server = str(IMAGES / "linux-server" / "server.img.gz")
    intake, review = _answers(out)
    return [*_examination(out, office, usb, android, server, intake, review), *_report(out)]


def _examination(out: Path, office: str, usb: str, android: str, server: str, intake: Path,
                 review: Path) -> list[list[str]]:
    case = str(out / "case")
    return [
        ["examiner", "init", "--name", "Demo Examiner", "--id", "demo"],
        ["examiner", "init", "--name", "Demo Reviewer", "--id", "reviewer"],
        ["info", office],
        ["verify", office],
        ["files", usb, "--hash", "md5,sha256", "--format", "csv", "-o", str(out / "usb-files.csv")],
        ["case", "init", case, "--number", "DEMO-2026/001", "--title", "Demonstration case",
         "--authority", "Court order 12-34/2026 (fictional)", "--authority-date", "2026-11-01"],
        ["case", "add", case, office, "--exhibit", "E1", "--description", "Office workstation disk (E01)",
         "--seal", "SEAL-0001"],
        ["case", "add", case, usb, "--exhibit", "E2", "--description", "USB stick image", "--seal", "SEAL-0002"],
        ["case", "add", case, android, "--exhibit", "E3", "--description", "Android logical extraction"],
        ["case", "add", case, server, "--exhibit", "E4", "--description", "Web server root file system"],
        ["case", "process", case],
        ["scan", "yara", case, "--rules", str(IMAGES / "linux-server" / "webshell.yar"), "--exhibit", "E4"],
        ["case", "files", case, "--exhibit", "E4", "--yara", "php_webshell_request_exec"],
        ["case", "status", case],
        ["timeline", "build", case, "--artifacts", "none"],
        # plaso on the Android extraction: SMS and call log as events (a few seconds)
        ["timeline", "build", case, "--exhibit", "E3", "--artifacts", "android"],
        ["timeline", "show", case, "--exhibit", "E3", "--source", "plaso"],
        ["timeline", "export", case, "--format", "csv", "--out", str(out / "case" / "exports" / "timeline.csv")],
        # exit 3: paused until a second examiner reviews (four-eyes)
        ["sop", "run", case, "disk-image-intake", "--exhibit", "E1", "--answers", str(intake), PAUSES],
        ["sop", "run", case, "disk-image-intake", "--exhibit", "E1", "--answers", str(review),
         "--examiner", "reviewer"],
        ["sop", "status", case, "--exhibit", "E1", "--format", "html", "-o", str(out / "checklist-E1.html")],
    ]


EXE = "/Users/m.ivanova/Downloads/Invoice_7731.pdf.exe"


def _report(out: Path) -> list[list[str]]:
    """The end of the examination: questions, findings, extraction, answers, the report and its review."""
    case = str(out / "case")
    author, reviewer = _review_answers(out)
    return [
        ["case", "question", "add", case, "Was a program deleted from the workstation, and can it be recovered?"],
        ["case", "question", "add", case, "Was a document deleted from the USB stick, and what was it?"],
        ["case", "question", "add", case, "Does the web server hold a web shell?"],
        ["finding", "add", case, "--exhibit", "E1", "--path", EXE, "--tag", "malware", "--note",
         "Executable disguised as a PDF invoice; deleted, its data intact and recovered."],
        ["finding", "add", case, "--exhibit", "E1", "--path", "/Users/m.ivanova/Downloads/Invoice_7731.zip:Zone.Identifier",
         "--note", "Mark of the web: the archive was downloaded from files.sharebox-cdn.example (zone 3, Internet)."],
        ["finding", "add", case, "--exhibit", "E2", "--path", "/Projects/Merger_Plan_Draft.docx",
         "--note", "Deleted document: a draft merger plan."],
        ["finding", "add", case, "--exhibit", "E4", "--from-scan", "yara"],
        ["extract", case, "--exhibit", "E1", "--path", EXE, "--out", str(out / "case" / "exports" / "extracted-E1")],
        ["extract", case, "--exhibit", "E2", "--glob", "/Projects/*", "--deleted",
         "--out", str(out / "case" / "exports" / "extracted-E2")],
        ["case", "answer", case, "1", "Yes. The executable Invoice_7731.pdf.exe was deleted from the Downloads folder; "
         "its data was intact and was recovered (appendix A).", "--finding", "F1", "--finding", "F2"],
        ["case", "answer", case, "2", "Yes. Merger_Plan_Draft.docx was deleted from /Projects; it was recovered "
         "(appendix A).", "--finding", "F3"],
        ["case", "answer", case, "3", "Yes. avatar_5512.php in the uploads folder matches the web shell rule.",
         "--finding", "F4"],
        ["report", "build", case, "--lang", "ru", "--lab", "Демонстрационная лаборатория"],
        ["report", "build", case, "--lang", "en", "--lab", "Demonstration forensic laboratory"],
        # exit 3: the report's peer review waits for the second examiner (four-eyes)
        ["sop", "run", case, "report-peer-review", "--exhibit", "E1", "--answers", str(author), PAUSES],
        ["sop", "run", case, "report-peer-review", "--exhibit", "E1", "--answers", str(reviewer),
         "--examiner", "reviewer"],
        ["custody", "verify", case],
        ["custody", "export", case, "--out", str(out / "custody-bundle")],
        ["custody", "verify", str(out / "custody-bundle")],
    ]


def _review_answers(out: Path) -> tuple[Path, Path]:
    """The report author's attestation, and the reviewer's reviews and release record."""
    author, reviewer = out / "report-author.yaml", out / "report-reviewer.yaml"
    author.write_text("steps:\n  draft: {report_reference: DEMO-2026/001-R1, report_version: '1', findings_cited: true}\n",
                      encoding="utf-8")
    reviewer.write_text(
        "steps:\n"
        "  technical_review: {decision: approve, comment: 'Each finding checked against inventory and timeline'}\n"
        "  administrative_review: {decision: approve, comment: 'Questions answered, pages and signatures complete'}\n"
        "  release: {released_to: 'Investigator Petrov', released_on: 2026-11-27, method: in_person}\n",
        encoding="utf-8")
    return author, reviewer


def _answers(out: Path) -> tuple[Path, Path]:
    """Scripted answers for the intake SOP's manual steps, and the second examiner's review."""
    intake, review = out / "intake-answers.yaml", out / "intake-review.yaml"
    intake.write_text(
        "steps:\n"
        "  receipt: {seal_intact: true, seal_number: SEAL-0001, received_from: 'DC Ivanova',"
        " photographs_taken: true, media: hard_disk}\n"
        "  documentation: {acquisition_log_present: true, acquisition_tool: 'ewfacquire 20140816',"
        " write_blocker: 'Tableau T35u', acquired_on: 2021-06-20}\n"
        "  storage: {new_seal_number: SEAL-0001-B, store_location: 'Evidence store B, shelf 4'}\n",
        encoding="utf-8")
    review.write_text("steps:\n  intake_review: {decision: approve, comment: 'Seal, log and hashes checked'}\n",
                      encoding="utf-8")
    return intake, review


def main(argv: list[str]) -> int:
    out = Path(argv[0] if argv else "demo-output").resolve()
    out.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, EVIDENCEKIT_HOME=str(out / "home"), EVIDENCEKIT_EXAMINER="demo")
    for args in steps(out):
        expected = {0, 3} if PAUSES in args else {0}
        args = [a for a in args if a != PAUSES]
        print(f"\n$ evidencekit {shlex.join(args)}", flush=True)
        result = subprocess.run([sys.executable, "-m", "evidencekit", *args], env=env)
        if result.returncode not in expected:
            print(f"demo: step failed with exit code {result.returncode}", file=sys.stderr)
            return result.returncode
    print(f"""
Demo complete. Results are in {out}:
  case/                 the case: case.db (inventory, timeline, custody ledger), exports/, reports/
  case/exports/         timeline.csv and its .sha256, recorded in the custody ledger
  usb-files.csv         every entry of the USB image with hashes and MACB times
  checklist-E1.html     the intake SOP checklist of exhibit E1 (open it in a browser)
  case/reports/         the examination report (PDF/A, English and Russian), reviewed with
                        the report-peer-review SOP; CASE/UCO attached inside each PDF
  case/exports/extracted-E1, -E2   recovered files with their manifests
  custody-bundle/       the signed custody ledger for exchange; check it with
                        evidencekit custody verify {out / 'custody-bundle'}
Examiner keys for the demo live in {out / 'home'} (not in your home directory).""")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
