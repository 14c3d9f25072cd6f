"""The loops that drive the scheduler: one per clock (virtual time, the real clock)."""
