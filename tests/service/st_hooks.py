"""Schemathesis hooks for the live-server run: webhook URLs go to the test's loopback receiver.

Loaded through ``SCHEMATHESIS_HOOKS=tests.service.st_hooks``; without it a generated
``webhook_url`` (or a broadcast's ``webhook.url``; ``http://example.com/…``) would make the server post events to the internet.
"""

from __future__ import annotations

import os
from typing import Any

import schemathesis


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    body = case.body
    if isinstance(body, dict) and "webhook_url" in body:
        body["webhook_url"] = os.environ["DIALPLAN_TEST_RECEIVER"]
    if isinstance(body, dict) and isinstance(body.get("webhook"), dict):  # /v2 broadcasts
        body["webhook"]["url"] = os.environ["DIALPLAN_TEST_RECEIVER"]
