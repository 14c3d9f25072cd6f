"""Debian's headless Chromium driven by Selenium, for the dashboard's tests and screenshots.

Nothing is downloaded: the browser and Debian's matching ``chromium-driver`` are found on PATH and
the driver's path is handed to Selenium, so Selenium Manager never runs.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any


class BrowserMissing(Exception):
    """Chromium, chromedriver or selenium is not installed (the message says which)."""


def browser_paths() -> tuple[str, str]:
    """The chromium binary and its chromedriver."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if driver is None and Path("/usr/bin/chromedriver").exists():
        driver = "/usr/bin/chromedriver"
    if chromium is None or driver is None:
        raise BrowserMissing(
            "Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)"
        )
    return chromium, driver


def headless_chromium(width: int = 1280, height: int = 800) -> Any:
    """A new headless Chromium window (``--headless=new``; ``--no-sandbox`` when root)."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        raise BrowserMissing("selenium (pip install -e '.[test]')") from None
    chromium, driver = browser_paths()
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in (
        "--headless=new",
        f"--window-size={width},{height}",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-extensions",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        "--lang=en-US",
    ):
        options.add_argument(arg)
    if os.geteuid() == 0:
        options.add_argument("--no-sandbox")  # Chromium's sandbox refuses to run as root
    browser = webdriver.Chrome(options=options, service=Service(executable_path=driver))
    browser.set_page_load_timeout(30)
    return browser
