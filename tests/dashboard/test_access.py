"""Dashboard access control over plain HTTP (httpx): sign-in, cookies, CSRF and accounts."""

from __future__ import annotations

import html

from tests.service.conftest import Server, charity_xml

from .conftest import dashboard_client, upload


def test_pages_without_a_session_redirect_to_sign_in(dash_server: Server) -> None:
    with dashboard_client(dash_server, None) as c:
        for path in (
            "/dashboard/",
            "/dashboard/flows/new",
            "/dashboard/flows/flw_0123456789abcdef",
        ):
            r = c.get(path)
            assert r.status_code == 303, path
            assert r.headers["location"].startswith("/dashboard/signin?next=%2Fdashboard%2F")
        r = c.post("/dashboard/flows", data={"name": "x", "xml": "<dialplan/>"})
        assert r.status_code == 303
        assert r.headers["location"].startswith("/dashboard/signin")


def test_a_bad_key_is_refused_and_sets_no_cookie(dash_server: Server) -> None:
    with dashboard_client(dash_server, None) as c:
        r = c.post("/dashboard/signin", data={"key": "dpk_000000000000_wrong"})
        assert r.status_code == 401
        assert "unknown or revoked" in r.text
        assert "set-cookie" not in r.headers
        assert c.get("/dashboard/").status_code == 303


def test_the_session_cookie_is_httponly_strict_and_scoped(dash_server: Server) -> None:
    key = dash_server.key("cookies", "read")
    with dashboard_client(dash_server, None) as c:
        r = c.post("/dashboard/signin", data={"key": key, "next": "https://evil.example/"})
        assert r.status_code == 303
        assert r.headers["location"] == "/dashboard/"  # never off-site
        cookie = r.headers["set-cookie"].lower()
        assert "httponly" in cookie
        assert "samesite=strict" in cookie
        assert "path=/dashboard" in cookie
        assert c.get("/dashboard/").status_code == 200


def test_another_accounts_flow_is_not_found(dash_server: Server) -> None:
    theirs = upload(dash_server, dash_server.key("initech", "write"), "secret", charity_xml())
    with dashboard_client(dash_server, dash_server.key("hooli", "write")) as c:
        assert c.get(f"/dashboard/flows/{theirs}").status_code == 404
        assert c.get(f"/dashboard/flows/{theirs}/graph.svg").status_code == 404
        page = c.get("/dashboard/flows/new")
        csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
        r = c.post(f"/dashboard/flows/{theirs}/simulate", data={"csrf": csrf, "inputs": "1"})
        assert r.status_code == 404
        assert theirs not in c.get("/dashboard/").text


def test_posts_need_the_csrf_token_and_the_same_origin(dash_server: Server) -> None:
    with dashboard_client(dash_server, dash_server.key("csrf", "write")) as c:
        r = c.post("/dashboard/flows", data={"name": "n", "xml": charity_xml()})
        assert r.status_code == 403
        page = c.get("/dashboard/flows/new")
        csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
        foreign = {"Origin": "https://evil.example"}
        r = c.post(
            "/dashboard/flows",
            data={"csrf": csrf, "name": "n", "xml": charity_xml()},
            headers=foreign,
        )
        assert r.status_code == 403
        r = c.post("/dashboard/flows", data={"csrf": csrf, "name": "n", "xml": charity_xml()})
        assert r.status_code == 303
        assert r.headers["location"].startswith("/dashboard/flows/flw_")


def test_a_read_key_cannot_upload(dash_server: Server) -> None:
    with dashboard_client(dash_server, dash_server.key("reader", "read")) as c:
        page = c.get("/dashboard/flows/new")
        csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
        r = c.post("/dashboard/flows", data={"csrf": csrf, "name": "n", "xml": charity_xml()})
        assert r.status_code == 403
        assert "lacks the 'write' scope" in html.unescape(r.text)


def test_sign_out_ends_the_session(dash_server: Server) -> None:
    with dashboard_client(dash_server, dash_server.key("bye", "read")) as c:
        page = c.get("/dashboard/")
        csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
        r = c.post("/dashboard/signout", data={"csrf": csrf})
        assert r.status_code == 303
        assert c.get("/dashboard/").status_code == 303


def test_revoking_the_key_ends_its_sessions(dash_server: Server) -> None:
    from dialplan.service.keys import create_key, revoke_key
    from dialplan.service.storage import Database

    db = Database(dash_server.db_path)
    key, secret = create_key(db, "revoked", ["read"])
    with dashboard_client(dash_server, secret) as c:
        assert c.get("/dashboard/").status_code == 200
        assert revoke_key(db, key.id)
        assert c.get("/dashboard/").status_code == 303


def test_pages_may_not_be_framed_and_load_only_this_servers_files(dash_server: Server) -> None:
    with dashboard_client(dash_server, dash_server.key("policy", "write")) as c:
        for path in ("/dashboard/signin", "/dashboard/", "/dashboard/flows/new"):
            policy = c.get(path).headers["content-security-policy"]
            assert "frame-ancestors 'none'" in policy, path
            assert "default-src 'self'" in policy, path
        flow_id = upload(dash_server, dash_server.key("policy", "write"), "charity", charity_xml())
        graph = c.get(f"/dashboard/flows/{flow_id}/graph.svg")
        assert graph.headers["content-type"] == "image/svg+xml"
        assert graph.headers["content-security-policy"].startswith("default-src 'none'")
        assert graph.content.lstrip().startswith((b"<?xml", b"<svg", b"<!DOCTYPE"))


def test_dashboard_errors_are_pages_not_problem_json(dash_server: Server) -> None:
    with dashboard_client(dash_server, dash_server.key("lost", "read")) as c:
        for path in ("/dashboard/nowhere", "/dashboard/broadcasts/not-a-number"):
            r = c.get(path)
            assert r.status_code == 404, path
            assert r.headers["content-type"].startswith("text/html"), path
            assert "No such page." in r.text
        # the API keeps answering problem JSON
        api = c.get("/v1/nowhere")
        assert api.headers["content-type"] == "application/problem+json"
