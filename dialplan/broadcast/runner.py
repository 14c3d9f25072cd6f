"""The default :class:`~dialplan.broadcast.driver.CallRunner`: the engine's ``simulate``.

Calls are cached: two calls with the same AMD verdict, the same inputs and the same values of
every ``contact.*`` / ``call.*`` variable the dialplan mentions end the same way (the engine is
deterministic). A dialplan that reads the clock (``global.*``) or JavaScript ``Date`` is never
cached by time-free keys: the call's minute becomes part of the key.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from datetime import UTC, datetime
from typing import Any

from ..model import Plan
from .driver import CallSpec, CallSummary

_CONTACT = re.compile(r"contact\.([A-Za-z_][\w.-]*)")
_CALL = re.compile(r"call\.([A-Za-z_][\w.]*)")


class EngineRunner:
    """Runs answered calls through ``dialplan.simulate`` (with a bounded result cache)."""

    def __init__(self, plan: Plan, source_text: str, cache_size: int = 4096) -> None:
        self.plan = plan
        text = source_text
        self.contact_keys = tuple(sorted({m.lower() for m in _CONTACT.findall(text)}))
        # "contact" used in any other way (JS access, letters we cannot see) → whole row in key
        self.whole_contact = text.count("contact") > len(_CONTACT.findall(text))
        self.call_keys = tuple(sorted(set(_CALL.findall(text))))
        self.timed = "global." in text or "Date" in text
        self.cache: OrderedDict[tuple[Any, ...], CallSummary] = OrderedDict()
        self.cache_size = cache_size
        self.hits = 0
        self.misses = 0

    def _key(self, spec: CallSpec) -> tuple[Any, ...]:
        contact = {k.lower(): v for k, v in spec.contact.items()}
        if self.whole_contact:
            ckey: tuple[Any, ...] = tuple(sorted(contact.items()))
        else:
            ckey = tuple(contact.get(k, "") for k in self.contact_keys)
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
    from .. import simulate

    result = simulate(
        plan,
        amd=spec.amd,
        inputs=list(spec.inputs),
        contact=dict(spec.contact),
        variables=dict(spec.variables),
        now=datetime.fromtimestamp(spec.now, UTC),
    )
    return summarize(result)


def summarize(result: Any) -> CallSummary:
    """Turn the engine's ``CallResult`` into a :class:`CallSummary`."""
    data: dict[str, Any] = result.to_dict() if hasattr(result, "to_dict") else {}
    outcome = str(getattr(result, "outcome", data.get("outcome", "hangup")))
    duration = float(getattr(result, "duration_s", data.get("duration_s", 0.0)) or 0.0)
    responses = []
    for r in getattr(result, "responses", data.get("responses", ())) or ():
        if isinstance(r, dict):
            responses.append((str(r.get("question", "")), str(r.get("response", ""))))
        elif isinstance(r, tuple | list):
            responses.append((str(r[0]), str(r[1])))
        else:
            responses.append((str(r.question), str(r.response)))
    prompts = []
    for i, p in enumerate(getattr(result, "prompts", data.get("prompts", ())) or ()):
        if isinstance(p, str):
            prompts.append((f"prompt_{i + 1}", p))
        elif isinstance(p, dict):
            ref = p.get("name") or p.get("node") or f"prompt_{i + 1}"
            prompts.append((str(ref), str(p.get("text", p.get("value", "")))))
        else:
            ref = getattr(p, "name", None) or getattr(p, "node", None) or f"prompt_{i + 1}"
            prompts.append((str(ref), str(getattr(p, "text", getattr(p, "value", "")))))
    dnc = tuple(str(n) for n in (getattr(result, "dnc", None) or data.get("dnc", ()) or ()))
    return CallSummary(outcome, duration, tuple(responses), tuple(prompts), dnc)
