"""Pretrained Keras convolutional bases for transfer learning (taught in 10_transfer_learning,
Part A; fine-tuning in 11_fine_tuning; the augmentation block is taught in 09).

* :func:`load_backbone` -- VGG16 with ImageNet weights (the book's choice) when its weights can be
  had, else the real ImageNet weights of MobileNet v1 (alpha 0.25), else random weights with a
  loud warning. The weights come through the course's data layer (cache, mirror, download).
* :func:`extract_features` -- run the base once per image (one batched pass).
* :func:`feature_classifier` / :func:`frozen_base_model` -- the small dense head, and the
  end-to-end model with augmentation and the base frozen.
* :func:`unfreeze_from` / :func:`tutorial_unfreeze` -- unfreeze a whole top block (right) versus
  the widespread loop that leaves a single layer trainable (the bug, shown in 11).

Importing this module loads PyTorch, then Keras (to register the VGG16 preprocessing layer that
saved models refer to); the command line never imports it.
"""
from __future__ import annotations

import importlib.util
from dataclasses import dataclass

import numpy as np

from course_utils.data.datasets import get_weights
from course_utils.setup.env import load_frameworks_in_safe_order

load_frameworks_in_safe_order()  # PyTorch before TensorFlow: see course_utils/__init__.py

#: backbone name -> how to build it. ``start_layer``: first layer of the top block unfrozen in 11.
BACKBONES = {
    "vgg16": {"weights": "keras_vgg16_notop", "title": "VGG16", "start_layer": "block5_conv1",
              "preprocess": "caffe", "min_size": 32},
    "mobilenet_025": {"weights": "keras_mobilenet_025_notop", "title": "MobileNet v1 (alpha 0.25)",
                      "start_layer": "conv_dw_12", "preprocess": "tf", "min_size": 32},
}
#: The ImageNet channel means (BGR) that VGG16's ``preprocess_input`` subtracts ("caffe" mode).
VGG_MEAN_BGR = (103.939, 116.779, 123.68)


@dataclass
class Backbone:
    """A loaded convolutional base and where its weights came from."""
    name: str                 # "vgg16" | "mobilenet_025"
    model: object             # the keras Model (include_top=False)
    weights_source: str       # "imagenet (cache|mirror|download)" or "random"
    weights_path: str | None
    preprocess: object        # a keras layer mapping [0, 255] RGB to what the base expects

    @property
    def start_layer(self) -> str:
        return BACKBONES[self.name]["start_layer"]

    @property
    def output_shape(self) -> tuple:
        return tuple(int(d) for d in self.model.output.shape[1:])


def preprocessing_layer(backbone: str):
    """A Keras layer turning [0, 255] RGB pixels into the base's input convention, *inside* the
    model (so augmentation runs before it and a saved model carries it):
    MobileNet wants [-1, 1]; VGG16 wants BGR minus the ImageNet channel means ("caffe" mode)."""
    import keras

    if BACKBONES[backbone]["preprocess"] == "tf":
        return keras.layers.Rescaling(1.0 / 127.5, offset=-1.0, name="to_minus1_1")
    return CaffePreprocess(name="caffe_preprocess")


_CAFFE_CLASS = None


def _caffe_layer_class():
    global _CAFFE_CLASS
    if _CAFFE_CLASS is not None:
        return _CAFFE_CLASS
    import keras

    @keras.saving.register_keras_serializable(package="course_utils")
    class CaffePreprocess(keras.layers.Layer):
        """RGB [0, 255] -> BGR minus the ImageNet means: VGG16's ``preprocess_input`` as a layer."""

        def call(self, x):
            x = keras.ops.flip(x, axis=-1)
            return x - keras.ops.convert_to_tensor(np.array(VGG_MEAN_BGR, dtype="float32"))

    _CAFFE_CLASS = CaffePreprocess
    return CaffePreprocess


def CaffePreprocess(**kwargs):  # noqa: N802 - behaves like a layer class
    """Build the VGG16 preprocessing layer (class registered on first use, for ``.keras`` files)."""
    return _caffe_layer_class()(**kwargs)


# Register the layer class at import: `keras.models.load_model` must know it to read a VGG16 model
# saved by 10 or 11 (the `full` profile's backbone) in 11 and 12.
if importlib.util.find_spec("keras") is not None:
    _caffe_layer_class()


