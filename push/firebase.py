"""The Firebase backend: messages encoded and errors interpreted by firebase-admin, posted by us.

This module is the one adapter between us and the SDK's internals. firebase-admin stays the only thing
that knows FCM: its credential (a google-auth service account) signs our requests, its message encoder
writes every body, and its error mapper turns every FCM error answer into the exception it would have
raised (``UnregisteredError``, ``QuotaExceededError``, ...). What we do ourselves is the HTTP:

- one ``aiohttp.ClientSession`` per worker process, on an event loop that lives as long as the process,
  with at most ``PUSH_HTTP_CONNECTIONS`` requests in flight;
- one OAuth2 access token per process, refreshed by google-auth when it is within 3¾ minutes of expiry
  (and after a 401 about our own credentials), not looked at per message.

Why not ``messaging.send_each_async``: per message it runs httpx's client layer and the SDK's auth flow,
which builds a google-auth ``Request`` and with it a new ``requests.Session`` for every message. That was
0.79 ms of worker CPU per message in all; with this path (and leaner claims) 0.28 ms (docs/benchmarks.md,
push fan-out). The SDK's own retries (500/503 four times inside the call, sleeping on 429's Retry-After)
are gone with it: our engine counts every attempt and backs off by rescheduling instead.

It relies on these internals of ``firebase_admin.messaging._MessagingService`` and ``_http_client``
(``test_firebase_adapter.py`` asserts them, so an SDK upgrade fails loudly instead of sending elsewhere):
``_fcm_url``/``_fcm_topic_url`` (pointed at ``FCM_API_BASE_URL`` when set: the fake FCM server in tests
and benchmarks), ``_fcm_headers``, ``_credential``, ``_project_id``, ``encode_message`` and
``_handle_fcm_httpx_error`` (the mapper ``send_each_async`` itself applies to a failed ``httpx``
response), and ``_http_client.METRICS_HEADERS``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import functools
import json
import logging
import threading
import uuid
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp
import firebase_admin
import httpx
from django.conf import settings
from django.utils import timezone
from firebase_admin import _http_client, credentials, exceptions, messaging
from google.auth.transport import requests as google_auth_requests

from push.transports import Answered, ErrorClass, InFlight, OutgoingMessage, SendError, SendResult

logger = logging.getLogger("push.firebase")

SDK_SERVICE_ATTRIBUTES = (
    "_fcm_url",
    "_fcm_topic_url",
    "_fcm_headers",
    "_credential",
    "_project_id",
    "encode_message",
    "_handle_fcm_httpx_error",
)
QUOTA_MIN_BACKOFF_SECONDS = 60.0
SEND_TIMEOUT_SECONDS = 60
REQUEST_TIMEOUT_SECONDS = 30
# As the SDK's auth flow: a 401 about our token makes it refresh and resend, at most twice.
MAX_CREDENTIAL_REFRESHES = 2
# Dropped when an aiohttp answer is rebuilt as an httpx.Response: aiohttp has already decoded the body.
_TRANSPORT_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding"})


def configure_messaging_service(app: firebase_admin.App, *, api_base_url: str = "") -> Any:
    """The app's messaging service, checked for what we use and pointed at ``api_base_url`` if given."""
    service = messaging._get_messaging_service(app)
    missing = [name for name in SDK_SERVICE_ATTRIBUTES if not hasattr(service, name)]
    if not hasattr(_http_client, "METRICS_HEADERS"):
        missing.append("_http_client.METRICS_HEADERS")
    if missing:
        raise RuntimeError(f"firebase-admin's messaging service lacks {missing}; review push/firebase.py")
    if api_base_url:
        base = api_base_url.rstrip("/")
        service._fcm_url = f"{base}/v1/projects/{service._project_id}/messages:send"
        service._fcm_topic_url = f"{base}/v1/projects/{service._project_id}/registrations"
    return service


def _retry_after_seconds(exc: exceptions.FirebaseError) -> float | None:
    response = getattr(exc, "http_response", None)
    value: str | None = response.headers.get("Retry-After") if response is not None else None
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        try:
            return max(0.0, (parsedate_to_datetime(value) - timezone.now()).total_seconds())
        except (TypeError, ValueError):
            return None


