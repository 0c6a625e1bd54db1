"""Convolutional layers by hand in NumPy (taught in 04_convolution_by_hand).

Layout is NCHW (batch, channels, height, width) as in PyTorch and CS231n; weights are
(F, C, HH, WW) for convolutions and (C_in, C_out, HH, WW) for transposed convolutions, again as
in PyTorch. :func:`torch_to_keras_kernel` converts a kernel to Keras' (HH, WW, C_in, F) layout.
Each function is the reference solution of a notebook cell; the notebook checks it against
PyTorch and TensorFlow/Keras.
"""
from __future__ import annotations

import numpy as np


# ----------------------------------------------------------------------------------------------
# Output sizes
# ----------------------------------------------------------------------------------------------
def conv_output_size(size: int, kernel: int, pad: int = 0, stride: int = 1, strict: bool = True) -> int:
    """Spatial output size of a convolution or pooling window: ``(W - F + 2P) / S + 1``.

    With ``strict`` (the default) a size that does not fit -- ``(W - F + 2P)`` not divisible by
    ``S`` -- raises ``ValueError`` naming the numbers, as CS231n asks; ``strict=False`` floors
    like the frameworks do (the last rows/columns are silently dropped).
    """
    for name, v in (("size", size), ("kernel", kernel), ("pad", pad), ("stride", stride)):
        if int(v) != v:
            raise ValueError(f"{name} must be an integer, got {v!r}")
    size, kernel, pad, stride = int(size), int(kernel), int(pad), int(stride)
    if size < 1 or kernel < 1 or stride < 1 or pad < 0:
        raise ValueError(f"need size, kernel, stride >= 1 and pad >= 0; got W={size}, F={kernel}, "
                         f"P={pad}, S={stride}")
    span = size - kernel + 2 * pad
    if span < 0:
        raise ValueError(f"the {kernel}x{kernel} window does not fit in the padded input: "
                         f"W + 2P = {size + 2 * pad} < F = {kernel}")
    if strict and span % stride:
        raise ValueError(f"sizes do not fit: (W - F + 2P) / S + 1 = ({size} - {kernel} + 2*{pad}) / {stride} + 1 "
                         f"= {span / stride + 1:g} is not an integer; change the padding or the stride")
    return span // stride + 1


def conv_transpose_output_size(size: int, kernel: int, pad: int = 0, stride: int = 1, output_padding: int = 0) -> int:
    """Output size of a transposed convolution: ``(W - 1) * S - 2P + F + output_padding``
    (the inverse of :func:`conv_output_size`)."""
    if min(size, kernel, stride) < 1 or pad < 0 or output_padding < 0:
        raise ValueError(f"invalid transposed-conv sizes: W={size}, F={kernel}, P={pad}, S={stride}")
    out = (size - 1) * stride - 2 * pad + kernel + output_padding
    if out < 1:
        raise ValueError(f"the padding {pad} crops the whole output (size {out})")
    return out


