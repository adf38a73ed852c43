"""What the waste import commands share: refusing bad input with every problem, and the run's summary."""

from __future__ import annotations

import datetime as dt

from django.core.management.base import CommandError, CommandParser

from waste_calendar.models import ImportRun, ImportStatus
from waste_calendar.plausibility import review_reason_text
from waste_calendar.services import import_run_fail

MAX_LISTED_PROBLEMS = 200
# The exit status of an import held for review: neither done (0) nor refused (1).
EXIT_HELD = 3


def add_confirm_argument(parser: CommandParser) -> None:
    parser.add_argument(
        "--confirm",
        action="store_true",
        help="apply even an import that would cancel or move more than WASTE_IMPORT_REVIEW_SHARE of a "
        "district's future collections or leave a waste type without any (else it is held for review)",
    )


def held(run: ImportRun) -> CommandError:
    """The error of an import held for review: why, and what the operator can do."""
    reasons = run.review.get("reasons", [])
    listed = reasons[:MAX_LISTED_PROBLEMS]
    more = len(reasons) - len(listed)
    return CommandError(
        f"Held for review (run {run.pk}), nothing was applied or announced: the import would cancel or "
        f"move more than {run.review.get('share_limit', 0):.0%} of a district's future collections or "
        "remove a waste type:\n"
        + "\n".join(f"  {review_reason_text(reason)}" for reason in listed)
        + (f"\n  … and {more} more" if more else "")
        + "\nAn Administration user confirms or discards it in the workspace (Abfallkalender > import "
        "history, status 'to be reviewed'); or run the import again with --confirm if you mean it.",
        returncode=EXIT_HELD,
    )


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
