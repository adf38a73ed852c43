from __future__ import annotations

import logging

import pytest


@pytest.mark.django_db
def test_one_log_line_per_request_without_query_string_or_credentials(device_client, device, caplog):
    with caplog.at_level(logging.INFO, logger="casapp.request"):
        response = device_client.get("/api/v1/devices/me?token=super-secret-value")

    lines = [r for r in caplog.records if r.name == "casapp.request"]
    assert len(lines) == 1
    line = lines[0]
    assert (line.method, line.path, line.status) == ("GET", "/api/v1/devices/me", 200)
    assert line.duration_ms >= 0
    assert line.request_id == response["X-Request-ID"]
    rendered = str(line.__dict__)
    assert "super-secret-value" not in rendered
    assert device.secret not in rendered