def same_padding(size: int, kernel: int, stride: int = 1) -> tuple[int, int]:
    """TensorFlow/Keras ``padding="same"``: the output has ``ceil(W / S)`` positions and the
    padding (before, after) puts the extra pixel, if any, at the end (bottom/right)."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


# ----------------------------------------------------------------------------------------------
# Convolution
# ----------------------------------------------------------------------------------------------
def pad_nchw(x: np.ndarray, pad) -> np.ndarray:
    """Zero-pad the two spatial axes of an NCHW array by ``pad`` (int or (before, after))."""
    before, after = (pad, pad) if np.isscalar(pad) else pad
    return np.pad(x, ((0, 0), (0, 0), (before, after), (before, after)))


def cross_correlate2d(x: np.ndarray, k: np.ndarray, stride: int = 1) -> np.ndarray:
    """One channel, one filter: slide ``k`` over ``x`` (no padding) and take the sum of products
    at each position. This is what every deep-learning "convolution" computes (no kernel flip)."""
    h = conv_output_size(x.shape[0], k.shape[0], 0, stride)
    w = conv_output_size(x.shape[1], k.shape[1], 0, stride)
    out = np.zeros((h, w), dtype=np.result_type(x, k))
    for i in range(h):
        for j in range(w):
            window = x[i * stride:i * stride + k.shape[0], j * stride:j * stride + k.shape[1]]
            out[i, j] = np.sum(window * k)
    return out


def conv_forward_naive(x: np.ndarray, w: np.ndarray, b: np.ndarray, stride: int = 1, pad: int = 0) -> np.ndarray:
    """Convolution with explicit loops (CS231n's ``conv_forward_naive``).

    x: (N, C, H, W); w: (F, C, HH, WW); b: (F,). Returns (N, F, H', W') with
    H' = (H - HH + 2 pad) / stride + 1 (raises if it does not fit)."""
    n, c, h, wd = x.shape
    f, c2, hh, ww = w.shape
    if c != c2:
        raise ValueError(f"input has {c} channels but the filters expect {c2}")
    ho = conv_output_size(h, hh, pad, stride)
    wo = conv_output_size(wd, ww, pad, stride)
    xp = pad_nchw(x, pad)
    out = np.zeros((n, f, ho, wo), dtype=np.result_type(x, w))
    for i in range(n):
        for k in range(f):
            for r in range(ho):
                for s in range(wo):
                    window = xp[i, :, r * stride:r * stride + hh, s * stride:s * stride + ww]
                    out[i, k, r, s] = np.sum(window * w[k]) + b[k]
    return out


def im2col(x: np.ndarray, hh: int, ww: int, stride: int = 1, pad: int = 0) -> np.ndarray:
    """Unfold every receptive-field window into a column: returns (C*HH*WW, N*H'*W'), columns
    ordered (n, row, col), rows ordered (c, i, j) -- the order of ``w.reshape(F, -1)``."""
    n, c, h, w = x.shape
    ho = conv_output_size(h, hh, pad, stride)
    wo = conv_output_size(w, ww, pad, stride)
    xp = pad_nchw(x, pad)
    cols = np.empty((c, hh, ww, n, ho, wo), dtype=x.dtype)
    for i in range(hh):          # loop over the kernel (9 steps for 3x3), not over the image
        for j in range(ww):
            cols[:, i, j] = xp[:, :, i:i + stride * ho:stride, j:j + stride * wo:stride].transpose(1, 0, 2, 3)
    return cols.reshape(c * hh * ww, n * ho * wo)


def conv_forward_im2col(x: np.ndarray, w: np.ndarray, b: np.ndarray, stride: int = 1, pad: int = 0) -> np.ndarray:
    """The same convolution as one matrix product: ``W_row (F, C*HH*WW) @ X_col + b``."""
    n, _, h, wd = x.shape
    f, _, hh, ww = w.shape
    ho = conv_output_size(h, hh, pad, stride)
    wo = conv_output_size(wd, ww, pad, stride)
    cols = im2col(x, hh, ww, stride, pad)
    out = w.reshape(f, -1) @ cols + b.reshape(-1, 1)
    return out.reshape(f, n, ho, wo).transpose(1, 0, 2, 3)


# ----------------------------------------------------------------------------------------------
# Non-linearity and pooling
# ----------------------------------------------------------------------------------------------
def relu(x: np.ndarray) -> np.ndarray:
    """max(0, x), element-wise."""
    return np.maximum(x, 0)


def _pool(x: np.ndarray, size: int, stride: int, reduce) -> np.ndarray:
    n, c, h, w = x.shape
    ho = conv_output_size(h, size, 0, stride, strict=False)
    wo = conv_output_size(w, size, 0, stride, strict=False)
    out = np.empty((n, c, ho, wo), dtype=x.dtype)
    for r in range(ho):
        for s in range(wo):
            out[:, :, r, s] = reduce(x[:, :, r * stride:r * stride + size, s * stride:s * stride + size], axis=(2, 3))
    return out


def max_pool_forward(x: np.ndarray, size: int = 2, stride: int = 2) -> np.ndarray:
    """Max pooling over ``size x size`` windows (NCHW); leftover rows/columns are dropped."""
    return _pool(x, size, stride, np.max)


def avg_pool_forward(x: np.ndarray, size: int = 2, stride: int = 2) -> np.ndarray:
    """Average pooling over ``size x size`` windows (NCHW)."""
    return _pool(x, size, stride, np.mean)


def global_avg_pool(x: np.ndarray) -> np.ndarray:
    """Global average pooling: (N, C, H, W) -> (N, C), one mean per feature map."""
    return x.mean(axis=(2, 3))


# ----------------------------------------------------------------------------------------------
# Batch normalization
# ----------------------------------------------------------------------------------------------
def batchnorm_forward(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, running_mean: np.ndarray,
                      running_var: np.ndarray, training: bool = True, momentum: float = 0.1, eps: float = 1e-5,
                      unbiased_running_var: bool = True):
    """Batch normalization of an NCHW array, one mean/variance per channel.

    Training: normalize with the batch mean and the *biased* batch variance, then scale by
    ``gamma`` and shift by ``beta``; update ``running = (1 - momentum) * running + momentum * batch``
    (PyTorch's convention: ``momentum`` is the weight of the new batch; Keras' ``momentum`` is the
    weight of the old value, so Keras 0.99 = PyTorch 0.01). PyTorch puts the *unbiased* batch
    variance into the running variance (``unbiased_running_var=True``), Keras the biased one.
    Inference (``training=False``): normalize with the running statistics, update nothing.
    Returns ``(out, new_running_mean, new_running_var)``.
    """
    if x.ndim != 4:
        raise ValueError(f"expected NCHW input, got shape {x.shape}")
    shape = (1, -1, 1, 1)
    if training:
        mean = x.mean(axis=(0, 2, 3))
        var = x.var(axis=(0, 2, 3))                        # biased: divide by m
        m = x.shape[0] * x.shape[2] * x.shape[3]
        var_run = var * m / (m - 1) if unbiased_running_var and m > 1 else var
        new_mean = (1 - momentum) * running_mean + momentum * mean
        new_var = (1 - momentum) * running_var + momentum * var_run
    else:
        mean, var = running_mean, running_var
        new_mean, new_var = running_mean, running_var
    x_hat = (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + eps)
    return gamma.reshape(shape) * x_hat + beta.reshape(shape), new_mean, new_var


# ----------------------------------------------------------------------------------------------
# Upsampling
# ----------------------------------------------------------------------------------------------
def upsample_nearest(x: np.ndarray, factor: int = 2) -> np.ndarray:
    """Nearest-neighbour upsampling (NCHW): every pixel becomes a ``factor x factor`` block."""
    return x.repeat(factor, axis=2).repeat(factor, axis=3)


def conv_transpose_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray, stride: int = 1, pad=0) -> np.ndarray:
    """Transposed convolution by scatter-add. x: (N, C_in, H, W); w: (C_in, C_out, HH, WW)
    (PyTorch's layout); b: (C_out,). Each input pixel adds ``x[n, c, i, j] * w[c]`` into the
    output at (i*stride, j*stride); then ``pad`` rows/columns are cropped from each side (an int,
    or (before, after) to match Keras' ``same``). Output size: (H-1)*S - 2P + HH."""
    n, cin, h, wd = x.shape
    cin2, cout, hh, ww = w.shape
    if cin != cin2:
        raise ValueError(f"input has {cin} channels but the kernel expects {cin2}")
    before, after = (pad, pad) if np.isscalar(pad) else pad
    full = np.zeros((n, cout, (h - 1) * stride + hh, (wd - 1) * stride + ww), dtype=np.result_type(x, w))
    for i in range(h):
        for j in range(wd):
            # (N, C_in) x (C_in, C_out, HH, WW) -> (N, C_out, HH, WW), scattered and added
            full[:, :, i * stride:i * stride + hh, j * stride:j * stride + ww] += np.tensordot(x[:, :, i, j], w, axes=1)
    H, W = full.shape[2:]
    if before + after >= min(H, W):
        raise ValueError(f"padding {pad} crops the whole {H}x{W} output")
    out = full[:, :, before:H - after, before:W - after]
    return out + b.reshape(1, -1, 1, 1)


