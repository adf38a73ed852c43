"""``python -m push.fake_fcm``: serve the fake FCM API until SIGTERM or SIGINT.

Prints one line, ``LISTENING http://127.0.0.1:<port>``, to stdout once it accepts connections.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence

from push.fake_fcm.server import FakeFcmState, serve


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m push.fake_fcm", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port to bind; 0 picks a free one (default)")
    parser.add_argument(
        "--latency-ms", type=float, default=0.0, help="delay of every FCM API answer, in ms (default: 0)"
    )
    parser.add_argument(
        "--record-bodies",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="keep every received message; --no-record-bodies keeps only the counters (for benchmarks)",
    )
    parser.add_argument(
        "--exit-on-stdin-eof",
        action="store_true",
        help="stop when stdin closes, so the server dies with the process that started it",
    )
    return parser.parse_args(argv)


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


async def _main(args: argparse.Namespace) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    if args.exit_on_stdin_eof:
        stdin_fd = sys.stdin.fileno()

        def wait_for_eof() -> None:
            # os.read, not sys.stdin: a daemon thread blocked in a buffered read aborts interpreter shutdown.
            with contextlib.suppress(OSError):
                while os.read(stdin_fd, 65536):
                    pass
            loop.call_soon_threadsafe(stop.set)

        threading.Thread(target=wait_for_eof, name="stdin-eof", daemon=True).start()

    def announce(base_url: str) -> None:
        sys.stdout.write(f"LISTENING {base_url}\n")
        sys.stdout.flush()

    state = FakeFcmState(latency_ms=args.latency_ms, record_bodies=args.record_bodies)
    await serve(state, host=args.host, port=args.port, on_ready=announce, stop=stop)


def main(argv: Sequence[str] | None = None) -> None:
    args = _parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="fake-fcm %(levelname)s %(message)s")
    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        runner.run(_main(args))


if __name__ == "__main__":
    main()
