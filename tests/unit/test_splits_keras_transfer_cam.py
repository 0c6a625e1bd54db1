"""Notebook 09 and the Keras halves (Part A) of 10-12: the metrics their smoke runs write, and
unit tests for course_utils.data.splits, keras_transfer and cam (fast, no notebook execution)."""
from pathlib import Path

import numpy as np
import pytest

import course_utils  # noqa: F401  (loads the frameworks in the safe order first)
from course_utils.data.datasets import DataInfo
from course_utils.data.splits import SPLITS, make_split
from course_utils.keras_.models import flatten_length_reference


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
    s = make_split(flat, n_train=4, n_val=3, n_test=2)
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
    all_files = sum((s.paths[k] for k in SPLITS), [])
    assert len(all_files) == len(set(all_files))                     # disjoint splits


def test_split_is_idempotent_and_folders_are_written_once(flat, tmp_path):
    a = make_split(flat, 3, 2, 2)
    b = make_split(flat, 3, 2, 2)
    assert a.paths == b.paths and a.labels == b.labels
    dest = tmp_path / "small"
    assert a.write_folders(dest) == 14
    assert a.write_folders(dest) == 0
    assert sorted(p.name for p in (dest / "train" / "dogs").iterdir()) == ["dog.0.jpg", "dog.1.jpg", "dog.2.jpg"]
    with pytest.raises(ValueError, match="inside the source"):
        a.write_folders(flat / "split")


def test_split_reports_shortfall_and_rejects_bad_input(flat, tmp_path):
    s = make_split(flat, 8, 3, 3)
    assert s.counts["test"]["cat"] == 0 and s.counts["test"]["dog"] == 1
    assert any("fewer clean images" in n for n in s.notes)
    with pytest.raises(ValueError):
        make_split(flat, -1, 2, 2)
    with pytest.raises(FileNotFoundError):
        make_split(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="neither"):
        make_split(tmp_path / "empty")


def test_split_of_cats_and_dogs_filtered_carves_test_from_validation(tmp_path):
    root = tmp_path / "cats_and_dogs_filtered"
    for c in ("cats", "dogs"):
        for i in range(5):
            _jpg(root / "train" / c / f"{c[:-1]}.{i}.jpg")
        for i in range(100, 106):
            _jpg(root / "validation" / c / f"{c[:-1]}.{i}.jpg")
    s = make_split(root, 4, 3, 3)
    assert s.layout == "folders"
    assert s.counts == {"train": {"cat": 4, "dog": 4}, "validation": {"cat": 3, "dog": 3},
                        "test": {"cat": 3, "dog": 3}}
    assert not set(s.paths["validation"]) & set(s.paths["test"])
    assert Path(s.paths["test"][0]).name == "cat.103.jpg"


def test_flatten_length_reference():
    assert flatten_length_reference(150) == 7 * 7 * 128
    assert flatten_length_reference(96) == 4 * 4 * 128
    with pytest.raises(ValueError):
        flatten_length_reference(20)


def test_flatten_length_matches_the_shared_architecture():
    import keras

    from course_utils.keras_.models import cats_dogs_scratch_cnn

    model = cats_dogs_scratch_cnn(96)
    flatten = next(layer for layer in model.layers if isinstance(layer, keras.layers.Flatten))
    assert flatten.output.shape[-1] == flatten_length_reference(96)


# ------------------------------------------------------------------------------------------------
# keras_transfer
# ------------------------------------------------------------------------------------------------
def _toy_base():
    import keras
    from keras import layers

    inp = keras.Input((16, 16, 3))
    x = inp
    for name in ["block4_conv1", "block4_pool", "block5_conv1", "block5_conv2", "block5_conv3"]:
        layer = layers.MaxPooling2D(1, name=name) if "pool" in name else layers.Conv2D(4, 3, padding="same", name=name)
        x = layer(x)
    x = layers.MaxPooling2D(2, name="block5_pool")(x)
    return keras.Model(inp, x, name="vgg16_toy")


