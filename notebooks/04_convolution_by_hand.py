# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: tags,-all
#     formats: ipynb,py:percent
#     notebook_metadata_filter: kernelspec,jupytext,-jupytext.text_representation.jupytext_version
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 04 · Convolution by hand
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/cnn-course/cnn-image-classification/blob/main/notebooks/04_convolution_by_hand.ipynb)
#
# **You will be able to**
# - compute a convolutional layer's output with pencil-and-paper loops, then as one matrix
#   product (im2col), and get the same numbers as PyTorch (NCHW) and TensorFlow/Keras (NHWC);
# - predict output shapes with $(W - F + 2P)/S + 1$, choose `valid` or `same` padding, and count
#   a layer's parameters;
# - compute ReLU, max/average/global average pooling, batch normalization (training and
#   inference), nearest-neighbour upsampling and transposed convolution by hand;
# - explain why im2col is fast, with a timing you measure yourself.
#
# **Data.** No dataset: small arrays we write down or draw from a seeded random generator.
# **Runs in** under a minute (`smoke`) and under half a minute (`laptop`, 2 CPU cores; most of it is
# starting TensorFlow and timing the loops of section 8). The outputs stored in this notebook
# come from a `laptop` run on a 2-core CPU machine without a GPU (`profile="laptop"`).

# %%
# On Colab: install the course helpers (a no-op elsewhere).
import sys

if "google.colab" in sys.modules:
    # %pip install -q "course-utils[torch,tf] @ git+https://github.com/cnn-course/cnn-image-classification"
    pass

# %% tags=["parameters"]
profile = "auto"          # "smoke" | "laptop" | "full" | "auto" (see 00_setup)
data_source = "auto"      # "auto" | "real" | "synthetic"  (no dataset in this notebook)
data_dir = None           # unused here
output_dir = "outputs"    # metrics and figures go here
seed = 42
tiny = False              # True: this profile's code paths, seconds of work (tests; see 00_setup)
# This notebook's own knobs: None takes the value from the profile table.
timing_batch = None       # images in the timing batch (N x 3 x 32 x 32)
timing_repeats = None     # best of this many timings

# %%
import course_utils  # import before TensorFlow: see 00_setup

run = course_utils.setup_notebook("04_convolution_by_hand", profile=profile, data_source=data_source,
                                  data_dir=data_dir, output_dir=output_dir, seed=seed, tiny=tiny,
                                  timing_batch=timing_batch, timing_repeats=timing_repeats)
cfg = run.cfg

# %%
import time

import keras
import numpy as np
import tensorflow as tf
import torch
import torch.nn.functional as F

from course_utils.numpy_ import conv
from course_utils.plots import bar_chart

np.set_printoptions(precision=4, suppress=True)
metrics = {}

# %% [markdown]
# ## 1. Cross-correlation on one channel
#
# A convolutional layer slides a small *kernel* (here 3×3) over the image. At each position it
# multiplies the kernel with the *window* of the image under it, element by element, and sums the
# products into one output number. Strictly, that is a **cross-correlation**: the mathematical
# convolution flips the kernel first. Deep-learning libraries skip the flip (the kernel is
# learned, so a flipped kernel is just another kernel), and so do we.
#
# A 5×5 image (a bright vertical bar) and a 3×3 vertical-edge kernel:

# %%
# NBVAL_CHECK_OUTPUT
x1 = np.array([[0, 0, 1, 0, 0],
               [0, 0, 1, 0, 0],
               [0, 0, 1, 0, 0],
               [0, 0, 1, 0, 0],
               [0, 0, 1, 0, 0]], dtype=float)
k1 = np.array([[1, 0, -1],
               [1, 0, -1],
               [1, 0, -1]], dtype=float)
window = x1[0:3, 0:3]                  # the window under the kernel at output position (0, 0)
print("window:\n", window)
print("products:\n", window * k1)
print("sum:", np.sum(window * k1))

# %% [markdown]
# Moving the window one pixel to the right (stride 1) gives the next output. With no padding,
# a 3×3 kernel fits in 5 − 3 + 1 = 3 positions per row: the output is 3×3. The picture shows
# the step we just computed, for output position (0, 0): the window (red), the products and
# their sum, and where it lands in the output.

# %%
fig = conv.plot_correlation_step(x1, k1, 0, 0)
fig.savefig(run.path("04_correlation_step.png"), dpi=80)

# %%
# NBVAL_CHECK_OUTPUT
print(conv.cross_correlate2d(x1, k1))

# %% [markdown]
# The kernel computes "left column minus right column" of each window: −3 where the bright bar
# sits under the kernel's right column (brightness rises to the right: the bar's left edge), +3
# where it sits under the left column (the right edge), and 0 where the window straddles the bar
# symmetrically. It is a vertical-edge detector; a convolutional layer *learns* many such kernels.

