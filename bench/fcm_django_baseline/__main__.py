"""Times fcm-django 3.2's bulk send against the fake FCM server; started by ``bench.push_fanout``.

    bench/.venv-fcm-django/bin/python -m bench.fcm_django_baseline --installations 100000 \\
        --source-database-url postgres://postgres@127.0.0.1:5432/casapp_bench_push \\
        --credentials /tmp/.../service-account.json --fcm-base-url http://127.0.0.1:PORT

Copies the first N push tokens of our benchmark database into its own ``FCMDevice`` table (once), then
sends one message to all of them the way fcm-django's documentation shows:
``FCMDevice.objects.all().send_message(Message(notification=Notification(title=..., body=...)))``, which
calls ``messaging.send_each`` per 500 tokens (one thread per message). Prints ``SENDING`` when the timed
part starts and ``RESULT {json}`` when it ends.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import sys
import time
from pathlib import Path

PG_SERVER = "postgres://postgres@127.0.0.1:5432"
WARMUP_TOKEN = "bench-warmup-token-outside-the-audience"
TITLE = "Störung: Bürgerbüro heute geschlossen"
BODY = "Wegen eines Stromausfalls bleibt das Bürgerbüro heute geschlossen. Termine werden verlegt."


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.fcm_django_baseline")
    parser.add_argument("--installations", type=int, required=True)
    parser.add_argument("--database", default="casapp_bench_fcmdjango")
    parser.add_argument("--source-database-url", required=True, help="where the N tokens are copied from")
    parser.add_argument("--credentials", type=Path, required=True, help="the fake's service account file")
    parser.add_argument("--fcm-base-url", required=True)
    return parser.parse_args()


def ensure_database(name: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def load_devices(count: int, *, database: str, source_url: str) -> bool:
    """The same tokens as our installations, streamed with COPY from one database to the other."""
    import psycopg
    from fcm_django.models import FCMDevice
    from psycopg import sql

    if FCMDevice.objects.count() == count == FCMDevice.objects.filter(active=True).count():
        return False
    table = FCMDevice._meta.db_table
    columns = ("registration_id", "type", "active", "date_created")
    copy_out = sql.SQL(
        "COPY (SELECT push_token, CASE WHEN platform = 'ios' THEN 'ios' ELSE 'android' END, true, now() "
        "FROM push_installation WHERE push_token IS NOT NULL ORDER BY id LIMIT {}) TO STDOUT"
    ).format(sql.Literal(count))
    copy_in = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    with psycopg.connect(source_url) as source, psycopg.connect(f"{PG_SERVER}/{database}") as target:
        target.execute(sql.SQL("TRUNCATE {}").format(sql.Identifier(table)))
        with source.cursor().copy(copy_out) as rows_out, target.cursor().copy(copy_in) as rows_in:
            for block in rows_out:
                rows_in.write(block)
    with psycopg.connect(f"{PG_SERVER}/{database}", autocommit=True) as conn:
        conn.execute(sql.SQL("VACUUM ANALYZE {}").format(sql.Identifier(table)))
    loaded = FCMDevice.objects.filter(active=True).count()
    if loaded != count:
        raise SystemExit(f"only {loaded} tokens in the source database, {count} asked for")
    return True


def main() -> int:
    args = parse_args()
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.fcm_django_baseline.settings"
    os.environ["FCM_BASELINE_DATABASE"] = args.database
    ensure_database(args.database)

    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)
    loaded = load_devices(args.installations, database=args.database, source_url=args.source_database_url)
    print(f"{'loaded' if loaded else 'reused'} {args.installations} FCMDevice rows", flush=True)

    import firebase_admin
    from fcm_django.models import FCMDevice
    from firebase_admin import credentials, messaging

    logging.getLogger("urllib3").setLevel(logging.ERROR)
    app = firebase_admin.initialize_app(credentials.Certificate(str(args.credentials)))
    # The same adapter trick as push/firebase.py's configure_messaging_service: only the URL changes.
    service = messaging._get_messaging_service(app)
    service._fcm_url = f"{args.fcm_base_url.rstrip('/')}/v1/projects/{service._project_id}/messages:send"

    message = messaging.Message(notification=messaging.Notification(title=TITLE, body=BODY))
    # Warm-up outside the timed part and the audience: fetches the OAuth token once, like a warm process.
    FCMDevice.objects.send_message(
        message, skip_registration_id_lookup=True, additional_registration_ids=[WARMUP_TOKEN]
    )

    print("SENDING", flush=True)
    started = time.perf_counter()
    response = FCMDevice.objects.all().send_message(message)
    wall = time.perf_counter() - started
    batch = response.response
    result = {
        "wall_s": wall,
        "sent": len(response.registration_ids_sent),
        "success": batch.success_count,
        "failure": batch.failure_count,
        "deactivated": len(response.deactivated_registration_ids),
        "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    print(f"RESULT {json.dumps(result)}", flush=True)
    firebase_admin.delete_app(app)
    return 0 if batch.failure_count == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
