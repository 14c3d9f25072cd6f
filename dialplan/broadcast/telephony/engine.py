"""The default :class:`~dialplan.broadcast.telephony.simulated.CallRunner`: the engine's ``simulate``.

Calls are cached: two calls with the same AMD verdict, the same inputs and the same values of
every ``contact.*`` / ``call.*`` variable the dialplan references end the same way (the engine
is deterministic). What a plan references comes from its model
(:func:`dialplan.engine.inputs.plan_inputs`). A plan that reads the clock (``global.*``,
JavaScript ``Date``) is cached by its exact start time; a plan whose JavaScript draws random
numbers (``Math.random``, seeded per recipient and attempt) is never cached.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from ...engine import effects as fx
from ...engine.inputs import plan_inputs
from ...engine.result import CallResult
from ...model import Plan
from .port import CallSpec, CallSummary


class EngineRunner:
    """Runs answered calls through ``dialplan.simulate`` (with a bounded result cache)."""

    def __init__(self, plan: Plan, cache_size: int = 4096) -> None:
        self.plan = plan
        inputs = plan_inputs(plan)
        self.contact_keys = inputs.contact_keys
        self.whole_contact = inputs.whole_contact
        self.call_keys = inputs.call_keys
        self.all_call = inputs.all_call
        self.timed = inputs.clock
        self.cacheable = not inputs.random
        #: the per-call seed can change the result only when the plan draws random numbers
        #: (what makes it uncacheable); otherwise the driver need not compute it
        self.needs_seed = not self.cacheable
        self.cache: OrderedDict[tuple[Any, ...], CallSummary] = OrderedDict()
        self.cache_size = cache_size
        self.hits = 0
        self.misses = 0

    def _key(self, spec: CallSpec) -> tuple[Any, ...]:
        contact = spec.contact
        if self.whole_contact:
            ckey: tuple[Any, ...] = tuple(sorted(contact.items()))
        else:
            # letters are case-insensitive (contact.a is column A)
            values = []
            for k in self.contact_keys:
                v = contact.get(k)
                if v is None:
                    v = contact.get(k.upper(), "")
                values.append(v)
            ckey = tuple(values)
        if self.all_call:
            vkey: tuple[Any, ...] = tuple(sorted(spec.variables.items()))
        else:
            vkey = tuple(spec.variables.get(f"call.{k}", "") for k in self.call_keys)
        tkey = spec.now if self.timed else 0
        return (spec.amd, spec.inputs, ckey, vkey, tkey)

    def __call__(self, spec: CallSpec) -> CallSummary:
        if not self.cacheable:
            self.misses += 1
            return run_engine(self.plan, spec)
        key = self._key(spec)
        hit = self.cache.get(key)
        if hit is not None:
            self.hits += 1
            self.cache.move_to_end(key)
            return hit
        self.misses += 1
        summary = run_engine(self.plan, spec)
        self.cache[key] = summary
        if len(self.cache) > self.cache_size:
            self.cache.popitem(last=False)
        return summary


def run_engine(plan: Plan, spec: CallSpec) -> CallSummary:
    """One call through ``dialplan.simulate``, summarised."""
    from ... import simulate

    result = simulate(
        plan,
        amd=spec.amd,
        inputs=list(spec.inputs),
        contact=dict(spec.contact),
        phonenumber=spec.variables.get("call.phonenumber", "").lstrip("+"),
        callerid=spec.variables.get("call.callerid", "").lstrip("+"),
        now=spec.now,
        seed=spec.seed,
    )
    return summarize(result)


def summarize(result: CallResult) -> CallSummary:
    """Turn the engine's ``CallResult`` into a :class:`CallSummary`."""
    responses = tuple((str(r["question"]), str(r["response"])) for r in result.responses)
    refs: list[str] = []
    dnc: list[str] = []
    for effect in result.effects:
        if isinstance(effect, fx.Play):
            refs.append(effect.node or f"prompt_{len(refs) + 1}")
        elif isinstance(effect, fx.AddToDnc):
            dnc.append(effect.number)
    prompts = tuple(
        (refs[i] if i < len(refs) else f"prompt_{i + 1}", text)
        for i, text in enumerate(result.prompts)
    )
    return CallSummary(result.outcome, result.duration_s, responses, prompts, tuple(dnc))
