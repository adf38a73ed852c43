"""Working days of the city administration: Monday to Friday, except public holidays in NRW.

Used for the target time to first response (overdue reports) and for the daily digest at 7:30. Times are
stored in UTC; "day" here is always the day in Europe/Berlin.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from zoneinfo import ZoneInfo

BERLIN = ZoneInfo("Europe/Berlin")


@cache
def _public_holidays(year: int) -> frozenset[dt.date]:
    # Imported on first use, not with the module: a push worker never needs it and stays smaller.
    import holidays

    return frozenset(holidays.country_holidays("DE", subdiv="NW", years=year))


def is_working_day(day: dt.date) -> bool:
    return day.weekday() < 5 and day not in _public_holidays(day.year)


def first_response_due(*, received_at: dt.datetime, working_days: int) -> dt.datetime:
    """The end (midnight, Berlin time) of the ``working_days``-th working day after the day a report came
    in; 0 means the end of that day, or of the next working day when it came in on a day off.

    Friday with 2 days: end of Tuesday. Saturday with 2 days: end of Tuesday as well.
    """
    day = received_at.astimezone(BERLIN).date()
    if working_days == 0:
        while not is_working_day(day):
            day += dt.timedelta(days=1)
    counted = 0
    while counted < working_days:
        day += dt.timedelta(days=1)
        if is_working_day(day):
            counted += 1
    next_midnight = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0, 0), tzinfo=BERLIN)
    return next_midnight.astimezone(dt.UTC)
