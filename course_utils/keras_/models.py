"""Keras models of 05, 07, 09 and 12: a CNN from a layer spec (the specs live in
:mod:`course_utils.arch`), the monkeypox CNN, the cats-vs-dogs scratch and GAP CNNs."""

from __future__ import annotations

from course_utils.arch import (
    CATS_DOGS_GAP_SPEC,
    CATS_DOGS_SCRATCH_SPEC,
    MONKEYPOX_SPEC,
    _next_is_relu,
)


def keras_from_spec(spec, input_shape, output_activation=None, name=None, last_conv_name=None):
    """Build the uncompiled ``keras.Sequential`` that a spec describes. Convs and hidden dense
    layers get a fused ReLU unless the spec lists an explicit ``("relu",)`` right after them (then
    the ReLU is its own layer, one Keras layer per spec entry); the last dense layer gets
    ``output_activation``. An integer padding adds a ZeroPadding2D layer."""
    import keras
    from keras import layers

    dense_idx = [i for i, l in enumerate(spec) if l[0] == "dense"]
    conv_idx = [i for i, l in enumerate(spec) if l[0] == "conv"]
    model = keras.Sequential(name=name)
    model.add(keras.Input(shape=tuple(input_shape)))
    for i, l in enumerate(spec):
        kind = l[0]
        if kind == "conv":
            _, f, k, s, p = l
            if p not in ("same", "valid"):
                if int(p):
                    model.add(layers.ZeroPadding2D(int(p)))
                p = "valid"
            cname = last_conv_name if (last_conv_name and i == conv_idx[-1]) else None
            act = None if _next_is_relu(spec, i) else "relu"
            model.add(layers.Conv2D(f, k, strides=s, padding=p, activation=act, name=cname))
        elif kind == "pool":
            model.add(layers.MaxPooling2D(l[1], strides=l[2]))
        elif kind == "avgpool":
            model.add(layers.AveragePooling2D(l[1], strides=l[2]))
        elif kind == "gap":
            model.add(layers.GlobalAveragePooling2D())
        elif kind == "flatten":
            model.add(layers.Flatten())
        elif kind == "dropout":
            model.add(layers.Dropout(l[1]))
        elif kind == "relu":
            model.add(layers.ReLU())
        elif kind == "dense":
            last = dense_idx and i == dense_idx[-1]
            act = output_activation if last else (None if _next_is_relu(spec, i) else "relu")
            model.add(layers.Dense(l[1], activation=act))
        else:
            raise ValueError(f"unknown layer kind {kind!r}")
    return model


def count_params_keras(model) -> int:
    """Number of parameters of a built Keras model (``model.count_params()``)."""
    return int(model.count_params())


# ----------------------------------------------------------------------------------------------
# The course's reference Keras models
# ----------------------------------------------------------------------------------------------
def _head_activation(n_outputs: int) -> str:
    # One unit: sigmoid + binary cross-entropy. Two or more: softmax + (sparse) categorical CE.
    # Never a multi-unit sigmoid with sparse categorical cross-entropy (the old tutorial's bug).
    return "sigmoid" if n_outputs == 1 else "softmax"


def monkeypox_cnn(input_shape=(250, 250, 3), n_outputs: int = 2, dropout: float = 0.0, output_activation=None):
    """The monkeypox tutorial's network: four conv(3x3, same, ReLU)-maxpool blocks with
    32-64-128-256 filters, a fifth 256-filter conv, Flatten, Dense 512 ReLU, Dense ``n_outputs``.
    30,471,234 parameters at 250x250x3 with 2 outputs. The head is softmax for ``n_outputs >= 2``
    and sigmoid for 1 (override with ``output_activation``, e.g. ``None``->default, ``"linear"``
    for logits). ``dropout`` > 0 adds Dropout before the last Dense. Uncompiled.
    Taught in 05_cnn_architectures; trained in 07_monkeypox_classifier."""
    spec = [l if l != ("dense", 2) else ("dense", int(n_outputs)) for l in MONKEYPOX_SPEC]
    if dropout:
        spec = spec[:-1] + [("dropout", float(dropout)), spec[-1]]
    act = output_activation or _head_activation(int(n_outputs))
    return keras_from_spec(spec, input_shape, output_activation=act, name="monkeypox_cnn")


