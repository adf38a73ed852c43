"""JSON Schemas of the GeoReport v2 JSON responses, written from the spec's tables and examples (the
GeoReport v2 and Service Discovery pages of the Open311 wiki) with the issue's stricter rules: ids are
strings, datetimes ISO 8601 with an offset, lists are bare arrays.

Element order and the XML representation are checked by the tests with an XML parser.
"""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator, FormatChecker

DATETIME = {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?([+-]\d{2}:\d{2}|Z)$"}
NULLABLE_DATETIME = {"anyOf": [DATETIME, {"type": "null"}]}
NULLABLE_STRING = {"type": ["string", "null"]}


def _object(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": required if required is not None else list(properties),
        "additionalProperties": False,
    }


SERVICE = _object(
    {
        "service_code": {"type": "string", "minLength": 1},
        "service_name": {"type": "string", "minLength": 1},
        "description": NULLABLE_STRING,
        "metadata": {"type": "boolean"},
        "type": {"enum": ["realtime", "batch", "blackbox"]},
        "keywords": NULLABLE_STRING,
        "group": NULLABLE_STRING,
    }
)
SERVICES = {"type": "array", "items": SERVICE}

VALUE = _object({"key": {"type": "string"}, "name": {"type": "string"}})
ATTRIBUTE = _object(
    {
        "variable": {"type": "boolean"},
        "code": {"type": "string", "minLength": 1},
        "datatype": {"enum": ["string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"]},
        "required": {"type": "boolean"},
        "datatype_description": NULLABLE_STRING,
        "order": {"type": "integer", "minimum": 1},
        "description": {"type": "string"},
        "values": {"type": "array", "items": VALUE},
    }
)
SERVICE_DEFINITION = _object(
    {"service_code": {"type": "string"}, "attributes": {"type": "array", "items": ATTRIBUTE}}
)

REQUEST_PROPERTIES: dict[str, Any] = {
    "service_request_id": {"type": "string", "pattern": r"^\d+$"},
    "status": {"enum": ["open", "closed"]},
    "status_notes": NULLABLE_STRING,
    "service_name": NULLABLE_STRING,
    "service_code": NULLABLE_STRING,
    "description": NULLABLE_STRING,
    "agency_responsible": NULLABLE_STRING,
    "service_notice": NULLABLE_STRING,
    "requested_datetime": DATETIME,
    "updated_datetime": NULLABLE_DATETIME,
    "expected_datetime": NULLABLE_DATETIME,
    "address": NULLABLE_STRING,
    "address_id": NULLABLE_STRING,
    "zipcode": NULLABLE_STRING,
    "lat": {"type": "number", "minimum": -90, "maximum": 90},
    "long": {"type": "number", "minimum": -180, "maximum": 180},
    "media_url": {"anyOf": [{"type": "string", "format": "uri"}, {"type": "null"}]},
}
REQUEST = _object(REQUEST_PROPERTIES)
REQUESTS = {"type": "array", "items": REQUEST}

NOTE = _object(
    {
        "datetime": DATETIME,
        "type": {"enum": ["created", "status", "reply"]},
        "status": NULLABLE_STRING,
        "status_label": NULLABLE_STRING,
        "description": NULLABLE_STRING,
    }
)
EXTENDED_REQUEST = _object(
    {
        **REQUEST_PROPERTIES,
        "extended_attributes": _object(
            {
                "status": {"type": "string"},
                "status_label": {"type": "string"},
                "stadtteil": NULLABLE_STRING,
                "support_count": {"type": "integer", "minimum": 0},
                "duplicate_of": NULLABLE_STRING,
                "notes": {"type": "array", "items": NOTE},
            }
        ),
    }
)
EXTENDED_REQUESTS = {"type": "array", "items": EXTENDED_REQUEST}

POST_RESPONSE = {
    "type": "array",
    "minItems": 1,
    "maxItems": 1,
    "items": _object(
        {
            "service_request_id": {"type": "string", "pattern": r"^\d+$"},
            "token": NULLABLE_STRING,
            "service_notice": NULLABLE_STRING,
            "account_id": NULLABLE_STRING,
        }
    ),
}
TOKEN_RESPONSE = {
    "type": "array",
    "minItems": 1,
    "maxItems": 1,
    "items": _object(
        {"service_request_id": {"type": "string", "pattern": r"^\d+$"}, "token": {"type": "string"}}
    ),
}
# The updates feed as open311-adapter defines a ``service_request_update`` (Open311::Endpoint::Role::
# mySociety: required service_request_id, update_id, status (its extended statuses), updated_datetime,
# description and media_url, all strings; optional external_status_code, customer_reference,
# fixmystreet_id, extras) and as its datetime type reads one: seconds, then Z or an offset, nothing else.
OPEN311_ADAPTER_DATETIME = {
    "type": "string",
    "pattern": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(Z|[+-][0-9]{2}:[0-9]{2})$",
}
EXTENDED_STATUSES = [
    "open",
    "closed",
    "fixed",
    "in_progress",
    "action_scheduled",
    "investigating",
    "duplicate",
    "not_councils_responsibility",
    "no_further_action",
    "internal_referral",
]
REQUEST_UPDATE = {
    "type": "object",
    "properties": {
        "update_id": {"type": "string", "minLength": 1},
        "service_request_id": {"type": "string", "pattern": r"^\d+$"},
        "status": {"enum": EXTENDED_STATUSES},
        "description": {"type": "string"},
        "updated_datetime": OPEN311_ADAPTER_DATETIME,
        "media_url": {"type": "string"},
        "external_status_code": {"type": "string"},
        "customer_reference": {"type": "string"},
        "fixmystreet_id": {"type": "string", "pattern": r"^\d+$"},
        "extras": {"type": "object", "additionalProperties": {"type": "string"}},
    },
    "required": ["update_id", "service_request_id", "status", "description", "updated_datetime", "media_url"],
    "additionalProperties": False,
}
REQUEST_UPDATES = {"type": "array", "items": REQUEST_UPDATE}
UPDATE_POST_RESPONSE = {
    "type": "array",
    "minItems": 1,
    "maxItems": 1,
    "items": _object({"update_id": {"type": "string", "minLength": 1}}),
}
PARTNER_NOTE = _object(
    {
        "datetime": DATETIME,
        "type": {"enum": ["created", "status", "reply", "rerouted", "comment"]},
        "status": NULLABLE_STRING,
        "status_label": NULLABLE_STRING,
        "description": NULLABLE_STRING,
    }
)
PARTNER_EXTENDED_REQUEST = _object(
    {
        **REQUEST_PROPERTIES,
        "extended_attributes": _object(
            {
                "status": {"type": "string"},
                "status_label": {"type": "string"},
                "stadtteil": NULLABLE_STRING,
                "support_count": {"type": "integer", "minimum": 0},
                "duplicate_of": NULLABLE_STRING,
                "notes": {"type": "array", "items": PARTNER_NOTE},
                "non_public": {"type": "boolean"},
            }
        ),
    }
)

ERRORS = {
    "type": "array",
    "minItems": 1,
    "items": _object({"code": {"type": "integer"}, "description": {"type": "string", "minLength": 1}}),
}

ENDPOINT = _object(
    {
        "specification": {"type": "string", "format": "uri"},
        "url": {"type": "string", "format": "uri"},
        "changeset": DATETIME,
        "type": {"enum": ["production", "test"]},
        "formats": {"type": "array", "items": {"enum": ["text/xml", "application/json"]}, "minItems": 1},
    }
)
DISCOVERY = {
    "type": "object",
    "properties": {
        "changeset": DATETIME,
        "contact": {"type": "string"},
        "key_service": {"type": "string"},
        "endpoints": {"type": "array", "items": ENDPOINT, "minItems": 1},
        # Ours: the extensions this server understands, documented where clients look first.
        "extensions": {
            "type": "array",
            "items": _object({"parameter": {"type": "string"}, "description": {"type": "string"}}),
        },
    },
    "required": ["changeset", "contact", "key_service", "endpoints"],
    "additionalProperties": False,
}


def validate(instance: Any, schema: dict[str, Any]) -> None:
    Draft202012Validator(schema, format_checker=FormatChecker()).validate(instance)
