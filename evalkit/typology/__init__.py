"""Trajectory typology: state sequences, the seven CPAS career types, distances and clustering."""
