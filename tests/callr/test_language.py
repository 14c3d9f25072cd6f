"""``say@v2`` speaks the scenario's language (``defaults.language``, or the action's own
``language``): the TTS prompt gets the CallFire voice for it; an explicit ``voice`` wins."""

from __future__ import annotations

from pathlib import Path

import dialplan

SCENARIO = """dialplan: yaml
defaults:
  language: es-ES
branches:
  inbound-call:
    actions:
      - action: say@v2
        params:
          what: Hola
      - action: say@v2
        params:
          what: Bonjour
          language: fr-CA
      - action: say@v2
        params:
          what: Hello
          voice: female1
      - action: say@v2
        params:
          what: Hallo
          language: de-DE
"""


def test_say_uses_the_voice_of_its_language(tmp_path: Path) -> None:
    path = tmp_path / "languages.yaml"
    path.write_text(SCENARIO, encoding="utf-8")
    result = dialplan.simulate(dialplan.load(str(path)))
    plays = [
        (e["value"], e.get("voice")) for e in result.to_dict()["effects"] if e["type"] == "Play"
    ]
    assert plays == [
        ("Hola", "spanish1"),
        ("Bonjour", "frenchcanadian1"),
        ("Hello", "female1"),
        ("Hallo", None),  # no German voice: the default one
    ]
