"""Scenario office-workstation: MBR disk, NTFS with user folders, ADS, deletion, timestomping; E01."""

from __future__ import annotations

import hashlib
import json
import struct
import sys
from pathlib import Path
from typing import Any

from evidencekit.training import artifacts
from evidencekit.training.tools import BuildError, epoch, require, run

NAME = "office-workstation"
TOOLS = ("faketime", "mkntfs", "ntfslabel", "sfdisk", "ewfacquire")
START, PART_SECTORS, DISK_SECTORS = 2048, 36864, 40960  # 18 MiB NTFS in a 20 MiB disk
USER = "/Users/m.ivanova"
STOMPED = f"{USER}/AppData/Roaming/WinUpdate/updater.exe"
DELETED = f"{USER}/Downloads/Invoice_7731.pdf.exe"
DOWNLOAD = f"{USER}/Downloads/Invoice_7731.zip"
FAKE_SI = "2019-03-12 04:11:09.5550000"  # what the timestomper wrote into $STANDARD_INFORMATION
ZONE = ("[ZoneTransfer]\r\nZoneId=3\r\nReferrerUrl=https://webmail.balthaul.example/inbox\r\n"
        "HostUrl=https://files.sharebox-cdn.example/d/7731/Invoice_7731.zip\r\n")
CASE = {"-C": "CR-2021-0419", "-e": "A. Kuznetsova", "-E": "EXH-003",
        "-D": "Workstation FIN-PC-07, Baltic Haulage finance office",
        "-N": "Seized 2021-06-18; write-blocked acquisition"}
ACQUIRED = "2021-06-20 09:30:00"


def _payloads() -> dict[str, bytes]:
    malware = artifacts.pe_stub(["http://update-check.sharebox-cdn.example/gate.php", "Global\\wupd_mtx",
                                 "Software\\Microsoft\\Windows\\CurrentVersion\\Run"], 1623748200)
    dropper = artifacts.pe_stub(["Invoice 7731", "%APPDATA%\\WinUpdate\\updater.exe"], 1623740000)
    budget = "cost_centre,q1,q2,q3,q4\n" + "\n".join(f"CC-{i:02d},{i * 1000},{i * 1100},{i * 900},{i * 1200}"
                                                      for i in range(1, 25))
    return {
        "budget": budget.encode(),
        "report": artifacts.docx(["Q2 report, finance", "Fuel costs rose 7% on the Riga routes."]),
        "todo": b"- pay Sharebox invoice 7731 (Vilnius office asked)\n- call bank re: new IBAN\n",
        "hosts": b"# Copyright (c) 1993-2009 Microsoft Corp.\r\n127.0.0.1       localhost\r\n",
        "zip": artifacts.deterministic_zip([("Invoice_7731.pdf.exe", dropper)], (2021, 6, 15, 9, 5, 0)),
        "dropper": dropper, "malware": malware, "zone": ZONE.encode(),
        "desktop_ini": b"[.ShellClassInfo]\r\nLocalizedResourceName=@%SystemRoot%\\system32\\shell32.dll,-21787\r\n",
    }


def _plan(src: Path) -> list[dict[str, Any]]:
    """The life of the disk, step by step (each step's time is the frozen clock)."""
    dirs = [("/Windows", "2021-05-03 07:50:00"), ("/Windows/System32", "2021-05-03 07:50:10"),
            ("/Windows/System32/drivers", "2021-05-03 07:50:20"),
            ("/Windows/System32/drivers/etc", "2021-05-03 07:50:30"), ("/Users", "2021-05-03 08:02:00"),
            (USER, "2021-05-04 08:31:15")]
    dirs += [(f"{USER}/{d}", "2021-05-04 08:31:16") for d in ("Desktop", "Documents", "Downloads", "AppData")]
    plan: list[dict[str, Any]] = [{"op": "mkdir", "path": p, "time": t} for p, t in dirs]
    plan += [
        {"op": "file", "path": "/Windows/System32/drivers/etc/hosts", "src": "hosts", "time": "2021-05-03 07:51:02"},
        {"op": "mkdir", "path": f"{USER}/AppData/Roaming", "time": "2021-05-04 08:31:17"},
        {"op": "file", "path": f"{USER}/Desktop/desktop.ini", "src": "desktop_ini", "time": "2021-05-04 08:31:18"},
        {"op": "hidden", "path": f"{USER}/Desktop/desktop.ini", "time": "2021-05-04 08:31:18"},
        {"op": "file", "path": f"{USER}/Documents/Budget_2021.csv", "src": "budget", "time": "2021-05-11 10:02:41"},
        {"op": "file", "path": f"{USER}/Documents/Q2_Report.docx", "src": "report", "time": "2021-06-01 14:20:05"},
        {"op": "file", "path": f"{USER}/Desktop/todo.txt", "src": "todo", "time": "2021-06-14 16:45:30"},
        {"op": "file", "path": DOWNLOAD, "src": "zip", "time": "2021-06-15 09:05:12"},
        {"op": "ads", "path": DOWNLOAD, "name": "Zone.Identifier", "src": "zone", "time": "2021-06-15 09:05:12"},
        {"op": "file", "path": DELETED, "src": "dropper", "time": "2021-06-15 09:06:40"},
        {"op": "mkdir", "path": f"{USER}/AppData/Roaming/WinUpdate", "time": "2021-06-15 09:07:02"},
        {"op": "file", "path": STOMPED, "src": "malware", "time": "2021-06-15 09:07:03"},
        {"op": "delete", "path": DELETED, "time": "2021-06-15 09:07:31"},
    ]
    for item in plan:
        if "src" in item:
            item["src"] = str(src / item["src"])
    return plan


