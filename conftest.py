"""Test-session environment, shared by nbval (notebooks/) and the tests (tests/).

Every notebook executed in this session runs with the smoke profile and writes its metrics into
one folder, so each notebook is executed once and serves both nbval and the metrics checks.
Where ../shared/data exists (development machines and CI), the mirror and the real datasets are
used; elsewhere notebooks fall back to their synthetic stand-ins and say so.
"""
import os
import shutil
import time
from pathlib import Path

import pytest

from course_utils.setup.env import load_frameworks_in_safe_order

load_frameworks_in_safe_order()  # PyTorch before any test imports TensorFlow (see course_utils/__init__.py)

ROOT = Path(__file__).resolve().parent
SHARED = (ROOT.parent / "shared" / "data").resolve()
# One folder per test session, so two sessions on one machine never delete each other's files.
TEST_OUT = ROOT / "build" / "test-outputs" / f"session-{os.getpid()}"


def pytest_configure(config):
    # smoke, unless a strict comparison with the stored (laptop) outputs asks for another profile
    os.environ["COURSE_PROFILE"] = os.environ.get("COURSE_TEST_PROFILE", "smoke")
    os.environ["COURSE_OUTPUT_DIR"] = str(TEST_OUT)
    os.environ.setdefault("COURSE_DATA_HOME", str(ROOT / "build" / "test-cache"))
    os.environ.setdefault("MPLBACKEND", "Agg")
    if SHARED.is_dir():
        os.environ.setdefault("COURSE_DATA_MIRROR", str(SHARED / "mirror"))
        os.environ.setdefault("COURSE_DATA_ROOT", str(SHARED))
    if not hasattr(config, "workerinput"):
        # never read a metrics file from an earlier session; tidy sessions older than a day
        for old in TEST_OUT.parent.glob("session-*"):
            if time.time() - old.stat().st_mtime > 86400:
                shutil.rmtree(old, ignore_errors=True)
        shutil.rmtree(TEST_OUT, ignore_errors=True)
        TEST_OUT.mkdir(parents=True, exist_ok=True)


def pytest_collection_modifyitems(config, items):
    for item in items:
        if type(item).__name__ == "IPyNbCell" or type(item).__module__.startswith("nbval"):
            item.add_marker(pytest.mark.slow)
