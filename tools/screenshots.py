"""Screenshots of the dashboard's main pages for docs/dashboard.md (``python -m tools.screenshots``).

Starts ``dialplan serve`` on a free loopback port with a throwaway database, fills it with the
examples (a flow, a refused upload, a finished demo broadcast) and photographs each page with the
same headless Chromium as the browser tests, 1280×800, into ``docs/img/dashboard-*.png``.
Regenerate deliberately after changing a page, and look at the pictures before committing them.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from dialplan.service.keys import create_key
from dialplan.service.storage import Database
from tools.browser import BrowserMissing, headless_chromium

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "img"
BROKEN = """<dialplan name="Root">
  <play type="tts">Hello! Press 1 for the front desk.</play>
  <menu name="Main" maxDigits="1" timeout="5000">
    <keypress pressed="1"><goto>FrontDesk</goto></keypress>
  </menu>
</dialplan>
"""


def start_server(folder: Path) -> tuple[subprocess.Popen[bytes], str, Path]:
    db = folder / "service.sqlite"
    log = folder / "server.log"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "dialplan", "serve", "--db", str(db), "--port", "0",
             "--no-access-log"],
            stdout=out, stderr=subprocess.STDOUT, env=env, cwd=folder,
        )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = re.search(r"serving (http://127\.0\.0\.1:\d+)", log.read_text())
        if found:
            return process, found.group(1), db
        if process.poll() is not None:
            break
        time.sleep(0.05)
    process.kill()
    raise SystemExit(f"screenshots: the server did not start:\n{log.read_text()}")


def shoot(browser: Any, name: str) -> Path:
    path = OUT / f"dashboard-{name}.png"
    browser.save_screenshot(str(path))
    print(f"{path.relative_to(ROOT)}  {path.stat().st_size // 1024} KB")
    return path


def wait_until(test: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not test():
        if time.monotonic() > deadline:
            raise SystemExit("screenshots: a page did not reach the expected state")
        time.sleep(0.1)


def take(url: str, db: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.select import Select

    _, key = create_key(Database(db), "acme", ["write"], label="dashboard")
    with httpx.Client(base_url=url, trust_env=False, headers={"X-API-Key": key}) as api:
        for name, file in (("charity-drive", "charity-drive.xml"),
                           ("pharmacy-refill", "pharmacy-refill.xml"),
                           ("appointment-reminder", "appointment-reminder.xml")):  # fmt: skip
            xml = (ROOT / "examples" / file).read_text("utf-8")
            api.post("/v1/flows", json={"name": name, "xml": xml}).raise_for_status()
    browser = headless_chromium(1280, 800)
    try:
        browser.implicitly_wait(5)
        # the page area itself 1280×800 (the window size includes the browser's own frame)
        browser.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": 1280, "height": 800, "deviceScaleFactor": 1, "mobile": False},
        )
        browser.get(url + "/dashboard/signin")
        shoot(browser, "signin")
        browser.find_element(By.ID, "key").send_keys(key)
        browser.find_element(By.CSS_SELECTOR, "main form button").click()
        wait_until(lambda: browser.current_url.endswith("/dashboard/"))
        shoot(browser, "flows")
        browser.find_element(By.LINK_TEXT, "charity-drive").click()
        browser.find_element(By.ID, "inputs").send_keys("1")
        browser.find_element(By.CSS_SELECTOR, "#simulate-form button").click()
        browser.find_element(By.ID, "transcript")
        shoot(browser, "flow")
        browser.execute_script("document.getElementById('sim-h').scrollIntoView()")
        shoot(browser, "simulate")
        browser.get(url + "/dashboard/flows/new")
        browser.find_element(By.ID, "name").send_keys("front-desk")
        browser.execute_script("document.getElementById('xml').value = arguments[0]", BROKEN)
        browser.find_element(By.CSS_SELECTOR, "main form button").click()
        browser.find_element(By.ID, "upload-error")
        shoot(browser, "upload-error")
        browser.get(url + "/dashboard/broadcasts/new")
        Select(browser.find_element(By.ID, "flow")).select_by_visible_text(
            next(o.text for o in Select(browser.find_element(By.ID, "flow")).options
                 if o.text.startswith("charity-drive"))
        )  # fmt: skip
        shoot(browser, "demo-form")
        browser.find_element(By.CSS_SELECTOR, "#demo-form button").click()
        wait_until(lambda: browser.find_element(By.ID, "connection").text == "finished")
        shoot(browser, "broadcast")
    finally:
        browser.quit()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.screenshots", description=__doc__)
    parser.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="dialplan-shots-") as tmp:
        process, url, db = start_server(Path(tmp))
        try:
            take(url, db)
        except BrowserMissing as exc:
            print(f"screenshots: needs {exc}", file=sys.stderr)
            return 2
        finally:
            process.terminate()
            process.wait(timeout=15)
    return 0


if __name__ == "__main__":
    sys.exit(main())
