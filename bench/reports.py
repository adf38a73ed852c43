"""Mängelmelder benchmark: filing a report with a 12-MP photo, and the public bbox list over a million.

    .venv/bin/python -m bench.reports                       # both cases, 1,000,000 reports
    .venv/bin/python -m bench.reports --skip-list           # submission only (no bulk load)

**Submission**: one deterministic 12-megapixel JPEG (4000 x 3000, 4.4 MB, quality 92, EXIF with GPS
position and orientation 6) is filed through ``POST /api/v1/reports/`` (multipart, ``Authorization:
Device``, a new installation and idempotency key per report) against gunicorn with ONE sync worker. The
worker's CPU time (and that of PostgreSQL's backends for the bench database) is read from ``/proc``, so
the result is reports per second per core whatever else runs on the machine. In the same run the same
photo goes through the same pipeline as bare Pillow calls in a loop in this process (``pillow_pipeline``:
decode, draft, convert, thumbnail to 2048 px, exif_transpose, encode, thumbnail to 400 px, encode), timed
with ``time.process_time()``: the ceiling. The target is ours >= 80 % of it.

**Public bbox list**: N reports (default 1,000,000) are generated inside PostgreSQL (``INSERT ... SELECT
... FROM generate_series``; a database that already holds exactly N generated reports is reused), spread
uniformly over the city's bounding box, filed over five years in id order (as a real table fills), with
realistic statuses, categories, Stadtteile, 2 % hidden and a photo on 60 %. Two boxes around the city
centre, a district (2 km x 2 km) and a street corner (250 m x 250 m), are measured twice:

- the selector's query alone, in this process: ``selectors.report_public_rows(bbox=...)`` ordered and
  sliced as the endpoint's cursor pagination does (51 rows as dictionaries, with the category join),
  and ``selectors.public_photos`` of the page, ``--query-repeats`` times; p50/p99. Its ``EXPLAIN
  (ANALYZE, BUFFERS)`` is saved too;
- the endpoint ``GET /api/v1/reports/?bbox=...`` under wrk over loopback (gunicorn 2 x CPU sync workers),
  at each of ``--list-connections``. Target: p50 < 20 ms.

Results: printed tables, ``bench/results/reports-<timestamp>.md`` and ``.json``. Database
``casapp_bench_reports``, Redis database 6; photos are written to a temporary MEDIA_ROOT that is removed.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import os
import random
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench._common import (
    RESULTS_DIR,
    ROOT,
    Sampler,
    Usage,
    ensure_database,
    git_commit,
    gunicorn_running,
    http_request,
    machine_load,
    markdown_table,
    migrate,
    postgres_serving,
    process_alone,
    process_tree,
    processes_named,
    recording,
    server_environment,
    terminate_on_sigterm,
    wrk_run,
)

DATABASE = "casapp_bench_reports"
REDIS_URL = "redis://127.0.0.1:6379/6"

PHOTO_SIZE = (4000, 3000)
PHOTO_SEED = 20261125
PHOTO_QUALITY = 92
# The leaf the bench files into: no required questions, so the form needs nothing but the place.
SUBMIT_CATEGORY = "schlagloch"
SUBMIT_TIMEOUT_SECONDS = 60.0
TARGET_SHARE_OF_CEILING = 0.80
TARGET_LIST_P50_MS = 20.0

LOAD_CHUNK = 100_000
LOAD_YEARS = 5
HIDDEN_SHARE = 0.02
PHOTO_SHARE_PERCENT = 60
# Status shares of a city's long-running Mängelmelder: most reports are done.
STATUS_SHARES = (
    ("erledigt", 0.55),
    ("abgelehnt", 0.06),
    ("duplikat", 0.05),
    ("nicht_zustaendig", 0.04),
    ("zurueckgezogen", 0.03),
    ("eingegangen", 0.10),
    ("in_pruefung", 0.07),
    ("in_bearbeitung", 0.10),
)
OPEN_STATUS_VALUES = ("eingegangen", "in_pruefung", "in_bearbeitung")
METERS_PER_DEGREE_LATITUDE = 111_195.0


# --- The photo


def phone_photo() -> bytes:
    """A 12-MP JPEG as a phone writes it: photo-like content (a gradient, blotches, sensor noise), which
    compresses to 4.4 MB at quality 92 like a real photo (flat colour would be a few KB, pure noise
    over 10 MB), with EXIF: camera, time, GPS position and orientation 6 (turned on its side).
    The same bytes on every run: the noise comes from a seeded generator."""
    from PIL import ExifTags, Image

    width, height = PHOTO_SIZE
    rng = random.Random(PHOTO_SEED)
    coarse = (width // 8, height // 8)
    blotches = Image.frombytes("RGB", coarse, rng.randbytes(coarse[0] * coarse[1] * 3)).resize(
        PHOTO_SIZE, Image.Resampling.BICUBIC
    )
    gradient = Image.merge(
        "RGB",
        [
            Image.linear_gradient("L").resize(PHOTO_SIZE),
            Image.linear_gradient("L").rotate(90).resize(PHOTO_SIZE),
            Image.new("L", PHOTO_SIZE, 110),
        ],
    )
    sensor_noise = Image.frombytes("RGB", PHOTO_SIZE, rng.randbytes(width * height * 3))
    picture = Image.blend(Image.blend(gradient, blotches, 0.5), sensor_noise, 0.08)
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Fairphone"
    exif[ExifTags.Base.Model] = "FP5"
    exif[ExifTags.Base.Orientation] = 6
    exif[ExifTags.Base.DateTime] = "2026:11:25 09:41:00"
    exif[ExifTags.IFD.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: "N",
        ExifTags.GPS.GPSLatitude: (51.0, 33.0, 12.5),
        ExifTags.GPS.GPSLongitudeRef: "E",
        ExifTags.GPS.GPSLongitude: (7.0, 18.0, 45.25),
    }
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG", quality=PHOTO_QUALITY, exif=exif)
    return buffer.getvalue()


def pillow_pipeline(data: bytes) -> tuple[int, int]:
    """What ``reports.photos.photo_process`` does to an opaque JPEG without an ICC profile, as bare
    Pillow calls: no validation, no error mapping, no copy onto a clean canvas. Returns the size."""
    from PIL import Image, ImageOps

    from reports.photos import JPEG_QUALITY, MAX_EDGE, THUMBNAIL_EDGE

    opened = Image.open(io.BytesIO(data))
    scale = MAX_EDGE / max(opened.size)
    if scale < 1:
        opened.draft("RGB", (math.ceil(opened.width * scale), math.ceil(opened.height * scale)))
    opened.load()
    # convert() to the same mode would copy all 12 M pixels: photos.py skips it, so does the ceiling.
    picture = opened.convert("RGB") if opened.mode != "RGB" else opened
    picture.thumbnail((MAX_EDGE, MAX_EDGE), Image.Resampling.LANCZOS)
    ImageOps.exif_transpose(picture, in_place=True)
    thumbnail = picture.copy()
    thumbnail.thumbnail((THUMBNAIL_EDGE, THUMBNAIL_EDGE), Image.Resampling.LANCZOS)
    for image in (picture, thumbnail):
        image.save(io.BytesIO(), format="JPEG", quality=JPEG_QUALITY, optimize=True, progressive=True)
    return picture.size


# --- Results


@dataclass
class SubmissionResult:
    photo_bytes: int
    ceiling_photos: int
    ceiling_cpu_s: float
    ceiling_wall_s: float
    reports: int
    wall_s: float
    worker_cpu_s: float
    postgres_cpu_s: float
    redis_cpu_s: float
    client_cpu_s: float
    machine_busy_cores: float
    output_size: tuple[int, int]

    @property
    def ceiling_per_core(self) -> float:
        return self.ceiling_photos / self.ceiling_cpu_s

    @property
    def worker_per_core(self) -> float:
        return self.reports / self.worker_cpu_s

    @property
    def server_per_core(self) -> float:
        return self.reports / (self.worker_cpu_s + self.postgres_cpu_s)


@dataclass
class ListResult:
    box: str
    bbox: str
    in_box: int
    query_repeats: int
    selector_p50_ms: float
    selector_p99_ms: float
    sql_p50_ms: float
    sql_p99_ms: float
    plan: str
    endpoint: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class BenchReport:
    started_at: str
    file_stem: str
    commit: str
    load_before: str
    arguments: dict[str, Any]
    submission: SubmissionResult | None = None
    reports_loaded: int = 0
    load_seconds: float | None = None
    lists: list[ListResult] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    load_after: str = ""


def render_markdown(report: BenchReport) -> str:
    lines = [
        f"# bench.reports, {report.started_at}",
        "",
        f"Commit {report.commit}; load average before {report.load_before}, after {report.load_after} "
        f"({os.cpu_count()} CPUs shared with other jobs).",
        "",
    ]
    if (sub := report.submission) is not None:
        share = sub.server_per_core / sub.ceiling_per_core
        rows = [
            (
                "pure Pillow pipeline (ceiling)",
                sub.ceiling_photos,
                f"{sub.ceiling_cpu_s:.2f}",
                f"{1000 * sub.ceiling_cpu_s / sub.ceiling_photos:.0f}",
                f"{sub.ceiling_per_core:.2f}",
                f"{sub.ceiling_photos / sub.ceiling_wall_s:.2f}",
                "1.00",
            ),
            (
                "ours: POST /api/v1/reports/, gunicorn worker",
                sub.reports,
                f"{sub.worker_cpu_s:.2f}",
                f"{1000 * sub.worker_cpu_s / sub.reports:.0f}",
                f"{sub.worker_per_core:.2f}",
                f"{sub.reports / sub.wall_s:.2f}",
                f"{sub.worker_per_core / sub.ceiling_per_core:.2f}",
            ),
            (
                "ours: worker + PostgreSQL",
                sub.reports,
                f"{sub.worker_cpu_s + sub.postgres_cpu_s:.2f}",
                f"{1000 * (sub.worker_cpu_s + sub.postgres_cpu_s) / sub.reports:.0f}",
                f"{sub.server_per_core:.2f}",
                f"{sub.reports / sub.wall_s:.2f}",
                f"{share:.2f}",
            ),
        ]
        lines += [
            f"## Submission: one {PHOTO_SIZE[0]} x {PHOTO_SIZE[1]} JPEG of {sub.photo_bytes / 1e6:.1f} MB "
            f"per report (stored as {sub.output_size[0]} x {sub.output_size[1]})",
            "",
            markdown_table(
                ("case", "photos", "CPU s", "CPU ms/photo", "per core/s", "wall/s", "ratio to ceiling"),
                rows,
            ),
            f"Redis {sub.redis_cpu_s:.2f} CPU s (the whole server), client {sub.client_cpu_s:.2f} CPU s, "
            f"machine busy {sub.machine_busy_cores:.2f} cores during ours.",
            "",
            f"- ours (worker + PostgreSQL) >= {TARGET_SHARE_OF_CEILING:.0%} of the ceiling per core? "
            f"**{'yes' if share >= TARGET_SHARE_OF_CEILING else 'no'}** ({share:.0%})",
            "",
        ]
    if report.lists:
        lines += [
            f"## Public bbox list over {report.reports_loaded:,} reports"
            + (f" (loaded in {report.load_seconds:.0f} s)" if report.load_seconds else " (reused)"),
            "",
        ]
        rows_list: list[tuple[object, ...]] = []
        for result in report.lists:
            rows_list.append(
                (
                    f"{result.box}: main SQL statement alone",
                    f"{result.in_box:,}",
                    "-",
                    "-",
                    f"{result.sql_p50_ms:.1f}",
                    f"{result.sql_p99_ms:.1f}",
                    "-",
                    "-",
                    "-",
                )
            )
            rows_list.append(
                (
                    f"{result.box}: selector, first page (2 queries + ORM)",
                    f"{result.in_box:,}",
                    "-",
                    "-",
                    f"{result.selector_p50_ms:.1f}",
                    f"{result.selector_p99_ms:.1f}",
                    "-",
                    "-",
                    "-",
                )
            )
            for run in result.endpoint:
                rows_list.append(
                    (
                        f"{result.box}: GET /api/v1/reports/?bbox=",
                        f"{result.in_box:,}",
                        run["connections"],
                        f"{run['requests_per_second']:,.0f}",
                        f"{run['p50_ms']:.1f}",
                        f"{run['p99_ms']:.1f}",
                        f"{run['gunicorn_cpu_ms']:.1f}",
                        f"{run['postgres_cpu_ms']:.1f}",
                        run["errors"],
                    )
                )
        lines.append(
            markdown_table(
                (
                    "case",
                    "reports in box",
                    "connections",
                    "requests/s",
                    "p50 ms",
                    "p99 ms",
                    "gunicorn CPU ms/request",
                    "PostgreSQL CPU ms/request",
                    "errors",
                ),
                rows_list,
            )
        )

        endpoint_p50 = [run["p50_ms"] for result in report.lists for run in result.endpoint]
        if endpoint_p50:
            worst = max(endpoint_p50)
            lines += [
                f"- endpoint p50 < {TARGET_LIST_P50_MS:.0f} ms in every row? "
                f"**{'yes' if worst < TARGET_LIST_P50_MS else 'no'}** (worst {worst:.1f} ms)",
                "",
            ]
        for result in report.lists:
            lines += [f"### Plan, {result.box} ({result.bbox})", "", "```", result.plan, "```", ""]
    if report.errors:
        lines += ["## Errors", "", *[f"- {error}" for error in report.errors], ""]
    return "\n".join(lines)


def save(report: BenchReport) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stem = report.file_stem
    (RESULTS_DIR / f"{stem}.json").write_text(json.dumps(asdict(report), indent=2, default=str))
    path = RESULTS_DIR / f"{stem}.md"
    path.write_text(render_markdown(report))
    return path


# --- Submission


def _inside_city_points(count: int) -> list[tuple[float, float]]:
    from reports import geo

    rng = random.Random(PHOTO_SEED)
    min_lon, min_lat, max_lon, max_lat = geo.city_geometry().bounds
    points: list[tuple[float, float]] = []
    while len(points) < count:
        lat, lon = rng.uniform(min_lat, max_lat), rng.uniform(min_lon, max_lon)
        if geo.point_in_city(latitude=lat, longitude=lon):
            points.append((round(lat, 6), round(lon, 6)))
    return points


def _multipart(fields: dict[str, str], photo: bytes) -> tuple[bytes, str]:
    boundary = f"bench-{uuid.uuid4().hex}"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="photos"; filename="IMG_0001.jpg"\r\n'
        "Content-Type: image/jpeg\r\n\r\n".encode()
    )
    body = b"".join([*parts, photo, f"\r\n--{boundary}--\r\n".encode()])
    return body, f"multipart/form-data; boundary={boundary}"


@dataclass(frozen=True)
class Filing:
    secret: str
    body: bytes
    content_type: str


def _filings(count: int, photo: bytes) -> tuple[list[Filing], list[Any]]:
    """One new installation per report (as many phones file, and no per-installation limit is near)."""
    from push.services.installations import installation_register

    filings, installations = [], []
    for index, (lat, lon) in enumerate(_inside_city_points(count)):
        installation, secret = installation_register(platform="android", app_version="3.1.0", locale="de")
        installations.append(installation)
        body, content_type = _multipart(
            {
                "category": SUBMIT_CATEGORY,
                "latitude": str(lat),
                "longitude": str(lon),
                "description": f"Tiefes Schlagloch auf der Fahrbahn, Benchmark-Meldung {index}.",
                "idempotency_key": uuid.uuid4().hex,
            },
            photo,
        )
        filings.append(Filing(secret=secret, body=body, content_type=content_type))
    return filings, installations


def _file(port: int, filing: Filing) -> None:
    status, answer = http_request(
        port=port,
        method="POST",
        path="/api/v1/reports/",
        body=filing.body,
        headers={
            "Authorization": f"Device {filing.secret}",
            "Content-Type": filing.content_type,
            # A phone's own address each: the per-IP limit would otherwise count the whole run.
            "X-Forwarded-For": ".".join(["10", *(str(random.randrange(1, 255)) for _ in range(3))]),
        },
        timeout=SUBMIT_TIMEOUT_SECONDS,
    )
    if status != 201:
        raise RuntimeError(f"POST /api/v1/reports/ answered {status}: {answer[:300]!r}")


def run_submission(
    env: dict[str, str], *, reports: int, ceiling_photos: int, warmup: int
) -> SubmissionResult:
    from reports.models import Report, ReportPhoto
    from reports.photos import photo_process

    photo = phone_photo()
    print(f"submission: photo {PHOTO_SIZE[0]} x {PHOTO_SIZE[1]}, {len(photo):,} bytes", flush=True)

    # The ceiling and our pipeline must agree on what they produce, or the ratio compares two things.
    ceiling_size = pillow_pipeline(photo)
    ours = photo_process(io.BytesIO(photo))
    if (ours.width, ours.height) != ceiling_size:
        raise RuntimeError(f"photo_process made {ours.width} x {ours.height}, bare Pillow {ceiling_size}")

    def ceiling(photos: int) -> tuple[float, float]:
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(photos):
            pillow_pipeline(photo)
        spent = time.process_time() - cpu, time.perf_counter() - wall
        print(f"  ceiling: {photos} photos, {1000 * spent[0] / photos:.0f} ms CPU each", flush=True)
        return spent

    # Half the ceiling before ours and half after: the cores are shared, and a neighbour's load that
    # starts or stops during the run then weighs on both sides alike.
    before = ceiling(ceiling_photos // 2)

    filings, installations = _filings(warmup + reports, photo)
    photos_before = ReportPhoto.objects.count()
    try:
        with gunicorn_running(env=env, workers=1, timeout=int(SUBMIT_TIMEOUT_SECONDS)) as (server, port):
            for filing in filings[:warmup]:
                _file(port, filing)
            groups: dict[str, Callable[[Any], set[int]]] = {
                "worker": process_tree(server.pid),
                # Its backends only: the WAL writer and checkpointer serve every database, and the test
                # suites of other branches beside this run write far more than 30 reports do.
                "postgres": postgres_serving(DATABASE, background=False),
                "redis": processes_named("redis-server"),
                "client": process_alone(os.getpid()),
            }
            # Two in flight: while the one worker handles a report, the next is already on its way.
            with Sampler(groups) as sampler, ThreadPoolExecutor(max_workers=2) as pool:
                list(pool.map(lambda filing: _file(port, filing), filings[warmup:]))
            usage: Usage = sampler.usage()
        stored = ReportPhoto.objects.count() - photos_before
        if stored != warmup + reports:
            raise RuntimeError(f"{stored} photos stored for {warmup + reports} reports")
    finally:
        ids = [installation.pk for installation in installations]
        Report.objects.filter(installation_id__in=ids).delete()
        for installation in installations:
            installation.delete()
    after = ceiling(ceiling_photos - ceiling_photos // 2)
    result = SubmissionResult(
        photo_bytes=len(photo),
        ceiling_photos=ceiling_photos,
        ceiling_cpu_s=before[0] + after[0],
        ceiling_wall_s=before[1] + after[1],
        reports=reports,
        wall_s=usage.wall_s,
        worker_cpu_s=usage.cpu_seconds["worker"],
        postgres_cpu_s=usage.cpu_seconds["postgres"],
        redis_cpu_s=usage.cpu_seconds["redis"],
        client_cpu_s=usage.cpu_seconds["client"],
        machine_busy_cores=usage.machine_busy_cores,
        output_size=(ours.width, ours.height),
    )
    print(
        f"  ours: {reports} reports, {1000 * result.worker_cpu_s / reports:.0f} ms worker CPU + "
        f"{1000 * result.postgres_cpu_s / reports:.0f} ms PostgreSQL each: "
        f"{result.server_per_core / result.ceiling_per_core:.0%} of the ceiling",
        flush=True,
    )
    return result


# --- Bulk load


def _generated_count() -> int:
    from reports.models import Report

    return Report.objects.filter(installation__isnull=True, idempotency_key="").count()


def load_reports(count: int) -> float | None:
    """N generated reports (and photo rows for 60 %), made inside PostgreSQL without a round trip per
    row; returns the seconds it took, or None when the database already held exactly N."""
    from django.db import connection

    from casapp.city import STADTTEILE
    from reports import geo
    from reports.models import Category, Report, ReportPhoto

    if _generated_count() == count:
        return None
    started = time.perf_counter()
    min_lon, min_lat, max_lon, max_lat = geo.city_geometry().bounds
    leaves = list(Category.objects.filter(parent__isnull=False).values_list("pk", flat=True).order_by("pk"))
    statuses, cumulative, bound = [], [], 0.0
    for status, share in STATUS_SHARES:
        bound += share
        statuses.append(status)
        cumulative.append(bound)
    status_case = " ".join(
        f"WHEN r_status < {bound:.4f} THEN '{status}'"
        for status, bound in zip(statuses, cumulative, strict=True)
    )
    closed = ", ".join(f"'{status}'" for status in statuses if status not in OPEN_STATUS_VALUES)
    report_table, photo_table = Report._meta.db_table, ReportPhoto._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {report_table} RESTART IDENTITY CASCADE")
        cursor.execute("SELECT setseed(0.42)")
        for first in range(1, count + 1, LOAD_CHUNK):
            last = min(count, first + LOAD_CHUNK - 1)
            cursor.execute(
                f"""
                INSERT INTO {report_table} (
                    category_id, description, latitude, longitude, address, stadtteil, answers, status,
                    installation_id, idempotency_key, contact_email, contact_phone, contact_consent,
                    assigned_to_id, duplicate_of_id, forwarded_to, hidden, support_count,
                    created_at, updated_at, first_response_at, closed_at, contact_erased_at,
                    contact_name, media_url, arrived_at)
                SELECT
                    (%(leaves)s::bigint[])[1 + floor(r_category * %(leaf_count)s)::int],
                    'Benchmark-Meldung ' || i || ': Schaden am Straßenrand, bitte prüfen und beheben.',
                    %(min_lat)s + r_lat * (%(max_lat)s - %(min_lat)s),
                    %(min_lon)s + r_lon * (%(max_lon)s - %(min_lon)s),
                    'Musterstraße ' || (1 + i %% 240),
                    (%(stadtteile)s::text[])[1 + (i * 7) %% %(stadtteil_count)s],
                    '{{}}'::jsonb, status, NULL, '', '', '', false, NULL, NULL, '',
                    r_hidden < %(hidden)s, floor(r_support ^ 4 * 25)::int,
                    created, created + (CASE WHEN status IN ({closed}) THEN r_age * interval '60 days'
                                        ELSE r_age * interval '3 days' END),
                    CASE WHEN status <> 'eingegangen' THEN created + r_age * interval '2 days' END,
                    CASE WHEN status IN ({closed}) THEN created + r_age * interval '60 days' END,
                    NULL, '', '', created
                FROM (
                    SELECT i, random() AS r_category, random() AS r_lat, random() AS r_lon,
                        random() AS r_hidden, random() AS r_support, random() AS r_age,
                        now() - interval '{LOAD_YEARS} years'
                            + (i::float8 / %(count)s) * interval '{LOAD_YEARS} years' AS created,
                        CASE {status_case} ELSE 'in_bearbeitung' END AS status
                    FROM (SELECT i, random() AS r_status FROM generate_series(%(first)s, %(last)s) AS i) AS s
                ) AS g
                """,  # noqa: S608  (table names from the models' meta, numbers from this module)
                {
                    "leaves": leaves,
                    "leaf_count": len(leaves),
                    "min_lat": min_lat,
                    "max_lat": max_lat,
                    "min_lon": min_lon,
                    "max_lon": max_lon,
                    "stadtteile": list(STADTTEILE),
                    "stadtteil_count": len(STADTTEILE),
                    "hidden": HIDDEN_SHARE,
                    "count": count,
                    "first": first,
                    "last": last,
                },
            )
            print(f"  loaded {last:,} / {count:,} reports", flush=True)
        cursor.execute(
            f"""
            INSERT INTO {photo_table}
                (report_id, public_id, content_hash, image, thumbnail, width, height, position, removed)
            SELECT id, lpad(to_hex(id), 16, '0'), substr(md5(id::text), 1, 16),
                   'reports/' || id || '/20261125-bench.jpg',
                   'reports/' || id || '/20261125-bench-thumb.jpg', 2048, 1536, 0, false
            FROM {report_table} WHERE id %% 100 < %s
            """,  # noqa: S608
            [PHOTO_SHARE_PERCENT],
        )
        cursor.execute(f"VACUUM ANALYZE {report_table}")
        cursor.execute(f"VACUUM ANALYZE {photo_table}")
    return time.perf_counter() - started


# --- Public bbox list


@dataclass(frozen=True)
class Box:
    name: str
    min_lon: float
    min_lat: float
    max_lon: float
    max_lat: float
    statuses: tuple[str, ...] = ()

    @property
    def query(self) -> str:
        bbox = f"bbox={self.min_lon:.6f},{self.min_lat:.6f},{self.max_lon:.6f},{self.max_lat:.6f}"
        return bbox + (f"&status={','.join(self.statuses)}" if self.statuses else "")

    def selector_filters(self) -> dict[str, Any]:
        from reports import selectors

        bbox = selectors.BoundingBox(
            min_longitude=self.min_lon,
            min_latitude=self.min_lat,
            max_longitude=self.max_lon,
            max_latitude=self.max_lat,
        )
        return {"bbox": bbox, "statuses": self.statuses}


def boxes() -> list[Box]:
    """Around the city centre: a district-sized box (2 km x 2 km), the same with only open reports (what
    a map of current defects asks for), and a street corner (250 m x 250 m)."""
    from reports import geo

    centre = geo.city_geometry().representative_point()
    found = []
    for name, meters, statuses in (
        ("district 2 km x 2 km", 2000.0, ()),
        ("district, open only", 2000.0, OPEN_STATUS_VALUES),
        ("corner 250 m x 250 m", 250.0, ()),
    ):
        half_lat = meters / 2 / METERS_PER_DEGREE_LATITUDE
        half_lon = half_lat / math.cos(math.radians(centre.y))
        found.append(
            Box(
                name,
                centre.x - half_lon,
                centre.y - half_lat,
                centre.x + half_lon,
                centre.y + half_lat,
                statuses,
            )
        )
    return found


def _page_queryset(box: Box) -> Any:
    """The first page's rows as the endpoint asks for them: its ordering and page size + 1 (DRF's cursor
    pagination reads one more row to know whether there is a next page)."""
    from reports import selectors
    from reports.api.views.public import PublicReportPagination

    queryset = selectors.report_public_rows(**box.selector_filters())
    ordering = PublicReportPagination.ordering
    return queryset.order_by(*ordering)[: PublicReportPagination.page_size + 1]


def _first_page(box: Box) -> list[Any]:
    """The rows of the first page and the visible photos of its reports: the endpoint's two queries."""
    from reports import selectors

    rows = list(_page_queryset(box))
    selectors.public_photos(report_ids=[row["id"] for row in rows[:-1]])
    return rows


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def measure_query(box: Box, *, repeats: int) -> ListResult:
    """The selector's first page timed through the ORM (the rows and the photos: both queries, rows as
    dictionaries), then its main SQL statement alone (sent and fetched, no ORM), the reports in the box
    and the plan."""
    from django.db import connection

    from reports import selectors

    in_box = selectors.reports_public(**box.selector_filters()).order_by().count()
    orm_ms, sql_ms = [], []
    for _ in range(repeats):
        started = time.perf_counter()
        page = _first_page(box)
        orm_ms.append((time.perf_counter() - started) * 1000)
    if not page:
        raise RuntimeError(f"{box.name}: the first page is empty")
    sql, params = _page_queryset(box).query.sql_with_params()
    with connection.cursor() as cursor:
        for _ in range(repeats):
            started = time.perf_counter()
            cursor.execute(sql, params)
            cursor.fetchall()
            sql_ms.append((time.perf_counter() - started) * 1000)
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    return ListResult(
        box=box.name,
        bbox=box.query,
        in_box=in_box,
        query_repeats=repeats,
        selector_p50_ms=_percentile(orm_ms, 0.5),
        selector_p99_ms=_percentile(orm_ms, 0.99),
        sql_p50_ms=_percentile(sql_ms, 0.5),
        sql_p99_ms=_percentile(sql_ms, 0.99),
        plan=plan,
    )


