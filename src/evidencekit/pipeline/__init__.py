"""The pipeline: the work that writes to a case.

Intake (``intake``), processing (``processing``: integrity gates and the inventory), content scans
(``scan``) and timeline builds (``timeline``) open a run context on the case (``case.run(...)``),
hand the analysis layers a connection or rows to store, and name every output; the results and the
signed ledger entry commit together. Analysis (``sources``, ``inventory``, ``verify``, ``scan``,
``timeline``) computes and never imports the case store: workers compute, one writer stores and
signs. See docs/architecture.md.
"""
