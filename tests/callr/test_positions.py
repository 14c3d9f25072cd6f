"""Every finding on a Callr scenario points at the right line and column of the YAML."""

from __future__ import annotations

import dialplan

SCENARIO = """\
variables:
  $tries: 3
  bad: 1
branches:
  inbound-call:
    actions:
      - label: start
        action: say@v3
      - action: gather@v2
        params:
          maxDigits: two
          prompt:
            what: Press 1.
          result: $key
      - action: voicebot@v1
      - if: $key.input == '1'
        then:
          - goto:
              label: nowhere
      - goto:
          branch: missing
      - action: log@v1
      - action: say@v2
        params:
          what: Bye
          colour: blue
      - action: hangup@v1
"""


def test_every_finding_points_into_the_yaml() -> None:
    found = [(d.code, d.line, d.column) for d in dialplan.lint(SCENARIO.encode(), "s.yaml")]
    assert found == [
        ("E02D", 3, 3),  # the variable name
        ("E00A", 8, 17),  # the action's name
        ("E02D", 11, 22),  # the parameter's value
        ("E00B", 15, 17),
        ("E031", 19, 22),  # the label the goto names
        ("E034", 21, 19),
        ("E02C", 22, 9),  # the action item
        ("E02D", 26, 11),  # the unknown parameter's key
    ]
    assert all(d.file == "s.yaml" for d in dialplan.lint(SCENARIO.encode(), "s.yaml"))


def test_model_nodes_carry_yaml_positions() -> None:
    ok = SCENARIO.replace("say@v3", "say@v2\n        params:\n          what: Hi")
    checked = dialplan.validate.check(ok.encode(), "s.yaml")
    plays = [n for n in checked.plan.nodes if n.tag == "play"]  # type: ignore[union-attr]
    assert [(p.loc.line, p.loc.column) for p in plays][:2] == [(7, 9), (15, 19)]