def _is_token_violation(exc: exceptions.FirebaseError) -> bool:
    """FCM says INVALID_ARGUMENT both for a malformed token and for a malformed message; the
    ``BadRequest`` field violations tell which."""
    response = getattr(exc, "http_response", None)
    try:
        error = json.loads(response.content)["error"] if response is not None else {}
    except (ValueError, KeyError, TypeError):
        error = {}
    for detail in error.get("details", []) if isinstance(error, dict) else []:
        for violation in detail.get("fieldViolations", []) if isinstance(detail, dict) else []:
            if str(violation.get("field", "")).startswith(("message.token", "message.fid")):
                return True
    return "registration token" in str(exc).lower()


def classify(exc: Exception) -> SendError:
    """Maps a firebase-admin exception to what the fan-out engine must do about it."""
    detail = str(exc)[:200]
    if isinstance(exc, messaging.UnregisteredError):
        return SendError("unregistered", ErrorClass.TOKEN, detail=detail)
    if isinstance(exc, messaging.SenderIdMismatchError):
        return SendError("sender_mismatch", ErrorClass.TOKEN, detail=detail)
    # QuotaExceededError, or a bare 429 without FCM's error detail: both mean "back off".
    if isinstance(exc, exceptions.ResourceExhaustedError):
        wait = max(QUOTA_MIN_BACKOFF_SECONDS, _retry_after_seconds(exc) or 0.0)
        return SendError("quota_exceeded", ErrorClass.QUOTA, retry_after=wait, detail=detail)
    if isinstance(exc, messaging.ThirdPartyAuthError):
        return SendError("third_party_auth", ErrorClass.CREDENTIALS, detail=detail)
    if isinstance(exc, exceptions.InvalidArgumentError):
        if _is_token_violation(exc):
            return SendError("invalid_token", ErrorClass.TOKEN, detail=detail)
        return SendError("invalid_payload", ErrorClass.PAYLOAD, detail=detail)
    if isinstance(exc, exceptions.UnauthenticatedError | exceptions.PermissionDeniedError):
        return SendError("credentials", ErrorClass.CREDENTIALS, detail=detail)
    if isinstance(exc, exceptions.UnavailableError):
        return SendError(
            "unavailable", ErrorClass.TRANSIENT, retry_after=_retry_after_seconds(exc), detail=detail
        )
    if isinstance(exc, exceptions.InternalError):
        return SendError("internal", ErrorClass.TRANSIENT, detail=detail)
    return SendError(type(exc).__name__.lower()[:30], ErrorClass.TRANSIENT, detail=detail)


def build_message(message: OutgoingMessage) -> messaging.Message:
    ttl = timedelta(seconds=message.ttl_seconds) if message.ttl_seconds is not None else None
    collapse = message.collapse_key or None
    apns_headers = {"apns-priority": "10" if message.high_priority else "5"}
    if collapse:
        apns_headers["apns-collapse-id"] = collapse
    if ttl is not None:
        apns_headers["apns-expiration"] = str(int((timezone.now() + ttl).timestamp()))
    webpush_headers = {"Urgency": "high" if message.high_priority else "normal"}
    if ttl is not None:
        webpush_headers["TTL"] = str(message.ttl_seconds)
    target: dict[str, str] = (
        {"fid": message.token} if message.token_kind == "fid" else {"token": message.token}
    )
    with warnings.catch_warnings():
        # Registration tokens still exist on older app versions; the SDK warns on every use.
        warnings.simplefilter("ignore", DeprecationWarning)
        return messaging.Message(
            notification=messaging.Notification(
                title=message.title, body=message.body, image=message.image_url or None
            ),
            data=message.data or None,
            android=messaging.AndroidConfig(
                collapse_key=collapse,
                priority="high" if message.high_priority else "normal",
                ttl=ttl,
                notification=messaging.AndroidNotification(tag=collapse, channel_id=message.channel or None),
            ),
            apns=messaging.APNSConfig(
                headers=apns_headers,
                # iOS shows an image only through the app's notification service extension, which runs
                # for messages with mutable-content and loads fcm_options.image.
                payload=messaging.APNSPayload(
                    aps=messaging.Aps(
                        thread_id=collapse, sound="default", mutable_content=bool(message.image_url) or None
                    )
                ),
                fcm_options=messaging.APNSFCMOptions(image=message.image_url) if message.image_url else None,
            ),
            webpush=messaging.WebpushConfig(
                headers=webpush_headers, notification=messaging.WebpushNotification(tag=collapse)
            ),
            **target,
        )


