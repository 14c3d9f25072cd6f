"""The dashboard in a real browser: headless Chromium driven by Selenium (see conftest)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.service.conftest import Server, charity_xml

from .conftest import FIXTURES, new_browser, next_page, sign_in, submit, upload


def _by() -> Any:
    from selenium.webdriver.common.by import By

    return By


def test_sign_in_refuses_a_bad_key_then_accepts_a_good_one(
    fresh_browser: Any, dash_server: Server
) -> None:
    By = _by()
    b = fresh_browser
    sign_in(b, dash_server, "dpk_000000000000_not-a-key")
    assert "/dashboard/signin" in b.current_url
    assert "unknown or revoked" in b.find_element(By.ID, "signin-error").text
    assert b.get_cookies() == []
    sign_in(b, dash_server, dash_server.key("browser", "write"))
    assert b.current_url == dash_server.url + "/dashboard/"
    assert b.find_element(By.TAG_NAME, "h1").text == "Flows"
    cookie = b.get_cookie("dialplan_key")
    assert cookie is not None
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Strict"
    # scripts cannot read the key
    assert "dialplan_key" not in b.execute_script("return document.cookie")


def test_uploading_a_flow_with_an_error_shows_its_findings_at_their_lines(
    fresh_browser: Any, dash_server: Server
) -> None:
    By = _by()
    b = fresh_browser
    sign_in(b, dash_server, dash_server.key("uploader", "write"))
    submit(b, b.find_element(By.LINK_TEXT, "Upload a flow"))
    b.find_element(By.ID, "name").send_keys("broken")
    b.find_element(By.ID, "file").send_keys(str(FIXTURES / "E031_goto_unknown.xml"))
    submit(b, b.find_element(By.CSS_SELECTOR, "main form button[type=submit]"))
    error = b.find_element(By.ID, "upload-error")
    assert "E031" in error.text
    findings = b.find_element(By.ID, "findings").text
    assert "line 3:9" in findings
    assert 'target "Nowhere" not found' in findings
    line = b.find_element(By.ID, "L3")
    assert "marked" in line.get_attribute("class")
    assert "sev-error" in line.get_attribute("class")
    assert "E031" in line.text
    # the finding links to its line
    b.find_element(By.LINK_TEXT, "line 3:9").click()
    assert b.current_url.endswith("#L3")
    # nothing was stored
    submit(b, b.find_element(By.LINK_TEXT, "Flows"))
    assert "broken" not in b.find_element(By.ID, "main").text


def test_a_flow_page_draws_the_graph_and_simulates_a_call(
    fresh_browser: Any, dash_server: Server
) -> None:
    By = _by()
    b = fresh_browser
    key = dash_server.key("simulator", "write")
    flow_id = upload(dash_server, key, "charity", charity_xml())
    sign_in(b, dash_server, key)
    submit(b, b.find_element(By.LINK_TEXT, "charity"))
    assert b.current_url.endswith(f"/dashboard/flows/{flow_id}")
    graph = b.find_element(By.CSS_SELECTOR, ".graph img")
    assert b.execute_script("return arguments[0].complete && arguments[0].naturalWidth", graph) > 0
    b.find_element(By.ID, "inputs").send_keys("1")
    submit(b, b.find_element(By.CSS_SELECTOR, "#simulate-form button"))
    assert b.find_element(By.ID, "outcome").text == "transfer"
    transcript = b.find_element(By.ID, "transcript").text
    assert "presses 1" in transcript
    assert "tickets=yes" in transcript
    assert b.find_element(By.ID, "inputs").get_attribute("value") == "1"


def test_the_main_page_is_usable_with_the_keyboard(fresh_browser: Any, dash_server: Server) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    By = _by()
    b = fresh_browser
    key = dash_server.key("keyboard", "write")
    upload(dash_server, key, "charity", charity_xml())
    sign_in(b, dash_server, key)
    b.get(dash_server.url + "/dashboard/")

    def tab() -> Any:
        ActionChains(b).send_keys(Keys.TAB).perform()
        return b.switch_to.active_element

    order = []
    for _ in range(8):
        el = tab()
        order.append((el.tag_name, el.text or el.get_attribute("value")))
        # every focused element shows a visible focus ring
        outline = b.execute_script(
            "const s = getComputedStyle(arguments[0]); return [s.outlineStyle, s.outlineWidth]",
            el,
        )
        assert outline[0] != "none" and outline[1] != "0px", (el.text, outline)
    texts = [text for _, text in order]
    assert texts[:7] == [
        "Skip to content",
        "dialplan",
        "Flows",
        "Upload a flow",
        "Broadcasts",
        "Start a demo broadcast",
        "Sign out",
    ]
    assert texts[7] == "charity"
    # the skip link jumps to the main content; Enter on a link follows it
    b.get(dash_server.url + "/dashboard/")
    tab().send_keys(Keys.ENTER)
    assert b.switch_to.active_element.get_attribute("id") == "main"
    link = b.find_element(By.LINK_TEXT, "charity")
    with next_page(b):
        link.send_keys(Keys.ENTER)
    assert b.find_element(By.TAG_NAME, "h1").text.startswith("charity")
    # no horizontal scrolling at 1280 px
    assert b.execute_script("return document.documentElement.scrollWidth") <= 1280


def test_starting_a_demo_broadcast_and_watching_it_finish(
    fresh_browser: Any, dash_server: Server
) -> None:
    from selenium.webdriver.support.wait import WebDriverWait

    By = _by()
    b = fresh_browser
    key = dash_server.key("demo", "write")
    upload(dash_server, key, "charity", charity_xml())
    sign_in(b, dash_server, key)
    submit(b, b.find_element(By.LINK_TEXT, "Start a demo broadcast"))
    assert b.find_element(By.ID, "flow").get_attribute("value").startswith("flw_")
    assert "phone_number" in b.find_element(By.ID, "csv").get_attribute("value")
    submit(b, b.find_element(By.CSS_SELECTOR, "#demo-form button[type=submit]"))
    assert "/dashboard/broadcasts/" in b.current_url
    # the page's EventSource receives the progress until the final event
    WebDriverWait(b, 30).until(lambda d: d.find_element(By.ID, "connection").text == "finished")
    live = b.find_element(By.ID, "live")
    assert int(live.get_attribute("data-events-seen")) >= 1
    assert b.find_element(By.ID, "percent").text == "100"
    assert b.find_element(By.ID, "progress").get_attribute("value") == "100"
    assert b.find_element(By.ID, "state").text == "FINISHED"
    assert b.find_element(By.ID, "done").text == b.find_element(By.ID, "total").text == "5"
    assert b.find_element(By.ID, "stop-button").get_attribute("disabled") is not None
    assert b.find_element(By.ID, "stat-totalCount").text == "5"
    assert b.find_element(By.ID, "stat-busyCount").text == "1"
    bars = b.find_elements(By.CSS_SELECTOR, "#results-chart svg rect")
    assert len(bars) == 5  # live answer, transferred, machine, busy, no answer
    assert b.find_elements(By.CSS_SELECTOR, "#answers-chart svg")
    assert b.execute_script("return document.documentElement.scrollWidth") <= 1280


def test_the_browser_starts_without_selenium_manager(dash_server: Server) -> None:
    """Nothing is downloaded at run time: Selenium's driver/browser finder never runs."""
    from unittest import mock

    pytest.importorskip("selenium")
    from selenium.webdriver.common import selenium_manager

    with mock.patch.object(
        selenium_manager.SeleniumManager,
        "binary_paths",
        side_effect=AssertionError("Selenium Manager ran"),
    ):
        b = new_browser()
    try:
        b.get(dash_server.url + "/dashboard/signin")
        assert b.execute_script("return [outerWidth, outerHeight]") == [1280, 800]
        assert b.execute_script("return innerWidth") == 1280
    finally:
        b.quit()
