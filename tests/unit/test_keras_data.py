"""tf.data helpers shared by the Keras notebooks."""
import numpy as np
import pytest

import course_utils  # noqa: F401  (PyTorch before TensorFlow)


def test_labels_and_probabilities_pairs_labels_with_their_images_on_a_shuffled_dataset():
    keras = pytest.importorskip("keras")
    import tensorflow as tf

    from course_utils.keras_.data import labels_and_probabilities

    x = np.arange(40, dtype=np.float32)[:, None]
    ds = tf.data.Dataset.from_tensor_slices((x, x[:, 0].astype(np.int64))).shuffle(40, seed=1).batch(8)
    model = keras.Sequential([keras.Input((1,)), keras.layers.Identity()])
    y, p = labels_and_probabilities(model, ds)
    assert sorted(y.tolist()) == list(range(40))
    np.testing.assert_array_equal(p[:, 0], y.astype(np.float32))


def test_keras_like_split_and_group_split():
    from course_utils.data.splits import group_split, keras_like_split

    tr, va = keras_like_split(100, 0.3, seed=5)
    assert len(va) == 30 and len(tr) == 70 and not set(tr) & set(va)
    groups = np.repeat(np.arange(30), 4)
    labels = (groups % 2).astype(int)
    a, b, c = group_split(groups, seed=0, labels=labels)
    assert len(a) + len(b) + len(c) == 120
    assert not (set(groups[a]) & set(groups[b]) or set(groups[a]) & set(groups[c]) or set(groups[b]) & set(groups[c]))
    for idx in (a, b, c):
        assert set(labels[idx]) == {0, 1}, "each split keeps both classes"
    assert 0.55 <= len(a) / 120 <= 0.85


def test_split_dataset_builds_each_split_and_shuffles_only_training(tmp_path):
    from types import SimpleNamespace

    from PIL import Image

    from course_utils.keras_.data import split_dataset

    paths = []
    for i in range(20):
        paths.append(tmp_path / f"img{i}.png")
        Image.new("RGB", (10, 10), (12 * i, 0, 0)).save(paths[-1])
    labels = list(range(20))
    split = SimpleNamespace(paths={"train": paths, "test": paths}, labels={"train": labels, "test": labels})
    test = [int(y) for _, ys in split_dataset(split, "test", 8, 2) for y in ys.numpy()]
    assert test == labels                      # evaluation splits keep their order
    train = [int(y) for _, ys in split_dataset(split, "train", 8, 2, seed=3) for y in ys.numpy()]
    assert sorted(train) == labels and train != labels
    x, _ = next(iter(split_dataset(split, "test", 8, 6)))
    assert x.shape == (6, 8, 8, 3) and float(x.numpy().max()) <= 1.0   # rescaled to [0, 1]
