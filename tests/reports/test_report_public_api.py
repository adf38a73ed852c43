"""The public side of the Mängelmelder: the category catalogue and the reports as open data
(``GET /api/v1/reports/categories``, ``GET /api/v1/reports/`` as JSON, GeoJSON and CSV, ``GET /{id}``)."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from reports.exports import CSV_COLUMNS, EXPORT_LIMIT, LICENSE_NAME, LICENSE_URL
from reports.models import Report, ReportStatus
from reports.services import report_assign, report_moderate, report_note, report_transition
from tests.conftest import assert_error_shape
from tests.factories import StaffFactory
from tests.reports import images
from tests.reports.factories import (
    CITY_POINT,
    CategoryFactory,
    CategoryGroupFactory,
    CategoryQuestionFactory,
    ReportFactory,
    moved,
)

URL = "/api/v1/reports/"
CATEGORIES_URL = "/api/v1/reports/categories"
PUBLIC_FIELDS = {
    "id",
    "category",
    "category_label",
    "category_group",
    "status",
    "status_label",
    "description",
    "address",
    "stadtteil",
    "latitude",
    "longitude",
    "support_count",
    "duplicate_of",
    "forwarded_to",
    "photos",
    "created_at",
    "updated_at",
    "closed_at",
}
CONTACT_EMAIL = "geheim@example.org"
CONTACT_PHONE = "+49 2305 987654"
INTERNAL_NOTE = "Intern: Melder ist der Nachbar des Hausmeisters"
SECRET_ANSWER = "Meine Handynummer ist 0170 1234567"


def detail_url(report_id: int) -> str:
    return f"{URL}{report_id}"


def ids(response: Any) -> list[int]:
    assert response.status_code == 200, response.content[:500]
    return sorted(item["id"] for item in response.json()["results"])


@pytest.fixture
def pothole(db: Any) -> Any:
    group = CategoryGroupFactory(key="strassen", name_de="Straßen und Wege", name_en="Roads and paths")
    return CategoryFactory(parent=group, key="schlagloch", name_de="Schlagloch", name_en="Pothole")


@pytest.fixture
def clerk(pothole: Any) -> Any:
    """Triage staff of the pothole's department."""
    user = StaffFactory(username="k.kaiser", first_name="Klara", last_name="Kaiser", roles=["Triage"])
    pothole.department.members.add(user)
    return user


@pytest.fixture
def private_report(device: Any, pothole: Any, clerk: Any) -> Report:
    """A report carrying everything that must never be public."""
    report = ReportFactory(
        category=pothole,
        installation=device,
        contact_email=CONTACT_EMAIL,
        contact_phone=CONTACT_PHONE,
        contact_consent=True,
        answers={"hinweis": SECRET_ANSWER},
        description="Tiefes Loch",
    )
    report_assign(report=report, actor=clerk, assignee=clerk)
    report_transition(
        report=report,
        actor=clerk,
        status=ReportStatus.IN_PROGRESS,
        public_message="Ist beauftragt.",
        internal_note=INTERNAL_NOTE,
    )
    report_note(report=report, actor=clerk, note=INTERNAL_NOTE)
    return Report.objects.get(pk=report.pk)


def assert_nothing_private(text: str, report: Report) -> None:
    for secret in (
        CONTACT_EMAIL,
        CONTACT_PHONE,
        str(report.installation_id),
        INTERNAL_NOTE,
        SECRET_ANSWER,
        "k.kaiser",
        "Kaiser",
        "contact_",
        "installation",
        "assigned_to",
        "internal_note",
        "hidden",
    ):
        assert secret not in text, secret


def photo_upload(name: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, images.phone_jpeg((40, 30), noise=False), content_type="image/jpeg")


# --- categories


