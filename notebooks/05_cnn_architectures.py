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
# # 05 · CNN architectures: shapes, parameters, depth and receptive fields
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/cnn-course/cnn-image-classification/blob/main/notebooks/05_cnn_architectures.ipynb)
#
# **You will be able to**
# - trace the shape and the parameter count of every layer of a CNN by hand, and check the trace
#   against Keras' `model.summary()` and a PyTorch count;
# - count the parameters of the course's own networks and of AlexNet, VGG16 and ResNet-18, and
#   say where they sit (hint: in the first dense layer);
# - explain why VGG stacks 3×3 convolutions and why ResNet adds shortcuts, build a residual
#   BasicBlock, and watch a deep plain network train worse than its residual twin;
# - compute a receptive field with the recurrence $r \mathrel{+}= (k-1)\,j,\ j \mathrel{*}= s$ and
#   measure it with input gradients.
#
# **Data.** Sections 1–4 need no data. The depth experiment (section 5) trains on CIFAR-10 through
# the data layer (`run.get_data("cifar10")`; a synthetic stand-in, with a banner, if no copy can
# be had). **Runs in** about a minute (`smoke`) and about a minute and a half (`laptop`, 2 CPU
# cores). The outputs stored in this notebook come from a `laptop` run on a 2-core CPU machine
# without a GPU, with a folder of CIFAR-10 as JPEG files (1,000 training images per class of the
# official set).

# %%
# On Colab: install the course helpers (a no-op elsewhere).
import sys

if "google.colab" in sys.modules:
    # %pip install -q "course-utils[torch,tf] @ git+https://github.com/cnn-course/cnn-image-classification"
    pass

# %% tags=["parameters"]
profile = "auto"          # "smoke" | "laptop" | "full" | "auto" (see 00_setup)
data_source = "auto"      # "auto" | "real" | "synthetic"
data_dir = None           # a CIFAR-10 folder you already have (cifar-10-batches-py/ or train/ + test/)
output_dir = "outputs"    # metrics and figures go here
seed = 42
tiny = False              # True: this profile's code paths, seconds of work (tests; see 00_setup)
# This notebook's own knobs: None takes the value from the profile table.
depth_experiment_steps = None     # SGD steps per network in the plain-vs-residual experiment
depth_experiment_n = None         # CIFAR-10 training images used by it
depth_experiment_blocks = None    # BasicBlocks per network (depth: 2 * blocks + 2 weight layers)
depth_experiment_width = None     # channels of the first stage
depth_experiment_batch = None     # mini-batch size
depth_experiment_threads = None   # PyTorch CPU threads for it (None: leave PyTorch's default)
depth_experiment_seeds = None     # how many seeds (seed, seed + 1, ...) the experiment is repeated with
depth_experiment_lr = None        # SGD's learning rate (momentum 0.9), the same for both networks

# %%
import course_utils  # import before TensorFlow: see 00_setup

run = course_utils.setup_notebook("05_cnn_architectures", profile=profile, data_source=data_source,
                                  data_dir=data_dir, output_dir=output_dir, seed=seed, tiny=tiny,
                                  depth_experiment_steps=depth_experiment_steps,
                                  depth_experiment_n=depth_experiment_n,
                                  depth_experiment_blocks=depth_experiment_blocks,
                                  depth_experiment_width=depth_experiment_width,
                                  depth_experiment_batch=depth_experiment_batch,
                                  depth_experiment_threads=depth_experiment_threads,
                                  depth_experiment_seeds=depth_experiment_seeds,
                                  depth_experiment_lr=depth_experiment_lr)
cfg = run.cfg

# %%
import keras
import torch
import torchvision
from torch.utils.data import TensorDataset

