"""Reading EUV-style ICS feeds: one feed per address, one all-day event per date and waste type.

What real feeds do and this reader copes with: a UTF-8 byte order mark, LF or CRLF line ends, folded lines,
a TZID on date-only values (``DTSTART;TZID=Europe/Berlin:20241108``), timed (often zero-length) events
instead of all-day ones, RRULE/EXDATE recurrence (expanded by ``recurring_ical_events``), a missing DTEND,
``webcal://`` links. The waste type is only in SUMMARY ("Abfuhr Restabfall"); a mapping turns summaries into
waste type keys. A timed event counts on its day in Europe/Berlin, whatever zone it is written in.

Everything is checked and every problem reported with its line, so one round of fixes suffices.
"""

from __future__ import annotations

import datetime as dt
import http.client
import json
import re
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events

BERLIN = ZoneInfo("Europe/Berlin")
# Without --from/--until, recurrences are expanded from the first event up to this far after today (or
# after the first event, when that is later): a series that started years ago still yields current dates.
DEFAULT_EXPANSION = dt.timedelta(days=2 * 366)
FETCH_CHUNK_BYTES = 64 * 1024
MAX_FEED_BYTES = 5 * 1024 * 1024
FETCH_TIMEOUT_SECONDS = 30


def summary_key(summary: str) -> str:
    """How summaries are compared with the mapping: case and runs of spaces do not matter."""
    return " ".join(summary.split()).casefold()


@dataclass(frozen=True)
class SummaryMapping:
    """Summary → waste type key; a summary mapped to ``None`` is ignored on purpose (e.g. "Hinweis")."""

    types: dict[str, str | None]

    @classmethod
    def from_file(cls, path: Path) -> SummaryMapping:
        """A JSON object ``{"Abfuhr Restabfall": "restabfall", "Hinweis": null}``; raises ValueError."""
        try:
            raw = json.loads(path.read_text(encoding="utf-8-sig"))
        except OSError as exc:
            raise ValueError(f"cannot read the mapping {path}: {exc.strerror or exc}") from exc
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"the mapping {path} is not a JSON file (UTF-8): {exc}") from exc
        if not isinstance(raw, dict) or not all(
            isinstance(key, str) and (value is None or isinstance(value, str)) for key, value in raw.items()
        ):
            raise ValueError(
                f"the mapping {path} must be a JSON object of summary → waste type key or null, "
                'e.g. {"Abfuhr Restabfall": "restabfall"}'
            )
        return cls(types={summary_key(key): value for key, value in raw.items()})

    def type_for(self, summary: str) -> tuple[bool, str | None]:
        """(known, type key or None when ignored)."""
        key = summary_key(summary)
        if key not in self.types:
            return False, None
        return True, self.types[key]


@dataclass
class FeedDates:
    """The collection dates of one feed per waste type key, and what was wrong with it."""

    dates: dict[str, set[dt.date]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def feed_url(link: str, *, webcal_scheme: str = "https") -> str:
    """``webcal://host/path`` is an https (or, for a test server, http) URL with another name."""
    if link.lower().startswith("webcal://"):
        return f"{webcal_scheme}://{link[len('webcal://') :]}"
    return link


def is_remote(source: str) -> bool:
    return re.match(r"^(webcal|https?)://", source, flags=re.IGNORECASE) is not None


def feed_read(source: str, *, base_dir: Path, webcal_scheme: str = "https") -> bytes:
    """The bytes of a feed from a file (relative to ``base_dir``) or a URL; raises ValueError."""
    if is_remote(source):
        url = feed_url(source, webcal_scheme=webcal_scheme)
        body = _fetch(url)
    else:
        path = Path(source)
        if not path.is_absolute():
            path = base_dir / path
        try:
            body = path.read_bytes()[: MAX_FEED_BYTES + 1]
        except OSError as exc:
            raise ValueError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if len(body) > MAX_FEED_BYTES:
        raise ValueError(f"{source} is larger than {MAX_FEED_BYTES // (1024 * 1024)} MiB")
    return body


def _fetch(url: str) -> bytes:
    """The whole body of ``url`` or ValueError: a body cut short is refused, never read as a shorter feed.

    ``urllib`` hands over a body shorter than its Content-Length without complaint when read in parts, and
    raises ``http.client.IncompleteRead`` (no ``OSError``) for a chunked body cut mid-chunk.
    """
    request = urllib.request.Request(url, headers={"User-Agent": "CAS-App waste import"})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=FETCH_TIMEOUT_SECONDS) as response:  # noqa: S310
            declared = response.headers.get("Content-Length")
            parts: list[bytes] = []
            received = 0
            while received <= MAX_FEED_BYTES:
                part = response.read(FETCH_CHUNK_BYTES)
                if not part:
                    break
                parts.append(part)
                received += len(part)
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as exc:
        reason = f"the transfer broke off ({exc!r})" if isinstance(exc, http.client.HTTPException) else exc
        raise ValueError(f"cannot fetch {url}: {reason}") from exc
    body = b"".join(parts)
    announced = int(declared) if declared is not None and declared.strip().isdigit() else None
    if announced is not None and received <= MAX_FEED_BYTES and received != announced:
        raise ValueError(
            f"cannot fetch {url}: incomplete, {received} of the {int(declared)} bytes announced "
            "(Content-Length) arrived"
        )
    return body


