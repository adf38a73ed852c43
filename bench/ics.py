"""The ICS feed built on request, before and after writing the text directly (``python -m bench.ics``).

On the dataset of ``bench.waste`` (100,000 addresses, 8 waste types, 25 districts per type, 2 years of
dates; imported on first use), in one process, side by side in one run and alternating in rounds:

- ``icalendar (before)``: what a calendar cost before: the validators' aggregate queries, the collections
  query and the ``icalendar`` builder (``tests.waste_calendar.ics_reference``, byte-identical output).
- ``written, district events cold``: ``LocationFeed`` with every cache emptied before each calendar: the
  location's 8 districts are rendered too (the first calendars after an import).
- ``written, district events shared``: locations never asked before, their districts' events already
  rendered by earlier calendars (the steady state: 200 districts serve 100,000 addresses).

Each calendar is of a location not asked before in that case; the validators and bodies are not cached
across calendars, so every one is built. Wall times are per calendar, database and cache round trips
included (PostgreSQL on loopback, Redis cache as in production); on a machine shared with other jobs the
round trips' waits dominate them, so the CPU time of this process is shown too (the database's own work
for these indexed reads is small beside it).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime

from bench import _common, waste

ROUNDS = 3


def _case_before(location_id: str) -> bytes:
    from tests.waste_calendar.ics_reference import reference, reference_validators
    from waste_calendar.models import Location

    location = Location.objects.select_related("street").get(public_id=location_id)
    _etag, stamp = reference_validators(location, type_keys=None, language="de")
    return reference(location, type_keys=None, language="de", stamp=stamp)


def _case_written(location_id: str) -> bytes:
    """What the feed's view does for a calendar not built yet: the validators looked up (a miss), then
    ``location_feed_build`` (one query, the districts' events, validators and body stored in one write)."""
    from waste_calendar import lookup
    from waste_calendar.feed import location_feed_build

    lookup.feed_version_cached(location_id=location_id, type_keys=None, language="de")
    built = location_feed_build(location_id=location_id, type_keys=None, language="de")
    assert built is not None
    return built[1]


def _forget_everything() -> None:
    from django.core.cache import cache

    from waste_calendar.lookup import local_forget

    local_forget()
    cache.clear()


def _forget_calendars() -> None:
    """Validators and bodies of locations are keyed per location: a new location has none anyway; only the
    per-process copy of the generation is kept, as in a running server."""


def _districts_rendered() -> int:
    """How many districts' events (German, today's window) this process holds."""
    from waste_calendar import lookup
    from waste_calendar.feed import district_events_key
    from waste_calendar.models import District

    window = lookup.feed_window()
    return sum(
        1
        for district_id in District.objects.values_list("pk", flat=True)
        if lookup.cached_value_peek(district_events_key(district_id, "de", window)) is not None
    )


def measure(
    build: Callable[[str], bytes], locations: list[str], before_each: Callable[[], None]
) -> tuple[list[float], list[float], int]:
    """Wall and CPU milliseconds of this process per calendar, and the largest body."""
    wall: list[float] = []
    cpu: list[float] = []
    size = 0
    for location_id in locations:
        before_each()
        started, started_cpu = time.perf_counter(), time.process_time()
        body = build(location_id)
        cpu.append((time.process_time() - started_cpu) * 1000)
        wall.append((time.perf_counter() - started) * 1000)
        size = max(size, len(body))
    return wall, cpu, size


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ics", description=__doc__)
    parser.add_argument("--calendars", type=int, default=200, help="calendars per case and round")
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    args = parser.parse_args(argv)

    started = datetime.now(UTC)
    env = _common.server_environment(database=waste.DATABASE_NAME, redis_url=waste.REDIS_URL)
    _common.ensure_database(waste.DATABASE_NAME)
    _common.migrate(env, database=waste.DATABASE_NAME)
    os.environ.update({k: v for k, v in env.items() if k != "DJANGO_SETTINGS_MODULE"})
    os.environ["DJANGO_SETTINGS_MODULE"] = "casapp.settings"
    import django

    django.setup()
    from waste_calendar.models import District, Location

    seconds, counts = waste.import_dataset(env, force=False)
    print(f"dataset: {counts} ({'reused' if seconds is None else f'imported in {seconds:,.0f} s'})")
    every = list(Location.objects.values_list("public_id", flat=True))
    picked = random.Random(7).sample(every, args.calendars * args.rounds * 3)
    _forget_everything()
    districts = District.objects.count()
    # The shared case's districts are rendered by calendars outside the measured sample, spread over the
    # town: the first locations in street order (as before 2026-12-07) cover only 32-96 of the 200 districts,
    # so the "shared" case rendered districts too; 300 random locations cover every district.
    chosen = set(picked)
    warm = [location_id for location_id in random.Random(11).sample(every, 2600) if location_id not in chosen]
    warm = warm[:2000]
    for location_id in warm:
        _case_written(location_id)

    cases: dict[str, tuple[Callable[[str], bytes], Callable[[], None]]] = {
        "icalendar (before)": (_case_before, _forget_calendars),
        "written, district events cold": (_case_written, _forget_everything),
        "written, district events shared": (_case_written, _forget_calendars),
    }
    results: dict[str, list[float]] = {name: [] for name in cases}
    cpu_results: dict[str, list[float]] = {name: [] for name in cases}
    sizes: dict[str, int] = {}
    for round_number in range(args.rounds):
        for index, (name, (build, before_each)) in enumerate(cases.items()):
            chunk = picked[
                (round_number * 3 + index) * args.calendars : (round_number * 3 + index + 1) * args.calendars
            ]
            if name == "written, district events shared":
                # Re-render what the cold case emptied, outside the measurement; every district is rendered.
                for location_id in warm[:300]:
                    _case_written(location_id)
                rendered = _districts_rendered()
                if rendered < districts:
                    raise SystemExit(
                        f"only {rendered} of {districts} districts rendered before the shared case"
                    )
            times, cpu, size = measure(build, chunk, before_each)
            results[name] += times
            cpu_results[name] += cpu
            sizes[name] = max(sizes.get(name, 0), size)
        print(f"round {round_number + 1} of {args.rounds} done", flush=True)

    before = statistics.median(results["icalendar (before)"])
    before_cpu = statistics.mean(cpu_results["icalendar (before)"])
    load = os.getloadavg()
    rows = [
        f"# bench.ics, {started:%Y-%m-%d %H:%M} UTC\n",
        f"{os.cpu_count()} CPUs, load average {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}; "
        f"{args.calendars} calendars per case and round, {args.rounds} rounds, PostgreSQL + Redis.\n",
        "| case | p50 ms | p90 ms | calendars/s (one process) | faster (p50) | CPU ms, this process (mean) "
        "| less CPU | largest body |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, times in results.items():
        p50 = statistics.median(times)
        p90 = statistics.quantiles(times, n=10)[-1]
        rows.append(
            f"| {name} | {p50:.2f} | {p90:.2f} | {1000 / statistics.mean(times):,.0f} | "
            f"**{before / p50:.1f}x** | {statistics.mean(cpu_results[name]):.2f} | "
            f"**{before_cpu / statistics.mean(cpu_results[name]):.1f}x** | {sizes[name] / 1024:.0f} KB |"
        )
    report = "\n".join(rows) + "\n"
    waste.RESULTS_DIR.mkdir(exist_ok=True)
    path = waste.RESULTS_DIR / f"ics-{started:%Y%m%d-%H%M%S}.md"
    path.write_text(report)
    print()
    print(report)
    print(f"saved to {path.relative_to(waste.ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