from course_utils.arch import (
    CATS_DOGS_GAP_SPEC,
    CATS_DOGS_SCRATCH_SPEC,
    MONKEYPOX_SPEC,
    receptive_field,
    total_params,
    trace,
    trace_table,
)
from course_utils.data.datasets import load_cifar10
from course_utils.keras_.models import cats_dogs_gap_cnn, cats_dogs_scratch_cnn, keras_from_spec, monkeypox_cnn
from course_utils.plots import plot_loss_curves
from course_utils.torch_.data import make_loader
from course_utils.torch_.models import (
    BasicBlock,
    count_params_torch,
    empirical_receptive_field,
    kernel_strides,
    small_resnet,
    torch_from_spec,
)
from course_utils.torch_.train import fit

metrics = {}

# %% [markdown]
# ## 1. Layers, and a trace of a small CNN
#
# When people say "a 16-layer network" they count the layers **with parameters**: convolutions
# (CONV) and fully connected layers (FC). ReLU and pooling layers have no weights and are not
# counted. The classic pattern stacks `CONV-RELU-CONV-RELU-POOL` a few times, then ends with one
# or two FC layers:
#
# `INPUT → [CONV → RELU → CONV → RELU → POOL] × 2 → FLATTEN → FC`
#
# We write such a network as a list of layers (a *spec*) and let a helper follow the tensor
# through it, applying the two formulas of notebook 04: output size $(W - F + 2P)/S + 1$
# (or $\lceil W/S \rceil$ for `same`) and parameters $(F\cdot F\cdot C_{in} + 1)\cdot K$ for a
# conv layer, $(n_{in} + 1)\cdot n_{out}$ for a dense one.

# %%
# NBVAL_CHECK_OUTPUT
small_spec = [("conv", 32, 3, 1, "same"), ("relu",), ("conv", 32, 3, 1, "same"), ("relu",), ("pool", 2, 2),
              ("conv", 64, 3, 1, "same"), ("relu",), ("conv", 64, 3, 1, "same"), ("relu",), ("pool", 2, 2),
              ("flatten",), ("dense", 10)]
rows = trace(small_spec, input_shape=(32, 32, 3))
print(trace_table(rows))
print("layers with parameters:", sum(r.params > 0 for r in rows))

# %% [markdown]
# The same network in Keras (one Keras layer per line of the spec). Its `summary()` should show
# the same shapes and counts:

# %%
small_keras = keras_from_spec(small_spec, (32, 32, 3), output_activation="softmax", name="small_cnn")
small_keras.summary()

# %% [markdown]
# Rather than compare by eye, compare layer by layer, and count the PyTorch twin's parameters too
# (PyTorch's shapes are NCHW, so the channel count moves to the front):

# %%
# NBVAL_CHECK_OUTPUT
for row, layer in zip(rows, small_keras.layers, strict=True):
    assert tuple(layer.output.shape[1:]) == row.output_shape, (row, layer.output.shape)
    assert layer.count_params() == row.params, (row, layer.name)
small_torch = torch_from_spec(small_spec, in_channels=3, input_hw=(32, 32))
print("by hand:", f"{total_params(small_spec, (32, 32, 3)):,}",
      "| Keras:", f"{small_keras.count_params():,}",
      "| PyTorch:", f"{count_params_torch(small_torch):,}")
print("PyTorch output shape:", tuple(small_torch(torch.zeros(1, 3, 32, 32)).shape))
count_checks = {"small CNN": (total_params(small_spec, (32, 32, 3)), small_keras.count_params(),
                              count_params_torch(small_torch))}
assert total_params(small_spec, (32, 32, 3)) == small_keras.count_params() == count_params_torch(small_torch)

# %% [markdown]
# ### Exercise: parameters of a convolutional layer
#
# Write `conv_params(in_channels, out_channels, kernel_size, bias=True)`. The checker compares with
# `torch.nn.Conv2d` on six layers, some without bias.

# %%
def conv_params(in_channels, out_channels, kernel_size, bias=True):
    """Number of trainable parameters of a 2-D convolution with square kernel_size x kernel_size
    kernels (an int)."""
    # Hint: each output channel has one kernel spanning ALL input channels, and (with bias) one bias.
    raise NotImplementedError("write conv_params")