# %% [markdown]
# ## 2. Many channels, many filters: the classic demo
#
# A colour image has 3 channels, so each filter is 3-D too: **3×3×3**, one 3×3 slice per input
# channel, and one output number is the sum over all 27 products plus the filter's bias. Each
# filter produces one output channel (a *feature map*).
#
# The CS231n demo: a 5×5×3 input padded with one ring of zeros to 7×7×3 (pad 1), two 3×3×3
# filters with biases 1 and 0, stride 2. Output size $(5 - 3 + 2\cdot1)/2 + 1 = 3$, so the output
# volume is 3×3×2. The values come from a seeded generator (integers, as in the demo), so you
# can redo any entry by hand.

# %%
# NBVAL_CHECK_OUTPUT
demo_rng = np.random.default_rng(231)                    # fixed: the demo is the same for everyone
x_demo = demo_rng.integers(0, 3, size=(1, 3, 5, 5)).astype(np.float32)    # N, C, H, W
w_demo = demo_rng.integers(-1, 2, size=(2, 3, 3, 3)).astype(np.float32)   # F, C, HH, WW
b_demo = np.array([1, 0], dtype=np.float32)
print("input channel 0 (before padding):\n", x_demo[0, 0])
print("padded input channel 0 (7x7):\n", conv.pad_nchw(x_demo, 1)[0, 0])
print("filter w0, channel 0:\n", w_demo[0, 0])

# %% [markdown]
# One output entry by hand: filter 0 at output position (0, 0) sees rows 0–2 and columns 0–2 of
# the padded input, in all three channels.

# %%
# NBVAL_CHECK_OUTPUT
xp = conv.pad_nchw(x_demo, 1)
entry = np.sum(xp[0, :, 0:3, 0:3] * w_demo[0]) + b_demo[0]
print("out[filter 0, row 0, col 0] =", entry)

# %% [markdown]
# Now every entry, three ways. **Loops**: four nested loops (image, filter, row, column), a sum
# over the window in each. **im2col**: copy each 3×3×3 window into a column of a matrix (27 rows,
# one column per output position), flatten each filter into a row, and do one matrix product —
# the form that BLAS libraries and GPUs run fast. Then the two libraries: PyTorch works in NCHW,
# TensorFlow in NHWC with kernels stored (HH, WW, C, F), so we move the axes before comparing.

# %%
out_loops = conv.conv_forward_naive(x_demo, w_demo, b_demo, stride=2, pad=1)
out_im2col = conv.conv_forward_im2col(x_demo, w_demo, b_demo, stride=2, pad=1)

out_torch = F.conv2d(torch.from_numpy(x_demo), torch.from_numpy(w_demo), torch.from_numpy(b_demo),
                     stride=2, padding=1).numpy()

x_nhwc = conv.nchw_to_nhwc(x_demo)
x_nhwc_padded = tf.pad(x_nhwc, [[0, 0], [1, 1], [1, 1], [0, 0]])   # explicit pad 1, like PyTorch
out_tf = (tf.nn.conv2d(x_nhwc_padded, conv.torch_to_keras_kernel(w_demo), strides=2, padding="VALID")
          + b_demo).numpy()                                           # (1, 3, 3, 2) NHWC

conv_diff_torch = float(max(np.abs(out_loops - out_torch).max(), np.abs(out_im2col - out_torch).max()))
conv_diff_tf = float(np.abs(conv.nchw_to_nhwc(out_loops) - out_tf).max())
print(f"loops vs im2col:  {np.abs(out_loops - out_im2col).max():.2e}")
print(f"loops vs PyTorch: {conv_diff_torch:.2e}    loops vs TensorFlow: {conv_diff_tf:.2e}")
run.lesson("conv_same_as_frameworks", "Convolution by hand (loops and im2col) equals PyTorch's and TensorFlow's",
           conv_diff_torch <= 1e-5 and conv_diff_tf <= 1e-5,
           f"largest difference {conv_diff_torch:.1e} (PyTorch), {conv_diff_tf:.1e} (TensorFlow); limit 1e-5")
assert conv_diff_torch <= 1e-5 and conv_diff_tf <= 1e-5

# %% [markdown]
# All four agree (the differences are 0 or float32 round-off). The output volume, one 3×3 map
# per filter:

# %%
# NBVAL_CHECK_OUTPUT
for f in range(2):
    print(f"output map of filter {f} (bias {b_demo[f]:g}):\n{out_loops[0, f]}")
conv_demo_output = conv.nchw_to_nhwc(out_loops)[0]          # 3 x 3 x 2, the volume notation H x W x D
print("shape:", conv_demo_output.shape)
metrics.update(conv_demo_output=conv_demo_output.tolist(), conv_max_abs_diff_torch=conv_diff_torch,
               conv_max_abs_diff_tf=conv_diff_tf)

# %% [markdown]
# ## 3. Output sizes, and parameter sharing
#
# Along each spatial axis, a window of size $F$ with padding $P$ and stride $S$ fits
# $(W - F + 2P)/S + 1$ times. The CS231n case: a 32×32×3 input, ten 5×5 filters, stride 1, pad 2
# gives $(32 - 5 + 4)/1 + 1 = 32$, so 32×32×10 — pad $(F-1)/2$ with stride 1 keeps the size.
#
# When $(W - F + 2P)$ is not a multiple of $S$ the windows do not tile the input. The frameworks
# then silently drop the last rows and columns; our helper refuses, with a message that says why.

