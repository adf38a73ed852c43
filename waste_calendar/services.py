"""Writes of the Abfallkalender and the hook for the reminder side.

``collections_changed`` is sent after an import's (or a re-planning's) transaction committed, once per run
that moved, cancelled or added collections compared with the data before, with
``changes=[CollectionChange, …]`` (``select_related`` district and waste type) and ``import_run``. The same
changes stay queryable as ``CollectionChange`` rows, so a receiver that failed can catch up.
"""

from __future__ import annotations

from django.dispatch import Signal

# Arguments: changes (list[CollectionChange]), import_run (ImportRun).
collections_changed = Signal()
