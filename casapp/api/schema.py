"""OpenAPI additions: the error shape as a component, referenced by every operation it can answer."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "The one error shape of this API.",
    "required": ["code", "detail", "request_id"],
    "properties": {
        "code": {
            "type": "string",
            "description": "Stable machine-readable code.",
            "example": "validation_error",
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
    "405": "Method not allowed",
    "409": "Conflicts with the current state",
    "413": "Request body too large",
    "415": "Unsupported media type",
    "429": "Rate limit reached; see Retry-After",
    "500": "Internal error",
}


def _applicable(method: str, operation: dict[str, Any], path: str) -> list[str]:
    statuses = ["405", "429", "500"]
    has_body = "requestBody" in operation
    if has_body or operation.get("parameters"):
        statuses.append("400")
    if has_body:
        statuses += ["413", "415"]
    if {} not in operation.get("security", []):  # spectacular lists {} where anonymous calls are allowed
        statuses += ["401", "403"]
    # A cursor the API did not hand out is a 404 (DRF's answer, kept: "that page does not exist").
    if "{" in path or any(parameter.get("name") == "cursor" for parameter in operation.get("parameters", [])):
        statuses.append("404")
    if method in {"post", "put", "patch", "delete"}:
        statuses.append("409")
    return sorted(set(statuses))


def add_error_responses(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    components = result.setdefault("components", {})
    components.setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    responses = components.setdefault("responses", {})
    for status, description in _DESCRIPTIONS.items():
        responses[f"Error{status}"] = {
            "description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
    for path, methods in result.get("paths", {}).items():
        for method, operation in methods.items():
            for status in _applicable(method, operation, path):
                operation.setdefault("responses", {}).setdefault(
                    status, {"$ref": f"#/components/responses/Error{status}"}
                )
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
