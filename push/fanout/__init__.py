"""The fan-out engine: expands a notification's audience into delivery rows and drains them.

Guarantees:
- Every targeted installation gets a delivery row (unique per notification), written in chunks that
  stream over the audience by primary key; progress is stored, so a killed worker resumes where it was.
- A worker claims up to ``PUSH_BATCH_SIZE`` ready rows with a lease (``SKIP LOCKED`` on PostgreSQL, so
  parallel drains never share a row), sends them in one firebase-admin call and records each result. A
  worker killed mid-batch leaves rows claimed; when the lease runs out they are claimed again. So nothing
  is lost and at most the batch in flight is sent twice.
- Waiting never parks a worker: quota and transient errors set ``not_before`` on the rows and the drain
  task is rescheduled with a countdown.
- An outage of FCM (quota, or most of a batch failing transiently) pauses all sending and costs no
  message an attempt: only errors of a message while FCM works for the others count towards
  ``PUSH_MAX_ATTEMPTS``, so a long outage delays a send but fails no message.

The parts, by responsibility:
- ``audience``: who a broadcast reaches, and writing that audience as delivery rows (expansion);
- ``claims``: claiming a batch of ready rows under a lease;
- ``messages``: what a row becomes on the wire (language, payload, collapse key, TTL);
- ``pacing``: the global rate limit, the sending pause of an FCM outage or quota, retry backoff;
- ``results``: recording FCM's answers (circuit breaker, retries, deactivations) and closing a send;
- ``drains``: the loop one drain task runs (and the expiry of a send).

The names below stay importable from ``push.fanout``, where the rest of the code found them before
the engine was split into these modules.
"""

from __future__ import annotations

from push.fanout.audience import audience_queryset, broadcast_audience, expand_next_chunk
from push.fanout.drains import DRAINING_KEY, DrainResult, Outcome, drain
from push.fanout.messages import localized, outgoing_message
from push.fanout.pacing import CACHE_UNREACHABLE, QUOTA_PAUSE_KEY, quota_pause_remaining

__all__ = [
    "CACHE_UNREACHABLE",
    "DRAINING_KEY",
    "QUOTA_PAUSE_KEY",
    "DrainResult",
    "Outcome",
    "audience_queryset",
    "broadcast_audience",
    "drain",
    "expand_next_chunk",
    "localized",
    "outgoing_message",
    "quota_pause_remaining",
]
