"""The language's vocabulary: every tag of spec §3, its attributes, and where it may stand.

This table is the single source for the model builder, the lint rules and the XSD's tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field

BOOLEAN = ("true", "false")
PLAY_TYPES = ("tts", "url", "callfireid")
VOICES = ("male1", "female1", "female2", "spanish1", "frenchcanadian1", "femaleSpanish")
TRANSFER_MODES = ("ringall", "waterfall")
CATCH_TYPES = ("hangup", "digit")
MUSIC_ON_HOLD = (
    "ringing", "default", "silence", "alternative", "blues", "celtic", "classical", "country",
    "instrumental", "jazz", "neopunk", "new_age", "pop", "rock", "swing", "techno",
)  # fmt: skip
MUSIC_ON_HOLD_ALIASES = {"silent": "silence", "newage": "new_age"}


@dataclass(frozen=True, slots=True)
class TagSpec:
    """What the spec says about one tag."""

    name: str
    #: attribute name → required?
    attrs: dict[str, bool] = field(default_factory=dict)
    #: container tags hold child tags; the others hold a text value
    container: bool = False
    #: text value must be non-empty (E013)
    value_required: bool = False
    #: tags it may only appear in (None = any container)
    parents: tuple[str, ...] | None = None
    #: containers it may not stand directly in (spec §3.2: no menu directly inside a menu)
    forbidden_parents: tuple[str, ...] = ()
    #: documented (False = SDK-only: W004)
    documented: bool = True
    #: needs the phone line: skipped once the caller hung up, inside a hangup catch (§2.5)
    needs_line: bool = False
    #: the front-end that writes the tag: "xml", or "yaml" for the Callr YAML front-end's own
    #: tags (no XML file may use them; ``dialplan convert`` refuses them)
    frontend: str = "xml"


def _t(name: str, attrs: dict[str, bool] | None = None, **kw: object) -> TagSpec:
    base = {"name": False}
    base.update(attrs or {})
    return TagSpec(name, base, **kw)  # type: ignore[arg-type]


TAGS: dict[str, TagSpec] = {
    t.name: t
    for t in (
        _t("dialplan", {"loggingEnabled": False}, container=True, parents=()),
        _t(
            "menu",
            {"timeout": False, "maxDigits": False},
            container=True,
            forbidden_parents=("menu",),
            needs_line=True,
        ),
        _t("keypress", {"pressed": True}, container=True, parents=("menu",)),
        _t(
            "play",
            {"type": True, "voice": False, "cache": False},
            value_required=True,
            needs_line=True,
        ),
        _t("goto", value_required=True),
        _t("hangup"),
        _t(
            "transfer",
            {
                "callerid": False,
                "musiconhold": False,
                "continue-after": False,
                "mode": False,
                "timeout": False,
                "whisper-tts": False,
                "calleridalpha": False,
                "screen": False,
            },
            value_required=True,
            needs_line=True,
        ),
        _t("amd", container=True),
        _t("live", container=True, parents=("amd",)),
        _t("machine", container=True, parents=("amd",)),
        _t("stash", {"varname": True}),
        _t("setvar", {"varname": True}),
        _t("if", {"expr": True}, container=True),
        _t("else", container=True, parents=("if",)),
        _t("equal", {"var": True, "expr": True}, container=True),
        _t("notEqual", {"var": True, "expr": True}, container=True),
        _t(
            "record",
            {"varname": False, "background": False, "timeout": False},
            needs_line=True,
        ),
        _t("get", {"varname": False}, value_required=True),
        _t("post", {"varname": False}, value_required=True),
        _t("sms", {"to": True}, value_required=True),
        _t("dnc", {"loggingEnabled": False}, value_required=True),
        _t("catch", {"type": True, "value": False, "goto": True}, container=True),
        _t("gotoXML", value_required=True, documented=False),
        _t("dtmf", documented=False, needs_line=True),
        _t("wait", documented=False, needs_line=True),
        _t(
            "analytics",
            {
                "account": False,
                "domain": False,
                "category": False,
                "action": False,
                "label": False,
                "value": False,
            },
            documented=False,
        ),
        _t("gtalk", {"username": False, "password": False, "to": False}, documented=False),
        _t("text", {"to": True}, value_required=True, documented=False),
        # the Callr YAML front-end's own tags (docs/callr-yaml.md); XML files cannot use them
        _t("script", {"varname": False}, value_required=True, frontend="yaml"),
        _t("runvars", frontend="yaml"),
        _t("log", value_required=True, frontend="yaml"),
        _t(
            "fetch",
            {"method": False, "varname": False, "headers": False, "body": False},
            value_required=True,
            frontend="yaml",
        ),
    )
}

#: Tags only the Callr YAML front-end writes.
YAML_ONLY_TAGS = frozenset(name for name, spec in TAGS.items() if spec.frontend == "yaml")

#: Documented camel-case spellings also accepted in lower case (spec §1).
CAMEL_TAGS = {"notequal": "notEqual", "gotoxml": "gotoXML"}
CAMEL_ATTRS = {"maxdigits": "maxDigits", "loggingenabled": "loggingEnabled"}

CONTAINERS = frozenset(name for name, spec in TAGS.items() if spec.container)
#: Tags whose children run as a plain block.
TEXT_TAGS = frozenset(name for name, spec in TAGS.items() if not spec.container)
#: Tags that need the phone line (spec §2.5): the engine skips them after the caller hung up,
#: lint W076 reports hangup catches that hold only these.
LINE_TAG_NAMES = frozenset(name for name, spec in TAGS.items() if spec.needs_line)
#: Tags that wait for the caller (break input-free cycles, W071/W073).
INPUT_TAGS = frozenset({"menu", "record", "transfer"})


def canonical_tag(raw: str) -> str:
    """The canonical spelling of a tag name (``notequal`` → ``notEqual``)."""
    return CAMEL_TAGS.get(raw, raw)


def canonical_attr(tag: str, raw: str) -> str:
    """The canonical spelling of an attribute of ``tag`` (``maxdigits`` → ``maxDigits``)."""
    spec = TAGS.get(tag)
    if spec is None or raw in spec.attrs:
        return raw
    lowered = raw.lower()
    for known in spec.attrs:
        if known.lower() == lowered:
            return known
    return raw
