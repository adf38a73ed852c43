"""A fake Firebase Cloud Messaging server on loopback, for tests and benchmarks of the push transport.

Run it with ``python -m push.fake_fcm --port 0 --latency-ms 20``; drive it from Python with
``push.fake_fcm.control.FakeFcm``. It drives the real firebase-admin SDK over HTTP: give the SDK the
service account from ``control.service_account_info(base_url)`` (its ``token_uri`` points here) and point
the messaging service's ``_fcm_url``/``_fcm_topic_url`` at ``FakeFcm.messages_url``/``FakeFcm.topics_url``.

This package imports nothing from Django or the rest of the project, and must stay that way: it runs as a
standalone process.
"""
