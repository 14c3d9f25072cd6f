"""Broadcasts running in the server process: one thread each, on the campaign runtime.

A run is :func:`~dialplan.broadcast.service.run_campaign` on the broadcast's campaign file and
the shared campaign store, so everything the runtime guarantees holds here too: a run resumes
where its last commit left it (after a crash or ``kill -9`` included), holds the campaign's
lease while it calls, and never dials an attempt twice.

A stop drains (:mod:`dialplan.broadcast.stopping`): no new call from that moment, the calls in
flight end with their real results (hung up after ``drain_s`` seconds), then the run ends and
the next start resumes; a second stop ends it at once. On the virtual clock a stop is heard at
the next commit. A stop during the loading of recipients ends it there (:class:`Stopped`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ...broadcast.campaign import Campaign, load_campaign
from ...broadcast.progress import Progress
from ...broadcast.stopping import StopRequest
from ...errors import DialplanError
from ...messaging.autoreply import AutoReplies

log = logging.getLogger("dialplan.service")

Clock = Literal["virtual", "real"]
Driver = Literal["sim", "sip"]


class Stopped(Exception):
    """Raised in a run's progress callback when it was asked to stop while loading."""


@dataclass
class Run:
    """One broadcast's run: its thread, its stop request and its latest progress."""

    broadcast_id: int
    stop: StopRequest = field(default_factory=StopRequest)
    thread: threading.Thread | None = None
    progress: Progress | None = None
    #: stopped by the server's shutdown (the broadcast stays RUNNING, resumed at restart)
    shutdown: bool = False

    def alive(self) -> bool:
        return self.thread is not None and self.thread.is_alive()


#: what a finished run reports: (broadcast id, "FINISHED" | "STOPPED" | None, error text)
OnEnd = Callable[[int, str | None, str | None], None]
#: a text broadcast's auto-replies: broadcast id → its account's (None: it has no account)
AutoRepliesOf = Callable[[int], AutoReplies | None]


