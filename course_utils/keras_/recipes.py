"""Training recipes a notebook and a script share, written once so the two cannot drift apart.

* :func:`train_cats_dogs_gap` -- 09's batch-normalized GAP model (taught in
  09_cats_vs_dogs_augmentation, section 4; repeated per seed by ``scripts/gap_spread.py``; its
  model is explained by 12).
"""
from __future__ import annotations

from course_utils.keras_ import data as keras_data
from course_utils.keras_ import train as keras_train
from course_utils.keras_.models import cats_dogs_gap_cnn
from course_utils.keras_.transfer import keras_augmentation


def train_cats_dogs_gap(split, image_size: int, batch_size: int, epochs: int, learning_rate: float, widths,
                        stem_stride: int, seed: int, dropout: float = 0.3, verbose: int = 1):
    """Train 09's GAP model on ``split`` (see :func:`course_utils.keras_.data.split_dataset`):
    :func:`cats_dogs_gap_cnn` with batch norm, ``widths`` and a first convolution of stride
    ``stem_stride``; Adam with a 2-epoch warm-up and a cosine decay from ``learning_rate``
    (:func:`keras_train.cosine_lambda`); the weights of the best validation epoch kept.

    The training images go through an augmentation layer of the recipe's own, seeded with
    ``seed``: a random layer's state moves on with every batch it transforms, so a layer shared
    with models trained before would make this run's draws depend on them. Returns
    ``(model, fit_result, test_dataset)``."""
    import keras

    augment = keras_augmentation(seed=seed)
    train_ds = keras_data.split_dataset(split, "train", image_size, batch_size, seed=seed, augment=augment)
    val_ds, test_ds = (keras_data.split_dataset(split, name, image_size, batch_size) for name in ("validation", "test"))
    keras.utils.set_random_seed(seed)
    model = cats_dogs_gap_cnn(image_size=image_size, widths=tuple(widths), batchnorm=True, dropout=dropout,
                              stem_stride=stem_stride)
    result = keras_train.fit(model, train_ds, val_ds, epochs=epochs, loss="binary_crossentropy", patience=epochs,
                             optimizer="adam", learning_rate=learning_rate, verbose=verbose,
                             lr_schedule=keras_train.cosine_lambda(learning_rate, epochs, warmup=2))
    return model, result, test_ds
