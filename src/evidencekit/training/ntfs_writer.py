"""Write files into an NTFS image through libntfs-3g (ctypes), without mounting.

Run as a standalone script under ``FAKETIME_NO_CACHE=1 faketime`` (it imports nothing from
evidencekit): ``python ntfs_writer.py IMAGE PLAN.json``. PLAN is a list of steps, each with a
``time`` ("YYYY-MM-DD hh:mm:ss", UTC) that becomes the frozen clock for that step:
``mkdir``/``file`` (path, src), ``ads`` (path, name, src), ``hidden`` (path), ``delete`` (path).
Prints {path: MFT record number} as JSON.
"""

from __future__ import annotations

import ctypes
import json
import os
import sys
from typing import Any

AT_DATA = 0x80
S_IFDIR, S_IFREG = 0o040000, 0o100000
FILE_ATTR_HIDDEN = 0x2
LIB = ctypes.CDLL("libntfs-3g.so.89", use_errno=True)
P = ctypes.c_void_p
for fname, res, args in (
    ("ntfs_mount", P, [ctypes.c_char_p, ctypes.c_ulong]),
    ("ntfs_umount", ctypes.c_int, [P, ctypes.c_int]),
    ("ntfs_pathname_to_inode", P, [P, P, ctypes.c_char_p]),
    ("ntfs_create", P, [P, ctypes.c_uint32, ctypes.c_char_p, ctypes.c_uint8, ctypes.c_uint32]),
    ("ntfs_inode_close", ctypes.c_int, [P]),
    ("ntfs_inode_close_in_dir", ctypes.c_int, [P, P]),
    ("ntfs_attr_open", P, [P, ctypes.c_uint32, P, ctypes.c_uint32]),
    ("ntfs_attr_pwrite", ctypes.c_int64, [P, ctypes.c_int64, ctypes.c_int64, ctypes.c_char_p]),
    ("ntfs_attr_close", None, [P]),
    ("ntfs_attr_add", ctypes.c_int, [P, ctypes.c_uint32, ctypes.c_char_p, ctypes.c_uint8, ctypes.c_char_p,
                                     ctypes.c_int64]),
    ("ntfs_set_ntfs_attrib", ctypes.c_int, [P, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_int]),
    ("ntfs_delete", ctypes.c_int, [P, ctypes.c_char_p, P, P, ctypes.c_char_p, ctypes.c_uint8]),
):
    func = getattr(LIB, fname)
    func.restype, func.argtypes = res, args


AT_UNNAMED = ctypes.c_uint16.in_dll(LIB, "AT_UNNAMED")


def fail(what: str) -> None:
    err = ctypes.get_errno()
    sys.exit(f"ntfs_writer: {what}: {os.strerror(err) if err else 'failed'}")


def uname(name: str) -> tuple[bytes, int]:
    raw = name.encode("utf-16-le")
    return raw, len(raw) // 2


def lookup(vol: int, path: str) -> int:
    ni = LIB.ntfs_pathname_to_inode(vol, None, path.encode())
    if not ni:
        fail(f"lookup {path}")
    return ni


def create(vol: int, path: str, mode: int, data: bytes | None) -> int:
    parent, _, name = path.rpartition("/")
    dir_ni = lookup(vol, parent or "/")
    raw, length = uname(name)
    ni = LIB.ntfs_create(dir_ni, 0, raw, length, mode)
    if not ni:
        fail(f"create {path}")
    mft_no = ctypes.c_uint64.from_address(ni).value
    if data:
        na = LIB.ntfs_attr_open(ni, AT_DATA, ctypes.addressof(AT_UNNAMED), 0)
        if not na or LIB.ntfs_attr_pwrite(na, 0, len(data), data) != len(data):
            fail(f"write {path}")
        LIB.ntfs_attr_close(na)
    LIB.ntfs_inode_close_in_dir(ni, dir_ni)
    LIB.ntfs_inode_close(dir_ni)
    return mft_no


def add_stream(vol: int, path: str, stream: str, data: bytes) -> None:
    ni = lookup(vol, path)
    raw, length = uname(stream)
    if LIB.ntfs_attr_add(ni, AT_DATA, raw, length, data, len(data)):
        fail(f"add stream {path}:{stream}")
    LIB.ntfs_inode_close(ni)


def set_hidden(vol: int, path: str) -> None:
    ni = lookup(vol, path)
    value = (0x20 | FILE_ATTR_HIDDEN).to_bytes(4, "little")
    if LIB.ntfs_set_ntfs_attrib(ni, value, 4, 0):
        fail(f"set hidden {path}")
    LIB.ntfs_inode_close(ni)


def delete(vol: int, path: str) -> None:
    parent, _, name = path.rpartition("/")
    dir_ni, ni = lookup(vol, parent or "/"), lookup(vol, path)
    raw, length = uname(name)
    if LIB.ntfs_delete(vol, path.encode(), ni, dir_ni, raw, length):
        fail(f"delete {path}")
    LIB.ntfs_inode_close(dir_ni)


def step(vol: int, item: dict[str, Any], records: dict[str, int]) -> None:
    os.environ["FAKETIME"] = item["time"]
    op, path = item["op"], item["path"]
    data = b""
    if "src" in item:
        with open(item["src"], "rb") as fh:
            data = fh.read()
    if op == "mkdir":
        records[path] = create(vol, path, S_IFDIR, None)
    elif op == "file":
        records[path] = create(vol, path, S_IFREG, data)
    elif op == "ads":
        add_stream(vol, path, item["name"], data)
    elif op == "hidden":
        set_hidden(vol, path)
    elif op == "delete":
        delete(vol, path)
    else:
        sys.exit(f"ntfs_writer: unknown step {op}")


def main(image: str, plan_path: str) -> None:
    with open(plan_path) as fh:
        plan = json.load(fh)
    os.environ["FAKETIME"] = plan[0]["time"]
    vol = LIB.ntfs_mount(image.encode(), 0)
    if not vol:
        fail(f"mount {image}")
    records: dict[str, int] = {}
    for item in plan:
        step(vol, item, records)
    os.environ["FAKETIME"] = plan[-1]["time"]
    if LIB.ntfs_umount(vol, 0):
        fail(f"unmount {image}")
    print(json.dumps(records, sort_keys=True))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