def cats_dogs_scratch_cnn(image_size: int = 150, dropout: float = 0.0):
    """Chollet's cats-vs-dogs network from scratch: conv(3x3, valid)-maxpool blocks with
    32-64-128-128 filters, Flatten, [Dropout], Dense 512 ReLU, Dense 1 sigmoid.
    3,453,121 parameters at 150x150x3. Uncompiled. Taught in 05_cnn_architectures; trained in
    09_cats_vs_dogs_augmentation (``dropout=0.5`` with augmentation)."""
    spec = list(CATS_DOGS_SCRATCH_SPEC)
    if dropout:
        spec.insert(spec.index(("flatten",)) + 1, ("dropout", float(dropout)))
    return keras_from_spec(spec, (image_size, image_size, 3), output_activation="sigmoid",
                           name="cats_dogs_scratch_cnn")


def cats_dogs_gap_cnn(image_size: int = 150, widths=None, batchnorm: bool = False, dropout: float = 0.0,
                      stem_stride: int = 1, convs_per_block=1):
    """The global-average-pooling variant: conv(3x3, same, ReLU) with 16-32-64-128 filters and max
    pooling after the first three, GlobalAveragePooling2D, Dense 1 sigmoid (97,569 parameters at
    any image size). Its last conv layer is named ``last_conv`` for class activation maps.
    With ``widths``, ``batchnorm``, ``dropout``, ``stem_stride`` or ``convs_per_block`` it is
    :func:`bn_gap_cnn` with one sigmoid output (the wider, batch-normalized GAP net 09 trains).
    Uncompiled. Taught in 05; trained in 09_cats_vs_dogs_augmentation, used in 12."""
    if widths is None and not batchnorm and not dropout and stem_stride == 1 and isinstance(convs_per_block, int) \
            and convs_per_block == 1:
        return keras_from_spec(CATS_DOGS_GAP_SPEC, (image_size, image_size, 3), output_activation="sigmoid",
                               name="cats_dogs_gap_cnn", last_conv_name="last_conv")
    return bn_gap_cnn((image_size, image_size, 3), widths or (16, 32, 64, 128), n_outputs=1,
                      batchnorm=batchnorm, dropout=dropout, stem_stride=stem_stride,
                      convs_per_block=convs_per_block, name="cats_dogs_gap_cnn")


def bn_gap_cnn(input_shape, widths=(32, 64, 128, 256), n_outputs: int = 2, batchnorm: bool = True,
               dropout: float = 0.0, convs_per_block=1, bn_momentum: float = 0.9, stem_stride: int = 1,
               name: str = "bn_gap_cnn"):
    """A small modern convnet: per width, ``convs_per_block`` x [conv 3x3 (same) -> BatchNorm ->
    ReLU] (one count for every block, or one per block: depth is cheapest in the late, small
    blocks), then 2x2 max pooling (none after the last block), GlobalAveragePooling2D, [Dropout],
    Dense ``n_outputs`` (softmax, or sigmoid for 1). BatchNorm lets a from-scratch network train
    at a higher learning rate in few epochs; GAP keeps the head tiny (no Flatten -> Dense with
    millions of weights to memorise a few hundred images). The last ReLU is named ``last_conv``:
    it is the map GAP averages, so class activation maps work on it. ``bn_momentum`` 0.9 instead of
    Keras' 0.99: with a few steps per epoch (a few hundred images) the running statistics used at
    evaluation time would otherwise still be far from the data's after many epochs, and validation
    accuracy would sit at the majority share while training accuracy rises. ``stem_stride`` 2
    makes the very first convolution a strided one: larger images at a quarter of the cost of the
    first block, whose full-resolution maps are the most expensive part on a CPU. Uncompiled.
    Trained in 07_monkeypox_classifier and 09_cats_vs_dogs_augmentation."""
    import keras
    from keras import layers

    counts = [int(convs_per_block)] * len(widths) if isinstance(convs_per_block, int) else \
        [int(c) for c in convs_per_block]
    if len(counts) != len(widths) or min(counts) < 1:
        raise ValueError(f"convs_per_block={convs_per_block!r}: one count >= 1, or one per width {tuple(widths)}")
    model = keras.Sequential(name=name)
    model.add(keras.Input(shape=tuple(input_shape)))
    for b, w in enumerate(widths):
        for c in range(counts[b]):
            last = b == len(widths) - 1 and c == counts[b] - 1
            stride = int(stem_stride) if b == 0 and c == 0 else 1
            model.add(layers.Conv2D(w, 3, strides=stride, padding="same", use_bias=not batchnorm))
            if batchnorm:
                model.add(layers.BatchNormalization(momentum=bn_momentum))
            model.add(layers.ReLU(name="last_conv" if last else None))
        if b < len(widths) - 1:
            model.add(layers.MaxPooling2D(2))
    model.add(layers.GlobalAveragePooling2D())
    if dropout:
        model.add(layers.Dropout(float(dropout)))
    model.add(layers.Dense(int(n_outputs), activation=_head_activation(int(n_outputs))))
    return model


