"""`evidencekit info` and `evidencekit files`: what a piece of evidence is, and everything in it."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict
from typing import Any

import click

from evidencekit.cli.common import (
    archive_option,
    credential_options,
    is_terminal,
    name_encoding_option,
    note,
    open_from_cli,
    progress_bar,
    source_tz_option,
    tz_option,
)
from evidencekit.cli.lang import _, n_
from evidencekit.errors import ValidationError
from evidencekit.exporters.files import FILE_FORMATS, Renderer
from evidencekit.hashing import DEFAULT_FILE_HASHES, parse_hash_list
from evidencekit.inventory.listing import expected_entries
from evidencekit.inventory.parallel import default_jobs, segments
from evidencekit.textout import escape_control


@click.command()
@click.argument("evidence", type=click.Path(exists=False))
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON instead of text.")
@name_encoding_option
@archive_option
@credential_options
def info(evidence: str, as_json: bool, name_encoding: str | None, as_archive: bool, password: str | None,
         recovery_key: str | None) -> None:
    """Show the format chain, media size, volumes, file systems, encryption and acquisition metadata.

    EVIDENCE is a disk image (raw, split, E01, VMDK, VHD, QCOW2, DMG, .gz), a zip or tar
    extraction, an extraction folder, an Android backup (.ab) or a Cellebrite UFDR. Nothing is
    written to it.
    """
    with open_from_cli(evidence, password, recovery_key, locked_ok=True, name_encoding=name_encoding,
                       as_archive=as_archive) as ev:
        data = {
            "path": ev.path, "kind": ev.kind, "format_chain": ev.format_chain, "media_size": ev.media_size,
            "segment_files": ev.segment_files, "volumes": [asdict(v) for v in ev.volumes],
            "acquisition": asdict(ev.acquisition) if ev.acquisition else None, "warnings": ev.warnings,
            "media_reader": getattr(ev, "media_reader", None), "device": ev.device,
        }
        if ev.devices:
            data["devices"] = ev.devices
        if ev.name_encoding:
            data["name_encoding"] = ev.name_encoding
        if as_json:
            click.echo(json.dumps(data, indent=2))
        else:
            _print_info(data)
        locked = [v.name or "(whole media)" for v in ev.volumes if v.locked]
        if locked:
            click.echo(f"evidencekit: note: encrypted and locked: {', '.join(locked)}; give --password or "
                       "--recovery-key to see inside", err=True)
        elif ev.unlocked_without_filesystem():
            click.echo(f"evidencekit: note: {ev.path}: {ev.unlocked_without_filesystem()}", err=True)
        else:
            ev.require_filesystems()


def _print_info(data: dict) -> None:
    click.echo(f"Evidence:      {data['path']}")
    click.echo(f"Kind:          {data['kind']}")
    click.echo(f"Format chain:  {' -> '.join(data['format_chain'])}")
    if data["media_size"] is not None:
        click.echo(f"Media size:    {data['media_size']:,} bytes")
    if data.get("name_encoding"):
        click.echo(f"Name encoding: {data['name_encoding']} (for names that are not UTF-8)")
    if data["media_reader"]:
        click.echo(f"Media reader:  {data['media_reader']}")
    if len(data["segment_files"]) > 1:
        click.echo(f"Segments:      {len(data['segment_files'])}")
        for seg in data["segment_files"]:
            click.echo(f"  {seg}")
    click.echo("Volumes:")
    click.echo(f"  {'name':<8} {'offset':>12} {'length':>14}  {'type':<28} {'file system':<12} {'label':<16} encryption")
    for v in data["volumes"]:
        enc = (v["encryption"] or "-") + (" (locked)" if v["locked"] else "")
        label = escape_control(v["fs_label"] or "-")  # written by whoever formatted the volume
        click.echo(f"  {v['name'] or '(whole)':<8} {_num(v['offset']):>12} {_num(v['length']):>14}  {v['type']:<28} "
                   f"{v['filesystem'] or '-':<12} {label:<16} {enc}")
        for key, value in (v.get("encryption_details") or {}).items():
            shown = ", ".join(value) if isinstance(value, list) else _num(value) if isinstance(value, int) else value
            shown = escape_control(shown) if isinstance(shown, str) else shown  # a BitLocker description is free text
            click.echo(f"    {key.replace('_', ' '):<20} {shown}")
    acq = data["acquisition"]
    if acq:
        click.echo("Acquisition metadata (stored in the container):")
        for key, value in acq.items():
            if key == "stored_hashes":
                for alg, digest in value.items():
                    click.echo(f"  stored {alg:<13} {digest}")
            elif value:  # E01 header fields: free text of the acquiring examiner's tool
                click.echo(f"  {key.replace('_', ' '):<20} {escape_control(str(value))}")
    if data["device"]:
        click.echo("Device (as the extraction states it):")
        for key, value in data["device"].items():
            click.echo(f"  {key.replace('_', ' '):<20} {escape_control(str(value))}")
    for volume, device in data.get("devices", {}).items():
        click.echo(f"Device of volume {escape_control(volume)}:")
        for key, value in device.items():
            click.echo(f"  {key.replace('_', ' '):<20} {escape_control(str(value))}")
    for warning in data["warnings"]:
        click.echo(f"Warning: {warning}", err=True)


def _num(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


@click.command()
@click.argument("evidence", type=click.Path(exists=False))
@click.option("--hash", "hash_names", default=",".join(DEFAULT_FILE_HASHES), show_default=True, metavar="ALGS",
              help="Comma-separated hashes of each file's content (md5, sha1, sha256), or 'none'.")
@click.option("--format", "fmt", type=click.Choice(FILE_FORMATS), default="jsonl", show_default=True,
              help="jsonl (one JSON object per entry), csv, bodyfile (TSK 3.x, for mactime and plaso) or "
                   "dfxml (as fiwalk writes it).")
@click.option("--excel", is_flag=True, help="CSV for Excel: UTF-8 with a byte order mark, ';' between fields, CRLF.")
@click.option("--volume", metavar="NAME", help="Only this volume (e.g. p2, vss1; '' for an unpartitioned one).")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), help="Write to FILE instead of stdout.")
@click.option("--jobs", "-j", type=click.IntRange(0, 64), default=0, show_default="0: one per core, up to 4",
              help="Worker processes for large file systems; the output is identical whatever the number.")
@tz_option
@name_encoding_option
@source_tz_option
@archive_option
@credential_options
def files(evidence: str, hash_names: str, fmt: str, excel: bool, volume: str | None, output: str | None, jobs: int,
          tz: str, name_encoding: str | None, source_tz: str | None, as_archive: bool, password: str | None,
          recovery_key: str | None) -> None:
    """List every entry with hashes and MACB times: deleted, orphaned and NTFS streams included.

    Times are ISO-8601 in UTC with the file system's full precision (FAT stores local time: its
    records name the zone it was read as). A read failure becomes a warning on that record; the
    listing goes on. A --volume the evidence does not have is an error naming those it has.
    """
    hashes = parse_hash_list(hash_names)
    with open_from_cli(evidence, password, recovery_key, name_encoding=name_encoding, source_tz=source_tz,
                       as_archive=as_archive) as ev:
        ev.require_filesystems()
        _check_volume(ev, volume)
        renderer = _dfxml_renderer(ev, volume) if fmt == "dfxml" else Renderer(fmt, tz, excel)
        out = open(output, "wb") if output else sys.stdout.buffer  # noqa: SIM115 - the renderer gives UTF-8 bytes
        count = 0
        try:
            out.write(renderer.header())
            # The total: the entries the file systems say are in use (ext inodes, NTFS MFT records);
            # FAT, exFAT, archives and folders do not say, and get a count without one. Deleted names
            # and streams can take the count past it: the total then follows the count.
            total = expected_entries(ev, volume) if is_terminal() else None
            with progress_bar(_("Listing"), total=total, unit="entries") as advance:
                for data, n in segments(ev, hashes, jobs or default_jobs(), volume, renderer, direct_to=out):
                    out.write(data)
                    count += n
                    advance.update(count, max(total, count) if total is not None else None)
            out.write(renderer.footer())
        except BaseException:
            if output:  # no half-written listing is left to pass for a whole one
                out.close()
                os.unlink(output)
            raise
        if output:
            out.close()
    for warning in ev.warnings:
        click.echo(_("evidencekit: warning: {warning}", warning=warning), err=True)
    if output:
        note(n_("{n} entry written to {path}", "{n} entries written to {path}", count, path=output))


def _check_volume(ev: Any, volume: str | None) -> None:
    names = [name for name, _reader in ev.readers()]
    if volume is not None and volume not in names:
        shown = ", ".join(repr(n) if n == "" else n for n in names) or "none"
        raise ValidationError("{path}: no volume {volume!r} with a file system; it has {shown}", path=ev.path,
                              volume=volume, shown=shown)


def _dfxml_renderer(ev: Any, volume: str | None) -> Renderer:
    import evidencekit
    from evidencekit.exporters.dfxml import DfxmlRenderer

    volumes = tuple(v for v in ev.volumes if v.filesystem and (volume is None or v.name == volume))
    return DfxmlRenderer(ev.path, volumes, evidencekit.__version__, " ".join(sys.argv))


COMMANDS = [info, files]
