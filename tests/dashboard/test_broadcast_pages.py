"""Broadcast pages over plain HTTP (httpx): the demo form, the event stream, exports, accounts."""

from __future__ import annotations

import html
import json
import re
import signal
import threading
import time
from pathlib import Path

import httpx

from dialplan.service.dashboard.broadcastpages import DEMO_CSV
from tests.service.conftest import Server, charity_xml, start_server, stop_server

from .conftest import dashboard_client, upload


def _csrf(c: httpx.Client) -> str:
    page = c.get("/dashboard/broadcasts/new")
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found is not None, page.text
    return found.group(1)


def start_demo(c: httpx.Client, flow_id: str, csv: str = DEMO_CSV, start: bool = True) -> str:
    """Post the demo form; the broadcast page's path."""
    form = {
        "csrf": _csrf(c),
        "name": "Demo",
        "flow_id": flow_id,
        "from_number": "+12125550100",
        "csv": csv,
    }
    if start:
        form["start"] = "1"
    r = c.post("/dashboard/broadcasts", data=form)
    assert r.status_code == 303, r.text
    return str(r.headers["location"])


def events(
    c: httpx.Client, path: str, out: list[dict[str, object]] | None = None
) -> list[dict[str, object]]:
    """Every ``progress`` event of the broadcast's stream (appended to ``out`` as they come),
    until the stream ends."""
    out = [] if out is None else out
    with c.stream("GET", path + "/events", timeout=60) as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        for line in stream.iter_lines():
            if line.startswith("data: "):
                out.append(json.loads(line[6:]))
    return out


def test_the_event_stream_follows_a_demo_broadcast_to_100_percent(dash_server: Server) -> None:
    key = dash_server.key("streamer", "write")
    flow_id = upload(dash_server, key, "charity", charity_xml())
    with dashboard_client(dash_server, key) as c:
        path = start_demo(c, flow_id)
        seen = events(c, path)
        assert seen, "no progress event"
        last = seen[-1]
        assert last["final"] is True
        assert last["state"] == "FINISHED"
        assert last["percent"] == 100
        assert (last["done"], last["total"]) == (5, 5)
        assert last["stat_totalCount"] == 5
        assert (last["stat_busyCount"], last["stat_noAnswerCount"]) == (1, 1)
        assert all(e["final"] is False for e in seen[:-1])
        percents = [e["percent"] for e in seen]
        assert percents == sorted(percents)
        # the charts of the last event: every scripted result, and the answers pressed
        chart = html.unescape(str(last["results_chart"]))
        for label in (
            "Live answer: 1",
            "Transferred: 1",
            "Answering machine: 1",
            "Busy: 1",
            "No answer: 1",
        ):
            assert label in chart, chart
        assert "<svg" in str(last["answers_chart"])
        # a finished broadcast's stream is one final event
        again = events(c, path)
        assert len(again) == 1 and again[0]["percent"] == 100


def test_the_broadcast_page_links_exports_and_the_report(dash_server: Server) -> None:
    key = dash_server.key("exporter", "write")
    flow_id = upload(dash_server, key, "charity", charity_xml())
    with dashboard_client(dash_server, key) as c:
        path = start_demo(c, flow_id)
        events(c, path)  # until it has finished
        page = c.get(path)
        assert page.status_code == 200
        for link in ("/export.csv", "/export.json", "/report"):
            assert f'href="{path}{link}"' in page.text
        r = c.get(path + "/export.csv")
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/csv")
        assert len(r.text.strip().splitlines()) == 6  # header + 5 recipients
        assert len(c.get(path + "/export.json").json()) == 5
        report = c.get(path + "/report")
        assert report.status_code == 200 and "<html" in report.text.lower()
        listing = c.get("/dashboard/broadcasts").text
        assert f'href="{path}"' in listing and "FINISHED" in listing


def test_stop_and_start_buttons_change_the_status(dash_server: Server) -> None:
    key = dash_server.key("controller", "write")
    flow_id = upload(dash_server, key, "charity", charity_xml())
    with dashboard_client(dash_server, key) as c:
        path = start_demo(c, flow_id, start=False)
        page = c.get(path).text
        assert re.search(r'id="start-button"[^>]*>', page) and "SETUP" in page
        assert "disabled" in re.search(r'id="stop-button"[^>]*>', page).group(0)  # type: ignore[union-attr]
        csrf = _csrf(c)
        r = c.post(path + "/start", data={"csrf": csrf})
        assert r.status_code == 303 and r.headers["location"] == path
        assert events(c, path)[-1]["state"] == "FINISHED"
        r = c.post(path + "/start", data={})  # no CSRF token
        assert r.status_code == 403