def dihedral_average(model, name: str | None = None):
    """Test-time augmentation for images with no "up" (skin lesions, microscopy): a model whose
    output is ``model``'s output averaged over the 8 symmetries of the square -- the image as it
    is, mirrored left-right, up-down, or both, and each of those four transposed (turned a quarter
    turn and mirrored). Label-preserving views only, so the average is a steadier estimate of the
    same answer; no random draws, so the result is reproducible. Square inputs only (a transposed
    rectangle changes shape). Weights are shared with ``model``, nothing is retrained. Taught in
    07_monkeypox_classifier."""
    import keras
    from keras import ops

    shape = tuple(model.input_shape[1:])
    if len(shape) != 3 or shape[0] is None or shape[0] != shape[1]:
        raise ValueError(f"dihedral_average needs square images (height == width), got input shape {shape}")
    x = keras.Input(shape=shape)
    flips = [x, ops.flip(x, axis=1), ops.flip(x, axis=2), ops.flip(ops.flip(x, axis=1), axis=2)]
    views = flips + [ops.transpose(v, (0, 2, 1, 3)) for v in flips]
    return keras.Model(x, keras.layers.Average()([model(v) for v in views]),
                       name=name or f"{model.name}_dihedral_average")


def at_input_size(model, size: int):
    """A copy of ``model`` that takes ``size`` x ``size`` images, with the same weights. A network
    that is convolutional up to a global pooling layer has no fixed input size: its weights do not
    depend on it. Used in 12 to show 09's GAP model the 224-pixel pointing canvases as they are,
    instead of shrinking them (and the animal in them) to its 128-pixel training size. A model
    with a ``Flatten`` head is tied to its size: asking for another raises ``ValueError``."""
    import keras

    config = model.get_config()
    inputs = [layer for layer in config.get("layers", []) if layer.get("class_name") == "InputLayer"]
    if len(inputs) != 1:
        raise ValueError(f"{model.name}: at_input_size needs a model with one input layer, found {len(inputs)}")
    shape = list(inputs[0]["config"]["batch_shape"])
    inputs[0]["config"]["batch_shape"] = [shape[0], int(size), int(size), *shape[3:]]
    try:   # a Flatten head fails here, when its Dense layer is built, or when the weights are copied
        copy = type(model).from_config(config)
        copy.set_weights(model.get_weights())
    except ValueError as err:
        flat = [layer.name for layer in model.layers if isinstance(layer, keras.layers.Flatten)]
        raise ValueError(f"{model.name} cannot take {size}x{size} images: its weights depend on the input size"
                         + (f" (the Flatten layer {flat[0]!r} feeds a Dense layer)" if flat else "")
                         + f"; use its own {shape[1]}x{shape[2]}") from err
    return copy


def flatten_length_reference(image_size: int) -> int:
    """Reference answer of 09's exercise: how many values ``Flatten`` receives in the scratch CNN
    (4 blocks of valid 3x3 conv, -2 pixels, then 2x2 max-pool, halving and rounding down; 128 maps)."""
    s = int(image_size)
    for _ in range(4):
        s = (s - 2) // 2
    if s < 1:
        raise ValueError(f"{image_size}x{image_size} is too small for the scratch CNN's four conv-pool blocks")
    return s * s * 128
