"""The plausibility guard: an import that would cancel or move more than WASTE_IMPORT_REVIEW_SHARE of a
district's future collections, or leave a waste type without any, is held ("zu prüfen"): nothing applied,
nothing pushed, the command exits 3. An Administration user confirms (applied and announced then) or
discards it in the workspace; --confirm applies it at once."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from django.core.management.base import CommandError
from django.test import Client
from django.utils import timezone

from tests.factories import InstallationFactory, StaffFactory
from tests.waste_calendar.conftest import ics_feed, run_command, write_manifest
from waste_calendar.models import (
    ChangeKind,
    Collection,
    CollectionChange,
    CollectionStatus,
    ImportRun,
    ImportStatus,
    Location,
    ReminderSubscription,
)

pytestmark = pytest.mark.django_db
ADMIN = "/admin/waste_calendar/importrun/"


def weekly(count: int) -> list[dt.date]:
    today = timezone.localdate()
    return [today + dt.timedelta(days=3 + 7 * n) for n in range(count)]


def stored() -> list[tuple[str, dt.date, str]]:
    return sorted(Collection.objects.values_list("district__code", "date", "status"))


class Feeds:
    """Vinckestraße 8's Restabfall feed with twenty weekly dates, imported, and a subscriber to it."""

    def __init__(self, directory: Path, mapping: Path) -> None:
        self.directory, self.mapping = directory, mapping
        self.regular = weekly(20)
        self.window = ["--from", f"{self.regular[0]:%Y-%m-%d}", "--until", f"{self.regular[-1]:%Y-%m-%d}"]
        self.manifest = write_manifest(directory, [("Vinckestraße", "", "", "8", "feed.ics")])

    def run(self, dates: list[dt.date], *extra: str) -> str:
        (self.directory / "feed.ics").write_text(
            ics_feed((day, "Abfuhr Restabfall") for day in dates), encoding="utf-8"
        )
        return run_command(
            "import_waste_ics", str(self.manifest), "--mapping", str(self.mapping), *self.window, *extra
        )

    def cut_off(self) -> list[dt.date]:
        """What the incident looked like: a feed that ends after five dates (and the first one moved a day:
        a change within the week, which subscribers hear of)."""
        return [self.regular[0] + dt.timedelta(days=1), *self.regular[1:5]]


@pytest.fixture
def feeds(
    tmp_path: Path, mapping: Path, firebase_backend: Any, django_capture_on_commit_callbacks: Any
) -> Feeds:
    feeds = Feeds(tmp_path, mapping)
    with django_capture_on_commit_callbacks(execute=True):
        feeds.run(feeds.regular)
    installation = InstallationFactory(push_token="review-token-0001", push_token_kind="registration_token")
    ReminderSubscription.objects.create(
        installation=installation,
        location=Location.objects.get(street__name="Vinckestraße", house_number_key="8"),
        waste_types=["restabfall"],
    )
    return feeds


def pushes(firebase_backend: Any) -> int:
    return len(firebase_backend.messages("review-token-0001"))


def staff(*roles: str) -> Client:
    client = Client(headers={"Accept-Language": "de"})
    client.force_login(StaffFactory(roles=list(roles)))
    return client


def hold(feeds: Feeds, django_capture_on_commit_callbacks: Any) -> ImportRun:
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(CommandError) as held:
        feeds.run(feeds.cut_off())
    assert held.value.returncode == 3
    return ImportRun.objects.get(status=ImportStatus.HELD)


def test_an_import_cancelling_most_future_collections_is_held_and_changes_nothing(
    feeds: Feeds, firebase_backend: Any, django_capture_on_commit_callbacks: Any
) -> None:
    before = stored()

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(CommandError) as held:
        feeds.run(feeds.cut_off())

    message = str(held.value)
    assert held.value.returncode == 3
    assert "Held for review" in message
    assert "Restabfall ics-0001: 16 of 20 future collections cancelled or moved" in message
    assert "--confirm" in message
    assert stored() == before
    assert not CollectionChange.objects.exists()
    assert pushes(firebase_backend) == 0
    run = ImportRun.objects.get(status=ImportStatus.HELD)
    assert run.review["districts"] == [
        {
            "type_key": "restabfall",
            "type_name": "Restabfall",
            "district": "ics-0001",
            "future": 20,
            "cancelled": 15,
            "moved": 1,
            "added": 0,
        }
    ]
    assert run.held_input


def test_a_plausible_import_is_applied_without_review(
    feeds: Feeds, django_capture_on_commit_callbacks: Any
) -> None:
    # One of twenty future dates moves: 5 %, below the 10 % of the default.
    with django_capture_on_commit_callbacks(execute=True):
        output = feeds.run([feeds.regular[0] + dt.timedelta(days=1), *feeds.regular[1:]])
    assert "moved 1" in output
    assert not ImportRun.objects.filter(status=ImportStatus.HELD).exists()