# %%
from course_utils.exercises import use  # runs the checker; falls back to the reference if needed

conv_params = use("05.conv_params", conv_params)
print("Conv2d(3, 32, 3):", conv_params(3, 32, 3))

# %% [markdown]
# ## 2. Parameter counts of real networks
#
# ### The course's own networks
#
# The monkeypox classifier of notebook 07 comes from a tutorial: four conv–pool blocks
# (32-64-128-256 filters, 3×3, `same`), a fifth 256-filter conv, Flatten, Dense 512 and the output
# layer. At the tutorial's 250×250 input and with a 2-way softmax output, the trace says:

# %%
# NBVAL_CHECK_OUTPUT
print(trace_table(trace(MONKEYPOX_SPEC, (250, 250, 3))))

# %% [markdown]
# About 30 million parameters — and 29.5 million of them in one layer: the Dense 512 after a
# 15×15×256 Flatten. Every input pixel of that feature map gets its own weight to each of the 512
# units, so this count grows with the image size (at 128×128 it would be about a quarter). The builder
# in `course_utils.arch` that notebook 07 uses gives the same number:

# %%
# NBVAL_CHECK_OUTPUT
monkeypox = monkeypox_cnn(input_shape=(250, 250, 3), n_outputs=2)
cats_dogs = cats_dogs_scratch_cnn(image_size=150)
cats_dogs_gap = cats_dogs_gap_cnn(image_size=150)
print(f"monkeypox CNN, 250x250, 2-way softmax: {monkeypox.count_params():>12,}")
print(f"cats-vs-dogs CNN from scratch, 150x150: {cats_dogs.count_params():>11,}")
print(f"cats-vs-dogs GAP CNN (any size):        {cats_dogs_gap.count_params():>11,}")
assert monkeypox.count_params() == total_params(MONKEYPOX_SPEC, (250, 250, 3)) == 30_471_234
assert cats_dogs.count_params() == total_params(CATS_DOGS_SCRATCH_SPEC, (150, 150, 3)) == 3_453_121
count_checks.update({
    "monkeypox CNN": (total_params(MONKEYPOX_SPEC, (250, 250, 3)), monkeypox.count_params()),
    "cats-vs-dogs CNN": (total_params(CATS_DOGS_SCRATCH_SPEC, (150, 150, 3)), cats_dogs.count_params()),
    "GAP CNN": (total_params(CATS_DOGS_GAP_SPEC, (150, 150, 3)), cats_dogs_gap.count_params())})
run.lesson("param_counts_match", "Parameter counts by hand, (F*F*C_in + 1)*K per conv layer, equal the frameworks'",
           all(len(set(v)) == 1 for v in count_checks.values()),
           "; ".join(f"{k}: {' = '.join(f'{n:,}' for n in v)}" for k, v in count_checks.items()))
assert cats_dogs_gap.count_params() == total_params(CATS_DOGS_GAP_SPEC, (150, 150, 3)) == 97_569
metrics.update(params_seed_monkeypox_cnn=monkeypox.count_params(), params_cats_dogs_scratch=cats_dogs.count_params())

# %% [markdown]
# The cats-vs-dogs network of notebook 09 (Chollet's, with `valid` convolutions:
# 150 → 148 → 74 → 72 → 36 → 34 → 17 → 15 → 7) ends in a 7×7×128 Flatten feeding Dense 512: again
# most of its 3.45 million parameters sit in that one layer. The *global average pooling*
# variant replaces Flatten by one mean per feature map, so its head has 128 + 1 weights, whatever
# the image size — 35 times fewer parameters in all, and the structure that class activation maps
# need (notebook 12).
#
# ### VGG16's convolutional base, in Keras
#
# Transfer learning (notebook 10) puts VGG16's convolutional part in front of a small classifier.
# At 150×150 the five blocks, each ending in a 2×2 max pooling, reduce the image to
# ⌊150/32⌋ = 4: a 4×4×512 feature map, from 14.7 million parameters. We build it without
# downloading any weights (`weights=None`) — the count does not depend on them.

