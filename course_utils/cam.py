"""Class activation maps after the framework: normalize, upsample and locate the peak of a map
(12). Both the Keras and the PyTorch CAM code use these."""

from __future__ import annotations

import numpy as np


def _normalize(cam: np.ndarray) -> np.ndarray:
    cam = cam.astype(np.float32) - cam.min()
    return cam / cam.max() if cam.max() > 0 else cam


def upsample(cam: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A map resized bilinearly to ``size`` = (height, width)."""
    import torch

    t = torch.as_tensor(cam, dtype=torch.float32)[None, None]
    return torch.nn.functional.interpolate(t, size=size, mode="bilinear", align_corners=False)[0, 0].numpy()


def peak(cam: np.ndarray, size: tuple[int, int] | None = None) -> tuple[int, int]:
    """``(row, col)`` of the map's maximum, in the coordinates of an image of ``size`` if given."""
    m = upsample(cam, size) if size is not None else cam
    r, c = np.unravel_index(int(np.argmax(m)), m.shape)
    return int(r), int(c)