@pytest.fixture
def catalogue(db: Any) -> dict[str, Any]:
    lights = CategoryGroupFactory(
        key="beleuchtung", name_de="Beleuchtung", name_en="Street lighting", position=2
    )
    roads = CategoryGroupFactory(key="strassen", name_de="Straßen und Wege", name_en="", position=1)
    lamp = CategoryFactory(
        parent=lights, key="strassenlaterne", name_de="Straßenlaterne defekt", name_en="Streetlight out"
    )
    CategoryQuestionFactory(
        category=lamp,
        key="fehlerbild",
        label_de="Was ist los?",
        label_en="What is wrong?",
        kind="single_choice",
        required=True,
        choices=[{"key": "aus", "label_de": "Leuchtet nicht", "label_en": "Not lit"}],
    )
    CategoryFactory(parent=lights, key="ampel", is_active=False)
    CategoryFactory(parent=roads, key="schlagloch", name_de="Schlagloch", name_en="", icon_key="pothole")
    empty = CategoryGroupFactory(key="leer")
    CategoryFactory(parent=empty, key="nur-inaktiv", is_active=False)
    switched_off = CategoryGroupFactory(key="abgeschaltet", is_active=False)
    CategoryFactory(parent=switched_off, key="unter-abgeschaltet")
    return {"lamp": lamp}


@pytest.mark.django_db
def test_categories_are_a_tree_of_active_groups_and_leaves_with_their_questions(anon_client, catalogue):
    response = anon_client.get(CATEGORIES_URL)

    assert response.status_code == 200
    groups = response.json()["groups"]
    assert [group["key"] for group in groups] == ["strassen", "beleuchtung"]
    roads, lights = groups
    assert roads["label"] == "Straßen und Wege"
    assert [leaf["key"] for leaf in roads["categories"]] == ["schlagloch"]
    assert roads["categories"][0]["icon"] == "pothole"
    assert roads["categories"][0]["questions"] == []
    assert [leaf["key"] for leaf in lights["categories"]] == ["strassenlaterne"]
    assert lights["categories"][0]["questions"] == [
        {
            "key": "fehlerbild",
            "label": "Was ist los?",
            "kind": "single_choice",
            "required": True,
            "choices": [{"key": "aus", "label": "Leuchtet nicht"}],
        }
    ]
    assert response["Cache-Control"] == "public, max-age=300"
    assert "Accept-Language" in response["Vary"]


@pytest.mark.django_db
def test_categories_in_english_fall_back_to_german_where_untranslated(anon_client, catalogue):
    groups = anon_client.get(CATEGORIES_URL, HTTP_ACCEPT_LANGUAGE="en").json()["groups"]

    roads, lights = groups
    assert roads["label"] == "Straßen und Wege"  # no English name
    assert roads["categories"][0]["label"] == "Schlagloch"
    assert lights["label"] == "Street lighting"
    [question] = lights["categories"][0]["questions"]
    assert question["label"] == "What is wrong?"
    assert question["choices"] == [{"key": "aus", "label": "Not lit"}]


@pytest.mark.django_db
def test_categories_answer_304_to_their_etag(anon_client, catalogue):
    first = anon_client.get(CATEGORIES_URL)

    again = anon_client.get(CATEGORIES_URL, HTTP_IF_NONE_MATCH=first["ETag"])

    assert again.status_code == 304


# --- the list: privacy


@pytest.mark.django_db
def test_list_shows_public_fields_only(anon_client, private_report):
    response = anon_client.get(URL)

    assert response.status_code == 200
    [item] = response.json()["results"]
    assert set(item) == PUBLIC_FIELDS
    assert item["status"] == ReportStatus.IN_PROGRESS
    assert item["status_label"] == "In Bearbeitung"
    assert item["category_group"] == "strassen"
    assert_nothing_private(response.content.decode(), private_report)
    assert response["Link"] == f'<{LICENSE_URL}>; rel="license"'
    assert response["Cache-Control"] == "public, max-age=60"


@pytest.mark.django_db
def test_detail_shows_the_public_timeline_only(anon_client, private_report):
    response = anon_client.get(detail_url(private_report.pk))

    assert response.status_code == 200
    body = response.json()
    assert set(body) == PUBLIC_FIELDS | {"timeline"}
    assert [(entry["kind"], entry["message"]) for entry in body["timeline"]] == [
        ("created", ""),
        ("status", "Ist beauftragt."),
    ]
    assert_nothing_private(response.content.decode(), private_report)


@pytest.mark.django_db
def test_hidden_report_is_left_out_and_its_detail_is_404(anon_client, pothole):
    shown = ReportFactory(category=pothole)
    hidden = ReportFactory(category=pothole, hidden=True)

    assert ids(anon_client.get(URL)) == [shown.pk]
    assert_error_shape(anon_client.get(detail_url(hidden.pk)), 404, "not_found")
    assert_error_shape(anon_client.get(detail_url(hidden.pk + 1000)), 404, "not_found")