# %%
# NBVAL_CHECK_OUTPUT
vgg_base = keras.applications.VGG16(weights=None, include_top=False, input_shape=(150, 150, 3))
vgg_base_shape = list(vgg_base.output.shape[1:])
print("output shape:", tuple(vgg_base.output.shape), "| parameters:", f"{vgg_base.count_params():,}")
assert vgg_base_shape == [4, 4, 512] and vgg_base.count_params() == 14_714_688
metrics.update(params_vgg16_base_150=vgg_base.count_params(), vgg16_base_output_shape=vgg_base_shape)
del vgg_base

# %% [markdown]
# ### AlexNet, VGG16 and ResNet-18 in torchvision
#
# torchvision builds the classic ImageNet networks. `weights=None` means random initial weights:
# nothing is downloaded (the old `pretrained=True` argument has been deprecated since torchvision
# 0.13: it still works, with a warning, and may be removed; pretrained weights are asked for with
# `weights=...`, which names exactly which weights — see notebook 10). To count parameters we do not even
# need memory for them: on PyTorch's `meta` device a module has shapes but no data, so VGG16's
# 138 million parameters cost nothing here.

# %%
# NBVAL_CHECK_OUTPUT
with torch.device("meta"):
    tv_models = {"AlexNet": torchvision.models.alexnet(weights=None),
                 "VGG16": torchvision.models.vgg16(weights=None),
                 "ResNet-18": torchvision.models.resnet18(weights=None)}
print(f"{'model':10s} {'parameters':>12s} {'in FC layers':>14s}")
tv_counts, fc_share = {}, {}
for name, model in tv_models.items():
    total = count_params_torch(model)
    fc = sum(p.numel() for m in model.modules() if isinstance(m, torch.nn.Linear) for p in m.parameters())
    tv_counts[name], fc_share[name] = total, fc / total
    print(f"{name:10s} {total:>12,} {fc / total:>13.0%}")
assert tv_counts == {"AlexNet": 61_100_840, "VGG16": 138_357_544, "ResNet-18": 11_689_512}
metrics.update(params_alexnet=tv_counts["AlexNet"], params_vgg16=tv_counts["VGG16"],
               params_resnet18=tv_counts["ResNet-18"])
run.lesson("fc_head_holds_most", "AlexNet and VGG16 keep most of their parameters in the fully connected head; "
           "ResNet-18, with global average pooling, does not",
           fc_share["AlexNet"] > 0.5 and fc_share["VGG16"] > 0.5 and fc_share["ResNet-18"] < 0.1,
           ", ".join(f"{k} {v:.0%} in FC" for k, v in fc_share.items()))

# %% [markdown]
# AlexNet and VGG16 keep most of their parameters in the fully connected head (the shares are
# printed above: a 6×6×256 or 7×7×512 Flatten into 4096 units). ResNet-18 uses global average
# pooling and a single 512 → 1000 layer, so it has about 12 times fewer parameters than VGG16
# while being deeper. It is not more accurate: torchvision's reference ImageNet top-1 accuracies
# are 69.76% for ResNet-18 and 71.59% for VGG16. It comes close with a twelfth of the parameters
# and about an eighth of the computation (1.8 against 15.5 GFLOPs per 224×224 image); the deeper
# ResNets (ResNet-50: 76.13%) are where residual connections pay off in accuracy.

