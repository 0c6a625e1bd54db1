"""Reference answers of the exercises that have no helper of their own elsewhere in course_utils
(the others are the helpers the notebooks use: see ``MODULES`` in registry.py). Small and plain,
written the way a learner would, so ``exercises solution ID`` shows something readable."""
from __future__ import annotations

import numpy as np


def sgd_step(W, dW, learning_rate):
    """03: one step of gradient descent: move against the gradient."""
    return W - learning_rate * dW


def conv_output_size(size, kernel, pad=0, stride=1):
    """04: ``(W - F + 2P) // S + 1``, floored like PyTorch and Keras: the package's own
    ``numpy_.conv.conv_output_size`` (which 04 teaches) with ``strict=False``."""
    from course_utils.numpy_.conv import conv_output_size as exact

    return exact(size, kernel, pad, stride, strict=False)


def batchnorm_forward(x, gamma, beta, eps=1e-5):
    """04: batch norm in training mode on NCHW: per channel, over the batch and both spatial axes,
    with the biased variance; then scale by gamma and shift by beta."""
    mean = x.mean(axis=(0, 2, 3), keepdims=True)
    var = x.var(axis=(0, 2, 3), keepdims=True)
    x_hat = (x - mean) / np.sqrt(var + eps)
    return gamma.reshape(1, -1, 1, 1) * x_hat + beta.reshape(1, -1, 1, 1)


def conv_params(in_channels, out_channels, kernel_size, bias=True):
    """05: one kh x kw x in_channels kernel per output channel, plus one bias each."""
    kh, kw = (kernel_size, kernel_size) if np.ndim(kernel_size) == 0 else kernel_size
    return out_channels * in_channels * kh * kw + (out_channels if bias else 0)


def receptive_field(layers):
    """05: ``r += (k - 1) * j; j *= s`` over [(kernel, stride), ...], from r = j = 1."""
    r, j = 1, 1
    for k, s in layers:
        r += (k - 1) * j
        j *= s
    return r


def confusion_counts(y_true, y_pred):
    """07: (TP, FP, FN, TN) with label 1 as the positive class."""
    y_true, y_pred = np.asarray(y_true).astype(int), np.asarray(y_pred).astype(int)
    tp = int(np.sum((y_true == 1) & (y_pred == 1)))
    fp = int(np.sum((y_true == 0) & (y_pred == 1)))
    fn = int(np.sum((y_true == 1) & (y_pred == 0)))
    tn = int(np.sum((y_true == 0) & (y_pred == 0)))
    return tp, fp, fn, tn


def balanced_accuracy(y_true, y_pred):
    """08: the mean over the classes present in y_true of the recall of each."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    return float(np.mean([np.mean(y_pred[y_true == c] == c) for c in np.unique(y_true)]))


def class_weights(y):
    """08: scikit-learn's 'balanced' weights, n_samples / (n_classes * n_c), keyed by label."""
    labels, counts = np.unique(np.asarray(y), return_counts=True)
    return {int(c): float(len(y) / (len(labels) * n)) for c, n in zip(labels, counts)}


def feature_head(feature_maps, w, b):
    """10: global average pooling of (N, H, W, C) maps, one dense unit, a sigmoid -> (N,)."""
    pooled = feature_maps.mean(axis=(1, 2))
    z = pooled @ w + b
    return 0.5 * (1 + np.tanh(z / 2))       # = 1 / (1 + exp(-z)), without overflow


def layers_to_unfreeze(layer_names, block):
    """11: every layer from the first one of ``block`` (name ``block`` or ``block_...``) to the end."""
    for i, name in enumerate(layer_names):
        if name == block or name.startswith(block + "_"):
            return list(layer_names[i:])
    raise ValueError(f"no layer of block {block!r}")


def cam_from_maps(feature_maps, weights):
    """12: sum_k weights[k] * feature_maps[:, :, k] for (H, W, K) maps -> (H, W)."""
    return np.tensordot(feature_maps, weights, axes=([2], [0]))
