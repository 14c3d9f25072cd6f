"""The service's own tests of keys and scopes, flows, single calls (poll, sync, webhooks),
idempotency, tenant isolation, the compatibility endpoints and the DNC list, run once more against
a live server whose ``--db`` is PostgreSQL.

The tests are the SQLite ones, imported (pytest collects them here too): this module's
``server``, ``acme``, ``globex`` and ``flow_id`` fixtures take the place of the session's.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from .conftest import SERVER_OPTIONS, Server, charity_xml, start_server, stop_server
from .test_calls import (  # noqa: F401
    test_machine_answer,
    test_poll_mode_answers_at_once,
    test_sync_call_past_the_limit_answers_202_with_location,
    test_sync_call_returns_the_outcome,
    test_unanswered_calls,
    test_webhook_failed_call_and_retries,
    test_webhook_mode_posts_signed_events,
)
from .test_compat import (  # noqa: F401
    test_callr_runs_a_yaml_scenario_for_target,
    test_dnc_list_belongs_to_its_account,
    test_enablex_broadcast_sorts_recipients_and_sends_its_events,
    test_enablex_broadcast_with_one_idempotency_key_starts_once,
    test_kaleyra_calls_every_number_through_the_flow,
    test_kaleyra_ivr_not_found_for_another_accounts_flow,
)
from .test_flows import (  # noqa: F401
    test_unknown_flow_is_404_everywhere,
    test_upload_returns_the_flow_with_location_and_findings,
    test_upload_with_errors_is_refused_with_every_diagnostic,
    test_versions,
)
from .test_idempotency import (  # noqa: F401
    test_identical_posts_at_once_create_one_resource,
    test_keys_are_per_account,
    test_refusals_are_replayed_too,
    test_same_key_other_body_is_422,
    test_same_key_same_body_replays_the_first_response,
    test_still_running_is_409,
)
from .test_security import (  # noqa: F401
    test_every_accepted_key_header,
    test_no_or_unknown_key_is_401,
    test_rate_limit_is_429_with_retry_after,
    test_rate_limit_refills,
    test_revoked_key_is_401,
    test_scopes_are_403,
    test_tenant_isolation,
)


@pytest.fixture(scope="module")
def server(pg_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The shared test server's options, on a database of its own in the throwaway PostgreSQL."""
    name = f"shared{os.getpid()}"
    with psycopg.connect(pg_server.dsn(), autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    try:
        running = start_server(
            tmp_path_factory.mktemp("pgshared"), *SERVER_OPTIONS, db=pg_server.dsn(name)
        )
        yield running
        stop_server(running)
    finally:
        with psycopg.connect(pg_server.dsn(), autocommit=True) as admin:
            admin.execute(f"DROP DATABASE {name} WITH (FORCE)")


@pytest.fixture(scope="module")
def acme(server: Server) -> str:
    return server.key("acme", "write")


@pytest.fixture(scope="module")
def globex(server: Server) -> str:
    return server.key("globex", "write")


@pytest.fixture(scope="module")
def flow_id(server: Server, acme: str) -> str:
    with server.client(acme) as c:
        r = c.post("/v1/flows", json={"name": "charity", "xml": charity_xml()})
    assert r.status_code == 201, r.text
    return str(r.json()["id"])
