"""Small evidence built on the fly with Debian tools, for tests that need a known file system."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from ektools import need_tool

FAKE_NOW = 1_623_657_600  # 2021-06-14T08:00:00Z
Q1_MTIME_NS = 123_456_789
ENV = dict(os.environ, TZ="UTC", LC_ALL="C", E2FSPROGS_FAKE_TIME=str(FAKE_NOW), MTOOLS_SKIP_CHECK="1")


def populate(tree: Path) -> None:
    """A small user tree: nested folders, a symlink, a non-ASCII name, an empty and a larger file."""
    (tree / "docs" / "reports").mkdir(parents=True)
    (tree / "docs" / "reports" / "q1.txt").write_text("quarterly figures\n" * 40)
    (tree / "docs" / "отчёт.txt").write_text("non-ASCII name\n")
    (tree / "empty.bin").write_bytes(b"")
    (tree / "big.bin").write_bytes(bytes(range(256)) * 4096 * 3)  # 3 MiB: crosses the one-read limit
    (tree / "secret.txt").write_text("to be deleted: carve me\n" * 10)
    os.symlink("docs/reports/q1.txt", tree / "link")
    for i, path in enumerate(sorted(tree.rglob("*"))):
        if not path.is_symlink():
            os.utime(path, ns=(1_600_000_000_123_456_789 + i * 10**9, 1_590_000_000_987_654_321 + i * 10**9))


def ext4_image(work: Path) -> Path:
    """ext4 (16 MiB) with ``populate``'s tree; ``/secret.txt`` deleted by debugfs (dtime set)."""
    need_tool("mke2fs")
    need_tool("debugfs")
    tree = work / "tree"
    populate(tree)
    image = work / "ext4.raw"
    with open(image, "wb") as fh:
        fh.truncate(16 << 20)
    subprocess.run(["mke2fs", "-q", "-F", "-t", "ext4", "-b", "4096", "-I", "256", "-L", "TESTVOL",
                    "-U", "0b1e5f0a-5e5e-4d4d-8a8a-123456789abc", "-d", str(tree), str(image)], check=True, env=ENV)
    # mke2fs -d keeps whole seconds; give one file nanoseconds as the ext4 kernel would.
    commands = work / "debugfs.cmds"
    commands.write_text(f"sif /docs/reports/q1.txt mtime_extra {Q1_MTIME_NS << 2}\nrm /secret.txt\n")
    subprocess.run(["debugfs", "-w", "-f", str(commands), str(image)], check=True, env=ENV, capture_output=True)
    return image


def fat16_image(work: Path) -> Path:
    """FAT16 (16 MiB) with two folders, a hidden file and a deleted file, times from mcopy -m."""
    for tool in ("mkfs.fat", "mcopy", "faketime"):
        need_tool(tool)
    image = work / "fat16.raw"
    subprocess.run(["faketime", "-f", "2021-06-01 08:00:00", "mkfs.fat", "-C", "-F", "16", "-S", "512", "-s", "1",
                    "-h", "0", "-i", "16F16F16", "-n", "USBSTICK", str(image), "16384"],
                   check=True, env=ENV, capture_output=True)
    src = work / "fatsrc"
    src.mkdir()
    (src / "plan.txt").write_text("the plan\n" * 100)
    (src / "gone.txt").write_text("deleted but recoverable\n" * 5)
    (src / "hidden.txt").write_text("hidden\n")
    os.utime(src / "plan.txt", (1_622_540_000, 1_622_530_000))
    env = dict(ENV, NO_FAKE_STAT="1")
    subprocess.run(["mmd", "-i", str(image), "::/Work"], check=True, env=env)
    for name in ("plan.txt", "gone.txt", "hidden.txt"):
        subprocess.run(["mcopy", "-m", "-i", str(image), str(src / name), f"::/Work/{name}"], check=True, env=env)
    subprocess.run(["mattrib", "-i", str(image), "+h", "::/Work/hidden.txt"], check=True, env=env)
    subprocess.run(["mdel", "-i", str(image), "::/Work/gone.txt"], check=True, env=env)
    return image


def luks1_image(work: Path, plain: Path, password: str, master_key: bytes, payload_sectors: int) -> Path:
    """LUKS1 (aes-xts-plain64, 256-bit key) holding ``plain``: cryptsetup writes the header with a
    known master key, and the payload is encrypted here (no device-mapper needed)."""
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    need_tool("cryptsetup")
    key_file = work / "mk.bin"
    key_file.write_bytes(master_key)
    data = plain.read_bytes()
    image = work / "luks1.img"
    with open(image, "wb") as fh:
        fh.truncate(payload_sectors * 512 + len(data))
    subprocess.run(["cryptsetup", "luksFormat", "--type", "luks1", "--batch-mode", "--cipher", "aes-xts-plain64",
                    "--key-size", "256", "--hash", "sha256", "--pbkdf-force-iterations", "1000", "--align-payload",
                    str(payload_sectors), "--master-key-file", str(key_file), "--key-file", "-", str(image)],
                   input=password.encode(), check=True, capture_output=True)
    with open(image, "r+b") as fh:
        fh.seek(payload_sectors * 512)
        for sector in range(len(data) // 512):
            enc = Cipher(algorithms.AES(master_key), modes.XTS(sector.to_bytes(16, "little"))).encryptor()
            fh.write(enc.update(data[sector * 512:(sector + 1) * 512]) + enc.finalize())
    return image
