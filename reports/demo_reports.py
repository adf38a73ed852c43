"""About 40 demo reports of a working month in Castrop-Rauxel, for ``load_demo`` only.

Each goes through the real services (``report_create`` with photos through the photo pipeline, the triage
workflow by the demo staff, supports, merges, a forwarding) and is then dated back, so the workspace, the
open data and the statistics show what a department sees after two months: every status, ages from
today to 60 days, supporters, public replies, two duplicates merged, one report forwarded, a few past
their first-response target.

Demo data is marked: the reports come from demo installations, carry the idempotency key ``demo-NN`` and
an internal note "Demodaten". A second run finds them by that key and changes nothing. Production never
gets them: only ``load_demo`` calls this.
"""

from __future__ import annotations

import io
import json
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TextIO

from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone
from PIL import Image, ImageDraw

from push.models import Installation
from push.services import installation_register
from reports import geo, services
from reports.models import Category, Report, ReportEvent, ReportStatus
from reports.workdays import first_response_due

S = ReportStatus
DEMO_KEY = "demo-{:02d}"
DEMO_NOTE = "Demodaten (load_demo): keine echte Meldung."


@dataclass(frozen=True)
class DemoReport:
    category: str
    days_ago: float
    status: str
    description: str
    street: str
    photo: bool = False
    supporters: int = 0
    reply: str = ""
    merge_into: int | None = None  # the number (1-based) of the original in the demo file
    reroute_to: str = ""
    answers: dict[str, str] = field(default_factory=dict)
    steps: list[tuple[str, str]] = field(default_factory=list)  # (status, public message) on the way


DEMO_FILE = Path(__file__).resolve().parent / "data" / "demo_reports.json"


def demo_reports() -> list[DemoReport]:
    """The demo's reports, oldest last; the texts are what citizens write and what departments answer."""
    rows = json.loads(DEMO_FILE.read_text(encoding="utf-8"))
    return [DemoReport(**{**row, "steps": [tuple(step) for step in row.get("steps", [])]}) for row in rows]


def load_demo_reports(*, stdout: TextIO) -> None:
    """Idempotent: files the demo reports that are missing; existing ones stay as they are."""
    demo_reporter = _demo_installation("r")
    existing = set(
        Report.objects.filter(installation=demo_reporter, idempotency_key__startswith="demo-").values_list(
            "idempotency_key", flat=True
        )
    )
    wanted = demo_reports()
    if len(existing) >= len(wanted):
        return
    staff = {user.username: user for user in User.objects.filter(is_staff=True)}
    random_source = random.Random(2305)  # the same places on every machine  # noqa: S311
    now = timezone.now()
    filed: dict[int, Report] = {}
    for number, demo in enumerate(wanted, start=1):
        key = DEMO_KEY.format(number)
        place = _place_in_city(random_source)
        if key in existing:
            filed[number] = Report.objects.get(installation=demo_reporter, idempotency_key=key)
            continue
        with transaction.atomic():
            filed[number] = _file(
                demo=demo,
                number=number,
                demo_reporter=demo_reporter,
                place=place,
                staff=staff,
                filed=filed,
                now=now,
            )
    stdout.write(f"Mängelmelder: {len(wanted)} demo reports.\n")


