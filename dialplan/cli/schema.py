"""``dialplan schema``: the bundled XML Schema, for editors and xmllint."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import InvalidDialplan, UsageError


@click.command()
@click.option(
    "--path", "show_path", is_flag=True, help="Print where the installed XSD file is instead."
)
@click.option(
    "--normalise",
    "normalise_file",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="Print FILE rewritten in canonical spelling (what the schema check validates), "
    "e.g. to pipe into 'xmllint --schema'.",
)
def schema(show_path: bool, normalise_file: str | None) -> None:
    """Print the bundled XSD (xsd/dialplan.xsd) of the dialplan language.

    \b
    Examples:
      dialplan schema > dialplan.xsd
      xmllint --noout --schema "$(dialplan schema --path)" plan.xml
      dialplan schema --normalise plan.xml | xmllint --noout --schema "$(dialplan schema --path)" -
    """
    from .. import schema as xsd

    if show_path and normalise_file:
        raise UsageError("--path and --normalise cannot be combined")
    if normalise_file:
        from lxml import etree

        from ..parse import ParseFailure, parse_any

        if not Path(normalise_file).exists():
            raise UsageError(f"no such file: {normalise_file}")
        try:
            doc = parse_any(normalise_file)
        except ParseFailure as failure:
            raise InvalidDialplan([failure.diagnostic], normalise_file) from None
        root = xsd.normalise(doc.root)
        click.echo(etree.tostring(root, encoding="unicode"))
        return
    if show_path:
        click.echo(str(xsd.xsd_resource()))
        return
    click.echo(xsd.xsd_text(), nl=False)
