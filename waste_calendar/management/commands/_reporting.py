"""What the waste import commands share: refusing bad input with every problem, and the run's summary."""

from __future__ import annotations

import datetime as dt

from django.core.management.base import CommandError

from waste_calendar.models import ImportRun, ImportStatus
from waste_calendar.services import import_run_fail

MAX_LISTED_PROBLEMS = 200


def refuse(
    *, kind: str, source: str, checksum: str, problems: list[str], started_at: dt.datetime
) -> CommandError:
    """Records the refused run and returns the error listing the problems (the first 200 of them)."""
    import_run_fail(kind=kind, source=source, checksum=checksum, problems=problems, started_at=started_at)
    listed = problems[:MAX_LISTED_PROBLEMS]
    more = len(problems) - len(listed)
    return CommandError(
        f"{len(problems)} problem(s), nothing was imported; the last good import stays in force:\n"
        + "\n".join(f"  {problem}" for problem in listed)
        + (f"\n  … and {more} more" if more else "")
    )


def run_summary(run: ImportRun) -> str:
    if run.status == ImportStatus.UNCHANGED:
        if "same_as" in run.summary:
            return f"Unchanged: the same input as the last good import (run {run.summary['same_as']})."
        return f"Unchanged (run {run.pk}): the input matches what is stored."
    counts = ", ".join(f"{key.replace('_', ' ')} {value}" for key, value in sorted(run.summary.items()))
    return f"Imported (run {run.pk}): {counts or 'nothing to do'}."
