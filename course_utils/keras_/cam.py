"""Class activation maps for Keras models (taught in 12_class_activation_maps, Part A).

* :func:`class_activation_maps` -- CAM for a global-average-pooling model (09's
  ``cats_dogs_gap_cnn``): ``CAM = sum_k w_k F_k`` with ``w`` the weights of the last Dense layer
  and ``F_k`` the last conv layer's feature maps. It builds the ``cam_model`` (last conv maps and
  the prediction from one input) that the original tutorial called but never defined.
* :func:`grad_cam` -- Grad-CAM for any model: the feature maps weighted by the gradient of the
  predicted class score. Works for Sequential models and for models with a *nested* base
  (``keras.Model`` inside a ``keras.Model``, as in 10/11), where the usual recipe
  ``keras.Model(model.inputs, [base.get_layer(name).output, model.output])`` fails with
  "Graph disconnected" (see :func:`naive_grad_model`).

Binary sigmoid models (one unit, p = P(dog)): the map explains the class the model chose -- for
Grad-CAM the score is the logit z for "dog" and -z for "cat" (logits, not probabilities: the
gradient of a saturated p = 1.000 is zero and its map would be empty).
"""
from __future__ import annotations

import numpy as np

from course_utils.cam import normalize_maps, upsample


def _keras():
    import keras

    return keras


def _is_input(layer) -> bool:
    return type(layer).__name__ == "InputLayer"


def _is_nested(layer) -> bool:
    return hasattr(layer, "layers") and len(getattr(layer, "layers", [])) > 0


def _rank4(layer) -> bool:
    try:
        return len(layer.output.shape) == 4
    except (AttributeError, ValueError):
        return False


def _is_map(layer) -> bool:
    """A layer whose output is a stack of feature maps: 4-D, not pooling, not the input."""
    return _rank4(layer) and "pool" not in type(layer).__name__.lower() and not _is_input(layer)


def find_last_conv(model, finer: int = 1) -> tuple[str | None, str]:
    """``(nested_model_name or None, layer_name)`` of the last layer with a 4-D output that is not
    pooling, searching inside nested models too (VGG16: ``block5_conv3``; MobileNet:
    ``conv_pw_13_relu``; the GAP model: ``last_conv``).

    ``finer=2``: the last such layer whose maps are at least twice as large on a side, i.e. the
    end of the stage before the last downsampling (MobileNet: ``conv_pw_11_relu``, 10x10 instead
    of 5x5 at 160 pixels; VGG16: ``block4_conv3``). A finer map places evidence more precisely;
    its features are less specific to the classes (the trade-off 12 measures)."""
    nested, name = _find_last_conv(model)
    if finer <= 1:
        return nested, name
    owner = model.get_layer(nested) if nested else model
    size = owner.get_layer(name).output.shape[1]
    for layer in reversed(owner.layers):
        if _is_map(layer) and "padding" not in type(layer).__name__.lower() and not _is_nested(layer) \
                and layer.output.shape[1] is not None and layer.output.shape[1] >= finer * size:
            return nested, layer.name
    raise ValueError(f"{owner.name} has no layer with maps {finer}x finer than {name!r}")


def _find_last_conv(model) -> tuple[str | None, str]:
    for layer in reversed(model.layers):
        if _is_nested(layer) and layer.name != "augmentation":
            try:
                inner = _find_last_conv(layer)
            except ValueError:
                continue
            return layer.name, inner[1]
        if _is_map(layer):
            return None, layer.name
    raise ValueError(f"{model.name} has no layer with a 4-D output")


def cam_model(model, conv_layer: str = "last_conv"):
    """The model the tutorial forgot to define: input -> (last conv feature maps, prediction)."""
    keras = _keras()
    # a single input as a tensor, not a one-item list: called on an array, a list-input model warns
    inputs = model.inputs[0] if len(model.inputs) == 1 else model.inputs
    return keras.Model(inputs, [model.get_layer(conv_layer).output, model.outputs[0]], name="cam_model")