def test_unfreeze_from_unfreezes_the_block_and_the_tutorial_loop_does_not():
    from course_utils.keras_.transfer import (
        backbone_name_of,
        tutorial_unfreeze,
        unfreeze_from,
    )

    base = _toy_base()
    assert tutorial_unfreeze(base, "block5_conv1") == ["block5_conv1"]
    assert unfreeze_from(base, "block5_conv1") == ["block5_conv1", "block5_conv2", "block5_conv3"]
    assert not base.get_layer("block4_conv1").trainable and base.get_layer("block5_pool").trainable
    with pytest.raises(ValueError):
        unfreeze_from(base, "no_such_layer")
    assert backbone_name_of(base) == "vgg16"


def test_preprocessing_layers_match_keras_applications():
    import keras

    from course_utils.keras_.transfer import (
        preprocessing_layer,
    )

    x = np.random.default_rng(0).uniform(0, 255, (2, 8, 8, 3)).astype("float32")
    vgg = preprocessing_layer("vgg16")(x)
    ref = keras.applications.vgg16.preprocess_input(x.copy())
    assert np.allclose(np.asarray(vgg), ref, atol=1e-3)
    mob = preprocessing_layer("mobilenet_025")(x)
    assert np.allclose(np.asarray(mob), keras.applications.mobilenet.preprocess_input(x.copy()), atol=1e-5)


@pytest.fixture
def no_weights(monkeypatch):
    """No weights file can be had (offline, no cache, no mirror)."""
    import course_utils.keras_.transfer as transfer

    monkeypatch.setattr(transfer, "get_weights", lambda name: DataInfo(name=name, title=name, root=Path("."),
                                                                        source="unavailable", origin="offline"))


def test_load_backbone_falls_back_to_random_weights_loudly(capsys, no_weights):
    from course_utils.keras_.transfer import (
        build_base,
        load_backbone,
    )

    bb = load_backbone(32)[0]
    assert bb.name == "mobilenet_025" and bb.weights_source == "random" and bb.weights_path is None
    assert "RANDOM WEIGHTS" in capsys.readouterr().out
    assert bb.output_shape == (1, 1, 256)
    with pytest.raises(ValueError):
        load_backbone(32, backbone="resnet")[0]
    with pytest.raises(ValueError):
        build_base("vgg16", 16)


def test_frozen_model_trains_only_the_head(no_weights):
    from course_utils.keras_.transfer import (
        count_trainable,
        find_base,
        frozen_base_model,
        keras_augmentation,
        load_backbone,
    )

    bb = load_backbone(32)[0]
    model = frozen_base_model(bb, keras_augmentation(seed=0))
    assert count_trainable(model)[0] == 4          # two Dense layers: kernel + bias each
    assert find_base(model) is bb.model


# ------------------------------------------------------------------------------------------------
# cam
# ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def gap_model():
    import keras

    from course_utils.keras_.models import cats_dogs_gap_cnn

    keras.utils.set_random_seed(1)
    return cats_dogs_gap_cnn(32)


def test_cam_matches_the_hand_computation_and_gradcam(gap_model):
    from course_utils.keras_ import cam

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
    assert up.shape == (3, 32, 32)
    assert np.allclose(up.max(axis=(1, 2)), 1.0) and np.allclose(up.min(axis=(1, 2)), 0.0)
    assert cam.find_last_conv(gap_model) == (None, "last_conv")


def test_cam_of_a_reloaded_model_raises_no_input_structure_warning(tmp_path):
    """A model saved and loaded again (as 12 loads 09's) has a one-item input list; CAM must call it
    without Keras' "structure of `inputs` doesn't match" warning, which stored notebooks would show."""
    import warnings

    import keras

    from course_utils.keras_ import cam
    from course_utils.keras_.models import cats_dogs_gap_cnn

    cats_dogs_gap_cnn(32, widths=(4, 8), batchnorm=True, stem_stride=2).save(tmp_path / "gap.keras")
    reloaded = keras.models.load_model(tmp_path / "gap.keras")
    x = np.random.default_rng(0).uniform(0, 1, (2, 32, 32, 3)).astype("float32")
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        maps, _ = cam.class_activation_maps(reloaded, x)
    assert maps.shape == (2, 8, 8)


