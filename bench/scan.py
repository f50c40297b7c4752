"""Content scans on the synthetic 50,000-file ext4 image, against `yara -r` on the extracted tree.

Targets (issue 7): type identification plus YARA with at least 100 realistic rules in at most 2x
the time of `yara -r` over the same files on disk; a look-up of every file in a 10,000,000-hash
set adds at most 10% to processing. The rule set is generated deterministically (write_rules).
"""

from __future__ import annotations

import os
import random
import shutil
import statistics
import time
from pathlib import Path

from bench.images import ext4_image, source_tree
from bench.util import alternate, bench_examiner, evidencekit, use_home
from evidencekit.scan.hashsets import HashSet

WEBSHELL = ["eval(base64_decode(", "assert($_POST", "gzinflate(base64_decode(", "str_rot13(", "shell_exec(",
            "passthru(", "system($_GET", "preg_replace(\"/.*/e\"", "create_function(", "Request.Item[",
            "Runtime.getRuntime().exec(", "WScript.Shell", "cmd.exe /c", "FilesMan", "c99shell", "r57shell",
            "b374k", "WSO_VERSION", "uname -a", "move_uploaded_file("]
HACKTOOL = ["sekurlsa::logonpasswords", "privilege::debug", "lsadump::sam", "gentilkiwi", "kerberos::golden",
            "asktgt", "kerberoast", "Rubeus", "SharpHound", "BloodHound", "PSEXESVC", "beacon.dll",
            "ReflectiveLoader", "smbexec.py", "wmiexec", "LaZagne", "MiniDumpWriteDump", "procdump",
            "Invoke-Mimikatz", "Invoke-Shellcode", "PowerSploit", "Empire", "meterpreter", "metsrv.dll"]
RANSOM = ["Your files have been encrypted", "YOUR FILES ARE ENCRYPTED", "bitcoin", ".onion", "decrypt",
          "WNcry@2ol7", "RyukReadMe", "Restore-My-Files.txt", "CONTI_LOG", "Sodinokibi", "expand 32-byte k",
          "vssadmin delete shadows", "wbadmin delete catalog", "bcdedit /set {default} recoveryenabled no",
          "HOW_TO_DECRYPT", "README_FOR_DECRYPT", "!!!READ_ME!!!", "tor browser", "private key", "ransom"]
SCRIPT = ["-EncodedCommand", "IEX (New-Object Net.WebClient).DownloadString", "FromBase64String",
          "AmsiUtils", "-ExecutionPolicy Bypass", "-NoProfile -WindowStyle Hidden", "AutoOpen", "Document_Open",
          "CreateObject(\"WScript.Shell\")", "Shell(", "powershell -nop", "certutil -urlcache -split -f",
          "bitsadmin /transfer", "regsvr32 /s /n /u /i:", "mshta http", "rundll32 javascript:"]
IMPORTS = ["VirtualAllocEx", "WriteProcessMemory", "CreateRemoteThread", "NtUnmapViewOfSection",
           "SetWindowsHookEx", "GetAsyncKeyState", "IsDebuggerPresent", "CryptEncrypt", "InternetOpenUrlA",
           "URLDownloadToFileA", "AdjustTokenPrivileges", "OpenProcessToken", "LoadLibraryA", "GetProcAddress"]
HEX = ["FC E8 82 00 00 00 60 89 E5", "64 A1 30 00 00 00", "31 C9 [2-4] 80 34 ?? ??", "E8 00 00 00 00 5D",
       "60 E8 00 00 00 00 5D 81 ED", "4D 5A 90 00 03 00 00 00", "B8 ?? ?? ?? ?? FF E0", "68 ?? ?? ?? ?? C3",
       "8B 45 ?? 33 C9 [1-6] 30 04 08", "6A 40 68 00 30 00 00", "FF 15 ?? ?? ?? ?? 85 C0 74"]
REGEX = [r"/https?:\/\/[0-9]{1,3}(\.[0-9]{1,3}){3}(:[0-9]{2,5})?\/[a-z0-9]{4,16}\.(exe|ps1|dll|hta)/",
         r"/[13][a-km-zA-HJ-NP-Z1-9]{25,34}@/", r"/[a-z2-7]{16,56}\.onion/", r"/Global\\[A-Za-z0-9]{8,32}Mutex/",
         r"/User-Agent: Mozilla\/4\.0 \(compatible; MSIE [6-8]\.0;/"]