def class_activation_maps(model, images, conv_layer: str = "last_conv", upsample_to: int | None = None,
                          relu: bool = False, target=None):
    """CAM for a GAP model ending in ``Dense(1, sigmoid)`` (or ``Dense(K, softmax)``).

    Returns ``(maps, probs)``: ``maps`` of shape ``(N, h, w)`` -- or ``(N, H, W)`` with
    ``upsample_to`` -- for each image's predicted class, scaled to [0, 1] (min-max as in the CAM
    paper; ``relu=True`` cuts negative evidence first, as Grad-CAM does); ``probs`` the model's
    outputs. One batched call, no per-image loop. ``target`` (one class index per image) asks for
    that class instead of the predicted one (the pointing game of 12 uses the labelled class).
    """
    dense = model.layers[-1]
    w, _ = dense.get_weights()                       # (C, units)
    # a direct call, not predict(): predict traces a new tf.function for every new model it sees
    feats, probs = (np.asarray(t) for t in cam_model(model, conv_layer)(np.asarray(images, np.float32), training=False))
    if w.shape[1] == 1:                              # sigmoid: the dog unit, sign flipped for cats
        dog = probs[:, 0] >= 0.5 if target is None else np.asarray(target) == 1
        sign = np.where(dog, 1.0, -1.0)
        maps = np.einsum("nhwc,c->nhw", feats, w[:, 0]) * sign[:, None, None]
    else:
        cls = probs.argmax(axis=1) if target is None else np.asarray(target, dtype=int)
        maps = np.einsum("nhwc,cn->nhw", feats, w[:, cls])
    maps = normalize_maps(maps, relu)
    if upsample_to is not None:
        maps = normalize_maps(upsample(maps, upsample_to), relu)
    return maps, probs


def naive_grad_model(model, layer_name: str, nested: str | None = None):
    """The usual Grad-CAM recipe, ``keras.Model(model.inputs, [layer.output, model.output])``.
    With a nested base (``nested`` given) the layer lives in the base's own graph, and Keras
    raises "Graph disconnected" / "not connected" -- shown in 12, fixed by :func:`grad_cam`."""
    keras = _keras()
    owner = model.get_layer(nested) if nested else model
    return keras.Model(model.inputs, [owner.get_layer(layer_name).output, model.outputs[0]])


def _check_chain(model) -> None:
    """Walking a model layer by layer is only right when each layer feeds the next: no merge
    layers (Add, Concatenate...) at the top level (nested bases may have any graph)."""
    for layer in model.layers:
        if any(c.__name__ == "Merge" for c in type(layer).__mro__):
            raise ValueError(f"{model.name}: {layer.name} merges several inputs, so the model is not a "
                             "simple chain of layers; grad_cam walks chains (with nested bases of any shape)")


def _forward(model, x, layer_name: str, nested: str | None):
    """Run ``model`` on ``x`` (inside a GradientTape); returns (target activations, output,
    logits). The logits are the last Dense layer's input times its kernel plus bias, *before* the
    sigmoid/softmax: a saturated probability (p = 1.000) has a zero gradient, a logit never does."""
    keras = _keras()
    _check_chain(model)
    act, logits = None, None
    layers = [layer for layer in model.layers if not _is_input(layer)]
    for i, layer in enumerate(layers):
        if nested is not None and layer.name == nested:
            sub = keras.Model(layer.inputs, [layer.get_layer(layer_name).output, layer.outputs[0]])
            act, x = sub(x, training=False)
            continue
        if i == len(layers) - 1 and isinstance(layer, keras.layers.Dense):
            logits = keras.ops.matmul(x, layer.kernel) + (layer.bias if layer.use_bias else 0.0)
        x = layer(x, training=False)
        if layer.name == layer_name:
            act = x
    if act is None:
        raise ValueError(f"layer {layer_name!r} was not found in {model.name}")
    return act, x, (logits if logits is not None else x)


def grad_cam(model, images, layer_name: str | None = None, nested: str | None = None,
             upsample_to: int | None = None, target=None):
    """Grad-CAM maps for the predicted class of each image: ``ReLU(sum_k a_k F_k)`` with
    ``a_k`` the spatial mean of d(score)/d(F_k), the score being the predicted class's logit
    (for one sigmoid unit: z for "dog", -z for "cat"). ``layer_name``/``nested`` default to
    :func:`find_last_conv`; ``target`` (one class index per image) replaces the predicted class.
    Returns ``(maps, probs)`` like :func:`class_activation_maps`."""
    import tensorflow as tf

    if layer_name is None:
        nested, layer_name = find_last_conv(model)
    x = tf.convert_to_tensor(np.asarray(images, np.float32))
    with tf.GradientTape() as tape:
        act, out, logits = _forward(model, x, layer_name, nested)
        if out.shape[-1] == 1:
            dog = out[:, 0] >= 0.5 if target is None else tf.constant(np.asarray(target) == 1)
            score = tf.where(dog, logits[:, 0], -logits[:, 0])
        else:
            cls = tf.argmax(out, axis=-1) if target is None else tf.constant(np.asarray(target, dtype="int64"))
            score = tf.gather(logits, cls, batch_dims=1)
    grads = tape.gradient(score, act)
    if grads is None:
        raise RuntimeError(f"no gradient flows from the output to {layer_name!r}")
    alpha = tf.reduce_mean(grads, axis=(1, 2))                     # (N, C)
    maps = tf.einsum("nhwc,nc->nhw", act, alpha).numpy()
    maps = normalize_maps(maps)
    if upsample_to is not None:
        maps = normalize_maps(upsample(maps, upsample_to))
    return maps, out.numpy()
