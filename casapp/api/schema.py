"""OpenAPI additions: the error shape, each operation's real error codes with examples, and the apps'
operation docs (summary, description, examples)."""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.utils import translation
from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions, serializers

from casapp.api.errors import DEFAULT_DETAILS, too_many_parameters_detail

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "The one error shape of this API.",
    "required": ["code", "detail", "request_id"],
    "properties": {
        "code": {
            "type": "string",
            "description": "Stable machine-readable code; each operation's responses list its codes.",
        },
        "detail": {"type": "string", "description": "Human-readable, in the language of Accept-Language."},
        "request_id": {"type": "string", "description": "Quote it when reporting a problem."},
        "errors": {
            "type": "array",
            "description": "Per-field problems; present for validation errors only.",
            "items": {
                "type": "object",
                "required": ["field", "code", "detail"],
                "properties": {
                    "field": {
                        "type": "string",
                        "nullable": True,
                        "description": "Dotted path; null for the whole input.",
                    },
                    "code": {"type": "string"},
                    "detail": {"type": "string"},
                },
            },
        },
    },
}

_DESCRIPTIONS = {
    "400": "Invalid input",
    "401": "Missing or invalid credentials",
    "403": "Not allowed",
    "404": "Not found",
    "406": "None of the accepted media types can be answered",
    "409": "Conflicts with the current state",
    "413": "Request body too large",
    "415": "Unsupported media type",
    "429": "Rate limit reached; see Retry-After",
    "500": "Internal error",
    "503": "A backing service is briefly unavailable; see Retry-After",
}

EXAMPLE_REQUEST_ID = "9fab8531754812d4"
# Every operation takes `?format=` (an unknown one is a validation error naming it), and Django counts
# query parameters on every request before any view runs (docs/api.md#limits).
_ANY_REQUEST = {
    400: ("validation_error", "too_many_parameters"),
    406: ("not_acceptable",),
    429: ("throttled",),
}
_ALWAYS = {500: ("server_error",), 503: ("service_unavailable",)}
_STAFF_SCHEMES = {"StaffToken", "cookieAuth"}


@dataclass(frozen=True)
class OperationDocs:
    """What an app developer reads about one operation beyond what drf-spectacular derives from its view.

    Declared per app in ``<app>/api/schema_docs.py`` as ``OPERATIONS = {operation_id: OperationDocs(...)}``.
    ``errors`` lists the codes of the operation's own refusals (``{409: {"reminder_exists": "<detail>"}}``,
    details in German as the API answers by default); the codes every operation of its kind can give
    (credentials, path lookups, throttling, validation, ...) are added by :func:`add_error_responses`.
    The suite's recorder (``tests/error_codes.py``) holds these declarations to what the tests actually
    receive; ``tests/casapp/test_openapi_docs.py`` to the schema.
    """

    summary: str = ""
    description: str = ""
    errors: Mapping[int, Mapping[str, str]] = field(default_factory=dict)
    request: Any = None  # example JSON body
    multipart: Any = None  # example multipart/form-data fields, where the operation takes them
    response: Any = None  # example body of the operation's first success status
    parameters: Mapping[str, Any] = field(default_factory=dict)  # example values of path and query parameters


@cache
def operation_docs() -> dict[str, OperationDocs]:
    """Every app's ``api.schema_docs.OPERATIONS``, by operation id."""
    found: dict[str, OperationDocs] = {}
    for config in apps.get_app_configs():
        module_name = f"{config.name}.api.schema_docs"
        try:
            if importlib.util.find_spec(module_name) is None:
                continue
        except ModuleNotFoundError:  # the app has no api package
            continue
        declared: dict[str, OperationDocs] = importlib.import_module(module_name).OPERATIONS
        if clash := found.keys() & declared.keys():
            raise ImproperlyConfigured(f"operation docs declared twice: {sorted(clash)}")
        found.update(declared)
    return found


def _generic_details() -> dict[str, str]:
    """The detail of every code the platform answers, as the API says it in German."""
    with translation.override("de"):
        details = {code: str(text) for code, text in DEFAULT_DETAILS.items()}
        details.update(
            {
                "parse_error": str(exceptions.ParseError.default_detail),
                "authentication_failed": str(exceptions.AuthenticationFailed.default_detail),
                "not_acceptable": str(exceptions.NotAcceptable.default_detail),
                "unsupported_media_type": str(exceptions.UnsupportedMediaType("text/plain").detail),
                "throttled": str(exceptions.Throttled(wait=42).detail),
                "too_many_parameters": too_many_parameters_detail(),
            }
        )
        return details