def encoded_size(message: OutgoingMessage) -> int:
    """Bytes of the message as firebase-admin encodes it for FCM, without its target (token or fid):
    what the 4,096-byte limit is checked against. Raises ``ValueError`` when the SDK refuses a field."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        encoded = messaging._MessagingService.encode_message(build_message(message))
    encoded.pop("token", None)
    encoded.pop("fid", None)
    return len(json.dumps(encoded, ensure_ascii=False, separators=(",", ":")).encode())


def _content_key(message: OutgoingMessage) -> tuple[Any, ...]:
    """Everything of a message but its id and target: a broadcast has one per language."""
    return (
        message.token_kind,
        message.title,
        message.body,
        tuple(message.data.items()),
        message.image_url,
        message.collapse_key,
        message.high_priority,
        message.ttl_seconds,
        message.channel,
    )


def _sdk_encoded(message: OutgoingMessage) -> dict[str, Any] | SendError:
    try:
        encoded: dict[str, Any] = messaging._MessagingService.encode_message(build_message(message))
    except (ValueError, TypeError) as exc:  # the SDK validates fields locally
        return SendError("invalid_payload", ErrorClass.PAYLOAD, detail=str(exc)[:200])
    return encoded


def _body(sdk_dict: dict[str, Any]) -> bytes:
    return json.dumps({"message": sdk_dict}, ensure_ascii=False, separators=(",", ":")).encode()


def _body_template(message: OutgoingMessage) -> tuple[bytes, bytes] | SendError | None:
    """The request body firebase-admin encodes for this message, split around its target: the bytes
    before and after the JSON string of the token (or fid), or why the SDK refused the content. None if
    the target is not found exactly once in the body (then each message is encoded on its own)."""
    placeholder = f"target-{uuid.uuid4().hex}"  # appears in no text
    sdk_dict = _sdk_encoded(dataclasses.replace(message, token=placeholder))
    if isinstance(sdk_dict, SendError):
        return sdk_dict
    prefix, found, suffix = _body(sdk_dict).partition(json.dumps(placeholder).encode())
    if not found or placeholder.encode() in prefix + suffix:
        return None
    return prefix, suffix


def encode_bodies(messages: Sequence[OutgoingMessage]) -> list[bytes | SendError]:
    """The request body of each message as the SDK encodes it, or why the SDK refused it.

    The SDK builds and validates one message per distinct content (a broadcast has one per language);
    the others are that encoding with their own target, which is all that differs between them: the
    template's bytes around the target's JSON string, not a ``json.dumps`` of the whole body per message.
    """
    templates: dict[tuple[Any, ...], tuple[bytes, bytes] | SendError | None] = {}
    bodies: list[bytes | SendError] = []
    for message in messages:
        key = _content_key(message)
        if key in templates:
            template = templates[key]
        else:
            template = templates[key] = _body_template(message)
        if template is None or not message.token:  # no target: the SDK refuses it itself
            encoded = _sdk_encoded(message)
            bodies.append(encoded if isinstance(encoded, SendError) else _body(encoded))
        elif isinstance(template, SendError):
            bodies.append(template)
        else:
            prefix, suffix = template
            bodies.append(prefix + json.dumps(message.token, ensure_ascii=False).encode() + suffix)
    return bodies


@dataclass(frozen=True)
class _Answer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def _wire_error(exc: BaseException) -> httpx.HTTPError:
    """An aiohttp failure as the httpx error the SDK's mapper knows (connect → UnavailableError,
    timeout → DeadlineExceededError, a connection lost mid-request → UnknownError)."""
    request = httpx.Request("POST", "https://fcm.googleapis.com/")
    if isinstance(exc, TimeoutError):
        return httpx.ReadTimeout(f"timed out: {exc}", request=request)
    if isinstance(exc, aiohttp.ClientConnectorError):
        return httpx.ConnectError(str(exc), request=request)
    return httpx.ReadError(f"{type(exc).__name__}: {exc}", request=request)


def new_event_loop() -> asyncio.AbstractEventLoop:
    """uvloop where it is installed: aiohttp's CPU per request against the fake FCM fell from 114 to
    91 µs (docs/benchmarks.md, push fan-out); asyncio's own loop otherwise (Windows)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def _batch_failed(messages: list[OutgoingMessage], exc: BaseException) -> list[SendResult]:
    logger.warning("FCM batch call failed: %s", type(exc).__name__)
    error = SendError(type(exc).__name__.lower()[:30], ErrorClass.TRANSIENT, detail=str(exc)[:200])
    return [SendResult(delivery_id=m.delivery_id, error=error) for m in messages]


