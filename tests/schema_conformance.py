"""The API against its own OpenAPI schema: a bounded, deterministic schemathesis run, in-process.

    .venv/bin/python -m tests.schema_conformance [--max-examples N] [--seed S]

`make conformance` runs it and `make check` includes it. It builds a throwaway SQLite database in a
temporary directory (the embedded tier: eager tasks, console push), loads the demo data, creates one app
installation and one staff member in every role with an API token, then lets schemathesis call every
operation of `/api/schema/` through the WSGI application (no server, no network). Operations that need a
`Device` secret or a staff `Bearer` token get one, so they are exercised, not only their 401s.

Checks: every response is one the schema documents (status code, content type, body against its
schema), and none is a 5xx. The run is bounded by the number of examples per operation and phase (no
shrinking of failures, no stateful sequences), seeded and derandomized, so two runs on the same code send
the same requests; a watchdog ends a run that hangs. It prints a table of operations and status codes, every
violation with a curl line to reproduce it, and a summary; it exits 1 on any violation or error.

A script, not a pytest module: it needs its own database with committed demo data and many requests per
operation, and `make test` should not pay for it twice; it lives beside the tests because it is one.
"""

from __future__ import annotations

import argparse
import faulthandler
import os
import shutil
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from io import StringIO
from pathlib import Path
from typing import Any

CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
)
GENEROUS_RATE = "1000000/min"


def _environment(workdir: Path) -> None:
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "casapp.settings",
            "DJANGO_DEBUG": "false",  # errors as production answers them: the JSON error shape, not a page
            "DJANGO_SECRET_KEY": "schema-conformance-only-secret-key-0123456789-abcdefghijklmnop",
            "DJANGO_ALLOWED_HOSTS": "localhost,testserver",
            "DJANGO_SECURE_SSL_REDIRECT": "false",
            "DJANGO_LOG_LEVEL": "ERROR",
            "DJANGO_LOG_FORMAT": "text",
            "DJANGO_MEDIA_ROOT": str(workdir / "media"),
            "DATABASE_URL": f"sqlite:///{workdir / 'db.sqlite3'}",
            "REDIS_URL": "",
            "PUSH_BACKEND": "console",
        }
    )
    # Throttles would turn most of a run into documented 429s: out of the way, the run is about shapes.
    for name in (
        "THROTTLE_ANON",
        "THROTTLE_DEVICE",
        "THROTTLE_STAFF",
        "THROTTLE_DEVICE_REGISTER",
        "THROTTLE_REPORT_DAY",
        "THROTTLE_REPORT_IP",
        "THROTTLE_REPORT_EXPORT",
        "THROTTLE_CAMPAIGN_SUBMISSION_DAY",
        "THROTTLE_CAMPAIGN_SUBMISSION_IP",
    ):
        os.environ[name] = GENEROUS_RATE


