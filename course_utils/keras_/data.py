"""tf.data pipelines over the scanner's clean file list (Keras notebooks 07-12).

Why not ``keras.utils.image_dataset_from_directory`` directly? It reads every file in the folder
and stops at the first broken one. These helpers keep its semantics (class sub-folders, labels
in alphabetical class order, ``validation_split`` + ``seed``, ``image_size``, ``batch_size``) but
run over the files the scanner found clean, so bad files are reported and skipped instead.

Images are decoded natively by TensorFlow (``tf.io.read_file`` + ``tf.io.decode_image`` with
``channels=3``, ``expand_animations=False``), inside the graph, so a parallel ``map`` really decodes
on every core. Pillow inside ``tf.numpy_function`` holds Python's GIL and serialises decoding; it is
kept only for files TensorFlow cannot decode (CMYK JPEGs, TIFF, WebP ...), found from each file's
header by :func:`needs_pillow`, and for ``decoder="pil"``.

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


#: Formats ``tf.io.decode_image`` reads, and the Pillow modes it turns into RGB as Pillow would.
NATIVE_FORMATS = {"JPEG", "PNG", "GIF", "BMP"}
NATIVE_MODES = {"RGB", "L", "RGBA", "LA", "P", "I;16", "I;16B", "1"}


def needs_pillow(path) -> bool:
    """True when TensorFlow's own decoders cannot read ``path`` as Pillow would: a format other
    than JPEG/PNG/GIF/BMP, or a mode such as CMYK. Reads the header only (no pixels)."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            return im.format not in NATIVE_FORMATS or im.mode not in NATIVE_MODES \
                or (im.format == "JPEG" and im.mode not in ("RGB", "L"))
    except Exception:  # the scanner has already left unreadable files out; let Pillow report it
        return True


def decode_native(path, image_size: int):
    """One file -> float32 ``(image_size, image_size, 3)`` in [0, 255], entirely in TensorFlow:
    ``read_file`` -> ``decode_image`` (3 channels; the first frame of a GIF) -> bilinear resize."""
    import tensorflow as tf

    img = tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False, dtype=tf.uint8)
    img = tf.image.resize(img, (image_size, image_size), method="bilinear", antialias=True)
    return tf.clip_by_value(img, 0.0, 255.0)


def make_dataset(paths, labels, image_size: int, batch_size: int, shuffle: bool = False, seed: int = 0,
                 cache: bool = True, prefetch: bool = True, rescale: bool = True, augment=None,
                 decoder: str = "native", parallel: bool | None = None):
    """A ``tf.data.Dataset`` of ``(images, labels)`` batches from file paths.

    Order of the stages, and why: decode (expensive; a parallel ``map``) -> ``cache`` (decode
    once, not every epoch) -> ``shuffle`` (after the cache, so each epoch gets a new order) ->
    ``batch`` -> ``map`` (rescale to [0, 1]; augmentation on training batches only) ->
    ``prefetch`` (prepare the next batch while the model trains on this one).

    ``decoder="native"`` decodes with TensorFlow (files it cannot read go through Pillow, see
    :func:`needs_pillow`); ``"pil"`` decodes everything with Pillow, as older versions did.
    ``parallel`` (default: the value of ``prefetch``) runs the decoding ``map`` with
    ``num_parallel_calls=AUTOTUNE``, in a fixed order so runs are repeatable.
    """
    import tensorflow as tf

    if decoder not in ("native", "pil"):
        raise ValueError(f"decoder must be 'native' or 'pil', not {decoder!r}")
    paths = [str(p) for p in paths]
    labels = np.asarray(labels)
    use_pil = [True] * len(paths) if decoder == "pil" else [needs_pillow(p) for p in paths]

    def pil_decode(path):
        img = tf.numpy_function(lambda p: load_image_array(p, image_size), [path], tf.float32)
        img.set_shape((image_size, image_size, 3))
        return img

    def decode(path, pil):
        if not any(use_pil):
            return decode_native(path, image_size)
        if all(use_pil):
            return pil_decode(path)
        return tf.cond(pil, lambda: pil_decode(path), lambda: decode_native(path, image_size))

    ds = tf.data.Dataset.from_tensor_slices((paths, labels, use_pil))
    parallel = prefetch if parallel is None else parallel
    if parallel:
        ds = ds.map(lambda p, y, pil: (decode(p, pil), y), num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    else:
        ds = ds.map(lambda p, y, pil: (decode(p, pil), y))
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


