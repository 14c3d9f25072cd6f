"""``simulate()``: one call through the engine with the simulated driver (``dialplan.simulate``)."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from ..engine.context import (
    JS_BUDGET_S,
    MAX_DURATION_S,
    MAX_STEPS,
    MAX_VALUE_LENGTH,
    MAX_VALUES_LENGTH,
    VIRTUAL_EVAL_COST_S,
    CallContext,
)
from ..engine.result import CallResult
from ..engine.session import CallSession
from ..errors import UsageError
from ..model import Plan
from .sim import Responder, Script, SimDriver, check_input, make_responder

#: Fictional North American numbers (555-01xx) used when the caller does not give any.
DEFAULT_CALLERID = "15555550100"
DEFAULT_PHONENUMBER = "15555550123"
#: The virtual clock starts here unless ``now`` is given (a Monday afternoon, UTC).
DEFAULT_NOW = datetime(2026, 1, 5, 15, 30, 0, tzinfo=UTC)

TRANSFER_OUTCOMES = ("answered", "no_answer", "busy", "failed")


DEFAULT_EPOCH = DEFAULT_NOW.timestamp()


def to_epoch(now: datetime | float | str | None) -> float:
    """``now`` as seconds since the epoch (naive datetimes and ISO strings are UTC)."""
    if now is None:
        return DEFAULT_EPOCH
    if isinstance(now, int | float):
        return float(now)
    if isinstance(now, str):
        try:
            now = datetime.fromisoformat(now.replace("Z", "+00:00"))
        except ValueError:
            raise UsageError(f"bad time {now!r}: use ISO 8601, e.g. 2026-01-05T15:30:00Z") from None
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    return now.timestamp()


def simulate(
    plan: Plan,
    *,
    amd: str = "live",
    inputs: Sequence[str] = (),
    transfer: str | Sequence[str] = "answered",
    variables: Mapping[str, str] | None = None,
    contact: Mapping[str, str] | None = None,
    callerid: str = DEFAULT_CALLERID,
    phonenumber: str = DEFAULT_PHONENUMBER,
    dnis: str = "",
    call_id: str = "sim-1",
    now: datetime | float | str | None = None,
    http: Responder | Mapping[str, str] | None = None,
    max_steps: int = MAX_STEPS,
    max_duration_s: float = MAX_DURATION_S,
    js_budget_s: float = JS_BUDGET_S,
    max_value_length: int = MAX_VALUE_LENGTH,
    max_values_length: int = MAX_VALUES_LENGTH,
    seed: int = 0,
    trace: bool = False,
) -> CallResult:
    """Play one call: ``amd`` verdict, caller ``inputs`` (keys, ``timeout``, ``hangup``; the
    caller stays silent when they run out), ``transfer`` outcome(s), preset ``variables``,
    ``contact`` fields/columns, and ``http`` answers (None: every request fails).

    Per-call limits (spec §2.6, §5.4): ``max_steps``, ``max_duration_s`` of virtual time,
    ``js_budget_s`` of JavaScript (also counted as one millisecond per evaluation, so the
    result does not depend on the machine's speed), ``max_value_length`` of one value and
    ``max_values_length`` of all values, in characters.

    Inside expressions ``Date`` reads the virtual clock and ``Math.random`` is seeded with
    ``seed``: the same arguments always give the same result.

    Returns the :class:`CallResult` (outcome, prompts, responses, variables, transfer,
    effects, steps, decisions, duration_s of virtual time)."""
    if amd not in ("live", "machine"):
        raise UsageError(f"bad amd result {amd!r}: use live or machine")
    outcomes = [transfer] if isinstance(transfer, str) else list(transfer)
    for outcome in outcomes:
        if outcome not in TRANSFER_OUTCOMES:
            raise UsageError(
                f"bad transfer outcome {outcome!r}: use one of {', '.join(TRANSFER_OUTCOMES)}"
            )
    script_inputs = []
    for item in inputs:  # keys are the usual items: checked inline
        if type(item) is not str or not (item.isdigit() and item.isascii()):
            item = check_input(str(item))
        script_inputs.append(item)
    # a call without contact or variables shares its (never changed) context with every
    # call of the same arguments: creating one costs more than a whole short call's step
    key: tuple[object, ...] = (callerid, phonenumber, dnis, call_id, max_steps, max_duration_s)
    key += (js_budget_s, max_value_length, max_values_length, seed, trace)
    context = None if contact or variables else _contexts.get(key)
    if context is None:
        context = CallContext(
            callerid=callerid,
            phonenumber=phonenumber,
            dnis=dnis,
            call_id=call_id,
            contact=contact or {},
            variables={str(k): str(v) for k, v in variables.items()} if variables else {},
            max_steps=max_steps,
            max_duration_s=max_duration_s,
            js_budget_s=js_budget_s,
            js_clock=time.thread_time,
            js_eval_cost_s=VIRTUAL_EVAL_COST_S,
            max_value_length=max_value_length,
            max_values_length=max_values_length,
            seed=seed,
            plan_loader=_load_plan,
            trace=trace,
        )
        if not (contact or variables) and len(_contexts) < _CONTEXTS_SIZE:
            _contexts[key] = context
    session = CallSession(plan, context)
    script = Script(amd, script_inputs, outcomes, make_responder(http))
    return SimDriver(session, script, to_epoch(now), trace=trace).run()


#: shared contexts of calls without contact or variables (by the other arguments)
_contexts: dict[tuple[object, ...], CallContext] = {}
_CONTEXTS_SIZE = 256


def _load_plan(text: str) -> Plan:
    from ..validate import validate

    return validate(text)