class _SentBatch:
    """A batch on the transport's loop: FCM's answer (or the SDK's refusal) per message once done."""

    def __init__(
        self,
        messages: list[OutgoingMessage],
        bodies: list[bytes | SendError],
        future: concurrent.futures.Future[dict[int, str | exceptions.FirebaseError]],
    ) -> None:
        self._messages = messages
        self._bodies = bodies
        self._future = future

    def results(self) -> list[SendResult]:
        try:
            # Each round of posts has its own SEND_TIMEOUT_SECONDS on the loop; this is the backstop.
            outcomes = self._future.result(timeout=SEND_TIMEOUT_SECONDS * (MAX_CREDENTIAL_REFRESHES + 2))
        except BaseException as exc:
            self._future.cancel()  # a timed-out batch must not go on sending next to its retry
            if not isinstance(exc, Exception):
                raise
            return _batch_failed(self._messages, exc)
        results = []
        for index, message in enumerate(self._messages):
            body = self._bodies[index]
            if isinstance(body, SendError):
                results.append(SendResult(delivery_id=message.delivery_id, error=body))
                continue
            outcome = outcomes[index]
            if isinstance(outcome, str):
                results.append(SendResult(delivery_id=message.delivery_id, message_id=outcome))
            else:
                results.append(SendResult(delivery_id=message.delivery_id, error=classify(outcome)))
        return results


