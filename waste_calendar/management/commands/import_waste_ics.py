"""Imports EUV-style ICS feeds: one feed per address, listed in a manifest with the address it belongs to.

The manifest is a CSV (``strasse;plz;stadtteil;hausnummer;ics``); ``ics`` is a file (relative to the
manifest) or an ``https://``/``webcal://`` link. A JSON mapping file turns the events' SUMMARY into waste
type keys. Addresses whose feeds carry the same dates for a type share a district
(``waste_calendar.services``).
All or nothing: every feed is read and checked first; any problem (listed with file and line) leaves the
database unchanged. Idempotent; a re-import marks moved and cancelled dates.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from casapp.city import STADTTEILE
from waste_calendar.ics import SummaryMapping, feed_dates, feed_read
from waste_calendar.import_data import AddressKey, HouseNumber, ImportData, checksum_of, house_number_read
from waste_calendar.management.commands._reporting import add_confirm_argument, held, refuse, run_summary
from waste_calendar.management.commands.import_waste_csv import iso_date
from waste_calendar.models import DistrictSource, ImportKind, ImportStatus, WasteType
from waste_calendar.progress import ProgressBar
from waste_calendar.services import import_apply
from waste_calendar.tables import table_rows

MANIFEST_COLUMNS = {
    "street": ("street", "strasse", "straße"),
    "postcode": ("postcode", "plz"),
    "stadtteil": ("stadtteil", "ortsteil"),
    "house_number": ("house_number", "hausnummer", "hnr"),
    "ics": ("ics", "url", "feed", "datei", "file"),
}


class Command(BaseCommand):
    help = "Imports one ICS feed per address (files or https/webcal links listed in a CSV manifest)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("manifest", type=Path, help="CSV: strasse;plz;stadtteil;hausnummer;ics")
        parser.add_argument(
            "--mapping", type=Path, required=True, help='JSON: {"Abfuhr Restabfall": "restabfall", …}'
        )
        parser.add_argument("--valid-from", type=iso_date, help="districts apply from (default: first date)")
        parser.add_argument(
            "--from", dest="window_from", type=iso_date, help="expand recurrences from this day"
        )
        parser.add_argument("--until", dest="window_until", type=iso_date, help="… up to this day")
        parser.add_argument(
            "--webcal-scheme",
            choices=["https", "http"],
            default="https",
            help="what webcal:// links are fetched with (http only for a test server)",
        )
        parser.add_argument("--dry-run", action="store_true", help="check and report, write nothing")
        add_confirm_argument(parser)
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args: Any, **options: Any) -> None:  # noqa: PLR0912, PLR0915 - checks in a row
        started_at = timezone.now()
        today = timezone.localdate()
        manifest: Path = options["manifest"]
        source = f"{manifest} (mapping {options['mapping']})"
        problems: list[str] = []
        try:
            mapping = SummaryMapping.from_file(options["mapping"])
        except ValueError as exc:
            raise refuse(
                kind=ImportKind.ICS, source=source, checksum="", problems=[str(exc)], started_at=started_at
            ) from exc
        known_types = set(WasteType.objects.values_list("key", flat=True))
        problems.extend(
            f"{options['mapping']}: {summary!r} maps to unknown waste type {type_key!r}"
            for summary, type_key in mapping.types.items()
            if type_key is not None and type_key not in known_types
        )
        lazy_rows, manifest_raw = table_rows(
            manifest, MANIFEST_COLUMNS, ("street", "house_number", "ics"), problems
        )
        rows = list(lazy_rows)
        window = None
        if options["window_from"] or options["window_until"]:
            if not (options["window_from"] and options["window_until"]):
                problems.append("--from and --until go together")
            elif options["window_from"] > options["window_until"]:
                problems.append("--from is after --until")
            else:
                window = (options["window_from"], options["window_until"])

        groups: dict[tuple[AddressKey, str], frozenset[dt.date]] = {}
        streets: dict[tuple[str, str], str] = {}
        house_numbers: dict[AddressKey, HouseNumber] = {}
        bodies: list[bytes] = [manifest_raw, options["mapping"].read_bytes()]
        first_line: dict[AddressKey, int] = {}
        progress = ProgressBar(self.stderr, "feeds", enabled=not options["no_progress"])
        for done, (line, row) in enumerate(rows, start=1):
            where = f"{manifest} line {line}"
            name = " ".join(row["street"].split())
            postcode, stadtteil = row.get("postcode", ""), row.get("stadtteil", "")
            if not name or len(name) > 120:
                problems.append(f"{where}: the street name must be 1-120 characters")
                continue
            if postcode and not (postcode.isdigit() and len(postcode) == 5):
                problems.append(f"{where}: postcode {postcode!r} is not five digits")
            if stadtteil and stadtteil not in STADTTEILE:
                problems.append(f"{where}: {stadtteil!r} is not a Stadtteil")
            try:
                number = house_number_read(row["house_number"])
            except ValueError as exc:
                problems.append(f"{where}: {exc}")
                continue
            address = AddressKey(street=name, postcode=postcode, house_number_key=number.key)
            if address in first_line:
                problems.append(f"{where}: {name} {number.display} is already on line {first_line[address]}")
                continue
            first_line[address] = line
            try:
                body = feed_read(row["ics"], base_dir=manifest.parent, webcal_scheme=options["webcal_scheme"])
            except ValueError as exc:
                problems.append(f"{where}: {exc}")
                continue
            bodies.append(body)
            feed = feed_dates(body, mapping=mapping, label=row["ics"], window=window)
            problems.extend(feed.problems)
            if not feed.problems and not feed.dates:
                problems.append(f"{where}: the feed {row['ics']} holds no collection dates")
            elif not feed.problems and max(max(dates) for dates in feed.dates.values()) < today:
                # A stale or wrongly expanded feed would only cancel the dates still to come.
                problems.append(
                    f"{where}: the feed {row['ics']} holds no collection date from today "
                    f"({today:%d.%m.%Y}) on"
                )
            streets[(name, postcode)] = stadtteil or streets.get((name, postcode), "")
            house_numbers[address] = number
            for type_key, dates in feed.dates.items():
                groups[(address, type_key)] = frozenset(dates)
            progress(done, len(rows))
        if problems:
            raise refuse(
                kind=ImportKind.ICS, source=source, checksum="", problems=problems, started_at=started_at
            )
        first_date = min(min(dates) for dates in groups.values())
        if options["dry_run"]:
            by_type = Counter(type_key for _address, type_key in groups)
            self.stdout.write(
                f"Dry run, nothing written: {len(house_numbers)} address(es), "
                + ", ".join(f"{type_key} {count}" for type_key, count in sorted(by_type.items()))
                + " feed(s) by type are fine."
            )
            return
        data = ImportData(
            kind=ImportKind.ICS,
            source=source,
            checksum=checksum_of(*bodies, str(options["valid_from"]).encode(), str(window).encode()),
            valid_from=options["valid_from"] or first_date,
            district_source=DistrictSource.ICS,
            streets=streets,
            house_numbers=house_numbers,
            # With --from/--until the feeds speak for that period: a stored date in it they no longer list
            # is cancelled, or moved when a new one is near. Without, each district is compared within its
            # new first to last date only (feeds may end at different days).
            span=window,
        )
        run = import_apply(
            data=data,
            started_at=started_at,
            progress=ProgressBar(self.stderr, "districts", enabled=not options["no_progress"]),
            ics_groups=groups,
            hold_implausible=not options["confirm"],
        )
        if run.status == ImportStatus.HELD:
            raise held(run)
        self.stdout.write(self.style.SUCCESS(run_summary(run)))