# %%
# NBVAL_CHECK_OUTPUT
side = conv.conv_output_size(32, 5, pad=2, stride=1)
print("32x32x3, ten 5x5 filters, S=1, P=2 ->", (side, side, 10))
try:
    conv.conv_output_size(10, 3, pad=0, stride=2)
except ValueError as err:
    print("ValueError:", err)
print("frameworks would floor it to:", conv.conv_output_size(10, 3, pad=0, stride=2, strict=False))

# %% [markdown]
# ### Exercise: the output size
#
# Write `conv_output_size(size, kernel, pad=0, stride=1)`, flooring like the frameworks. The checker tries
# eight combinations, some that do not divide evenly, and wants an `int`.

# %%
def conv_output_size(size, kernel, pad=0, stride=1):
    """Number of window positions along one axis: input `size`, window `kernel`, `pad` zeros on EACH
    side, step `stride`. Floors when the windows do not tile the input (as PyTorch and Keras do).
    Returns an int."""
    # Hint: (W - F + 2P) / S + 1, with integer division.
    raise NotImplementedError("write conv_output_size")


# %%
from course_utils.exercises import use  # runs the checker; falls back to the reference if needed

conv_output_size = use("04.conv_output_size", conv_output_size)
print("32x32, 5x5, P=2, S=1 ->", conv_output_size(32, 5, pad=2, stride=1))

# %% [markdown]
# The libraries agree on the shape:

# %%
# NBVAL_CHECK_OUTPUT
torch_conv = torch.nn.Conv2d(3, 10, 5, stride=1, padding=2)
keras_conv = keras.layers.Conv2D(10, 5, strides=1, padding="same")
print("PyTorch (NCHW):", tuple(torch_conv(torch.zeros(1, 3, 32, 32)).shape))
print("Keras   (NHWC):", tuple(keras_conv(np.zeros((1, 32, 32, 3), np.float32)).shape))

# %% [markdown]
# **Parameter sharing.** Every position of a feature map uses the same filter, so the layer has
# only $(5\cdot5\cdot3 + 1)\cdot10 = 760$ parameters, whatever the image size. A dense layer from
# the same 32·32·3 inputs to the same 32·32·10 outputs would need one weight per input–output
# pair.

# %%
# NBVAL_CHECK_OUTPUT
conv_params = (5 * 5 * 3 + 1) * 10
dense_params = (32 * 32 * 3 + 1) * (32 * 32 * 10)
print(f"conv layer by hand:   {conv_params:,}")
print(f"PyTorch Conv2d:       {sum(p.numel() for p in torch_conv.parameters()):,}")
print(f"Keras Conv2D:         {keras_conv.count_params():,}")
print(f"dense layer, same in/out sizes: {dense_params:,}  ({dense_params // conv_params:,} times more)")
run.lesson("conv_params_by_formula", "A conv layer's parameters are (F*F*C + 1)*K, as both frameworks count them",
           conv_params == keras_conv.count_params() == sum(p.numel() for p in torch_conv.parameters()),
           f"by hand {conv_params}, Keras {keras_conv.count_params()}, "
           f"PyTorch {sum(p.numel() for p in torch_conv.parameters())}")
assert conv_params == 760 == keras_conv.count_params() == sum(p.numel() for p in torch_conv.parameters())

# %% [markdown]
# ## 4. `valid` and `same` padding, and stride
#
# Keras names two paddings: `valid` (no padding: the output shrinks by $F-1$) and `same`
# (pad so that the output has $\lceil W/S \rceil$ positions; with stride 1 that is the input
# size). PyTorch takes a number (`padding=1`) or `padding="same"`, which it allows only with
# stride 1. With stride 2, `same` in Keras pads 0 on top/left and 1 on bottom/right of a
# 32-pixel input (the extra pixel goes at the end), while PyTorch's `padding=1` pads both sides:
# the shapes agree, but for even inputs the windows are shifted by one pixel. Shapes for a 32×32
# input and a 3×3 kernel:

# %%
# NBVAL_CHECK_OUTPUT
xk = np.zeros((1, 32, 32, 3), np.float32)
xt = torch.zeros(1, 3, 32, 32)
print(f"{'stride':>6} | {'Keras valid':>12} {'Keras same':>11} | {'torch pad 0':>11} {'torch pad 1':>11} {'torch same':>10}")
for s in (1, 2):
    kv = keras.layers.Conv2D(4, 3, strides=s, padding="valid")(xk).shape[1]
    ks = keras.layers.Conv2D(4, 3, strides=s, padding="same")(xk).shape[1]
    t0 = torch.nn.Conv2d(3, 4, 3, stride=s, padding=0)(xt).shape[-1]
    t1 = torch.nn.Conv2d(3, 4, 3, stride=s, padding=1)(xt).shape[-1]
    tsame = torch.nn.Conv2d(3, 4, 3, stride=s, padding="same")(xt).shape[-1] if s == 1 else "not allowed"
    print(f"{s:>6} | {kv:>12} {ks:>11} | {t0:>11} {t1:>11} {tsame:>10}")
