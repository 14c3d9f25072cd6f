"""Child process of the crash test: runs a campaign with the fake runner, committing often."""

from __future__ import annotations

import sys

from dialplan.broadcast.campaign import load_campaign
from dialplan.broadcast.service import run_campaign

from .helpers import fake_runner


def main(argv: list[str]) -> int:
    campaign, db = argv[0], argv[1]
    run_campaign(load_campaign(campaign), db, runner=fake_runner, deliver=False, commit_every=500)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
