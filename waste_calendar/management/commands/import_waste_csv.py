"""Imports the waste company's tables: streets with house number ranges per district, and district dates.

All or nothing: both files are checked completely first; any problem (listed with file and line) leaves the
database unchanged. Idempotent; re-imports mark moved and cancelled dates (see ``waste_calendar.services``).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from waste_calendar.management.commands._reporting import add_confirm_argument, held, refuse, run_summary
from waste_calendar.models import ImportKind, ImportStatus, WasteType
from waste_calendar.progress import ProgressBar
from waste_calendar.services import import_apply
from waste_calendar.tables import tables_read


def iso_date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"{value!r} is not a date (YYYY-MM-DD)") from exc


class Command(BaseCommand):
    help = (
        "Imports the waste company's street table (street, house numbers, parity, type, district) and the "
        "district dates (type, district, date). All or nothing; idempotent."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "streets", type=Path, help="CSV: strasse;plz;stadtteil;hausnummern;paritaet;fraktion;tour"
        )
        parser.add_argument("dates", type=Path, help="CSV: fraktion;tour;datum")
        parser.add_argument(
            "--valid-from",
            type=iso_date,
            help="the day the street table's districts apply from (default: the first date of the dates)",
        )
        parser.add_argument("--dry-run", action="store_true", help="check and report, write nothing")
        add_confirm_argument(parser)
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args: Any, **options: Any) -> None:
        started_at = timezone.now()
        known_types = set(WasteType.objects.values_list("key", flat=True))
        data, problems = tables_read(
            streets_path=options["streets"],
            dates_path=options["dates"],
            known_types=known_types,
            valid_from=options["valid_from"],
        )
        source = f"{options['streets']} + {options['dates']}"
        if data is None:
            raise refuse(
                kind=ImportKind.CSV, source=source, checksum="", problems=problems, started_at=started_at
            )
        if options["dry_run"]:
            self.stdout.write(
                f"Dry run, nothing written: {len(data.house_numbers)} location(s), "
                f"{len(data.collections)} district(s), "
                f"{sum(len(dates) for dates in data.collections.values())} date(s) are fine."
            )
            return
        data.source = source
        run = import_apply(
            data=data,
            started_at=started_at,
            progress=ProgressBar(self.stderr, "districts", enabled=not options["no_progress"]),
            hold_implausible=not options["confirm"],
        )
        if run.status == ImportStatus.HELD:
            raise held(run)
        self.stdout.write(self.style.SUCCESS(run_summary(run)))
