"""Text auto-replies (CallFire's ``TextAutoReply``): which one answers an inbound text, and what it
says. Pure: the rules come from whoever stores them (the service's database), the reply goes
through the campaign's messaging port (:class:`~dialplan.broadcast.telephony.texts.TextCampaignDriver`).

A rule applies to an inbound text when all it names holds:

- ``number``: the text was sent to that number (a long code in E.164, or a short code); without
  one, to the number of the broadcast that received it;
- ``keyword``: the text's first word, in any case, trailing punctuation ignored (``Hours?``
  is the keyword ``HOURS``);
- ``match``: a case-insensitive regular expression found anywhere in the text, in RE2's syntax
  (no backreferences or lookarounds: RE2 runs in time linear in the text, whatever the pattern,
  so a pattern an account stored can never stall a run), at most :data:`MAX_MATCH` characters;
  empty or absent matches every text (``.*`` too).

Opt-out, opt-in and help keywords (:mod:`.keywords`) come first and never get an auto-reply,
and a rule cannot have one as its keyword. When several rules apply, the most specific wins:
one naming the number before one that does not, one with a keyword before one without, then
the oldest. The reply's ``message`` may name ``${text.message}`` (the inbound text),
``${text.fromNumber}`` (who sent it) and ``${text.toNumber}`` (the number it was sent to),
substituted once (what the sender wrote is never expanded again).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol

import re2  # type: ignore[import-untyped]

from .keywords import HELP_WORDS, START_WORDS, STOP_WORDS, keyword
from .port import InboundText

#: longest ``match`` pattern (characters) and ``keyword``
MAX_MATCH = 200
MAX_KEYWORD = 64
#: the keywords of :mod:`.keywords`, which keep priority over every auto-reply
RESERVED = STOP_WORDS | START_WORDS | HELP_WORDS
_PUNCTUATION = ".,!?;:"
_REFERENCE = re.compile(r"\$\{([^}]*)\}")


class MatchError(ValueError):
    """A ``match`` pattern RE2 does not take (or one too long)."""


@dataclass(frozen=True, slots=True)
class AutoReply:
    """One stored rule (``None``: not given)."""

    id: int
    message: str
    number: str | None = None
    keyword: str | None = None
    match: str | None = None


class AutoReplies(Protocol):
    """An account's auto-replies, as one run sees them."""

    def rules(self) -> Sequence[AutoReply]:
        """The account's rules now (a rule deleted a moment ago no longer answers)."""
        ...

    def sent(self, rule: AutoReply, inbound: InboundText, text: str, result: str) -> None:
        """Book the reply ``text`` to ``inbound`` (``result``: how its submission went)."""
        ...


def first_word(text: str) -> str:
    """The keyword a text starts with: its first word, upper case, trailing punctuation off."""
    words = text.split(maxsplit=1)
    return words[0].rstrip(_PUNCTUATION).upper() if words else ""


@lru_cache(maxsize=1024)
def compile_match(pattern: str) -> Any:
    """``pattern`` compiled by RE2, case-insensitive; :class:`MatchError` if it cannot be."""
    if len(pattern) > MAX_MATCH:
        raise MatchError(f"at most {MAX_MATCH} characters")
    options = re2.Options()
    options.case_sensitive = False
    options.log_errors = False
    options.never_capture = True
    options.max_mem = 1 << 20
    try:
        return re2.compile(pattern, options)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else exc
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        raise MatchError(f"not a pattern RE2 takes ({reason})") from None


def applies(rule: AutoReply, inbound: InboundText, own_number: str) -> bool:
    """Whether ``rule`` answers ``inbound`` received by a broadcast sending from ``own_number``."""
    if inbound.to != (rule.number or own_number):
        return False
    if rule.keyword and first_word(inbound.text) != first_word(rule.keyword):
        return False
    if rule.match:
        try:
            return compile_match(rule.match).search(inbound.text) is not None
        except MatchError:  # stored before a stricter check: it matches nothing
            return False
    return True


def choose(rules: Iterable[AutoReply], inbound: InboundText, own_number: str) -> AutoReply | None:
    """The rule that answers ``inbound`` (see the module docstring), if any."""
    if keyword(inbound.text) is not None:  # STOP, START, HELP: theirs alone
        return None
    fitting = [r for r in rules if applies(r, inbound, own_number)]
    if not fitting:
        return None
    return min(fitting, key=lambda r: (r.number is None, not r.keyword, r.id))


def reply_text(rule: AutoReply, inbound: InboundText) -> str:
    """The rule's message for ``inbound``: ``${text.message}``, ``${text.fromNumber}`` and
    ``${text.toNumber}`` substituted once; other references are left out."""
    values = {
        "text.message": inbound.text,
        "text.fromnumber": inbound.from_number,
        "text.tonumber": inbound.to,
    }
    return _REFERENCE.sub(lambda m: values.get(m.group(1).strip().lower(), ""), rule.message)
