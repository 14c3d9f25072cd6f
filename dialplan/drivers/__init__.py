"""Telephony drivers: they own I/O and time and feed the engine (simulated, SIP)."""
