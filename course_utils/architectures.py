"""CNN architectures: shape/parameter traces, parameter counts, the course's reference models,
a residual BasicBlock, and receptive fields (taught in 05_cnn_architectures).

Reference Keras models (uncompiled ``keras.Sequential``; inputs expected scaled to [0, 1]):

* :func:`monkeypox_cnn` -- the monkeypox tutorial's network (used in 07_monkeypox_classifier);
* :func:`cats_dogs_scratch_cnn` and :func:`cats_dogs_gap_cnn` -- the cats-vs-dogs networks
  (used in 09_cats_vs_dogs_augmentation and 12_class_activation_maps).

Keras is imported inside the builders, so importing this module stays cheap.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch.nn as nn

from .conv import conv_output_size

# ----------------------------------------------------------------------------------------------
# Layer specs and the shape-and-parameter trace
# ----------------------------------------------------------------------------------------------
# A spec is a list of tuples, one per layer, in the order of a keras.Sequential:
#   ("conv", filters, kernel, stride, padding)   padding: "valid" | "same" | an int
#   ("relu",)   ("pool", size, stride)   ("avgpool", size, stride)   ("gap",)
#   ("flatten",)   ("dense", units)   ("dropout", rate)


@dataclass
class TraceRow:
    """One row of :func:`trace`: a layer, its output shape (H, W, C) or (units,), its parameters."""
    name: str
    output_shape: tuple
    params: int
    formula: str


def _same_or_valid_pad(padding, kernel: int, size: int, stride: int) -> tuple[int, int]:
    """Output size and the padding string of a conv/pool layer (``same``: ceil(size / stride))."""
    if padding == "same":
        return -(-size // stride), "same"
    if padding == "valid":
        return conv_output_size(size, kernel, 0, stride, strict=False), "valid"
    return conv_output_size(size, kernel, int(padding), stride), f"pad {padding}"


def trace(spec, input_shape=(32, 32, 3)) -> list[TraceRow]:
    """Follow a tensor of ``input_shape`` (H, W, C) through ``spec`` by hand: output shape and
    parameter count of every layer, with the formula used. Checked against ``model.summary()``
    in 05_cnn_architectures."""
    h, w, c = input_shape
    flat = None  # set after flatten/gap: the vector length
    rows: list[TraceRow] = []
    for layer in spec:
        kind = layer[0]
        if kind == "conv":
            _, f, k, s, p = layer
            if flat is not None:
                raise ValueError("a conv layer cannot follow flatten/dense")
            h2, _ = _same_or_valid_pad(p, k, h, s)
            w2, _ = _same_or_valid_pad(p, k, w, s)
            params = (k * k * c + 1) * f
            rows.append(TraceRow(f"conv{k}x{k}-{f}", (h2, w2, f), params, f"({k}*{k}*{c}+1)*{f}"))
            h, w, c = h2, w2, f
        elif kind in ("pool", "avgpool"):
            _, k, s = layer
            h2 = conv_output_size(h, k, 0, s, strict=False)
            w2 = conv_output_size(w, k, 0, s, strict=False)
            rows.append(TraceRow(f"{'max' if kind == 'pool' else 'avg'}pool{k}", (h2, w2, c), 0, "0"))
            h, w = h2, w2
        elif kind == "relu":
            rows.append(TraceRow("relu", (h, w, c) if flat is None else (flat,), 0, "0"))
        elif kind == "dropout":
            rows.append(TraceRow(f"dropout{layer[1]}", (h, w, c) if flat is None else (flat,), 0, "0"))
        elif kind == "flatten":
            flat = h * w * c
            rows.append(TraceRow("flatten", (flat,), 0, f"{h}*{w}*{c}"))
        elif kind == "gap":
            flat = c
            rows.append(TraceRow("global_avg_pool", (flat,), 0, "0"))
        elif kind == "dense":
            if flat is None:
                raise ValueError("dense needs a flatten or gap layer before it")
            units = layer[1]
            rows.append(TraceRow(f"dense-{units}", (units,), (flat + 1) * units, f"({flat}+1)*{units}"))
            flat = units
        else:
            raise ValueError(f"unknown layer kind {kind!r}")
    return rows


def trace_table(rows: list[TraceRow]) -> str:
    """The trace as a fixed-width text table, with the total at the bottom."""
    lines = [f"{'layer':18s} {'output shape':>16s} {'params':>12s}   formula"]
    for r in rows:
        lines.append(f"{r.name:18s} {str(r.output_shape):>16s} {r.params:>12,d}   {r.formula}")
    lines.append(f"{'total':18s} {'':>16s} {sum(r.params for r in rows):>12,d}")
    return "\n".join(lines)


def total_params(spec, input_shape) -> int:
    """Total parameter count of ``spec`` at ``input_shape`` (by hand, through :func:`trace`)."""
    return sum(r.params for r in trace(spec, input_shape))


def _next_is_relu(spec, i: int) -> bool:
    return i + 1 < len(spec) and spec[i + 1][0] == "relu"


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


def torch_from_spec(spec, in_channels: int, input_hw=None):
    """The same network in PyTorch (NCHW). ``same`` padding needs stride 1 and an odd kernel
    here; ``input_hw`` (H, W) is needed only when a dense layer follows ``flatten``."""
    mods = []
    c = in_channels
    shape = None if input_hw is None else (*input_hw, in_channels)
    flat = None
    for i, l in enumerate(spec):
        kind = l[0]
        relu_follows = _next_is_relu(spec, i)
        if kind == "conv":
            _, f, k, s, p = l
            if p == "same":
                if s != 1 or k % 2 == 0:
                    raise ValueError("torch_from_spec: 'same' needs stride 1 and an odd kernel")
                pad = k // 2
            else:
                pad = 0 if p == "valid" else int(p)
            mods += [nn.Conv2d(c, f, k, stride=s, padding=pad)] + ([] if relu_follows else [nn.ReLU()])
            c = f
        elif kind == "pool":
            mods.append(nn.MaxPool2d(l[1], l[2]))
        elif kind == "avgpool":
            mods.append(nn.AvgPool2d(l[1], l[2]))
        elif kind == "gap":
            mods += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
            flat = c
        elif kind == "flatten":
            if shape is None:
                raise ValueError("torch_from_spec: pass input_hw to size the dense layer after flatten")
            mods.append(nn.Flatten())
        elif kind == "dense":
            if flat is None:
                flat = trace(spec[:i], shape)[-1].output_shape[0]
            mods += [nn.Linear(flat, l[1])] + ([] if relu_follows else [nn.ReLU()])
            flat = l[1]
        elif kind == "dropout":
            mods.append(nn.Dropout(l[1]))
        elif kind == "relu":
            mods.append(nn.ReLU())
        else:
            raise ValueError(f"unknown layer kind {kind!r}")
    if mods and isinstance(mods[-1], nn.ReLU) and spec[-1][0] == "dense":
        mods = mods[:-1]  # the output layer gives logits
    return nn.Sequential(*mods)


def count_params_torch(model, trainable_only: bool = False) -> int:
    """Number of parameters of a PyTorch module (what ``model.summary()`` calls Total params)."""
    return int(sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only))


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


MONKEYPOX_SPEC = [("conv", 32, 3, 1, "same"), ("pool", 2, 2),
                  ("conv", 64, 3, 1, "same"), ("pool", 2, 2),
                  ("conv", 128, 3, 1, "same"), ("pool", 2, 2),
                  ("conv", 256, 3, 1, "same"), ("pool", 2, 2),
                  ("conv", 256, 3, 1, "same"),
                  ("flatten",), ("dense", 512), ("dense", 2)]

CATS_DOGS_SCRATCH_SPEC = [("conv", 32, 3, 1, "valid"), ("pool", 2, 2),
                          ("conv", 64, 3, 1, "valid"), ("pool", 2, 2),
                          ("conv", 128, 3, 1, "valid"), ("pool", 2, 2),
                          ("conv", 128, 3, 1, "valid"), ("pool", 2, 2),
                          ("flatten",), ("dense", 512), ("dense", 1)]

CATS_DOGS_GAP_SPEC = [("conv", 16, 3, 1, "same"), ("pool", 2, 2),
                      ("conv", 32, 3, 1, "same"), ("pool", 2, 2),
                      ("conv", 64, 3, 1, "same"), ("pool", 2, 2),
                      ("conv", 128, 3, 1, "same"),
                      ("gap",), ("dense", 1)]


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


def cats_dogs_gap_cnn(image_size: int = 150, widths=None, batchnorm: bool = False, dropout: float = 0.0):
    """The global-average-pooling variant: conv(3x3, same, ReLU) with 16-32-64-128 filters and max
    pooling after the first three, GlobalAveragePooling2D, Dense 1 sigmoid (97,569 parameters at
    any image size). Its last conv layer is named ``last_conv`` for class activation maps.
    With ``widths``, ``batchnorm`` or ``dropout`` it is :func:`bn_gap_cnn` with one sigmoid output
    (the wider, batch-normalized GAP net 09 trains). Uncompiled. Taught in 05; trained in
    09_cats_vs_dogs_augmentation, used in 12."""
    if widths is None and not batchnorm and not dropout:
        return keras_from_spec(CATS_DOGS_GAP_SPEC, (image_size, image_size, 3), output_activation="sigmoid",
                               name="cats_dogs_gap_cnn", last_conv_name="last_conv")
    return bn_gap_cnn((image_size, image_size, 3), widths or (16, 32, 64, 128), n_outputs=1,
                      batchnorm=batchnorm, dropout=dropout, name="cats_dogs_gap_cnn")


def bn_gap_cnn(input_shape, widths=(32, 64, 128, 256), n_outputs: int = 2, batchnorm: bool = True,
               dropout: float = 0.0, convs_per_block: int = 1, bn_momentum: float = 0.9, name: str = "bn_gap_cnn"):
    """A small modern convnet: per width, ``convs_per_block`` x [conv 3x3 (same) -> BatchNorm ->
    ReLU], then 2x2 max pooling (none after the last block), GlobalAveragePooling2D, [Dropout],
    Dense ``n_outputs`` (softmax, or sigmoid for 1). BatchNorm lets a from-scratch network train
    at a higher learning rate in few epochs; GAP keeps the head tiny (no Flatten -> Dense with
    millions of weights to memorise a few hundred images). The last ReLU is named ``last_conv``:
    it is the map GAP averages, so class activation maps work on it. ``bn_momentum`` 0.9 instead of
    Keras' 0.99: with a few steps per epoch (a few hundred images) the running statistics used at
    evaluation time would otherwise still be far from the data's after many epochs, and validation
    accuracy would sit at the majority share while training accuracy rises. Uncompiled.
    Trained in 07_monkeypox_classifier and 09_cats_vs_dogs_augmentation."""
    import keras
    from keras import layers

    model = keras.Sequential(name=name)
    model.add(keras.Input(shape=tuple(input_shape)))
    for b, w in enumerate(widths):
        for c in range(convs_per_block):
            last = b == len(widths) - 1 and c == convs_per_block - 1
            model.add(layers.Conv2D(w, 3, padding="same", use_bias=not batchnorm))
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


# ----------------------------------------------------------------------------------------------
# Residual networks in PyTorch
# ----------------------------------------------------------------------------------------------
class BasicBlock(nn.Module):
    """ResNet BasicBlock: out = ReLU(F(x) + shortcut(x)), F = conv3x3-BN-ReLU-conv3x3-BN.
    The shortcut is the identity when shapes match, else a 1x1 strided conv + BN (the
    *projection* shortcut). ``residual=False`` gives the plain twin (same layers, no shortcut).
    Taught in 05_cnn_architectures."""
    expansion = 1

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, residual: bool = True):
        super().__init__()
        self.residual = residual
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        if residual and (stride != 1 or in_channels != out_channels):
            self.shortcut = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                                          nn.BatchNorm2d(out_channels))
        else:
            self.shortcut = nn.Identity()

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.residual:
            out = out + self.shortcut(x)
        return self.relu(out)


def small_resnet(n_blocks: int = 8, width: int = 16, n_classes: int = 10, residual: bool = True, in_channels: int = 3):
    """A small CIFAR-style network for the plain-vs-residual experiment in 05: a 3x3 stem
    (stride 2), ``n_blocks`` BasicBlocks of ``width`` channels (the middle one doubles the width
    with stride 2, so one projection shortcut appears), global average pooling and a linear
    layer. ``residual=False`` removes every shortcut. Depth = 2 * n_blocks + 2 weight layers."""
    layers = [nn.Conv2d(in_channels, width, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(width),
              nn.ReLU(inplace=True)]
    c = width
    for i in range(n_blocks):
        down = i == n_blocks // 2
        out = c * 2 if down else c
        layers.append(BasicBlock(c, out, stride=2 if down else 1, residual=residual))
        c = out
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, n_classes)]
    return nn.Sequential(*layers)


def train_classifier_steps(model, x, y, steps: int, batch_size: int = 64, lr: float = 0.05, seed: int = 0,
                           log_every: int = 10) -> list[float]:
    """Train ``model`` with SGD (momentum 0.9) on tensors ``x, y`` for ``steps`` mini-batches drawn
    with a fixed generator; return the training loss every ``log_every`` steps (the mean of the
    losses since the last log). Used for the plain-vs-residual comparison in 05."""
    import torch
    import torch.nn.functional as F

    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=0.0)
    model.train()
    losses, acc = [], []
    n = x.shape[0]
    for step in range(steps):
        idx = torch.randint(0, n, (min(batch_size, n),), generator=g)
        loss = F.cross_entropy(model(x[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        acc.append(loss.item())
        if (step + 1) % log_every == 0 or step == steps - 1:
            losses.append(float(np.mean(acc)))
            acc = []
    return losses


# ----------------------------------------------------------------------------------------------
# Receptive fields
# ----------------------------------------------------------------------------------------------
def receptive_field(layers) -> list[tuple[int, int]]:
    """The receptive-field recurrence over ``layers`` = [(kernel, stride), ...]:
    ``r += (k - 1) * j; j *= s`` starting from r = 1, j = 1. Returns (r, j) after each layer
    (r: receptive field in input pixels, j: the jump, i.e. input pixels between neighbouring
    outputs). Taught in 05_cnn_architectures."""
    r, j = 1, 1
    out = []
    for layer in layers:
        k, s = int(layer[0]), int(layer[1])
        if k < 1 or s < 1:
            raise ValueError(f"kernel and stride must be >= 1, got {layer}")
        r += (k - 1) * j
        j *= s
        out.append((r, j))
    return out


def kernel_strides(model) -> list[tuple[int, int]]:
    """The (kernel, stride) of every Conv2d / MaxPool2d / AvgPool2d in a PyTorch model, in order:
    the input of :func:`receptive_field`."""
    out = []
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)):
            k = m.kernel_size if isinstance(m.kernel_size, int) else m.kernel_size[0]
            s = m.stride if isinstance(m.stride, int) else m.stride[0]
            out.append((int(k), int(s)))
    return out


def _max_to_avg(model):
    for name, child in model.named_children():
        if isinstance(child, nn.MaxPool2d):
            setattr(model, name, nn.AvgPool2d(child.kernel_size, child.stride, child.padding,
                                              ceil_mode=child.ceil_mode))
        else:
            _max_to_avg(child)
    return model


def empirical_receptive_field(model, input_size: int = 64, in_channels: int = 1, positive_weights: bool = True) -> int:
    """Measure a receptive field: back-propagate from the centre output pixel of ``model`` (a
    conv/pool stack, NCHW) to a zero-centred input and count the rows with a non-zero gradient.
    ``positive_weights`` runs on a copy whose conv weights are all 1, biases 0 and max pooling
    replaced by average pooling (max pooling routes the gradient to one pixel per window), so no
    gradient vanishes by accident. Returns the side of the square of input pixels that reach the
    centre output."""
    import copy

    import torch

    m = copy.deepcopy(model).eval()
    if positive_weights:
        _max_to_avg(m)
        with torch.no_grad():
            for mod in m.modules():
                if isinstance(mod, (torch.nn.Conv2d, torch.nn.ConvTranspose2d)):
                    mod.weight.fill_(1.0)
                    if mod.bias is not None:
                        mod.bias.zero_()
    x = torch.ones(1, in_channels, input_size, input_size, requires_grad=True)
    y = m(x)
    h, w = y.shape[-2:]
    y[..., h // 2, w // 2].sum().backward()
    g = x.grad.abs().sum(dim=(0, 1))
    rows = torch.nonzero(g.sum(dim=1) > 0).flatten()
    cols = torch.nonzero(g.sum(dim=0) > 0).flatten()
    if rows.numel() == 0:
        raise ValueError("no gradient reached the input")
    height = int(rows.max() - rows.min() + 1)
    width = int(cols.max() - cols.min() + 1)
    if height == input_size or width == input_size:
        raise ValueError(f"the receptive field fills the {input_size}x{input_size} input: use a larger input_size")
    return max(height, width)


def plot_loss_curves(curves: dict, log_every: int, title: str = "", ylabel: str = "training loss"):
    """Training-loss curves of several models against the step (one line each): the plot of the
    plain-vs-residual experiment in 05_cnn_architectures. Returns the Figure."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.4))
    for name, losses in curves.items():
        steps = [min((i + 1) * log_every, log_every * len(losses)) for i in range(len(losses))]
        ax.plot(steps, losses, "o-", markersize=3, label=name)
    ax.set_xlabel("training step")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    return fig