def _demo_world() -> str:
    """Migrates, loads the demo and returns a staff API token for a member of every role."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.core.management import call_command

    from casapp.authentication import staff_token_create
    from casapp.roles import ROLES

    call_command("migrate", verbosity=0, interactive=False)
    call_command("load_demo", stdout=StringIO())
    user = get_user_model().objects.create_user(
        username="conformance", password=None, first_name="Conny", last_name="Conformance", is_staff=True
    )
    user.groups.set(Group.objects.filter(name__in=ROLES))
    _, token = staff_token_create(user=user, name="schema conformance")
    return token


def _known_ids(installation: Any) -> dict[str, list[str | int]]:
    """Ids that exist, so path parameters reach the operation behind the 404 often enough.

    Reports are filed by the run's installation (its own reports can be withdrawn and reopened).
    Notifications are written by the demo's Kommunikation member: the run's own staff member is then a
    second pair of eyes and may approve them.
    """
    from django.contrib.auth import get_user_model

    from push import services as push_services
    from push.models import Notification
    from reports.models import Category, Report
    from reports.services import report_create
    from waste_calendar.models import Location, Street

    categories = Category.objects.filter(parent__isnull=False, questions__isnull=True).order_by("pk")[:4]
    for position, category in enumerate(categories):
        report_create(
            installation=installation,
            category=category,
            latitude=51.5519 + position / 1000,
            longitude=7.3117,
            description="Schlagloch vor dem Rathaus",
        )

    author = get_user_model().objects.get(username="kommunikation")
    content = {"de": {"title": "Bürgerbüro geschlossen", "body": "Wegen einer Störung bleibt es heute zu."}}
    for kind in ("outage", "news", "campaign"):
        push_services.notification_create(author=author, kind=kind, content=content)
    waiting = push_services.notification_create(author=author, kind="outage", content=content)
    push_services.notification_request_approval(notification=waiting, actor=author)
    notifications = list(Notification.objects.order_by("pk").values_list("pk", flat=True)[:8])
    return {
        "report_ids": list(Report.objects.order_by("pk").values_list("pk", flat=True)[:8]),
        "notification_ids": list(notifications),
        "inbox_item_ids": [f"n-{pk}" for pk in notifications],
        "street_ids": list(Street.objects.order_by("pk").values_list("pk", flat=True)[:8]),
        "location_ids": list(Location.objects.order_by("pk").values_list("public_id", flat=True)[:8]),
        "reminder_ids": [1, 2, 3],
    }


class _Credentials:
    """A device secret that still works, and the staff token; chosen by the operation's security.

    Rotating the secret or erasing the installation (both are operations under test) ends the device's
    credentials: the next case notices and registers a fresh installation, so it is still authenticated.
    """

    def __init__(self, staff_token: str) -> None:
        self.staff_token = staff_token
        self.device_secret = ""
        self.installation: Any = None
        self.device()

    def device(self) -> str:
        from casapp.models import hash_secret
        from push.models import Installation
        from push.services import installation_register

        if not Installation.objects.filter(secret_hash=hash_secret(self.device_secret)).exists():
            self.installation, self.device_secret = installation_register(
                platform="android", app_version="1.4.0", locale="de", push_token=None
            )
        return self.device_secret


def _security_schemes(operation: Any) -> set[str]:
    requirements = operation.definition.raw.get("security")
    if requirements is None:
        requirements = operation.schema.raw_schema.get("security", [])
    return {name for requirement in requirements for name in requirement}


def _install_auth(schema: Any, credentials: _Credentials) -> None:
    @schema.auth(refresh_interval=None)
    class _Auth:
        def get(self, case: Any, context: Any) -> str | None:
            schemes = _security_schemes(case.operation)
            if "DeviceAuth" in schemes:
                return f"Device {credentials.device()}"
            if "StaffToken" in schemes:
                return f"Bearer {credentials.staff_token}"
            return None

        def set(self, case: Any, data: str | None, context: Any) -> None:
            if data is not None:
                case.headers = {**(case.headers or {}), "Authorization": data}


def _config(*, max_examples: int, seed: int, known_ids: dict[str, list[str | int]]) -> Any:
    import schemathesis

    def known(dictionary: str) -> dict[str, Any]:
        return {"dictionary": dictionary, "probability": 0.5}

    # No "max-time": with one, schemathesis keeps fuzzing until the time is spent. Examples bound the run.
    return schemathesis.Config.from_dict(
        {
            "seed": seed,
            "generation": {
                "max-examples": max_examples,
                "deterministic": True,
                "database": "none",
                # Shrinking a failing example costs hundreds of requests; the unshrunk one is reported.
                "no-shrink": True,
            },
            "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}},
            # Link-following sequences would double the run for little: every operation is called directly.
            "phases": {"stateful": {"enabled": False}},
            "dictionaries": {name: {"values": values} for name, values in known_ids.items() if values},
            "parameters": {
                "path.report_id": known("report_ids"),
                "path.street_id": known("street_ids"),
                "path.location_id": known("location_ids"),
                "path.reminder_id": known("reminder_ids"),
                "path.item_id": known("inbox_item_ids"),
                "body.location": known("location_ids"),
            },
            "operations": [
                {
                    "include-path-regex": "^/api/v1/push/notifications/",
                    "parameters": {"path.id": known("notification_ids")},
                },
                {
                    "include-path-regex": "^/api/v1/staff/reports/",
                    "parameters": {"path.id": known("report_ids")},
                },
            ],
        }
    )


def run(*, max_examples: int, seed: int, max_time: int) -> int:
    # A hung run must not hang `make check`: past the limit, dump every thread's stack and exit 1.
    faulthandler.dump_traceback_later(max_time, exit=True)
    workdir = Path(tempfile.mkdtemp(prefix="casapp-conformance-"))
    try:
        _environment(workdir)
        import django

        django.setup()
        started = time.monotonic()
        credentials = _Credentials(_demo_world())
        known_ids = _known_ids(credentials.installation)

        import schemathesis
        from schemathesis.engine import events, from_schema

        from casapp.wsgi import application

        schema = schemathesis.openapi.from_wsgi(
            "/api/schema/",
            application,
            config=_config(max_examples=max_examples, seed=seed, known_ids=known_ids),
        )
        _install_auth(schema, credentials)
        tally = _Tally()
        for event in from_schema(schema).execute():
            tally.fold(event, events)
        return _report(tally, seconds=time.monotonic() - started)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


@dataclass
class _Operation:
    statuses: Counter[int] = field(default_factory=Counter)
    outcome: str = "skip"


# The worst outcome of an operation's phases is its outcome.
_OUTCOME_RANK = {"skip": 0, "success": 1, "error": 2, "failure": 3}


@dataclass
class _Tally:
    """What the engine's events say: per operation the status codes and the outcome; every violation."""

    operations: dict[str, _Operation] = field(default_factory=lambda: defaultdict(_Operation))
    violations: set[str] = field(default_factory=set)
    errors: list[str] = field(default_factory=list)
    stop_reason: str = "unknown"

    def fold(self, event: Any, events: Any) -> None:
        if isinstance(event, events.ScenarioFinished):
            self._scenario(event)
        elif isinstance(event, events.NonFatalError):
            self.errors.append(f"{event.label}: {event.info.title}: {event.info.message}")
        elif isinstance(event, events.FatalError):
            self.errors.append(f"fatal: {event.exception!r}")
        elif isinstance(event, events.EngineFinished):
            self.stop_reason = str(event.stop_reason)

    def _scenario(self, event: Any) -> None:
        label = event.recorder.label
        operation = self.operations[label]
        if _OUTCOME_RANK.get(str(event.status), 0) > _OUTCOME_RANK[operation.outcome]:
            operation.outcome = str(event.status)
        for interaction in event.recorder.interactions.values():
            if interaction.response is not None:
                operation.statuses[interaction.response.status_code] += 1
        for check in (check for checks in event.recorder.checks.values() for check in checks):
            if check.failure_info is not None:
                failure = check.failure_info.failure
                self.violations.add(
                    f"{label}: {check.name}: {failure.title}\n    {failure.message.strip()[:800]}\n"
                    f"    reproduce: {check.failure_info.code_sample}"
                )