print("Keras 'same' padding (before, after) for W=32, F=3, S=2:", conv.same_padding(32, 3, 2))

# %% [markdown]
# ## 5. ReLU and pooling
#
# After a convolution comes a non-linearity, almost always ReLU, $\max(0, x)$; then, every few
# layers, a *pooling* layer shrinks the feature maps. Max pooling 2×2 with stride 2 keeps the
# largest value of each 2×2 block; average pooling keeps the mean; global average pooling keeps
# one mean per feature map (it replaces Flatten in modern networks — see 05 and 12).

# %%
# NBVAL_CHECK_OUTPUT
print("ReLU([-2, -0.5, 0, 1.5]) =", conv.relu(np.array([-2, -0.5, 0, 1.5])))
pool_in = np.array([[1, 1, 2, 4],
                    [5, 6, 7, 8],
                    [3, 2, 1, 0],
                    [1, 2, 3, 4]], dtype=np.float32)[None, None]          # N=1, C=1
maxpool = conv.max_pool_forward(pool_in, size=2, stride=2)
avgpool = conv.avg_pool_forward(pool_in, size=2, stride=2)
print("max pool 2x2/2:\n", maxpool[0, 0])
print("average pool 2x2/2:\n", avgpool[0, 0])
print("global average pool:", conv.global_avg_pool(pool_in)[0])

# %% [markdown]
# The same three numbers from both libraries (PyTorch on NCHW, Keras on NHWC):

# %%
# NBVAL_CHECK_OUTPUT
pool_t = torch.from_numpy(pool_in)
pool_k = conv.nchw_to_nhwc(pool_in)
checks = {
    "max, PyTorch": np.allclose(F.max_pool2d(pool_t, 2, 2).numpy(), maxpool),
    "max, Keras": np.allclose(conv.nhwc_to_nchw(keras.layers.MaxPooling2D(2, 2)(pool_k).numpy()), maxpool),
    "avg, PyTorch": np.allclose(F.avg_pool2d(pool_t, 2, 2).numpy(), avgpool),
    "avg, Keras": np.allclose(conv.nhwc_to_nchw(keras.layers.AveragePooling2D(2, 2)(pool_k).numpy()), avgpool),
    "GAP, PyTorch": np.allclose(F.adaptive_avg_pool2d(pool_t, 1).numpy()[:, :, 0, 0], conv.global_avg_pool(pool_in)),
    "GAP, Keras": np.allclose(keras.layers.GlobalAveragePooling2D()(pool_k).numpy(), conv.global_avg_pool(pool_in)),
}
for name, ok in checks.items():
    print(f"{name:13s} equal: {ok}")
assert all(checks.values())
metrics["maxpool_demo_output"] = maxpool[0, 0].astype(int).tolist()

# %% [markdown]
# ### Exercise: max pooling
#
# Write `max_pool_forward(x, size=2, stride=2)` for NCHW arrays. The checker compares with PyTorch's
# `max_pool2d` loops, on all-negative inputs, overlapping windows (3×3, stride 2) and odd sizes.

# %%
def max_pool_forward(x, size=2, stride=2):
    """Max pooling of x (N, C, H, W) over size x size windows moved by stride; leftover rows and
    columns are dropped. Returns (N, C, H', W')."""
    # Hints: H' = (H - size) // stride + 1; loop over the output rows and columns and take
    # x[:, :, r*stride : r*stride+size, s*stride : s*stride+size].max(axis=(2, 3)).
    raise NotImplementedError("write max_pool_forward")


# %%
max_pool_forward = use("04.max_pool_forward", max_pool_forward)
print(max_pool_forward(pool_in)[0, 0])

# %% [markdown]
# ## 6. Batch normalization by hand
#
# Batch normalization, per channel $c$, over the batch and both spatial axes ($m = N\cdot H\cdot W$
# numbers):
#
# $$\mu_c = \tfrac1m\sum x, \qquad \sigma_c^2 = \tfrac1m\sum (x-\mu_c)^2 \text{ (biased)},\qquad
# y = \gamma_c\,\frac{x-\mu_c}{\sqrt{\sigma_c^2+\varepsilon}} + \beta_c .$$
#
# It also keeps *running* estimates of $\mu$ and $\sigma^2$ for inference. Two conventions
# trip people up:
#
# - **momentum** — PyTorch: `running = (1 - 0.1)·running + 0.1·batch` (`momentum=0.1` is the
#   weight of the *new* batch). Keras: `moving = 0.99·moving + (1 - 0.99)·batch` (`momentum=0.99`
#   is the weight of the *old* value). So Keras' 0.99 is PyTorch's 0.01, and PyTorch's default
#   0.1 is Keras' 0.9.
# - **variance** — both normalize with the biased variance, but PyTorch stores the *unbiased*
#   one ($\times\, m/(m-1)$) in `running_var`; Keras stores the biased one. And the default
#   $\varepsilon$ differs: 1e-5 in PyTorch, 1e-3 in Keras.
#
# We set both libraries to momentum 0.1 (PyTorch) = 0.9 (Keras) and ε = 1e-5, feed one
# training batch, and compare outputs and running statistics.

