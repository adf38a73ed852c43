"""import_waste_ics refuses feeds that are not whole: cut in the file (no END:VCALENDAR, an event never
closed) or in transfer (fewer bytes than Content-Length, a chunked body broken off). A refused import is a
failed run with the reason; nothing changes and nothing is announced. Recurrences are expanded up to today's
dates whatever their start; a feed without a date from today on is refused."""

from __future__ import annotations

import datetime as dt
import http.server
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.management.base import CommandError
from django.utils import timezone

from tests.waste_calendar.conftest import ics_feed, run_command, write_manifest
from waste_calendar.models import Collection, CollectionChange, CollectionStatus, ImportRun, ImportStatus
from waste_calendar.services import collections_changed

pytestmark = pytest.mark.django_db


def weekly(count: int, *, start_in_days: int = 3) -> list[dt.date]:
    today = timezone.localdate()
    return [today + dt.timedelta(days=start_in_days + 7 * n) for n in range(count)]


def stored() -> list[tuple[str, dt.date, str]]:
    return sorted(Collection.objects.values_list("district__code", "date", "status"))


def window_args(dates: list[dt.date]) -> list[str]:
    return ["--from", f"{min(dates):%Y-%m-%d}", "--until", f"{max(dates):%Y-%m-%d}"]


@pytest.fixture
def imported(tmp_path: Path, mapping: Path) -> tuple[Path, list[dt.date]]:
    """Twenty weekly Restabfall dates for Vinckestraße 8, imported with their period."""
    dates = weekly(20)
    (tmp_path / "feed.ics").write_text(ics_feed((d, "Abfuhr Restabfall") for d in dates), encoding="utf-8")
    manifest = write_manifest(tmp_path, [("Vinckestraße", "", "", "8", "feed.ics")])
    run_command("import_waste_ics", str(manifest), "--mapping", str(mapping), *window_args(dates))
    return manifest, dates


def _nth(text: str, needle: str, n: int) -> int:
    position = -1
    for _ in range(n):
        position = text.index(needle, position + 1)
    return position


def assert_refused_and_nothing_changed(before: list[tuple[str, dt.date, str]], reason: str) -> None:
    assert stored() == before
    assert not CollectionChange.objects.exists()
    failed = ImportRun.objects.get(status=ImportStatus.FAILED)
    assert reason in failed.problems


@pytest.mark.parametrize(
    ("cut", "reason"),
    [
        # The body stops within the fifth event: BEGIN:VEVENT without END.
        (lambda text: text[: _nth(text, "END:VEVENT", 5)], "never closed"),
        # Every event whole, the calendar not closed.
        (lambda text: text[: text.rindex("END:VCALENDAR")], "does not end with END:VCALENDAR"),
    ],
    ids=["mid-event", "before-end-vcalendar"],
)
def test_a_truncated_file_is_refused_and_cancels_nothing(
    imported: tuple[Path, list[dt.date]],
    mapping: Path,
    cut: Callable[[str], str],
    reason: str,
    django_capture_on_commit_callbacks: Any,
) -> None:
    manifest, dates = imported
    feed = manifest.parent / "feed.ics"
    feed.write_text(cut(feed.read_text(encoding="utf-8")), encoding="utf-8")
    before = stored()

    announced: list[Any] = []
    collections_changed.connect(lambda **kwargs: announced.append(kwargs), weak=False, dispatch_uid="t")
    try:
        with django_capture_on_commit_callbacks(execute=True), pytest.raises(CommandError) as failure:
            run_command("import_waste_ics", str(manifest), "--mapping", str(mapping), *window_args(dates))
    finally:
        collections_changed.disconnect(dispatch_uid="t")

    assert "incomplete" in str(failure.value)
    assert reason in str(failure.value)
    assert_refused_and_nothing_changed(before, reason)
    assert announced == []


