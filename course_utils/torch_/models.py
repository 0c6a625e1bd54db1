"""PyTorch models built in 05: a CNN from a layer spec, the small ResNet (plain vs residual),
parameter counts, and the receptive field measured with a gradient."""

from __future__ import annotations

import torch.nn as nn

from course_utils.arch import _next_is_relu, trace


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
