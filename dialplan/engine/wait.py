"""What a call waits for between events (the session's typed wait state)."""

from __future__ import annotations

from enum import Enum


class WaitFor(Enum):
    """The event the session waits for; the waiting node's handler receives it."""

    ANSWER = "answer"  # the call is ringing: ``Answered`` (no node waits)
    PLAY = "play"  # ``PlaybackDone`` of a ``<play>`` (digits: barge-in on menu prompts)
    INPUT = "input"  # digits or ``InputTimeout`` of a ``<menu>``
    TRANSFER = "transfer"  # ``TransferDone`` of a ``<transfer>``
    RECORD = "record"  # ``RecordingDone`` of a foreground ``<record>``
    HTTP = "http"  # ``HttpDone`` of a ``<get>``/``<post>``/``<gotoXML>``
    PAUSE = "pause"  # ``PauseDone`` of a ``<wait>``