# ----------------------------------------------------------------------------------------------
# Layout conversions
# ----------------------------------------------------------------------------------------------
def nchw_to_nhwc(x: np.ndarray) -> np.ndarray:
    """(N, C, H, W) -> (N, H, W, C), the layout of TensorFlow/Keras."""
    return np.ascontiguousarray(x.transpose(0, 2, 3, 1))


def nhwc_to_nchw(x: np.ndarray) -> np.ndarray:
    """(N, H, W, C) -> (N, C, H, W), the layout of PyTorch."""
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2))


def torch_to_keras_kernel(w: np.ndarray) -> np.ndarray:
    """A PyTorch kernel in Keras' layout: the same axis move for both kinds of layer.
    Conv: (F, C, HH, WW) -> (HH, WW, C, F). Transposed conv: (C_in, C_out, HH, WW) ->
    (HH, WW, C_out, C_in)."""
    if w.ndim != 4:
        raise ValueError(f"expected a 4-D kernel, got shape {w.shape}")
    return np.ascontiguousarray(w.transpose(2, 3, 1, 0))


# ----------------------------------------------------------------------------------------------
# Figures
# ----------------------------------------------------------------------------------------------
def _grid(ax, a, title, highlight=None, cmap="Blues"):
    a = np.asarray(a)
    ax.imshow(a, cmap=cmap, vmin=min(a.min(), 0), vmax=max(a.max(), 1), alpha=0.45)
    for (r, c), v in np.ndenumerate(a):
        ax.text(c, r, f"{v + 0.0:g}", ha="center", va="center", fontsize=10)  # + 0.0: no "-0"
    if highlight is not None:
        import matplotlib.patches as patches

        r, c, h, w = highlight
        ax.add_patch(patches.Rectangle((c - 0.5, r - 0.5), w, h, fill=False, edgecolor="tab:red", linewidth=2.5))
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, fontsize=10)


def plot_correlation_step(x: np.ndarray, k: np.ndarray, i: int, j: int, stride: int = 1):
    """One step of a 2-D cross-correlation, drawn: the input with the window at output position
    (i, j) in red, the kernel, the element-wise products, and the output with that entry marked.
    Taught in 04_convolution_by_hand. Returns the Figure."""
    import matplotlib.pyplot as plt

    kh, kw = k.shape
    window = x[i * stride:i * stride + kh, j * stride:j * stride + kw]
    out = cross_correlate2d(x, k, stride)
    fig, axes = plt.subplots(1, 4, figsize=(11, 3))
    _grid(axes[0], x, "input", (i * stride, j * stride, kh, kw))
    _grid(axes[1], k, "kernel", cmap="Oranges")
    _grid(axes[2], window * k, f"products (sum = {np.sum(window * k):g})", cmap="Greens")
    _grid(axes[3], out, f"output [{i}, {j}]", (i, j, 1, 1), cmap="Purples")
    fig.tight_layout()
    return fig
