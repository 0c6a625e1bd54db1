"""Notebooks 10-12 (transfer learning, fine-tuning, class activation maps) on fresh smoke runs:
their metrics, lessons and hand-offs through the artifacts folder, and 12's pointing game on a
folder the course has never seen. Where 10 ran first in the same output folder, 11 must say it
continues from 10's models; otherwise, that it trained a stand-in."""
import os
from pathlib import Path

import pytest


def _real(doc, name="dogs_vs_cats"):
    d = doc["data"].get(name) or doc["data"].get("cats_and_dogs_filtered") or {}
    return bool(d) and not d.get("synthetic")


def _lessons(doc):
    """Lesson id -> entry; every entry has the four documented fields."""
    out = {}
    for le in doc["lessons"]:
        assert set(le) == {"id", "claim", "holds", "evidence"} and isinstance(le["holds"], bool) and le["evidence"]
        out[le["id"]] = le
    return out


def test_notebook_10_keras_metrics(notebook_metrics):
    doc = notebook_metrics("10_transfer_learning")
    m = doc["metrics"]
    assert m["keras_backbone"] in ("vgg16", "mobilenet_025")
    assert m["keras_weights_source"] == "random" or m["keras_weights_source"].startswith("imagenet")
    for k in ("keras_features_val_acc", "keras_random_features_val_acc", "keras_frozen_aug_val_acc",
              "keras_frozen_aug_best_val_acc"):
        assert 0.0 <= m[k] <= 1.0, k
    assert m["keras_frozen_aug_best_val_acc"] >= m["keras_frozen_aug_val_acc"]   # the best epoch, not the last
    if _real(doc) and m["keras_weights_source"].startswith("imagenet"):
        # even at 64 px, 80 training images and one epoch, ImageNet features beat chance clearly
        assert m["keras_features_val_acc"] >= 0.6
    if os.environ.get("COURSE_DATA_MIRROR") and Path(os.environ["COURSE_DATA_MIRROR"], "keras").is_dir():
        assert m["keras_weights_source"].startswith("imagenet")
    lessons = _lessons(doc)
    assert {"imagenet_features_matter", "frozen_base_unchanged", "augmentation_closes_the_gap",
            "torch_features_ants_bees", "weights_loaded"} <= set(lessons)
    assert lessons["frozen_base_unchanged"]["holds"] and lessons["weights_loaded"]["holds"]
    # the PyTorch half read ants and bees, and says so (never under a flowers title)
    assert m["torch_dataset"] == "hymenoptera"
    assert "ants and bees" in doc["data"]["hymenoptera"]["title"].lower()
    # hand-offs: the best checkpoints with a record of this run
    from course_utils.setup import artifacts

    for name in ("10_keras_frozen_best", "10_torch_features_head"):
        path, record = artifacts.find_artifact(name, os.environ["COURSE_OUTPUT_DIR"])
        assert record["notebook"] == "10_transfer_learning" and record["profile"] == "smoke"
        assert record["seed"] == doc["seed"] and record["data"]
    record = artifacts.find_artifact("10_keras_frozen_best", os.environ["COURSE_OUTPUT_DIR"])[1]
    assert record["metrics"]["best_val_accuracy"] == pytest.approx(m["keras_frozen_aug_best_val_acc"])


def test_notebook_11_keras_metrics(notebook_metrics):
    doc = notebook_metrics("11_fine_tuning")
    m = doc["metrics"]
    for k in ("keras_baseline_test_acc", "keras_control_test_acc", "keras_finetune_test_acc",
              "torch_features_test_acc", "torch_control_test_acc", "torch_finetune_test_acc"):
        assert 0.0 <= m[k] <= 1.0, k
    assert m["keras_trainable_layers"] > 1                 # a whole block, not one layer
    assert m["keras_trainable_layers_tutorial_bug"] == 1   # the tutorial's loop
    # 10 ran in this output folder first: 11 says it continues from 10's run, else that it trained a stand-in
    from course_utils.setup import artifacts

    out = os.environ["COURSE_OUTPUT_DIR"]
    if artifacts.find_artifact("10_keras_frozen_best", out):
        assert m["keras_baseline_source"].startswith("10_keras_frozen_best.keras: made by 10_transfer_learning")
    else:
        assert m["keras_baseline_source"].startswith("stand-in")
    # Part B trains its starting head on its own split: the whole val folder is its test set
    assert m["torch_baseline_source"].startswith("trained here")
    counts = doc["data"]["hymenoptera"]["counts"]
    assert m["torch_test_images"] == counts["test"] >= 2 * counts["val"]   # not half of the val folder
    assert artifacts.find_artifact("11_keras_finetuned", out)[1]["notebook"] == "11_fine_tuning"
    lessons = _lessons(doc)
    assert {"block_not_one_layer", "keras_finetune_beats_control", "torch_finetune_keeps_features",
            "torch_finetune_vs_control"} <= set(lessons)
    assert lessons["block_not_one_layer"]["holds"]
    beats = m["keras_finetune_test_acc"] > m["keras_control_test_acc"]
    assert lessons["keras_finetune_beats_control"]["holds"] == beats


