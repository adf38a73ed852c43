"""Three runs of the reminder task at the same moment on PostgreSQL: each reminder is claimed once, and each
installation gets one push naming both its addresses."""

from __future__ import annotations

import datetime as dt
import threading
from zoneinfo import ZoneInfo

import pytest
from django.db import connection

from push.models import Delivery
from tests.factories import InstallationFactory
from tests.waste_calendar.factories import CollectionFactory
from waste_calendar.models import ReminderSend, ReminderSubscription
from waste_calendar.reminder_night import reminders_send_due

DAY = dt.date(2026, 1, 14)


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_concurrent_runs_send_each_reminder_once(town):
    CollectionFactory(district=town.districts["restabfall"], date=DAY + dt.timedelta(days=1))
    installations = [
        InstallationFactory(push_token=f"concurrent-{n:03d}", push_token_kind="registration_token")
        for n in range(60)
    ]
    for installation in installations:
        for location in (town.bahnhof_12, town.bahnhof_odd):
            ReminderSubscription.objects.create(
                installation=installation, location=location, waste_types=["restabfall"]
            )
    now = dt.datetime(2026, 1, 14, 18, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    start = threading.Barrier(3)
    results: list[int] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            start.wait()
            results.append(reminders_send_due(now=now))
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert errors == []
    assert sum(results) == 60  # messages: one per installation
    assert ReminderSend.objects.count() == 120  # claims: one per installation and address
    deliveries = list(Delivery.objects.values_list("installation_id", "data"))
    assert len(deliveries) == 60
    assert len({installation for installation, _ in deliveries}) == 60
    # The runs claim a batch in one statement each: no installation's two addresses were split up.
    both = {town.bahnhof_12.public_id, town.bahnhof_odd.public_id}
    assert all(set(data["locations"].split(",")) == both for _, data in deliveries)
