"""Building: byte-identical rebuilds, the committed images are what the builder makes, clear errors."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from ektools import need_tool
from evidencekit.errors import ToolMissingError
from evidencekit.training import build, catalog


def _sums(path: Path) -> dict[str, str]:
    return {line.split("  ", 1)[1]: line.split("  ", 1)[0] for line in path.read_text().splitlines()}


def test_committed_images_match_sha256sums(images: Path) -> None:
    sums = _sums(images / build.SUMS)
    assert {p.split("/")[0] for p in sums} == set(catalog.names())
    for rel, digest in sums.items():
        assert hashlib.sha256((images / rel).read_bytes()).hexdigest() == digest, rel


def test_rebuild_is_byte_identical_and_matches_the_committed_images(images: Path, tmp_path: Path) -> None:
    for tool in ("faketime", "mkfs.fat", "mcopy", "mke2fs", "debugfs", "mkntfs", "sfdisk", "ewfacquire"):
        need_tool(tool)
    first, second = tmp_path / "a", tmp_path / "b"
    build.build(None, first)
    build.build(None, second)
    assert (first / build.SUMS).read_bytes() == (second / build.SUMS).read_bytes()
    assert (first / "trainer").is_dir() and not any((first / n / "trainer").exists() for n in catalog.names())
    committed = _sums(images / build.SUMS)
    rebuilt = _sums(first / build.SUMS)
    differ = sorted(p for p in committed if committed[p] != rebuilt.get(p))
    assert not differ, f"rebuild differs from training_images/ (tool or SQLite/zlib versions?): {differ}"


def test_missing_tools_name_the_debian_packages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing is installed here
    with pytest.raises(ToolMissingError) as err:
        build.build(["usb-data-theft"], tmp_path / "out")
    assert "apt-get install dosfstools faketime mtools" in str(err.value)
    with pytest.raises(ToolMissingError, match="ewf-tools"):
        build.build(["office-workstation"], tmp_path / "out")


def test_mobile_needs_no_tools_and_rebuilds_identically(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        images: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    build.build(["mobile"], tmp_path / "out")
    rebuilt = _sums(tmp_path / "out" / build.SUMS)
    committed = _sums(images / build.SUMS)
    assert rebuilt == {k: v for k, v in committed.items() if k.startswith("mobile/")}
