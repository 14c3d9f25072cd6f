"""The OpenAPI document: 3.1, valid, complete; and Schemathesis against the live server."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from openapi_spec_validator import validate

from .conftest import ROOT, Receiver, Server, charity_xml, start_server, stop_server


def test_openapi_document_is_valid_3_1(server: Server) -> None:
    with server.client() as c:
        doc = c.get("/openapi.json").json()
    assert doc["openapi"].startswith("3.1.")
    validate(doc)
    paths = doc["paths"]
    assert {"/v1/flows", "/v1/flows/{flow_id}/graph", "/v1/calls", "/v1/calls/{call_id}"} <= set(
        paths
    )
    schemes = doc["components"]["securitySchemes"]
    assert {s["type"] for s in schemes.values()} == {"http", "apiKey"}
    assert {s.get("name") for s in schemes.values() if s["type"] == "apiKey"} == {
        "X-API-Key",
        "api-key",
    }
    for path, item in paths.items():
        for method, op in item.items():
            if path == "/v1/health":
                continue
            assert "401" in op["responses"], (method, path)
            problem = op["responses"]["401"]["content"]
            assert "application/problem+json" in problem, (method, path)


def test_docs_page(server: Server) -> None:
    with server.client() as c:
        r = c.get("/docs")
    assert r.status_code == 200
    assert "swagger-ui" in r.text.lower() and "/openapi.json" in r.text


@pytest.mark.skipif(
    subprocess.run([sys.executable, "-c", "import schemathesis"], capture_output=True).returncode
    != 0,
    reason="schemathesis is not installed",
)
def test_schemathesis_finds_no_server_errors_and_no_schema_violations(
    tmp_path: Path, receiver: Receiver
) -> None:
    server = start_server(tmp_path, "--allow-private", "--sync-limit", "0.2")
    try:
        key = server.key("fuzz", "admin", rate_per_s=100_000)
        with server.client(key) as c:
            flow = c.post("/v1/flows", json={"name": "charity", "xml": charity_xml()}).json()
            call = c.post(
                "/v1/calls",
                json={"flow_id": flow["id"], "to": "+15555550123", "caller_id": "+15555550100"},
            ).json()
        # real ids for the path parameters, so the operations behind them are reached
        config = tmp_path / "schemathesis.toml"
        config.write_text(
            f'[parameters]\nflow_id = "{flow["id"]}"\ncall_id = "{call["id"]}"\n',
            encoding="utf-8",
        )
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "schemathesis.cli",
                "--config-file",
                str(config),
                "run",
                f"{server.url}/openapi.json",
                "--header",
                f"Authorization: Bearer {key}",
                "--checks",
                "not_a_server_error,response_schema_conformance,"
                "content_type_conformance,status_code_conformance",
                "--max-examples",
                "5",
                "--seed",
                "1",
                "--workers",
                "1",
                "--phases",
                "examples,coverage,fuzzing",
                "--request-timeout",
                "10",
            ],
            capture_output=True,
            text=True,
            cwd=tmp_path,  # its cache (.schemathesis/) stays out of the checkout
            env={
                **os.environ,
                "PYTHONPATH": str(ROOT),
                "SCHEMATHESIS_HOOKS": "tests.service.st_hooks",
                "DIALPLAN_TEST_RECEIVER": receiver.url,
                "NO_COLOR": "1",
            },
            # a guard against a hang only: every request has its own 10 s timeout above, and
            # the run took ~10 s when written, but over 120 s on a 2-core machine at a load of 12
            timeout=900,
        )
        assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
        assert "passed" in done.stdout, done.stdout
        assert "Internal Server Error" not in server.log.read_text()
    finally:
        stop_server(server)
