"""/v1/flows takes Callr Actions YAML: linted on upload, drawn, routed and simulated like XML."""

from __future__ import annotations

import pytest

from .conftest import EXAMPLES, Server

REMINDER = (EXAMPLES / "appointment-reminder.yaml").read_text(encoding="utf-8")
#: say@v2 without its `what`: E02C callr-missing-param on line 5
BAD = """branches:
  api-initiated:
    actions:
      - action: say@v2
        params: {}
"""


def test_a_yaml_flow_in_json_is_linted_and_stored(server: Server, acme: str) -> None:
    with server.client(acme) as c:
        r = c.post("/v1/flows", json={"name": "reminder", "source": REMINDER, "format": "yaml"})
        assert r.status_code == 201, r.text
        flow = r.json()
        assert flow["format"] == "yaml" and flow["source"] == REMINDER
        assert all(f["file"] == "reminder.yaml" for f in flow["findings"])
        again = c.get(f"/v1/flows/{flow['id']}").json()
    assert again["format"] == "yaml" and again["version"] == 1


def test_a_raw_yaml_body_names_its_format_by_content_type(server: Server, acme: str) -> None:
    with server.client(acme) as c:
        r = c.post(
            "/v1/flows?name=reminder-raw",
            content=REMINDER.encode(),
            headers={"Content-Type": "application/yaml; charset=utf-8"},
        )
        assert r.status_code == 201, r.text
        assert (r.json()["name"], r.json()["format"]) == ("reminder-raw", "yaml")
        flow_id = r.json()["id"]
        # a new version, as raw XML this time
        xml = '<dialplan name="Root"><play type="tts">Hi</play></dialplan>'
        v2 = c.post(
            f"/v1/flows/{flow_id}/versions", content=xml, headers={"Content-Type": "text/xml"}
        )
        assert v2.status_code == 201, v2.text
        assert (v2.json()["version"], v2.json()["format"]) == (2, "xml")


def test_a_yaml_flow_with_an_error_is_refused_with_its_diagnostics(
    server: Server, acme: str
) -> None:
    with server.client(acme) as c:
        r = c.post("/v1/flows", json={"name": "bad", "source": BAD, "format": "yaml"})
    assert r.status_code == 422, r.text
    problem = r.json()
    assert r.headers["content-type"].startswith("application/problem+json")
    errors = [d for d in problem["diagnostics"] if d["severity"] == "error"]
    assert errors and errors[0]["code"] == "E02C" and errors[0]["file"] == "bad.yaml"
    assert (errors[0]["line"], set(errors[0])) == (
        5,
        {"file", "line", "column", "code", "severity", "message", "rule"},
    )
    assert problem["detail"].startswith("bad.yaml:5:")


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ({"name": "x", "xml": "<dialplan/>", "source": "a: 1"}, "exactly one"),
        ({"name": "x", "xml": "<dialplan/>", "format": "yaml"}, "`xml` holds CallFire XML"),
        ({"name": "x"}, "exactly one"),
    ],
)
def test_an_upload_names_one_source(server: Server, acme: str, body: dict, why: str) -> None:
    with server.client(acme) as c:
        r = c.post("/v1/flows", json=body)
    assert r.status_code == 422 and why in r.text, r.text


def test_an_unknown_content_type_is_415(server: Server, acme: str) -> None:
    with server.client(acme) as c:
        r = c.post("/v1/flows?name=x", content=b"hello", headers={"Content-Type": "text/plain"})
    assert r.status_code == 415, r.text


def test_graph_routes_and_simulate_work_on_a_yaml_flow(server: Server, acme: str) -> None:
    with server.client(acme) as c:
        flow_id = c.post(
            "/v1/flows", json={"name": "reminder", "source": REMINDER, "format": "yaml"}
        ).json()["id"]
        mermaid = c.get(f"/v1/flows/{flow_id}/graph", params={"format": "mermaid"})
        assert mermaid.status_code == 200 and mermaid.text.startswith("flowchart")
        routes = c.get(f"/v1/flows/{flow_id}/routes")
        assert routes.status_code == 200 and routes.json()["routes"], routes.text
        sim = c.post(
            f"/v1/flows/{flow_id}/simulate",
            json={"inputs": ["1"], "variables": {"target": "+15555550123"}},
        )
    assert sim.status_code == 200, sim.text
    result = sim.json()
    assert result["outcome"] == "hangup"
    assert result["variables"]["result"] == "confirmed"
    assert result["variables"]["target"] == "+15555550123"
    assert "Thank you! Your appointment is confirmed." in result["prompts"]
