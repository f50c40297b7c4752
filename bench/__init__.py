"""Benchmarks against named peers (The Sleuth Kit, hashdeep, yara, plaso). Run with `make bench`.

Each module in this package that defines ``run(work: pathlib.Path) -> list[str]`` is a benchmark;
it prints medians and ratios of alternated runs. Shared synthetic evidence comes from ``bench.images``.
"""
