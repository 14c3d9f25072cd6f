"""What a call knows before it starts: caller data, contact row, preset variables and limits."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..model import Plan

#: Spec §2.6: executed tags per call before the call ends with an error.
MAX_STEPS = 10_000
#: Spec §2.6: longest call (seconds of the driver's clock) before it ends with an error.
MAX_DURATION_S = 4 * 3600.0
#: Spec §5.4 (2026-12): total JavaScript time of one call.
JS_BUDGET_S = 1.0
#: Spec §5.4 (2026-12): longest value of one variable (or stash answer, or rendered text).
MAX_VALUE_LENGTH = 64 * 1024
#: Spec §5.4 (2026-12): all variables and stash answers of one call together.
MAX_VALUES_LENGTH = 1024 * 1024
#: Virtual time: what one JavaScript evaluation counts against ``js_budget_s`` (so the budget
#: is 1,000 evaluations by default, whatever the machine's speed).
VIRTUAL_EVAL_COST_S = 0.001


@dataclass(slots=True)
class CallContext:
    """Runtime inputs of one call (spec §4.2: "the clock, caller data and contact row are
    runtime inputs"). ``contact`` keys: reserved field names as written (``firstName``) or
    column letters ``A``–``ZZ`` (any case). ``variables`` preset user variables.
    ``plan_loader`` turns a fetched ``<gotoXML>`` document into a plan (None: gotoXML is
    skipped with a warning)."""

    callerid: str = ""
    callerid_alpha: str = ""
    #: the caller's number as the network identifies it (ANI; inbound calls); "" = callerid
    ani: str = ""
    phonenumber: str = ""
    dnis: str = ""
    call_id: str = "call-1"
    contact: Mapping[str, str] = field(default_factory=dict)
    variables: Mapping[str, str] = field(default_factory=dict)
    max_steps: int = MAX_STEPS
    max_duration_s: float = MAX_DURATION_S
    js_time_limit_s: float = 0.05
    js_memory_limit: int = 16 * 1024 * 1024
    #: total JavaScript time of the call (spec §5.4), measured with ``js_clock`` and, in
    #: virtual time, counted as ``js_eval_cost_s`` per evaluation
    js_budget_s: float = JS_BUDGET_S
    #: the driver's clock for JavaScript time (e.g. ``time.thread_time``); None: not measured
    js_clock: Callable[[], float] | None = None
    #: virtual time: the budget charged per JavaScript evaluation (None: real time only)
    js_eval_cost_s: float | None = None
    max_value_length: int = MAX_VALUE_LENGTH
    max_values_length: int = MAX_VALUES_LENGTH
    #: seeds JavaScript's ``Math.random`` for this call (None: QuickJS's own generator);
    #: simulations always give one, so the same seed gives the same call
    seed: int | None = None
    recording_base: str = "recording://"
    plan_loader: Callable[[str], Plan] | None = None
    #: keep a human-readable trace of jumps and branches in ``CallResult.trace``
    trace: bool = False

    # Not frozen only because frozen dataclasses are slow to create (one per simulated call);
    # the session never changes it.


def normalise_contact(contact: Mapping[str, str]) -> dict[str, str]:
    """Column letters (one or two letters) are case-insensitive: store them upper-case."""
    out: dict[str, str] = {}
    for key, value in contact.items():
        k = key.strip()
        if 1 <= len(k) <= 2 and k.isalpha() and k.isascii():
            k = k.upper()
        out[k] = str(value)
    return out
