"""The default :class:`~dialplan.broadcast.telephony.simulated.CallRunner`: the engine's ``simulate``.

Calls are cached: two calls with the same AMD verdict, the same inputs and the same values of
every ``contact.*`` / ``call.*`` variable the dialplan mentions end the same way (the engine is
deterministic). A dialplan that reads the clock (``global.*``) or JavaScript ``Date`` is never
cached by time-free keys: the call's minute becomes part of the key.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from typing import Any

from ...model import Plan
from .port import CallSpec, CallSummary

_CONTACT = re.compile(r"contact\.([A-Za-z_][\w.-]*)")
_CALL = re.compile(r"call\.([A-Za-z_][\w.]*)")


class EngineRunner:
    """Runs answered calls through ``dialplan.simulate`` (with a bounded result cache)."""

    def __init__(self, plan: Plan, source_text: str, cache_size: int = 4096) -> None:
        self.plan = plan
        text = source_text
        self.contact_keys = tuple(sorted(set(_CONTACT.findall(text))))
        # "contact" used in any other way (JS access, letters we cannot see) → whole row in key
        self.whole_contact = text.count("contact") > len(_CONTACT.findall(text))
        self.call_keys = tuple(sorted(set(_CALL.findall(text))))
        self.timed = "global." in text or "Date" in text
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
        vkey = tuple(spec.variables.get(f"call.{k}", "") for k in self.call_keys)
        tkey = int(spec.now // 60) if self.timed else 0
        return (spec.amd, spec.inputs, ckey, vkey, tkey)

    def __call__(self, spec: CallSpec) -> CallSummary:
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
    )
    return summarize(result)


def summarize(result: Any) -> CallSummary:
    """Turn the engine's ``CallResult`` into a :class:`CallSummary`."""
    outcome = str(result.outcome)
    responses = tuple((str(r["question"]), str(r["response"])) for r in result.responses)
    refs = []
    dnc = []
    for effect in result.effects:
        kind = type(effect).__name__
        if kind == "Play":
            refs.append(effect.node or f"prompt_{len(refs) + 1}")
        elif kind == "AddToDnc":
            dnc.append(str(effect.number))
    prompts = tuple(
        (refs[i] if i < len(refs) else f"prompt_{i + 1}", str(text))
        for i, text in enumerate(result.prompts)
    )
    return CallSummary(outcome, float(result.duration_s), responses, prompts, tuple(dnc))
