"""Call broadcasts of the service: a typed API over the campaign runtime, used by the ``/v2``
routes and the dashboard alike.

How to use it::

    layer = Broadcasts(db, BroadcastSettings(home=Path("service.sqlite.broadcasts")))
    layer.recover()       # at start: resume what was RUNNING (after a crash or kill -9 too)
    b = layer.create("acme", BroadcastInput(
        settings={"name": "Reminders", "fromNumber": "+15555550100", "maxActive": 5},
        dialplan_xml=xml,          # or flow_id="flw_…" (flow_version), or settings["sounds"]
        recipients=[Recipient("+15555550111", {"first_name": "Ann", "sim_result": "LA"})],
    ), start=True)
    layer.get("acme", b.id)                 # Broadcast: status, settings as API fields, labels
    layer.find("acme", limit=20, offset=0)  # (broadcasts, total)
    layer.update("acme", b.id, {"maxActive": 10})
    layer.stop("acme", b.id); layer.start("acme", b.id); layer.archive("acme", b.id)
    layer.add_recipients("acme", b.id, [Recipient("+15555550112")], batch_name=None)
    layer.stats("acme", b.id)               # CallBroadcastStats fields (all integers)
    layer.calls("acme", b.id, CallFilter(states=frozenset({"FINISHED"})), 100, 0)
    layer.export("acme", b.id, "csv", out)  # or "json"; out is a text file
    layer.report_html("acme", b.id)         # the HTML report of ``broadcast report``
    snap = layer.progress("acme", b.id)     # ProgressSnapshot (to_json() for an SSE event)
    snap = layer.wait_progress("acme", b.id, after=snap.version, timeout=15)  # next change
    layer.close()         # at shutdown: runs drain and stop, resumed by recover()

Every method takes the caller's account: another account's broadcast is a 404 problem, exactly
as a missing one. Bad input raises :class:`~..problems.ProblemError` (422 naming the API field).

A broadcast is a campaign: its settings are a campaign file (``<home>/<id>/campaign.json``,
converted from the API fields by :mod:`.fields`), its dialplan ``dialplan.xml`` and its
recipients CSV files; the campaign itself (recipients, attempts, answers) is in one campaign
store shared by every broadcast (``<home>/campaigns.sqlite``, campaign ``broadcast-<id>``). The
store is reached through its interfaces (``dialplan.broadcast.store.interfaces`` and
:class:`.callrows.CallQueries`), so another backend can take its place. Runs happen in this
process (:mod:`.runs`) on the virtual or the real clock, with the simulated or the SIP driver.

With ``BroadcastSettings.store_dsn`` a ``postgresql://`` address, the campaigns are in that
PostgreSQL campaign store instead and this process never calls: start and stop arm and pause
the campaign, ``broadcast worker`` processes call (:mod:`.pgruns`), and a broadcast's status
follows its campaign's state there (FINISHED once a worker finished it).
"""

from __future__ import annotations

from .writing import BroadcastWriting


class Broadcasts(BroadcastWriting):
    """The service's call broadcasts (see the module docstring): the state and reading
    (:mod:`.core`), results (:mod:`.reading`), changes (:mod:`.writing`, :mod:`.storing`) and
    the life cycle of this process's runs (here)."""

    def recover(self) -> list[int]:
        """Start every broadcast whose status is RUNNING (a server that was stopped or killed
        resumes them; on PostgreSQL their campaigns are armed again, which workers calling
        them never notice, except one stopped that still drains); returns their ids."""
        with self.db.connect() as conn:
            ids = [
                int(r["id"])
                for r in conn.execute("SELECT id FROM broadcasts WHERE status = 'RUNNING'")
            ]
        if self.pg is not None:  # a stopped one still draining: it ends STOPPED, not resumed
            ids = [bid for bid in ids if not self._stopped_in_store(bid)]
        for bid in ids:
            self.runs.start(bid, self._file(bid))
        return ids

    def close(self) -> None:
        """Stop the runs of this process; their status stays RUNNING for :meth:`recover` (on
        PostgreSQL the workers go on calling)."""
        self.runs.close()
