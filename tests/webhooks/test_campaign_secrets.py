"""Events of several campaigns share one store's outbox (the service keeps every broadcast in
one store): each event is signed with its own campaign's secret, whichever campaign's
deliverer sends it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dialplan.broadcast.store.sqlite import Store
from dialplan.broadcast.webhooks.delivery import CampaignSecrets, WebhookDeliverer

from .helpers import LoopbackServer, Receiver, all_signatures_valid


def _campaign(store: Store, name: str, broadcast_id: str, secret: str | None) -> None:
    raw = {"name": name} if secret is None else {"name": name, "webhook": {"secret": secret}}
    store.begin()
    store.create_campaign(name, broadcast_id, {"raw": raw})
    store.commit()


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(tmp_path / "db.sqlite")
    _campaign(s, "a", "bc-a", "secret-of-a")
    _campaign(s, "b", "bc-b", "secret-of-b")
    _campaign(s, "c", "bc-c", None)  # no webhook of its own
    return s


def test_each_event_is_signed_with_its_own_campaigns_secret(store: Store) -> None:
    receiver = Receiver(plan=lambda n: 200)
    with LoopbackServer(receiver) as server:
        ids = [(f"e-{who}-{i}", f"bc-{who}") for who in ("a", "b", "c", "z") for i in range(2)]
        rows = [
            (e, server.url, json.dumps({"event_id": e, "broadcast_id": b}).encode(), 0.0)
            for e, b in ids
        ]
        store.begin()
        store.add_many(rows)
        store.commit()
        # campaign a's deliverer sends everything due in the shared outbox
        with WebhookDeliverer(
            store, CampaignSecrets("secret-of-a", store.webhook_secret), allow_private=True
        ) as sender:
            sender.run_once(1.0)
    by = {
        who: [r for r in receiver.received if r.event_id.startswith(f"e-{who}-")] for who in "abcz"
    }
    assert [len(v) for v in by.values()] == [2, 2, 2, 2]
    assert all_signatures_valid(by["b"], "secret-of-b")
    assert not all_signatures_valid(by["b"], "secret-of-a")
    assert all_signatures_valid(by["a"], "secret-of-a")
    # a campaign without a secret, or an event naming none of the store's: the deliverer's own
    assert all_signatures_valid(by["c"] + by["z"], "secret-of-a")


def test_a_changed_secret_is_picked_up_after_the_cache_time(store: Store) -> None:
    secrets = CampaignSecrets("fallback", store.webhook_secret, ttl_s=0.0)
    event_b = json.dumps({"broadcast_id": "bc-b"}).encode()
    from dialplan.broadcast.webhooks.outbox import OutboxEvent

    assert secrets(OutboxEvent(1, "e", "u", event_b)) == "secret-of-b"
    store.begin()
    store.db.execute(
        "UPDATE campaigns SET config = ? WHERE broadcast_id = 'bc-b'",
        (json.dumps({"raw": {"webhook": {"secret": "new-b"}}}),),
    )
    store.commit()
    assert secrets(OutboxEvent(1, "e", "u", event_b)) == "new-b"
    assert secrets(OutboxEvent(2, "e", "u", b"not json")) == "fallback"
