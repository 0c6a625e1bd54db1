"""One setting (COURSE_HOME, or use_drive) moves the cache and the outputs; 12 finds 09's model there."""
from pathlib import Path

import pytest

from course_utils.setup import config


@pytest.fixture
def home(tmp_path, monkeypatch):
    for var in ("COURSE_DATA_HOME", "COURSE_OUTPUT_DIR", "COURSE_HOME"):
        monkeypatch.delenv(var, raising=False)
    return tmp_path / "drive" / "cnn-course"


def test_use_drive_sets_cache_and_outputs(home, monkeypatch):
    assert config.use_drive(str(home), mount=False) == home.resolve()
    assert home.is_dir()
    assert config.data_home() == home.resolve() / "data"
    assert Path(config.default_output_dir()) == home.resolve() / "outputs"


def test_explicit_settings_still_win(home, monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_HOME", str(home))
    monkeypatch.setenv("COURSE_DATA_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("COURSE_OUTPUT_DIR", str(tmp_path / "out"))
    assert config.data_home() == (tmp_path / "cache").resolve()
    assert config.default_output_dir() == str(tmp_path / "out")


def test_a_drive_folder_off_colab_says_what_to_do(home):
    if Path("/content/drive/MyDrive").is_dir():
        pytest.skip("Drive is mounted here")
    with pytest.raises(RuntimeError, match="only on Colab"):
        config.use_drive("/content/drive/MyDrive/cnn-course-test")


def test_notebooks_hand_models_over_through_course_home(home, monkeypatch, tmp_path):
    import course_utils

    monkeypatch.setenv("COURSE_HOME", str(home))
    monkeypatch.chdir(tmp_path)
    first = course_utils.setup_notebook("09_cats_vs_dogs_augmentation", profile="smoke", verbose=False)
    first.path("cats_dogs_gap.keras").write_text("model")
    later = course_utils.setup_notebook("12_class_activation_maps", profile="smoke", verbose=False)
    assert later.output_dir == home.resolve() / "outputs"
    assert later.path("cats_dogs_gap.keras").read_text() == "model"
    assert not (tmp_path / "outputs").exists()
