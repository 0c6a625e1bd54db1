"""scripts/gap_spread.py (the run-to-run spread 09 quotes): it trains 09's GAP model once per seed
on a folder it is given and records each run."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from course_utils.data.synthetic import make_flat_cats_dogs

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def test_gap_spread_trains_one_model_per_seed_on_the_given_folder(tmp_path):
    make_flat_cats_dogs(tmp_path / "cats_dogs", np.random.default_rng(0), n_per_class=80, size=64)
    out = tmp_path / "spread.json"
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "gap_spread.py"), "--profile", "smoke",
                           "--seeds", "1", "2", "--data-dir", str(tmp_path / "cats_dogs"), "--output", str(out)],
                          capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    doc = json.loads(out.read_text())
    assert [r["seed"] for r in doc["runs"]] == [1, 2]
    assert doc["counts"] == {"train": 80, "validation": 40, "test": 40}       # smoke: 40/20/20 per class
    assert all(0.0 <= r["test_acc"] <= 1.0 and 0.0 <= r["val_acc"] <= 1.0 for r in doc["runs"])
    assert "seed 2: best epoch" in proc.stdout