def build_base(backbone: str, image_size: int, weights=None):
    """The convolutional base (``include_top=False``) for square ``image_size`` inputs."""
    import keras

    if backbone not in BACKBONES:
        raise ValueError(f"backbone {backbone!r} is not one of {sorted(BACKBONES)}")
    if image_size < BACKBONES[backbone]["min_size"]:
        raise ValueError(f"{backbone} needs image_size >= {BACKBONES[backbone]['min_size']}, got {image_size}")
    shape = (int(image_size), int(image_size), 3)
    if backbone == "vgg16":
        return keras.applications.VGG16(include_top=False, weights=weights, input_shape=shape)
    import warnings

    with warnings.catch_warnings():  # "weights for 224 are loaded" at other sizes: expected here
        warnings.simplefilter("ignore", UserWarning)
        return keras.applications.MobileNet(alpha=0.25, include_top=False, weights=weights, input_shape=shape)


LOUD = "!" * 78


def load_backbone(image_size: int, backbone: str | None = None, tiny: bool = False):
    """``(backbone, weights_infos)``: a pretrained base with weights through the data layer.

    ``backbone=None`` tries VGG16's ImageNet weights, then MobileNet (alpha 0.25)'s; a named
    backbone tries only its own. When no weights can be had the base gets random weights and a
    loud warning (the accuracies are then meaningless, and the metrics file says ``random``).
    ``weights_infos`` lists every weights file tried (record them with ``run.record``). With
    ``tiny`` (a ``--tiny`` run) a backbone without weights keeps the profile's model choice with
    random weights: the notebook records that stand-in with ``run.stand_in`` (its
    ``weights_source`` starts with ``random``).
    """
    order = [backbone] if backbone else ["vgg16", "mobilenet_025"]
    tried = []
    for name in order:
        if name not in BACKBONES:
            raise ValueError(f"backbone {name!r} is not one of {sorted(BACKBONES)}")
        info = get_weights(BACKBONES[name]["weights"])
        tried.append(info)
        if info.real:
            base = build_base(name, image_size, weights=str(info.root))
            src = f"imagenet ({info.source})"
            print(f"Backbone: {BACKBONES[name]['title']} with ImageNet weights from {info.source}")
            return Backbone(name, base, src, str(info.root), preprocessing_layer(name)), tried
        # the whole reason is printed once, by run.record(*tried), with the other weights tried
        print(f"{BACKBONES[name]['title']}: no ImageNet weights could be had"
              + ("" if tiny or name == order[-1] else "; trying the next backbone"))
        if tiny:  # a tiny run keeps the profile's model choice; random weights stand in
            return (Backbone(name, build_base(name, image_size, weights=None), "random (stand-in)", None,
                             preprocessing_layer(name)), tried)
    name = order[-1]
    print(f"{LOUD}\nRANDOM WEIGHTS: no ImageNet weights could be had for {', '.join(order)}.\n"
          f"The {BACKBONES[name]['title']} base below is untrained: transfer learning cannot work and\n"
          f"every accuracy in this notebook is meaningless. Set COURSE_DATA_MIRROR or go online.\n{LOUD}")
    return Backbone(name, build_base(name, image_size, weights=None), "random", None, preprocessing_layer(name)), tried


def keras_augmentation(rotation: float = 0.1, zoom: float = 0.2, translation: float = 0.1,
                       seed: int | None = None, name: str = "augmentation"):
    """The augmentation block as Keras preprocessing layers (active in ``fit`` only, identity at
    inference): horizontal flip, rotation (a fraction of a full turn: 0.1 = +-36 degrees), zoom,
    translation (fractions of the image size). Taught in 09_cats_vs_dogs_augmentation."""
    import keras
    from keras import layers

    return keras.Sequential([
        layers.RandomFlip("horizontal", seed=seed),
        layers.RandomRotation(rotation, fill_mode="nearest", seed=seed),
        layers.RandomZoom(zoom, fill_mode="nearest", seed=seed),
        layers.RandomTranslation(translation, translation, fill_mode="nearest", seed=seed),
    ], name=name)


def base_extractor(bb: Backbone):
    """``[0, 255]`` images -> base feature maps (preprocessing included), for :func:`extract_features`."""
    import keras

    inp = keras.Input(shape=bb.model.input.shape[1:])
    return keras.Model(inp, bb.model(bb.preprocess(inp), training=False), name="feature_extractor")


