"""course_utils.setup.artifacts: the hand-off folder between notebooks (no notebook execution)."""
import json

import pytest

from course_utils.setup import artifacts

RECORD = {"notebook": "10_transfer_learning", "profile": "smoke", "seed": 42,
          "metrics": {"best_val_accuracy": 0.875, "best_epoch": 3},
          "data": {"hymenoptera": {"title": "Ants and bees", "real": True, "synthetic": False}}}


def test_save_then_find_a_file_artifact(tmp_path):
    model_file = tmp_path / "head.pt"
    model_file.write_bytes(b"weights")
    path = artifacts.save_artifact(model_file, "10_torch_features_head", RECORD, tmp_path)
    assert path == tmp_path / "artifacts" / "10_torch_features_head.pt"
    assert path.read_bytes() == b"weights" and model_file.exists()          # copied, the original kept
    found, record = artifacts.find_artifact("10_torch_features_head", tmp_path)
    assert found == path
    assert record["notebook"] == "10_transfer_learning" and record["seed"] == 42
    assert record["metrics"]["best_val_accuracy"] == 0.875 and record["file"] == path.name
    assert record["created"].endswith("UTC")
    line = artifacts.describe(record, ["best_val_accuracy"])
    assert "10_transfer_learning" in line and "smoke profile" in line and "0.875" in line
    assert "Ants and bees" in line and "best_epoch" not in line


def test_find_artifact_returns_none_when_absent_or_broken(tmp_path):
    assert artifacts.find_artifact("09_gap_model", tmp_path) is None
    folder = artifacts.artifacts_dir(tmp_path)
    folder.mkdir()
    (folder / "09_gap_model.json").write_text("{not json")
    assert artifacts.find_artifact("09_gap_model", tmp_path) is None
    (folder / "09_gap_model.json").write_text(json.dumps({**RECORD, "file": "09_gap_model.keras"}))
    assert artifacts.find_artifact("09_gap_model", tmp_path) is None        # the record names a missing file
    (folder / "09_gap_model.keras").write_bytes(b"x")
    assert artifacts.find_artifact("09_gap_model", tmp_path)[0].name == "09_gap_model.keras"


def test_save_artifact_checks_its_input(tmp_path):
    f = tmp_path / "m.pt"
    f.write_bytes(b"x")
    with pytest.raises(ValueError, match="lacks"):
        artifacts.save_artifact(f, "a", {"notebook": "x"}, tmp_path)
    with pytest.raises(ValueError, match="plain file stem"):
        artifacts.save_artifact(f, "../escape", RECORD, tmp_path)
    with pytest.raises(FileNotFoundError):
        artifacts.save_artifact(tmp_path / "missing.pt", "a", RECORD, tmp_path)


def test_objects_are_saved_in_their_framework_format(tmp_path):
    import torch

    path = artifacts.save_artifact({"model": torch.ones(2)}, "state", RECORD, tmp_path)
    assert path.suffix == ".pt" and torch.equal(torch.load(path, weights_only=True)["model"], torch.ones(2))
    import keras

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    path = artifacts.save_artifact(model, "tiny", RECORD, tmp_path)
    assert path.suffix == ".keras"
    assert keras.models.load_model(path).count_params() == 4
