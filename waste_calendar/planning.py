"""Planning a collection year from rules, with the holiday shifts of the waste company.

A district is collected on a weekday every n weeks (``PlanRule``); a date that meets a public holiday of NRW
(the ``holidays`` library, subdivision NW) or a local day without collection moves following a shift rule:

- ``cascade`` (EUV Stadtbetrieb, the default): from a holiday on, every collection of that week moves one
  day later, Saturday being the catch-up day; a Friday after a holiday on Wednesday goes to Saturday. In the
  EUV sample, 2024-12-27 (after Christmas) became Saturday 2024-12-28 and 2025-01-03 (after New Year)
  Saturday 2025-01-04.
- ``next-working-day``: only the collection on the holiday moves, to the next working day (Mon-Sat).
- ``previous-working-day``: only the collection on the holiday moves, to the working day before.

Local days are given as ``MM-DD`` with their own direction: ``before`` (the collection comes a working day
earlier: EUV collected 2024-12-24's Tuesday on Monday 2024-12-23), ``after`` (a working day later) or
``cascade`` (treated like a public holiday). 31 December is not a local day for EUV: the sample has a
collection on Tuesday 2024-12-31.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

SHIFT_RULES = ("cascade", "next-working-day", "previous-working-day")
LOCAL_DAY_DIRECTIONS = ("before", "after", "cascade")
DEFAULT_SHIFT_RULE = "cascade"
# Heiligabend: EUV collects the day before.
DEFAULT_LOCAL_DAYS: dict[tuple[int, int], str] = {(12, 24): "before"}
LOCAL_DAY_NAMES = {(12, 24): "Heiligabend", (12, 31): "Silvester"}
WEEKDAYS = {
    "mo": 0,
    "mon": 0,
    "montag": 0,
    "monday": 0,
    "di": 1,
    "tue": 1,
    "dienstag": 1,
    "tuesday": 1,
    "mi": 2,
    "wed": 2,
    "mittwoch": 2,
    "wednesday": 2,
    "do": 3,
    "thu": 3,
    "donnerstag": 3,
    "thursday": 3,
    "fr": 4,
    "fri": 4,
    "freitag": 4,
    "friday": 4,
    "sa": 5,
    "sat": 5,
    "samstag": 5,
    "saturday": 5,
}
MAX_SHIFT_DAYS = 6


@cache
def _public_holidays(year: int) -> dict[dt.date, str]:
    # Imported on first use, not with the module: a push worker never plans a year and stays smaller.
    import holidays

    return {
        day: str(name)
        for day, name in holidays.country_holidays("DE", subdiv="NW", years=year, language="de").items()
    }


def holiday_name(day: dt.date) -> str:
    """The German name of a public holiday in NRW on ``day``, or ""."""
    return _public_holidays(day.year).get(day, "")


@dataclass(frozen=True)
class ShiftPolicy:
    rule: str = DEFAULT_SHIFT_RULE
    local_days: dict[tuple[int, int], str] = field(default_factory=lambda: dict(DEFAULT_LOCAL_DAYS))

    def free_day(self, day: dt.date) -> str | None:
        """Why there is no collection on ``day`` (a holiday's or local day's name), or None."""
        name = holiday_name(day)
        if name:
            return name
        if (day.month, day.day) in self.local_days:
            return LOCAL_DAY_NAMES.get((day.month, day.day), f"{day:%d.%m.}")
        return None

    def working(self, day: dt.date) -> bool:
        return day.weekday() != 6 and self.free_day(day) is None

    def shift(self, day: dt.date, taken: set[dt.date]) -> tuple[dt.date, str]:
        """Where a regular collection on ``day`` takes place, and why it moved ("" if it did not).

        ``taken``: days the district already collects on, so two collections never share a day.
        """
        local = self.local_days.get((day.month, day.day))
        reason = self.free_day(day)
        if local in ("before", "after") and reason:
            step = -1 if local == "before" else 1
            return self._walk(day + dt.timedelta(days=step), step, taken), reason
        if self.rule == "cascade":
            monday = day - dt.timedelta(days=day.weekday())
            causes = [
                name
                for offset in range((day - monday).days + 1)
                if (name := self._cascade_cause(monday + dt.timedelta(days=offset)))
            ]
            if not causes:
                return day, ""
            return self._walk(day + dt.timedelta(days=1), 1, taken), causes[-1]
        if reason is None:
            return day, ""
        step = 1 if self.rule == "next-working-day" else -1
        return self._walk(day + dt.timedelta(days=step), step, taken), reason

    def _cascade_cause(self, day: dt.date) -> str | None:
        if day.weekday() > 4:
            return None
        local = self.local_days.get((day.month, day.day))
        if local in ("before", "after"):
            return None
        return self.free_day(day)

    def _walk(self, day: dt.date, step: int, taken: set[dt.date]) -> dt.date:
        for _ in range(MAX_SHIFT_DAYS * 2):
            if self.working(day) and day not in taken:
                return day
            day += dt.timedelta(days=step)
        return day


@dataclass(frozen=True)
class Rule:
    weekday: int
    interval_weeks: int
    anchor_date: dt.date
    valid_from: dt.date
    valid_until: dt.date | None


def regular_dates(rule: Rule, *, start: dt.date, end: dt.date) -> list[dt.date]:
    """The unshifted collection days of a rule between two days (inclusive)."""
    first = max(start, rule.valid_from)
    last = min(end, rule.valid_until) if rule.valid_until else end
    # Collection weeks are those an even number of intervals away from the anchor's week.
    anchor = rule.anchor_date + dt.timedelta(days=(rule.weekday - rule.anchor_date.weekday()) % 7)
    step = 7 * rule.interval_weeks
    day = anchor + dt.timedelta(days=-(-(first - anchor).days // step) * step)
    dates = []
    while day <= last:
        dates.append(day)
        day += dt.timedelta(days=step)
    return dates


@dataclass(frozen=True)
class PlannedDay:
    date: dt.date
    original_date: dt.date | None
    reason: str


def district_year(*, rules: Iterable[Rule], year: int, policy: ShiftPolicy) -> list[PlannedDay]:
    """A district's collections of one year with the holiday shifts applied, ordered by date."""
    start, end = dt.date(year, 1, 1), dt.date(year, 12, 31)
    regular = sorted({day for rule in rules for day in regular_dates(rule, start=start, end=end)})
    taken = set(regular)
    planned = []
    for day in regular:
        taken.discard(day)
        moved, reason = policy.shift(day, taken)
        taken.add(moved)
        planned.append(PlannedDay(date=moved, original_date=day if moved != day else None, reason=reason))
    return sorted(planned, key=lambda planned_day: planned_day.date)


