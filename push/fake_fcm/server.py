"""A fake Firebase Cloud Messaging server on loopback, spoken to by the real firebase-admin SDK.

It answers the endpoints the SDK (7.x) and google-auth call:

- ``POST /token``: OAuth2 token endpoint (the service account's ``token_uri``).
- ``POST /v1/projects/{project}/messages:send``: FCM HTTP v1 send.
- ``POST /v1/projects/{project}/registrations/{token}/topicSubscriptions?topic_name={topic}`` and
  ``DELETE /v1/projects/{project}/registrations/{token}/topicSubscriptions/{topic}?allow_missing=true``:
  the topic management calls of ``messaging.subscribe_to_topic``/``unsubscribe_from_topic``.
- ``POST /iid/v1:batchAdd`` and ``POST /iid/v1:batchRemove``: the legacy Instance ID topic API.

and a control API under ``/_fake/`` (see ``FakeFcmState._control``) to script faults and read back what it
received. Errors have the shape real FCM sends, so the SDK maps them to its own exception classes.

The HTTP layer is a bare asyncio protocol around httptools' parser rather than a framework: the benchmark
compares our sender against this server's ceiling, so it has to be cheap per request, and a ``reset`` fault
needs the raw transport to drop a connection without answering.

Nothing here imports Django or the rest of the project: the server runs standalone
(``python -m push.fake_fcm``).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import http
import itertools
import json
import logging
import socket
import struct
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

import httptools

logger = logging.getLogger("push.fake_fcm")

JsonDict = dict[str, Any]

FCM_ERROR_TYPE = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
BAD_REQUEST_TYPE = "type.googleapis.com/google.rpc.BadRequest"
TARGET_FIELDS = ("token", "fid", "topic", "condition")
# Quota errors carry a Retry-After header; this is its value when a rule does not set one.
DEFAULT_QUOTA_RETRY_AFTER = 1
DEFAULT_INVALID_PAYLOAD_FIELD = "message.android.notification.color"


@dataclass(frozen=True, slots=True)
class ErrorSpec:
    """How real FCM answers one kind of failure."""

    status: int
    rpc_status: str
    error_code: str
    message: str


# Fault kinds answered with an FCM error body. `slow` and `reset` are handled separately.
ERROR_SPECS: dict[str, ErrorSpec] = {
    "unregistered": ErrorSpec(404, "NOT_FOUND", "UNREGISTERED", "Requested entity was not found."),
    "sender_mismatch": ErrorSpec(403, "PERMISSION_DENIED", "SENDER_ID_MISMATCH", "SenderId mismatch"),
    "invalid_token": ErrorSpec(
        400,
        "INVALID_ARGUMENT",
        "INVALID_ARGUMENT",
        "The registration token is not a valid FCM registration token",
    ),
    "invalid_payload": ErrorSpec(
        400, "INVALID_ARGUMENT", "INVALID_ARGUMENT", "Request contains an invalid argument."
    ),
    "quota": ErrorSpec(
        429, "RESOURCE_EXHAUSTED", "QUOTA_EXCEEDED", "Quota exceeded for sending messages to this project."
    ),
    "unavailable": ErrorSpec(503, "UNAVAILABLE", "UNAVAILABLE", "The service is currently unavailable."),
    "internal": ErrorSpec(500, "INTERNAL", "INTERNAL", "Internal error encountered."),
    "third_party_auth": ErrorSpec(
        401, "UNAUTHENTICATED", "THIRD_PARTY_AUTH_ERROR", "Auth error from APNS or Web Push Service"
    ),
    # Our OAuth2 access token expired or was revoked: a plain GCP error, no FcmError detail.
    "access_token_expired": ErrorSpec(
        401,
        "UNAUTHENTICATED",
        "",
        "Request had invalid authentication credentials. Expected OAuth 2 access token.",
    ),
}
FAULT_KINDS = (*ERROR_SPECS, "slow", "reset")
RULE_SCOPES = ("send", "topics", "all")


class RuleError(ValueError):
    """A fault rule or control request that cannot be understood."""


@dataclass(slots=True)
class FaultRule:
    """One scripted fault.

    A rule with a `token` fires for messages whose `token` or `fid` target equals it (and, with scope
    `topics`/`all`, for topic (un)subscriptions of that registration token); a rule without one fires for
    any call. `times` is how often it still fires (None: always). Token rules are consulted before
    any-call rules; within each group the oldest rule wins.
    """

    id: int
    kind: str
    token: str | None = None
    times: int | None = None
    retry_after: int | None = None
    delay_ms: float | None = None
    field: str | None = None
    scope: str = "send"

    @classmethod
    def from_json(cls, rule_id: int, data: object) -> FaultRule:
        if not isinstance(data, dict):
            raise RuleError("a fault rule is a JSON object")
        kind = data.get("kind")
        if kind not in FAULT_KINDS:
            raise RuleError(f"kind must be one of {', '.join(FAULT_KINDS)}")
        match = data.get("match", {"any": True})
        if not isinstance(match, dict):
            raise RuleError('match is {"token": "..."}, {"fid": "..."} or {"any": true}')
        token = match.get("token", match.get("fid"))
        if token is None and match.get("any") is not True:
            raise RuleError('match is {"token": "..."}, {"fid": "..."} or {"any": true}')
        if token is not None and not isinstance(token, str):
            raise RuleError("match.token must be a string")
        times = data.get("times")
        if times is not None and (not isinstance(times, int) or isinstance(times, bool) or times < 1):
            raise RuleError("times must be a positive integer or null (always)")
        retry_after = data.get("retry_after")
        if retry_after is not None and (
            not isinstance(retry_after, int) or isinstance(retry_after, bool) or retry_after < 0
        ):
            raise RuleError("retry_after must be a non-negative integer (seconds)")
        delay_ms = data.get("delay_ms")
        if delay_ms is not None and (
            not isinstance(delay_ms, int | float) or isinstance(delay_ms, bool) or delay_ms < 0
        ):
            raise RuleError("delay_ms must be a non-negative number")
        violation_field = data.get("field")
        if violation_field is not None and not isinstance(violation_field, str):
            raise RuleError("field must be a string")
        scope = data.get("scope", "send")
        if scope not in RULE_SCOPES:
            raise RuleError(f"scope must be one of {', '.join(RULE_SCOPES)}")
        return cls(
            id=rule_id,
            kind=kind,
            token=token,
            times=times,
            retry_after=retry_after,
            delay_ms=float(delay_ms) if delay_ms is not None else None,
            field=violation_field,
            scope=scope,
        )

    def to_json(self) -> JsonDict:
        return {
            "id": self.id,
            "kind": self.kind,
            "match": {"token": self.token} if self.token is not None else {"any": True},
            "times": self.times,
            "retry_after": self.retry_after,
            "delay_ms": self.delay_ms,
            "field": self.field,
            "scope": self.scope,
        }

    def applies_to(self, endpoint: str) -> bool:
        return self.scope in ("all", endpoint)


@dataclass(slots=True)
class Reply:
    """What to answer, and when: `delay` seconds after the request arrived; `reset` drops the connection."""

    status: int = 200
    body: bytes = b"{}"
    headers: tuple[tuple[str, str], ...] = ()
    delay: float = 0.0
    reset: bool = False


def _json_reply(status: int, payload: object, *, headers: tuple[tuple[str, str], ...] = ()) -> Reply:
    return Reply(status=status, body=json.dumps(payload).encode(), headers=headers)


def _gcp_error(status: int, rpc_status: str, message: str, details: list[JsonDict] | None = None) -> Reply:
    error: JsonDict = {"code": status, "message": message, "status": rpc_status}
    if details:
        error["details"] = details
    return _json_reply(status, {"error": error})


def _message_target(message: JsonDict) -> tuple[str, str] | None:
    """(target type, target) of an FCM v1 message, None unless exactly one target field is set."""
    found = [(name, message[name]) for name in TARGET_FIELDS if name in message]
    if len(found) != 1 or not isinstance(found[0][1], str) or not found[0][1]:
        return None
    target_type, value = found[0]
    if target_type == "topic":
        return target_type, f"/topics/{value}"
    return target_type, value


@dataclass
class FakeFcmState:
    """Everything the fake server knows: config, scripted faults and what it received.

    Runs on one event loop thread, so it needs no locks. Counters are kept incrementally so that the
    summary stays cheap with millions of recorded messages.
    """

    latency_ms: float = 0.0
    record_bodies: bool = True
    rules: list[FaultRule] = field(default_factory=list)
    accepted: list[JsonDict] = field(default_factory=list)
    rejected: list[JsonDict] = field(default_factory=list)
    topic_operations: list[JsonDict] = field(default_factory=list)
    topics: dict[str, set[str]] = field(default_factory=dict)
    counts: collections.Counter[str] = field(default_factory=collections.Counter)
    rejected_by_kind: collections.Counter[str] = field(default_factory=collections.Counter)
    totals: collections.Counter[str] = field(default_factory=collections.Counter)
    # Never reset, so message names and rule ids stay unique for the life of the process.
    _message_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _rule_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _access_tokens: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    # -- records and rules ------------------------------------------------------------------------------

    def reset(self) -> None:
        self.rules.clear()
        self.accepted.clear()
        self.rejected.clear()
        self.topic_operations.clear()
        self.topics.clear()
        self.counts.clear()
        self.rejected_by_kind.clear()
        self.totals.clear()

    def add_rule(self, data: object) -> FaultRule:
        rule = FaultRule.from_json(next(self._rule_ids), data)
        self.rules.append(rule)
        return rule

    def _take_rule(
        self, endpoint: str, token: str | None, *, any_call: bool = True, kinds: tuple[str, ...] = FAULT_KINDS
    ) -> FaultRule | None:
        """The rule that fires for this call, with one of its remaining `times` used up.

        Rules for `token` come first, then (with `any_call`) the rules for any call; oldest first.
        """
        if not self.rules:
            return None
        chosen: FaultRule | None = None
        if token is not None:
            chosen = next(
                (r for r in self.rules if r.token == token and r.kind in kinds and r.applies_to(endpoint)),
                None,
            )
        if chosen is None and any_call:
            chosen = next(
                (r for r in self.rules if r.token is None and r.kind in kinds and r.applies_to(endpoint)),
                None,
            )
        if chosen is not None and chosen.times is not None:
            chosen.times -= 1
            if chosen.times == 0:
                self.rules.remove(chosen)
        return chosen

    def _record_rejection(
        self,
        *,
        endpoint: str,
        kind: str,
        status: int,
        target: str | None,
        target_type: str | None,
        rule_id: int | None,
        message: object = None,
    ) -> None:
        self.totals["rejected"] += 1
        self.rejected_by_kind[kind] += 1
        record: JsonDict = {
            "endpoint": endpoint,
            "kind": kind,
            "status": status,
            "target": target,
            "target_type": target_type,
            "rule_id": rule_id,
            "received_at": time.time(),
        }
        if self.record_bodies and message is not None:
            record["message"] = message
        self.rejected.append(record)

    def summary(self) -> JsonDict:
        return {
            "accepted": self.totals["accepted"],
            "validate_only": self.totals["validate_only"],
            "rejected": self.totals["rejected"],
            "rejected_by_kind": dict(self.rejected_by_kind),
            "targets": len(self.counts),
            "duplicate_targets": self.totals["duplicate_targets"],
            "requests": self.totals["requests"],
            "token_requests": self.totals["token_requests"],
            "topic_operations": self.totals["topic_operations"],
        }

    # -- fault answers ----------------------------------------------------------------------------------

    def _fault_reply(self, rule: FaultRule, *, target_field: str) -> Reply:
        """The answer for a failing rule (every kind but `slow`, which answers normally, only later)."""
        delay = (rule.delay_ms or 0.0) / 1000
        if rule.kind == "reset":
            return Reply(delay=delay, reset=True)
        spec = ERROR_SPECS[rule.kind]
        details: list[JsonDict] = (
            [{"@type": FCM_ERROR_TYPE, "errorCode": spec.error_code}] if spec.error_code else []
        )
        message = spec.message
        if rule.kind == "invalid_token":
            violation = {"field": rule.field or target_field, "description": "Invalid registration token"}
            details.append({"@type": BAD_REQUEST_TYPE, "fieldViolations": [violation]})
        elif rule.kind == "invalid_payload":
            violation_field = rule.field or DEFAULT_INVALID_PAYLOAD_FIELD
            message = f"Invalid value at '{violation_field}'"
            details.append(
                {
                    "@type": BAD_REQUEST_TYPE,
                    "fieldViolations": [{"field": violation_field, "description": message}],
                }
            )
        reply = _gcp_error(spec.status, spec.rpc_status, message, details)
        retry_after = rule.retry_after
        if retry_after is None and rule.kind == "quota":
            retry_after = DEFAULT_QUOTA_RETRY_AFTER
        if retry_after is not None:
            reply.headers = (("Retry-After", str(retry_after)),)
        reply.delay = delay
        return reply

    # -- FCM API ----------------------------------------------------------------------------------------

    def handle(self, method: bytes, target: bytes, body: bytes, authorization: bytes | None) -> Reply:
        """Answer one HTTP request. Latency is added here, so the caller only has to honour `Reply.delay`."""
        try:
            url = httptools.parse_url(target)
        except httptools.HttpParserInvalidURLError:
            return _gcp_error(400, "INVALID_ARGUMENT", "Malformed request URL.")
        path = url.path.decode("latin-1")
        query = (url.query or b"").decode("latin-1")
        if path.startswith("/_fake/"):
            return self._control(method, path, query, body)
        if method == b"POST" and path == "/token":
            access_token = f"fake-{next(self._access_tokens)}"
            self.totals["token_requests"] += 1
            return _json_reply(
                200, {"access_token": access_token, "expires_in": 3600, "token_type": "Bearer"}
            )
        if path.startswith("/v1/projects/"):
            project, _, rest = path[len("/v1/projects/") :].partition("/")
            if method == b"POST" and rest == "messages:send":
                return self._with_latency(self._send(project, body, authorization))
            if rest.startswith("registrations/"):
                return self._with_latency(self._topic_v1(method, rest, query, authorization))
        if method == b"POST" and path in ("/iid/v1:batchAdd", "/iid/v1:batchRemove"):
            return self._with_latency(self._topic_iid(path.endswith("batchAdd"), body, authorization))
        return _gcp_error(404, "NOT_FOUND", f"The requested URL {path} was not found on this server.")

    def _with_latency(self, reply: Reply) -> Reply:
        reply.delay += self.latency_ms / 1000
        return reply

    def _unauthenticated(self, endpoint: str, authorization: bytes | None) -> Reply | None:
        if authorization is not None and authorization.startswith(b"Bearer ") and len(authorization) > 7:
            return None
        self._record_rejection(
            endpoint=endpoint, kind="missing_auth", status=401, target=None, target_type=None, rule_id=None
        )
        return _gcp_error(
            401,
            "UNAUTHENTICATED",
            "Request is missing required authentication credential. Expected OAuth 2 access token.",
        )

    def _send(self, project: str, body: bytes, authorization: bytes | None) -> Reply:
        self.totals["requests"] += 1
        denied = self._unauthenticated("send", authorization)
        if denied is not None:
            return denied
        try:
            payload = json.loads(body)
        except ValueError:
            payload = None
        message = payload.get("message") if isinstance(payload, dict) else None
        target = _message_target(message) if isinstance(message, dict) else None
        if payload is None or message is None or target is None:
            self._record_rejection(
                endpoint="send",
                kind="bad_request",
                status=400,
                target=None,
                target_type=None,
                rule_id=None,
                message=payload,
            )
            return _gcp_error(400, "INVALID_ARGUMENT", "Request contains an invalid argument.")
        target_type, target_value = target
        token = target_value if target_type in ("token", "fid") else None
        rule = self._take_rule("send", token)
        if rule is not None and rule.kind != "slow":
            reply = self._fault_reply(rule, target_field=f"message.{target_type}")
            self._record_rejection(
                endpoint="send",
                kind=rule.kind,
                status=0 if reply.reset else reply.status,
                target=target_value,
                target_type=target_type,
                rule_id=rule.id,
                message=message,
            )
            return reply

        name = f"projects/{project}/messages/{next(self._message_ids)}"
        validate_only = payload.get("validate_only") is True
        if validate_only:
            # Real FCM delivers nothing for a dry run, so it is not counted against the target.
            self.totals["validate_only"] += 1
        else:
            self.totals["accepted"] += 1
            count = self.counts[target_value] + 1
            self.counts[target_value] = count
            if count == 2:
                self.totals["duplicate_targets"] += 1
        if self.record_bodies:
            self.accepted.append(
                {
                    "name": name,
                    "project": project,
                    "target": target_value,
                    "target_type": target_type,
                    "validate_only": validate_only,
                    "message": message,
                    "received_at": time.time(),
                }
            )
        reply = _json_reply(200, {"name": name})
        if rule is not None:
            reply.delay = (rule.delay_ms or 0.0) / 1000
        return reply

    def _topic_v1(self, method: bytes, rest: str, query: str, authorization: bytes | None) -> Reply:
        self.totals["requests"] += 1
        parts = rest.split("/")
        # registrations/{token}/topicSubscriptions[/{topic}]
        if len(parts) == 3 and parts[2] == "topicSubscriptions" and method == b"POST":
            subscribe = True
            topic = urllib.parse.parse_qs(query).get("topic_name", [""])[0]
        elif len(parts) == 4 and parts[2] == "topicSubscriptions" and method == b"DELETE":
            subscribe = False
            topic = urllib.parse.unquote(parts[3])
        else:
            return _gcp_error(404, "NOT_FOUND", "The requested URL was not found on this server.")
        denied = self._unauthenticated("topics", authorization)
        if denied is not None:
            return denied
        token = urllib.parse.unquote(parts[1])
        if not token or not topic:
            return _gcp_error(400, "INVALID_ARGUMENT", "Request contains an invalid argument.")
        rule = self._take_rule("topics", token)
        if rule is not None and rule.kind != "slow":
            reply = self._fault_reply(rule, target_field="registration_token")
            self._record_rejection(
                endpoint="topics",
                kind=rule.kind,
                status=0 if reply.reset else reply.status,
                target=token,
                target_type="token",
                rule_id=rule.id,
            )
            return reply
        self._apply_topic_operation(subscribe=subscribe, token=token, topic=topic, api="v1")
        reply = _json_reply(200, {})
        if rule is not None:
            reply.delay = (rule.delay_ms or 0.0) / 1000
        return reply

    def _topic_iid(self, subscribe: bool, body: bytes, authorization: bytes | None) -> Reply:
        self.totals["requests"] += 1
        denied = self._unauthenticated("topics", authorization)
        if denied is not None:
            return denied
        try:
            payload = json.loads(body)
        except ValueError:
            payload = None
        to = payload.get("to") if isinstance(payload, dict) else None
        tokens = payload.get("registration_tokens") if isinstance(payload, dict) else None
        if (
            not isinstance(to, str)
            or not to.startswith("/topics/")
            or not isinstance(tokens, list)
            or not all(isinstance(t, str) and t for t in tokens)
        ):
            return _json_reply(400, {"error": "INVALID_ARGUMENT"})
        topic = to[len("/topics/") :]
        any_rule = self._take_rule("topics", None)
        if any_rule is not None and any_rule.kind != "slow":
            # A per-call fault fails the whole batch, the way an IID outage would.
            reply = self._fault_reply(any_rule, target_field="registration_tokens")
            self._record_rejection(
                endpoint="topics",
                kind=any_rule.kind,
                status=0 if reply.reset else reply.status,
                target=to,
                target_type="topic",
                rule_id=any_rule.id,
            )
            if not reply.reset:
                spec = ERROR_SPECS[any_rule.kind]
                reply.body = json.dumps({"error": spec.rpc_status}).encode()
            return reply
        results: list[JsonDict] = []
        for token in tokens:
            # Per-token faults become per-token results; `slow` and `reset` only make sense per call here.
            rule = self._take_rule("topics", token, any_call=False, kinds=tuple(ERROR_SPECS))
            if rule is not None:
                self._record_rejection(
                    endpoint="topics",
                    kind=rule.kind,
                    status=ERROR_SPECS[rule.kind].status,
                    target=token,
                    target_type="token",
                    rule_id=rule.id,
                )
                results.append({"error": ERROR_SPECS[rule.kind].rpc_status})
                continue
            self._apply_topic_operation(subscribe=subscribe, token=token, topic=topic, api="iid")
            results.append({})
        reply = _json_reply(200, {"results": results})
        if any_rule is not None:
            reply.delay = (any_rule.delay_ms or 0.0) / 1000
        return reply

    def _apply_topic_operation(self, *, subscribe: bool, token: str, topic: str, api: str) -> None:
        self.totals["topic_operations"] += 1
        if subscribe:
            self.topics.setdefault(topic, set()).add(token)
        else:
            members = self.topics.get(topic)
            if members is not None:
                members.discard(token)
                if not members:
                    del self.topics[topic]
        if self.record_bodies:
            self.topic_operations.append(
                {
                    "operation": "subscribe" if subscribe else "unsubscribe",
                    "token": token,
                    "topic": topic,
                    "api": api,
                    "received_at": time.time(),
                }
            )

    # -- control API ------------------------------------------------------------------------------------

    def _control(self, method: bytes, path: str, query: str, body: bytes) -> Reply:
        routes: dict[tuple[bytes, str], Callable[[dict[str, str], bytes], Reply]] = {
            (b"GET", "/_fake/health"): lambda _params, _body: _json_reply(200, {"ok": True}),
            (b"POST", "/_fake/reset"): self._control_reset,
            (b"GET", "/_fake/faults"): self._control_list_faults,
            (b"POST", "/_fake/faults"): self._control_add_fault,
            (b"DELETE", "/_fake/faults"): self._control_clear_faults,
            (b"GET", "/_fake/messages"): self._control_messages,
            (b"GET", "/_fake/rejected"): lambda _params, _body: _json_reply(200, {"rejected": self.rejected}),
            (b"GET", "/_fake/topics"): self._control_topics,
            (b"GET", "/_fake/config"): self._control_config,
            (b"POST", "/_fake/config"): self._control_config,
        }
        route = routes.get((method, path))
        if route is None:
            return _json_reply(404, {"error": f"no control endpoint {method.decode()} {path}"})
        params = {name: values[0] for name, values in urllib.parse.parse_qs(query).items()}
        try:
            return route(params, body)
        except RuleError as error:
            return _json_reply(400, {"error": str(error)})

    def _control_reset(self, _params: dict[str, str], _body: bytes) -> Reply:
        self.reset()
        return _json_reply(200, {"ok": True})

    def _control_list_faults(self, _params: dict[str, str], _body: bytes) -> Reply:
        return _json_reply(200, {"faults": [r.to_json() for r in self.rules]})

    def _control_add_fault(self, _params: dict[str, str], body: bytes) -> Reply:
        return _json_reply(200, self.add_rule(_parse_json(body)).to_json())

    def _control_clear_faults(self, _params: dict[str, str], _body: bytes) -> Reply:
        self.rules.clear()
        return _json_reply(200, {"ok": True})

    def _control_messages(self, params: dict[str, str], _body: bytes) -> Reply:
        if params.get("summary") in ("1", "true"):
            payload: JsonDict = {"totals": self.summary()}
            if params.get("counts") not in ("0", "false"):
                payload["counts"] = self.counts
            return _json_reply(200, payload)
        records = self.accepted
        if "target" in params:
            records = [r for r in records if r["target"] == params["target"]]
        offset = _int_param(params.get("offset", "0"), "offset")
        limit = _int_param(params.get("limit", str(len(records))), "limit")
        return _json_reply(200, {"totals": self.summary(), "messages": records[offset : offset + limit]})

    def _control_topics(self, _params: dict[str, str], _body: bytes) -> Reply:
        topics = {topic: sorted(tokens) for topic, tokens in self.topics.items()}
        return _json_reply(200, {"topics": topics, "operations": self.topic_operations})

    def _control_config(self, _params: dict[str, str], body: bytes) -> Reply:
        if body:
            self._configure(_parse_json(body))
        return _json_reply(200, {"latency_ms": self.latency_ms, "record_bodies": self.record_bodies})

    def _configure(self, data: object) -> None:
        if not isinstance(data, dict):
            raise RuleError("config is a JSON object")
        if "latency_ms" in data:
            latency = data["latency_ms"]
            if not isinstance(latency, int | float) or isinstance(latency, bool) or latency < 0:
                raise RuleError("latency_ms must be a non-negative number")
            self.latency_ms = float(latency)
        if "record_bodies" in data:
            if not isinstance(data["record_bodies"], bool):
                raise RuleError("record_bodies must be a boolean")
            self.record_bodies = data["record_bodies"]


def _parse_json(body: bytes) -> object:
    try:
        return json.loads(body or b"{}")
    except ValueError as error:
        raise RuleError(f"body is not JSON: {error}") from error


def _int_param(value: str, name: str) -> int:
    try:
        number = int(value)
    except ValueError as error:
        raise RuleError(f"{name} must be an integer") from error
    if number < 0:
        raise RuleError(f"{name} must not be negative")
    return number


# -- HTTP/1.1 -------------------------------------------------------------------------------------------

_STATUS_LINES: dict[int, bytes] = {}
_LINGER_RESET = struct.pack("ii", 1, 0)


def _status_line(status: int) -> bytes:
    line = _STATUS_LINES.get(status)
    if line is None:
        try:
            phrase = http.HTTPStatus(status).phrase
        except ValueError:
            phrase = "Unknown"
        line = _STATUS_LINES[status] = f"HTTP/1.1 {status} {phrase}\r\n".encode()
    return line


def _encode_response(reply: Reply, *, keep_alive: bool) -> bytes:
    head = [
        _status_line(reply.status),
        b"Content-Type: application/json; charset=UTF-8\r\nContent-Length: ",
        str(len(reply.body)).encode(),
        b"\r\n",
    ]
    for name, value in reply.headers:
        head.append(f"{name}: {value}\r\n".encode("latin-1"))
    if not keep_alive:
        head.append(b"Connection: close\r\n")
    head.append(b"\r\n")
    head.append(reply.body)
    return b"".join(head)


@dataclass(slots=True)
class _Pending:
    due: float
    reply: Reply
    keep_alive: bool


class HttpConnection(asyncio.Protocol):
    """One client connection. Requests are answered in order; delayed answers wait on loop timers."""

    def __init__(self, state: FakeFcmState) -> None:
        self._state = state
        self._loop = asyncio.get_running_loop()
        self._parser = httptools.HttpRequestParser(self)
        self._transport: asyncio.Transport | None = None
        self._url = b""
        self._body: list[bytes] = []
        self._authorization: bytes | None = None
        self._pending: collections.deque[_Pending] = collections.deque()
        self._timer: asyncio.TimerHandle | None = None

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's TCP transport is not an asyncio.Transport subclass, but it is one in behaviour.
        self._transport = cast("asyncio.Transport", transport)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        self._pending.clear()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._reject_and_close(400)
        except httptools.HttpParserError:
            self._reject_and_close(400)

    # httptools callbacks

    def on_message_begin(self) -> None:
        self._url = b""
        self._body = []
        self._authorization = None

    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        lowered = name.lower()
        if lowered == b"authorization":
            self._authorization = value
        elif lowered == b"expect" and value.lower() == b"100-continue" and self._transport is not None:
            self._transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        if self._transport is None:
            return
        try:
            reply = self._state.handle(
                self._parser.get_method(), self._url, b"".join(self._body), self._authorization
            )
        except Exception:
            logger.exception("fake FCM failed to answer %r", self._url)
            reply = _gcp_error(500, "INTERNAL", "The fake FCM server failed; see its stderr.")
        keep_alive = self._parser.should_keep_alive()
        if not self._pending and reply.delay <= 0:
            self._answer(reply, keep_alive)
            return
        self._pending.append(_Pending(self._loop.time() + reply.delay, reply, keep_alive))
        if len(self._pending) == 1:
            self._timer = self._loop.call_at(self._pending[0].due, self._flush)

    # answering

    def _flush(self) -> None:
        self._timer = None
        now = self._loop.time()
        while self._pending and self._pending[0].due <= now and self._transport is not None:
            pending = self._pending.popleft()
            self._answer(pending.reply, pending.keep_alive)
        if self._pending and self._transport is not None:
            self._timer = self._loop.call_at(self._pending[0].due, self._flush)

    def _answer(self, reply: Reply, keep_alive: bool) -> None:
        transport = self._transport
        if transport is None or transport.is_closing():
            return
        if reply.reset:
            sock = transport.get_extra_info("socket")
            if sock is not None:
                # SO_LINGER 0 makes the close an RST, which clients see as "connection reset by peer".
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RESET)
            transport.abort()
            return
        transport.write(_encode_response(reply, keep_alive=keep_alive))
        if not keep_alive:
            transport.close()

    def _reject_and_close(self, status: int) -> None:
        if self._transport is not None and not self._transport.is_closing():
            reply = _gcp_error(status, "INVALID_ARGUMENT", "Malformed HTTP request.")
            self._transport.write(_encode_response(reply, keep_alive=False))
            self._transport.close()


async def serve(
    state: FakeFcmState,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    on_ready: Callable[[str], None] | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Serve `state` until `stop` is set (forever without one). `on_ready` gets the base URL."""
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: HttpConnection(state), host, port, backlog=4096)
    bound_port = server.sockets[0].getsockname()[1]
    url_host = f"[{host}]" if ":" in host else host
    if on_ready is not None:
        on_ready(f"http://{url_host}:{bound_port}")
    async with server:
        if stop is None:
            await server.serve_forever()
        else:
            await stop.wait()
