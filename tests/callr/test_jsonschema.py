"""The shipped JSON Schema of Callr scenarios: current, and agreeing with the linter."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import jsonschema
import yaml

from dialplan.callr.jsonschema import schema_text

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = resources.files("dialplan").joinpath("data/schemas/callr-scenario.schema.json")
FIXTURES = ROOT / "tests" / "lint" / "fixtures" / "callr"


def validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(SHIPPED.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_shipped_schema_is_generated_from_the_action_table() -> None:
    assert SHIPPED.read_text(encoding="utf-8") == schema_text(), (
        "regenerate: python -m dialplan.callr.jsonschema > "
        "dialplan/data/schemas/callr-scenario.schema.json"
    )


def test_the_example_and_passing_fixtures_are_valid() -> None:
    v = validator()
    for path in [ROOT / "examples" / "appointment-reminder.yaml", *FIXTURES.glob("*_ok.yaml")]:
        errors = list(v.iter_errors(yaml.safe_load(path.read_text())))
        assert errors == [], (path.name, [e.message for e in errors])


def test_the_schema_refuses_what_the_parameter_rules_refuse() -> None:
    v = validator()
    for name in ("E00A_unknown_action", "E00B_unsupported_action", "E02C_missing_param",
                 "E02D_wrong_param"):  # fmt: skip
        doc = yaml.safe_load((FIXTURES / f"{name}.yaml").read_text())
        assert list(v.iter_errors(doc)), name
