"""The real SIP peers of tests/sip (baresip, SIPp) for the sound tests."""

from tests.sip.conftest import baresip, sipp

__all__ = ["baresip", "sipp"]
