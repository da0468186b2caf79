"""Self-contained HTML evaluation reports (fr/en)."""
