"""CNN architectures without a framework: layer specs, the shape-and-parameter trace, parameter
totals and receptive fields (taught in 05_cnn_architectures).

The models built from these specs live in :mod:`course_utils.torch_.models` and
:mod:`course_utils.keras_.models`; the reference specs below are used in 05, 07, 09 and 12.
"""
from __future__ import annotations

from dataclasses import dataclass

from course_utils.numpy_.conv import conv_output_size

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


