"""Benchmark of the Abfallkalender on a region-sized dataset (``python -m bench.waste``).

``http`` (default part): 100,000 addresses (2,000 streets x 50 numbers), 8 waste types, 2 years of dates,
imported through ``import_waste_csv`` (timed); then gunicorn + wrk over loopback, with the machinery of
``bench.http_api``, against its bare-DRF reference measured in the same run: street autocomplete,
address → location, the collections list, the ICS feed (one location, and 2,000 locations at random) and
the ICS revalidation (If-None-Match → 304).

``streets``: ``lookup.street_search`` in this process on 5,000 streets (the dataset's, the demo's 60 real
names and generated ones, added in a transaction that is rolled back): p50/p95 of a search on a fresh index
(cold: the index is built first) and on a built one (warm), and the share of the 100 typing errors of
``tests/waste_calendar/data/street-misspellings.tsv`` whose first answer is the street meant.

``evening``: N subscriptions (default 1,000,000; each location subscribed N/100,000 times, every
subscription has a collection the next day), run twice side by side: all at 18:00, then the same
subscriptions spread over the 25 times from 16:00 to 22:00. The periodic task is enqueued to real Celery
workers (in the spread case once per time, each when the previous time's run has finished, or with
``--drain-between`` when the previous times' pushes were all accepted, as in the real night), which claim,
build and hand the reminders to push, whose drains send them to the fake FCM server (``push.fake_fcm``),
with the helpers of ``bench.push_fanout``. Measured: seconds from the first enqueueing until the fake server
accepted the last message, the reminder runs' own time (summed), a minutely run after the evening's last
time, peak RSS of the worker tree.

Own services: PostgreSQL database ``casapp_bench_waste``, Redis database 11. Results are printed as Markdown
and saved under ``bench/results/``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bench import _common, http_api, push_fanout

ROOT = Path(__file__).resolve().parent.parent
# BENCH_DATABASE / BENCH_REDIS_URL: a database and Redis database of one's own, when several checkouts
# benchmark on the same machine.
DATABASE_NAME = os.environ.get("BENCH_DATABASE", "casapp_bench_waste")
DATABASE_URL = f"postgres://postgres@127.0.0.1:5432/{DATABASE_NAME}"
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/11")
RESULTS_DIR = ROOT / "bench" / "results"
BERLIN = ZoneInfo("Europe/Berlin")

STREETS = 2_000
NUMBERS_PER_STREET = 50
DISTRICTS_PER_TYPE = 25
FIRST_DAY = dt.date(2026, 1, 1)
LAST_DAY = dt.date(2027, 12, 31)
# Days between collections per type (the Christmas tree collection: one January week per year).
CADENCE = {
    "restabfall": 14,
    "bioabfall": 14,
    "papier": 28,
    "wertstoff": 14,
    "sperrmuell": 56,
    "schadstoffmobil": 91,
    "weihnachtsbaum": 0,
    "gruenschnitt": 28,
}
PREFIXES = [
    "Bahnhof",
    "Kirch",
    "Schul",
    "Linden",
    "Eichen",
    "Birken",
    "Mühlen",
    "Wiesen",
    "Garten",
    "Berg",
    "Wald",
    "Feld",
    "Rosen",
    "Tulpen",
    "Buchen",
    "Ahorn",
    "Tannen",
    "Kastanien",
    "Holunder",
    "Erlen",
    "Weiden",
    "Ulmen",
    "Eschen",
    "Fichten",
    "Kiefern",
    "Hasel",
    "Flieder",
    "Nelken",
    "Lilien",
    "Veilchen",
    "Sonnen",
    "Mond",
    "Stern",
    "Bruch",
    "Hof",
    "Markt",
    "Brunnen",
    "Teich",
    "Bach",
    "Heide",
    "Moor",
    "Sand",
    "Stein",
    "Kamp",
    "Busch",
    "Dorf",
    "Zechen",
    "Schacht",
    "Hütten",
    "Ziegel",
]
SUFFIXES = ("straße", "weg", "allee", "ring", "pfad", "gasse", "damm", "feld", "platz", "stieg")
POSTCODES = ("44575", "44577", "44579", "44581")


# --- The dataset


def street_names() -> list[tuple[str, str]]:
    names = [(f"{p}{s}", code) for code in POSTCODES for p in PREFIXES for s in SUFFIXES]
    return names[:STREETS]


def district_of(street: int, number: int, type_index: int) -> int:
    # Odd and even sides of a street often belong to different tours; types are spread differently.
    return (street * 7 + (number % 2) * 11 + type_index * 3) % DISTRICTS_PER_TYPE


def write_tables(directory: Path) -> tuple[Path, Path]:
    streets_path, dates_path = directory / "streets.csv", directory / "dates.csv"
    types = list(CADENCE)
    with streets_path.open("w", encoding="utf-8") as out:
        out.write("strasse;plz;stadtteil;hausnummern;paritaet;fraktion;tour\n")
        for s, (name, postcode) in enumerate(street_names()):
            for number in range(1, NUMBERS_PER_STREET + 1):
                for t, key in enumerate(types):
                    district = f"{key[:2].upper()}{district_of(s, number, t):02d}"
                    out.write(f"{name};{postcode};;{number};;{key};{district}\n")
    with dates_path.open("w", encoding="utf-8") as out:
        out.write("fraktion;tour;datum\n")
        for key, cadence in CADENCE.items():
            for district in range(DISTRICTS_PER_TYPE):
                for day in collection_days(cadence, district):
                    out.write(f"{key};{key[:2].upper()}{district:02d};{day.isoformat()}\n")
    return streets_path, dates_path


def collection_days(cadence: int, district: int) -> list[dt.date]:
    if cadence == 0:
        return [dt.date(year, 1, 8 + district % 5) for year in (FIRST_DAY.year, LAST_DAY.year)]
    # Monday to Friday by district; with a 2-week cadence half of them in the other week.
    first = FIRST_DAY + dt.timedelta(
        days=(7 - FIRST_DAY.weekday()) % 7 + district % 5 + 7 * (district // 5 % 2)
    )
    days, day = [], first
    while day <= LAST_DAY:
        days.append(day)
        day += dt.timedelta(days=cadence)
    return days


def import_dataset(env: dict[str, str], *, force: bool) -> tuple[float | None, dict[str, int]]:
    """Imports the tables through ``import_waste_csv`` unless the database already holds them."""
    from waste_calendar.models import Location

    held = Location.objects.count()
    if held == STREETS * NUMBERS_PER_STREET and not force:
        return None, dataset_counts()
    with tempfile.TemporaryDirectory(prefix="bench-waste-") as scratch:
        streets_path, dates_path = write_tables(Path(scratch))
        rows = sum(1 for _ in streets_path.open()) - 1
        print(f"  import_waste_csv: {rows:,} street-table rows", flush=True)
        started = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "manage.py",
                "import_waste_csv",
                str(streets_path),
                str(dates_path),
                "--no-progress",
            ],
            cwd=ROOT,
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        seconds = time.perf_counter() - started
    return seconds, dataset_counts()


def dataset_counts() -> dict[str, int]:
    from waste_calendar.models import Collection, Location, LocationDistrict, Street, WasteType

    return {
        "streets": Street.objects.count(),
        "locations": Location.objects.count(),
        "assignments": LocationDistrict.objects.count(),
        "collections": Collection.objects.count(),
        "types": WasteType.objects.count(),
    }


# --- HTTP


@dataclass(frozen=True)
class HttpCase:
    case: http_api.Case
    # Request every path once before the load: the answer is then cached, as in steady operation.
    prewarm: bool = False
    target: float | None = None


def http_cases(port: int, *, sample: int) -> list[HttpCase]:
    from waste_calendar.models import Location, Street

    picked = list(Location.objects.order_by("?").values_list("public_id", flat=True)[: sample * 5])
    locations, cold = picked[:sample], picked[sample:]
    one = locations[0]
    streets = list(Street.objects.order_by("?").values_list("pk", flat=True)[:sample])
    ics = f"/api/v1/waste/locations/{one}.ics"
    etag = etag_of(port, http_api.Case(name="etag probe", method="GET", path=ics))
    queries = ("bahnhof", "lindenstr", "muehlen", "eichenw", "hof", "Kirchstr.", "sonnenallee", "tannen")
    resolve = tuple(
        f"/api/v1/waste/streets/{pk}/location?house_number={1 + i % NUMBERS_PER_STREET}"
        for i, pk in enumerate(streets)
    )

    def case(name: str, paths: tuple[str, ...], **kwargs: object) -> http_api.Case:
        return http_api.Case(name=name, method="GET", path=paths[0], paths=paths, **kwargs)  # type: ignore[arg-type]

    return [
        HttpCase(
            case(
                f"street autocomplete ({len(queries)} queries)",
                tuple(f"/api/v1/waste/streets/?q={q}" for q in queries),
            ),
            prewarm=True,
        ),
        HttpCase(case(f"address → location ({sample:,} addresses)", resolve), prewarm=True, target=0.8),
        HttpCase(
            case(
                f"collections, 60 days ({sample:,} locations)",
                tuple(f"/api/v1/waste/locations/{p}/collections" for p in locations),
            ),
            prewarm=True,
        ),
        HttpCase(case("ICS, one location", (ics,)), prewarm=True, target=0.8),
        HttpCase(
            case(f"ICS, {sample:,} locations", tuple(f"/api/v1/waste/locations/{p}.ics" for p in locations)),
            prewarm=True,
            target=0.8,
        ),
        HttpCase(
            case(
                f"ICS built on request ({len(cold):,} locations, cold)",
                tuple(f"/api/v1/waste/locations/{p}.ics" for p in cold),
            )
        ),
        HttpCase(
            case("ICS revalidation → 304", (ics,), headers=(("If-None-Match", etag),), expect_status=304),
            target=1.0,
        ),
        HttpCase(case("GET waste/types/", ("/api/v1/waste/types/",)), prewarm=True),
    ]


def etag_of(port: int, case: http_api.Case) -> str:
    import http.client

    conn = http.client.HTTPConnection(_common.HOST, port, timeout=10)
    try:
        conn.request("GET", case.path, headers={"Accept-Language": "de", "X-Forwarded-For": "10.0.0.1"})
        response = conn.getresponse()
        response.read()
        etag = response.getheader("ETag")
    finally:
        conn.close()
    if not etag:
        raise SystemExit(f"{case.path} answered without an ETag")
    return etag


def measure(load: http_api.LoadShape, case: http_api.Case, *, duration: int) -> http_api.CaseResult:
    return http_api.case_result(case, http_api.run_case(load, case, seconds=duration))


@dataclass(frozen=True)
class PairedResult:
    """A case and the bare reference, run alternately: the ratio is the median of the rounds' ratios."""

    case: http_api.CaseResult
    bare_requests_per_second: float
    ratios: tuple[float, ...]

    @property
    def ratio(self) -> float:
        return statistics.median(self.ratios)


