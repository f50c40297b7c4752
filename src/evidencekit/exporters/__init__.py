"""Exporters: file listings (JSONL, CSV, bodyfile), timelines (CSV, JSONL, bodyfile, Timesketch),
the custody bundle, CASE/UCO and SOP checklist views. Each format is registered in ``plugin.py``;
a recorded export writes through the case's run context so the ledger carries its hash."""
