"""Settings for the HTTP benchmark: production settings plus the bare reference endpoint.

Throttles stay in the request path (their Redis round trips are part of what a request costs) but their
limits are out of reach, so a case measures the code and never counts 429s.
"""

from __future__ import annotations

from casapp.settings import *  # noqa: F403
from casapp.settings import REST_FRAMEWORK

ROOT_URLCONF = "bench.urls"

# Per second, not per hour: DRF keeps every request's timestamp of the window in the throttle's history,
# so a long window would make each request pickle a list that grows for the whole run.
BENCH_THROTTLE_RATE = "1000000/s"

REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_THROTTLE_RATES": dict.fromkeys(REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], BENCH_THROTTLE_RATE),
}
