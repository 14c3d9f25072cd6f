"""/v1/flows over a live server: upload (linted), versions, findings, graph, routes, simulate."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time

import pytest

from .conftest import EXAMPLES, ROOT, Server, charity_xml

BROKEN = """<dialplan name="Broken">
  <play type="tts">Hello</play>
  <goto>nowhere</goto>
</dialplan>
"""


def cli_json(*args: str) -> object:
    done = subprocess.run(
        [sys.executable, "-m", "dialplan", *args],
        capture_output=True,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    return json.loads(done.stdout)


def test_upload_returns_the_flow_with_location_and_findings(server: Server, acme: str) -> None:
    with server.client(acme) as c:
        r = c.post("/v1/flows", json={"name": "charity", "xml": charity_xml()})
        assert r.status_code == 201
        body = r.json()
        assert r.headers["location"] == f"/v1/flows/{body['id']}"
        assert body["version"] == 1 and body["name"] == "charity"
        assert body["source"] == charity_xml()
        # same findings as `dialplan lint --format json` of the same file
        expected = cli_json("lint", "--format", "json", str(EXAMPLES / "charity-drive.xml"))
        assert isinstance(expected, list)
        assert [(f["code"], f["line"], f["column"]) for f in body["findings"]] == [
            (f["code"], f["line"], f["column"]) for f in expected
        ]
        got = c.get(r.headers["location"])
        assert got.status_code == 200 and got.json()["id"] == body["id"]


def test_upload_with_errors_is_refused_with_every_diagnostic(server: Server, acme: str) -> None:
    with server.client(acme) as c:
        r = c.post("/v1/flows", json={"name": "broken", "xml": BROKEN})
        assert r.status_code == 422
        assert r.headers["content-type"] == "application/problem+json"
        problem = r.json()
        assert problem["type"].endswith("/invalid-dialplan")
        assert problem["diagnostics"] == [
            {
                "file": "broken",
                "line": 3,
                "column": 9,
                "code": "E031",
                "severity": "error",
                "message": '<goto> target "nowhere" not found',
                "rule": "goto-target-not-found",
            }
        ]
        assert problem["detail"].startswith("broken:3:")
        # nothing was stored
        names = [f["name"] for f in c.get("/v1/flows").json()["items"]]
        assert "broken" not in names


def test_xml_that_looks_like_a_path_is_never_read_as_a_file(server: Server, acme: str) -> None:
    with server.client(acme) as c:
        r = c.post("/v1/flows", json={"name": "sneaky", "xml": str(EXAMPLES / "charity-drive.xml")})
    assert r.status_code == 422
    assert "CharityDrive" not in r.text and "Riverside" not in r.text


def test_versions(server: Server, acme: str) -> None:
    with server.client(acme) as c:
        first = c.post("/v1/flows", json={"name": "versioned", "xml": charity_xml()}).json()
        changed = charity_xml().replace("Riverside Food Bank", "Hillside Food Bank")
        r = c.post(f"/v1/flows/{first['id']}/versions", json={"xml": changed})
        assert r.status_code == 201
        assert r.json()["version"] == 2
        assert [v["version"] for v in r.json()["versions"]] == [1, 2]
        assert r.headers["location"] == f"/v1/flows/{first['id']}?version=2"
        assert "Hillside" in c.get(f"/v1/flows/{first['id']}").json()["source"]
        assert "Riverside" in c.get(f"/v1/flows/{first['id']}/versions/1").json()["source"]
        assert "Riverside" in c.get(f"/v1/flows/{first['id']}?version=1").json()["source"]
        assert c.get(f"/v1/flows/{first['id']}/versions/3").status_code == 404
        bad = c.post(f"/v1/flows/{first['id']}/versions", json={"xml": BROKEN})
        assert bad.status_code == 422 and bad.json()["diagnostics"]
        assert c.get(f"/v1/flows/{first['id']}").json()["version"] == 2
        # a simulated call runs the version asked for
        sim = c.post(
            f"/v1/flows/{first['id']}/simulate",
            json={"version": 1, "inputs": ["2"], "contact": {"firstName": "Ana"}},
        ).json()
        assert "Riverside" in sim["prompts"][0]


def test_findings(server: Server, acme: str, flow_id: str) -> None:
    with server.client(acme) as c:
        r = c.get(f"/v1/flows/{flow_id}/findings")
    assert r.status_code == 200
    assert r.json()["version"] == 1
    assert {f["code"] for f in r.json()["findings"]} == {"I075", "I052"}


@pytest.mark.parametrize(
    ("fmt", "media", "start"),
    [("mermaid", "text/plain", "flowchart"), ("dot", "text/vnd.graphviz", "digraph")],
)
def test_graph_text(
    server: Server, acme: str, flow_id: str, fmt: str, media: str, start: str
) -> None:
    with server.client(acme) as c:
        r = c.get(f"/v1/flows/{flow_id}/graph", params={"format": fmt})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith(media)
    assert r.text.lstrip().startswith(start)
    expected = subprocess.run(
        [sys.executable, "-m", "dialplan", "graph", str(EXAMPLES / "charity-drive.xml"),
         "--format", fmt], capture_output=True, text=True, cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    ).stdout  # fmt: skip
    assert r.text == expected


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz 'dot' not installed")
def test_graph_svg(server: Server, acme: str, flow_id: str) -> None:
    with server.client(acme) as c:
        r = c.get(f"/v1/flows/{flow_id}/graph")
    assert r.status_code == 200
    assert r.headers["content-type"] == "image/svg+xml"
    assert b"<svg" in r.content and b"CharityDrive" in r.content


def test_routes_are_the_paths_json(server: Server, acme: str, flow_id: str) -> None:
    with server.client(acme) as c:
        r = c.get(f"/v1/flows/{flow_id}/routes", params={"max_loops": 1})
    assert r.status_code == 200
    expected = cli_json("paths", str(EXAMPLES / "charity-drive.xml"), "--format", "json")
    assert isinstance(expected, dict)
    got = r.json()
    assert got["file"] == "charity"
    assert len(got["routes"]) == len(expected["routes"]) > 3
    for mine, theirs in zip(got["routes"], expected["routes"], strict=True):
        assert mine["inputs"] == theirs["inputs"] and mine["ending"] == theirs["ending"]
        assert mine["simulate"][3:] == theirs["simulate"][3:]
    with server.client(acme) as c:
        assert len(c.get(f"/v1/flows/{flow_id}/routes", params={"limit": 2}).json()["routes"]) == 2
        assert c.get(f"/v1/flows/{flow_id}/routes", params={"max_loops": 11}).status_code == 422


def test_simulate_is_the_simulate_json(server: Server, acme: str, flow_id: str) -> None:
    with server.client(acme) as c:
        r = c.post(
            f"/v1/flows/{flow_id}/simulate",
            json={"inputs": ["5", "2"], "contact": {"firstName": "Ana"}, "amd": "live"},
        )
    assert r.status_code == 200
    expected = cli_json(
        "simulate", str(EXAMPLES / "charity-drive.xml"), "--input", "5", "--input", "2",
        "--contact", "firstName=Ana", "--format", "json",
    )  # fmt: skip
    assert r.json() == expected


def test_simulate_bad_script_is_422_not_500(server: Server, acme: str, flow_id: str) -> None:
    with server.client(acme) as c:
        bad_input = c.post(f"/v1/flows/{flow_id}/simulate", json={"inputs": ["abc"]})
        bad_time = c.post(f"/v1/flows/{flow_id}/simulate", json={"now": "yesterday"})
        unknown = c.post(f"/v1/flows/{flow_id}/simulate", json={"amd": "robot"})
    for r in (bad_input, bad_time, unknown):
        assert r.status_code == 422, r.text
        assert r.headers["content-type"] == "application/problem+json"
    assert "abc" in bad_input.json()["detail"]
    assert unknown.json()["errors"][0]["location"] == "body.amd"


def test_unknown_flow_is_404_everywhere(server: Server, acme: str) -> None:
    with server.client(acme) as c:
        for r in (
            c.get("/v1/flows/flw_0000000000000000"),
            c.get("/v1/flows/flw_0000000000000000/findings"),
            c.get("/v1/flows/flw_0000000000000000/graph"),
            c.get("/v1/flows/flw_0000000000000000/routes"),
            c.get("/v1/flows/flw_0000000000000000/versions/1"),
            c.post("/v1/flows/flw_0000000000000000/simulate", json={}),
            c.post("/v1/flows/flw_0000000000000000/versions", json={"xml": charity_xml()}),
        ):
            assert r.status_code == 404, r.request.url
            assert r.json()["type"].endswith("/not-found")


def big_flow(menus: int) -> str:
    """A valid flow of ``menus`` chained menus (about 5 shapes and arrows each)."""
    body = "".join(
        f'<menu name="m{i}" maxDigits="1" timeout="3000"><play type="tts">Menu {i}</play>'
        f'<keypress pressed="1"><goto>m{(i + 1) % menus}</goto></keypress>'
        '<keypress pressed="2"><hangup/></keypress></menu>'
        for i in range(menus)
    )
    return f'<dialplan name="Big">{body}</dialplan>'


def test_svg_of_a_flow_too_big_for_graphviz_is_refused_fast(server: Server, acme: str) -> None:
    with server.client(acme) as c:
        flow = c.post("/v1/flows", json={"name": "big", "xml": big_flow(130)}).json()["id"]
        started = time.monotonic()
        r = c.get(f"/v1/flows/{flow}/graph")
        assert time.monotonic() - started < 2
        assert r.status_code == 422
        assert r.json()["type"].endswith("/flow-too-big-for-svg")
        assert "653 shapes and arrows" in r.json()["detail"]
        assert c.get(f"/v1/flows/{flow}/graph", params={"format": "mermaid"}).status_code == 200
