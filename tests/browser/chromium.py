"""Headless Debian Chromium, driven from the command line (no WebDriver, no Python package)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
# No network, no background services, no first-run UI: the page must render on its own.
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--hide-scrollbars", "--force-device-scale-factor=1",
)  # fmt: skip
TIMEOUT = 90


def chromium() -> str:
    found = CHROMIUM if Path(CHROMIUM).is_file() else shutil.which("chromium")
    if found is None:
        pytest.fail(
            "Chromium is missing: `make install` installs the Debian packages chromium and "
            "chromium-driver (or: apt-get install -y chromium chromium-driver)",
            pytrace=False,
        )
    return found


def _run(page: Path, *extra: str) -> subprocess.CompletedProcess[bytes]:
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        return subprocess.run(
            [chromium(), *FLAGS, f"--user-data-dir={profile}", *extra, page.resolve().as_uri()],
            capture_output=True,
            timeout=TIMEOUT,
            check=True,
        )


def screenshot(page: Path, target: Path, width: int, height: int) -> Path:
    _run(page, f"--screenshot={target}", f"--window-size={width},{height}")
    return target


def dump_dom(page: Path) -> str:
    """The DOM after parsing and layout, as Chromium serializes it."""
    return _run(page, "--dump-dom").stdout.decode("utf-8")
