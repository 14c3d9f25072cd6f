"""A live ``dialplan serve`` and a headless Chromium driven by Selenium (Debian's chromium and
chromium-driver; nothing is downloaded: the driver's path is given, so Selenium Manager never runs).

Outside CI the browser tests skip when chromium, chromedriver or selenium are missing; in CI
(``CI`` set) they fail instead, so a broken install cannot pass unnoticed.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.service.conftest import Server, start_server, stop_server
from tools.browser import BrowserMissing, headless_chromium

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
FIXTURES = Path(__file__).parent / "fixtures"


def new_browser(width: int = 1280, height: int = 800) -> Any:
    """A headless Chromium; skips (fails in CI) when the browser or its driver is missing."""
    try:
        b = headless_chromium(width, height)
    except BrowserMissing as exc:
        if os.environ.get("CI"):
            pytest.fail(f"browser tests need {exc} (CI is set: failing instead of skipping)")
        pytest.skip(f"browser tests need {exc}")
    b.implicitly_wait(5)  # finding an element waits for the page that is loading
    return b


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
    submit(browser, browser.find_element(By.CSS_SELECTOR, "main form button[type=submit]"))


@contextmanager
def next_page(browser: Any) -> Iterator[None]:
    """Wait, after the block, until a new page has replaced the current one and loaded."""
    from selenium.webdriver.support.wait import WebDriverWait

    browser.execute_script("window.__leaving = true")
    yield
    WebDriverWait(browser, 15).until(
        lambda b: b.execute_script(
            "return window.__leaving === undefined && document.readyState === 'complete'"
        )
    )


def submit(browser: Any, element: Any) -> None:
    """Click a button or link and wait for the page it leads to."""
    with next_page(browser):
        element.click()


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
