"""Synthetic benchmark evidence: an ext4 image of many small files plus a few large ones.

Built with ``mke2fs -d`` (no root, no mounting), deterministically, and cached under the work
folder, so every benchmark in one `make bench` run measures the same bytes.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
from pathlib import Path

FILES_PER_DIR = 100
LARGE_FILES = 3
LARGE_SIZE = 8 << 20


def _need(tool: str, package: str) -> None:
    if shutil.which(tool) is None:
        raise SystemExit(f"bench: {tool} not found: apt-get install {package} (or 'make sysdeps' as root)")


def source_tree(work: Path, n_files: int = 50_000) -> Path:
    """The folder the image is built from (also what hashdeep and yara -r read for comparison)."""
    final = work / f"tree-{n_files}"
    if (final / ".complete").exists():
        return final
    # Build under a private name and rename: several benchmarks may ask for it at once.
    tree = work / f"tree-{n_files}.tmp-{os.getpid()}"
    shutil.rmtree(tree, ignore_errors=True)
    done = tree / ".complete"
    rng = random.Random(n_files)
    block = rng.randbytes(1 << 16)
    for i in range(n_files):
        folder = tree / f"d{i // FILES_PER_DIR:04d}"
        if i % FILES_PER_DIR == 0:
            folder.mkdir(parents=True)
        size = rng.randint(1, 7000)
        start = rng.randint(0, len(block) - size)
        (folder / f"f{i:06d}.dat").write_bytes(block[start:start + size])
    big = tree / "large"
    big.mkdir()
    for i in range(LARGE_FILES):
        (big / f"large{i}.bin").write_bytes(rng.randbytes(LARGE_SIZE))
    # Distinct access and modification times per file, as on a used file system (mke2fs adds the
    # change time of the copy and a fixed creation time): mactime then writes four rows per file.
    epoch = 1_600_000_000
    for root, dirs, files in os.walk(tree):
        for name in sorted(dirs + files):
            mtime = epoch - rng.randint(0, 3 * 365 * 86400)
            os.utime(os.path.join(root, name), (mtime + rng.randint(1, 86400 * 30), mtime))
    done.write_text("")
    try:
        tree.rename(final)
    except OSError:  # another process finished first
        shutil.rmtree(tree, ignore_errors=True)
    return final


def ext4_image(work: Path, n_files: int = 50_000) -> Path:
    """A raw ext4 image holding ``source_tree(work, n_files)``; built once and cached."""
    _need("mke2fs", "e2fsprogs")
    image = work / f"ext4-{n_files}.raw"
    if image.exists():
        return image
    tree = source_tree(work, n_files)
    data = sum(f.stat().st_size for f in tree.rglob("*") if f.is_file())
    size_mb = int((data * 1.4 + n_files * 4096 * 1.2) / (1 << 20)) + 64
    tmp = image.with_suffix(f".tmp-{os.getpid()}")
    tmp.unlink(missing_ok=True)
    with open(tmp, "wb") as fh:
        fh.truncate(size_mb << 20)
    env = dict(os.environ, E2FSPROGS_FAKE_TIME="1600000000", TZ="UTC", LC_ALL="C")
    subprocess.run(["mke2fs", "-q", "-F", "-t", "ext4", "-b", "4096", "-I", "256", "-N", str(n_files + 2000),
                    "-L", "bench", "-U", "3c3b7c2e-6d8e-4c59-9c1e-0b5e2ed1a001",
                    "-E", "hash_seed=3c3b7c2e-6d8e-4c59-9c1e-0b5e2ed1a001,root_owner=0:0", "-d", str(tree), str(tmp)],
                   check=True, env=env)
    tmp.rename(image)
    return image


def ewf_image(work: Path, n_files: int = 50_000) -> Path:
    """``ext4_image`` as an E01 (ewfacquirestream, deflate "fast"), the form most evidence arrives in."""
    _need("ewfacquirestream", "ewf-tools")
    raw = ext4_image(work, n_files)
    target = work / f"ext4-{n_files}"
    image = target.with_suffix(".E01")
    if image.exists():
        return image
    tmp = work / f"ext4-{n_files}.tmp-{os.getpid()}"
    with open(raw, "rb") as source:
        subprocess.run(["ewfacquirestream", "-q", "-c", "fast", "-C", "bench", "-D", "benchmark image", "-E", "1",
                        "-e", "bench", "-N", "synthetic", "-m", "fixed", "-t", str(tmp)],
                       stdin=source, stdout=subprocess.DEVNULL, check=True)
    Path(f"{tmp}.E01").rename(image)  # ewfacquirestream adds the extension
    return image


def exclude_marker(tree: Path) -> Path:
    """The build marker file inside the tree (benchmarks that walk the tree may skip it)."""
    return tree / ".complete"
