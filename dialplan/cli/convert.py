"""``dialplan convert``: Callr Actions YAML ↔ CallFire XML where the mapping is lossless."""

from __future__ import annotations

import click

from ..errors import InvalidDialplan
from .graph import _parsed, _write


@click.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--to", "target", type=click.Choice(["xml", "yaml"]), required=True,
              help="The language to write.")  # fmt: skip
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write to a file.")
def convert(file: str, target: str, output: str | None) -> None:
    """Convert FILE between Callr Actions YAML and CallFire XML.

    Only where nothing is lost: what the other language cannot express is refused with one
    line naming it and its position (see docs/callr-yaml.md). Exit status: 0 converted,
    1 FILE has errors, 2 usage error or not convertible.
    """
    from ..callr.convert import to_xml, to_yaml
    from ..validate import check

    doc, plan = _parsed(file)
    errors = check(doc).errors
    if errors:
        raise InvalidDialplan(errors, file)
    if target == "xml":
        text = to_xml(doc) if doc.frontend == "yaml" else doc.text
    else:
        text = doc.source.data.decode("utf-8") if doc.frontend == "yaml" else to_yaml(plan, file)
    _write(text, output)
