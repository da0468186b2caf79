"""Difference-in-differences: 2x2, TWFE, event study, Callaway–Sant'Anna, repeated cross-sections."""
