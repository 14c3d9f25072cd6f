"""The outcome of one call: what was said, stashed, set and decided, plus every effect."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from .effects import Effect

#: ``outcome`` values: ``hangup`` (a hangup tag or the end of the plan), ``transfer`` (bridged
#: and the call ended with the bridge), ``caller_hangup`` (the remote party hung up),
#: ``error`` (runtime limit or broken plan; ``error`` says why), ``running`` (not over yet).
OUTCOMES = ("hangup", "transfer", "caller_hangup", "error", "running")


@dataclass(slots=True)
class TraceEntry:
    """One line of a readable transcript: ``t`` seconds into the call, who, what."""

    t: float
    actor: str
    text: str


@dataclass(slots=True)
class CallResult:
    outcome: str = "running"
    error: str | None = None
    #: TTS text after substitution, or the audio reference (``url``, ``callfireid:<id>``)
    prompts: list[str] = field(default_factory=list)
    #: stash varname → value, in first-stash order (CallFire questionResponses)
    stash: dict[str, str] = field(default_factory=dict)
    #: user variables at the end of the call (setvar, record/get/post varname, presets)
    variables: dict[str, str] = field(default_factory=dict)
    #: the last transfer attempted: numbers, mode, callerid, outcome (None if none)
    transfer: dict[str, Any] | None = None
    effects: list[Effect] = field(default_factory=list)
    steps: int = 0
    #: branch outcomes taken, ``(node.index, label)`` (see ``dialplan.engine.session``)
    decisions: list[tuple[int, str]] = field(default_factory=list)
    duration_s: float = 0.0
    answered_by: str = "live"
    trace: list[TraceEntry] = field(default_factory=list)

    @property
    def responses(self) -> list[dict[str, str]]:
        """``[{"question": varname, "response": value}, …]`` in stash order."""
        return [{"question": q, "response": r} for q, r in self.stash.items()]

    def to_dict(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            "error": self.error,
            "answered_by": self.answered_by,
            "prompts": list(self.prompts),
            "responses": self.responses,
            "variables": dict(self.variables),
            "transfer": dict(self.transfer) if self.transfer is not None else None,
            "steps": self.steps,
            "duration_s": round(self.duration_s, 3),
            "decisions": [[index, label] for index, label in self.decisions],
            "effects": [effect_to_dict(e) for e in self.effects],
        }


def effect_to_dict(effect: Effect) -> dict[str, Any]:
    """``{"type": "Play", …fields}`` with tuples as lists."""
    out: dict[str, Any] = {"type": type(effect).__name__}
    for f in dataclasses.fields(effect):
        value = getattr(effect, f.name)
        if isinstance(value, tuple):
            value = list(value)
        elif isinstance(value, dict):
            value = dict(value)
        out[f.name] = value
    return out