def test_confirm_on_the_command_line_applies_it(
    feeds: Feeds, firebase_backend: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        output = feeds.run(feeds.cut_off(), "--confirm")

    assert "cancelled 15" in output
    assert Collection.objects.filter(status=CollectionStatus.CANCELLED).count() == 15
    assert pushes(firebase_backend) == 1


def test_the_share_is_a_setting(feeds: Feeds, settings: Any, django_capture_on_commit_callbacks: Any) -> None:
    settings.WASTE_IMPORT_REVIEW_SHARE = 0.9
    with django_capture_on_commit_callbacks(execute=True):
        feeds.run(feeds.cut_off())
    assert ImportRun.objects.latest("pk").status == ImportStatus.SUCCEEDED


def test_a_waste_type_left_without_future_collections_is_held(tmp_path: Path, settings: Any) -> None:
    settings.WASTE_IMPORT_REVIEW_SHARE = 1.0  # only the second rule can hold it
    today = timezone.localdate()
    streets = tmp_path / "streets.csv"
    streets.write_text(
        "strasse;plz;stadtteil;hausnummern;paritaet;fraktion;tour\n"
        "Lindenallee;44575;;;;restabfall;R01\nLindenallee;44575;;;;papier;P01\n",
        encoding="utf-8",
    )

    def dates(papier: list[dt.date]) -> str:
        path = tmp_path / f"dates-{len(papier)}.csv"
        path.write_text(
            "fraktion;tour;datum\n"
            + "".join(f"restabfall;R01;{today + dt.timedelta(days=n)}\n" for n in (1, 8, 15, 22))
            + "".join(f"papier;P01;{day}\n" for day in papier),
            encoding="utf-8",
        )
        return str(path)

    run_command(
        "import_waste_csv", str(streets), dates([today - dt.timedelta(days=20), today + dt.timedelta(days=6)])
    )
    before = stored()
    # Papier keeps only its past date: its one future collection would be cancelled.
    with pytest.raises(CommandError, match="Papier: no future collection would remain") as held:
        run_command("import_waste_csv", str(streets), dates([today - dt.timedelta(days=20)]))

    assert held.value.returncode == 3
    assert stored() == before
    assert ImportRun.objects.get(status=ImportStatus.HELD).review["reasons"] == [
        {"reason": "type_removed", "type": "papier", "type_name": "Papier", "future": 1}
    ]


def test_the_administration_sees_the_changes_and_confirms(
    feeds: Feeds, firebase_backend: Any, django_capture_on_commit_callbacks: Any
) -> None:
    run = hold(feeds, django_capture_on_commit_callbacks)
    client = staff("Administration")

    listed = client.get(ADMIN, {"status__exact": "held"})
    assert listed.status_code == 200
    assert [r.pk for r in listed.context["cl"].result_list] == [run.pk]
    assert "zu prüfen" in listed.content.decode()
    page = client.get(f"{ADMIN}{run.pk}/change/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "Restabfall, Bezirk ics-0001: 16 von 20 künftigen Abfuhren entfallen oder verschoben." in html
    assert "<td>Restabfall</td><td>ics-0001</td>" in html
    assert "Import anwenden und Abonnenten benachrichtigen" in html

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"{ADMIN}{run.pk}/confirm/", follow=True)

    assert response.status_code == 200
    assert (
        "Der Import wurde angewendet: 15 entfallen, 1 verschoben, 0 hinzugekommen"
        in response.content.decode()
    )
    run.refresh_from_db()
    assert run.status == ImportStatus.SUCCEEDED
    assert run.reviewed_by is not None
    assert run.reviewed_at is not None
    assert run.held_input is None
    assert Collection.objects.filter(status=CollectionStatus.CANCELLED).count() == 15
    assert set(CollectionChange.objects.values_list("import_run", flat=True)) == {run.pk}
    assert CollectionChange.objects.filter(kind=ChangeKind.MOVED).count() == 1
    assert pushes(firebase_backend) == 1
    # Decided: no second confirmation, no buttons.
    assert "Import anwenden" not in client.get(f"{ADMIN}{run.pk}/change/").content.decode()
    again = client.post(f"{ADMIN}{run.pk}/confirm/", follow=True)
    assert "wartet nicht (mehr) auf eine Prüfung" in again.content.decode()
    assert Collection.objects.filter(status=CollectionStatus.CANCELLED).count() == 15


def test_the_administration_discards(
    feeds: Feeds, firebase_backend: Any, django_capture_on_commit_callbacks: Any
) -> None:
    before = stored()
    run = hold(feeds, django_capture_on_commit_callbacks)

    with django_capture_on_commit_callbacks(execute=True):
        response = staff("Administration").post(f"{ADMIN}{run.pk}/discard/", follow=True)

    assert "Der Import wurde verworfen; nichts wurde geändert." in response.content.decode()
    run.refresh_from_db()
    assert run.status == ImportStatus.DISCARDED
    assert run.held_input is None
    assert stored() == before
    assert not CollectionChange.objects.exists()
    assert pushes(firebase_backend) == 0


def test_kommunikation_sees_a_held_import_but_cannot_decide(
    feeds: Feeds, django_capture_on_commit_callbacks: Any
) -> None:
    run = hold(feeds, django_capture_on_commit_callbacks)
    client = staff("Kommunikation")

    page = client.get(f"{ADMIN}{run.pk}/change/")
    assert page.status_code == 200
    assert "Import anwenden" not in page.content.decode()
    assert client.post(f"{ADMIN}{run.pk}/confirm/").status_code == 403
    assert client.post(f"{ADMIN}{run.pk}/discard/").status_code == 403
    assert staff("Administration").get(f"{ADMIN}{run.pk}/confirm/").status_code == 405
    run.refresh_from_db()
    assert run.status == ImportStatus.HELD


def test_a_review_outdated_by_a_later_import_cannot_be_confirmed(
    feeds: Feeds, django_capture_on_commit_callbacks: Any
) -> None:
    run = hold(feeds, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        feeds.run([feeds.regular[0] + dt.timedelta(days=1), *feeds.regular[1:]])
    after_later_import = stored()

    response = staff("Administration").post(f"{ADMIN}{run.pk}/confirm/", follow=True)

    assert "Seit dieser Import angehalten wurde" in response.content.decode()
    run.refresh_from_db()
    assert run.status == ImportStatus.HELD
    assert stored() == after_later_import