# %%
bn_rng = np.random.default_rng(seed)
x_bn = (bn_rng.normal(size=(8, 3, 4, 4)) * 2 + 1).astype(np.float32)   # N, C, H, W
gamma = bn_rng.uniform(0.5, 1.5, size=3).astype(np.float32)
beta = bn_rng.normal(size=3).astype(np.float32)
mom_torch, eps = 0.1, 1e-5

# by hand, once with each library's running-variance convention
y_hand, mean_t, var_t = conv.batchnorm_forward(x_bn, gamma, beta, np.zeros(3), np.ones(3), training=True,
                                            momentum=mom_torch, eps=eps, unbiased_running_var=True)
_, mean_k, var_k = conv.batchnorm_forward(x_bn, gamma, beta, np.zeros(3), np.ones(3), training=True,
                                       momentum=mom_torch, eps=eps, unbiased_running_var=False)

bn_torch = torch.nn.BatchNorm2d(3, eps=eps, momentum=mom_torch)
with torch.no_grad():
    bn_torch.weight.copy_(torch.from_numpy(gamma))
    bn_torch.bias.copy_(torch.from_numpy(beta))
bn_torch.train()
y_torch = bn_torch(torch.from_numpy(x_bn)).detach().numpy()

bn_keras = keras.layers.BatchNormalization(momentum=1 - mom_torch, epsilon=eps)
bn_keras.build((None, 4, 4, 3))
bn_keras.gamma.assign(gamma)
bn_keras.beta.assign(beta)
y_keras = conv.nhwc_to_nchw(bn_keras(conv.nchw_to_nhwc(x_bn), training=True).numpy())

print("running mean  by hand:", mean_t, "\n              PyTorch:", bn_torch.running_mean.numpy(),
      "\n              Keras:  ", bn_keras.moving_mean.numpy())
print("running var   by hand (unbiased):", var_t, " PyTorch:", bn_torch.running_var.numpy())
print("running var   by hand (biased):  ", var_k, " Keras:  ", bn_keras.moving_variance.numpy())

# %% [markdown]
# **Inference** uses the running statistics, not the batch's: the output for an image no longer
# depends on the other images in the batch. After one step the running statistics are still
# close to their start (mean 0, variance 1), so training-mode and inference-mode outputs differ a
# lot here — which is why a network evaluated in the wrong mode behaves strangely.

# %%
y_hand_eval_t, _, _ = conv.batchnorm_forward(x_bn, gamma, beta, mean_t, var_t, training=False, eps=eps)
y_hand_eval_k, _, _ = conv.batchnorm_forward(x_bn, gamma, beta, mean_k, var_k, training=False, eps=eps)
bn_torch.eval()
y_torch_eval = bn_torch(torch.from_numpy(x_bn)).detach().numpy()
y_keras_eval = conv.nhwc_to_nchw(bn_keras(conv.nchw_to_nhwc(x_bn), training=False).numpy())

bn_diff_torch = float(max(np.abs(y_hand - y_torch).max(), np.abs(y_hand_eval_t - y_torch_eval).max(),
                          np.abs(mean_t - bn_torch.running_mean.numpy()).max(),
                          np.abs(var_t - bn_torch.running_var.numpy()).max()))
bn_diff_keras = float(max(np.abs(y_hand - y_keras).max(), np.abs(y_hand_eval_k - y_keras_eval).max(),
                          np.abs(mean_k - bn_keras.moving_mean.numpy()).max(),
                          np.abs(var_k - bn_keras.moving_variance.numpy()).max()))
print(f"max |by hand - PyTorch| (train + eval outputs, running stats): {bn_diff_torch:.2e}")
print(f"max |by hand - Keras|   (train + eval outputs, moving stats):  {bn_diff_keras:.2e}")
print(f"train-mode vs eval-mode output, mean |difference|: {np.abs(y_hand - y_hand_eval_t).mean():.2f}")
run.lesson("batchnorm_same_as_frameworks", "Batch norm by hand (training and inference, running statistics) "
           "equals PyTorch's and Keras'", bn_diff_torch <= 1e-5 and bn_diff_keras <= 1e-5,
           f"largest difference {bn_diff_torch:.1e} (PyTorch), {bn_diff_keras:.1e} (Keras); limit 1e-5")
assert bn_diff_torch <= 1e-5 and bn_diff_keras <= 1e-5
metrics.update(bn_max_abs_diff_torch=bn_diff_torch, bn_max_abs_diff_keras=bn_diff_keras)

