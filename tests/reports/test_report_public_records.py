"""The public list and its exports build their records from rows (``report_public_rows`` and
``public_report_records``), not through ``PublicReportSerializer``, which stays the documented schema.
These tests keep the two from drifting: the responses must be byte for byte what the serializer makes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.utils import translation
from rest_framework.renderers import JSONRenderer

from reports import exports, selectors
from reports.api.serializers import PublicReportSerializer
from reports.models import Report, ReportPhoto, ReportStatus
from tests.reports.factories import CategoryFactory, CategoryGroupFactory, ReportFactory

URL = "/api/v1/reports/"


def photo(report: Report, name: str, *, position: int, removed: bool = False) -> ReportPhoto:
    # Width and height given: the ImageField then does not open the (absent) file to measure it.
    return ReportPhoto.objects.create(
        report=report,
        image=f"reports/{report.pk}/{name}.jpg",
        thumbnail=f"reports/{report.pk}/{name}-thumb.jpg",
        width=1536,
        height=2048,
        position=position,
        removed=removed,
    )


@pytest.fixture
def varied_reports(db: Any) -> list[Report]:
    """Reports that take every branch of the representation, newest first."""
    roads = CategoryGroupFactory(key="strassen", name_de="Straßen und Wege", name_en="Roads and paths")
    pothole = CategoryFactory(parent=roads, key="schlagloch", name_de="Schlagloch", name_en="Pothole")
    # No English name: the German one in both languages.
    bench = CategoryFactory(key="parkbank", name_de="Parkbank beschädigt", name_en="")
    now = datetime(2026, 11, 25, 14, 30, 15, 123456, tzinfo=UTC)

    def filed(hours: int, **fields: Any) -> Report:
        return ReportFactory(created_at=now - timedelta(hours=hours), updated_at=now, **fields)

    fresh = filed(0, category=pothole, description='=HYPERLINK("x") „Anführungszeichen“ 🕳️')
    forwarded = filed(
        1,
        category=bench,
        status=ReportStatus.NOT_RESPONSIBLE,
        forwarded_to="Straßen.NRW",
        closed_at=now - timedelta(minutes=5),
    )
    # Forwarded once, now back in review: the authority is no longer public.
    back = filed(2, category=pothole, status=ReportStatus.IN_REVIEW, forwarded_to="Kreis Recklinghausen")
    done = filed(
        3,
        category=pothole,
        status=ReportStatus.DONE,
        address="Marktplatz 1",
        stadtteil="Altstadt",
        support_count=7,
        # A whole second, in the summer: no microseconds, another UTC offset in Europe/Berlin.
        closed_at=datetime(2026, 7, 1, 10, 0, 0, tzinfo=UTC),
    )
    duplicate = filed(4, category=bench, status=ReportStatus.DUPLICATE, duplicate_of=done)
    with_photos = filed(5, category=pothole, status=ReportStatus.IN_PROGRESS)
    photo(with_photos, "b", position=1)
    photo(with_photos, "removed", position=0, removed=True)
    photo(with_photos, "a", position=0)
    all_removed = filed(6, category=bench)
    photo(all_removed, "gone", position=0, removed=True)
    filed(7, category=pothole, hidden=True)
    return [fresh, forwarded, back, done, duplicate, with_photos, all_removed]


def serializer_records(order: tuple[str, ...], request: Any) -> list[dict[str, Any]]:
    reports = selectors.reports_public().order_by(*order)
    return list(PublicReportSerializer(reports, many=True, context={"request": request}).data)


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["de", "en"])
def test_list_pages_are_byte_for_byte_the_serializers(anon_client, varied_reports, language):
    pages = []
    response = anon_client.get(URL, {"page_size": 3}, HTTP_ACCEPT_LANGUAGE=language)
    while True:
        assert response.status_code == 200
        pages.append(response)
        if response.json()["next"] is None:
            break
        response = anon_client.get(response.json()["next"], HTTP_ACCEPT_LANGUAGE=language)

    with translation.override(language):
        expected = serializer_records(("-created_at", "-pk"), pages[0].wsgi_request)

    assert [len(page.json()["results"]) for page in pages] == [3, 3, 1]
    for number, page in enumerate(pages):
        body = page.json()
        rendered = JSONRenderer().render(
            {
                "next": body["next"],
                "previous": body["previous"],
                "results": expected[3 * number : 3 * number + 3],
            }
        )
        assert page.content == rendered
    # The serializer side did see what the rows must show, so the comparison is not of two empty lists.
    by_id = {record["id"]: record for record in expected}
    fresh, forwarded, back, done, duplicate, with_photos, all_removed = varied_reports
    assert len(by_id) == 7
    assert by_id[forwarded.pk]["forwarded_to"] == "Straßen.NRW"
    assert by_id[back.pk]["forwarded_to"] == ""
    assert by_id[duplicate.pk]["duplicate_of"] == done.pk
    assert by_id[forwarded.pk]["category_label"] == "Parkbank beschädigt"
    assert by_id[fresh.pk]["category_label"] == ("Pothole" if language == "en" else "Schlagloch")
    assert [p["image"] for p in by_id[with_photos.pk]["photos"]] == [
        f"http://testserver/media/reports/photos/{stored.public_id}-{stored.content_hash}.jpg"
        for stored in with_photos.photos.filter(removed=False).order_by("position", "id")
    ]
    assert by_id[all_removed.pk]["photos"] == []
    assert by_id[done.pk]["closed_at"] == "2026-07-01T12:00:00+02:00"


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["de", "en"])
def test_exports_are_byte_for_byte_the_serializers(anon_client, varied_reports, language):
    geojson = anon_client.get(URL, {"format": "geojson"}, HTTP_ACCEPT_LANGUAGE=language)
    csv_file = anon_client.get(URL, {"format": "csv"}, HTTP_ACCEPT_LANGUAGE=language)

    with translation.override(language):
        expected = serializer_records(("updated_at", "pk"), geojson.wsgi_request)

    assert geojson.status_code == 200
    assert geojson.content == JSONRenderer().render(exports.feature_collection(expected))
    assert csv_file.status_code == 200
    csv_text = "".join(",".join(_quoted(cell) for cell in row) + "\r\n" for row in exports.csv_rows(expected))
    assert csv_file.content.decode() == csv_text
    assert len(geojson.json()["features"]) == 7


def _quoted(cell: str) -> str:
    # csv.writer's minimal quoting, spelled out so the expectation does not reuse the renderer.
    if any(character in cell for character in ',"\r\n'):
        return '"' + cell.replace('"', '""') + '"'
    return cell
