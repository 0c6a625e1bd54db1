"""tf.data pipelines over the scanner's clean file list (Keras notebooks 07-12).

Why not ``keras.utils.image_dataset_from_directory`` directly? It reads every file in the folder
and stops at the first broken one. These helpers keep its semantics (class sub-folders, labels
in alphabetical class order, ``validation_split`` + ``seed``, ``image_size``, ``batch_size``) but
run over the files the scanner found clean, so bad files are reported and skipped instead.
Images are decoded with Pillow (inside ``tf.numpy_function``), which converts grayscale, CMYK,
palette and RGBA images to RGB the same way the PyTorch loaders do.

Taught in 07_monkeypox_classifier (the cache / shuffle / map / prefetch pipeline and its timing).
"""
from __future__ import annotations

import numpy as np

from course_utils.data.scan import load_rgb
from course_utils.setup.env import load_frameworks_in_safe_order

load_frameworks_in_safe_order()  # PyTorch before TensorFlow: see course_utils/__init__.py


def load_image_array(path, image_size: int) -> np.ndarray:
    """One image as a float32 HxWx3 array in [0, 255], resized to ``image_size`` (square)."""
    if isinstance(path, bytes):
        path = path.decode()
    return np.asarray(load_rgb(path, (image_size, image_size)), dtype=np.float32)


def load_images(paths, image_size: int) -> np.ndarray:
    """Many images into one uint8 array (N, H, W, 3): small datasets fit in memory."""
    return np.stack([load_image_array(p, image_size).astype(np.uint8) for p in paths]) if len(paths) else \
        np.zeros((0, image_size, image_size, 3), np.uint8)


def make_dataset(paths, labels, image_size: int, batch_size: int, shuffle: bool = False, seed: int = 0,
                 cache: bool = True, prefetch: bool = True, rescale: bool = True, augment=None):
    """A ``tf.data.Dataset`` of ``(images, labels)`` batches from file paths.

    Order of the stages, and why: decode (expensive) -> ``cache`` (decode once, not every epoch)
    -> ``shuffle`` (after the cache, so each epoch gets a new order) -> ``batch`` -> ``map``
    (rescale to [0, 1]; augmentation on training batches only) -> ``prefetch`` (prepare the next
    batch while the model trains on this one).
    """
    import tensorflow as tf

    paths = [str(p) for p in paths]
    labels = np.asarray(labels)

    def decode(path):
        img = tf.numpy_function(lambda p: load_image_array(p, image_size), [path], tf.float32)
        img.set_shape((image_size, image_size, 3))
        return img

    ds = tf.data.Dataset.from_tensor_slices((paths, labels))
    if prefetch:  # parallel decoding, in a fixed order so runs are repeatable
        ds = ds.map(lambda p, y: (decode(p), y), num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    else:
        ds = ds.map(lambda p, y: (decode(p), y))
    if cache:
        ds = ds.cache()
    if shuffle:
        ds = ds.shuffle(len(paths), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size)
    if rescale:
        ds = ds.map(lambda x, y: (x / 255.0, y))
    if augment is not None:
        ds = ds.map(lambda x, y: (augment(x, training=True), y))
    if prefetch:
        ds = ds.prefetch(tf.data.AUTOTUNE)
    return ds


def split_dataset(split, name: str, image_size: int, batch_size: int, seed: int = 0, **options):
    """The :func:`make_dataset` pipeline of split ``name`` of ``split`` (anything with ``paths`` and
    ``labels`` per split name, e.g. :class:`course_utils.data.splits.CatsDogsSplit`): the
    training split shuffled with ``seed``, the others in order. ``options`` go to
    :func:`make_dataset` (``rescale``, ``augment``, ...). The one call notebooks 09-12 make."""
    return make_dataset(split.paths[name], split.labels[name], image_size, batch_size, shuffle=name == "train",
                        seed=seed, **options)


def labels_and_probabilities(model, dataset):
    """True labels and predicted probabilities for a whole dataset, batch by batch in one pass
    (never a per-image ``predict`` loop: that is hundreds of times slower). One pass matters: a
    shuffled dataset iterated twice would pair images with another order's labels."""
    ys, probs = [], []
    for x, y in dataset:
        ys.append(y.numpy() if hasattr(y, "numpy") else np.asarray(y))
        probs.append(np.asarray(model.predict_on_batch(x)))
    if not ys:
        raise ValueError("labels_and_probabilities() got an empty dataset")
    return np.concatenate(ys), np.concatenate(probs)