class Runs:
    """The running broadcasts of this process."""

    def __init__(
        self,
        store_path: Path,
        *,
        clock: Clock = "virtual",
        driver: Driver = "sim",
        on_progress: Callable[[int, Progress], None],
        on_end: OnEnd,
        max_wait: float = 30.0,
        smpp: Mapping[str, Any] | None = None,
        drain_s: float = 30.0,
        auto_replies: AutoRepliesOf | None = None,
    ) -> None:
        self.store_path = store_path
        self.auto_replies = auto_replies
        self.smpp = smpp
        self.clock: Clock = "real" if driver == "sip" else clock
        self.driver: Driver = driver
        self.max_wait = max_wait
        self.drain_s = drain_s
        self._on_progress = on_progress
        self._on_end = on_end
        self._runs: dict[int, Run] = {}
        self._lock = threading.Lock()

    def progress(self, broadcast_id: int) -> Progress | None:
        run = self._runs.get(broadcast_id)
        return run.progress if run is not None and run.alive() else None

    def running(self, broadcast_id: int) -> bool:
        run = self._runs.get(broadcast_id)
        return run is not None and run.alive()

    def start(self, broadcast_id: int, campaign_file: Path) -> None:
        """Run the broadcast in the background (nothing happens if it already runs)."""
        with self._lock:
            old = self._runs.get(broadcast_id)
            if old is not None and old.alive() and not old.stop.draining:
                return
            if old is not None and old.thread is not None:
                old.thread.join()
            run = Run(broadcast_id)
            run.thread = threading.Thread(
                target=self._run,
                args=(run, campaign_file),
                name=f"broadcast-{broadcast_id}",
                daemon=True,
            )
            self._runs[broadcast_id] = run
            run.thread.start()

    def stop(self, broadcast_id: int, wait: bool = False) -> bool:
        """Ask the run to stop (to drain; at once when it already drains), and with ``wait``
        wait until it has; True when it was running."""
        run = self._runs.get(broadcast_id)
        if run is None or not run.alive():
            return False
        run.stop.request()
        if wait:
            self.settle(broadcast_id)
        return True

    def settle(self, broadcast_id: int) -> None:
        """Wait for a run that was asked to stop to end (a draining run's calls included)."""
        run = self._runs.get(broadcast_id)
        if run is not None and run.thread is not None and run.stop.draining:
            run.thread.join()

    def close(self, timeout: float | None = None) -> None:
        """Stop every run, draining (they resume at the next start of the server): the calls
        in flight end first (hung up after ``drain_s``), for at most ``timeout`` seconds (default
        ``drain_s`` + 10) after which what still runs is stopped at once."""
        runs = [run for run in self._runs.values() if run.alive()]
        for run in runs:
            if not run.stop.draining:  # one a user stopped goes on draining, to STOPPED
                run.shutdown = True
                run.stop.request()
        limit = self.drain_s + 10.0 if timeout is None else timeout
        deadline = time.monotonic() + limit
        for run in runs:
            if run.thread is not None:
                run.thread.join(max(0.0, deadline - time.monotonic()))
        for run in runs:
            if run.alive():
                run.stop.request()  # a second request: at once
                if run.thread is not None:
                    run.thread.join(5.0)

    def _driver(self, campaign: Campaign) -> Any:
        """The SIP driver of a voice broadcast on a ``sip`` server; ``None``: the runtime's
        simulated one (a text broadcast's is always the simulated messaging driver: the server
        has no SMPP driver)."""
        if self.driver != "sip" or campaign.channel == "sms":
            return None
        from ...broadcast.service import load_dialplan
        from ...broadcast.telephony.sip import SipCampaignDriver

        return SipCampaignDriver(campaign, load_dialplan(campaign))

    def _messaging(self, campaign: Campaign) -> Any:
        """The SMPP driver of a text broadcast on a server with an ``[smpp]`` table (it runs on
        the real clock); ``None``: the runtime's simulated messaging driver."""
        if campaign.channel != "sms" or self.smpp is None:
            return None
        from ...messaging.smpp import SmppMessaging
        from ...messaging.smpp_config import smpp_config

        return SmppMessaging(smpp_config(self.smpp, "smpp"))

    def _auto_replies(self, broadcast_id: int, campaign: Campaign) -> AutoReplies | None:
        if campaign.channel != "sms" or self.auto_replies is None:
            return None
        return self.auto_replies(broadcast_id)

    def _run(self, run: Run, campaign_file: Path) -> None:
        from ...broadcast.service import run_campaign

        def progress(snapshot: Progress) -> None:
            run.progress = snapshot
            self._on_progress(run.broadcast_id, snapshot)
            if run.stop.draining and snapshot.phase == "loading":
                raise Stopped

        outcome: str | None = None
        error: str | None = None
        try:
            if run.stop.draining:
                raise Stopped
            campaign = load_campaign(campaign_file)
            messaging = self._messaging(campaign)
            report = run_campaign(
                campaign,
                self.store_path,
                driver=self._driver(campaign),
                messaging=messaging,
                clock="real" if messaging is not None else self.clock,
                progress=progress,
                max_wait=self.max_wait,
                wait=True,
                stop=run.stop,
                drain_s=self.drain_s,
                auto_replies=self._auto_replies(run.broadcast_id, campaign),
            )
            outcome = "STOPPED" if report.stopped else "FINISHED"
        except Stopped:
            outcome = "STOPPED"
        except DialplanError as exc:
            outcome, error = "STOPPED", str(exc).splitlines()[0]
            log.warning("broadcast %s stopped: %s", run.broadcast_id, error)
        except Exception as exc:  # a bug stops this broadcast, never the server (and is logged)
            log.exception("broadcast %s crashed", run.broadcast_id)
            outcome, error = "STOPPED", f"internal error: {type(exc).__name__}"
        if run.shutdown and error is None and outcome == "STOPPED":
            outcome = None  # the server's shutdown: still RUNNING, resumed at the next start
        self._on_end(run.broadcast_id, outcome, error)
