"""Two notebook runs for the data layer's promises (issue: reliability): a setting the runner
cannot see is still refused by ``setup_notebook`` before any work, with a one-paragraph message;
and 09's split writer leaves every file of the learner's folder as it was, with one link each."""
import hashlib
import shutil

import pytest

pytestmark = pytest.mark.slow


def _snapshot(folder):
    return {p.relative_to(folder).as_posix(): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_nlink,
                                               p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_bad_setting_from_the_environment_stops_the_notebook_at_its_setup_cell(tmp_path, monkeypatch):
    from course_utils.tools.runner import run_notebooks

    monkeypatch.setenv("COURSE_DATA_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("COURSE_DATA_SOURCE", "bogus")  # read by setup_notebook inside the kernel
    rows = run_notebooks(["09"], profile="smoke", output_dir=tmp_path / "out")
    row = rows[0]
    assert row["status"] == "FAILED" and row["metrics_doc"] is None
    assert row["error"].startswith("CourseError: data_source='bogus'"), row["error"]
    assert "What to do" in row["error"] and "Traceback" not in row["error"]
    assert not (tmp_path / "cache").exists()  # stopped before any data was looked for


def test_09_leaves_the_learners_folder_untouched_and_writes_real_copies(tmp_path, monkeypatch):
    from course_utils.data.datasets import synthetic_dataset
    from course_utils.tools.runner import run_notebooks

    monkeypatch.setenv("COURSE_DATA_HOME", str(tmp_path / "cache"))
    learner = tmp_path / "my cats and dogs"
    shutil.copytree(synthetic_dataset("dogs_vs_cats", seed=0, size=80), learner,
                    ignore=shutil.ignore_patterns(".course-*"))
    (learner / "notes.txt").write_text("where these images came from")
    before = _snapshot(learner)
    rows = run_notebooks(["09"], profile="smoke", data_source="real", output_dir=tmp_path / "out",
                         params={"data_dir": str(learner)})
    assert rows[0]["status"] == "ok", rows[0]["error"]
    assert _snapshot(learner) == before
    assert all(nlink == 1 for _, nlink, _ in before.values())
    written = [p for p in (tmp_path / "out" / "cats_and_dogs_small").rglob("*") if p.is_file()]
    assert len(written) == 2 * (40 + 20 + 20)
    assert all(p.stat().st_nlink == 1 for p in written)