# %% [markdown]
# ### Exercise: batch normalization, training mode
#
# Write the forward pass by the formula above (no running statistics). The checker compares with
# PyTorch's `batch_norm`, and includes a channel whose values are all equal: its variance is 0.

# %%
def batchnorm_forward(x, gamma, beta, eps=1e-5):
    """Batch normalization of x (N, C, H, W) in training mode: per channel, the mean and the biased
    variance over the batch and both spatial axes; then gamma (C,) scales and beta (C,) shifts."""
    # Hints: x.mean(axis=(0, 2, 3), keepdims=True); x.var(...) is the biased variance; reshape gamma
    # and beta to (1, C, 1, 1) to broadcast.
    raise NotImplementedError("write batchnorm_forward")


# %%
batchnorm_forward = use("04.batchnorm_forward", batchnorm_forward)

# %% [markdown]
# ## 7. Going up: nearest-neighbour upsampling and transposed convolution
#
# Segmentation networks and generators need to *grow* feature maps. The simplest way repeats
# each pixel into a 2×2 block (nearest neighbour: `UpSampling2D` in Keras, `nn.Upsample` in
# PyTorch). It has no parameters.

# %%
# NBVAL_CHECK_OUTPUT
small = np.array([[1, 2], [3, 4]], dtype=np.float32)[None, None]
up = conv.upsample_nearest(small, 2)
print(up[0, 0])
print("PyTorch equal:", np.array_equal(torch.nn.Upsample(scale_factor=2, mode="nearest")(torch.from_numpy(small)).numpy(), up))
print("Keras equal:  ", np.array_equal(conv.nhwc_to_nchw(keras.layers.UpSampling2D(2)(conv.nchw_to_nhwc(small)).numpy()), up))

# %% [markdown]
# A **transposed convolution** learns how to upsample. Read it as a scatter: each input pixel
# multiplies the whole kernel and *adds* the result into the output, at a place that moves by the
# stride; where the stamped kernels overlap, they sum. Then $P$ rows/columns are cropped from each
# border. The output size is the convolution formula solved for $W$:
# $(W-1)\,S - 2P + F$. With kernel 4, stride 2, pad 1: $(W-1)\cdot2 - 2 + 4 = 2W$ — it doubles the
# size, as Keras' `padding="same"` with stride 2 does.

# %%
# NBVAL_CHECK_OUTPUT
print("output size for W=4, F=4, S=2, P=1:", conv.conv_transpose_output_size(4, 4, pad=1, stride=2))
ones = np.ones((1, 1, 2, 2), np.float32)
stamp = np.arange(1, 10, dtype=np.float32).reshape(1, 1, 3, 3)
print("scatter-add of a 3x3 kernel from a 2x2 input of ones, stride 2, no crop:\n",
      conv.conv_transpose_forward(ones, stamp, np.zeros(1, np.float32), stride=2, pad=0)[0, 0])

# %% [markdown]
# The overlapping column and row (value 3+1, 7+9, ...) are where two stamps added up. Now a real
# layer, 3 input and 2 output channels, against both libraries. PyTorch stores a transposed kernel
# as (C_in, C_out, F, F); Keras as (F, F, C_out, C_in).

# %%
tr_rng = np.random.default_rng(seed + 1)
x_up = tr_rng.normal(size=(2, 3, 4, 4)).astype(np.float32)
w_up = tr_rng.normal(size=(3, 2, 4, 4)).astype(np.float32)   # C_in, C_out, F, F
b_up = tr_rng.normal(size=2).astype(np.float32)

y_up = conv.conv_transpose_forward(x_up, w_up, b_up, stride=2, pad=1)

ct_torch = torch.nn.ConvTranspose2d(3, 2, 4, stride=2, padding=1)
with torch.no_grad():
    ct_torch.weight.copy_(torch.from_numpy(w_up))
    ct_torch.bias.copy_(torch.from_numpy(b_up))
y_up_torch = ct_torch(torch.from_numpy(x_up)).detach().numpy()

ct_keras = keras.layers.Conv2DTranspose(2, 4, strides=2, padding="same")
ct_keras.build((None, 4, 4, 3))
ct_keras.kernel.assign(conv.torch_to_keras_kernel(w_up))
ct_keras.bias.assign(b_up)
y_up_keras = conv.nhwc_to_nchw(ct_keras(conv.nchw_to_nhwc(x_up)).numpy())

tr_diff_torch = float(np.abs(y_up - y_up_torch).max())
tr_diff_keras = float(np.abs(y_up - y_up_keras).max())
print("shapes: by hand", y_up.shape, "| PyTorch", y_up_torch.shape, "| Keras (back to NCHW)", y_up_keras.shape)
print(f"max |by hand - PyTorch| = {tr_diff_torch:.2e}   max |by hand - Keras| = {tr_diff_keras:.2e}")
run.lesson("transposed_same_as_frameworks", "Transposed convolution as a scatter-add equals PyTorch's and Keras'",
           tr_diff_torch <= 1e-5 and tr_diff_keras <= 1e-5,
           f"largest difference {tr_diff_torch:.1e} (PyTorch), {tr_diff_keras:.1e} (Keras); limit 1e-5")
