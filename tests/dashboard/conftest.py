"""A live ``dialplan serve`` and a headless Chromium driven by Selenium (Debian's chromium and
chromium-driver; nothing is downloaded: the driver's path is given, so Selenium Manager never runs).

Outside CI the browser tests skip when chromium, chromedriver or selenium are missing; in CI
(``CI`` set) they fail instead, so a broken install cannot pass unnoticed.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.service.conftest import Server, start_server, stop_server

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
FIXTURES = Path(__file__).parent / "fixtures"


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"browser tests need {reason} (CI is set, so this fails instead of skipping)")
    pytest.skip(f"browser tests need {reason}")


def browser_paths() -> tuple[str, str]:
    """The chromium binary and its chromedriver (Debian's paths first)."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver") or (
        "/usr/bin/chromedriver" if Path("/usr/bin/chromedriver").exists() else None
    )
    if chromium is None or driver is None:
        _unavailable("Debian's chromium and chromium-driver (apt-get install chromium-driver)")
    assert chromium is not None and driver is not None
    return chromium, driver


def new_browser(width: int = 1280, height: int = 800) -> Any:
    """A headless Chromium (``--headless=new``, ``--no-sandbox`` as root) of the given size."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        _unavailable("selenium (pip install -e '.[test]')")
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
        "--lang=en-US",
    ):
        options.add_argument(arg)
    if os.geteuid() == 0:
        options.add_argument("--no-sandbox")
    browser = webdriver.Chrome(options=options, service=Service(executable_path=driver))
    browser.set_page_load_timeout(30)
    return browser


@pytest.fixture(scope="session")
def dash_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server of its own (simulated calls in virtual time)."""
    running = start_server(tmp_path_factory.mktemp("dash"))
    yield running
    stop_server(running)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    b = new_browser()
    yield b
    b.quit()


@pytest.fixture
def fresh_browser(browser: Any, dash_server: Server) -> Any:
    """The session's browser, signed out (its cookies cleared) and on a blank page."""
    browser.get(dash_server.url + "/dashboard/signin")
    browser.delete_all_cookies()
    return browser


def sign_in(browser: Any, server: Server, key: str) -> None:
    from selenium.webdriver.common.by import By

    browser.get(server.url + "/dashboard/signin")
    field = browser.find_element(By.ID, "key")
    field.clear()
    field.send_keys(key)
    browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()


def upload(server: Server, key: str, name: str, xml: str) -> str:
    """Upload a flow through the JSON API; its id."""
    with server.client(key) as c:
        r = c.post("/v1/flows", json={"name": name, "xml": xml})
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


@contextmanager
def dashboard_client(server: Server, key: str | None) -> Iterator[httpx.Client]:
    """An httpx client signed in to the dashboard (or not, when ``key`` is None)."""
    with httpx.Client(base_url=server.url, trust_env=False, timeout=30) as c:
        if key is not None:
            r = c.post("/dashboard/signin", data={"key": key})
            assert r.status_code == 303, r.text
        yield c