def run_list(
    env: dict[str, str], *, repeats: int, connections: list[int], seconds: int, warmup: int
) -> list[ListResult]:
    results = []
    for box in boxes():
        result = measure_query(box, repeats=repeats)
        print(
            f"  {box.name}: {result.in_box:,} reports in the box, selector p50 "
            f"{result.selector_p50_ms:.1f} ms, SQL p50 {result.sql_p50_ms:.1f} ms",
            flush=True,
        )
        results.append(result)
    workers = 2 * (os.cpu_count() or 1)
    with gunicorn_running(env=env, workers=workers) as (server, port):
        for box, result in zip(boxes(), results, strict=True):
            path = f"/api/v1/reports/?{box.query}"
            status, body = http_request(port=port, method="GET", path=path)
            if status != 200 or not json.loads(body)["results"]:
                raise RuntimeError(f"GET {path} answered {status}: {body[:300]!r}")
            for count in connections:
                shape: dict[str, Any] = {"port": port, "method": "GET", "path": path, "connections": count}
                if warmup:
                    wrk_run(**shape, threads=2, seconds=warmup, name=box.name)
                groups: dict[str, Callable[[Any], set[int]]] = {
                    "gunicorn": process_tree(server.pid),
                    "postgres": postgres_serving(DATABASE, background=False),
                }
                with Sampler(groups) as sampler:
                    summary = wrk_run(**shape, threads=2, seconds=seconds, name=box.name)
                usage = sampler.usage()
                requests = max(1, summary.requests)
                result.endpoint.append(
                    {
                        "connections": count,
                        "requests_per_second": summary.requests_per_second,
                        "p50_ms": summary.p50_ms,
                        "p99_ms": summary.p99_ms,
                        "errors": summary.errors,
                        "gunicorn_cpu_ms": 1000 * usage.cpu_seconds["gunicorn"] / requests,
                        "postgres_cpu_ms": 1000 * usage.cpu_seconds["postgres"] / requests,
                        "cores": usage.cores,
                        "machine_busy_cores": usage.machine_busy_cores,
                    }
                )
                print(
                    f"  {box.name}, {count} connections: {summary.requests_per_second:,.0f} requests/s, "
                    f"p50 {summary.p50_ms:.1f} ms, p99 {summary.p99_ms:.1f} ms",
                    flush=True,
                )
    return results


