"""Content analysis of inventoried files.

- :mod:`~evidencekit.scan.magic`: libmagic type and MIME, extension-mismatch table
- :mod:`~evidencekit.scan.yara`: rule compilation, whole-file and chunked scanning
- :mod:`~evidencekit.scan.engine`: one read pass over evidence running both
- :mod:`~evidencekit.scan.hashlists` / :mod:`~evidencekit.scan.hashsets`: hash list readers, the store
- :mod:`~evidencekit.scan.results` / :mod:`~evidencekit.scan.hashcheck`: results in a case, ledger entries
- :mod:`~evidencekit.scan.filters`: ``case files`` options and their SQL
"""