# %% [markdown]
# ## 3. AlexNet → VGG: stacks of 3×3 convolutions
#
# AlexNet (2012) starts with an 11×11 stride-4 convolution and uses 5×5 later. VGG (2014) uses
# only 3×3 convolutions, stacked. Two reasons:
#
# 1. **Same view.** One 3×3 layer sees 3×3 input pixels; a second 3×3 layer on top sees 3×3 of
#    those, i.e. 5×5 input pixels; a third sees 7×7. Three stacked 3×3 layers have the
#    receptive field of one 7×7 layer.
# 2. **Fewer weights, more non-linearity.** With $C$ channels in and out, three 3×3 layers have
#    $3\cdot(3\cdot3\cdot C^2) = 27C^2$ weights against $49C^2$ for one 7×7 layer — and three
#    ReLUs instead of one.
#
# The receptive field follows a recurrence over the layers, with $r$ the receptive field and $j$
# the *jump* (how many input pixels apart two neighbouring units are): start at $r = 1, j = 1$;
# for each layer with kernel $k$ and stride $s$: $r \mathrel{+}= (k-1)\,j$, then $j \mathrel{*}= s$.

# %%
# NBVAL_CHECK_OUTPUT
C_ = 64
three_3x3 = torch.nn.Sequential(*[torch.nn.Conv2d(C_, C_, 3, padding=1, bias=False) for _ in range(3)])
one_7x7 = torch.nn.Conv2d(C_, C_, 7, padding=3, bias=False)
print(f"C = {C_}: three 3x3 layers {count_params_torch(three_3x3):,} weights (27 C^2 = {27 * C_ ** 2:,}); "
      f"one 7x7 layer {count_params_torch(one_7x7):,} (49 C^2 = {49 * C_ ** 2:,})")
rf_vgg = receptive_field([(3, 1)] * 3)
print("recurrence over three 3x3 stride-1 layers, (r, j) after each:", rf_vgg)
receptive_field_vgg_3x3x3 = rf_vgg[-1][0]
assert receptive_field_vgg_3x3x3 == 7

# %% [markdown]
# **Checking the recurrence empirically.** The receptive field of one output unit is the set of
# input pixels that can change it — exactly the pixels where the gradient of that unit with
# respect to the input is non-zero. The helper back-propagates from the centre output unit and
# measures the non-zero region. It runs on a copy whose weights are all 1 and whose max pooling
# is replaced by average pooling (a max routes the gradient to a single pixel, and random weights
# could cancel by chance), so the region it finds is the full receptive field.

# %%
# NBVAL_CHECK_OUTPUT
alexnet_features = torchvision.models.alexnet(weights=None).features
rf_checks = {
    "three 3x3 convs": (three_3x3, 32, C_),
    "3x3,3x3,pool2,3x3,3x3,pool2": (torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.ReLU(), torch.nn.Conv2d(4, 4, 3, padding=1), torch.nn.ReLU(),
        torch.nn.MaxPool2d(2), torch.nn.Conv2d(4, 4, 3, padding=1), torch.nn.ReLU(),
        torch.nn.Conv2d(4, 4, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2)), 64, 1),
    "AlexNet features": (alexnet_features, 320, 3),
}
rf_match = True
for name, (net, size, channels) in rf_checks.items():
    by_recurrence = receptive_field(kernel_strides(net))[-1][0]
    measured = empirical_receptive_field(net, input_size=size, in_channels=channels)
    rf_match &= by_recurrence == measured
    print(f"{name:30s} recurrence {by_recurrence:4d}   from input gradients {measured:4d}")
print("all match:", rf_match)
run.lesson("receptive_field_recurrence", "The receptive-field recurrence equals the receptive field measured "
           "from input gradients", rf_match, f"{len(rf_checks)} networks, AlexNet features "
           f"{receptive_field(kernel_strides(alexnet_features))[-1][0]} pixels")
assert rf_match

# %% [markdown]
# AlexNet's last feature map "sees" 195×195 pixels of a 224×224 image. For VGG16's 13 convolutions
# and 5 poolings the recurrence alone is enough (we list the layers on the `meta` device, without
# running anything): a unit of conv5_3 sees 196×196 pixels, one of pool5 212×212, and
# neighbouring pool5 units are 32 pixels apart.

# %%
# NBVAL_CHECK_OUTPUT
with torch.device("meta"):
    vgg_ks = kernel_strides(torchvision.models.vgg16(weights=None).features)
