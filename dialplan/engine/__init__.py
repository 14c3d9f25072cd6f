"""The sans-IO call engine: events in, effects out; no I/O, no clock, no driver imports."""