def measure_paired(
    load: http_api.LoadShape, case: http_api.Case, *, rounds: int, warmup: int, duration: int, prewarm: bool
) -> PairedResult:
    """Other processes share the two cores and their load drifts within seconds, so one long run of each
    would compare different machines: bare and case take turns, and each round gives a ratio."""
    http_api.run_case(load, http_api.BARE, seconds=warmup)
    if prewarm:
        http_api.run_case(load, case, seconds=warmup)
    cases, bares, ratios = [], [], []
    for _ in range(rounds):
        bare = measure(load, http_api.BARE, duration=duration)
        result = measure(load, case, duration=duration)
        bares.append(bare.requests_per_second)
        cases.append(result)
        ratios.append(result.requests_per_second / bare.requests_per_second)
    return PairedResult(
        case=http_api.CaseResult(
            case=case,
            requests_per_second=statistics.mean(r.requests_per_second for r in cases),
            p50_ms=statistics.median(r.p50_ms for r in cases),
            p99_ms=max(r.p99_ms for r in cases),
            errors=sum(r.errors for r in cases),
        ),
        bare_requests_per_second=statistics.mean(bares),
        ratios=tuple(ratios),
    )


def run_http(args: argparse.Namespace, env: dict[str, str]) -> str:
    workers = 2 * (os.cpu_count() or 1)
    rows = [
        "| case | requests/s | p50 ms | p99 ms | errors | bare DRF, req/s | ratio (median) | rounds "
        "| target |",
        "|---|---:|---:|---:|---:|---:|---:|---|---:|",
    ]
    with _common.gunicorn_running(env=env, workers=workers) as (_server, port):
        load = http_api.LoadShape(port=port, connections=args.connections, threads=args.threads)
        for entry in http_cases(port, sample=args.sample):
            case = entry.case
            if args.only and not any(word in case.name for word in args.only):
                continue
            http_api.preflight(port=port, case=case)
            if entry.prewarm:
                for path in case.paths:
                    _common.http_request(port=port, method="GET", path=path)
            paired = measure_paired(
                load,
                case,
                rounds=args.rounds,
                warmup=args.warmup,
                duration=args.duration,
                prewarm=entry.prewarm,
            )
            result = paired.case
            target = f"≥ {entry.target:.0%}" if entry.target else "-"
            rounds = " ".join(f"{r:.2f}" for r in paired.ratios)
            rows.append(
                f"| {case.name} | {result.requests_per_second:,.0f} | {result.p50_ms:.1f} "
                f"| {result.p99_ms:.1f} | {result.errors} | {paired.bare_requests_per_second:,.0f} "
                f"| {paired.ratio:.2f} | {rounds} | {target} |"
            )
            print(
                f"  {case.name}: {result.requests_per_second:,.0f}/s, "
                f"bare {paired.bare_requests_per_second:,.0f}/s, ratio {paired.ratio:.2f} ({rounds})",
                flush=True,
            )
    return (
        f"gunicorn {workers} sync workers, wrk {args.threads} threads / {args.connections} connections; per "
        f"case {args.rounds} rounds of bare DRF then the case, {args.duration} s each (after {args.warmup} s "
        "warm-up of both); requests/s are the rounds' mean, the ratio their median\n\n"
        + "\n".join(rows)
        + "\n"
    )