def _resolve(result: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = result["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def generic_errors(method: str, operation: dict[str, Any], path: str) -> dict[int, list[str]]:
    """The codes any operation of this shape can answer, whatever it does itself."""
    errors: dict[int, list[str]] = {
        status: list(codes) for status, codes in {**_ANY_REQUEST, **_ALWAYS}.items()
    }
    body = operation.get("requestBody", {}).get("content", {})
    query = [p for p in operation.get("parameters", []) if p.get("in") == "query"]
    if "application/json" in body:
        errors[400].insert(1, "parse_error")
    if body:
        errors[413] = ["request_too_large"]
        errors[415] = ["unsupported_media_type"]
    security = operation.get("security", [])
    if security and {} not in security:  # spectacular lists {} where anonymous calls are allowed
        errors[401] = ["not_authenticated", "authentication_failed"]
        if any(_STAFF_SCHEMES & scheme.keys() for scheme in security):
            errors[403] = ["permission_denied"]
    # A cursor the API did not hand out is a 404 (DRF's answer, kept: "that page does not exist").
    if "{" in path or any(parameter.get("name") == "cursor" for parameter in query):
        errors[404] = ["not_found"]
    return errors


def _validation_example(result: dict[str, Any], operation: dict[str, Any]) -> list[dict[str, Any]]:
    """A per-field problem of this operation's own input, so the example shows a field it really has."""
    with translation.override("de"):
        required = str(serializers.Field.default_error_messages["required"])
    for content in operation.get("requestBody", {}).get("content", {}).values():
        schema = _resolve(result, content.get("schema", {}))
        for name in schema.get("required", []):
            return [{"field": name, "code": "required", "detail": required}]
    for parameter in operation.get("parameters", []):
        if parameter.get("in") == "query" and parameter.get("required"):
            return [{"field": parameter["name"], "code": "required", "detail": required}]
    # The one input every operation takes: `?format=` (casapp/api/negotiation.py).
    with translation.override("de"):
        detail = str(
            _('Unknown format "%(format)s"; allowed: %(allowed)s.') % {"format": "xml", "allowed": "json"}
        )
    return [{"field": "format", "code": "invalid_choice", "detail": detail}]


def _error_response(
    result: dict[str, Any], operation: dict[str, Any], status: int, codes: Mapping[str, str]
) -> dict[str, Any]:
    examples: dict[str, Any] = {}
    for code, detail in codes.items():
        value: dict[str, Any] = {"code": code, "detail": detail, "request_id": EXAMPLE_REQUEST_ID}
        if code == "validation_error":
            value["errors"] = _validation_example(result, operation)
        examples[code] = {"summary": code, "value": value}
    listed = ", ".join(f"`{code}`" for code in codes)
    return {
        "description": f"{_DESCRIPTIONS.get(str(status), 'Error')}: {listed}",
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/Error"}, "examples": examples}
        },
    }


def _keep_declared_error_body(response: dict[str, Any], declared: dict[str, Any]) -> None:
    """An error body an operation declared itself (the 409 of a second reminder with `existing_id`) keeps
    its schema, and its example's extra fields go into the example of the same code: a generated client
    then reads them as typed fields, not as leftovers of the plain error shape."""
    schema = declared.get("schema")
    if not schema or schema == {"$ref": "#/components/schemas/Error"}:
        return
    media = response["content"]["application/json"]
    media["schema"] = schema
    for named in declared.get("examples", {}).values():
        value = named.get("value", {})
        ours = media["examples"].get(value.get("code"))
        if ours is not None:
            ours["value"] = {**value, **ours["value"]}


def _apply_docs(operation: dict[str, Any], docs: OperationDocs) -> None:
    if docs.summary:
        operation["summary"] = docs.summary
    if docs.description:
        operation["description"] = docs.description
    content = operation.get("requestBody", {}).get("content", {})
    if docs.request is not None and "application/json" in content:
        _set_example(content["application/json"], docs.request)
    if docs.multipart is not None and "multipart/form-data" in content:
        _set_example(content["multipart/form-data"], docs.multipart)
    for parameter in operation.get("parameters", []):
        if parameter["name"] in docs.parameters:
            parameter["example"] = docs.parameters[parameter["name"]]
    if docs.response is not None:
        success = min((s for s in operation.get("responses", {}) if s.startswith("2")), default=None)
        media = operation["responses"][success].get("content", {}) if success else {}
        if media:
            media_type = "application/json" if "application/json" in media else next(iter(media))
            _set_example(media[media_type], docs.response)


def _set_example(media: dict[str, Any], example: Any) -> None:
    """``example`` and ``examples`` exclude each other in OpenAPI: named examples a view declared itself
    (several cases, with summaries) are kept, and the docs' single example then joins them."""
    if "examples" in media:
        media["examples"].setdefault("example", {"summary": "Beispiel", "value": example})
    else:
        media["example"] = example


def _require_body_with_required_fields(result: dict[str, Any], operation: dict[str, Any]) -> None:
    """A body with required fields is itself required; spectacular leaves that open where an operation
    takes several media types (and some generators then write code that does not import)."""
    body = operation.get("requestBody")
    if not body or body.get("required"):
        return
    if any(
        _resolve(result, content.get("schema", {})).get("required") for content in body["content"].values()
    ):
        body["required"] = True


def add_error_responses(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """Every operation's errors with their real codes and an example of each; the apps' operation docs."""
    components = result.setdefault("components", {})
    components.setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    details = _generic_details()
    documented = operation_docs()
    for path, methods in result.get("paths", {}).items():
        for method, operation in methods.items():
            if operation.get("security") == [{}]:
                # Anonymous only: no security requirement at all, so a generated client takes its plain,
                # unauthenticated client here (spectacular writes "anonymous allowed" as [{}]).
                operation["security"] = []
            _require_body_with_required_fields(result, operation)
            docs = documented.get(operation.get("operationId", ""), OperationDocs())
            _apply_docs(operation, docs)
            errors: dict[int, dict[str, str]] = {
                status: {code: details[code] for code in codes}
                for status, codes in generic_errors(method, operation, path).items()
            }
            for status, codes in docs.errors.items():
                errors.setdefault(status, {}).update(codes)
            responses = operation.setdefault("responses", {})
            for status in sorted(errors):
                declared = responses.get(str(status), {}).get("content", {}).get("application/json", {})
                responses[str(status)] = _error_response(result, operation, status, errors[status])
                _keep_declared_error_body(responses[str(status)], declared)
    return result


class StaffTokenScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    target_class = "casapp.authentication.StaffTokenAuthentication"
    name = "StaffToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A staff member's API token from the admin: `Authorization: Bearer <token>`.",
        }