def test_the_demo_form_names_the_bad_csv_line_and_creates_nothing(dash_server: Server) -> None:
    key = dash_server.key("badcsv", "write")
    flow_id = upload(dash_server, key, "charity", charity_xml())
    with dashboard_client(dash_server, key) as c:
        bad = "phone_number,sim_result\n+12125550101,LA\n,BUSY\n"
        form = {"csrf": _csrf(c), "name": "x", "flow_id": flow_id, "csv": bad}
        r = c.post("/dashboard/broadcasts", data={**form, "from_number": "+12125550100"})
        assert r.status_code == 422
        assert "recipients CSV line 3: phone_number is empty" in html.unescape(r.text)
        r = c.post(
            "/dashboard/broadcasts",
            data={**form, "csv": "number\n+12125550101\n", "from_number": "+12125550100"},
        )
        assert r.status_code == 422
        assert "a phone_number column is required" in r.text
        r = c.post(
            "/dashboard/broadcasts",
            data={
                **form,
                "csv": "phone_number,sim_result\n+12125550101,MAYBE\n",
                "from_number": "+12125550100",
            },
        )
        assert r.status_code == 422
        assert "unknown result 'MAYBE'" in html.unescape(r.text)
        assert "No broadcasts yet" in c.get("/dashboard/broadcasts").text


def test_another_accounts_broadcast_is_not_found(dash_server: Server) -> None:
    owner = dash_server.key("umbrella", "write")
    flow_id = upload(dash_server, owner, "charity", charity_xml())
    with dashboard_client(dash_server, owner) as c:
        path = start_demo(c, flow_id, start=False)
    with dashboard_client(dash_server, dash_server.key("aperture", "write")) as c:
        for suffix in ("", "/events", "/export.csv", "/export.json", "/report"):
            assert c.get(path + suffix).status_code == 404, suffix
        csrf = _csrf(c)
        for action in ("/start", "/stop"):
            assert c.post(path + action, data={"csrf": csrf}).status_code == 404, action
        assert path not in c.get("/dashboard/broadcasts").text
        # nor can their flow be used for a demo broadcast
        form = {"csrf": csrf, "name": "x", "flow_id": flow_id, "csv": DEMO_CSV}
        r = c.post("/dashboard/broadcasts", data={**form, "from_number": "+12125550100"})
        assert r.status_code == 404
    with dashboard_client(dash_server, None) as c:
        assert c.get(path).status_code == 303
        assert c.get(path + "/events").status_code == 303


def test_an_open_event_stream_does_not_hold_up_the_servers_shutdown(
    tmp_path: Path,
) -> None:
    # on the real clock the simulated calls take their real time: the broadcast keeps running;
    # the shutdown drains its calls in flight for at most --drain-timeout, then hangs them up
    server = start_server(tmp_path, "--clock", "real", "--drain-timeout", "1")
    try:
        key = server.key("slow", "write")
        flow_id = upload(server, key, "charity", charity_xml())
        with dashboard_client(server, key) as c:
            path = start_demo(c, flow_id)
            seen: list[dict[str, object]] = []
            reader = threading.Thread(target=events, args=(c, path, seen), daemon=True)
            reader.start()
            deadline = time.monotonic() + 10
            while not seen and time.monotonic() < deadline:
                time.sleep(0.05)
            assert seen and seen[0]["state"] == "RUNNING"
            began = time.monotonic()
            server.process.send_signal(signal.SIGTERM)
            server.process.wait(timeout=20)
            took = time.monotonic() - began
            reader.join(timeout=5)
            assert not reader.is_alive()
        assert took < 8, f"the server took {took:.1f} s to stop"
    finally:
        stop_server(server)


def test_an_uploaded_csv_file_wins_over_the_pasted_text(dash_server: Server) -> None:
    key = dash_server.key("filer", "write")
    flow_id = upload(dash_server, key, "charity", charity_xml())
    with dashboard_client(dash_server, key) as c:
        form = {
            "csrf": _csrf(c),
            "name": "From a file",
            "flow_id": flow_id,
            "from_number": "+12125550100",
            "csv": DEMO_CSV,
            "start": "1",
        }
        people = b"\xef\xbb\xbfphone_number,sim_result\n+12125550191,LA\n+12125550192,BUSY\n"
        r = c.post(
            "/dashboard/broadcasts", data=form, files={"file": ("people.csv", people, "text/csv")}
        )
        assert r.status_code == 303, r.text
        last = events(c, r.headers["location"])[-1]
        assert (last["done"], last["total"], last["percent"]) == (2, 2, 100)
        r = c.post(
            "/dashboard/broadcasts",
            data=form,
            files={"file": ("latin1.csv", b"phone_number\n\xe9\n", "text/csv")},
        )
        assert r.status_code == 422
        assert "latin1.csv: not UTF-8 text (byte 13)" in r.text