def feed_incomplete(text: str, *, label: str) -> str | None:
    """Why a feed is not whole (cut off in transfer or in the file), or None.

    A truncated feed reads as a shorter one, and a shorter feed cancels dates: so the calendar must be
    closed and every component in it too (BEGIN and END in pairs).
    """
    open_components: list[tuple[str, int]] = []
    closed_calendar = False
    for number, line in enumerate(text.splitlines(), start=1):
        if line[:1] in (" ", "\t"):
            continue  # a folded continuation line
        head, _sep, value = line.partition(":")
        name = head.split(";", 1)[0].strip().upper()
        if name == "BEGIN":
            open_components.append((value.strip().upper(), number))
        elif name == "END":
            component = value.strip().upper()
            if not open_components or open_components[-1][0] != component:
                return f"{label} line {number}: END:{component} does not close an open component"
            open_components.pop()
            if component == "VCALENDAR" and not open_components:
                closed_calendar = True
    if open_components and open_components[-1][0] != "VCALENDAR":
        component, number = open_components[-1]
        return (
            f"{label}: incomplete (cut off?): BEGIN:{component} on line {number} is never closed; "
            "the feed is refused"
        )
    if not closed_calendar:
        return f"{label}: incomplete (cut off?): the feed does not end with END:VCALENDAR; it is refused"
    return None


def _event_lines(text: str) -> list[int]:
    """The line number of each BEGIN:VEVENT, in order, so problems can name a line."""
    return [
        number
        for number, line in enumerate(text.splitlines(), start=1)
        if line.strip().upper() == "BEGIN:VEVENT"
    ]


