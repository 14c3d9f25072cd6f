"""The real corpus: no crash, the product's seed dialplan has no error, and real defects are found.

The defect table lists what a reader of each file (and of its PROVENANCE.md notes) finds for
the codes of §6.4–6.6, with the line of the offending tag; every other file and code must stay
silent, so a false positive on a valid sample fails here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dialplan.diagnostics import Severity
from dialplan.lint.linter import lint_source

from ..conftest import CORPUS, corpus_file, corpus_files
from ._support import VALUE_CODES

SAMPLES = "callfire-ivr-samples"

#: file → the (code, line) findings of our families that the file really deserves.
DEFECTS: dict[str, list[tuple[str, int]]] = {
    # two `default` branches in one menu: the second can never run (spec §3.3)
    "Utilities/SimpleTransfer2.xml": [("E041", 12)],
    # `Default` spelled with a capital: accepted and normalised
    "Appointment Reminders/AppointmentConfirmation1.xml": [("I044", 38)],
    # ${choice${num}} builds the variable name at run time; `num` and choice1-3 are assigned
    "Utilities/NestedVariables.xml": [("I068", 15), ("I068", 19), ("I068", 21)],
    # stash varname="stashDNC${dnc_counter}"; dnc of variables only
    "Inbound-only Campaigns/DNCModule.xml": [("I052", 17), ("I068", 57), ("I052", 58)],
    # dnc / sms@to from variables cannot be checked before the call
    "Inbound-only Campaigns/DNCHandler.xml": [("I052", 8)],
    "Appointment Reminders/Appointment2.xml": [("I052", 29)],
    "Appointment Reminders/AppointmentConfirmation2.xml": [("I052", 43), ("I052", 63)],
    "Utilities/SendSMS.xml": [("I052", 17)],
}


def own(path: Path) -> list[tuple[str, int]]:
    return sorted((d.code, d.line) for d in lint_source(path) if d.code in VALUE_CODES)


@pytest.mark.parametrize("path", corpus_files(), ids=lambda p: str(p.relative_to(CORPUS)))
def test_every_corpus_file_lints_without_crashing(path: Path) -> None:
    found = lint_source(path)
    assert all(d.file == str(path) for d in found)


def test_seed_dialplan_has_no_error_from_our_rules() -> None:
    path = corpus_file("seeds/nonprofit-charity-ivr.xml")
    found = [d for d in lint_source(path) if d.code in VALUE_CODES]
    assert not [d for d in found if d.severity is Severity.ERROR]
    assert found == []


@pytest.mark.parametrize("relative", sorted(DEFECTS))
def test_real_defects_are_found(relative: str) -> None:
    path = corpus_file(f"{SAMPLES}/{relative}")
    assert own(path) == sorted(DEFECTS[relative])


def test_other_samples_are_clean_for_our_rules(corpus: Path) -> None:
    noisy = {}
    for path in sorted((corpus / SAMPLES).rglob("*.xml")):
        relative = str(path.relative_to(corpus / SAMPLES))
        if relative not in DEFECTS and own(path):
            noisy[relative] = own(path)
    assert noisy == {}
