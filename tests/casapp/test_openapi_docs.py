"""The schema a client is generated from: every operation explained for app developers, with examples that
fit it and the error codes it really answers (casapp/api/schema.py, each app's api/schema_docs.py)."""

from __future__ import annotations

import inspect
import re
from typing import Any

import pytest
from drf_spectacular.generators import EndpointEnumerator
from jsonschema import Draft7Validator

from casapp.api.schema import generic_errors, operation_docs
from tests import error_codes

pytestmark = pytest.mark.django_db

SCHEMA_URL = "/api/schema/"


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return error_codes.published_schema()


def _operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, methods in schema["paths"].items()
        for method, operation in methods.items()
    ]


def _json_schema(node: Any) -> Any:
    """OpenAPI 3.0's `nullable` in JSON Schema's words (also around `allOf`, which OAS validators miss)."""
    if isinstance(node, list):
        return [_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {key: _json_schema(value) for key, value in node.items() if key != "nullable"}
    if node.get("nullable"):
        return {"anyOf": [{"type": "null"}, converted]}
    return converted


def _validator(schema: dict[str, Any], fragment: dict[str, Any]) -> Draft7Validator:
    return Draft7Validator(
        {**_json_schema(fragment), "components": _json_schema(schema["components"])},
        format_checker=Draft7Validator.FORMAT_CHECKER,
    )


def _normalised(text: str) -> str:
    return " ".join(text.split())


def _internal_docstrings() -> dict[tuple[str, str], list[str]]:
    """(path with anonymous parameters, method) -> the docstrings of its view's classes and handler."""
    found: dict[tuple[str, str], list[str]] = {}
    for path, _regex, method, callback in EndpointEnumerator().get_api_endpoints():
        view = callback.cls
        texts = [inspect.cleandoc(klass.__doc__) for klass in view.__mro__ if klass.__doc__]
        actions = getattr(callback, "actions", None) or {}
        handler = getattr(view, actions.get(method.lower(), method.lower()), None)
        if handler is not None and handler.__doc__:
            texts.append(inspect.cleandoc(handler.__doc__))
        found[(re.sub(r"\{[^}]+\}", "{}", path), method.lower())] = texts
    return found


def test_every_operation_has_a_summary_and_a_description_for_app_developers(schema):
    for path, method, operation in _operations(schema):
        assert operation.get("summary", "").strip(), (method, path, "no summary")
        assert len(operation.get("description", "").strip()) >= 20, (method, path, "no description")


def test_no_description_is_the_docstring_of_an_internal_class(schema):
    docstrings = _internal_docstrings()
    checked = 0
    for path, method, operation in _operations(schema):
        texts = docstrings[(re.sub(r"\{[^}]+\}", "{}", path), method)]
        description = _normalised(operation["description"])
        for text in texts:
            first_paragraph = _normalised(text.split("\n\n")[0])
            assert first_paragraph not in description, (method, path, text)
            checked += 1
    # Mixins and DRF's base classes carry docstrings: the check has something to compare with.
    assert checked > 100


def test_the_docstring_check_would_catch_a_leaked_mixin_docstring(schema):
    leaked = {**schema["paths"]["/api/v1/devices/me"]["get"]}
    from push.authentication import DeviceOnly

    leaked["description"] = inspect.cleandoc(DeviceOnly.__doc__ or "")
    texts = _internal_docstrings()[("/api/v1/devices/me", "get")]
    assert any(_normalised(text.split("\n\n")[0]) in _normalised(leaked["description"]) for text in texts)


def _examples(content: dict[str, Any]) -> list[Any]:
    """The one ``example`` or the named ``examples`` (OpenAPI allows one or the other)."""
    if "example" in content:
        return [content["example"]]
    return [named["value"] for named in content.get("examples", {}).values()]


def test_every_operation_has_request_response_and_parameter_examples_that_fit_its_schema(schema):
    for path, method, operation in _operations(schema):
        where = (method, path)
        for media_type, content in operation.get("requestBody", {}).get("content", {}).items():
            assert _examples(content), (*where, media_type, "no request example")
            if media_type == "multipart/form-data":
                continue  # form fields are text on the wire; the JSON variant is validated
            for example in _examples(content):
                _validator(schema, content["schema"]).validate(example)
        successes = [status for status in operation["responses"] if status.startswith("2")]
        assert successes, where
        for media_type, content in operation["responses"][min(successes)].get("content", {}).items():
            if media_type not in ("application/json", "text/calendar"):
                continue  # the open-data exports: GeoJSON and CSV are explained in the description
            assert _examples(content), (*where, media_type, "no response example")
            for example in _examples(content):
                _validator(schema, content["schema"]).validate(example)
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "path" or parameter.get("required"):
                assert "example" in parameter, (*where, parameter["name"], "no parameter example")
            if "example" in parameter:
                _validator(schema, parameter["schema"]).validate(parameter["example"])


def test_every_declared_operation_exists(schema):
    operation_ids = {operation["operationId"] for _path, _method, operation in _operations(schema)}
    assert set(operation_docs()) <= operation_ids, set(operation_docs()) - operation_ids


def test_error_examples_have_the_error_shape_and_the_operations_own_codes(schema):
    error = {"$ref": "#/components/schemas/Error"}
    for path, method, operation in _operations(schema):
        for status, response in operation["responses"].items():
            if not status.startswith(("4", "5")):
                continue
            examples = response["content"]["application/json"]["examples"]
            assert examples, (method, path, status)
            for code, example in examples.items():
                assert example["value"]["code"] == code
                _validator(schema, error).validate(example["value"])
                assert code in response["description"]
        declared = operation_docs().get(operation["operationId"])
        for status, codes in (declared.errors if declared else {}).items():
            assert set(codes) <= error_codes.documented_codes(operation, status), (method, path, status)


def test_each_operation_documents_the_codes_of_what_it_does(schema):
    paths = schema["paths"]
    reminder = paths["/api/v1/waste/reminders/"]["post"]
    assert error_codes.documented_codes(reminder, 409) == {"reminder_exists"}
    assert "validation_error" not in error_codes.documented_codes(reminder, 409)
    assert error_codes.documented_codes(reminder, 401) == {"not_authenticated", "authentication_failed"}
    # Anonymous and credentials ignored: no 401; nothing to find by id: no 404.
    catalogue = paths["/api/v1/push/catalogue"]["get"]
    assert "401" not in catalogue["responses"]
    assert "404" not in catalogue["responses"]
    assert "409" not in catalogue["responses"]
    # A staff action answers its workflow's refusals.
    approve = paths["/api/v1/push/notifications/{id}/approve"]["post"]
    assert {"four_eyes", "not_an_approver"} <= error_codes.documented_codes(approve, 403)
    assert "invalid_transition" in error_codes.documented_codes(approve, 409)
    # The validation example names a field the operation really takes.
    example = paths["/api/v1/devices/"]["post"]["responses"]["400"]["content"]["application/json"]
    assert example["examples"]["validation_error"]["value"]["errors"][0]["field"] in {
        "platform",
        "app_version",
    }


def test_generic_errors_follow_the_operations_shape():
    public_get = {"security": [{}], "parameters": []}
    assert set(generic_errors("get", public_get, "/api/v1/push/catalogue")) == {400, 406, 429, 500, 503}
    device_post = {
        "security": [{"DeviceAuth": []}],
        "requestBody": {"content": {"application/json": {}}},
    }
    errors = generic_errors("post", device_post, "/api/v1/reports/{report_id}/support")
    assert errors[400] == ["validation_error", "parse_error", "too_many_parameters"]
    assert errors[404] == ["not_found"]
    assert 403 not in errors  # a staff session on a device endpoint counts as no credentials: 401
    staff = generic_errors("get", {"security": [{"StaffToken": []}, {"cookieAuth": []}]}, "/api/v1/staff/me")
    assert staff[403] == ["permission_denied"]


def test_the_seen_codes_check_names_an_undocumented_code(schema):
    fine = error_codes.SeenError("POST", "/api/v1/waste/reminders", 409, "reminder_exists")
    unknown = error_codes.SeenError("POST", "/api/v1/waste/reminders/", 409, "no_such_code")
    elsewhere = error_codes.SeenError("GET", "/api/v1/no-such-path", 404, "not_found")
    problems = error_codes.undocumented(schema, {fine, unknown, elsewhere})
    assert problems == ["waste_reminders_create: 409 no_such_code (e.g. POST /api/v1/waste/reminders/)"]


def test_the_recorder_notes_what_the_api_answered(anon_client):
    error_codes.seen.discard(error_codes.SeenError("GET", "/api/v1/waste/streets/", 400, "validation_error"))
    response = anon_client.get("/api/v1/waste/streets/")
    assert response.status_code == 400
    assert error_codes.SeenError("GET", "/api/v1/waste/streets/", 400, "validation_error") in error_codes.seen


# --- One naming rule for positions and times (docs/api.md#positions-and-times)

POSITION_NAMES = {"lat", "lon", "lng", "long"}
DAY_NAMES = re.compile(r"^(date|date_from|date_to|from|to|.+_date)$")
INSTANT_NAMES = re.compile(r"^(at|.+_at)$")
INSTANT_FILTERS = re.compile(r"^.+_(since|before|after)$")


def _properties(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (component, name, spec)
        for component, definition in schema["components"]["schemas"].items()
        for name, spec in definition.get("properties", {}).items()
    ]


def test_positions_are_latitude_and_longitude_and_short_names_are_deprecated(schema):
    for component, name, spec in _properties(schema):
        assert name not in POSITION_NAMES or spec.get("deprecated"), (component, name)
    for path, method, operation in _operations(schema):
        for parameter in operation.get("parameters", []):
            if parameter["name"] in POSITION_NAMES:
                assert parameter.get("deprecated"), (method, path, parameter["name"])
    nearby = {p["name"]: p for p in schema["paths"]["/api/v1/reports/nearby"]["get"]["parameters"]}
    assert {"latitude", "longitude"} <= nearby.keys()
    assert nearby["lat"]["deprecated"]
    assert nearby["lon"]["deprecated"]
    assert not nearby["latitude"].get("deprecated")


def test_instants_end_in_at_and_days_are_named_as_days(schema):
    for component, name, spec in _properties(schema):
        if spec.get("format") == "date-time":
            assert INSTANT_NAMES.match(name), (component, name)
        if INSTANT_NAMES.match(name) and not spec.get("deprecated"):  # and only instants do
            assert spec.get("format") == "date-time", (component, name)
        if spec.get("format") == "date":
            assert DAY_NAMES.match(name), (component, name)
    for path, method, operation in _operations(schema):
        for parameter in operation.get("parameters", []):
            kind = parameter["schema"].get("format")
            if kind == "date-time":
                assert INSTANT_FILTERS.match(parameter["name"]), (method, path, parameter["name"])
            if kind == "date":
                assert DAY_NAMES.match(parameter["name"]), (method, path, parameter["name"])


def test_a_reminders_day_has_its_name_and_its_deprecated_first_name(schema):
    for component in ("Reminder", "ReminderCreateRequest", "PatchedReminderUpdateRequest"):
        properties = schema["components"]["schemas"][component]["properties"]
        assert not properties["remind_day"].get("deprecated"), component
        assert properties["remind_at"]["deprecated"], component


def test_instants_are_answered_with_the_berlin_offset(anon_client):
    registered = anon_client.post(
        "/api/v1/devices/", {"platform": "ios", "app_version": "2.4.1"}, format="json"
    )
    assert registered.status_code == 201
    for name in ("created_at", "last_seen_at"):
        assert re.search(r"T\d\d:\d\d:\d\d(\.\d+)?\+0[12]:00$", registered.json()[name]), registered.json()[
            name
        ]
