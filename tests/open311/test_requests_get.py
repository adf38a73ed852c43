"""``GET requests.{xml,json}`` and ``requests/{id}.{xml,json}``: public reports as service requests, the
spec's filters, our extensions, and never any personal data."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from reports.models import Category, Report, ReportStatus
from reports.services import report_moderate, report_note, report_reply, report_transition
from tests.conftest import set_rates
from tests.factories import StaffFactory
from tests.open311 import schemas
from tests.open311.conftest import BASE, assert_open311_error, children, parse_json, parse_xml
from tests.reports.factories import CITY_POINT, DORTMUND, CategoryFactory, ReportFactory, moved
from tests.reports.staff_factories import photo

REQUEST_ELEMENTS = list(schemas.REQUEST_PROPERTIES)
CONTACT_EMAIL = "geheim@example.org"
CONTACT_PHONE = "+49 2305 987654"
CONTACT_NAME = "Erika Mustermann"
INTERNAL_NOTE = "Intern: Melder ist der Nachbar des Hausmeisters"
SECRET_ANSWER = "Meine Handynummer ist 0170 1234567"


def ids(body: list[dict[str, Any]]) -> list[int]:
    return [int(request["service_request_id"]) for request in body]


def get(reader: Any, fmt: str = "json", **params: Any) -> Any:
    return reader.get(f"{BASE}requests.{fmt}", params)


@pytest.fixture
def staff(db: Any) -> Any:
    return StaffFactory(roles=["Administration"])


@pytest.fixture
def filed(streetlight: Category) -> Report:
    """A report with everything private on it: contact data, an answer, an internal note."""
    report: Report = ReportFactory(
        category=streetlight,
        address="Marktplatz 1, 44575 Castrop-Rauxel",
        stadtteil="Castrop",
        contact_name=CONTACT_NAME,
        contact_email=CONTACT_EMAIL,
        contact_phone=CONTACT_PHONE,
        contact_consent=True,
        answers={"fehlerbild": "aus", "hinweis": SECRET_ANSWER},
    )
    report_note(report=report, actor=StaffFactory(), note=INTERNAL_NOTE)
    return report


@pytest.mark.django_db
def test_requests_json_validates_against_the_spec_schema(reader: Any, filed: Report) -> None:
    response = get(reader)

    assert response.status_code == 200
    body = parse_json(response)
    schemas.validate(body, schemas.REQUESTS)
    (request,) = body
    assert request["service_request_id"] == str(filed.pk)
    assert request["status"] == "open"
    assert request["service_code"] == "strassenlaterne"
    assert request["service_name"] == "Straßenlaterne defekt"
    assert request["description"] == filed.description
    assert request["agency_responsible"] == filed.category.department.name
    assert request["address"] == "Marktplatz 1, 44575 Castrop-Rauxel"
    assert request["zipcode"] == "44575"
    assert (request["lat"], request["long"]) == (filed.latitude, filed.longitude)
    assert request["media_url"] is None
    requested = datetime.fromisoformat(request["requested_datetime"])
    assert requested == filed.created_at.replace(microsecond=0)
    assert requested.utcoffset() in (timedelta(hours=1), timedelta(hours=2))  # Europe/Berlin


@pytest.mark.django_db
def test_requests_xml_has_the_spec_elements_and_types(reader: Any, filed: Report) -> None:
    root = parse_xml(get(reader, "xml"))

    assert root.tag == "service_requests"
    (request,) = list(root)
    assert request.tag == "request"
    assert children(request) == REQUEST_ELEMENTS
    assert request.findtext("service_request_id") == str(filed.pk)
    assert request.findtext("status") == "open"
    assert float(request.findtext("lat") or "") == filed.latitude
    assert float(request.findtext("long") or "") == filed.longitude
    requested = datetime.fromisoformat(request.findtext("requested_datetime") or "")
    assert requested == filed.created_at.replace(microsecond=0)
    assert datetime.fromisoformat(request.findtext("updated_datetime") or "").tzinfo is not None
    assert request.findtext("expected_datetime") == ""
    assert request.findtext("zipcode") == "44575"


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_no_personal_or_internal_data_in_any_representation(reader: Any, filed: Report, fmt: str) -> None:
    for response in (
        get(reader, fmt),
        get(reader, fmt, extensions="true"),
        reader.get(f"{BASE}requests/{filed.pk}.{fmt}", {"extensions": "true"}),
    ):
        text = response.content.decode()
        assert response.status_code == 200
        for private in (CONTACT_EMAIL, CONTACT_PHONE, CONTACT_NAME, INTERNAL_NOTE, SECRET_ANSWER):
            assert private not in text
        assert str(filed.installation_id) not in text


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_one_request_is_an_array_with_one_element(reader: Any, filed: Report, fmt: str) -> None:
    response = reader.get(f"{BASE}requests/{filed.pk}.{fmt}")

    assert response.status_code == 200
    if fmt == "json":
        body = parse_json(response)
        schemas.validate(body, schemas.REQUESTS)
        assert ids(body) == [filed.pk]
    else:
        root = parse_xml(response)
        assert root.tag == "service_requests"
        assert [(r.tag, r.findtext("service_request_id")) for r in root] == [("request", str(filed.pk))]


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_unknown_or_hidden_request_is_404(reader: Any, filed: Report, staff: Any, fmt: str) -> None:
    assert_open311_error(reader.get(f"{BASE}requests/999999.{fmt}"), 404, fmt, mentions="999999")

    report_moderate(report=filed, actor=staff, hide=True)

    assert_open311_error(reader.get(f"{BASE}requests/{filed.pk}.{fmt}"), 404, fmt)
    assert get(reader).json() == []


@pytest.mark.django_db
def test_workflow_maps_to_open_and_closed_with_status_notes(reader: Any, filed: Report, staff: Any) -> None:
    report_transition(report=filed, actor=staff, status=ReportStatus.IN_PROGRESS)
    report_reply(report=filed, actor=staff, message="Der Auftrag ist an die Stadtwerke gegangen.")
    (request,) = get(reader).json()
    assert request["status"] == "open"
    assert request["status_notes"] == "Der Auftrag ist an die Stadtwerke gegangen."

    report_transition(report=filed, actor=staff, status=ReportStatus.DONE, public_message="Repariert.")

    (request,) = get(reader).json()
    assert request["status"] == "closed"
    assert request["status_notes"] == "Repariert."
    assert datetime.fromisoformat(request["updated_datetime"]) >= datetime.fromisoformat(
        request["requested_datetime"]
    )


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_extensions_add_status_stadtteil_supporters_and_public_history(
    reader: Any, filed: Report, staff: Any, fmt: str
) -> None:
    report_transition(report=filed, actor=staff, status=ReportStatus.IN_REVIEW, public_message="Wir prüfen.")

    response = get(reader, fmt, extensions="true")

    if fmt == "json":
        body = parse_json(response)
        schemas.validate(body, schemas.EXTENDED_REQUESTS)
        extended = body[0]["extended_attributes"]
        assert extended["status"] == "in_pruefung"
        assert extended["status_label"] == "In Prüfung"
        assert extended["stadtteil"] == "Castrop"
        assert extended["support_count"] == 0
        assert [(n["type"], n["status"], n["description"]) for n in extended["notes"]] == [
            ("created", "eingegangen", None),
            ("status", "in_pruefung", "Wir prüfen."),
        ]
    else:
        (request,) = list(parse_xml(response))
        assert children(request) == [*REQUEST_ELEMENTS, "extended_attributes"]
        extended_xml = request.find("extended_attributes")
        assert extended_xml is not None
        assert children(extended_xml) == [
            "status",
            "status_label",
            "stadtteil",
            "support_count",
            "duplicate_of",
            "notes",
        ]
        notes = extended_xml.find("notes")
        assert notes is not None
        assert [note.tag for note in notes] == ["note", "note"]
        assert notes[1].findtext("description") == "Wir prüfen."
    assert "extended_attributes" not in get(reader).json()[0]


@pytest.mark.django_db
def test_media_url_is_the_first_public_photo(reader: Any, filed: Report, staff: Any) -> None:
    removed = photo(filed, position=0)
    shown = photo(filed, position=1)
    report_moderate(report=filed, actor=staff, remove_photo_ids=[removed.pk])

    (request,) = get(reader).json()

    assert request["media_url"] == (
        f"http://testserver/media/reports/photos/{shown.public_id}-{shown.content_hash}.jpg"
    )


@pytest.mark.django_db
def test_service_request_id_list_overrides_the_other_filters(reader: Any, streetlight: Category) -> None:
    old = ReportFactory(category=streetlight, created_at=timezone.now() - timedelta(days=200))
    other = ReportFactory(category=CategoryFactory())
    ReportFactory(category=streetlight)

    body = get(
        reader, service_request_id=f"{old.pk},{other.pk},999999", service_code="strassenlaterne"
    ).json()

    assert sorted(ids(body)) == sorted([old.pk, other.pk])


@pytest.mark.django_db
def test_default_window_is_90_days_newest_first(reader: Any, streetlight: Category) -> None:
    now = timezone.now()
    recent = ReportFactory(category=streetlight, created_at=now - timedelta(days=1))
    older = ReportFactory(category=streetlight, created_at=now - timedelta(days=80))
    ReportFactory(category=streetlight, created_at=now - timedelta(days=91))

    assert ids(get(reader).json()) == [recent.pk, older.pk]
    # An empty parameter behaves like an absent one.
    assert ids(get(reader, start_date="", end_date="", status="", service_code="").json()) == [
        recent.pk,
        older.pk,
    ]


@pytest.mark.django_db
def test_start_and_end_date_status_and_service_code(reader: Any, streetlight: Category, staff: Any) -> None:
    now = timezone.now()
    in_range = ReportFactory(category=streetlight, created_at=now - timedelta(days=120))
    closed = ReportFactory(category=streetlight, created_at=now - timedelta(days=110))
    report_transition(
        report=closed, actor=staff, status=ReportStatus.REJECTED, public_message="Kein Schaden."
    )
    ReportFactory(category=CategoryFactory(key="muell"), created_at=now - timedelta(days=115))
    ReportFactory(category=streetlight, created_at=now - timedelta(days=2))
    window = {
        "start_date": (now - timedelta(days=150)).isoformat(),
        "end_date": (now - timedelta(days=100)).isoformat(),
    }

    assert set(ids(get(reader, **window, service_code="strassenlaterne").json())) == {in_range.pk, closed.pk}
    assert ids(get(reader, **window, service_code="strassenlaterne", status="closed").json()) == [closed.pk]
    assert ids(get(reader, **window, service_code="strassenlaterne", status="open").json()) == [in_range.pk]
    assert len(get(reader, **window, service_code="strassenlaterne,muell", status="open,closed").json()) == 3
    assert ids(get(reader, start_date="2026-01-01T00:00:00Z", end_date="2026-01-02T00:00:00Z").json()) == []


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize(
    ("params", "mentions"),
    [
        ({"start_date": "gestern"}, "start_date"),
        ({"end_date": "2026-13-01T00:00:00Z"}, "end_date"),
        ({"start_date": "2026-03-01T00:00:00Z", "end_date": "2026-02-01T00:00:00Z"}, "end_date"),
        ({"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-06-01T00:00:00Z"}, "90"),
        (
            {"updated_after": "2026-03-01T00:00:00Z", "updated_before": "2026-02-01T00:00:00Z"},
            "updated_before",
        ),
        ({"status": "pending"}, "pending"),
        ({"service_request_id": "1,zwei"}, "service_request_id"),
        ({"lat": "51.5"}, "lat"),
        ({"radius": "100"}, "radius"),
        ({"lat": "91", "long": "7"}, "lat"),
        ({"lat": "51.5", "long": "7.3", "radius": "100000"}, "radius"),
        ({"bbox": "7,51"}, "bbox"),
        ({"page": "0"}, "page"),
        ({"page_size": "1001"}, "page_size"),
        ({"extensions": "vielleicht"}, "extensions"),
    ],
)
def test_bad_parameters_are_400(reader: Any, params: dict[str, str], mentions: str, fmt: str) -> None:
    assert_open311_error(get(reader, fmt, **params), 400, fmt, mentions=mentions)


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_unknown_service_code_filter_is_404(reader: Any, streetlight: Category, fmt: str) -> None:
    assert_open311_error(get(reader, fmt, service_code="strassenlaterne,ufo"), 404, fmt, mentions="ufo")


@pytest.mark.django_db
def test_updated_after_and_before(reader: Any, streetlight: Category) -> None:
    now = timezone.now()
    # Created long ago, changed recently: a partner syncing by updated_after must see it.
    changed = ReportFactory(
        category=streetlight, created_at=now - timedelta(days=300), updated_at=now - timedelta(hours=1)
    )
    unchanged = ReportFactory(
        category=streetlight, created_at=now - timedelta(days=10), updated_at=now - timedelta(days=10)
    )

    assert ids(get(reader, updated_after=(now - timedelta(days=1)).isoformat()).json()) == [changed.pk]
    assert ids(get(reader, updated_before=(now - timedelta(days=5)).isoformat()).json()) == [unchanged.pk]


@pytest.mark.django_db
def test_radius_and_bbox(reader: Any, streetlight: Category) -> None:
    centre = ReportFactory(category=streetlight, point=CITY_POINT)
    near = ReportFactory(category=streetlight, point=moved(CITY_POINT, north_m=300))
    far = ReportFactory(category=streetlight, point=moved(CITY_POINT, east_m=2000))
    lat, lon = CITY_POINT

    around = get(reader, lat=lat, long=lon, radius=400).json()
    assert sorted(ids(around)) == sorted([centre.pk, near.pk])
    assert ids(get(reader, lat=lat, long=lon, radius=100).json()) == [centre.pk]
    default_radius = get(reader, lat=lat, long=lon).json()
    assert sorted(ids(default_radius)) == sorted([centre.pk, near.pk])
    box = f"{lon + 0.01},{lat - 0.01},{lon + 0.05},{lat + 0.01}"
    assert ids(get(reader, bbox=box).json()) == [far.pk]
    assert ids(get(reader, lat=DORTMUND[0], long=DORTMUND[1], radius=1000).json()) == []


@pytest.mark.django_db
def test_pages(reader: Any, streetlight: Category) -> None:
    now = timezone.now()
    reports = [ReportFactory(category=streetlight, created_at=now - timedelta(hours=n)) for n in range(5)]

    first = ids(get(reader, page_size=2).json())
    second = ids(get(reader, page_size=2, page=2).json())
    third = ids(get(reader, page_size=2, page=3).json())

    assert first + second + third == [report.pk for report in reports]
    assert ids(get(reader, page_size=2, page=4).json()) == []


@pytest.mark.django_db
def test_at_most_1000_results(reader: Any, streetlight: Category) -> None:
    Report.objects.bulk_create(
        Report(category=streetlight, latitude=CITY_POINT[0], longitude=CITY_POINT[1]) for _ in range(1003)
    )

    assert len(get(reader).json()) == 1000
    assert len(get(reader, page=2).json()) == 3


@pytest.mark.django_db
def test_requests_are_cacheable_for_a_minute(reader: Any, filed: Report) -> None:
    first = get(reader, "xml")

    assert first["Cache-Control"] == "public, max-age=60"
    assert reader.get(f"{BASE}requests.xml", headers={"If-None-Match": first["ETag"]}).status_code == 304


@pytest.mark.django_db
def test_anonymous_reads_are_throttled_in_the_spec_error_format(
    reader: Any, filed: Report, settings: Any
) -> None:
    set_rates(settings, anon="2/min")
    assert get(reader).status_code == 200
    assert get(reader).status_code == 200

    response = get(reader, "xml")

    assert_open311_error(response, 429, "xml")
    assert int(response["Retry-After"]) >= 1


@pytest.mark.django_db
def test_control_characters_in_a_description_keep_the_xml_well_formed(
    reader: Any, streetlight: Category
) -> None:
    # The app's API refuses only NUL; XML 1.0 cannot carry the other C0 controls even escaped.
    ReportFactory(category=streetlight, description="Klingel\x07 kaputt\x1b, Zeile\nzwei")

    (request,) = list(parse_xml(get(reader, "xml")))

    assert request.findtext("description") == "Klingel\ufffd kaputt\ufffd, Zeile\nzwei"
    assert get(reader).json()[0]["description"] == "Klingel\x07 kaputt\x1b, Zeile\nzwei"


@pytest.mark.django_db
def test_pages_within_a_radius(reader: Any, streetlight: Category) -> None:
    now = timezone.now()
    inside = [
        ReportFactory(category=streetlight, point=CITY_POINT, created_at=now - timedelta(hours=n))
        for n in range(5)
    ]
    ReportFactory(category=streetlight, point=moved(CITY_POINT, east_m=3000), created_at=now)
    lat, lon = CITY_POINT

    pages = [
        ids(get(reader, lat=lat, long=lon, radius=200, page_size=2, page=page).json()) for page in (1, 2, 3)
    ]

    assert pages == [[inside[0].pk, inside[1].pk], [inside[2].pk, inside[3].pk], [inside[4].pk]]


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_bad_extensions_value_on_one_request_is_400(reader: Any, filed: Report, fmt: str) -> None:
    response = reader.get(f"{BASE}requests/{filed.pk}.{fmt}", {"extensions": "vielleicht"})

    assert_open311_error(response, 400, fmt, mentions="extensions")


@pytest.mark.django_db
def test_query_count_does_not_grow_with_the_requests(
    reader: Any, streetlight: Category, staff: Any, django_assert_max_num_queries: Any
) -> None:
    for _ in range(30):
        report = ReportFactory(category=streetlight)
        photo(report)
        report_reply(report=report, actor=staff, message="Danke")

    with django_assert_max_num_queries(8):
        body = get(reader, extensions="true").json()

    assert len(body) == 30