def _rule(name: str, tags: str, strings: list[str], condition: str, family: str, n: int) -> str:
    meta = f'        description = "{family} indicator {n}"\n        author = "evidencekit bench"\n' \
           f'        reference = "synthetic, generated deterministically"\n        score = {40 + n % 60}\n'
    return (f"rule {name} : {tags}\n{{\n    meta:\n{meta}    strings:\n" + "".join(f"        {s}\n" for s in strings)
            + f"    condition:\n        {condition}\n}}\n\n")


def _text_rules(rng: random.Random, family: str, pool: list[str], count: int, tags: str) -> str:
    out = []
    for n in range(count):
        picks = rng.sample(pool, k=min(len(pool), rng.randint(2, 5)))
        mods = ["ascii wide nocase", "ascii", "ascii wide", "nocase", "fullword"]
        strings = [f'$s{i} = "{p.replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}" {rng.choice(mods)}'
                   for i, p in enumerate(picks)]
        cond = rng.choice(["2 of them", "any of them and filesize < 2MB", "all of them", "#s0 > 0 and 1 of ($s*)"])
        out.append(_rule(f"{family}_{n:03d}", tags, strings, cond, family, n))
    return "".join(out)


def _pe_rules(rng: random.Random, count: int) -> str:
    out = []
    for n in range(count):
        picks = rng.sample(IMPORTS, k=rng.randint(2, 4))
        strings = [f'$i{i} = "{p}" ascii' for i, p in enumerate(picks)] + [f"$h0 = {{ {rng.choice(HEX)} }}"]
        cond = rng.choice(["uint16(0) == 0x5A4D and all of them", "uint16(0) == 0x5A4D and $h0 and 1 of ($i*)",
                           "uint16(0) == 0x5A4D and filesize < 5MB and 2 of them"])
        out.append(_rule(f"pe_suspicious_{n:03d}", "pe injection", strings, cond, "pe", n))
    return "".join(out)


def _hex_regex_rules(rng: random.Random, count: int) -> str:
    out = []
    for n in range(count):
        strings = [f"$h{i} = {{ {h} }}" for i, h in enumerate(rng.sample(HEX, k=2))]
        if n % 3 == 0:
            strings.append(f"$r0 = {rng.choice(REGEX)}")
        out.append(_rule(f"shellcode_{n:03d}", "shellcode", strings, rng.choice(["any of them", "all of them"]),
                         "shellcode", n))
    return "".join(out)


