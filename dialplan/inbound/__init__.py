"""Inbound IVR: answer calls to configured numbers with a dialplan (SIP UAS), keep what they produce."""