# --- Main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.reports", description=__doc__.split("\n\n")[0])
    parser.add_argument("--reports", type=int, default=1_000_000, help="reports in the list case")
    parser.add_argument("--submissions", type=int, default=30, help="reports filed by HTTP (measured)")
    parser.add_argument("--submission-warmup", type=int, default=3, help="reports filed before measuring")
    parser.add_argument("--ceiling-photos", type=int, default=20, help="photos through bare Pillow")
    parser.add_argument("--query-repeats", type=int, default=200, help="selector queries per box")
    parser.add_argument(
        "--list-connections",
        type=lambda value: [int(part) for part in value.split(",")],
        default=[1, 4],
        help="wrk connections per endpoint run, comma-separated (default 1,4)",
    )
    parser.add_argument("--duration", type=int, default=10, help="seconds of wrk per endpoint run")
    parser.add_argument("--warmup", type=int, default=2, help="unmeasured seconds of wrk before each run")
    parser.add_argument("--skip-submission", action="store_true")
    parser.add_argument("--skip-list", action="store_true")
    return parser.parse_args(argv)


@contextlib.contextmanager
def media_root() -> Iterator[str]:
    directory = tempfile.mkdtemp(prefix="bench-reports-media-")
    try:
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not args.skip_list and shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install wrk), or run with --skip-list")
    started = datetime.now(UTC)
    report = BenchReport(
        started_at=f"{started:%Y-%m-%d %H:%M} UTC",
        file_stem=f"reports-{started:%Y%m%dT%H%M%S}",
        commit=git_commit(),
        load_before=machine_load(),
        arguments=vars(args),
    )
    sys.path.insert(0, str(ROOT))
    with terminate_on_sigterm(), media_root() as media:
        env = server_environment(database=DATABASE, redis_url=REDIS_URL, DJANGO_MEDIA_ROOT=media)
        print(f"database {DATABASE}: create if missing, migrate", flush=True)
        ensure_database(DATABASE)
        migrate(env, database=DATABASE)
        os.environ.update(env)
        import django

        django.setup()
        from reports.demo import load_demo

        load_demo(stdout=io.StringIO())
        with recording(report, save=save, render=render_markdown):
            if not args.skip_list:
                print(f"reports: {args.reports:,} generated, reused when the count matches", flush=True)
                report.load_seconds = load_reports(args.reports)
                report.reports_loaded = args.reports
            if not args.skip_submission:
                report.submission = run_submission(
                    env,
                    reports=args.submissions,
                    ceiling_photos=args.ceiling_photos,
                    warmup=args.submission_warmup,
                )
            if not args.skip_list:
                print("public bbox list", flush=True)
                report.lists = run_list(
                    env,
                    repeats=args.query_repeats,
                    connections=args.list_connections,
                    seconds=args.duration,
                    warmup=args.warmup,
                )
    return 1 if report.errors else 0


if __name__ == "__main__":
    sys.exit(main())