def write_rules(folder: Path, seed: int = 7) -> Path:
    """A deterministic, realistic rule set of 130 rules in 6 files (namespaces)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    files = {
        "webshells.yar": _text_rules(rng, "webshell", WEBSHELL, 25, "webshell"),
        "hacktools.yar": _text_rules(rng, "hacktool", HACKTOOL, 25, "hacktool"),
        "ransomware.yar": _text_rules(rng, "ransom", RANSOM, 20, "ransomware"),
        "scripts.yar": _text_rules(rng, "script", SCRIPT, 20, "script"),
        "pe.yar": _pe_rules(rng, 20),
        "shellcode.yar": _hex_regex_rules(rng, 20),
    }
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


def _yara_cmd(rules: Path, tree: Path) -> str:
    namespaces = " ".join(f"{p.stem}:{p}" for p in sorted(rules.glob("*.yar")))
    return f"yara -w -r {namespaces} {tree} > /dev/null"


def _scan_lines(work: Path) -> list[str]:
    image, tree = ext4_image(work, 50_000), source_tree(work, 50_000)
    rules = write_rules(work / "scan-rules")
    ek = evidencekit()
    medians = alternate({
        "scan yara --types (image)": f"{ek} scan yara {image} --rules {rules} --types > /dev/null",
        "yara -r (extracted tree)": _yara_cmd(rules, tree),
        "scan yara --no-types (image)": f"{ek} scan yara {image} --rules {rules} --no-types > /dev/null",
        "file(1) MIME + description (tree)": f"find {tree} -type f -print0 | xargs -0 file -b --mime-type > /dev/null"
                                             f" && find {tree} -type f -print0 | xargs -0 file -b > /dev/null",
    }, rounds=3)
    peer = medians["yara -r (extracted tree)"]
    lines = [f"  {name:<36} median {secs:7.2f} s" for name, secs in medians.items()]
    lines.append(f"  ratio types+yara / yara -r = {medians['scan yara --types (image)'] / peer:.2f}  (target <= 2.00)")
    lines.append(f"  ratio yara only / yara -r  = {medians['scan yara --no-types (image)'] / peer:.2f}")
    libmagic = medians["file(1) MIME + description (tree)"]
    lines.append(f"  ratio file(1) MIME+description alone / yara -r = {libmagic / peer:.2f}")
    lines.append(f"  ratio types+yara / (yara -r + file(1) MIME+description) = "
                 f"{medians['scan yara --types (image)'] / (peer + libmagic):.2f}")
    return lines


def _hash_list(work: Path, tree: Path, n: int) -> Path:
    """``n`` MD5 digests: random ones plus those of every 10th file of the tree (hits)."""
    path = work / f"hashset-{n}.txt"
    if path.exists():
        return path
    rng = random.Random(n)
    import hashlib

    known = [hashlib.md5(p.read_bytes()).hexdigest() for p in sorted(tree.rglob("f*.dat"))[::10]]
    tmp = path.with_suffix(".tmp")
    with tmp.open("w") as fh:
        fh.write("\n".join(known) + "\n")
        left = n - len(known)
        while left > 0:
            block = rng.randbytes(16 * min(left, 1_000_000))
            fh.write("\n".join(block[i:i + 16].hex() for i in range(0, len(block), 16)) + "\n")
            left -= len(block) // 16
    tmp.rename(path)
    return path


def _process_and_check(work: Path, image: Path, hs: HashSet) -> tuple[list[float], list[float], int]:
    """Three rounds on fresh cases: time `case process` (verify, inventory, hashes), then the look-up."""
    from evidencekit.case import Case
    from evidencekit.pipeline.intake import add_exhibit
    from evidencekit.pipeline.processing import process_exhibit
    from evidencekit.pipeline.scan import check_exhibit

    examiner = bench_examiner()
    process, check, hits = [], [], 0
    for i in range(3):
        case_dir = work / f"scan-case-{i}"
        shutil.rmtree(case_dir, ignore_errors=True)
        case = Case.init(case_dir, number="B/1", title="bench", authority="bench", examiner=examiner)
        add_exhibit(case, image, "E1", examiner)
        t0 = time.perf_counter()
        process_exhibit(case, "E1", examiner)
        process.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        out = check_exhibit(case, "E1", examiner, [hs])
        check.append(time.perf_counter() - t0)
        hits = out["results"]["bench10m"]["hits"]
        case.close()
        shutil.rmtree(case_dir, ignore_errors=True)
    return process, check, hits


def _hashset_lines(work: Path) -> list[str]:
    from evidencekit.scan.hashsets import import_hash_set, open_hash_set

    home = work / "scan-home"
    shutil.rmtree(home, ignore_errors=True)
    os.environ.pop("EVIDENCEKIT_PASSPHRASE", None)
    use_home(home)
    image, tree = ext4_image(work, 50_000), source_tree(work, 50_000)
    src = _hash_list(work, tree, 10_000_000)
    t0 = time.perf_counter()
    manifest = import_hash_set("bench10m", src, "known-bad").manifest
    imported = time.perf_counter() - t0
    hs = open_hash_set("bench10m")
    rng = random.Random(1)
    probe = [rng.randbytes(16) for _ in range(1_000_000)]
    t0 = time.perf_counter()
    hs.contains("md5", probe)
    rate = len(probe) / (time.perf_counter() - t0)
    process, check, hits = _process_and_check(work, image, hs)
    p, c = statistics.median(process), statistics.median(check)
    return [
        f"  hash set import: {manifest['counts']['md5']:,} MD5 in {imported:.1f} s "
        f"({manifest['counts']['md5'] / imported:,.0f} digests/s)",
        f"  look-up rate (batch of 1,000,000, 10M set): {rate:,.0f} digests/s",
        f"  case process (verify + inventory + default hashes) median {p:.2f} s; "
        f"scan hashsets median {c:.2f} s ({hits} hits); rounds "
        f"{', '.join(f'{a:.2f}/{b:.2f}' for a, b in zip(process, check, strict=True))}",
        f"  ratio hash-set look-up / processing = {c / p:.3f}  (target <= 0.10)",
    ]


def run(work: Path) -> list[str]:
    if shutil.which("yara") is None:
        return ["skipped: yara missing (apt-get install yara)"]
    return _scan_lines(work) + _hashset_lines(work)
