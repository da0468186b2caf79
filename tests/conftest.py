"""Test-suite settings shared by every test folder."""

import os
from pathlib import Path

import matplotlib

# Tests draw figures without a display.
matplotlib.use("Agg")

# Reference numbers and data live in ../shared/reference beside the repository (CI lays a
# copy there); EVALKIT_REFERENCE may point elsewhere.
REPO = Path(__file__).resolve().parents[1]
os.environ.setdefault("EVALKIT_REFERENCE", str(REPO.parent / "shared" / "reference"))
