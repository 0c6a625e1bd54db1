"""Checkers of the exercises of 09-12. All NumPy: cheap, no model is built."""
from __future__ import annotations

import numpy as np

from .checking import Wrong, call, check_array, check_number


def flatten_length(fn) -> int:
    sizes = [150, 180, 64, 151, 149, 100]
    for i, size in enumerate(sizes, 1):
        s = size
        for _ in range(4):
            s = (s - 2) // 2              # valid 3x3 conv, then 2x2 max-pool (floor)
        expected = s * s * 128
        t = size
        for _ in range(4):
            t = t // 2
        case = f"case {i} (image_size={size})"
        got = call(case, fn, size)
        check_number(case, got, expected, name="Flatten length", integer=True,
                     variants={"each valid 3x3 convolution also removes 2 pixels": t * t * 128,
                               "the last block has 128 feature maps: multiply by 128": s * s,
                               "Flatten sees H * W * channels, not H * W * 3": s * s * 3})
    return len(sizes)


def feature_head(fn) -> int:
    rng = np.random.default_rng(10)
    maps = np.abs(rng.normal(size=(3, 5, 4, 6)))      # N=3, H=5, W=4, C=6: every axis has its own length
    w, b = rng.normal(size=6), 0.7
    z = maps.mean(axis=(1, 2)) @ w + b
    sig = lambda v: 0.5 * (1 + np.tanh(v / 2))  # noqa: E731
    check_array("case 1 (N=3, 5x4 maps, C=6)", call("case 1", fn, maps.copy(), w.copy(), b), sig(z),
                name="probabilities", rtol=1e-7,
                variants={"the bias b is missing": sig(z - b),
                          "that is max pooling; the head uses global AVERAGE pooling":
                              sig(maps.max(axis=(1, 2)) @ w + b),
                          "those are logits: apply the sigmoid": z})
    big = np.full((2, 2, 2, 3), 400.0)
    got = call("case 2 (large features: logit 1200)", fn, big, np.ones(3), 0.0)
    check_array("case 2 (large features: logit 1200)", got, np.ones(2), name="probabilities", rtol=1e-9)
    got = call("case 3 (logit -1200)", fn, big, -np.ones(3), 0.0)
    check_array("case 3 (large negative logit -1200)", got, np.zeros(2), name="probabilities", atol=1e-12)
    return 3


VGG16 = ["input_layer", "block1_conv1", "block1_conv2", "block1_pool", "block2_conv1", "block2_conv2", "block2_pool",
         "block3_conv1", "block3_conv2", "block3_conv3", "block3_pool", "block4_conv1", "block4_conv2",
         "block4_conv3", "block4_pool", "block5_conv1", "block5_conv2", "block5_conv3", "block5_pool"]
RESNETISH = ["conv1", "pool1"] + [f"block{i}_{part}" for i in range(1, 13) for part in ("conv", "bn", "relu")] + \
    ["avg_pool", "predictions"]


def layers_to_unfreeze(fn) -> int:
    cases = [("case 1 (VGG16, block5)", VGG16, "block5", VGG16[15:]),
             ("case 2 (VGG16, block4: the later block5 is unfrozen too)", VGG16, "block4", VGG16[11:]),
             ("case 3 (12 blocks, block1: not block10, block11 or block12 first)",
              RESNETISH[:2] + RESNETISH[2 + 27:2 + 36] + RESNETISH[2:2 + 27] + RESNETISH[-2:], "block1",
              (RESNETISH[2:2 + 27] + RESNETISH[-2:])),
             ]
    for case, names, block, expected in cases:
        got = call(case, fn, list(names), block)
        try:
            got = [str(n) for n in got]
        except TypeError:
            raise Wrong(f"{case}: expected a list of layer names, got {type(got).__name__}") from None
        if got == [n for n in names if n.startswith(block)] and got != expected:
            raise Wrong(f"{case}: only the layers of {block} are listed; every layer AFTER the block must be "
                        "trainable too (the top of the network)")
        if len(got) == 1 and len(expected) > 1:
            raise Wrong(f"{case}: only {got} is listed: that is the tutorial bug that unfreezes one layer, "
                        "not the block")
        if got != expected:
            raise Wrong(f"{case}: got {got}, expected {expected}")
    try:
        out = fn(list(VGG16), "block9")
    except NotImplementedError:
        raise
    except ValueError:
        return len(cases) + 1
    except Exception as err:
        raise Wrong(f"case 4 (a block that does not exist): raised {type(err).__name__}; raise ValueError "
                    "naming the block") from None
    raise Wrong(f"case 4 (a block that does not exist, 'block9'): returned {out!r}; raise ValueError, "
                "so a typo does not silently unfreeze nothing (or everything)")


def cam_from_maps(fn) -> int:
    rng = np.random.default_rng(12)
    maps = rng.normal(size=(7, 5, 4))                  # H=7, W=5, K=4
    weights = rng.normal(size=4)
    expected = np.einsum("hwk,k->hw", maps, weights)
    check_array("case 1 (7x5 maps, 4 channels)", call("case 1", fn, maps.copy(), weights.copy()), expected,
                name="CAM", rtol=1e-7,
                variants={"the maps are not weighted: multiply each channel by its dense weight":
                          maps.sum(axis=2), "the weighted maps are averaged, not summed": expected / 4})
    onehot = np.zeros(4)
    onehot[2] = 1.0
    check_array("case 2 (weights one-hot on channel 2: the CAM is that map)", call("case 2", fn, maps, onehot),
                maps[:, :, 2], name="CAM")
    return 2


def normalize_cam(fn) -> int:
    rng = np.random.default_rng(13)
    m = rng.normal(size=(6, 4))
    pos = np.maximum(m, 0)
    check_array("case 1 (positive and negative values)", call("case 1", fn, m.copy()), pos / pos.max(),
                name="normalized CAM", rtol=1e-7,
                variants={"negative evidence must be cut at 0 (ReLU) before scaling":
                          (m - m.min()) / (m.max() - m.min()), "ReLU first, then divide by the maximum":
                          np.maximum(m / np.abs(m).max(), 0)})
    with np.errstate(all="ignore"):
        got = call("case 2 (all values negative: the maximum after ReLU is 0)", fn, -np.abs(m) - 1)
    check_array("case 2 (all values negative: the maximum after ReLU is 0)", got, np.zeros_like(m),
                name="normalized CAM")
    check_array("case 3 (already in [0, 1] with maximum 1)", call("case 3", fn, pos / pos.max()), pos / pos.max(),
                name="normalized CAM")
    return 3
