"""The DNC-scope contract every campaign store keeps (run on SQLite and on PostgreSQL)."""

from __future__ import annotations

from typing import Any


def check_account_dnc_stays_in_its_scope(store: Any) -> None:
    """Numbers a campaign's calls put on the DNC list reach the later campaigns of its scope
    only; campaigns without a scope (the CLI's) share one, as before scopes existed."""
    a1 = store.create_campaign("a1", "b-a1", {}, dnc_scope="acme")
    b1 = store.create_campaign("b1", "b-b1", {}, dnc_scope="globex")
    c1 = store.create_campaign("c1", "b-c1", {})
    store.begin()
    store.add_dnc(a1, ["+12125550101"], "runtime")
    store.add_dnc(b1, ["+12125550202"], "runtime")
    store.add_dnc(c1, ["+12125550303"], "runtime")
    store.add_dnc(a1, ["+12125550909"], "list")  # a campaign's own list is not shared
    store.commit()

    a2 = store.create_campaign("a2", "b-a2", {}, dnc_scope="acme")
    b2 = store.create_campaign("b2", "b-b2", {}, dnc_scope="globex")
    c2 = store.create_campaign("c2", "b-c2", {})
    store.begin()
    for cid in (a2, b2, c2):
        store.add_account_dnc(cid)
    store.commit()
    assert store.dnc_numbers(a2, "account") == {"+12125550101"}
    assert store.dnc_numbers(b2, "account") == {"+12125550202"}
    assert store.dnc_numbers(c2, "account") == {"+12125550303"}
