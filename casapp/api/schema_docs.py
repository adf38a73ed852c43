"""The platform's own operations (app start-up, staff identity) as app developers read them in /api/schema/
(see casapp.api.schema.OperationDocs)."""

from __future__ import annotations

from casapp.api.schema import OperationDocs

OPERATIONS = {
    "app_config": OperationDocs(
        description=(
            "What the app asks on every start: whether this version must or may be "
            "updated, which modules are switched on, the maintenance banner active "
            "now (in the request's language) and the city's links. Anonymous; "
            "cacheable for 60 s."
        ),
        response={
            "platform": "android",
            "version": "2.4.1",
            "min_supported_version": "1.0.0",
            "latest_version": "1.4.0",
            "store_url": None,
            "force_update": False,
            "update_available": False,
            "modules": {"reports": True, "waste_calendar": True, "push": True},
            "maintenance": None,
            "links": {
                "privacy_policy": "https://www.castrop-rauxel.de/datenschutz",
                "imprint": "https://www.castrop-rauxel.de/impressum",
                "accessibility": "https://www.castrop-rauxel.de/barrierefreiheit",
            },
        },
        parameters={"platform": "android", "version": "2.4.1"},
    ),
    "staff_me": OperationDocs(
        summary="Who is calling",
        description=(
            "The staff member the session or the API token belongs to, with the role "
            "groups that decide what the staff endpoints allow."
        ),
        response={"username": "tina", "full_name": "Tina Triage", "roles": ["Triage"]},
    ),
}
