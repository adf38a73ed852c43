"""The fcm-django 3.2 baseline of ``bench.push_fanout``; runs in its own virtualenv (bench/.venv-fcm-django).

Nothing here imports our project: fcm-django, Django, firebase-admin and psycopg only.
"""