class _CutHandler(http.server.BaseHTTPRequestHandler):
    """Serves the feed it is given, broken off in the way the test asks for."""

    protocol_version = "HTTP/1.1"
    body = b""
    mode = "short"

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/calendar")
        self.send_header("Connection", "close")
        if self.mode == "short":
            # Announces the whole feed, sends half of it, closes.
            self.send_header("Content-Length", str(len(self.body)))
            self.end_headers()
            self.wfile.write(self.body[: len(self.body) // 2])
        else:
            # Chunked: announces a chunk of the whole feed and breaks off within it.
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.write(f"{len(self.body):x}\r\n".encode() + self.body[: len(self.body) // 2])
        self.wfile.flush()
        self.close_connection = True

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def cut_server() -> Iterator[Callable[[bytes, str], str]]:
    servers: list[http.server.ThreadingHTTPServer] = []

    def serve(body: bytes, mode: str) -> str:
        handler = type("Handler", (_CutHandler,), {"body": body, "mode": mode})
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/feed.ics"

    yield serve
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(
    ("mode", "reason"),
    [("short", "of the"), ("chunked", "the transfer broke off")],
    ids=["shorter-than-content-length", "chunked-cut-mid-body"],
)
def test_a_body_cut_in_transfer_is_a_failed_run(  # noqa: PLR0917 - fixtures and parameters
    imported: tuple[Path, list[dt.date]],
    tmp_path: Path,
    mapping: Path,
    cut_server: Callable[[bytes, str], str],
    mode: str,
    reason: str,
) -> None:
    _manifest, dates = imported
    # The half that arrives is even a closed calendar: only the transport can tell it is cut.
    body = ics_feed((d, "Abfuhr Restabfall") for d in dates).encode()
    half = ics_feed((d, "Abfuhr Restabfall") for d in dates[:9]).encode()
    body = half + b" " * (len(body) - len(half))
    url = cut_server(body, mode)
    (tmp_path / "remote").mkdir()
    remote_manifest = write_manifest(tmp_path / "remote", [("Vinckestraße", "", "", "8", url)])
    before = stored()

    with pytest.raises(CommandError) as failure:
        run_command("import_waste_ics", str(remote_manifest), "--mapping", str(mapping), *window_args(dates))

    assert f"cannot fetch {url}" in str(failure.value)
    assert reason in str(failure.value)
    assert_refused_and_nothing_changed(before, reason)


def test_an_open_ended_series_that_began_years_ago_yields_current_dates(
    tmp_path: Path, mapping: Path
) -> None:
    today = timezone.localdate()
    start = dt.date(today.year - 5, 1, 6)  # a Monday's date years ago, every week since
    (tmp_path / "series.ics").write_text(
        "\r\n".join(
            [
                "BEGIN:VCALENDAR",
                "VERSION:2.0",
                "PRODID:-//Test//Series//DE",
                "BEGIN:VEVENT",
                "UID:series@test",
                f"DTSTART;VALUE=DATE:{start:%Y%m%d}",
                "RRULE:FREQ=WEEKLY",
                "SUMMARY:Abfuhr Restabfall",
                "END:VEVENT",
                "END:VCALENDAR",
                "",
            ]
        ),
        encoding="utf-8",
    )
    manifest = write_manifest(tmp_path, [("Westring", "", "", "5", "series.ics")])

    run_command("import_waste_ics", str(manifest), "--mapping", str(mapping))

    upcoming = Collection.objects.filter(date__gte=today, date__lte=today + dt.timedelta(days=365))
    assert upcoming.count() >= 52
    assert all(c.date.weekday() == start.weekday() for c in upcoming)
    assert Collection.objects.filter(date__gte=today + dt.timedelta(days=700)).exists()


def test_a_feed_without_a_date_from_today_on_is_refused(tmp_path: Path, mapping: Path) -> None:
    past = [timezone.localdate() - dt.timedelta(days=n) for n in (30, 16, 2)]
    (tmp_path / "old.ics").write_text(ics_feed((d, "Abfuhr Papier") for d in past), encoding="utf-8")
    manifest = write_manifest(tmp_path, [("Oststraße", "", "", "1", "old.ics")])

    with pytest.raises(CommandError, match="holds no collection date from today"):
        run_command("import_waste_ics", str(manifest), "--mapping", str(mapping))

    assert not Collection.objects.exists()
    assert "no collection date from today" in ImportRun.objects.get(status=ImportStatus.FAILED).problems


def test_a_whole_feed_still_imports(imported: tuple[Path, list[dt.date]]) -> None:
    _manifest, dates = imported
    assert [c.date for c in Collection.objects.order_by("date")] == dates
    assert set(Collection.objects.values_list("status", flat=True)) == {CollectionStatus.SCHEDULED}