vgg_rf = receptive_field(vgg_ks)
print("VGG16 conv5_3: (r, j) =", vgg_rf[-2], "| pool5: (r, j) =", vgg_rf[-1])
metrics.update(receptive_field_vgg_3x3x3=int(receptive_field_vgg_3x3x3), receptive_field_matches_empirical=bool(rf_match))

# %% [markdown]
# ### Exercise: a receptive field
#
# Write `receptive_field(layers)` with the recurrence of this section; `layers` is a list of
# `(kernel, stride)` pairs, convolutions and poolings alike. The checker includes strided stems, where
# forgetting the jump `j` gives too small an answer.

# %%
def receptive_field(layers):
    """Receptive field, in input pixels, of one unit after the stack `layers` = [(kernel, stride), ...]
    (an int; 1 for an empty stack)."""
    # Hint: start from r = 1, j = 1; for each layer r += (k - 1) * j, then j *= s.
    raise NotImplementedError("write receptive_field")


# %%
receptive_field = use("05.receptive_field", receptive_field)
print("VGG16 features:", receptive_field(vgg_ks), "pixels")

# %% [markdown]
# ## 4. ResNet: the residual BasicBlock
#
# VGG stopped at 19 layers. Simply stacking more layers made networks *train* worse — not only
# test worse, so it is not over-fitting: the optimizer cannot find a good solution in the deeper
# plain network, even though one exists (copy the shallower network and make the extra layers
# identities). ResNet (2015) makes the identity the easy default: a block computes
# $\mathrm{ReLU}(F(x) + x)$, where $F$ is two 3×3 conv + batch-norm layers. If the extra layers
# are not useful, $F$ only has to go to zero; and the gradient flows back through the "+ x"
# unchanged.
#
# When a block halves the resolution (stride 2) and doubles the channels, $x$ no longer has
# $F(x)$'s shape; a 1×1 stride-2 convolution (with batch norm) *projects* it — the projection
# shortcut. Our `BasicBlock` (in `course_utils.torch_.models`, about 25 lines) does both:

# %%
# NBVAL_CHECK_OUTPUT
identity_block = BasicBlock(64, 64, stride=1)
projection_block = BasicBlock(64, 128, stride=2)
x = torch.randn(2, 64, 56, 56)
print("identity shortcut:  ", tuple(x.shape), "->", tuple(identity_block(x).shape),
      "| shortcut:", type(identity_block.shortcut).__name__)
print("projection shortcut:", tuple(x.shape), "->", tuple(projection_block(x).shape),
      "| shortcut:", " + ".join(type(m).__name__ for m in projection_block.shortcut))

# %% [markdown]
# They are exactly the blocks of torchvision's ResNet-18: `layer1[0]` keeps 64 channels,
# `layer2[0]` goes from 64 to 128 with stride 2. Same parameter counts, same tensor shapes:

# %%
# NBVAL_CHECK_OUTPUT
resnet18 = torchvision.models.resnet18(weights=None)
block_counts = []
for ours, theirs, name in ((identity_block, resnet18.layer1[0], "layer1[0]"),
                           (projection_block, resnet18.layer2[0], "layer2[0]")):
    same_shapes = sorted(p.shape for p in ours.parameters()) == sorted(p.shape for p in theirs.parameters())
    print(f"{name}: ours {count_params_torch(ours):,} vs torchvision {count_params_torch(theirs):,} "
          f"parameters; same tensor shapes: {same_shapes}")
    block_counts.append((name, count_params_torch(ours), count_params_torch(theirs), same_shapes))
blocks_match = all(mine == theirs and shapes for _, mine, theirs, shapes in block_counts)
run.lesson("basic_block_is_torchvision", "Our BasicBlock has torchvision ResNet-18's parameters, tensor by tensor",
           blocks_match, "; ".join(f"{n}: {a:,} vs {b:,}, same shapes {c}" for n, a, b, c in block_counts))
assert blocks_match

