"""The corpus's inbound dialplans run unchanged: each is answered and walks its first prompt
(as `dialplan simulate` says it should) for a SIPp caller."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import dialplan

from .conftest import require

pytestmark = pytest.mark.sip
FOLDER = "callfire-ivr-samples/Inbound-only Campaigns"
NAMES = ["BilingualInboundTree", "DNCHandler", "DNCModule", "SmallBusinessTree", "VoicemailModule"]


@pytest.mark.parametrize("name", NAMES)
def test_corpus_inbound_dialplan_answers_and_plays_its_first_prompt(
    name: str, corpus: Path, answer_server: Any, caller: Any, tmp_path: Path
) -> None:
    require("espeak-ng", "sox", "sipp")
    source = corpus / FOLDER / f"{name}.xml"
    if not source.is_file():
        pytest.skip(f"{source} is not in the corpus")
    expected = dialplan.simulate(
        dialplan.load(str(source)), inputs=["hangup"], callerid="15550001111", dnis="15551230100"
    )
    server = answer_server(
        f'[sip]\nprompt_cache_dir = "@PROMPTS@"\n[numbers."15551230100"]\ndialplan = "{source}"\n'
    )
    peer = caller(server, "15551230100", hangup="either", hold_ms=5000)
    assert peer.wait(40) == 0, (peer.directory / "sipp.log").read_text(errors="replace")
    [call] = server.wait_finished(1)
    assert call.result == "LA" and call.sip_status == 200
    assert call.prompts[:1] == expected.prompts[:1]
    if name == "DNCHandler":  # <dnc>${call.callerid}</dnc>: the caller is recorded
        assert call.dnc == ["15550001111"]
