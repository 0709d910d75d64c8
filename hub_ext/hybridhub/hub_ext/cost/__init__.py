"""Cost: the reference cost model, measured node-hours, attribution and the budget check.

Pure modules (no I/O, no JupyterHub, no Kubernetes): :mod:`.money`, :mod:`.model`, :mod:`.ledger`,
:mod:`.attribution`, :mod:`.budget`, :mod:`.recorder`.  I/O lives in :mod:`.estimate` (YAML in,
text/JSON out), :mod:`.store` (atomic JSON file) and :mod:`.cli`.  See ``docs/cost.md``.
"""
