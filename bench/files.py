"""`evidencekit files` against The Sleuth Kit and hashdeep on the synthetic ext4 image.

Targets (issue 2): listing with MD5+SHA256 in at most 0.6x the time of `fls -r -m / | mactime -d`
(which lists without hashing); peak memory that does not grow with the number of files.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from bench.images import ewf_image, ext4_image, source_tree
from bench.util import alternate, evidencekit, peak_rss_kib


def run(work: Path) -> list[str]:
    for tool, package in (("fls", "sleuthkit"), ("mactime", "sleuthkit"), ("hashdeep", "hashdeep")):
        if shutil.which(tool) is None:
            return [f"skipped: {tool} missing (apt-get install {package})"]
    image = ext4_image(work, 50_000)
    tree = source_tree(work, 50_000)
    ek = evidencekit()
    medians = alternate({
        "evidencekit files --hash md5,sha256": f"{ek} files --hash md5,sha256 {image} > /dev/null",
        "fls -r -m / | mactime -d": f"fls -r -m / {image} | mactime -d -b /dev/stdin > /dev/null",
        "hashdeep -c md5,sha256 -r tree": f"hashdeep -c md5,sha256 -r {tree} > /dev/null",
        "evidencekit files --hash none": f"{ek} files --hash none {image} > /dev/null",
    }, rounds=5)
    ours = medians["evidencekit files --hash md5,sha256"]
    lines = [f"  {name:<40} median {secs:7.2f} s" for name, secs in medians.items()]
    lines.append(f"  ratio files(md5+sha256) / (fls|mactime) = {ours / medians['fls -r -m / | mactime -d']:.2f}"
                 "  (target <= 0.60)")
    lines.append(f"  ratio files(md5+sha256) / hashdeep       = {ours / medians['hashdeep -c md5,sha256 -r tree']:.2f}")
    lines.append(f"  ratio files(no hash) / (fls|mactime)     = "
                 f"{medians['evidencekit files --hash none'] / medians['fls -r -m / | mactime -d']:.2f}")
    e01 = ewf_image(work, 50_000)
    ewf = alternate({
        "evidencekit files --hash md5,sha256 (E01)": f"{ek} files --hash md5,sha256 {e01} > /dev/null",
        "fls -r -m / | mactime -d (E01)": f"fls -r -m / {e01} | mactime -d -b /dev/stdin > /dev/null",
    }, rounds=3)
    lines += [f"  {name:<40} median {secs:7.2f} s" for name, secs in ewf.items()]
    lines.append(f"  ratio on the E01 = {ewf['evidencekit files --hash md5,sha256 (E01)'] / ewf['fls -r -m / | mactime -d (E01)']:.2f}"
                 "  (E01 media read through the system libewf)")
    small = peak_rss_kib([ek, "files", "--hash", "md5,sha256", str(image)])
    big_image = ext4_image(work, 200_000)
    big = peak_rss_kib([ek, "files", "--hash", "md5,sha256", str(big_image)])
    lines.append(f"  peak RSS: 50k files {small / 1024:.0f} MiB, 200k files {big / 1024:.0f} MiB "
                 f"(growth {big / small:.2f}x for 4x the files)")
    return lines