def _write_ntfs(part: Path, work: Path, payloads: dict[str, bytes]) -> dict[str, int]:
    src = work / "payloads"
    src.mkdir()
    for key, data in payloads.items():
        (src / key).write_bytes(data)
    plan_file = work / "plan.json"
    plan = _plan(src)
    plan_file.write_text(json.dumps(plan))
    writer = Path(__file__).with_name("ntfs_writer.py")
    out = run([sys.executable, writer, part, plan_file], fake=plan[0]["time"], env={"FAKETIME_NO_CACHE": "1"})
    return {k: int(v) for k, v in json.loads(out).items()}


def _nt_time(text: str) -> int:
    """'YYYY-mm-dd HH:MM:SS.fffffff' UTC -> NTFS FILETIME (100 ns since 1601)."""
    whole, _, frac = text.partition(".")
    return (epoch(whole) + 11644473600) * 10**7 + int(frac.ljust(7, "0")[:7])


def timestomp(part: Path, record: int, when: str) -> None:
    """Overwrite the four $STANDARD_INFORMATION times of one MFT record (not $FILE_NAME)."""
    with part.open("r+b") as fh:
        boot = fh.read(512)
        bps, spc = struct.unpack_from("<HB", boot, 11)
        mft_lcn = struct.unpack_from("<q", boot, 0x30)[0]
        per = struct.unpack_from("<b", boot, 0x40)[0]
        rec_size = 2 ** -per if per < 0 else per * bps * spc
        at = mft_lcn * bps * spc + record * rec_size
        fh.seek(at)
        rec = fh.read(rec_size)
        if rec[:4] != b"FILE":
            raise BuildError(f"{part}: MFT record {record} not found for timestomping")
        attr = struct.unpack_from("<H", rec, 0x14)[0]
        while struct.unpack_from("<I", rec, attr)[0] != 0x10:
            attr += struct.unpack_from("<I", rec, attr + 4)[0]
        content = attr + struct.unpack_from("<H", rec, attr + 0x14)[0]
        fh.seek(at + content)
        fh.write(struct.pack("<4Q", *[_nt_time(when)] * 4))


def _disk(work: Path, part: Path) -> Path:
    disk = work / "disk.raw"
    with disk.open("wb") as fh:
        fh.truncate(DISK_SECTORS * 512)
    table = f"label: dos\nlabel-id: 0x5eed0707\nunit: sectors\nstart={START}, size={PART_SECTORS}, type=7, bootable\n"
    run(["sfdisk", "-q", "--no-reread", "--no-tell-kernel", disk], stdin=table.encode())
    with disk.open("r+b") as fh:
        fh.seek(START * 512)
        fh.write(part.read_bytes())
    return disk


def build(work: Path, out: Path) -> dict[str, Any]:
    """Build workstation.E01 (+ its ewfacquire log) into ``out``; return the answers."""
    require(TOOLS)
    part = work / "part.raw"
    with part.open("wb") as fh:
        fh.truncate(PART_SECTORS * 512)
    run(["mkntfs", "-F", "-Q", "-q", "-s", "512", "-c", "4096", "-p", str(START), "-H", "255", "-S", "63",
         "-L", "OS", part], fake="2021-05-03 07:45:00")
    run(["ntfslabel", "--new-serial=5EED07070BADF00D", part], fake="2021-05-03 07:45:00")
    payloads = _payloads()
    records = _write_ntfs(part, work, payloads)
    timestomp(part, records[STOMPED], FAKE_SI)
    disk = _disk(work, part)
    args = [a for kv in CASE.items() for a in kv]
    run(["ewfacquire", "-u", "-q", "-t", "workstation", "-f", "encase6", "-c", "deflate:best", "-b", "64",
         "-S", "1.4GiB", "-d", "sha1", "-m", "fixed", "-M", "physical", *args, "-l", "workstation.E01.log",
         "disk.raw"], cwd=work, fake=ACQUIRED)
    for name in ("workstation.E01", "workstation.E01.log"):
        (out / name).write_bytes((work / name).read_bytes())
    raw = disk.read_bytes()
    return {
        "evidence_number": CASE["-E"], "case_number": CASE["-C"],
        "media_md5": hashlib.md5(raw).hexdigest(), "partition_start": START,
        "zone_host_url": ZONE.split("HostUrl=")[1].strip(), "download_path": DOWNLOAD,
        "deleted_path": DELETED, "deleted_sha256": hashlib.sha256(payloads["dropper"]).hexdigest(),
        "stomped_path": STOMPED, "stomped_fn_created": "2021-06-15T09:07:03.0000000Z",
        "stomped_si_created": FAKE_SI.replace(" ", "T") + "Z",
    }
