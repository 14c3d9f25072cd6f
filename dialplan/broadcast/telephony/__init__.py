"""The telephony port and its drivers (simulated, SIP), and the engine that runs answered calls."""