def _file(
    *,
    demo: DemoReport,
    number: int,
    demo_reporter: Installation,
    place: tuple[float, float],
    staff: dict[str, User],
    filed: dict[int, Report],
    now: datetime,
) -> Report:
    category = Category.objects.select_related("department").get(key=demo.category)
    # A reporter of its own for a report that gets withdrawn: only the reporter may withdraw.
    reporter = _demo_installation(f"r{number}") if demo.status == S.WITHDRAWN else demo_reporter
    report, _created = services.report_create(
        installation=reporter,
        category=category,
        latitude=place[0],
        longitude=place[1],
        description=demo.description,
        address=demo.street,
        answers=demo.answers,
        photos=[_photo(category.name_de, number)] if demo.photo else [],
        idempotency_key=DEMO_KEY.format(number),
    )
    handler = _handler(category, staff)
    services.report_note(report=report, actor=handler, note=DEMO_NOTE)
    for supporter in range(demo.supporters):
        services.report_support(report=report, installation=_demo_installation(f"s{supporter}"))
    for status, message in demo.steps:
        services.report_transition(
            report=report,
            actor=handler,
            status=status,
            public_message=message,
            forwarded_to="Deutsche Bahn (DB InfraGO)" if status == S.NOT_RESPONSIBLE else "",
        )
    if demo.reply:
        services.report_reply(report=report, actor=handler, message=demo.reply)
    if demo.merge_into is not None:
        services.report_merge(
            report=report,
            into=filed[demo.merge_into],
            actor=handler,
            public_message="Das ist bereits gemeldet; wir informieren Sie dort.",
        )
    if demo.status == S.WITHDRAWN:
        services.report_withdraw(report=report, installation=reporter, message="Hat sich erledigt.")
        # Filed under the demo reporter like the others, so a second run finds it by its key.
        Report.objects.filter(pk=report.pk).update(installation=demo_reporter)
    if demo.reroute_to:
        services.report_reroute(
            report=report,
            actor=handler,
            category=Category.objects.get(key=demo.reroute_to),
            reason="Kein Straßenschaden: Graffiti am Stromkasten, bitte übernehmen.",
        )
    _date_back(report, days=demo.days_ago, now=now)
    return report


def _date_back(report: Report, *, days: float, now: datetime) -> None:
    """Moves the report and its history into the past: filed ``days`` ago, each step some hours later."""
    created = now - timedelta(days=days)
    events = list(report.events.order_by("created_at", "id"))
    step = timedelta(days=days) / (len(events) + 1)
    for index, event in enumerate(events):
        ReportEvent.objects.filter(pk=event.pk).update(created_at=created + step * index)
    staff_events = [index for index, event in enumerate(events) if event.actor_id and event.is_public]
    current = Report.objects.select_related("category").get(pk=report.pk)
    Report.objects.filter(pk=report.pk).update(
        created_at=created,
        arrived_at=created,
        # Due as if filed then: the demo's old open reports without an answer show up as overdue.
        first_response_due_at=first_response_due(
            received_at=created, working_days=current.category.first_response_days
        ),
        updated_at=created + step * (len(events) - 1),
        first_response_at=created + step * staff_events[0] if staff_events else None,
        closed_at=created + step * (len(events) - 1) if current.closed_at else None,
    )


def _handler(category: Category, staff: dict[str, User]) -> User | None:
    """A Triage member of the category's department (the demo has one per department)."""
    if category.department is None:
        return None
    return category.department.members.filter(is_active=True).order_by("username").first() or staff.get(
        "verwaltung"
    )


def _demo_installation(name: str) -> Installation:
    """A demo phone without a push token: the demo's workflow pushes nothing."""
    found = Installation.objects.filter(app_version=f"0.0.0+{name}").first()
    if found is not None:
        return found
    installation, _secret = installation_register(
        platform="android", app_version=f"0.0.0+{name}", locale="de"
    )
    return installation


def _place_in_city(random_source: random.Random) -> tuple[float, float]:
    west, south, east, north = geo.city_geometry().bounds
    while True:
        latitude = round(random_source.uniform(south, north), 5)
        longitude = round(random_source.uniform(west, east), 5)
        if geo.point_in_city(latitude=latitude, longitude=longitude):
            return latitude, longitude


def _photo(label: str, number: int) -> SimpleUploadedFile:
    """A phone-sized picture with the category written on it, made here and filed like an upload."""
    image = Image.new("RGB", (1600, 1200), (90 + number * 3 % 80, 110, 120))
    drawing = ImageDraw.Draw(image)
    drawing.rectangle((200, 700, 1400, 1100), fill=(60, 60, 60))
    drawing.ellipse((600, 800, 1000, 1000), fill=(30, 30, 30))
    drawing.text((80, 80), f"Demo {number}: {label}", fill=(255, 255, 255), font_size=96)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=80)
    return SimpleUploadedFile(f"demo-{number}.jpg", buffer.getvalue(), content_type="image/jpeg")