assert tr_diff_torch <= 1e-5 and tr_diff_keras <= 1e-5
metrics.update(transposed_max_abs_diff_torch=tr_diff_torch, transposed_max_abs_diff_keras=tr_diff_keras)

# %% [markdown]
# A trap when porting models: with an **odd** kernel (3) and stride 2, the full scatter output
# has $2W+1$ rows and one must go. Keras' `same` crops it at the bottom/right; PyTorch's
# `padding=1, output_padding=1` crops one at the top/left instead. Same shapes, different numbers:

# %%
# NBVAL_CHECK_OUTPUT
w3 = tr_rng.normal(size=(3, 2, 3, 3)).astype(np.float32)
ct3_keras = keras.layers.Conv2DTranspose(2, 3, strides=2, padding="same")
ct3_keras.build((None, 4, 4, 3))
ct3_keras.kernel.assign(conv.torch_to_keras_kernel(w3))
ct3_keras.bias.assign(np.zeros(2, np.float32))
ct3_torch = torch.nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1, output_padding=1, bias=False)
with torch.no_grad():
    ct3_torch.weight.copy_(torch.from_numpy(w3))
k3 = conv.nhwc_to_nchw(ct3_keras(conv.nchw_to_nhwc(x_up)).numpy())
t3 = ct3_torch(torch.from_numpy(x_up)).detach().numpy()
zero = np.zeros(2, np.float32)
print("Keras same   == scatter, crop (top 0, bottom 1):",
      np.allclose(k3, conv.conv_transpose_forward(x_up, w3, zero, 2, (0, 1)), atol=1e-5))
print("PyTorch p1/op1 == scatter, crop (top 1, bottom 0):",
      np.allclose(t3, conv.conv_transpose_forward(x_up, w3, zero, 2, (1, 0)), atol=1e-5))
print("Keras == PyTorch:", np.allclose(k3, t3, atol=1e-5))

# %% [markdown]
# ## 8. Why im2col: a timing
#
# The loops in `conv_forward_naive` run once per (image, filter, row, column): for a batch of
# 32 CIFAR-sized images (32×3×32×32) and 16 filters of 3×3 with pad 1 that is
# 32·16·32·32 ≈ 524,000 small NumPy calls. im2col does the same arithmetic as **one** matrix
# product of a (16 × 27) matrix with a (27 × 32,768) one, which NumPy hands to an optimized BLAS.
# We take the best of a few runs (the `timing_batch` images and `timing_repeats` runs come from
# the profile).

# %%
t_rng = np.random.default_rng(seed)
x_time = t_rng.normal(size=(cfg.timing_batch, 3, 32, 32)).astype(np.float32)
w_time = t_rng.normal(size=(16, 3, 3, 3)).astype(np.float32)
b_time = np.zeros(16, np.float32)


def best_time(fn, repeats):
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


with run.timer("naive_conv"):
    t_naive = best_time(lambda: conv.conv_forward_naive(x_time, w_time, b_time, 1, 1), cfg.timing_repeats)
# the fast versions take milliseconds, so a moment of load on a shared machine would swamp one
# measurement: take the best of 20
t_im2col = best_time(lambda: conv.conv_forward_im2col(x_time, w_time, b_time, 1, 1), 20)
t_torch = best_time(lambda: F.conv2d(torch.from_numpy(x_time), torch.from_numpy(w_time), padding=1), 20)
speedup = t_naive / t_im2col
print(f"batch {x_time.shape}: loops {t_naive * 1e3:.0f} ms | im2col {t_im2col * 1e3:.1f} ms | "
      f"PyTorch conv2d {t_torch * 1e3:.1f} ms | im2col speed-up {speedup:.0f}x")
assert np.allclose(conv.conv_forward_naive(x_time[:2], w_time, b_time, 1, 1),
                   conv.conv_forward_im2col(x_time[:2], w_time, b_time, 1, 1), atol=1e-4)
metrics["im2col_speedup"] = float(speedup)
run.lesson("im2col_faster", "im2col (one matrix product) is at least 50x faster than the loops",
           speedup >= 50, f"loops {t_naive * 1e3:.0f} ms vs im2col {t_im2col * 1e3:.1f} ms: {speedup:.0f}x "
           f"on a batch of {cfg.timing_batch}")
fig = bar_chart({"loops": t_naive * 1e3, "im2col": t_im2col * 1e3, "PyTorch": t_torch * 1e3},
                ylabel="ms (log scale)", title=f"Convolution of {cfg.timing_batch}x3x32x32, 16 filters 3x3",
                log=True, fmt="{:.1f}")
fig.savefig(run.path("04_conv_timing.png"), dpi=80)