@pytest.mark.django_db
def test_photos_have_absolute_urls_and_removed_ones_are_left_out(anon_client, device_client, pothole, clerk):
    filed = device_client.post(
        URL,
        {
            "category": "schlagloch",
            "latitude": CITY_POINT[0],
            "longitude": CITY_POINT[1],
            "photos": [photo_upload("a.jpg"), photo_upload("b.jpg")],
        },
        format="multipart",
    )
    report = Report.objects.get(pk=filed.json()["id"])
    first, second = report.photos.all()
    report_moderate(report=report, actor=clerk, remove_photo_ids=[first.pk])

    listed = anon_client.get(URL).json()["results"][0]["photos"]
    detailed = anon_client.get(detail_url(report.pk)).json()["photos"]

    assert listed == detailed
    [photo] = listed
    stable = f"http://testserver/media/reports/photos/{second.public_id}-{second.content_hash}"
    assert photo["image"] == f"{stable}.jpg"
    assert photo["thumbnail"] == f"{stable}-thumb.jpg"
    assert first.public_id not in str(listed)
    assert anon_client.get(URL, {"format": "csv"}).content.decode().count("http://testserver/media/") == 1


@pytest.mark.django_db
def test_list_is_cursor_paginated_newest_first(anon_client, pothole):
    now = timezone.now()
    reports = [ReportFactory(category=pothole, created_at=now - timedelta(hours=hours)) for hours in range(3)]

    first = anon_client.get(URL, {"page_size": 2}).json()
    second = anon_client.get(first["next"]).json()

    assert [item["id"] for item in first["results"]] == [reports[0].pk, reports[1].pk]
    assert [item["id"] for item in second["results"]] == [reports[2].pk]


@pytest.mark.django_db
def test_list_answers_304_to_its_etag(anon_client, pothole):
    ReportFactory(category=pothole)
    first = anon_client.get(URL)

    again = anon_client.get(URL, HTTP_IF_NONE_MATCH=first["ETag"])
    ReportFactory(category=pothole)
    changed = anon_client.get(URL, HTTP_IF_NONE_MATCH=first["ETag"])

    assert first.status_code == 200
    assert first["ETag"]
    assert again.status_code == 304
    assert changed.status_code == 200


# --- the list: filters


@pytest.mark.django_db
def test_bbox_selects_reports_inside_it(anon_client, pothole):
    inside = ReportFactory(category=pothole, point=moved(CITY_POINT, north_m=100))
    ReportFactory(category=pothole, point=moved(CITY_POINT, north_m=-2000))
    lat, lon = CITY_POINT
    bbox = f"{lon - 0.01},{lat - 0.005},{lon + 0.01},{lat + 0.005}"

    assert ids(anon_client.get(URL, {"bbox": bbox})) == [inside.pk]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "bbox",
    [
        "7.2,51.5,7.3",
        "7.2,51.5,7.3,51.6,8",
        "west,51.5,7.3,51.6",
        "7.2,51.5,7.3,NaN",
        "7.2,51.5,inf,51.6",
        "7.3,51.5,7.2,51.6",  # west of east swapped
        "7.2,51.6,7.3,51.5",  # south of north swapped
        "7.2,51.5,7.2,51.6",  # no width
        "6.0,51.5,7.3,51.6",  # more than a degree wide
        "7.2,50.0,7.3,51.6",  # more than a degree high
        "7.2,91,7.3,92",
    ],
)
def test_bad_bbox_is_400(anon_client, pothole, bbox):
    body = assert_error_shape(anon_client.get(URL, {"bbox": bbox}), 400, "validation_error")

    assert [error["field"] for error in body["errors"]] == ["bbox"]


