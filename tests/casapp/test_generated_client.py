"""Proof that a client generated from /api/schema/ is enough for an app: openapi-python-client (PyPI, a dev
dependency) generates a Python client from the live server's schema into a temporary folder, and the test
walks through docs/api.md's "First day with the API" with it, step by step and in the same order, with no
request written by hand.

The generator runs offline (``--meta none``: no project files, no formatter, nothing fetched); the client
talks to pytest-django's live server on loopback.
"""

from __future__ import annotations

import datetime as dt
import importlib
import io
import json
import re
import subprocess
import sys
import uuid
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from django.utils import timezone
from PIL import Image

from push.models import Notification, NotificationKind, NotificationStatus, OutageState
from reports.models import QuestionKind
from tests.reports.factories import CategoryFactory, CategoryGroupFactory, CategoryQuestionFactory
from tests.waste_calendar.conftest import Town, town  # noqa: F401 - the Abfallkalender tests' town
from tests.waste_calendar.factories import CollectionFactory
from waste_calendar.api.serializers import active_type_keys_forget
from waste_calendar.apps import register_reminder_category
from waste_calendar.lookup import local_forget

pytestmark = pytest.mark.django_db(transaction=True)

DOCS = Path(__file__).resolve().parents[2] / "docs" / "api.md"
PACKAGE = "casapp_client"


def walkthrough_steps() -> list[str]:
    """The operation ids of docs/api.md's "First day with the API", in their order."""
    text = DOCS.read_text(encoding="utf-8")
    steps = text.split("<!-- steps:", 1)[1].split("<!-- /steps -->", 1)[0]
    return re.findall(r"^\s*\d+\. \*\*[^*]+\*\* — `([a-z_]+)`", steps, flags=re.MULTILINE)


@pytest.fixture(scope="session")
def generated_client(tmp_path_factory: pytest.TempPathFactory) -> _GeneratedClient:
    """Generates the client package once per session from the schema as the server publishes it."""
    return _GeneratedClient(tmp_path_factory.mktemp("generated-client"))


