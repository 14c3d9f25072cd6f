"""Final SIP responses → call result codes and Q.850 causes (RFC 3398 where the issue is silent)."""

from __future__ import annotations

from dataclasses import dataclass

from ...engine.events import TransferOutcome

#: result codes of a call that was not answered (answered calls are ``LA``/``AM``)
BUSY = "BUSY"
NO_ANS = "NO_ANS"
INVALID = "INVALID"
REJECTED = "REJECTED"
CARRIER_ERROR = "CARRIER_ERROR"


@dataclass(frozen=True)
class Failure:
    result: str
    cause: int
    status: int
    reason: str = ""


_SPECIFIC: dict[int, tuple[str, int]] = {
    486: (BUSY, 17),
    600: (BUSY, 17),
    480: (NO_ANS, 19),
    408: (NO_ANS, 19),
    487: (NO_ANS, 19),  # our CANCEL after the ring timeout
    404: (INVALID, 1),
    604: (INVALID, 1),
    484: (INVALID, 28),
    410: (INVALID, 22),
    603: (REJECTED, 21),
    403: (REJECTED, 21),
}
#: RFC 3398 §8.2.6.1 causes for the other failure responses
_CAUSES: dict[int, int] = {
    400: 41,
    401: 21,
    402: 21,
    405: 63,
    406: 79,
    407: 21,
    413: 127,
    414: 127,
    415: 79,
    416: 127,
    420: 127,
    421: 127,
    423: 127,
    481: 41,
    482: 25,
    483: 25,
    485: 1,
    488: 65,
    500: 41,
    501: 79,
    502: 38,
    503: 34,
    504: 102,
    505: 127,
    606: 58,
}


def failure_for(status: int, reason: str = "") -> Failure:
    """The result code and Q.850 cause for a final failure response (≥ 300)."""
    if status in _SPECIFIC:
        result, cause = _SPECIFIC[status]
        return Failure(result, cause, status, reason)
    return Failure(CARRIER_ERROR, _CAUSES.get(status, 31 if status < 500 else 41), status, reason)


def media_failure(reason: str) -> Failure:
    """An answer (200 OK) without usable media: no SDP, or no PCMU in it.

    We hang up as a callee would refuse such an offer with 488 Not Acceptable Here, so it maps
    like 488 (``CARRIER_ERROR``, Q.850 65 "bearer capability not implemented", RFC 3398); the
    SIP status stays the 200 that was received."""
    refused = failure_for(488)
    return Failure(refused.result, refused.cause, 200, reason)


def transfer_outcome(status: int) -> TransferOutcome:
    """A REFER NOTIFY sipfrag status → engine ``TransferDone.outcome``."""
    if 200 <= status < 300:
        return "answered"
    if status in (486, 600):
        return "busy"
    if status in (408, 480, 487):
        return "no_answer"
    return "failed"