# %% [markdown]
# ## 5. An experiment: a deep plain network against its residual twin
#
# Two networks with identical layers: a 3×3 stem (stride 2), `depth_experiment_blocks`
# BasicBlocks (the middle one halves the resolution and doubles the width) and a linear
# classifier after global average pooling. The *plain* twin has every shortcut removed; the
# residual one keeps them (one of them a projection). Both start from the same seed and see the
# same mini-batches, with SGD (learning rate 0.05, momentum 0.9). We compare their **training**
# loss, because the claim is about optimization, not generalization. One seed could favour either
# network by luck (the initial weights and the order of the mini-batches), so the pair is trained
# with `depth_experiment_seeds` seeds and we look at the spread.
#
# Data: CIFAR-10 training images (a subset of `depth_experiment_n`, normalized per channel).
# The profile keeps the run short (width 8, one PyTorch thread on a shared CPU, where extra
# threads only wait for each other), so this shows the start of training, not converged
# networks.

# %%
cifar = run.get_data("cifar10", data_dir=data_dir)
x_train, y_train, _, _ = load_cifar10(cifar, n_train=cfg.depth_experiment_n, n_test=10, seed=seed)
run.set_counts("cifar10", train=len(x_train))
xt = torch.from_numpy(x_train).permute(0, 3, 1, 2).float() / 255.0
xt = (xt - xt.mean(dim=(0, 2, 3), keepdim=True)) / xt.std(dim=(0, 2, 3), keepdim=True)
yt = torch.from_numpy(y_train).long()
print("training tensor:", tuple(xt.shape), "| classes present:", len(torch.unique(yt)))

# %%
if cfg.depth_experiment_threads:
    torch.set_num_threads(int(cfg.depth_experiment_threads))
