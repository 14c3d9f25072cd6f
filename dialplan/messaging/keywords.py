"""Keywords in mobile-originated texts (CTIA / carrier rules): opt out, opt in, help. Pure.

A keyword is the whole message: one word, in any case, with surrounding blanks ignored —
``stop`` and ``  Stop `` are keywords, ``STOP please`` and ``stop.`` are not. A STOP word puts
the sender on the do-not-text list of the number it texted, START/UNSTOP take it off again,
HELP gets the campaign's help reply. Each opt-out and opt-in is confirmed once: a second STOP
from a number already on the list gets no second confirmation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

Keyword = Literal["stop", "start", "help"]

STOP_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
START_WORDS = frozenset({"START", "UNSTOP"})
HELP_WORDS = frozenset({"HELP"})


def keyword(text: str) -> Keyword | None:
    """The keyword ``text`` is, if it is exactly one."""
    word = text.strip().upper()
    if word in STOP_WORDS:
        return "stop"
    if word in START_WORDS:
        return "start"
    if word in HELP_WORDS:
        return "help"
    return None


class OptOuts(Protocol):
    """The do-not-text lists, one per sending number."""

    def opt_out(self, from_number: str, number: str, at: float) -> bool:
        """Put ``number`` on the list of ``from_number``; ``True`` if it was not on it."""
        ...

    def opt_in(self, from_number: str, number: str) -> bool:
        """Take ``number`` off the list of ``from_number``; ``True`` if it was on it."""
        ...


@dataclass(frozen=True, slots=True)
class Handled:
    keyword: Keyword | None
    #: the reply to send back (``None``: nothing to say)
    reply: str | None
    #: the sender was newly opted out (the campaign must not text it any more)
    opted_out: bool = False


def handle(
    optouts: OptOuts,
    sender: str,
    our_number: str,
    text: str,
    at: float,
    *,
    help_reply: str,
    stop_reply: str,
    start_reply: str,
) -> Handled:
    """Apply one inbound text to the lists and say what to reply."""
    kind = keyword(text)
    if kind == "stop":
        new = optouts.opt_out(our_number, sender, at)
        return Handled(kind, stop_reply if new else None, new)
    if kind == "start":
        was = optouts.opt_in(our_number, sender)
        return Handled(kind, start_reply if was else None)
    if kind == "help":
        return Handled(kind, help_reply)
    return Handled(None, None)