# %% [markdown]
# Expect a speed-up in the hundreds (at least 50×): this run's is printed above; your value
# depends on your machine and its load. PyTorch's own
# convolution uses specialised kernels and several threads: on an idle machine it is usually
# faster still, but on a busy shared one its threads wait for each other and its timing varies a
# lot from run to run. The price
# of im2col is memory: the column matrix holds every input pixel up to 9 times (once per kernel
# position), which is why libraries apply it tile by tile or use other algorithms altogether.

# %% [markdown]
# ## 9. Exercise: write `conv_forward_naive` yourself
#
# Fill in the function below: input `x` (N, C, H, W), filters `w` (F, C, HH, WW), biases `b`
# (F,), `stride` and `pad`; return (N, F, H', W'). The checker compares it with PyTorch's `conv2d` on
# six stride and padding combinations, with non-square inputs and kernels (a swapped axis shows), and
# says when the bias is missing or the kernel flipped. Until it passes, the comparison below uses the
# course's version.

# %%
def conv_forward_naive(x, w, b, stride=1, pad=0):
    """Forward pass of a convolutional layer (cross-correlation, as in every CNN library).

    x: (N, C, H, W); w: (F, C, HH, WW); b: (F,); `pad` zeros on each side of H and W; step `stride`.
    Returns (N, F, H', W') with H' = (H + 2 pad - HH) // stride + 1 (and W' alike).
    """
    # Hints: np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad))); loop over n, f and the output
    # positions i, j; out[n, f, i, j] = sum of the window x_pad[n, :, i*stride:i*stride+HH,
    # j*stride:j*stride+WW] times w[f], plus b[f].
    raise NotImplementedError("write conv_forward_naive")


# %%
conv_forward_naive = use("04.conv_forward_naive", conv_forward_naive)
ex_rng = np.random.default_rng(seed + 2)
x_ex = ex_rng.normal(size=(2, 3, 7, 7)).astype(np.float32)
w_ex = ex_rng.normal(size=(4, 3, 3, 3)).astype(np.float32)
b_ex = ex_rng.normal(size=4).astype(np.float32)
mine = conv_forward_naive(x_ex, w_ex, b_ex, stride=2, pad=1)
ref = F.conv2d(torch.from_numpy(x_ex), torch.from_numpy(w_ex), torch.from_numpy(b_ex), stride=2, padding=1).numpy()
print(f"shape {mine.shape}; max |conv_forward_naive - PyTorch| = {np.abs(mine - ref).max():.1e} (float32 round-off)")

# %% [markdown]
# ## Questions
#
# Answer each in two or three sentences before you open the model answer.
#
# **1. A 3×3 convolution with 64 filters runs on a 32×32×3 image and on a 224×224×3 image. Which layer has more parameters?**
#
# <details><summary>Answer</summary>
#
# Neither: both have 64 × (3·3·3 + 1) = 1,792. The same filters slide over every position
# (parameter sharing), so the count depends on the kernel size and the numbers of input and output
# channels, not on the image size. Only the amount of computation and the size of the output grow.
#
# </details>
#
# **2. Why do CNN libraries compute a cross-correlation and still call it a convolution, and does it matter?**
#
# <details><summary>Answer</summary>
#
# A true convolution flips the kernel first. Since the kernel is learned, a network trained with
# cross-correlation simply learns the flipped kernel, so the two are equally expressive; libraries skip
# the flip. It matters only when you copy fixed kernels (say, from a signal-processing text) into a CNN
# layer, or weights between conventions.
#
# </details>
#
# **3. Why does batch normalization behave differently in training and in evaluation mode?**
#
# <details><summary>Answer</summary>
#
# In training it normalises with the statistics of the current batch (and updates running
# averages). In evaluation a single image, or a batch of one class, would give unreliable or degenerate
# statistics, so it uses the running averages instead. Forgetting `model.eval()` makes predictions
# depend on which other images are in the batch.
#
# </details>

# %% [markdown]
# ## Summary
#
# - A convolutional layer is a sum of products over a window, for every position, filter and
#   image; loops, im2col, PyTorch (NCHW) and TensorFlow (NHWC) all give the same 3×3×2 volume
#   for the demo, to float32 round-off.
# - Output size $(W - F + 2P)/S + 1$; `same` keeps $\lceil W/S \rceil$; a conv layer's
#   parameters, $(F\cdot F\cdot C + 1)\cdot K$, do not depend on the image size.
# - Max pooling of the 4×4 example gives [[6, 8], [3, 4]].
# - Batch norm normalizes with the batch's biased variance in training and with running
#   statistics at inference; Keras' momentum 0.99 is PyTorch's 0.01, and PyTorch's running
#   variance is the unbiased one.
# - Transposed convolution is a scatter-add; kernel 4, stride 2, pad 1 doubles the size in both
#   libraries, while odd kernels crop on different sides.
# - im2col turned half a million small loops into one matrix product (the measured speed-up on
#   this machine is printed in section 8).
#
# ## What this run showed
#
# Each lesson above, checked on this run's own numbers (✓ held, ✗ did not hold here):

# %%
run.show_lessons()

# %%
run.save_metrics(metrics)
