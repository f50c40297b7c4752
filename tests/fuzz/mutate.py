"""Seeded mutations of evidence images: bit flips, truncations, zeroed sectors, header fields.

Every mutation is a pure function of the seed image's bytes and a case key ("image.E01:17"),
so a failure is reproduced from its key alone:

    python tests/fuzz/mutate.py SEED_IMAGE 'image.E01:17' -o /tmp/case.E01

The description of a case lists the operations it applied (offsets and values) as well.
"""

from __future__ import annotations

import argparse
import random
import struct
from dataclasses import dataclass
from pathlib import Path

SECTOR = 512
KINDS = ("flip", "truncate", "zero", "field", "field", "mixed")  # header fields count twice
# Where metadata lives in the seeds: container headers at 0, MBR/GPT at 0 and 512, the ext and HFS+
# superblocks at 1024, ISO9660 descriptors at 32 KiB, zip/tar structures near the end (see ends).
HOT_OFFSETS = (0, 8, 16, 20, 24, 28, 32, 40, 48, 64, 72, 80, 96, 446, 454, 458, 462, 510, 512, 520, 528, 552,
               1024, 1028, 1032, 1048, 1052, 1080, 1112, 1024 + 88, 32768, 32768 + 80, 32768 + 128, 32768 + 156)
EXTREMES = {1: (0, 0xFF, 0x7F, 0x80), 2: (0, 0xFFFF, 0x7FFF, 0x8000),
            4: (0, 0xFFFFFFFF, 0x7FFFFFFF, 0x80000000, 1),
            8: (0, 0xFFFFFFFFFFFFFFFF, 0x7FFFFFFFFFFFFFFF, 1 << 40)}


@dataclass(frozen=True)
class Case:
    """One mutated input: its key, the bytes, and what was done to the seed."""

    key: str
    data: bytes
    description: str


def mutate(seed: bytes, key: str) -> Case:
    """The mutation ``key`` names (any text; by convention ``<seed name>:<number>``)."""
    rng = random.Random(key)
    data = bytearray(seed)
    kind = rng.choice(KINDS)
    ops: list[str] = []
    for step in (rng.sample(["flip", "zero", "field"], 2) if kind == "mixed" else [kind]):
        _APPLY[step](rng, data, ops)
    return Case(key, bytes(data), f"{kind}: {'; '.join(ops)}")


def _offset(rng: random.Random, data: bytearray, width: int = 1) -> int:
    """Mostly where headers are (the start, the hot offsets, the last 64 KiB), sometimes anywhere."""
    size = len(data)
    roll = rng.random()
    if roll < 0.35:
        at = rng.choice(HOT_OFFSETS) + rng.choice((0, 0, 2, 4))
    elif roll < 0.6:
        at = rng.randrange(min(size, 4096))
    elif roll < 0.8:
        at = size - 1 - rng.randrange(min(size, 65536))  # zip central directory, tar end, VHD footer
    else:
        at = rng.randrange(size)
    return max(0, min(at, size - width))


def _flip(rng: random.Random, data: bytearray, ops: list[str]) -> None:
    for _ in range(rng.randint(1, 16)):
        at = _offset(rng, data)
        bit = rng.randrange(8)
        data[at] ^= 1 << bit
        ops.append(f"flip bit {bit} at {at}")


def _truncate(rng: random.Random, data: bytearray, ops: list[str]) -> None:
    size = len(data)
    cut = rng.choice((rng.randrange(size), (rng.randrange(size) // SECTOR) * SECTOR, size - rng.randint(1, 64),
                      rng.randrange(min(size, 4096))))
    cut = max(1, cut)
    del data[cut:]
    ops.append(f"truncate to {cut} of {size} bytes")


def _zero(rng: random.Random, data: bytearray, ops: list[str]) -> None:
    for _ in range(rng.randint(1, 4)):
        start = (_offset(rng, data) // SECTOR) * SECTOR
        count = rng.randint(1, 8)
        end = min(len(data), start + count * SECTOR)
        data[start:end] = bytes(end - start)
        ops.append(f"zero bytes {start}-{end}")


def _field(rng: random.Random, data: bytearray, ops: list[str]) -> None:
    for _ in range(rng.randint(1, 3)):
        width = rng.choice((1, 2, 4, 4, 8))
        if len(data) < width:
            return
        at = _offset(rng, data, width)
        at -= at % width if rng.random() < 0.7 else 0
        value = rng.choice(EXTREMES[width]) if rng.random() < 0.8 else rng.getrandbits(8 * width)
        order = rng.choice("<>")
        data[at:at + width] = struct.pack(order + {1: "B", 2: "H", 4: "I", 8: "Q"}[width], value)
        ops.append(f"set {width}-byte field at {at} to {value:#x} ({'little' if order == '<' else 'big'}-endian)")


_APPLY = {"flip": _flip, "truncate": _truncate, "zero": _zero, "field": _field}


def main() -> None:
    parser = argparse.ArgumentParser(description="Write one fuzz case again from its seed image and key.")
    parser.add_argument("seed", type=Path, help="the seed image (decompressed, as the fuzz stage uses it)")
    parser.add_argument("key", help="the case key, e.g. 'image.E01:17'")
    parser.add_argument("-o", "--output", type=Path, required=True)
    args = parser.parse_args()
    case = mutate(args.seed.read_bytes(), args.key)
    args.output.write_bytes(case.data)
    print(case.description)


if __name__ == "__main__":
    main()
