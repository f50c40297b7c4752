"""Full file system extractions in a zip or tar: the phone's root and OS detected and labelled."""

from __future__ import annotations

import io
import tarfile
import zipfile

import pytest

from evidencekit import open_evidence
from mobile.builders import ffs_members


def _zip(path, members):
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def _tar(path, members):
    with tarfile.open(path, "w:gz") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo("./" + name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return path


@pytest.mark.parametrize("pack", [_zip, _tar])
@pytest.mark.parametrize(("system", "root", "version"), [("ios", "/filesystem1/", "15.4.1"), ("android", "/Dump/", "12")])
def test_root_and_os_detected(tmp_path, pack, system, root, version):
    path = pack(tmp_path / ("ffs.zip" if pack is _zip else "ffs.tar.gz"), ffs_members(system))
    with open_evidence(path) as ev:
        assert f"ffs:{system}" in ev.format_chain
        assert ev.device["root"] in (root, "/./" + root.lstrip("/"))
        assert ev.device["os_version"] == version and ev.device["os"].lower() == system
        assert len(list(ev.entries())) == 3


def test_plain_archive_is_not_labelled(tmp_path):
    with open_evidence(_zip(tmp_path / "docs.zip", {"docs/a.txt": b"a"})) as ev:
        assert ev.format_chain == ["zip"] and ev.device == {}
