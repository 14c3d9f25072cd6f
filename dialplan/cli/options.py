"""Options shared by several commands (one definition each): the telephony driver and clock."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

DRIVERS = ("sim", "sip")
CLOCKS = ("virtual", "real")


def driver_option(help: str, also: tuple[str, ...] = ()) -> Callable[[Any], Any]:
    """``--driver sim|sip`` (default sim): simulated calls, or real SIP calls; ``also`` adds
    drivers of other media (``smpp`` for text campaigns)."""
    return click.option(
        "--driver",
        type=click.Choice((*DRIVERS, *also)),
        default="sim",
        show_default=True,
        help=help,
    )


def clock_option(help: str) -> Callable[[Any], Any]:
    """``--clock virtual|real`` (default virtual)."""
    return click.option(
        "--clock", type=click.Choice(CLOCKS), default="virtual", show_default=True, help=help
    )