def _report(tally: _Tally, *, seconds: float) -> int:
    print(f"{'operation':<58} {'requests':>8} {'2xx':>5}  status codes")
    for label, operation in sorted(tally.operations.items(), key=lambda item: item[0].split(" ", 1)[::-1]):
        codes = " ".join(f"{code}:{n}" for code, n in sorted(operation.statuses.items()))
        successes = sum(n for code, n in operation.statuses.items() if code < 300)
        print(f"{label:<58} {operation.statuses.total():>8} {successes:>5}  {codes}  {operation.outcome}")
    for violation in sorted(tally.violations):
        print("VIOLATION", violation)
    for error in tally.errors:
        print("ERROR", error)
    total: Counter[int] = sum((operation.statuses for operation in tally.operations.values()), Counter())
    outcomes = Counter(operation.outcome for operation in tally.operations.values())
    print(
        f"\nschema conformance: {len(tally.operations)} operations, {total.total()} requests "
        f"({sum(n for code, n in total.items() if code < 300)} answered 2xx) in {seconds:.0f} s, "
        f"run {tally.stop_reason}; checks: {', '.join(CHECKS)}"
    )
    print(
        f"{outcomes['success']} operations passed, {outcomes['failure']} failed, {outcomes['error']} errors, "
        f"{outcomes['skip']} not run; {len(tally.violations)} violations"
    )
    clean = not tally.violations and not tally.errors and outcomes["skip"] == 0
    return 0 if clean and tally.stop_reason == "completed" else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-examples", type=int, default=20, help="examples per operation and phase")
    parser.add_argument("--seed", type=int, default=20261206)
    parser.add_argument(
        "--max-time", type=int, default=300, help="seconds; a run still going then is ended and fails"
    )
    arguments = parser.parse_args()
    sys.exit(run(max_examples=arguments.max_examples, seed=arguments.seed, max_time=arguments.max_time))


if __name__ == "__main__":
    main()
