"""A seeded loader for the stats benchmarks: a campaign's recipients, attempts and answers written
straight into a campaign store (no calls run), as a finished or a half-finished broadcast would
leave them.

``seed(store, campaign_id, recipients, finished=…, seed=…)`` writes in batches of 10,000 rows
through the store's own ``add_recipients``/``record_attempts``/``record_responses``/
``update_recipients`` (so whatever the store maintains on those writes, its counters included,
is maintained here too) and returns how many rows of each it wrote. Results are drawn from a
fixed mix with ``random.Random(seed)``: the same arguments give the same rows.
"""

from __future__ import annotations

import json
import random
from typing import Any

from dialplan.broadcast.store.rows import AttemptRow, RecipientRow, RecipientUpdate, ResponseRow

#: (result, weight): the last attempt's result; BUSY and NO_ANS are retried once or twice
MIX = (("LA", 40), ("AM", 25), ("NO_ANS", 15), ("BUSY", 10), ("CARRIER_ERROR", 5), ("XFER", 5))
BATCH = 10_000
T0 = 1_700_000_000.0


def seed(
    store: Any, campaign_id: int, recipients: int, *, finished: bool, seed: int = 10
) -> dict[str, int]:
    """Write ``recipients`` rows (plus their attempts and answers) for ``campaign_id``.

    ``finished``: every recipient has a final result; otherwise the first half has one, a
    tenth is waiting for a retry (one attempt, no final result) and the rest was never dialled.
    """
    rng = random.Random(seed)
    results, weights = zip(*MIX, strict=True)
    first_id, first_row = store.next_recipient(campaign_id)
    written = {"recipients": 0, "attempts": 0, "responses": 0}
    attrs = json.dumps({"first_name": "Sam"})
    for start in range(0, recipients, BATCH):
        n = min(BATCH, recipients - start)
        store.begin()
        store.add_recipients(
            [
                RecipientRow(
                    campaign_id,
                    first_row + start + i,
                    f"+1555{(start + i) % 10**7:07d}",
                    f"+1555{(start + i) % 10**7:07d}",
                    "US",
                    None,
                    attrs,
                    None,
                    None,
                    "call_initiated",
                    None,
                    0.0,
                )
                for i in range(n)
            ]
        )
        attempts: list[AttemptRow] = []
        responses: list[ResponseRow] = []
        updates: list[RecipientUpdate] = []
        for i in range(n):
            k = start + i
            rid = first_id + k
            if finished or k < recipients // 2:
                last = rng.choices(results, weights)[0]
                tries = 1 + (rng.randrange(3) if last in ("BUSY", "NO_ANS") else 0)
                final: str | None = last
            elif k < recipients // 2 + recipients // 10:
                last, tries, final = "NO_ANS", 1, None
            else:
                continue
            t = T0 + k * 0.5
            for no in range(1, tries + 1):
                result = last if no == tries else "NO_ANS"
                answered = result in ("LA", "AM", "XFER")
                duration = round(rng.uniform(5, 180), 3) if answered else 0.0
                attempts.append(
                    AttemptRow(
                        rid,
                        no,
                        t,
                        t + 3 if answered else None,
                        t + 3 + duration,
                        result,
                        16 if answered else 19,
                        "human" if result != "AM" else "machine",
                        duration,
                    )
                )
                t += 3600
            if last == "LA" and rng.random() < 0.5:
                responses.append(ResponseRow(rid, tries, "rating", str(rng.randrange(1, 6))))
            updates.append(RecipientUpdate(rid, tries, t, final))
        store.record_attempts(attempts)
        store.record_responses(responses)
        store.update_recipients(updates)
        store.commit()
        written["recipients"] += n
        written["attempts"] += len(attempts)
        written["responses"] += len(responses)
    return written


def main(argv: list[str] | None = None) -> int:
    """``python -m tools.bench._stats_data DB CAMPAIGN RECIPIENTS finished|half``: seed the
    campaign named CAMPAIGN of the SQLite store DB (run by ``tools.bench api`` in a child
    process under a memory cap)."""
    import sys

    from dialplan.broadcast.store.sqlite import Store

    db, name, count, shape = argv if argv is not None else sys.argv[1:]
    store = Store(db)
    try:
        row = store.campaign(name)
        assert row is not None, f"no campaign {name} in {db}"
        seed(store, row.id, int(count), finished=shape == "finished")
    finally:
        store.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