# --- The street search in process

SEARCH_STREETS = 5_000
# Name patterns for the streets beyond the dataset's: each makes 500 names of the prefixes and suffixes.
SEARCH_PATTERNS = (
    "{}",
    "Alte {}",
    "Neue {}",
    "Obere {}",
    "Untere {}",
    "Kleine {}",
    "Große {}",
    "Am {}",
    "An der {}",
)
MISSPELLINGS = ROOT / "tests" / "waste_calendar" / "data" / "street-misspellings.tsv"


def misspellings() -> list[tuple[str, str]]:
    rows = []
    for line in MISSPELLINGS.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            typed, meant = line.split("\t")
            rows.append((typed, meant))
    return rows


def search_streets_add(total: int) -> int:
    """Adds the demo's 60 real street names and generated ones until ``total`` streets exist; returns
    how many were added. Called inside a transaction that the caller rolls back."""
    from waste_calendar.demo import demo_streets
    from waste_calendar.models import Street
    from waste_calendar.normalise import street_compact_form, street_search_form

    held = set(Street.objects.values_list("name", "postcode"))
    wanted = [(name, postcode) for name, postcode, _ in demo_streets()]
    for n, pattern in enumerate(SEARCH_PATTERNS):
        for prefix in PREFIXES:
            for suffix in SUFFIXES:
                wanted.append((pattern.format(f"{prefix}{suffix}"), POSTCODES[n % len(POSTCODES)]))
    new = []
    for name, postcode in wanted:
        if len(held) >= total:
            break
        if (name, postcode) not in held:
            held.add((name, postcode))
            new.append(
                Street(
                    name=name,
                    postcode=postcode,
                    name_search=street_search_form(name),
                    name_compact=street_compact_form(name),
                )
            )
    Street.objects.bulk_create(new, batch_size=1000)
    return len(new)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def run_streets(args: argparse.Namespace) -> str:
    """``lookup.street_search`` in this process on 5,000 streets: cold (the index is built first: what the
    first search after an import or a restart costs) and warm; and the share of the misspellings found."""
    from django.core.cache import cache
    from django.db import transaction

    from waste_calendar import lookup
    from waste_calendar.models import Street

    typed = misspellings()
    with transaction.atomic():
        added = search_streets_add(SEARCH_STREETS)
        streets = Street.objects.count()
        names = list(Street.objects.values_list("name", flat=True))
        # What people type: the misspellings, and the beginnings and whole names of real streets.
        queries = [q for q, _ in typed]
        queries += [name[: 4 + n % 8] for n, name in enumerate(names[:: max(1, len(names) // 100)])]
        queries += [f"{name} {n % 90 + 1}" for n, name in enumerate(names[7 :: max(1, len(names) // 50)])]
        # Cold: the first search of a process after an import (or a restart). The first process reads the
        # streets from the database; the others find them in the shared cache.
        cold_database, cold = [], []
        for query in queries[: args.cold_searches]:
            lookup.local_forget()
            cache.delete(lookup.STREET_INDEX_KEY)
            started = time.perf_counter()
            lookup.street_search(query=query)
            cold_database.append((time.perf_counter() - started) * 1000)
            lookup.local_forget()
            started = time.perf_counter()
            lookup.street_search(query=query)
            cold.append((time.perf_counter() - started) * 1000)
        lookup.street_search(query="warm-up")
        warm = []
        for _ in range(args.search_rounds):
            for query in queries:
                started = time.perf_counter()
                lookup.street_search(query=query)
                warm.append((time.perf_counter() - started) * 1000)
        first = top = 0
        missed = []
        for query, meant in typed:
            found = [m.street.name for m in lookup.street_search(query=query)]
            first += found[:1] == [meant]
            top += meant in found[:5]
            if found[:1] != [meant]:
                missed.append(f"{query} → {found[:2]}")
        transaction.set_rollback(True)
    lookup.local_forget()
    cache.delete(lookup.STREET_INDEX_KEY)
    rows = [
        "| search | searches | p50 ms | p95 ms | max ms | target p50 |",
        "|---|---:|---:|---:|---:|---:|",
        f"| cold, streets read from the database | {len(cold_database)} "
        f"| {percentile(cold_database, 0.5):.2f} | {percentile(cold_database, 0.95):.2f} "
        f"| {max(cold_database):.2f} | ≤ 20 ms |",
        f"| cold, streets from the shared cache | {len(cold)} | {percentile(cold, 0.5):.2f} "
        f"| {percentile(cold, 0.95):.2f} | {max(cold):.2f} | ≤ 20 ms |",
        f"| warm | {len(warm):,} | {percentile(warm, 0.5):.2f} | {percentile(warm, 0.95):.2f} "
        f"| {max(warm):.2f} | ≤ 5 ms |",
    ]
    return (
        f"{streets:,} streets ({added:,} added for this part in a transaction rolled back afterwards: the "
        f"demo's 60 real names and generated ones); {len(queries)} queries (the 100 misspellings, "
        "beginnings of names, names with a house number), warm: "
        f"{args.search_rounds} rounds\n\n"
        + "\n".join(rows)
        + f"\n\nMisspellings ({MISSPELLINGS.relative_to(ROOT)}): the street meant is the first answer for "
        f"**{first} of {len(typed)}**, among the first five for {top} of {len(typed)}."
        + (f" First answer otherwise: {'; '.join(missed)}." if missed else "")
        + "\n"
    )


# --- The reminder evening

SUBSCRIPTION_TYPES = '["restabfall", "bioabfall", "papier"]'


def evening_day() -> dt.date:
    return dt.date(2026, 12, 3)  # a Thursday in the dataset; its eve is the 2nd


def load_subscriptions(count: int) -> None:
    """``count`` installations (bench.push_fanout's generator) and one evening subscription each, spread
    evenly over the locations; every location gets an extra residual-waste collection on the evening's day,
    so every subscription is due."""
    from django.db import connection

    from waste_calendar.models import Collection, District, Location, ReminderSubscription

    push_fanout.load_installations(count, warmup=0)
    table = ReminderSubscription._meta.db_table
    locations = Location._meta.db_table
    if ReminderSubscription.objects.count() != count:
        with connection.cursor() as cursor:
            cursor.execute(f"TRUNCATE {table}")
            cursor.execute(
                f"""
                INSERT INTO {table} (installation_id, location_id, house_number, label, waste_types,
                                     remind_at, remind_time, created_at, updated_at)
                SELECT md5('bench-installation-' || i)::uuid, l.id, '', '', %s::jsonb, 'evening_before',
                       time '18:00', now() - interval '1 day', now() - interval '1 day'
                FROM generate_series(1, %s) AS i
                JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM {locations}) AS l
                  ON l.n = mod(i, (SELECT count(*) FROM {locations}))
                """,  # noqa: S608 (names from the models' meta)
                [SUBSCRIPTION_TYPES, count],
            )
            cursor.execute(f"VACUUM ANALYZE {table}")
    day = evening_day()
    for district in District.objects.filter(waste_type__key="restabfall"):
        Collection.objects.get_or_create(district=district, date=day, defaults={"status": "extra"})


def reset_evening() -> None:
    from django.db import connection

    from waste_calendar.models import ReminderRun, ReminderSend

    push_fanout.clear_notifications()
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {ReminderSend._meta.db_table}, {ReminderRun._meta.db_table}")


# The times of the spread evening: every quarter hour a subscription may choose (16:00-22:00).
SPREAD_TIMES = tuple(dt.time(16 + m // 60, m % 60) for m in range(0, 6 * 60 + 1, 15))


def set_subscription_times(*, spread: bool) -> None:
    """All subscriptions at 18:00, or spread evenly over the evening's 25 times (by id)."""
    from django.db import connection

    from waste_calendar.models import ReminderSubscription

    table = ReminderSubscription._meta.db_table
    # Changed before the simulated evening: the runs after a time's first look only at subscriptions
    # changed since, which a stamp of the real clock (days after the simulated evening) would always be.
    changed = dt.datetime.combine(evening_day() - dt.timedelta(days=2), dt.time(12, 0), tzinfo=BERLIN)
    times = "time '16:00' + (id %% %s) * interval '15 minutes'" if spread else "time '18:00'"
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET remind_time = {times}, updated_at = %s",  # noqa: S608
            [len(SPREAD_TIMES), changed] if spread else [changed],
        )
        cursor.execute(f"VACUUM ANALYZE {table}")


@dataclass(frozen=True)
class EveningResult:
    mode: str
    count: int
    accepted: int
    duplicates: int
    handed_over_seconds: float
    task_seconds: float  # the reminder runs' own time (claim + hand-over), summed over the times
    slowest_task_seconds: float
    times: int
    idle_run_ms: float  # a minutely run once every time of the evening was worked through
    peak_rss_mb: float
    cores: dict[str, float]
    timed_out: bool


def run_evening(args: argparse.Namespace, env: dict[str, str]) -> str:
    """The same subscriptions twice in one run: all at 18:00, then spread over the evening."""
    count = args.subscriptions
    started = time.perf_counter()
    load_subscriptions(count)
    print(
        f"  {count:,} installations and subscriptions ready ({time.perf_counter() - started:.0f} s)",
        flush=True,
    )
    results = []
    for spread in [mode == "spread" for mode in args.evening_modes]:
        set_subscription_times(spread=spread)
        reset_evening()
        mode = f"spread over {len(SPREAD_TIMES)} times 16:00-22:00" if spread else "all at 18:00"
        print(f"  evening, {mode}", flush=True)
        results.append(evening_once(args, env, mode=mode, spread=spread))
    lines = [
        "| times chosen | subscriptions due | accepted by fake FCM | until the last was accepted "
        "| reminder runs (claim + hand-over), summed | slowest run | messages/s | a minutely run after "
        "the last time | peak RSS workers | duplicates |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        done = "all" if not r.timed_out else f"timed out after {args.timeout:.0f} s"
        lines.append(
            f"| {r.mode} | {r.count:,} | {r.accepted:,} ({done}) | {r.handed_over_seconds:,.0f} s "
            f"| {r.task_seconds:,.1f} s ({r.times} run{'s' if r.times > 1 else ''}) "
            f"| {r.slowest_task_seconds:,.1f} s | {r.accepted / r.handed_over_seconds:,.0f} "
            f"| {r.idle_run_ms:,.0f} ms | {r.peak_rss_mb:,.0f} MB | {r.duplicates} |"
        )
    usage = "; ".join(
        f"{r.mode}: workers {r.cores['workers']}, PostgreSQL {r.cores['postgres']}, machine "
        f"{r.cores['machine']}"
        for r in results
    )
    return (
        f"worker --concurrency={args.worker_concurrency}, PUSH_DRAIN_CONCURRENCY={args.drain_concurrency}, "
        f"fake FCM latency {args.latency_ms} ms; the spread evening's runs are enqueued one after the other "
        "(each when the previous time's run has finished; drains overlap); cores busy on average: "
        f"{usage}\n\n" + "\n".join(lines) + "\n"
    )


def evening_once(args: argparse.Namespace, env: dict[str, str], *, mode: str, spread: bool) -> EveningResult:
    from django.db.models import Count

    from push.fake_fcm.control import FakeFcm
    from waste_calendar.models import ReminderRun, ReminderSubscription
    from waste_calendar.reminder_night import reminders_send_due
    from waste_calendar.tasks import send_due_reminders

    count = args.subscriptions
    day = evening_day()
    eve = day - dt.timedelta(days=1)
    times = SPREAD_TIMES if spread else (dt.time(18, 0),)
    with contextlib.ExitStack() as stack:
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-waste-")))
        fcm = FakeFcm.start(latency_ms=args.latency_ms, record_bodies=False)
        stack.callback(fcm.stop)
        credentials = fcm.write_service_account(scratch / "service-account.json")
        worker_env = {
            **env,
            "DJANGO_SETTINGS_MODULE": "casapp.settings",
            "PUSH_BACKEND": "firebase",
            "FIREBASE_CREDENTIALS_FILE": str(credentials),
            "FCM_API_BASE_URL": fcm.base_url,
            "PUSH_DRAIN_CONCURRENCY": str(args.drain_concurrency),
        }
        RESULTS_DIR.mkdir(exist_ok=True)  # a fresh checkout has none yet
        log_path = RESULTS_DIR / "waste-evening-celery.log"
        workers = stack.enter_context(
            push_fanout.CeleryWorkers(concurrency=args.worker_concurrency, env=worker_env, log_path=log_path)
        )
        time.sleep(3)  # the workers connect to the broker
        groups = {
            "workers": _common.process_tree(workers.pid),
            "postgres": _common.postgres_serving(DATABASE_NAME),
        }
        from django.test import override_settings

        task_seconds: list[float] = []
        with (
            _common.Sampler(groups) as sampler,
            override_settings(PUSH_DRAIN_CONCURRENCY=args.drain_concurrency),
        ):
            enqueued = time.perf_counter()
            deadline = enqueued + args.timeout
            due_by_time = dict(
                ReminderSubscription.objects.values_list("remind_time").annotate(n=Count("pk")).order_by()
            )
            due_so_far = 0
            for at in times:
                if args.drain_between and spread:
                    # As in the real night, the previous time's pushes are out before the next time comes.
                    while fcm.totals()["accepted"] < due_so_far and time.perf_counter() < deadline:
                        time.sleep(0.2)
                    due_so_far += due_by_time.get(at, 0)
                now = dt.datetime.combine(eve, at, tzinfo=BERLIN)
                began = time.perf_counter()
                send_due_reminders.apply_async(kwargs={"now": now.isoformat()})
                finished = ReminderRun.objects.filter(
                    remind_time=at, collection_day=day, finished_at__isnull=False
                )
                while not finished.exists() and time.perf_counter() < deadline:
                    workers.check_alive()
                    time.sleep(0.1)
                task_seconds.append(time.perf_counter() - began)
            print("    runs (s): " + " ".join(f"{seconds:.1f}" for seconds in task_seconds), flush=True)
            accepted = 0
            while accepted < count and time.perf_counter() < deadline:
                workers.check_alive()
                time.sleep(0.5)
                accepted = fcm.totals()["accepted"]
            handed_over = time.perf_counter() - enqueued
            usage = sampler.usage()
        totals = fcm.totals()
    # The minutely run after the evening's last time: every time is due, all were worked through.
    late = dt.datetime.combine(eve, dt.time(22, 1), tzinfo=BERLIN)
    idle_started = time.perf_counter()
    reminders_send_due(now=late)
    idle_ms = (time.perf_counter() - idle_started) * 1000
    return EveningResult(
        mode=mode,
        count=count,
        accepted=totals["accepted"],
        duplicates=totals["duplicate_targets"],
        handed_over_seconds=handed_over,
        task_seconds=sum(task_seconds),
        slowest_task_seconds=max(task_seconds),
        times=len(times),
        idle_run_ms=idle_ms,
        peak_rss_mb=usage.peak_rss_mb["workers"],
        cores={
            "workers": usage.cores["workers"],
            "postgres": usage.cores["postgres"],
            "machine": usage.machine_busy_cores,
        },
        timed_out=accepted < count,
    )


# --- Main


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.waste", description=__doc__)
    parser.add_argument(
        "parts", nargs="*", default=["http", "streets", "evening"], choices=["http", "streets", "evening"]
    )
    parser.add_argument("--reimport", action="store_true", help="import the dataset even if it is loaded")
    parser.add_argument("--duration", type=int, default=5, help="seconds of load per run")
    parser.add_argument("--rounds", type=int, default=3, help="bare and case runs, alternating")
    parser.add_argument("--warmup", type=int, default=3, help="unmeasured seconds before each case")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--sample", type=int, default=500, help="locations/streets the random cases use")
    parser.add_argument("--only", nargs="*", default=[], help="HTTP cases whose name contains one of these")
    parser.add_argument("--subscriptions", type=int, default=1_000_000)
    parser.add_argument("--worker-concurrency", type=int, default=3)
    parser.add_argument("--drain-concurrency", type=int, default=2)
    parser.add_argument("--latency-ms", type=int, default=20, help="the fake FCM server's answer delay")
    parser.add_argument("--timeout", type=float, default=1800.0, help="give up the evening after this")
    parser.add_argument(
        "--evening-modes",
        nargs="+",
        default=["18", "spread"],
        choices=["18", "spread"],
        help="which evenings",
    )
    parser.add_argument(
        "--drain-between",
        action="store_true",
        help="spread evening: enqueue a time only when the previous times' pushes were all accepted",
    )
    parser.add_argument("--cold-searches", type=int, default=50, help="street searches on a fresh index")
    parser.add_argument("--search-rounds", type=int, default=5, help="warm rounds over the queries")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_arguments(argv)
    # A plain `kill` must stop gunicorn and the workers too: SIGTERM takes the Ctrl-C path.
    signal.signal(signal.SIGTERM, http_api.raise_keyboard_interrupt)
    if "http" in args.parts and shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    started = datetime.now(UTC)
    env = _common.server_environment(database=DATABASE_NAME, redis_url=REDIS_URL)
    _common.ensure_database(DATABASE_NAME)
    _common.migrate(env, database=DATABASE_NAME)
    os.environ.update({k: v for k, v in env.items() if k != "DJANGO_SETTINGS_MODULE"})
    os.environ["DJANGO_SETTINGS_MODULE"] = "casapp.settings"
    import django

    django.setup()
    load = os.getloadavg()
    sections = [
        f"# bench.waste, {started:%Y-%m-%d %H:%M} UTC\n\n{os.cpu_count()} CPUs, load average at the start "
        f"{load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} (other helpers share the machine).\n"
    ]
    if {"http", "evening"} & set(args.parts):
        print("dataset: 100,000 addresses, 8 types, 2 years", flush=True)
        seconds, counts = import_dataset(env, force=args.reimport)
        imported = (
            f"{seconds:,.0f} s through import_waste_csv" if seconds is not None else "already loaded (reused)"
        )
        sections.append(f"## Dataset\n\n{counts} — import: {imported}\n")
        print(f"  {sections[-1]}", flush=True)
    if "http" in args.parts:
        print("http: gunicorn + wrk", flush=True)
        sections.append("## HTTP\n\n" + run_http(args, env))
    if "streets" in args.parts:
        print("streets: lookup.street_search in process", flush=True)
        sections.append("## Street search\n\n" + run_streets(args))
        print(f"  {sections[-1]}", flush=True)
    if "evening" in args.parts:
        print(f"evening: {args.subscriptions:,} subscriptions, all at 18:00 and spread", flush=True)
        sections.append("## Reminder evening\n\n" + run_evening(args, env))
    load = os.getloadavg()
    sections.append(f"Load average at the end: {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}\n")
    report = "\n".join(sections)
    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / f"waste-{started:%Y%m%d-%H%M%S}.md"
    path.write_text(report)
    print()
    print(report)
    print(f"saved to {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
