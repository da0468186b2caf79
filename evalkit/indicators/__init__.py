"""Declarative monitoring indicators with confidence intervals and disclosure control."""
