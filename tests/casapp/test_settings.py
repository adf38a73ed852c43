"""The settings are safe by default and every variable is documented."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from casapp.settings import ENV_SCHEMA

ROOT = Path(__file__).resolve().parents[2]


def _run(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL", "REDIS_URL"))
    }
    clean |= {"DJANGO_SETTINGS_MODULE": "casapp.settings", **env}
    return subprocess.run(  # noqa: S603
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


SETUP = "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)"


def test_without_debug_the_app_refuses_to_start_without_a_secret_key():
    result = _run(SETUP, DJANGO_ALLOWED_HOSTS="app.example")

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in result.stderr


def test_without_debug_the_app_refuses_to_start_without_allowed_hosts():
    result = _run(SETUP, DJANGO_SECRET_KEY="x" * 60)

    assert result.returncode != 0
    assert "DJANGO_ALLOWED_HOSTS must be set" in result.stderr


def test_debug_is_off_unless_switched_on():
    off = _run(SETUP, DJANGO_SECRET_KEY="x" * 60, DJANGO_ALLOWED_HOSTS="app.example")
    on = _run(SETUP, DJANGO_DEBUG="true")

    assert off.stdout.strip() == "False"
    assert on.stdout.strip() == "True"


def test_unknown_push_backend_is_refused():
    result = _run(SETUP, DJANGO_DEBUG="true", PUSH_BACKEND="pigeon")

    assert result.returncode != 0
    assert "PUSH_BACKEND" in result.stderr


def test_production_settings_pass_the_deploy_check(tmp_path):
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={
            "PATH": os.environ["PATH"],
            "DJANGO_SECRET_KEY": "k7#Qv9!pL2@xZ4$wR8^mN1&bT6*yH3(jF5)gD0-sA_eU+cV=oI[uY]",
            "DJANGO_ALLOWED_HOSTS": "app.castrop-rauxel.de",
            "DJANGO_NUM_PROXIES": "1",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'deploy.sqlite3'}",
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize("document", [".env.example", "docs/configuration.md"])
def test_every_variable_is_documented(document):
    text = (ROOT / document).read_text()

    missing = [name for name in ENV_SCHEMA if not re.search(rf"\b{name}\b", text)]

    assert missing == []


def test_documentation_names_no_variable_the_settings_do_not_read():
    text = (ROOT / ".env.example").read_text()
    documented = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", text, flags=re.MULTILINE))

    assert documented - set(ENV_SCHEMA) == set()
