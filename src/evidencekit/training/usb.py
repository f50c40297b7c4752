"""Scenario usb-data-theft: a FAT32 stick with copied company files, one deleted, one hidden."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from evidencekit.training import artifacts, fat
from evidencekit.training.tools import epoch, gzip_file, require, run

NAME = "usb-data-theft"
TOOLS = ("faketime", "mkfs.fat", "mmd", "mcopy", "mdel", "mattrib")
FORMATTED = "2021-03-02 10:15:00"
SIZE_KIB = 34 * 1024  # FAT32 needs >= 65525 clusters: 34 MiB with 512-byte clusters
CLIENTS = "\n".join(f"C-{1000 + i},Client {i:03d} GmbH,{['Berlin', 'Hamburg', 'Riga', 'Tallinn'][i % 4]},"
                    f"buyer{i}@client{i:03d}.example" for i in range(60))
PRICING = "\n".join(f"SKU-{4000 + i},Pallet route {i},{120 + 7 * i}.50,{95 + 5 * i}.00,Q3" for i in range(40))


def _files() -> list[dict[str, Any]]:
    """Every file copied to the stick: path, content, created / modified / accessed (UTC)."""
    offer = ("Contoso Freight Ltd\nHR department\n\nDear Mr Volkov,\nwe are pleased to offer you the "
             "position of Head of Pricing starting 1 July 2021. Please bring the materials we discussed.\n")
    return [
        {"path": "/Projects/Q3_Pricing_Model.csv", "data": ("sku,route,list_eur,floor_eur,quarter\n" + PRICING).encode(),
         "created": "2021-06-14 18:02:33.47", "modified": "2021-05-28 16:20:14", "accessed": "2021-06-14"},
        {"path": "/Projects/Client_List_2021.csv", "data": ("id,name,city,email\n" + CLIENTS).encode(),
         "created": "2021-06-14 18:02:35.12", "modified": "2021-06-02 11:05:40", "accessed": "2021-06-14"},
        {"path": "/Projects/Supplier_Contracts.txt",
         "data": b"Supplier framework contracts 2021 (confidential)\nBaltic Haulage: 3 years, 4.1% rebate\n",
         "created": "2021-06-14 18:02:36.90", "modified": "2021-04-19 09:31:02", "accessed": "2021-06-14"},
        {"path": "/Projects/Merger_Plan_Draft.docx",
         "data": artifacts.docx(["STRICTLY CONFIDENTIAL", "Project Lighthouse: acquisition of Baltic Haulage",
                                 "Target close: 30 September 2021"]),
         "created": "2021-06-14 18:03:01.05", "modified": "2021-06-10 15:44:58", "accessed": "2021-06-14",
         "deleted": True},
        {"path": "/Personal/vacation_photo.txt",
         "data": artifacts.jpeg("Canon", "Canon EOS 80D", "2021:05:09 12:14:55"),
         "created": "2021-06-14 18:04:12.60", "modified": "2021-05-09 12:14:56", "accessed": "2021-06-14"},
        {"path": "/Personal/offer_letter.txt", "data": offer.encode(), "hidden": True,
         "created": "2021-06-14 18:04:40.33", "modified": "2021-06-11 08:12:30", "accessed": "2021-06-14"},
        {"path": "/Personal/CV_A_Volkov.txt",
         "data": b"Alexei Volkov\nPricing analyst, Northwind Logistics, 2016-2021\n",
         "created": "2021-06-14 18:04:41.00", "modified": "2021-03-22 19:40:16", "accessed": "2021-06-14"},
    ]


def _system_volume_information(img: Path, src: Path) -> None:
    """What Windows leaves on every stick it mounts: a hidden, system folder with two files."""
    svi, when = "/System Volume Information", "2021-03-02 10:16:40"
    run(["mmd", "-i", img, "::" + svi], fake=when)
    guid = "{5eed5eed-0b0b-4c3a-9f21-5a17c0de0001}".encode("utf-16-le") + b"\0\0"
    for name, data in (("WPSettings.dat", bytes.fromhex("0c000000a2b1c0de00000000")), ("IndexerVolumeGuid", guid)):
        local = src / name
        local.write_bytes(data)
        os.utime(local, ns=(_ns(when), _ns(when)))
        run(["mcopy", "-i", img, "-m", local, f"::{svi}/{name}"], fake=when)
    run(["mattrib", "-i", img, "+h", "+s", "::" + svi], fake=when)


def _ns(text: str) -> int:
    whole, _, frac = text.partition(".")
    if len(whole) == 10:
        whole += " 00:00:00"
    return epoch(whole) * 10**9 + int(frac.ljust(9, "0")) if frac else epoch(whole) * 10**9


def build(work: Path, out: Path) -> dict[str, Any]:
    """Build usb.img.gz into ``out``; return the answers the image holds."""
    require(TOOLS)
    img, src = work / "usb.img", work / "src"
    src.mkdir()
    run(["mkfs.fat", "-C", "-F", "32", "-S", "512", "-s", "1", "-h", "0", "-i", "5A17C0DE",
         "-n", "KINGSTON", img, str(SIZE_KIB)], fake=FORMATTED)
    _system_volume_information(img, src)
    for folder in ("/Projects", "/Personal"):
        run(["mmd", "-i", img, "::" + folder], fake="2021-06-14 18:02:30")
    files = _files()
    for i, spec in enumerate(files):
        local = src / f"f{i}"
        local.write_bytes(spec["data"])
        os.utime(local, ns=(_ns(spec["modified"]), _ns(spec["modified"])))
        run(["mcopy", "-i", img, "-m", local, "::" + spec["path"]], fake=spec["created"][:19])
        fat.set_times(img, spec["path"], _ns(spec["created"]), _ns(spec["modified"]), _ns(spec["accessed"]))
        if spec.get("hidden"):
            run(["mattrib", "-i", img, "+h", "::" + spec["path"]], fake=spec["created"][:19])
    for spec in files:
        if spec.get("deleted"):
            run(["mdel", "-i", img, "::" + spec["path"]], fake="2021-06-14 21:47:10")
    gzip_file(img, out / "usb.img.gz")
    return _facts(files)


def _facts(files: list[dict[str, Any]]) -> dict[str, Any]:
    by = {f["path"]: f for f in files}
    deleted = next(f for f in files if f.get("deleted"))
    pricing = by["/Projects/Q3_Pricing_Model.csv"]
    return {
        "label": "KINGSTON",
        "projects_count": sum(1 for f in files if f["path"].startswith("/Projects/") and not f.get("deleted")),
        "deleted_path": deleted["path"],
        "deleted_sha256": hashlib.sha256(deleted["data"]).hexdigest(),
        "jpeg_path": "/Personal/vacation_photo.txt",
        "camera_model": "Canon EOS 80D",
        "pricing_created": pricing["created"].replace(" ", "T") + "Z",
        "pricing_modified": pricing["modified"].replace(" ", "T") + "Z",
        "hidden_company": "Contoso Freight",
    }