@pytest.mark.django_db
def test_status_filter_takes_a_comma_list(anon_client, pothole):
    received = ReportFactory(category=pothole, status=ReportStatus.RECEIVED)
    in_progress = ReportFactory(category=pothole, status=ReportStatus.IN_PROGRESS)
    done = ReportFactory(category=pothole, status=ReportStatus.DONE)

    assert ids(anon_client.get(URL, {"status": "eingegangen,in_bearbeitung"})) == [
        received.pk,
        in_progress.pk,
    ]
    assert ids(anon_client.get(URL, {"status": "erledigt"})) == [done.pk]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"status": "eingegangen,kaputt"}, "status"),
        ({"category": "gibt-es-nicht"}, "category"),
        ({"stadtteil": "Dortmund-Mitte"}, "stadtteil"),
        ({"updated_since": "gestern"}, "updated_since"),
        ({"page_size": "abc", "updated_since": "2025-13-01"}, "updated_since"),
    ],
)
def test_bad_filter_is_400_naming_it(anon_client, pothole, query, field):
    body = assert_error_shape(anon_client.get(URL, query), 400, "validation_error")

    assert [error["field"] for error in body["errors"]] == [field]


@pytest.mark.django_db
def test_category_filter_takes_a_leaf_or_its_group(anon_client, pothole):
    drain = CategoryFactory(parent=pothole.parent, key="gully")
    elsewhere = CategoryFactory(key="graffiti")
    in_pothole = ReportFactory(category=pothole)
    in_drain = ReportFactory(category=drain)
    ReportFactory(category=elsewhere)

    assert ids(anon_client.get(URL, {"category": "schlagloch"})) == [in_pothole.pk]
    assert ids(anon_client.get(URL, {"category": "strassen"})) == [in_pothole.pk, in_drain.pk]


@pytest.mark.django_db
def test_stadtteil_filter(anon_client, pothole):
    ickern = ReportFactory(category=pothole, stadtteil="Ickern")
    ReportFactory(category=pothole, stadtteil="Habinghorst")

    assert ids(anon_client.get(URL, {"stadtteil": "Ickern"})) == [ickern.pk]


@pytest.mark.django_db
def test_updated_since_is_inclusive_and_takes_iso_8601(anon_client, pothole):
    now = timezone.now()
    ReportFactory(category=pothole, updated_at=now - timedelta(days=3))
    recent = ReportFactory(category=pothole, updated_at=now - timedelta(hours=1))
    since = (now - timedelta(days=1)).isoformat()

    assert ids(anon_client.get(URL, {"updated_since": since})) == [recent.pk]
    assert ids(anon_client.get(URL, {"updated_since": recent.updated_at.isoformat()})) == [recent.pk]


# --- GeoJSON


@pytest.mark.django_db
def test_geojson_is_an_rfc_7946_feature_collection_with_the_licence(anon_client, private_report):
    response = anon_client.get(URL, {"format": "geojson"})

    assert response.status_code == 200
    assert response["Content-Type"] == "application/geo+json"
    assert response["Link"] == f'<{LICENSE_URL}>; rel="license"'
    collection = response.json()
    assert collection["type"] == "FeatureCollection"
    assert collection["license"] == {"name": LICENSE_NAME, "url": LICENSE_URL}
    assert "Castrop-Rauxel" in collection["attribution"]
    assert collection["truncated"] is False
    [feature] = collection["features"]
    assert feature["type"] == "Feature"
    assert feature["id"] == private_report.pk
    assert feature["geometry"] == {
        "type": "Point",
        "coordinates": [private_report.longitude, private_report.latitude],
    }
    assert set(feature["properties"]) == PUBLIC_FIELDS - {"latitude", "longitude"}
    assert_nothing_private(response.content.decode(), private_report)


@pytest.mark.django_db
def test_geojson_by_accept_header(anon_client, pothole):
    ReportFactory(category=pothole)

    response = anon_client.get(URL, HTTP_ACCEPT="application/geo+json")

    assert response["Content-Type"] == "application/geo+json"
    assert response.json()["type"] == "FeatureCollection"
    assert "Accept" in response["Vary"]


@pytest.mark.django_db
def test_geojson_respects_the_filters_and_is_not_paginated(anon_client, pothole):
    for _ in range(3):
        ReportFactory(category=pothole, status=ReportStatus.RECEIVED)
    ReportFactory(category=pothole, status=ReportStatus.DONE)

    collection = anon_client.get(URL, {"format": "geojson", "status": "eingegangen", "page_size": 1}).json()

    assert len(collection["features"]) == 3
    assert {feature["properties"]["status"] for feature in collection["features"]} == {"eingegangen"}