def test_notebook_12_keras_metrics(notebook_metrics):
    doc = notebook_metrics("12_class_activation_maps")
    m = doc["metrics"]
    assert len(m["cam_shape"]) == 2 and m["cam_shape"][0] == m["cam_shape"][1] >= 32
    assert len(m["gradcam_shape"]) == 2 and m["gradcam_shape"][0] >= 32
    assert m["cam_raw_shape"][0] < m["cam_shape"][0] and m["gradcam_finer_raw_shape"][0] < m["gradcam_shape"][0]
    # the pointing check's Grad-CAM layer is chosen on validation composites, among three stage ends
    assert len(m["validation_pointing"]) == 5 and m["gradcam_pointing_layer"] in " ".join(m["validation_pointing"])
    assert m["gradcam_last_raw_shape"][0] <= m["gradcam_pointing_raw_shape"][0]
    assert m["gradcam_equals_cam_for_gap"] is True
    assert m["pointing_n_images"] == doc["settings"]["pointing_n"]
    for k in ("keras_cam_pointing_acc", "keras_gradcam_pointing_acc", "torch_gradcam_pointing_acc"):
        assert 0.0 <= m[k] <= 1.0 and round(m[k] * m["pointing_n_images"], 6) % 1 == 0, k   # a share of the images
    lessons = _lessons(doc)
    assert {"keras_cam_points", "keras_gradcam_points", "gradcam_is_cam_on_gap", "torch_gradcam_points",
            "torch_gradcam_beats_contrast", "gradcam_matches_library"} <= set(lessons)
    assert lessons["gradcam_is_cam_on_gap"]["holds"] and lessons["gradcam_matches_library"]["holds"]
    # every pointing map is also scored against the model-free contrast map, on the same images
    versus = m["pointing_versus_contrast"]
    assert {round(v["a"], 6) for v in versus.values()} == {round(m[k], 6) for k in (
        "keras_cam_pointing_acc", "keras_cam_pointing_acc_training_size", "keras_gradcam_pointing_acc",
        "keras_gradcam_last_pointing_acc", "torch_gradcam_pointing_acc")}
    # the GAP model plays at the canvas's own size, and at its training size for comparison
    assert m["cam_input_size"] == doc["settings"]["cam_input_size"] == 224
    assert any(name.startswith("CAM, GAP model, 224 px") for name in versus)
    n = m["pointing_n_images"]
    for v in versus.values():
        assert 0 <= v["b"] <= 1 and 0 <= v["p"] <= 1 and v["only_a"] + v["only_b"] <= n
        assert round((v["a"] - v["b"]) * n) == v["only_a"] - v["only_b"]      # the counts explain the difference
    # the harder set: each canvas asked twice (cat, dog), four maps scored on it (CAM at both sizes)
    assert m["pairs_n_images"] == 2 * max(1, doc["settings"]["pointing_n"] // 2)
    assert len(m["pairs_versus_contrast"]) == 4
    assert {"torch_gradcam_finds_the_asked_animal", "keras_cam_finds_the_asked_animal"} <= set(lessons)
    for v in m["pairs_versus_contrast"].values():
        assert v["only_a"] + v["only_b"] <= m["pairs_n_images"]
        assert v["b"] <= 0.5 + 1e-9          # a map blind to the class finds at most one animal per canvas


def test_notebook_12_plays_the_pointing_game_on_any_folder(tmp_path):
    """``-p pointing_dir DIR``: a folder the course has never seen, classes that are not cats or dogs."""
    import json

    from PIL import Image

    from course_utils.tools.runner import run_notebooks

    folder = tmp_path / "my boxes"
    boxes = {}
    for i, (label, colour) in enumerate([("ant", (200, 40, 40)), ("bee", (240, 200, 0)), ("bee", (40, 40, 200))]):
        img = Image.new("RGB", (90, 70), (128, 128, 128))
        img.paste(Image.new("RGB", (30, 20), colour), (10 * i, 5 * i))
        (folder / label).mkdir(parents=True, exist_ok=True)
        img.save(folder / label / f"{i}.png")
        boxes[f"{label}/{i}.png"] = [10 * i, 5 * i, 10 * i + 30, 5 * i + 20]
    (folder / "boxes.json").write_text(json.dumps(boxes))
    before = sorted((p.name, p.stat().st_mtime_ns) for p in folder.rglob("*"))
    out = tmp_path / "out"
    rows = run_notebooks(["12_class_activation_maps"], profile="smoke", output_dir=out,
                         params={"pointing_dir": str(folder), "run_torch": False})
    assert rows[0]["status"] == "ok", rows[0]["error"]
    m = rows[0]["metrics_doc"]["metrics"]
    assert m["pointing_n_images"] == 3
    # the baselines come from this folder's boxes: 30x20 of 90x70, none over the centre (45, 35)
    assert m["pointing_random_baseline"] == pytest.approx(600 / 6300) and m["pointing_centre_baseline"] == 0.0
    assert m["keras_pointing_class"] == "predicted"          # no cat/dog folders: the predicted class
    # the learner's folder untouched
    assert sorted((p.name, p.stat().st_mtime_ns) for p in folder.rglob("*")) == before


