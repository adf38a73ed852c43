"""The open reports by category on PostgreSQL: counted by triggers in the statement that changes a report,
whatever writes it, and read by the city-hall screen (``GET /api/v1/reports/screen``)."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from reports.models import OPEN_STATUSES, OpenReportCount, Report, ReportStatus
from tests.reports.factories import CategoryFactory, ReportFactory

pytestmark = pytest.mark.services

URL = "/api/v1/reports/screen"
S = ReportStatus


def _open_reports() -> Counter[tuple[int, str]]:
    return Counter(
        Report.objects.filter(hidden=False, status__in=OPEN_STATUSES).values_list("category", "stadtteil")
    )


def _counters() -> Counter[tuple[int, str]]:
    counts: Counter[tuple[int, str]] = Counter()
    for category, stadtteil, count in OpenReportCount.objects.values_list(
        "category", "stadtteil", "open_count"
    ):
        if count:
            counts[(category, stadtteil)] = count
    return counts


def test_the_counters_follow_every_kind_of_write_and_the_screen_reads_them(db: Any) -> None:
    assert connection.vendor == "postgresql"
    pothole = CategoryFactory(key="schlagloch", name_de="Schlagloch")
    graffiti = CategoryFactory(key="graffiti", name_de="Graffiti")
    client = APIClient()
    moment = timezone.now()

    def screen() -> dict[str, int]:
        nonlocal moment
        moment += timedelta(seconds=30)  # the next window: computed again
        with time_machine.travel(moment, tick=False):
            body = client.get(URL).json()
        return {row["key"]: row["count"] for row in body["open_by_category"]}

    def check(expected: dict[str, int]) -> None:
        assert _counters() == _open_reports()
        assert screen() == expected

    first = ReportFactory(category=pothole, stadtteil="Ickern")
    ReportFactory.create_batch(3, category=graffiti, stadtteil="Rauxel")
    check({"schlagloch": 1, "graffiti": 3})

    # One bulk statement for several rows, as an import writes them.
    Report.objects.bulk_create(
        [
            Report(category=pothole, latitude=51.55, longitude=7.31, stadtteil=place)
            for place in ("", "Ickern")
        ]
    )
    check({"schlagloch": 3, "graffiti": 3})

    first.status = S.IN_PROGRESS  # open to open: no change
    first.save()
    check({"schlagloch": 3, "graffiti": 3})

    first.status = S.DONE
    first.closed_at = timezone.now()
    first.save()
    Report.objects.filter(category=graffiti).order_by("pk")[:1].get().delete()
    check({"graffiti": 2, "schlagloch": 2})

    Report.objects.filter(category=graffiti).update(hidden=True)
    Report.objects.filter(category=pothole, stadtteil="Ickern").update(stadtteil="Henrichenburg")
    check({"schlagloch": 2})

    Report.objects.filter(category=graffiti).update(hidden=False)
    Report.objects.filter(category=pothole, status__in=OPEN_STATUSES).update(category=graffiti)  # re-routed
    check({"graffiti": 4})

    Report.objects.filter(pk=first.pk).update(status=S.IN_REVIEW)  # reopened
    check({"graffiti": 4, "schlagloch": 1})

    with time_machine.travel(moment + timedelta(seconds=30), tick=False):
        henrichenburg = client.get(URL, {"stadtteil": "Henrichenburg"}).json()
    # The reopened report and the one of the bulk insert, both moved there (one re-routed since).
    assert {row["key"]: row["count"] for row in henrichenburg["open_by_category"]} == {
        "schlagloch": 1,
        "graffiti": 1,
    }
