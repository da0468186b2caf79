"""Test-suite settings shared by every test folder."""

import os
from pathlib import Path

import matplotlib
import pytest

# Tests draw figures without a display.
matplotlib.use("Agg")

# Reference numbers and data live in ../shared/reference beside the repository (CI lays a
# copy there); EVALKIT_REFERENCE may point elsewhere.
REPO = Path(__file__).resolve().parents[1]
os.environ.setdefault("EVALKIT_REFERENCE", str(REPO.parent / "shared" / "reference"))


def _java_17_or_later() -> bool:
    import re
    import shutil
    import subprocess

    if shutil.which("java") is None:
        return False
    out = subprocess.run(["java", "-version"], capture_output=True, text=True).stderr
    found = re.search(r'version "(\d+)', out)
    return bool(found) and int(found.group(1)) >= 17


@pytest.fixture(scope="session")
def spark():
    """One local Spark (``local[2]``) shared by every Spark test of the run.

    Starting a JVM costs seconds, so the session is created once; small data
    keeps each Spark test quick. Skipped (with the reason) only when PySpark or
    Java 17 is absent: ``.ci/run`` installs both.
    """
    pytest.importorskip("pyspark", reason="pip install 'evalkit[spark]'")
    if not _java_17_or_later():
        pytest.skip("Java 17 is missing (apt-get install openjdk-17-jre-headless)")
    from pyspark.sql import SparkSession

    session = (SparkSession.builder.master("local[2]").appName("evalkit-tests")
               .config("spark.sql.shuffle.partitions", "2")
               .config("spark.ui.enabled", "false")
               .config("spark.ui.showConsoleProgress", "false")
               .config("spark.sql.session.timeZone", "UTC")
               .config("spark.sql.execution.arrow.pyspark.enabled", "true")
               .getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