n_blocks, width = cfg.depth_experiment_blocks, cfg.depth_experiment_width
log_every = max(cfg.depth_experiment_steps // 15, 1)
seeds = [seed + i for i in range(int(cfg.depth_experiment_seeds))]
curves, final = {}, {"plain": [], "residual": []}
with run.timer("plain_vs_residual"):
    for s in seeds:
        for kind in ("plain", "residual"):
            torch.manual_seed(s)
            net = small_resnet(n_blocks=n_blocks, width=width, n_classes=10, residual=kind == "residual")
            batches = make_loader(TensorDataset(xt, yt), cfg.depth_experiment_batch, seed=s,
                                  n_batches=cfg.depth_experiment_steps)   # the same batches for both networks
            sgd = torch.optim.SGD(net.parameters(), lr=cfg.depth_experiment_lr, momentum=0.9)
            history, _ = fit(net, batches, sgd, torch.nn.CrossEntropyLoss(), run.device, eval_every=log_every,
                             progress=False)
            losses = history["loss"]   # mean training loss of the last log_every steps
            curves[f"{kind}, seed {s}"] = losses
            final[kind].append(float(losses[-1]))
            print(f"seed {s}: {kind:8s} ({2 * n_blocks + 2} layers, {count_params_torch(net):,} parameters) "
                  f"loss {losses[0]:.3f} -> {losses[-1]:.3f}")
print(f"{len(seeds)} seeds in {run.timings['plain_vs_residual']:.0f} s")
fig = plot_loss_curves(curves, every=log_every, title=f"CIFAR-10 subset ({len(xt)} images), same layers, same batches")
fig.savefig(run.path("05_plain_vs_residual.png"), dpi=80)

# %%
import numpy as np

gaps = np.array(final["plain"]) - np.array(final["residual"])
print(f"final training loss (mean of the last {log_every} steps), over seeds {seeds}:")
for kind in ("plain", "residual"):
    print(f"  {kind:8s} " + "  ".join(f"{v:.3f}" for v in final[kind])
          + f"   mean {np.mean(final[kind]):.3f} ± {np.std(final[kind]):.3f} (std)")
print("  plain minus residual: " + "  ".join(f"{g:+.3f}" for g in gaps)
      + f"   smallest {gaps.min():+.3f}")
metrics["plain_vs_residual_final_loss"] = {k: float(np.mean(v)) for k, v in final.items()}
metrics["plain_vs_residual_gaps"] = [float(g) for g in gaps]
run.lesson("residual_trains_better", f"With the same layers, the residual network reached a lower training loss "
           f"than the plain one on every seed ({len(seeds)} seeds, {cfg.depth_experiment_steps} steps)",
           bool(np.all(gaps > 0)), "plain minus residual: " + ", ".join(f"{g:+.3f}" for g in gaps))

# %% [markdown]
# What to look for: whether the plain network lingers near the loss of guessing
# ($\ln 10 \approx 2.30$) while its residual twin drops below it, and whether the gap (plain minus
# residual, printed above for each seed) is positive for every seed and larger than the spread
# between seeds. The two networks have the same layers and (up to the one projection shortcut) the
# same parameters: only the shortcuts differ. This is a short experiment (the `laptop` profile:
# 34 weight layers, 300 steps on 2,000 images, 3 seeds), so it speaks about the *start* of training
# only; the `smoke` profile (18 layers, 30 steps) is too short to separate the two at all. He et
# al.'s ResNet paper shows the same effect for fully trained networks: depth helps only if the
# network can still be optimized.

# %% [markdown]
# ## Questions
#
# Answer each in two or three sentences before you open the model answer.
#
# **1. Why do three stacked 3×3 convolutions usually beat one 7×7 convolution with the same receptive field?**
#
# <details><summary>Answer</summary>
#
# They see the same 7×7 input region with fewer weights (27 C² instead of 49 C² for C channels in
# and out) and put two more non-linearities in between, so the stack can compute more complex functions
# of that region. VGG is built on this trade.
#
# </details>
#
# **2. Where do most of the parameters of a classic CNN with `Flatten` and a dense layer sit, and how does global average pooling change that?**
#
# <details><summary>Answer</summary>
#
# In the first dense layer after `Flatten`: it has one weight per value of the last feature map and
# per unit, and that map grows with the image size. Global average pooling reduces each feature map to
# one number first, so the dense layer has only channels × units weights, whatever the image size.
#
# </details>
#
# **3. A plain 20-layer network trains worse than a plain 8-layer one, even on its training data. Why is that not over-fitting, and how does a residual connection help?**
#
# <details><summary>Answer</summary>
#
# Over-fitting would show a low training loss and a high validation loss; here the training loss
# itself is higher, so it is an optimisation problem: gradients through many layers shrink or get
# distorted. A residual block computes x + F(x), so the identity passes signal and gradient unchanged
# and each block only needs to learn a correction.
#
# </details>

# %% [markdown]
# ## Summary
#
# - Count layers with weights; trace shapes with $(W - F + 2P)/S + 1$ and parameters with
#   $(F\cdot F\cdot C_{in}+1)\cdot K$ — the trace matched Keras' summary and PyTorch's count.
# - Monkeypox CNN at 250×250: 30,471,234 parameters; cats-vs-dogs from scratch: 3,453,121
#   (the GAP variant: 97,569); VGG16's base at 150×150: 4×4×512 from 14,714,688;
#   AlexNet 61,100,840, VGG16 138,357,544, ResNet-18 11,689,512. Flatten → Dense holds most of
#   them; global average pooling removes that cost.
# - Three 3×3 layers see 7×7 pixels with $27C^2$ instead of $49C^2$ weights; the recurrence
#   matched the receptive fields measured from input gradients (AlexNet: 195).
# - A residual BasicBlock adds its input back (identity or 1×1 projection). Whether the plain deep
#   network trained worse than its residual twin on every seed of this run is the last lesson below.
#
# ## What this run showed
#
# Each lesson above, checked on this run's own numbers (✓ held, ✗ did not hold here):

# %%
run.show_lessons()

# %%
run.save_metrics(metrics)
