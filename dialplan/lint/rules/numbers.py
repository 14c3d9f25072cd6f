"""Phone numbers (spec §6.5, E050–W053): `transfer` targets, `dnc`, `sms@to`, `transfer@callerid`.

A number is checked after dropping separators: 10 digits, or 11 starting with 1, is a North
American (NANP) number as the CallFire API expects ("E.164 11 digit"); other 7–15 digit numbers
are judged by the ``phonenumbers`` library: a valid number of another country is only a warning.
``${…}`` references cannot be checked before the call and are reported as information.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterator
from functools import lru_cache
from typing import NamedTuple

from ...diagnostics import Location
from ...expr.variables import ref_end
from ...model import Node
from ..context import LintContext
from ..index import tagged
from ..positions import text_position
from ..registry import Problem, rule

_SEPARATORS = frozenset(" \t\r\n-.()")
_DIGITS = frozenset("0123456789")  # ASCII only: str.isdigit() also accepts "３" and "²"
_MAX_SPLIT = 1000  # items per value considered (a transfer lists a handful)


class Verdict(enum.Enum):
    NANP = "nanp"
    INTERNATIONAL = "international"
    VARIABLE = "variable"
    PARTLY_VARIABLE = "partly-variable"
    INVALID = "invalid"


class Item(NamedTuple):
    """One phone number of a value, with its offset in the value's text."""

    text: str
    offset: int
    verdict: Verdict
    reason: str = ""


class Site(NamedTuple):
    """A value that holds phone numbers: ``attr`` None means the element's text."""

    node: Node
    attr: str | None
    value: str
    items: tuple[Item, ...]


def split_items(text: str) -> list[tuple[str, int]]:
    """Comma-separated items with their offsets; commas inside ``${…}`` do not split."""
    items: list[tuple[str, int]] = []
    start = 0
    i = 0
    n = len(text)
    while i < n and len(items) < _MAX_SPLIT:
        if text.startswith("${", i):
            i = ref_end(text, i)
        elif text[i] == ",":
            items.append((text[start:i], start))
            i += 1
            start = i
        else:
            i += 1
    items.append((text[start:], start))
    return items


def _strip_refs(text: str) -> tuple[str, int]:
    """The text with every ``${…}`` removed, and how many references there were."""
    out: list[str] = []
    refs = 0
    i = 0
    n = len(text)
    while i < n:
        if text.startswith("${", i):
            i = ref_end(text, i)
            refs += 1
        else:
            out.append(text[i])
            i += 1
    return "".join(out), refs


@lru_cache(maxsize=4096)
def _international(digits: str) -> tuple[bool, str]:
    """Whether ``+digits`` is a valid number outside NANP, and its region (via phonenumbers)."""
    import phonenumbers  # imported on first use: most dialplans only hold NANP numbers

    try:
        number = phonenumbers.parse("+" + digits, None)
    except phonenumbers.NumberParseException:
        return False, ""
    if number.country_code == 1 or not phonenumbers.is_valid_number(number):
        return False, ""
    return True, phonenumbers.region_code_for_number(number) or f"+{number.country_code}"


def classify(item: str) -> tuple[Verdict, str]:
    """Judge one phone-number item (already split at commas). The reason explains a verdict."""
    text = item.strip()
    if not text:
        return Verdict.INVALID, "empty item"
    main, ext = text, ""
    cut = _extension_at(text)
    if cut is not None:
        main, ext = text[:cut], text[cut + 1 :]
        ext_plain, ext_refs = _strip_refs(ext)
        if not ext_plain.strip() and not ext_refs:
            return Verdict.INVALID, "the extension after 'x' is empty"
        if ext_plain.strip() and not set(ext_plain.strip()) <= _DIGITS:
            return Verdict.INVALID, f"the extension '{ext}' is not digits or a variable"
    plain, refs = _strip_refs(main)
    if refs and not plain.strip():
        return Verdict.VARIABLE, ""
    body = plain.strip()
    plus = body.startswith("+")
    if plus:
        body = body[1:]
    bad = sorted({c for c in body if c not in _DIGITS and c not in _SEPARATORS})
    if bad:
        return Verdict.INVALID, "it contains " + ", ".join(repr(c) for c in bad)
    digits = "".join(c for c in body if c in _DIGITS)
    if refs:
        if len(digits) > 15:
            return Verdict.INVALID, f"it has {len(digits)} digits besides its variable"
        return Verdict.PARTLY_VARIABLE, ""
    if (len(digits) == 10 and not plus) or (len(digits) == 11 and digits.startswith("1")):
        return Verdict.NANP, ""
    # from North America other countries are dialled as 011 + country code + number
    international = digits[3:] if not plus and digits.startswith("011") else digits
    if 7 <= len(international) <= 15:
        ok, region = _international(international)
        if ok:
            return Verdict.INTERNATIONAL, region
    if len(digits) == 11 and not digits.startswith("1"):
        return Verdict.INVALID, "11 digits not starting with 1 and not a valid international number"
    return (
        Verdict.INVALID,
        f"{len(digits)} digits; expected 10, or 11 starting with 1, or a valid international number",
    )


def _extension_at(text: str) -> int | None:
    """Index of the extension marker ``x`` (outside ``${…}``), if any."""
    i = 0
    n = len(text)
    while i < n:
        if text.startswith("${", i):
            i = ref_end(text, i)
            continue
        if text[i] in "xX":
            return i
        i += 1
    return None


