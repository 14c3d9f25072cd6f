"""The typed model of a dialplan: nodes, patterns, the tag table and the name index."""

from .build import build_nodes
from .nodes import (
    Amd,
    Catch,
    Dialplan,
    Dnc,
    Dtmf,
    Else,
    Equal,
    Fetch,
    Goto,
    GotoXML,
    Hangup,
    Http,
    If,
    Keypress,
    Live,
    LogLine,
    Machine,
    Menu,
    Node,
    Play,
    Record,
    RunVars,
    Script,
    Setvar,
    Sms,
    Stash,
    Transfer,
    Unknown,
    Wait,
)
from .patterns import Pattern, PatternKind, parse_duration_ms, parse_pattern
from .plan import InputPhase, Plan, build_plan

__all__ = [
    "Amd", "Catch", "Dialplan", "Dnc", "Dtmf", "Else", "Equal", "Fetch", "Goto", "GotoXML", "Hangup",
    "Http", "If", "InputPhase", "Keypress", "Live", "LogLine", "Machine", "Menu", "Node", "Pattern", "PatternKind", "Plan",
    "Play", "Record", "RunVars", "Script", "Setvar", "Sms", "Stash", "Transfer", "Unknown", "Wait", "build_nodes",
    "build_plan", "parse_duration_ms", "parse_pattern",
]  # fmt: skip