@pytest.mark.django_db
def test_geojson_answers_304_to_its_etag(anon_client, pothole):
    ReportFactory(category=pothole)
    first = anon_client.get(URL, {"format": "geojson"})

    again = anon_client.get(URL, {"format": "geojson"}, HTTP_IF_NONE_MATCH=first["ETag"])

    assert again.status_code == 304


@pytest.mark.django_db
def test_export_is_capped_and_says_so(monkeypatch, anon_client, pothole):
    monkeypatch.setattr("reports.exports.EXPORT_LIMIT", 2)
    now = timezone.now()
    reports = [ReportFactory(category=pothole, updated_at=now - timedelta(hours=hours)) for hours in range(3)]

    response = anon_client.get(URL, {"format": "geojson"})

    # Least recently changed first, so a harvester continues with updated_since.
    assert [feature["id"] for feature in response.json()["features"]] == [reports[2].pk, reports[1].pk]
    assert response.json()["truncated"] is True
    assert response["X-Export-Truncated"] == "true"
    assert EXPORT_LIMIT == 10_000


# --- CSV


@pytest.mark.django_db
def test_csv_has_a_header_row_and_no_private_data(anon_client, private_report):
    response = anon_client.get(URL, {"format": "csv"})

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8; header=present"
    assert response["Content-Disposition"] == 'attachment; filename="maengelmelder-castrop-rauxel.csv"'
    assert response["Link"] == f'<{LICENSE_URL}>; rel="license"'
    text = response.content.decode("utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == list(CSV_COLUMNS)
    assert len(rows) == 2
    record = dict(zip(rows[0], rows[1], strict=True))
    assert record["id"] == str(private_report.pk)
    assert record["status"] == ReportStatus.IN_PROGRESS
    assert float(record["latitude"]) == private_report.latitude
    assert float(record["longitude"]) == private_report.longitude
    assert_nothing_private(text, private_report)


@pytest.mark.django_db
def test_csv_respects_the_filters(anon_client, pothole):
    ReportFactory(category=pothole, stadtteil="Ickern")
    ReportFactory(category=pothole, stadtteil="Rauxel")

    rows = list(
        csv.reader(
            io.StringIO(anon_client.get(URL, {"format": "csv", "stadtteil": "Rauxel"}).content.decode())
        )
    )

    assert len(rows) == 2
    assert rows[1][CSV_COLUMNS.index("stadtteil")] == "Rauxel"


@pytest.mark.django_db
def test_csv_neutralises_formulas_in_citizens_text(anon_client, pothole):
    ReportFactory(
        category=pothole, description='=HYPERLINK("http://evil.example","klick")', address="+49 Weg"
    )

    rows = list(csv.reader(io.StringIO(anon_client.get(URL, {"format": "csv"}).content.decode())))

    assert rows[1][CSV_COLUMNS.index("description")] == '\'=HYPERLINK("http://evil.example","klick")'
    assert rows[1][CSV_COLUMNS.index("address")] == "'+49 Weg"


@pytest.mark.django_db
def test_errors_of_an_export_are_json_in_the_error_shape(anon_client, pothole):
    assert_error_shape(anon_client.get(URL, {"format": "csv", "bbox": "1,2,3"}), 400, "validation_error")
    assert_error_shape(
        anon_client.get(URL, {"format": "geojson", "status": "kaputt"}), 400, "validation_error"
    )


@pytest.mark.django_db
def test_unknown_format_is_a_400_naming_the_formats(anon_client, pothole):
    response = anon_client.get(URL, {"format": "xlsx"}, HTTP_ACCEPT_LANGUAGE="en")

    [error] = assert_error_shape(response, 400, "validation_error")["errors"]
    assert (error["field"], error["code"]) == ("format", "invalid_choice")
    assert error["detail"] == 'Unknown format "xlsx"; allowed: csv, geojson, json.'


@pytest.mark.django_db
def test_a_forged_cursor_is_a_404_in_the_error_shape_not_a_500(anon_client):
    import base64

    forged = base64.urlsafe_b64encode(b"o=1&p=garbage").decode()

    response = anon_client.get("/api/v1/reports/", {"cursor": forged})

    assert_error_shape(response, 404, "not_found")
