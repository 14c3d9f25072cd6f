"""The service on PostgreSQL: workers need nothing of the server's ``<home>`` folder (the
campaign file and dialplan are in the database, ``campaign_sources``)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import psycopg

from dialplan.service.broadcasts import BroadcastInput
from tests.service.test_pg_broadcasts import (
    MENU,
    SHORT,
    layer_on,
    people,
    results_of,
    settings,
    wait_for,
)
from tests.service.test_pg_broadcasts import status as status_of

ROOT = Path(__file__).resolve().parents[2]


def test_workers_call_a_broadcast_whose_home_folder_is_gone(pg_db: str, tmp_path: Path) -> None:
    spec = BroadcastInput(settings(), dialplan_xml=MENU, recipients=people(8))
    lite = layer_on(tmp_path / "lite", None)
    try:
        ref = lite.create("acme", spec, start=True)
        wait_for(lambda: status_of(lite, "acme", ref.id) == "FINISHED")
        want = results_of(lite, "acme", ref.id)
        want_stats = lite.stats("acme", ref.id)
    finally:
        lite.close()

    layer = layer_on(tmp_path / "pg", pg_db)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    worker: subprocess.Popen[str] | None = None
    try:
        b = layer.create("acme", spec, start=True)
        shutil.rmtree(tmp_path / "pg" / "broadcasts")  # the server's files: gone
        argv = [sys.executable, "-m", "dialplan", "broadcast", "worker", "--db", pg_db]
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        worker = subprocess.Popen(
            [*argv, "--forever", "--lease", "3"], cwd=elsewhere, env=env, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        wait_for(lambda: status_of(layer, "acme", b.id) == "FINISHED" or worker.poll() is not None)
        assert worker.poll() is None, worker.communicate()[1]
        assert status_of(layer, "acme", b.id) == "FINISHED"
        assert results_of(layer, "acme", b.id) == want
        assert layer.stats("acme", b.id) == want_stats
    finally:
        if worker is not None and worker.poll() is None:
            worker.terminate()
            worker.communicate(timeout=60)
        layer.close()


def test_put_stores_the_new_dialplan_before_its_fingerprint(pg_db: str, tmp_path: Path) -> None:
    layer = layer_on(tmp_path / "pg", pg_db)
    try:
        b = layer.create("acme", BroadcastInput(settings(), dialplan_xml=MENU,
                                                recipients=people(2)))  # fmt: skip
        layer.update("acme", b.id, BroadcastInput({"maxActive": 3}, dialplan_xml=SHORT))
    finally:
        layer.close()
    with psycopg.connect(pg_db, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT dialplan, settings FROM campaign_sources ORDER BY recorded_at"
        ).fetchall()
    assert [r[0] for r in rows] == [MENU, SHORT]
    assert b"max_active = 3" in bytes(rows[1][1]) or b'"max_active": 3' in bytes(rows[1][1])