def _day(value: Any) -> dt.date | None:
    """The Berlin day of a DTSTART value: a date, or a datetime (naive = floating local time)."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            return value.astimezone(BERLIN).date()
        return value.date()
    if isinstance(value, dt.date):
        return value
    return None


def feed_dates(  # noqa: PLR0912, PLR0915 - every quirk of real feeds is a check
    body: bytes,
    *,
    mapping: SummaryMapping,
    label: str,
    window: tuple[dt.date, dt.date] | None = None,
    thorough: bool = False,
) -> FeedDates:
    """The dates per waste type of one feed; problems name ``label`` and the line of the event.

    A plain feed (every date listed, nothing unusual) is read by a quick scan; anything else, and every
    feed with a problem, by ``icalendar`` (``thorough`` forces that; the tests compare both).
    """
    result = FeedDates()
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        result.problems.append(f"{label}: not UTF-8 ({exc.reason} at byte {exc.start})")
        return result
    text = text.lstrip("\ufeff")
    if "BEGIN:VCALENDAR" not in text.upper():
        result.problems.append(f"{label}: not an iCalendar file (no BEGIN:VCALENDAR)")
        return result
    incomplete = feed_incomplete(text, label=label)
    if incomplete is not None:
        result.problems.append(incomplete)
        return result
    if not thorough:
        plain = plain_feed_dates(text, mapping=mapping, window=window)
        if plain is not None:
            result.dates = plain
            return result
    try:
        calendar = icalendar.Calendar.from_ical(text)
    except (ValueError, IndexError, KeyError) as exc:
        result.problems.append(f"{label}: not a readable iCalendar file ({exc})")
        return result
    events = list(calendar.walk("VEVENT"))
    lines = _event_lines(text)
    first_day: dt.date | None = None
    last_single_day: dt.date | None = None
    recurring = False
    for index, event in enumerate(events):
        where = f"{label} line {lines[index]}" if index < len(lines) else f"{label} event {index + 1}"
        broken = [f"{name}: {message}" for name, message in getattr(event, "errors", [])]
        if broken:
            result.problems.append(f"{where}: unreadable {'; '.join(broken)}")
            continue
        summary = str(event.get("SUMMARY", "")).strip()
        if not summary:
            result.problems.append(f"{where}: the event has no SUMMARY (the waste type is named there)")
            continue
        known, _type_key = mapping.type_for(summary)
        if not known:
            result.problems.append(
                f"{where}: SUMMARY {summary!r} is not in the mapping file "
                "(map it to a waste type key or to null)"
            )
            continue
        if "DTSTART" not in event:
            result.problems.append(f"{where}: the event has no DTSTART")
            continue
        day = _day(event.decoded("DTSTART"))
        if day is None:
            result.problems.append(f"{where}: DTSTART is not a date")
            continue
        first_day = day if first_day is None else min(first_day, day)
        if "RRULE" in event or "RDATE" in event:
            recurring = True
        else:
            last_single_day = day if last_single_day is None else max(last_single_day, day)
    if result.problems or first_day is None:
        return result

    if window is None:
        today = dt.datetime.now(BERLIN).date()
        end = max(first_day, today) + DEFAULT_EXPANSION if recurring else first_day
        if last_single_day is not None:
            end = max(end, last_single_day)
        window = (first_day, end)
    start, end = window
    # Most feeds list every date: then the events are the occurrences, and the expansion is skipped.
    occurrences = _expanded(calendar, start, end, label, result) if recurring else events
    for occurrence in occurrences:
        if str(occurrence.get("STATUS", "")).upper() == "CANCELLED":
            continue
        _known, type_key = mapping.type_for(str(occurrence.get("SUMMARY", "")))
        day = _day(occurrence.decoded("DTSTART"))
        if type_key is None or day is None or not start <= day <= end:
            continue
        result.dates.setdefault(type_key, set()).add(day)
    return result


def _expanded(
    calendar: icalendar.Calendar, start: dt.date, end: dt.date, label: str, result: FeedDates
) -> list[Any]:
    try:
        # A day of margin on both sides: timed events near midnight belong to their Berlin day, which the
        # library's bounds (UTC or floating) would cut off; the filter below keeps the window exact.
        occurrences = recurring_ical_events.of(calendar).between(
            start - dt.timedelta(days=1), end + dt.timedelta(days=2)
        )
    except Exception as exc:  # the library raises several kinds for malformed RRULEs
        result.problems.append(f"{label}: the recurrence cannot be expanded ({exc})")
        return []
    return list(occurrences)


# --- The quick scan of plain feeds

_UNFOLD = re.compile(r"\r?\n[ \t]")
_PLAIN_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_PLAIN_DATETIME = re.compile(r"^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(Z?)$")
# Properties that need the library: recurrence and overridden instances.
_NEEDS_LIBRARY = frozenset({"RRULE", "RDATE", "EXDATE", "EXRULE", "RECURRENCE-ID"})


def _plain_day(parameters: list[str], value: str) -> dt.date | None:
    tzid = next((p.split("=", 1)[1].strip('"') for p in parameters if p.upper().startswith("TZID=")), None)
    match = _PLAIN_DATE.match(value)
    if match:
        return dt.date(int(match[1]), int(match[2]), int(match[3]))
    match = _PLAIN_DATETIME.match(value)
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(match[i]) for i in range(1, 7))
    moment = dt.datetime(year, month, day, hour, minute, second)  # noqa: DTZ001 - zone set below
    if match[7]:
        return moment.replace(tzinfo=dt.UTC).astimezone(BERLIN).date()
    if tzid:
        return moment.replace(tzinfo=ZoneInfo(tzid)).astimezone(BERLIN).date()
    return moment.date()  # floating local time


def _plain_text(value: str) -> str:
    return (
        value.replace("\\n", " ")
        .replace("\\N", " ")
        .replace("\\,", ",")
        .replace("\\;", ";")
        .replace("\\\\", "\\")
    )


def plain_feed_dates(  # noqa: PLR0912 - every way out is "let the library read it"
    text: str, *, mapping: SummaryMapping, window: tuple[dt.date, dt.date] | None
) -> dict[str, set[dt.date]] | None:
    """The dates of a feed that lists every date plainly, or None when the library must read it.

    Same result as ``icalendar`` for such feeds (tested on every fixture); a region's import reads
    100,000 feeds, and the library's full parse costs tens of milliseconds each.
    """
    dates: dict[str, set[dt.date]] = {}
    event: dict[str, tuple[list[str], str]] | None = None
    depth = 0
    for line in _UNFOLD.sub("", text).splitlines():
        head, _sep, value = line.partition(":")
        name, *parameters = head.split(";")
        name = name.strip().upper()
        if name == "BEGIN":
            if event is not None:
                depth += 1  # VALARM and the like: their properties are not the event's
            elif value.strip().upper() == "VEVENT":
                event = {}
            continue
        if name == "END":
            if event is not None and depth:
                depth -= 1
            elif event is not None and value.strip().upper() == "VEVENT":
                outcome = _plain_event(event, mapping=mapping, window=window)
                if outcome is None:
                    return None
                if outcome:
                    type_key, day = outcome
                    dates.setdefault(type_key, set()).add(day)
                event = None
            continue
        if event is None or depth:
            continue
        if name in _NEEDS_LIBRARY or any('"' in parameter for parameter in parameters):
            return None
        if name in ("DTSTART", "SUMMARY", "STATUS"):
            event[name] = (parameters, value)
    if event is not None:
        return None  # an event without END: let the library report it
    return dates


def _plain_event(
    event: dict[str, tuple[list[str], str]],
    *,
    mapping: SummaryMapping,
    window: tuple[dt.date, dt.date] | None,
) -> tuple[str, dt.date] | tuple[()] | None:
    """(type, day), () for an event to skip, None when the library must read the feed."""
    if "DTSTART" not in event or "SUMMARY" not in event:
        return None
    known, type_key = mapping.type_for(_plain_text(event["SUMMARY"][1]))
    if not known:
        return None
    try:
        day = _plain_day(*event["DTSTART"])
    except (ValueError, KeyError):
        return None
    if day is None:
        return None
    if "STATUS" in event and event["STATUS"][1].strip().upper() == "CANCELLED":
        return ()
    if type_key is None or (window is not None and not window[0] <= day <= window[1]):
        return ()
    return type_key, day
