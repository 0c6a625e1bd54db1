"""Fixtures of the notebook layer: the metrics of fresh smoke runs."""
import json
import os
from pathlib import Path

import pytest


def _metrics_path(stem: str) -> Path:
    return Path(os.environ["COURSE_OUTPUT_DIR"]) / f"{stem}.metrics.json"


@pytest.fixture(scope="session")
def notebook_metrics():
    """``notebook_metrics(stem)`` -> the metrics document of a smoke run of that notebook.

    Reuses the file nbval's execution wrote in this session; only when the notebook was not
    executed in this session (``pytest tests``) does it run the notebook through the runner.
    """
    from course_utils.tools.runner import run_notebooks

    cache = {}

    def get(stem: str) -> dict:
        if stem not in cache:
            path = _metrics_path(stem)
            if not path.exists():
                rows = run_notebooks([stem], profile="smoke", output_dir=path.parent)
                assert rows[0]["status"] == "ok", rows[0]["error"]
            cache[stem] = json.loads(path.read_text())
        return cache[stem]

    return get
