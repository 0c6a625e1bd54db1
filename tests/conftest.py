"""Fixtures shared by both layers of tests (tests/unit, tests/notebooks)."""
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = (ROOT.parent / "shared" / "data").resolve()


@pytest.fixture
def shared_data():
    if not SHARED.is_dir():
        pytest.skip(f"the real data folder {SHARED} is absent on this machine")
    return SHARED
