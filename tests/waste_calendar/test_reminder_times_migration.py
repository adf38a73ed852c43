"""Migration 0006: subscriptions made before times could be chosen keep the time they had."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from tests.factories import InstallationFactory
from tests.waste_calendar.factories import LocationFactory
from waste_calendar.models import ReminderRun, ReminderSubscription

BEFORE = [("waste_calendar", "0005_import_review")]
AFTER = [("waste_calendar", "0006_reminder_times_labels")]


@pytest.mark.django_db(transaction=True)
def test_the_two_fixed_times_become_18_00_the_evening_before_and_06_00_the_morning_of():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    old_subscription = old.get_model("waste_calendar", "ReminderSubscription")
    old_run = old.get_model("waste_calendar", "ReminderRun")
    location, other = LocationFactory(house_number="1"), LocationFactory(house_number="2")
    installation = InstallationFactory()
    for place, remind_at in ((location, "evening_before"), (other, "morning_of")):
        old_subscription.objects.create(
            installation_id=installation.pk, location_id=place.pk, waste_types=["papier"], remind_at=remind_at
        )
        old_run.objects.create(
            remind_at=remind_at,
            collection_day=dt.date(2026, 1, 15),
            started_at=dt.datetime(2026, 1, 14, 17, tzinfo=dt.UTC),
        )

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(AFTER)

    times = dict(ReminderSubscription.objects.values_list("remind_at", "remind_time"))
    assert times == {"evening_before": dt.time(18, 0), "morning_of": dt.time(6, 0)}
    assert dict(ReminderRun.objects.values_list("remind_at", "remind_time")) == times
    assert set(ReminderSubscription.objects.values_list("label", flat=True)) == {""}

    # Back to the latest migrations (0006 is no longer the last), for the tests after this one.
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