# --- The rules file of plan_waste_year


@dataclass
class DistrictRules:
    type_key: str
    code: str
    name: str
    rules: list[Rule]


@dataclass
class RulesFile:
    policy: ShiftPolicy
    districts: list[DistrictRules]


def _date(value: Any, where: str, problems: list[str]) -> dt.date | None:
    if not isinstance(value, str):
        problems.append(f"{where}: a date is written YYYY-MM-DD, not {value!r}")
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        problems.append(f"{where}: {value!r} is not a date (YYYY-MM-DD)")
        return None


def local_days_read(values: Iterable[str], problems: list[str], where: str) -> dict[tuple[int, int], str]:
    """``["12-24:before", "12-31:after"]`` → {(12, 24): "before", …}."""
    days: dict[tuple[int, int], str] = {}
    for value in values:
        day_text, _, direction = str(value).partition(":")
        direction = direction or "before"
        try:
            month, day = (int(part) for part in day_text.split("-"))
            dt.date(2024, month, day)  # a leap year: 02-29 is a day
        except ValueError:
            problems.append(f"{where}: {value!r} is not MM-DD[:before|after|cascade]")
            continue
        if direction not in LOCAL_DAY_DIRECTIONS:
            problems.append(f"{where}: {value!r}: the direction is one of {', '.join(LOCAL_DAY_DIRECTIONS)}")
            continue
        days[(month, day)] = direction
    return days


