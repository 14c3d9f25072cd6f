"""Child process of the crash and lease tests: runs a campaign with the fake runner, committing
often, and (with ``--log FILE``) appends ``recipient attempt`` to FILE for every call it places;
``--hold-after-batches N`` parks it for good once N load batches are committed (a kill then
always lands during loading, however slowly the test that kills it runs).

Exit codes and error lines are the CLI's: 0, or a deliberate error's code (2) and one line.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

from dialplan.broadcast import loader
from dialplan.broadcast.campaign import Campaign, load_campaign
from dialplan.broadcast.service import run_campaign
from dialplan.broadcast.telephony.port import AttemptOutcome, CallRequest
from dialplan.broadcast.telephony.simulated import SimulatedDriver
from dialplan.errors import DialplanError

from .helpers import fake_runner


class LoggingDriver(SimulatedDriver):
    """The simulated driver, writing one line per placed call (unbuffered: kill -9 safe)."""

    def __init__(self, campaign: Campaign, fd: int, delay: float, lived: bool = False) -> None:
        super().__init__(campaign, fake_runner, lived=lived)
        self.fd = fd
        self.delay = delay

    def place(self, call: CallRequest, now: float) -> AttemptOutcome:
        os.write(self.fd, f"{call.recipient_id} {call.attempt_no}\n".encode())
        time.sleep(self.delay)  # a slower "network", so that runs overlap
        return super().place(call, now)


def hold_after(batches: int) -> None:
    """Park the process for good once ``batches`` load batches are committed."""
    flush = loader._flush
    done = 0

    def flush_then_hold(*args: Any) -> None:
        nonlocal done
        flush(*args)
        done += 1
        if done >= batches:
            while True:
                time.sleep(3600)

    loader._flush = flush_then_hold  # type: ignore[assignment]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("campaign")
    parser.add_argument("db")
    parser.add_argument("--wait", action="store_true")
    parser.add_argument("--log")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds per call")
    parser.add_argument("--clock", default="virtual", choices=["virtual", "real"])
    parser.add_argument("--hold-after-batches", type=int, default=0)
    args = parser.parse_args(argv)
    if args.hold_after_batches:
        hold_after(args.hold_after_batches)
    campaign = load_campaign(args.campaign)
    driver: Any = None
    if args.log:
        fd = os.open(args.log, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        driver = LoggingDriver(campaign, fd, args.delay, lived=args.clock == "real")
    try:
        run_campaign(
            campaign,
            args.db,
            runner=fake_runner,
            driver=driver,
            deliver=False,
            clock=args.clock,
            commit_every=500,
            wait=args.wait,
            on_wait=lambda text: print(f"dialplan: {text}", file=sys.stderr, flush=True),
        )
    except DialplanError as exc:
        print(f"dialplan: error: {exc}", file=sys.stderr)
        return exc.exit_code
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
