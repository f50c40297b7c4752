"""The case store and the custody ledger.

``Case.init`` / ``Case.open`` give a case; ``case.run(...)`` records results and their signed
ledger entry in one transaction; :mod:`evidencekit.case.examiners` holds examiner keys;
:mod:`evidencekit.case.chain_check` checks a case or a custody bundle.
"""

from __future__ import annotations

from evidencekit.case.store import Case, Exhibit, Run

__all__ = ["Case", "Exhibit", "Run"]
