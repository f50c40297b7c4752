"""Scenario linux-server: ext4 of a compromised web server (logs, history, web shell, wiped log)."""

from __future__ import annotations

import hashlib
import re
from importlib import resources
from pathlib import Path
from typing import Any

from evidencekit.training import linux_files as lf
from evidencekit.training.tools import BuildError, epoch, gzip_file, require, run

NAME = "linux-server"
TOOLS = ("mke2fs", "debugfs")
UUID = "5eed0b0b-2021-4620-8a11-0000000000a1"
MADE = "2021-04-01 06:00:00"
MKE2FS_CONF = """[defaults]
\tbase_features = sparse_super,large_file,filetype,resize_inode,dir_index,ext_attr
\tdefault_mntopts = acl,user_xattr
\tenable_periodic_fsck = 0
\tblocksize = 4096
\tinode_size = 256
\tinode_ratio = 16384
\treserved_ratio = 5.0
\tlazy_itable_init = false
\tlazy_journal_init = false

[fs_types]
\text4 = {
\t\tfeatures = has_journal,extent,huge_file,flex_bg,metadata_csum,64bit,dir_nlink,extra_isize
\t}
"""
SHELL_TIMES = {"crtime": "2021-06-20 02:14:37.508112035", "mtime": "2021-06-20 02:14:37.512345678",
               "ctime": "2021-06-20 02:14:37.512345678", "atime": "2021-06-20 02:16:05.114001234"}
DELETED_AT = "2021-06-20 02:25:51"
OWNERS = {"/var/www": (33, 33), "/home/deploy": (1001, 1001), "/var/log/auth.log": (0, 4),
          "/var/log/apache2": (0, 4)}


def yara_rule() -> str:
    return resources.files("evidencekit.training").joinpath("data/webshell.yar").read_text(encoding="utf-8")


def _tree() -> list[tuple[str, bytes | None, int, str]]:
    """(path, content or None for a directory, mode, modified time) in creation order."""
    base = "2021-04-01 06:05:00"
    dirs = ["/etc", "/home", "/home/deploy", "/var", "/var/log", "/var/log/apache2", "/var/www",
            "/var/www/html", "/var/www/html/uploads", "/tmp"]
    changed = {"/var/www/html/uploads": SHELL_TIMES["crtime"][:19], "/tmp": "2021-06-20 02:25:40",
               "/var/log/apache2": DELETED_AT}
    tree: list[tuple[str, bytes | None, int, str]] = [
        (d, None, 0o1777 if d == "/tmp" else 0o755, changed.get(d, base)) for d in dirs]
    tree += [
        ("/etc/hostname", b"web01\n", 0o644, base), ("/etc/passwd", lf.PASSWD.encode(), 0o644, "2021-04-02 10:11:12"),
        ("/etc/os-release", lf.OS_RELEASE.encode(), 0o644, base),
        ("/var/www/html/index.php", b"<?php require 'catalog.php';\n", 0o644, "2021-04-03 12:00:00"),
        ("/var/www/html/upload.php", lf.UPLOAD.encode(), 0o644, "2021-04-03 12:00:00"),
        ("/var/www/html/config.php", lf.CONFIG.encode(), 0o640, "2021-04-03 12:00:00"),
        ("/var/www/html/uploads/avatar_2231_me.jpg", b"\xff\xd8\xff\xe0\0\x10JFIF\0" + b"\0" * 200 + b"\xff\xd9",
         0o644, "2021-05-17 19:22:41"),
        (lf.SHELL_PATH, lf.WEBSHELL.encode(), 0o644, SHELL_TIMES["mtime"]),
        ("/var/log/apache2/access.log.1", lf.old_access_log().encode(), 0o640, "2021-06-19 23:59:58"),
        (lf.DELETED_LOG, lf.access_log().encode(), 0o640, "2021-06-20 02:17:12"),
        ("/var/log/auth.log", lf.auth_log().encode(), 0o640, "2021-06-20 02:26:12"),
        ("/var/log/syslog", lf.syslog().encode(), 0o640, "2021-06-20 02:21:40"),
        ("/home/deploy/.bash_history", lf.bash_history().encode(), 0o600, "2021-06-20 02:26:12"),
    ]
    return tree


def _stage(root: Path, tree: list[tuple[str, bytes | None, int, str]]) -> None:
    for path, data, mode, _ in tree:
        target = root / path.lstrip("/")
        if data is None:
            target.mkdir(parents=True, exist_ok=True)
        else:
            target.write_bytes(data)
        target.chmod(mode)


