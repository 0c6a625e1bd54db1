"""Class activation maps after the framework (12): scale maps to [0, 1], resize them to the image,
and find their peak. Written once, in NumPy; the Keras (:mod:`course_utils.keras_.cam`) and PyTorch
(:mod:`course_utils.torch_.cam`) CAM code and :func:`course_utils.plots.overlay_heatmap` use it."""

from __future__ import annotations

import numpy as np


def normalize_maps(maps, relu: bool = True) -> np.ndarray:
    """Scale each map (one ``(h, w)`` map or a batch ``(N, h, w)``) to [0, 1].

    With ``relu`` (Grad-CAM) negative evidence is cut to 0 first and an all-negative map stays 0;
    without (CAM, as in the paper) the map's min goes to 0 and its max to 1."""
    maps = np.asarray(maps, dtype=np.float32)
    if maps.ndim == 2:
        return normalize_maps(maps[None], relu)[0]
    shape = (-1,) + (1,) * (maps.ndim - 1)
    if relu:
        maps = np.maximum(maps, 0)
        top = maps.reshape(len(maps), -1).max(axis=1).reshape(shape)
        return maps / np.where(top > 0, top, 1)
    flat = maps.reshape(len(maps), -1)
    lo, hi = flat.min(axis=1).reshape(shape), flat.max(axis=1).reshape(shape)
    return (maps - lo) / np.where(hi > lo, hi - lo, 1)


def _resize_axis(n_in: int, n_out: int):
    # bilinear with half-pixel centres (PyTorch's align_corners=False, TensorFlow's default)
    src = np.clip((np.arange(n_out) + 0.5) * n_in / n_out - 0.5, 0, n_in - 1)
    lo = np.floor(src).astype(int)
    hi = np.minimum(lo + 1, n_in - 1)
    return lo, hi, (src - lo).astype(np.float32)


def upsample(maps, size) -> np.ndarray:
    """Bilinear resize of one ``(h, w)`` map or a batch ``(N, h, w)`` to ``size`` = H or (H, W)."""
    maps = np.asarray(maps, dtype=np.float32)
    if maps.ndim == 2:
        return upsample(maps[None], size)[0]
    H, W = (size, size) if np.isscalar(size) else tuple(size)
    r0, r1, wr = _resize_axis(maps.shape[1], H)
    c0, c1, wc = _resize_axis(maps.shape[2], W)
    rows = maps[:, r0] * (1 - wr)[None, :, None] + maps[:, r1] * wr[None, :, None]
    return rows[:, :, c0] * (1 - wc) + rows[:, :, c1] * wc


def peak(cam, size=None) -> tuple[int, int]:
    """``(row, col)`` of a map's maximum, in the coordinates of an image of ``size`` if given."""
    m = upsample(cam, size) if size is not None else np.asarray(cam)
    r, c = np.unravel_index(int(np.argmax(m)), m.shape)
    return int(r), int(c)