class _GeneratedClient:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.package: ModuleType | None = None

    def generate(self, schema: dict[str, Any]) -> ModuleType:
        if self.package is not None:
            return self.package
        schema_file = self.folder / "schema.json"
        schema_file.write_text(json.dumps(schema), encoding="utf-8")
        config = self.folder / "config.json"
        config.write_text(json.dumps({"package_name_override": PACKAGE, "post_hooks": []}), encoding="utf-8")
        generator = Path(sys.executable).with_name("openapi-python-client")
        output = self.folder / PACKAGE
        result = subprocess.run(  # noqa: S603 - our own dev dependency, our own schema
            [
                str(generator),
                "generate",
                "--path",
                str(schema_file),
                "--meta",
                "none",
                "--config",
                str(config),
                "--output-path",
                str(output),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        # Warnings mean parts of the schema the generator could not turn into code.
        assert "Warning" not in result.stdout + result.stderr, result.stdout + result.stderr
        _import_unset_where_used(output)
        sys.path.insert(0, str(self.folder))
        self.package = importlib.import_module(PACKAGE)
        return self.package

    def module(self, name: str) -> Any:
        return importlib.import_module(f"{PACKAGE}.{name}")


def _import_unset_where_used(package: Path) -> None:
    """openapi-python-client 0.29.1 writes ``| Unset`` into the signature of an operation that takes several
    media types (here ``reports_create``: multipart and JSON) without importing it (its issue #1451, fixed
    by its pull request #1478, not yet released). The one line it forgets, where it forgets it."""
    for module in package.glob("api/*/*.py"):
        code = module.read_text(encoding="utf-8")
        if "| Unset" in code and not re.search(r"^from \.\.\.types import .*\bUnset\b", code, re.MULTILINE):
            module.write_text("from ...types import Unset\n" + code, encoding="utf-8")


@pytest.fixture
def city(town: Town) -> dict[str, Any]:  # noqa: F811 - the imported fixture
    """What the walk-through needs: a category with a required question, the town's Bahnhofstraße with a
    collection ahead, and an ongoing outage on the notice board."""
    group = CategoryGroupFactory(key="beleuchtung", name_de="Beleuchtung", name_en="Lighting")
    lantern = CategoryFactory(parent=group, key="strassenlaterne", name_de="Straßenlaterne defekt")
    CategoryQuestionFactory(
        category=lantern,
        key="fehlerbild",
        label_de="Was ist los?",
        kind=QuestionKind.SINGLE_CHOICE,
        required=True,
        choices=[{"key": "aus", "label_de": "Leuchtet nicht"}, {"key": "flackert", "label_de": "Flackert"}],
    )
    active_type_keys_forget()
    local_forget()
    register_reminder_category()
    for district in town.districts.values():
        CollectionFactory(district=district, date=timezone.localdate() + dt.timedelta(days=3))
    Notification.objects.create(
        kind=NotificationKind.OUTAGE,
        content={"de": {"title": "Bürgerbüro geschlossen", "body": "Wegen einer Störung heute zu."}},
        status=NotificationStatus.SENT,
        audience_kind="all",
        outage_state=OutageState.ONGOING,
        started_at=timezone.now(),
    )
    return {"street": town.bahnhofstrasse.name}


def _photo() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (640, 480), (90, 110, 130)).save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def test_an_app_does_its_first_day_with_a_client_generated_from_the_schema(
    live_server: Any, generated_client: _GeneratedClient, city: dict[str, Any]
) -> None:
    schema = httpx.get(f"{live_server.url}/api/schema/?format=json", timeout=30).json()
    generated_client.generate(schema)
    client_module = generated_client.module("client")
    api = "api"
    models = generated_client.module("models")
    types = generated_client.module("types")

    operations = {
        (method.upper(), re.sub(r"\{[^}]+\}", "[^/]+", path)): operation["operationId"]
        for path, methods in schema["paths"].items()
        for method, operation in methods.items()
    }
    called: list[str] = []

    def note(request: httpx.Request) -> None:
        # Literal paths first: /reports/categories is not /reports/{report_id}.
        for (method, pattern), operation_id in sorted(
            operations.items(), key=lambda item: item[0][1].count("[")
        ):
            if request.method == method and re.fullmatch(pattern, request.url.path):
                called.append(operation_id)
                return
        called.append(f"{request.method} {request.url.path}")

    hooks = {"event_hooks": {"request": [note]}}
    anonymous = client_module.Client(
        base_url=live_server.url, headers={"Accept-Language": "de"}, httpx_args=hooks
    )

    def call(group: str, operation_id: str, **arguments: Any) -> Any:
        body = generated_client.module(f"{api}.{group}.{operation_id}").sync(**arguments)
        assert not isinstance(body, models.Error), (operation_id, body)
        assert body is not None, operation_id
        return body

    # 1. May this version start?
    config = call(
        "app", "app_config", client=anonymous, platform=models.AppConfigPlatform.ANDROID, version="2.4.1"
    )
    assert config.force_update is False

    # 2. Register the installation; from now on it authenticates with its secret.
    registration = models.InstallationRegisterRequest(
        platform=models.PlatformEnum.ANDROID,
        app_version="2.4.1",
        locale="de-DE",
        push_token="fcm-token-abcdefghijklmnop",
    )
    installation = call("devices", "devices_register", client=anonymous, body=registration)
    assert installation.has_push_token is True
    device = client_module.AuthenticatedClient(
        base_url=live_server.url, token=installation.secret, prefix="Device", httpx_args=hooks
    )

    # 3. What can be reported, and what the lantern category asks.
    categories = call("reports", "reports_categories", client=anonymous)
    lantern = next(c for g in categories.groups for c in g.categories if c.key == "strassenlaterne")
    assert [question.key for question in lantern.questions] == ["fehlerbild"]

    # 4. Already reported nearby? Not yet.
    nearby = call(
        "reports", "reports_nearby", client=device, latitude=51.5536, longitude=7.3117, category=lantern.key
    )
    assert nearby.results == []

    # 5. File the report with a photo, with an idempotency key a retry would repeat.
    submission = models.ReportSubmitMultipartRequest(
        category=lantern.key,
        latitude=51.5536,
        longitude=7.3117,
        description="Laterne vor Hausnummer 12 ist seit drei Tagen aus.",
        address="Bahnhofstraße 12",
        answers=json.dumps({"fehlerbild": "aus"}),
        idempotency_key=str(uuid.uuid4()),
        photos=[types.File(payload=io.BytesIO(_photo()), file_name="laterne.jpg", mime_type="image/jpeg")],
    )
    report = call("reports", "reports_create", client=device, body=submission)
    assert report.status == "eingegangen"
    assert len(report.photos) == 1
    assert report.answers["fehlerbild"] == "aus"

    # 6. The user's own reports list it.
    mine = call("reports", "reports_mine_list", client=device)
    assert [each.id for each in mine.results] == [report.id]

    # 7. Find the street, 8. resolve the house number to its location.
    streets = call("waste", "waste_streets_search", client=anonymous, q="bahnhofstr")
    street = streets[0]
    assert street.name == city["street"]
    location = call(
        "waste", "waste_street_location", client=anonymous, street_id=street.id, house_number="13"
    )
    assert location.parity == "odd"

    # 9. The next collections for the home screen.
    upcoming = call("waste", "waste_location_next", client=anonymous, location_id=location.id)
    assert {entry.type_ for entry in upcoming.next_} == {"restabfall", "bioabfall", "papier"}

    # 10. Subscribe a reminder for two of its types.
    reminder = call(
        "waste",
        "waste_reminders_create",
        client=device,
        body=models.ReminderCreateRequest(
            location=location.id, house_number="13", types=["restabfall", "papier"]
        ),
    )
    assert reminder.types == ["restabfall", "papier"]

    # 11. The notice board, 12. the installation's inbox.
    notices = call("notices", "notices_list", client=anonymous)
    assert [notice.title for notice in notices.results] == ["Bürgerbüro geschlossen"]
    inbox = call("devices", "devices_me_inbox", client=device)
    assert [item.title for item in inbox.results] == ["Bürgerbüro geschlossen"]
    assert inbox.results[0].read is False

    # The same steps as docs/api.md's walk-through, in its order.
    assert called == walkthrough_steps()


def test_the_walkthrough_lists_the_steps_the_client_test_takes() -> None:
    steps = walkthrough_steps()
    assert steps[:2] == ["app_config", "devices_register"]
    assert len(steps) == 12
    assert {"reports_create", "waste_reminders_create", "notices_list"} <= set(steps)


def test_a_generated_client_gets_the_error_shape_with_its_code(
    live_server: Any, generated_client: _GeneratedClient, city: dict[str, Any]
) -> None:
    schema = httpx.get(f"{live_server.url}/api/schema/?format=json", timeout=30).json()
    generated_client.generate(schema)
    client_module = generated_client.module("client")
    models = generated_client.module("models")
    anonymous = client_module.Client(base_url=live_server.url)
    register = generated_client.module("api.devices.devices_register")

    answer = register.sync_detailed(
        client=anonymous,
        body=models.InstallationRegisterRequest(platform=models.PlatformEnum.IOS, app_version=""),
    )

    assert answer.status_code == 400
    assert isinstance(answer.parsed, models.Error)
    assert answer.parsed.code == "validation_error"
    assert answer.parsed.errors[0].field == "app_version"