def _split(text: str) -> tuple[int, int]:
    whole, _, frac = text.partition(".")
    return epoch(whole), int(frac.ljust(9, "0")) if frac else 0


def _time_cmds(path: str, times: dict[str, str]) -> list[str]:
    cmds = []
    for field, text in times.items():
        secs, nanos = _split(text)
        cmds += [f"sif {path} {field} @{secs}", f"sif {path} {field}_extra {nanos << 2}"]
    return cmds


def _owner(path: str) -> tuple[int, int]:
    for prefix, owner in OWNERS.items():
        if path == prefix or path.startswith(prefix + "/"):
            return owner
    return (0, 0)


def _created(path: str) -> str:
    if path.startswith("/var/log/") and "." in path.rsplit("/", 1)[1] or path == "/var/log/syslog":
        return "2021-06-19 00:00:02" if path.endswith(".1") else "2021-06-20 00:00:02"
    return MADE


def _pin_cmds(tree: list[tuple[str, bytes | None, int, str]]) -> list[str]:
    """debugfs lines pinning owner and all four times of every path (-d copies host times)."""
    cmds = _time_cmds("/", {k: MADE for k in ("atime", "mtime", "ctime", "crtime")})
    for path, _, _, modified in tree:
        times = SHELL_TIMES if path == lf.SHELL_PATH else {
            "crtime": _created(path), "mtime": modified,
            "ctime": modified, "atime": modified}
        uid, gid = _owner(path)
        cmds += [f"sif {path} uid {uid}", f"sif {path} gid {gid}", *_time_cmds(path, times)]
    return cmds


def _wipe_cmds(ino: int) -> list[str]:
    """What the ext4 kernel leaves of an unlinked inode: no size, an empty extent header."""
    cmds = _time_cmds(f"<{ino}>", {"ctime": DELETED_AT})
    cmds += [f"sif <{ino}> size 0", f"sif <{ino}> blocks 0", f"sif <{ino}> block[0] 0xF30A", f"sif <{ino}> block[1] 4"]
    cmds += [f"sif <{ino}> block[{i}] 0" for i in range(2, 12)]
    return cmds + [f"sif <{ino}> block[{k}] 0" for k in ("IND", "DIND", "TIND")]


def _debugfs(img: Path, work: Path, cmds: list[str], when: str) -> str:
    script = work / "debugfs.cmds"
    script.write_text("\n".join(cmds) + "\n")
    return run(["debugfs", "-w", "-f", script, img], env={"E2FSPROGS_FAKE_TIME": str(epoch(when))})


def build(work: Path, out: Path) -> dict[str, Any]:
    """Build server.img.gz and webshell.yar into ``out``; return the answers."""
    require(TOOLS)
    root, img, conf = work / "root", work / "server.img", work / "mke2fs.conf"
    tree = _tree()
    _stage(root, tree)
    conf.write_text(MKE2FS_CONF)
    with img.open("wb") as fh:
        fh.truncate(16 << 20)
    run(["mke2fs", "-q", "-F", "-t", "ext4", "-b", "4096", "-I", "256", "-L", "web01-root", "-U", UUID,
         "-E", f"hash_seed={UUID},root_owner=0:0", "-d", root, img],
        env={"E2FSPROGS_FAKE_TIME": str(epoch(MADE)), "MKE2FS_CONFIG": str(conf)})
    _debugfs(img, work, _pin_cmds(tree), MADE)
    found = re.search(r"Inode:\s*(\d+)", run(["debugfs", "-R", f"stat {lf.DELETED_LOG}", img]))
    if not found:
        raise BuildError(f"{img}: no inode for {lf.DELETED_LOG}")
    ino = int(found.group(1))
    _debugfs(img, work, [f"rm {lf.DELETED_LOG}"], DELETED_AT)
    _debugfs(img, work, _wipe_cmds(ino), DELETED_AT)
    gzip_file(img, out / "server.img.gz")
    (out / "webshell.yar").write_text(yara_rule(), encoding="utf-8")
    return {
        "shell_path": lf.SHELL_PATH, "shell_sha256": hashlib.sha256(lf.WEBSHELL.encode()).hexdigest(),
        "attacker_ip": lf.ATTACKER, "account": lf.ACCOUNT, "deleted_path": lf.DELETED_LOG,
        "deleted_inode": ino, "deleted_at": DELETED_AT.replace(" ", "T") + "Z",
        "shell_mtime": SHELL_TIMES["mtime"].replace(" ", "T") + "Z", "exfil_host": lf.EXFIL_HOST,
    }