def test_gradcam_works_through_a_nested_base_where_the_naive_recipe_fails(no_weights):
    from course_utils.keras_ import cam
    from course_utils.keras_.transfer import (
        frozen_base_model,
        load_backbone,
    )

    bb = load_backbone(64)[0]
    model = frozen_base_model(bb)
    nested, layer = cam.find_last_conv(model)
    assert nested == bb.model.name and layer == "conv_pw_13_relu"
    finer = cam.find_last_conv(model, finer=2)
    assert finer == (nested, "conv_pw_11_relu")                   # the stage before the last stride
    base = model.get_layer(nested)
    assert base.get_layer(finer[1]).output.shape[1] == 2 * base.get_layer(layer).output.shape[1]
    assert cam.grad_cam(model, np.zeros((1, 64, 64, 3), "float32"), finer[1], nested=nested)[0].shape == (1, 4, 4)
    with pytest.raises(ValueError):
        cam.naive_grad_model(model, layer, nested)
    x = np.random.default_rng(0).uniform(0, 255, (2, 64, 64, 3)).astype("float32")
    maps, probs = cam.grad_cam(model, x, upsample_to=64)
    assert maps.shape == (2, 64, 64)
    assert np.allclose(probs, model.predict(x, verbose=0), atol=1e-5)
    assert np.all((maps >= 0) & (maps <= 1))


def test_normalize_maps_and_labelled_class_maps(gap_model):
    from course_utils import cam
    from course_utils.keras_ import cam as keras_cam

    x = np.random.default_rng(2).uniform(0, 1, (4, 32, 32, 3)).astype("float32")
    dog, _ = keras_cam.class_activation_maps(gap_model, x, target=[1, 1, 1, 1], relu=False)
    cat, _ = keras_cam.class_activation_maps(gap_model, x, target=[0, 0, 0, 0], relu=False)
    assert np.allclose(dog + cat, 1.0, atol=1e-5)               # the cat map is the dog map, sign flipped
    gc_dog, _ = keras_cam.grad_cam(gap_model, x, "last_conv", target=[1, 1, 1, 1])
    cam_dog, _ = keras_cam.class_activation_maps(gap_model, x, relu=True, target=[1, 1, 1, 1])
    assert np.allclose(gc_dog, cam_dog, atol=1e-4)
    m = np.array([[[-1.0, 0.0], [1.0, 3.0]]])
    assert np.allclose(cam.normalize_maps(m), [[[0, 0], [1 / 3, 1]]])
    assert np.allclose(cam.normalize_maps(m, relu=False), [[[0, 0.25], [0.5, 1]]])


def test_extract_features_keeps_labels_aligned_on_a_shuffled_dataset(no_weights):
    import tensorflow as tf

    from course_utils.keras_.transfer import (
        base_extractor,
        extract_features,
        load_backbone,
    )

    bb = load_backbone(32)[0]
    x = np.stack([np.full((32, 32, 3), 255.0 * (i % 2), "float32") for i in range(24)])
    y = np.arange(24) % 2
    ds = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(24, seed=0, reshuffle_each_iteration=True).batch(5)
    feats, labels = extract_features(bb, ds)
    ref = np.asarray(base_extractor(bb)(x[:2], training=False))   # features of a black and a white image
    for f, lab in zip(feats, labels):
        assert np.allclose(f, ref[lab], atol=1e-4)


def test_gradcam_uses_logits_so_saturated_predictions_still_get_a_map(gap_model):
    import keras

    from course_utils.keras_ import cam

    sat = keras.models.clone_model(gap_model)
    sat.set_weights(gap_model.get_weights())
    w, b = sat.layers[-1].get_weights()
    sat.layers[-1].set_weights([w, b + 60.0])                     # p(dog) == 1.0 in float32
    x = np.random.default_rng(1).uniform(0, 1, (2, 32, 32, 3)).astype("float32")
    maps, probs = cam.grad_cam(sat, x, "last_conv")
    assert np.all(probs == 1.0)
    assert np.allclose(maps, cam.class_activation_maps(sat, x, relu=True)[0], atol=1e-4)
    assert all(m.max() == 1.0 for m in maps)
