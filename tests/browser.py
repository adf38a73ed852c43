"""What every browser test shares: Debian's chromium driven by Playwright, and a site with no way out.

Playwright's own browser download fails here, so tests pass ``executable_path=CHROMIUM``. Every request
that leaves the live server is refused (``offsite``): no tiles, no CDN, nothing a city network without
internet would not have either.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",  # root in a container: Chromium's sandbox needs user namespaces it may not get
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
]
PASSWORD = "correct horse battery staple"  # StaffFactory's
# Screenshots of the browser tests (PYTEST_MEDIA_DIR overrides).
MEDIA = Path(os.environ.get("PYTEST_MEDIA_DIR", Path(__file__).resolve().parents[1] / ".pytest-media"))

needs_chromium = pytest.mark.skipif(
    not Path(CHROMIUM).exists(),
    reason=f"Debian's chromium is not installed at {CHROMIUM} (apt-get install chromium)",
)


def offsite(site_url: str) -> re.Pattern[str]:
    """Every URL that is not the live server's: for ``context.route(offsite(url), abort)``."""
    return re.compile(rf"^(?!{re.escape(site_url)}/).*")
