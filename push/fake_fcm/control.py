"""Start, script and inspect the fake FCM server from Python (pytest fixtures, benchmarks).

    with FakeFcm.start(latency_ms=20) as fcm:
        cred = firebase_admin.credentials.Certificate(fcm.service_account_info())
        ...  # point the SDK's messaging service at fcm.messages_url / fcm.topics_url
        fcm.add_fault("unregistered", token="dead-token")
        fcm.add_fault("unavailable", times=3)  # the next three calls, whatever their target
        assert fcm.counts() == {"live-token": 1}

HTTP calls use only the standard library, so this module adds no dependency; `cryptography` (already
required by google-auth) is imported only to make the service account's key.
"""

from __future__ import annotations

import functools
import json
import os
import select
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path
from types import TracebackType
from typing import Any

DEFAULT_PROJECT_ID = "casapp-test"
_START_TIMEOUT_SECONDS = 20.0
# The directory that holds the `push` package, so the child finds it whatever the caller's cwd is.
_IMPORT_ROOT = Path(__file__).resolve().parents[2]


class FakeFcmError(RuntimeError):
    """The fake server could not be started or refused a control request."""


@functools.cache
def _private_key_pem() -> str:
    """One RSA key per process: generating one takes tens of milliseconds, and any key will do."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PrivateFormat.PKCS8,
        encryption_algorithm=serialization.NoEncryption(),
    ).decode()


@functools.cache
def _private_key_id() -> str:
    return uuid.uuid4().hex


def service_account_info(base_url: str, project_id: str = DEFAULT_PROJECT_ID) -> dict[str, str]:
    """A complete service-account JSON whose `token_uri` is the fake server's token endpoint.

    google-auth signs its token request with the private key, so the key is real (but made up here).
    """
    client_email = f"firebase-adminsdk-fake@{project_id}.iam.gserviceaccount.com"
    return {
        "type": "service_account",
        "project_id": project_id,
        "private_key_id": _private_key_id(),
        "private_key": _private_key_pem(),
        "client_email": client_email,
        "client_id": "100000000000000000001",
        "auth_uri": f"{base_url}/auth",
        "token_uri": f"{base_url}/token",
        "auth_provider_x509_cert_url": f"{base_url}/certs",
        "client_x509_cert_url": f"{base_url}/certs/{urllib.parse.quote(client_email)}",
        "universe_domain": "googleapis.com",
    }


def write_service_account(
    path: str | os.PathLike[str], base_url: str, project_id: str = DEFAULT_PROJECT_ID
) -> Path:
    """Write `service_account_info()` to `path` (as a settings file would point to) and return the path."""
    target = Path(path)
    target.write_text(json.dumps(service_account_info(base_url, project_id), indent=2))
    return target


class FakeFcm:
    """A handle on one fake FCM server: its URLs, its control API and (if started here) its process."""

    def __init__(
        self,
        base_url: str,
        project_id: str = DEFAULT_PROJECT_ID,
        process: subprocess.Popen[bytes] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.project_id = project_id
        self._process = process

    # -- lifecycle --------------------------------------------------------------------------------------

    @classmethod
    def start(
        cls,
        latency_ms: float = 0,
        record_bodies: bool = True,
        project_id: str = DEFAULT_PROJECT_ID,
        timeout: float = _START_TIMEOUT_SECONDS,
    ) -> FakeFcm:
        """Spawn `python -m push.fake_fcm` on a free loopback port and wait until it listens.

        The child stops when `stop()` is called or, failing that, when this process exits (its stdin
        closes).
        """
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_IMPORT_ROOT), env.get("PYTHONPATH")]))
        command = [
            sys.executable,
            "-m",
            "push.fake_fcm",
            "--port",
            "0",
            "--latency-ms",
            str(latency_ms),
            "--record-bodies" if record_bodies else "--no-record-bodies",
            "--exit-on-stdin-eof",
        ]
        process = subprocess.Popen(  # noqa: S603 - our own module, run by our own interpreter
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env
        )
        try:
            base_url = _read_listening_line(process, timeout)
        except BaseException:
            _terminate(process)
            raise
        return cls(base_url, project_id, process)

    @classmethod
    def connect(cls, base_url: str, project_id: str = DEFAULT_PROJECT_ID) -> FakeFcm:
        """A handle on a server started elsewhere (e.g. by a benchmark script); `stop()` leaves it running."""
        return cls(base_url, project_id)

    def stop(self) -> None:
        if self._process is not None:
            _terminate(self._process)
            self._process = None

    def __enter__(self) -> FakeFcm:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # -- where the SDK should go ------------------------------------------------------------------------

    @property
    def messages_url(self) -> str:
        """Replacement for the SDK messaging service's `_fcm_url`."""
        return f"{self.base_url}/v1/projects/{self.project_id}/messages:send"

    @property
    def topics_url(self) -> str:
        """Replacement for the SDK messaging service's `_fcm_topic_url`."""
        return f"{self.base_url}/v1/projects/{self.project_id}/registrations"

    @property
    def token_url(self) -> str:
        return f"{self.base_url}/token"

    def service_account_info(self) -> dict[str, str]:
        return service_account_info(self.base_url, self.project_id)

    def write_service_account(self, path: str | os.PathLike[str]) -> Path:
        return write_service_account(path, self.base_url, self.project_id)

    # -- control API ------------------------------------------------------------------------------------

    def reset(self) -> None:
        """Forget all records and fault rules (latency and record_bodies stay as configured)."""
        self._call("POST", "/_fake/reset")

    def add_fault(
        self,
        kind: str,
        *,
        token: str | None = None,
        times: int | None = None,
        retry_after: int | None = None,
        delay_ms: float | None = None,
        field: str | None = None,
        scope: str = "send",
    ) -> int:
        """Script a fault and return its rule id.

        `kind`: unregistered, sender_mismatch, invalid_token, invalid_payload, quota, unavailable, internal,
        third_party_auth, access_token_expired (401 without FCM detail: our OAuth token), slow or
        reset. `token`: only messages to this token or fid (None: any call).
        `times`: how many calls it hits (None: all). `retry_after`: seconds for a Retry-After header (quota
        sends 1 by default). `delay_ms`: extra delay before answering. `field`: the fieldViolations field
        of invalid_token/invalid_payload. `scope`: send, topics (subscriptions) or all.
        """
        rule: dict[str, Any] = {
            "kind": kind,
            "match": {"token": token} if token is not None else {"any": True},
            "times": times,
            "scope": scope,
        }
        if retry_after is not None:
            rule["retry_after"] = retry_after
        if delay_ms is not None:
            rule["delay_ms"] = delay_ms
        if field is not None:
            rule["field"] = field
        created = self._call("POST", "/_fake/faults", rule)
        return int(created["id"])

    def faults(self) -> list[dict[str, Any]]:
        """The rules still active, with their remaining `times`."""
        return list(self._call("GET", "/_fake/faults")["faults"])

    def clear_faults(self) -> None:
        self._call("DELETE", "/_fake/faults")

    def messages(self, target: str | None = None) -> list[dict[str, Any]]:
        """Accepted messages, oldest first: name, project, target, target_type, validate_only, message,
        received_at. Empty when the server does not record bodies."""
        query = f"?{urllib.parse.urlencode({'target': target})}" if target is not None else ""
        return list(self._call("GET", f"/_fake/messages{query}")["messages"])

    def counts(self) -> dict[str, int]:
        """Accepted (not dry-run) messages per target: a token, a fid, `/topics/<name>` or a condition."""
        return dict(self._call("GET", "/_fake/messages?summary=1")["counts"])

    def totals(self) -> dict[str, Any]:
        """Counters only (cheap at any volume): accepted, validate_only, rejected, rejected_by_kind, targets,
        duplicate_targets, requests, token_requests, topic_operations."""
        return dict(self._call("GET", "/_fake/messages?summary=1&counts=0")["totals"])

    def rejected(self) -> list[dict[str, Any]]:
        """Attempts answered with a fault: endpoint, kind, status (0 for a reset), target, rule_id, ..."""
        return list(self._call("GET", "/_fake/rejected")["rejected"])

    def topics(self) -> dict[str, list[str]]:
        """Current topic memberships: topic name -> subscribed registration tokens."""
        return dict(self._call("GET", "/_fake/topics")["topics"])

    def topic_operations(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "/_fake/topics")["operations"])

    def set_latency(self, ms: float) -> None:
        self._call("POST", "/_fake/config", {"latency_ms": ms})

    def set_record_bodies(self, record_bodies: bool) -> None:
        self._call("POST", "/_fake/config", {"record_bodies": record_bodies})

    def _call(self, method: str, path: str, payload: object = None) -> dict[str, Any]:
        data = json.dumps(payload).encode() if payload is not None else None
        request = urllib.request.Request(  # noqa: S310 - always our own http:// base URL
            self.base_url + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
                answer: dict[str, Any] = json.load(response)
        except urllib.error.HTTPError as error:
            raise FakeFcmError(f"{method} {path}: {error.code} {error.read().decode()}") from error
        return answer


def _read_listening_line(process: subprocess.Popen[bytes], timeout: float) -> str:
    assert process.stdout is not None  # noqa: S101 - started with stdout=PIPE
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise FakeFcmError(f"fake FCM server did not report LISTENING within {timeout} s")
        ready, _, _ = select.select([process.stdout], [], [], remaining)
        if not ready:
            continue
        line = process.stdout.readline().decode().strip()
        if line.startswith("LISTENING "):
            return line.removeprefix("LISTENING ")
        if not line and process.poll() is not None:
            raise FakeFcmError(f"fake FCM server exited with {process.returncode} before listening")


def _terminate(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    for pipe in (process.stdin, process.stdout):
        if pipe is not None:
            pipe.close()