def _site(node: Node, attr: str | None, value: str, split: bool) -> Site:
    pieces = split_items(value) if split else [(value, 0)]
    items = []
    for piece, offset in pieces:
        lead = len(piece) - len(piece.lstrip())
        verdict, reason = classify(piece)
        items.append(Item(piece.strip(), offset + lead, verdict, reason))
    return Site(node, attr, value, tuple(items))


def _sites(ctx: LintContext) -> list[Site]:
    def compute() -> list[Site]:
        sites: list[Site] = []
        for node in tagged(ctx, "transfer", "dnc"):
            if node.text:
                sites.append(_site(node, None, node.text, split=node.tag == "transfer"))
        for node in tagged(ctx, "sms", "text"):
            to = node.attrs.get("to")
            if to is not None and to.strip():
                sites.append(_site(node, "to", to, split=False))
        return sites

    return ctx.cached("numbers.sites", compute)


def _where(ctx: LintContext, site: Site, item: Item) -> Location:
    if site.attr is None:
        return text_position(ctx.doc, site.node, item.offset)
    return site.node.attr_loc(site.attr)


def _what(site: Site) -> str:
    if site.attr is None:
        return site.node.label
    return f"{site.node.label}@{site.node.raw_attrs.get(site.attr, site.attr)}"


@rule("E050", "invalid-phone-number")
def invalid_phone_number(ctx: LintContext) -> Iterator[Problem]:
    """A phone number in `transfer`, `dnc` or `sms@to` cannot be dialled.

    After dropping separators (space, `-`, `.`, `(`, `)`, a leading `+`) each comma-separated
    item must be 10 digits, or 11 starting with 1 (the API's "E.164 11 digit" form), optionally
    followed by an extension `x` + digits or a variable (`2135551212x${call.lastinput}`).
    Other lengths are accepted only when they are a valid international number (W051). An
    empty item (`a,,b`) is an error too. The call would fail at the moment of the transfer.

    Failing:

        <transfer>213555121</transfer>
        <transfer>2135551212,,3105551212</transfer>

    Passing:

        <transfer>(213) 555-1212, 1-310-555-1212x25</transfer>
    """
    for site in _sites(ctx):
        for item in site.items:
            if item.verdict is Verdict.INVALID:
                shown = f'"{item.text}"' if item.text else "(empty)"
                yield Problem(
                    f"invalid phone number {shown} in {_what(site)}: {item.reason}",
                    _where(ctx, site, item),
                )


@rule("W051", "international-phone-number")
def international_phone_number(ctx: LintContext) -> Iterator[Problem]:
    """A phone number is a valid number outside North America (NANP).

    CallFire's API documents 10/11-digit North American numbers; a number of another country
    (recognised with the `phonenumbers` library, e.g. `+44 20 7946 0958` or `011 44 20 7946 0958`) may not be dialable
    from the account, or may cost more. Check it is intended.

    Failing:

        <transfer>+44 20 7946 0958</transfer>

    Passing:

        <transfer>+1 213 555 1212</transfer>
    """
    for site in _sites(ctx):
        for item in site.items:
            if item.verdict is Verdict.INTERNATIONAL:
                yield Problem(
                    f'"{item.text}" in {_what(site)} is an international number '
                    f"({item.reason}), not a North American one",
                    _where(ctx, site, item),
                )


@rule("I052", "phone-number-is-variable")
def variable_phone_number(ctx: LintContext) -> Iterator[Problem]:
    """A phone number comes from a variable, so it can only be checked during the call.

    `${contact.D}` or `${call.phonenumber}` is filled in at run time; if the value is not a
    number the transfer, DNC entry or text message fails then. Nothing to fix; it is a note.

    Failing (reported):

        <transfer>${contact.D}</transfer>

    Passing (not reported):

        <transfer>2135551212</transfer>
    """
    for site in _sites(ctx):
        for item in site.items:
            if item.verdict is Verdict.VARIABLE:
                yield Problem(
                    f'"{item.text}" in {_what(site)} is a variable: the number cannot be '
                    "checked before the call",
                    _where(ctx, site, item),
                )
            elif item.verdict is Verdict.PARTLY_VARIABLE:
                yield Problem(
                    f'"{item.text}" in {_what(site)} is partly a variable: the number cannot '
                    "be checked before the call",
                    _where(ctx, site, item),
                )


@rule("W053", "suspicious-caller-id")
def suspicious_caller_id(ctx: LintContext) -> Iterator[Problem]:
    """`transfer@callerid` is neither a variable nor a 10/11-digit number.

    The caller ID shown to the called party should be a real number (`${call.callerid}` by
    default). The documentation's own example writes `callerid="1234"`, so this is a warning:
    carriers may reject or replace a short or malformed caller ID.

    Failing:

        <transfer callerid="1234">2135551212</transfer>

    Passing:

        <transfer callerid="${call.callerid}">2135551212</transfer>
        <transfer callerid="8185551212">2135551212</transfer>
    """
    for node in tagged(ctx, "transfer"):
        raw = node.attrs.get("callerid")
        if raw is None or not raw.strip() or "${" in raw:
            continue
        if re.match(r"\s*\$(?:call|contact|global)\.", raw):
            continue  # a reference without braces: W069 names the cause
        verdict, _ = classify(raw)
        if verdict is not Verdict.NANP or _extension_at(raw) is not None:
            yield Problem(
                f'{node.raw_attrs.get("callerid", "callerid")}="{raw.strip()}" is neither a '
                "variable nor a 10/11-digit number",
                node.attr_loc("callerid"),
            )