class FirebaseTransport:
    """Sends batches over one aiohttp session per process, driven by an event loop in its own thread
    (the session belongs to the loop it was created on). Up to ``connections`` requests are in flight."""

    def __init__(self, app: firebase_admin.App, *, connections: int = 100) -> None:
        self.app = app
        self._service = configure_messaging_service(app)
        self._credential = self._service._credential
        self._auth_request = google_auth_requests.Request()  # one requests.Session, used for refreshes
        self._auth_lock = threading.Lock()
        self._connections = max(1, connections)
        self._session: aiohttp.ClientSession | None = None
        self._loop = new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fcm-loop", daemon=True)
        self._thread.start()

    @classmethod
    def from_settings(cls) -> FirebaseTransport:
        name = f"casapp-push-{id(cls)}"
        try:
            app = firebase_admin.get_app(name)
        except ValueError:
            app = firebase_admin.initialize_app(
                credentials.Certificate(settings.FIREBASE_CREDENTIALS_FILE), name=name
            )
        configure_messaging_service(app, api_base_url=settings.FCM_API_BASE_URL)
        return cls(app, connections=settings.PUSH_HTTP_CONNECTIONS)

    # --- Credentials

    def _request_headers(self, *, refresh: bool = False) -> dict[str, str]:
        """Headers of every request of a batch: the SDK's own, and the cached bearer token (google-auth
        counts it invalid 3¾ minutes before it expires, so it is refreshed before FCM would refuse it)."""
        with self._auth_lock:
            if refresh or not self._credential.valid:
                self._credential.refresh(self._auth_request)
            headers = {
                "Content-Type": "application/json",
                **_http_client.METRICS_HEADERS,
                **self._service._fcm_headers,
            }
            self._credential.apply(headers)
        return headers

    # --- Wire

    async def _post_all(self, bodies: list[bytes], headers: dict[str, str]) -> list[_Answer | BaseException]:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._connections),
                timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_SECONDS),
                skip_auto_headers=("User-Agent",),
            )
        session, url = self._session, self._service._fcm_url
        answers: list[_Answer | BaseException] = [TimeoutError()] * len(bodies)
        pending = iter(range(len(bodies)))

        async def lane() -> None:
            for index in pending:  # lanes share the iterator: at most `connections` in flight
                try:
                    async with session.post(url, data=bodies[index], headers=headers) as response:
                        # Headers matter only to an error's mapping (Retry-After, the error's details).
                        answer_headers = list(response.headers.items()) if response.status >= 300 else []
                        answers[index] = _Answer(response.status, answer_headers, await response.read())
                except (aiohttp.ClientError, TimeoutError) as exc:
                    answers[index] = exc

        await asyncio.gather(*(lane() for _ in range(min(self._connections, len(bodies)))))
        return answers

    # --- Answers

    def _interpret(self, answer: _Answer | BaseException) -> str | exceptions.FirebaseError:
        """FCM's message name, or the exception firebase-admin's ``send_each_async`` would report."""
        if isinstance(answer, _Answer) and answer.status < 300:
            try:
                return str(json.loads(answer.body)["name"])
            except (ValueError, KeyError, TypeError) as exc:
                return exceptions.UnknownError(f"unreadable FCM answer: {exc}", cause=exc)
        if isinstance(answer, _Answer):
            request = httpx.Request("POST", self._service._fcm_url)
            headers = [(k, v) for k, v in answer.headers if k.lower() not in _TRANSPORT_HEADERS]
            response = httpx.Response(answer.status, headers=headers, content=answer.body, request=request)
            try:
                response.raise_for_status()
            except httpx.HTTPStatusError as status_error:
                error: httpx.HTTPError = status_error
        else:
            error = _wire_error(answer)
        return self._service._handle_fcm_httpx_error(error)

    @staticmethod
    def _our_token_refused(outcome: str | exceptions.FirebaseError) -> bool:
        return isinstance(outcome, exceptions.UnauthenticatedError) and not isinstance(
            outcome, messaging.ThirdPartyAuthError
        )

    async def _outcomes(
        self, payloads: dict[int, bytes], headers: dict[str, str]
    ) -> dict[int, str | exceptions.FirebaseError]:
        """Posts every payload and reads FCM's answers; resends those refused for our access token with a
        refreshed one (the refresh, blocking HTTP, runs off the loop)."""
        outcomes: dict[int, str | exceptions.FirebaseError] = {}
        todo = list(payloads)
        for refreshes in range(MAX_CREDENTIAL_REFRESHES + 1):
            async with asyncio.timeout(SEND_TIMEOUT_SECONDS):
                answers = await self._post_all([payloads[i] for i in todo], headers)
            for index, answer in zip(todo, answers, strict=True):
                outcomes[index] = self._interpret(answer)
            todo = [i for i in todo if self._our_token_refused(outcomes[i])]
            if not todo or refreshes == MAX_CREDENTIAL_REFRESHES:
                break
            headers = await asyncio.get_running_loop().run_in_executor(
                None, functools.partial(self._request_headers, refresh=True)
            )
        return outcomes

    def submit(self, messages: list[OutgoingMessage]) -> InFlight:
        """Encodes the batch here and sends it on the transport's loop; ``results()`` waits for it."""
        bodies = encode_bodies(messages)
        payloads = {i: body for i, body in enumerate(bodies) if isinstance(body, bytes)}
        try:
            headers = self._request_headers()
            future = asyncio.run_coroutine_threadsafe(self._outcomes(payloads, headers), self._loop)
        except Exception as exc:  # the token endpoint failed: the whole batch waits
            return Answered(_batch_failed(messages, exc))
        return _SentBatch(messages, bodies, future)

    def send(self, messages: list[OutgoingMessage]) -> list[SendResult]:
        return self.submit(messages).results()

    def close(self) -> None:
        # The session belongs to our loop: close it there before the loop stops.
        if self._session is not None:
            asyncio.run_coroutine_threadsafe(self._session.close(), self._loop).result(timeout=10)
            self._session = None
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._auth_request.session.close()
        firebase_admin.delete_app(self.app)
