"""Holds each operation's documented error codes to what the test suite actually receives.

Every test runs with ``RecordErrorCodes`` as the outermost middleware (an autouse fixture in
``tests/conftest.py``): each error answer under ``/api/v1/`` is noted as (method, path, status, code). When
the session ends, every noted answer must be one the published schema lists for its operation, with that
status and that ``code`` among the examples of that status (``casapp.api.schema``). A code the schema does
not list fails the session, naming the operation and where to declare it. Any subset of the suite can run
this check; it only asks that what was seen is documented.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest, HttpResponse

API_PREFIX = "/api/v1/"


@dataclass(frozen=True)
class SeenError:
    method: str
    path: str
    status: int
    code: str


seen: set[SeenError] = set()


class RecordErrorCodes:
    """Django middleware: notes the code of every JSON error answer of the API. Changes nothing."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            request.path.startswith(API_PREFIX)
            and response.status_code >= 400
            and not response.streaming
            and response.get("Content-Type", "").startswith("application/json")
        ):
            try:
                code = json.loads(response.content)["code"]
            except (ValueError, KeyError, TypeError):
                code = "<not the error shape>"
            seen.add(SeenError(request.method or "GET", request.path, response.status_code, str(code)))
        return response


def _operations(schema: dict[str, Any]) -> list[tuple[re.Pattern[str], str, dict[str, Any]]]:
    operations = []
    for path, methods in schema["paths"].items():
        pattern = re.escape(path.rstrip("/"))
        pattern = re.sub(r"\\\{[^}]+\\\}", "[^/.]+", pattern)
        for method, operation in methods.items():
            operations.append((re.compile(f"^{pattern}/?$"), method.upper(), operation))
    # Literal paths first: /reports/nearby is not /reports/{report_id}.
    return sorted(operations, key=lambda entry: entry[0].pattern.count("[^/.]+"))


def documented_codes(operation: dict[str, Any], status: int) -> set[str]:
    response = operation["responses"].get(str(status), {})
    examples = response.get("content", {}).get("application/json", {}).get("examples", {})
    return {example["value"]["code"] for example in examples.values()}


def undocumented(schema: dict[str, Any], errors: set[SeenError] | None = None) -> list[str]:
    """Every seen error answer that the schema does not document for its operation."""
    operations = _operations(schema)
    problems = set()
    for error in seen if errors is None else errors:
        paths = [(pattern, method, op) for pattern, method, op in operations if pattern.match(error.path)]
        # The most literal path is the one the request reached (/submissions/mine, not /submissions/{id}).
        reached = [
            op
            for pattern, method, op in paths
            if pattern.pattern == paths[0][0].pattern and method == error.method
        ]
        if not reached:
            continue  # a path or method the schema does not list: tests/casapp/test_schema_urls.py's business
        operation = reached[0]
        if error.code not in documented_codes(operation, error.status):
            problems.add(
                f"{operation['operationId']}: {error.status} {error.code} (e.g. {error.method} {error.path})"
            )
    return sorted(problems)


def published_schema() -> dict[str, Any]:
    from drf_spectacular.generators import SchemaGenerator

    schema: dict[str, Any] = SchemaGenerator().get_schema(request=None, public=True)
    return schema