def extract_features(bb: Backbone, dataset) -> tuple[np.ndarray, np.ndarray]:
    """Run the frozen base once over a ``tf.data`` dataset of ``([0, 255] images, labels)``;
    returns ``(features, labels)``, one batch at a time (never one image at a time).

    Features and labels are collected in the *same* pass: a shuffled dataset gives a new order
    on every pass, so reading the labels in one pass and ``predict``-ing in another would pair
    images with the wrong labels."""
    extractor = base_extractor(bb)
    feats, labels = [], []
    for x, y in dataset:
        feats.append(np.asarray(extractor(x, training=False)))
        labels.append(np.asarray(y))
    return np.concatenate(feats), np.concatenate(labels)


def feature_classifier(feature_shape, units: int = 256, dropout: float = 0.5):
    """The small dense classifier trained on stored features: Flatten, Dense(256, ReLU),
    Dropout, Dense(1, sigmoid). Uncompiled."""
    import keras
    from keras import layers

    return keras.Sequential([keras.Input(shape=tuple(feature_shape)), layers.Flatten(),
                             layers.Dense(units, activation="relu"), layers.Dropout(dropout),
                             layers.Dense(1, activation="sigmoid")], name="feature_classifier")


def frozen_base_model(bb: Backbone, augmentation=None, units: int = 256, dropout: float = 0.5):
    """End to end: input [0, 255] -> augmentation -> preprocessing -> base (frozen, BatchNorm in
    inference mode) -> the same head as :func:`feature_classifier`. Uncompiled.

    The base is called with ``training=False`` so that, even after unfreezing in 11, its
    BatchNorm layers keep their ImageNet statistics (the Keras fine-tuning guide's advice).
    """
    import keras
    from keras import layers

    bb.model.trainable = False
    inp = keras.Input(shape=bb.model.input.shape[1:], name="image")
    x = augmentation(inp) if augmentation is not None else inp
    x = bb.preprocess(x)
    x = bb.model(x, training=False)
    x = layers.Flatten()(x)
    x = layers.Dense(units, activation="relu")(x)
    x = layers.Dropout(dropout)(x)
    out = layers.Dense(1, activation="sigmoid")(x)
    return keras.Model(inp, out, name=f"{bb.name}_frozen")


def count_trainable(model) -> tuple[int, int]:
    """``(trainable weight tensors, trainable parameters)`` -- the book printed the first."""
    return len(model.trainable_weights), int(sum(np.prod(w.shape) for w in model.trainable_weights))


def unfreeze_from(base, layer_name: str) -> list[str]:
    """Make ``layer_name`` and every layer after it trainable, everything before it frozen (the
    book's ``set_trainable`` loop). Returns the names of the layers that hold trainable weights."""
    names = [layer.name for layer in base.layers]
    if layer_name not in names:
        raise ValueError(f"{layer_name!r} is not a layer of {base.name}; e.g. {names[-5:]}")
    base.trainable = True
    start = names.index(layer_name)
    for i, layer in enumerate(base.layers):
        layer.trainable = i >= start
    return [layer.name for layer in base.layers if layer.trainable and layer.trainable_weights]


def tutorial_unfreeze(base, layer_name: str) -> list[str]:
    """The loop many tutorials copied -- ``if layer.name == 'block5_conv1': layer.trainable = True
    else: layer.trainable = False`` -- which leaves only that ONE layer trainable, not the block.
    Kept to show the bug in 11; do not use it."""
    if layer_name not in [layer.name for layer in base.layers]:
        raise ValueError(f"{layer_name!r} is not a layer of {base.name}")
    base.trainable = True
    for layer in base.layers:
        layer.trainable = layer.name == layer_name
    return [layer.name for layer in base.layers if layer.trainable and layer.trainable_weights]


def find_base(model):
    """The nested pretrained base inside a model built by :func:`frozen_base_model`."""
    for layer in model.layers:
        if hasattr(layer, "layers") and layer.name not in ("augmentation",) and len(layer.layers) > 10:
            return layer
    raise ValueError(f"{model.name} holds no nested convolutional base")


def backbone_name_of(base) -> str:
    """``"vgg16"`` or ``"mobilenet_025"`` for a base built by :func:`build_base` (e.g. reloaded
    from a ``.keras`` file)."""
    name = base.name.lower()
    if name.startswith("vgg16"):
        return "vgg16"
    if name.startswith("mobilenet"):
        return "mobilenet_025"
    raise ValueError(f"unknown backbone {base.name!r}")