def rules_file_read(  # noqa: PLR0912 - one check per field
    path: Path, *, known_types: set[str]
) -> tuple[RulesFile | None, list[str]]:
    """Reads and checks a rules file; every problem is listed with where it is."""
    problems: list[str] = []
    try:
        raw = json.loads(path.read_text(encoding="utf-8-sig"))
    except OSError as exc:
        return None, [f"cannot read {path}: {exc.strerror or exc}"]
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return None, [f"{path} is not a JSON file (UTF-8): {exc}"]
    if not isinstance(raw, dict) or not isinstance(raw.get("districts"), list):
        return None, [f'{path}: expected {{"districts": [...]}}']
    rule = raw.get("shift_rule", DEFAULT_SHIFT_RULE)
    if rule not in SHIFT_RULES:
        problems.append(f"{path}: shift_rule {rule!r} is not one of {', '.join(SHIFT_RULES)}")
    local_raw = raw.get("local_days")
    local_days = (
        local_days_read(local_raw, problems, f"{path}: local_days")
        if isinstance(local_raw, list)
        else dict(DEFAULT_LOCAL_DAYS)
    )
    districts: list[DistrictRules] = []
    seen: set[tuple[str, str]] = set()
    for index, entry in enumerate(raw["districts"]):
        where = f"{path}: districts[{index}]"
        if not isinstance(entry, dict):
            problems.append(f"{where}: not an object")
            continue
        type_key, code = entry.get("type"), entry.get("code")
        if type_key not in known_types:
            problems.append(
                f"{where}: unknown waste type {type_key!r} (known: {', '.join(sorted(known_types))})"
            )
        if not isinstance(code, str) or not code.strip() or len(code) > 40:
            problems.append(f"{where}: code must be a text of 1-40 characters")
            continue
        if (str(type_key), code) in seen:
            problems.append(f"{where}: {type_key}/{code} appears twice")
        seen.add((str(type_key), code))
        valid_from = _date(entry.get("valid_from", "2000-01-01"), where, problems)
        valid_until = _date(entry["valid_until"], where, problems) if entry.get("valid_until") else None
        rules: list[Rule] = []
        for rule_index, rule_raw in enumerate(entry.get("rules") or []):
            rule_where = f"{where}.rules[{rule_index}]"
            if not isinstance(rule_raw, dict):
                problems.append(f"{rule_where}: not an object")
                continue
            weekday = WEEKDAYS.get(str(rule_raw.get("weekday", "")).lower())
            if weekday is None:
                problems.append(
                    f"{rule_where}: weekday {rule_raw.get('weekday')!r} is not Mon-Sat (mon, tue, …)"
                )
            every = rule_raw.get("every_weeks", 1)
            if not isinstance(every, int) or not 1 <= every <= 52:
                problems.append(f"{rule_where}: every_weeks must be a whole number 1-52")
            anchor = _date(rule_raw.get("anchor"), rule_where, problems)
            if weekday is not None and anchor is not None and anchor.weekday() != weekday:
                problems.append(f"{rule_where}: the anchor {anchor} is not a {rule_raw.get('weekday')}")
            if (
                weekday is not None
                and anchor is not None
                and valid_from is not None
                and isinstance(every, int)
            ):
                rules.append(Rule(weekday, every, anchor, valid_from, valid_until))
        if not rules and not any(problem.startswith(where) for problem in problems):
            problems.append(f"{where}: no rules")
        districts.append(DistrictRules(str(type_key), code, str(entry.get("name", "")), rules))
    if problems:
        return None, problems
    return RulesFile(policy=ShiftPolicy(rule=rule, local_days=local_days), districts=districts), []
