"""Plans collection years from the districts' rules and shifts collections off public holidays.

Rules come from the database (``PlanRule``, editable in the admin) or a JSON rules file that replaces the
rules of the districts it lists (format in docs/waste.md). Holidays: NRW (``holidays``, subdivision NW) and
local days (``--local-day 12-24:before``); the shift rule is ``cascade`` (EUV), ``next-working-day`` or
``previous-working-day`` (``waste_calendar.planning``).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from waste_calendar.management.commands._reporting import refuse, run_summary
from waste_calendar.models import ImportKind, PlanRule, WasteType
from waste_calendar.planning import SHIFT_RULES, ShiftPolicy, local_days_read, rules_file_read
from waste_calendar.progress import ProgressBar
from waste_calendar.services import plan_rules_replace, waste_year_plan

MIN_YEAR, MAX_YEAR = 2000, 2100


class Command(BaseCommand):
    help = "Plans collection years from rules (weekday, every n weeks) with NRW holiday shifts."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("years", nargs="+", type=int, help="e.g. 2026 2027")
        parser.add_argument(
            "--rules", type=Path, help="JSON rules file (replaces the rules of its districts)"
        )
        parser.add_argument(
            "--shift-rule", choices=SHIFT_RULES, help="overrides the rules file (default cascade)"
        )
        parser.add_argument(
            "--local-day",
            action="append",
            default=None,
            metavar="MM-DD[:before|after|cascade]",
            help="a local day without collection; repeatable; replaces the default 12-24:before",
        )
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args: Any, **options: Any) -> None:
        started_at = timezone.now()
        years: list[int] = options["years"]
        source = f"plan {' '.join(map(str, years))}" + (
            f" with {options['rules']}" if options["rules"] else ""
        )
        problems = [
            f"year {year} is not between {MIN_YEAR} and {MAX_YEAR}"
            for year in years
            if not MIN_YEAR <= year <= MAX_YEAR
        ]
        policy = ShiftPolicy()
        rules_file = None
        if options["rules"]:
            rules_file, file_problems = rules_file_read(
                options["rules"], known_types=set(WasteType.objects.values_list("key", flat=True))
            )
            problems.extend(file_problems)
            if rules_file is not None:
                policy = rules_file.policy
        local_days = policy.local_days
        if options["local_day"] is not None:
            local_days = local_days_read(options["local_day"], problems, "--local-day")
        if problems:
            raise refuse(
                kind=ImportKind.PLAN, source=source, checksum="", problems=problems, started_at=started_at
            )
        policy = ShiftPolicy(rule=options["shift_rule"] or policy.rule, local_days=local_days)
        if rules_file is not None:
            plan_rules_replace(rules_file=rules_file, valid_from=dt.date(min(years), 1, 1))
        if not PlanRule.objects.exists():
            raise CommandError("No planning rules: give a --rules file or enter rules in the admin.")
        for year in sorted(set(years)):
            run = waste_year_plan(
                year=year,
                policy=policy,
                source=f"{source}: {year}",
                progress=ProgressBar(self.stderr, f"plan {year}", enabled=not options["no_progress"]),
            )
            self.stdout.write(self.style.SUCCESS(f"{year}: {run_summary(run)}"))
