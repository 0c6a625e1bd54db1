"""Notebook 09 and the Keras halves (Part A) of 10-12: the metrics their smoke runs write, and
unit tests for course_utils.catsdogs, keras_transfer and cam (fast, no notebook execution)."""
import json
import os
import re
from pathlib import Path

import numpy as np
import pytest

import course_utils  # noqa: F401  (loads the frameworks in the safe order first)
from course_utils import catsdogs
from course_utils.datasets import DataInfo


# ------------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------------
def _jpg(path: Path, value: int = 100, size=(20, 16)) -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, (value, 255 - value, 50)).save(path, "JPEG")


@pytest.fixture
def flat(tmp_path):
    """A Kaggle-style flat folder: cat/dog ids 0..11, one truncated JPEG, one stray file."""
    root = tmp_path / "train"
    for c in ("cat", "dog"):
        for i in range(12):
            _jpg(root / f"{c}.{i}.jpg", 10 * i)
    data = (root / "cat.2.jpg").read_bytes()
    (root / "cat.2.jpg").write_bytes(data[: len(data) // 2])      # truncated
    (root / "notes.txt").write_text("not an image")
    return root


def _snapshot(root: Path) -> dict:
    return {p.name: (p.stat().st_size, p.stat().st_mtime_ns) for p in root.iterdir()}


# ------------------------------------------------------------------------------------------------
# catsdogs
# ------------------------------------------------------------------------------------------------
def test_split_by_index_skips_bad_files_and_never_touches_the_source(flat):
    before = _snapshot(flat)
    s = catsdogs.make_split(flat, n_train=4, n_val=3, n_test=2)
    assert _snapshot(flat) == before
    assert s.counts == {"train": {"cat": 4, "dog": 4}, "validation": {"cat": 3, "dog": 3},
                        "test": {"cat": 2, "dog": 2}}
    assert [b.path for b in s.bad] == ["cat.2.jpg"] and "truncat" in s.bad[0].reason
    names = lambda split: [Path(p).name for p in s.paths[split]]  # noqa: E731
    # cat.2 is skipped, the next id takes its place; ids are numeric (cat.10 after cat.9)
    assert names("train")[:4] == ["cat.0.jpg", "cat.1.jpg", "cat.3.jpg", "cat.4.jpg"]
    assert names("validation")[:3] == ["cat.5.jpg", "cat.6.jpg", "cat.7.jpg"]
    assert names("test") == ["cat.8.jpg", "cat.9.jpg", "dog.7.jpg", "dog.8.jpg"]
    assert s.labels["test"] == [0, 0, 1, 1]
    all_files = sum((s.paths[k] for k in catsdogs.SPLITS), [])
    assert len(all_files) == len(set(all_files))                     # disjoint splits


def test_split_is_idempotent_and_folders_are_written_once(flat, tmp_path):
    a = catsdogs.make_split(flat, 3, 2, 2)
    b = catsdogs.make_split(flat, 3, 2, 2)
    assert a.paths == b.paths and a.labels == b.labels
    dest = tmp_path / "small"
    assert a.write_folders(dest) == 14
    assert a.write_folders(dest) == 0
    assert sorted(p.name for p in (dest / "train" / "dogs").iterdir()) == ["dog.0.jpg", "dog.1.jpg", "dog.2.jpg"]
    with pytest.raises(ValueError, match="inside the source"):
        a.write_folders(flat / "split")


def test_split_reports_shortfall_and_rejects_bad_input(flat, tmp_path):
    s = catsdogs.make_split(flat, 8, 3, 3)
    assert s.counts["test"]["cat"] == 0 and s.counts["test"]["dog"] == 1
    assert any("fewer clean images" in n for n in s.notes)
    with pytest.raises(ValueError):
        catsdogs.make_split(flat, -1, 2, 2)
    with pytest.raises(FileNotFoundError):
        catsdogs.make_split(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="neither"):
        catsdogs.make_split(tmp_path / "empty")


def test_split_of_cats_and_dogs_filtered_carves_test_from_validation(tmp_path):
    root = tmp_path / "cats_and_dogs_filtered"
    for c in ("cats", "dogs"):
        for i in range(5):
            _jpg(root / "train" / c / f"{c[:-1]}.{i}.jpg")
        for i in range(100, 106):
            _jpg(root / "validation" / c / f"{c[:-1]}.{i}.jpg")
    s = catsdogs.make_split(root, 4, 3, 3)
    assert s.layout == "folders"
    assert s.counts == {"train": {"cat": 4, "dog": 4}, "validation": {"cat": 3, "dog": 3},
                        "test": {"cat": 3, "dog": 3}}
    assert not set(s.paths["validation"]) & set(s.paths["test"])
    assert Path(s.paths["test"][0]).name == "cat.103.jpg"


def test_flatten_length_reference():
    assert catsdogs.flatten_length_reference(150) == 7 * 7 * 128
    assert catsdogs.flatten_length_reference(96) == 4 * 4 * 128
    with pytest.raises(ValueError):
        catsdogs.flatten_length_reference(20)


def test_flatten_length_matches_the_shared_architecture():
    from course_utils.architectures import cats_dogs_scratch_cnn

    import keras

    model = cats_dogs_scratch_cnn(96)
    flatten = next(layer for layer in model.layers if isinstance(layer, keras.layers.Flatten))
    assert flatten.output.shape[-1] == catsdogs.flatten_length_reference(96)


# ------------------------------------------------------------------------------------------------
# keras_transfer
# ------------------------------------------------------------------------------------------------
def _toy_base():
    import keras
    from keras import layers

    inp = keras.Input((16, 16, 3))
    x = inp
    for name in ["block4_conv1", "block4_pool", "block5_conv1", "block5_conv2", "block5_conv3"]:
        x = layers.MaxPooling2D(1, name=name)(x) if "pool" in name else layers.Conv2D(4, 3, padding="same", name=name)(x)
    x = layers.MaxPooling2D(2, name="block5_pool")(x)
    return keras.Model(inp, x, name="vgg16_toy")


def test_unfreeze_from_unfreezes_the_block_and_the_tutorial_loop_does_not():
    from course_utils import keras_transfer as kt

    base = _toy_base()
    assert kt.tutorial_unfreeze(base, "block5_conv1") == ["block5_conv1"]
    assert kt.unfreeze_from(base, "block5_conv1") == ["block5_conv1", "block5_conv2", "block5_conv3"]
    assert not base.get_layer("block4_conv1").trainable and base.get_layer("block5_pool").trainable
    with pytest.raises(ValueError):
        kt.unfreeze_from(base, "no_such_layer")
    assert kt.backbone_name_of(base) == "vgg16"


def test_preprocessing_layers_match_keras_applications():
    import keras

    from course_utils import keras_transfer as kt

    x = np.random.default_rng(0).uniform(0, 255, (2, 8, 8, 3)).astype("float32")
    vgg = kt.preprocessing_layer("vgg16")(x)
    ref = keras.applications.vgg16.preprocess_input(x.copy())
    assert np.allclose(np.asarray(vgg), ref, atol=1e-3)
    mob = kt.preprocessing_layer("mobilenet_025")(x)
    assert np.allclose(np.asarray(mob), keras.applications.mobilenet.preprocess_input(x.copy()), atol=1e-5)


class _NoWeightsRun:
    """A Run stand-in whose weights can never be had."""

    def get_weights(self, name):
        return DataInfo(name=name, title=name, root=Path("."), source="unavailable", origin="offline")


def test_load_backbone_falls_back_to_random_weights_loudly(capsys):
    from course_utils import keras_transfer as kt

    bb = kt.load_backbone(_NoWeightsRun(), 32)
    assert bb.name == "mobilenet_025" and bb.weights_source == "random" and bb.weights_path is None
    assert "RANDOM WEIGHTS" in capsys.readouterr().out
    assert bb.output_shape == (1, 1, 256)
    with pytest.raises(ValueError):
        kt.load_backbone(_NoWeightsRun(), 32, backbone="resnet")
    with pytest.raises(ValueError):
        kt.build_base("vgg16", 16)


def test_frozen_model_trains_only_the_head():
    from course_utils import keras_transfer as kt

    bb = kt.load_backbone(_NoWeightsRun(), 32)
    model = kt.frozen_base_model(bb, kt.keras_augmentation(seed=0))
    assert kt.count_trainable(model)[0] == 4          # two Dense layers: kernel + bias each
    assert kt.find_base(model) is bb.model


# ------------------------------------------------------------------------------------------------
# cam
# ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def gap_model():
    from course_utils.architectures import cats_dogs_gap_cnn

    import keras

    keras.utils.set_random_seed(1)
    return cats_dogs_gap_cnn(32)


def test_cam_matches_the_hand_computation_and_gradcam(gap_model):
    from course_utils import cam

    x = np.random.default_rng(0).uniform(0, 1, (3, 32, 32, 3)).astype("float32")
    feats, probs = cam.cam_model(gap_model).predict(x, verbose=0)
    w = gap_model.layers[-1].get_weights()[0][:, 0]
    maps, p2 = cam.class_activation_maps(gap_model, x)
    assert np.allclose(probs, p2)
    for i in range(3):
        m = (1 if probs[i, 0] >= 0.5 else -1) * feats[i] @ w
        assert np.allclose((m - m.min()) / (m.max() - m.min()), maps[i], atol=1e-5)
    gc, gp = cam.grad_cam(gap_model, x, "last_conv")
    assert np.allclose(gp, probs, atol=1e-5)
    assert np.allclose(gc, cam.class_activation_maps(gap_model, x, relu=True)[0], atol=1e-4)
    up, _ = cam.class_activation_maps(gap_model, x, upsample_to=32)
    assert up.shape == (3, 32, 32) and all(cam.peak_inside(up))
    assert cam.find_last_conv(gap_model) == (None, "last_conv")


def test_gradcam_works_through_a_nested_base_where_the_naive_recipe_fails():
    from course_utils import cam, keras_transfer as kt

    bb = kt.load_backbone(_NoWeightsRun(), 64)
    model = kt.frozen_base_model(bb)
    nested, layer = cam.find_last_conv(model)
    assert nested == bb.model.name and layer == "conv_pw_13_relu"
    with pytest.raises(ValueError):
        cam.naive_grad_model(model, layer, nested)
    x = np.random.default_rng(0).uniform(0, 255, (2, 64, 64, 3)).astype("float32")
    maps, probs = cam.grad_cam(model, x, upsample_to=64)
    assert maps.shape == (2, 64, 64)
    assert np.allclose(probs, model.predict(x, verbose=0), atol=1e-5)
    assert np.all((maps >= 0) & (maps <= 1))


def test_normalize_and_peak_checks():
    from course_utils import cam

    flat_map = np.zeros((1, 4, 4))
    assert cam.peak_inside(flat_map) == [False]
    assert cam.peak_inside(np.full((1, 4, 4), np.nan)) == [False]
    m = np.array([[[-1.0, 0.0], [1.0, 3.0]]])
    assert np.allclose(cam.normalize_maps(m), [[[0, 0], [1 / 3, 1]]])
    assert np.allclose(cam.normalize_maps(m, relu=False), [[[0, 0.25], [0.5, 1]]])


# ------------------------------------------------------------------------------------------------
# notebooks (smoke runs)
# ------------------------------------------------------------------------------------------------
def _real(doc, name="dogs_vs_cats"):
    d = doc["data"].get(name) or doc["data"].get("cats_and_dogs_filtered") or {}
    return bool(d) and not d.get("synthetic")


def test_notebook_09_metrics(notebook_metrics):
    doc = notebook_metrics("09_cats_vs_dogs_augmentation")
    m = doc["metrics"]
    assert m["params_scratch"] == 3_453_121
    assert m["params_gap"] == 97_569
    for k in ("scratch_test_acc", "aug_dropout_test_acc", "gap_test_acc"):
        assert 0.0 <= m[k] <= 1.0
    assert isinstance(m["n_corrupt_skipped"], int) and m["n_corrupt_skipped"] >= 0
    counts = next(iter(doc["data"].values()))["counts"]
    s = doc["settings"]
    assert counts["train"] == 2 * s["n_train"] and counts["test"] == 2 * s["n_test"]
    if _real(doc):
        assert m["n_corrupt_skipped"] == 0      # ids 0..1000 of Kaggle's folder are all readable
    out = Path(os.environ["COURSE_OUTPUT_DIR"])
    assert (out / "cats_dogs_gap.keras").exists() and (out / "09_gap_model.keras").exists()
    record = json.loads((out / "09_gap_model.json").read_text())
    assert record["notebook"] == "09_cats_vs_dogs_augmentation" and record["profile"] == doc["profile"]
    assert record["seed"] == doc["seed"] and record["test_acc"] == pytest.approx(m["gap_test_acc"], abs=1e-4)
    assert re.match(r"\d{4}-\d\d-\d\dT", record["date"])
    for k in ("scratch_train_val_gap", "aug_train_val_gap"):
        assert -1.0 <= m[k] <= 1.0
    assert 1 <= m["scratch_best_epoch"] <= s["epochs"]
    assert m["params_gap_trained"] < m["params_scratch_trained"]
    lessons = {le["id"]: le for le in doc["lessons"]}
    assert set(lessons) == {"scratch_overfits", "aug_narrows_gap", "aug_beats_scratch", "gap_model_good"}
    for le in lessons.values():
        assert isinstance(le["holds"], bool) and re.search(r"\d", le["evidence"])
    assert lessons["scratch_overfits"]["holds"] == (m["scratch_train_val_gap"] >= 0.10)
    assert lessons["aug_beats_scratch"]["holds"] == (m["aug_dropout_test_acc"] >= m["scratch_test_acc"] + 0.03)


def test_notebook_10_keras_metrics(notebook_metrics):
    doc = notebook_metrics("10_transfer_learning")
    m = doc["metrics"]
    assert m["keras_backbone"] in ("vgg16", "mobilenet_025")
    assert m["keras_weights_source"] == "random" or m["keras_weights_source"].startswith("imagenet")
    assert 0.0 <= m["keras_features_val_acc"] <= 1.0
    assert 0.0 <= m["keras_frozen_aug_val_acc"] <= 1.0
    if _real(doc) and m["keras_weights_source"].startswith("imagenet"):
        # even at 64 px, 80 training images and one epoch, ImageNet features beat chance clearly
        assert m["keras_features_val_acc"] >= 0.6
    if os.environ.get("COURSE_DATA_MIRROR") and Path(os.environ["COURSE_DATA_MIRROR"], "keras").is_dir():
        assert m["keras_weights_source"].startswith("imagenet")


def test_notebook_11_keras_metrics(notebook_metrics):
    m = notebook_metrics("11_fine_tuning")["metrics"]
    assert 0.0 <= m["keras_finetune_test_acc"] <= 1.0
    assert m["keras_trainable_layers"] > 1                 # a whole block, not one layer
    assert m["keras_trainable_layers_tutorial_bug"] == 1   # the tutorial's loop


def test_notebook_12_keras_metrics(notebook_metrics):
    doc = notebook_metrics("12_class_activation_maps")
    m = doc["metrics"]
    assert len(m["cam_shape"]) == 2 and m["cam_shape"][0] == m["cam_shape"][1] >= 32
    assert len(m["gradcam_shape"]) == 2 and m["gradcam_shape"][0] >= 32
    assert m["cam_peak_inside_image"] is True
    assert m["gradcam_equals_cam_for_gap"] is True


def test_extract_features_keeps_labels_aligned_on_a_shuffled_dataset():
    import tensorflow as tf

    from course_utils import keras_transfer as kt

    bb = kt.load_backbone(_NoWeightsRun(), 32)
    x = np.stack([np.full((32, 32, 3), 255.0 * (i % 2), "float32") for i in range(24)])
    y = np.arange(24) % 2
    ds = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(24, seed=0, reshuffle_each_iteration=True).batch(5)
    feats, labels = kt.extract_features(bb, ds)
    ref = np.asarray(kt.base_extractor(bb)(x[:2], training=False))   # features of a black and a white image
    for f, lab in zip(feats, labels):
        assert np.allclose(f, ref[lab], atol=1e-4)


def test_gradcam_uses_logits_so_saturated_predictions_still_get_a_map(gap_model):
    import keras

    from course_utils import cam

    sat = keras.models.clone_model(gap_model)
    sat.set_weights(gap_model.get_weights())
    w, b = sat.layers[-1].get_weights()
    sat.layers[-1].set_weights([w, b + 60.0])                     # p(dog) == 1.0 in float32
    x = np.random.default_rng(1).uniform(0, 1, (2, 32, 32, 3)).astype("float32")
    maps, probs = cam.grad_cam(sat, x, "last_conv")
    assert np.all(probs == 1.0)
    assert np.allclose(maps, cam.class_activation_maps(sat, x, relu=True)[0], atol=1e-4)
    assert all(m.max() == 1.0 for m in maps)
