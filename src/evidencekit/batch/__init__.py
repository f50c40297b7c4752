"""Batch processing of seized media: a manifest of cases and exhibits, run on a local process
pool or a Dask cluster. Workers compute (open, hash, list); the coordinator alone writes the
case databases and signs the ledger entries. See docs/batch.md."""
