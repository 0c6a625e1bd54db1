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
# # 06 · A first CNN in PyTorch: handwritten digits (MNIST)
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/cnn-course/cnn-image-classification/blob/main/notebooks/06_mnist_cnn_pytorch.ipynb)
#
# **You will be able to**
# - load MNIST with `torchvision.datasets.MNIST` and feed it to a model with a `DataLoader`;
# - build the classic two-convolution network and trace the shape of a batch layer by layer;
# - write a training loop that is correct on any device: CUDA, Apple's MPS or the CPU,
#   with `model.train()` / `model.eval()` / `torch.no_grad()` in the right places;
# - read training curves, a confusion matrix and the digits the network is most sure about and gets wrong;
# - save and load a model's `state_dict` safely (`weights_only=True`).
#
# **Data.** MNIST (60,000 training and 10,000 test digits, 28×28 grayscale) through the course's
# data layer (`run.get_data("mnist")`: a folder you have, the cache, a mirror, or the download).
# **Runs in** about a minute (`smoke`) and about a minute and a half (`laptop`, 2 CPU cores). The
# outputs stored in this notebook come from a `laptop` run on the real MNIST files (official
# checksums) on a 2-core CPU machine without a GPU.

# %%
# On Colab: install the course helpers (a no-op elsewhere).
import sys

if "google.colab" in sys.modules:
    # %pip install -q "course-utils[torch,tf] @ git+https://github.com/cnn-course/cnn-image-classification"
    pass

# %% tags=["parameters"]
profile = "auto"          # "smoke" | "laptop" | "full" | "auto" (see 00_setup)
data_source = "auto"      # "auto" | "real" | "synthetic"
data_dir = None           # a folder holding MNIST/raw/ (what torchvision.datasets.MNIST reads)
output_dir = "outputs"    # metrics, models and figures go here
seed = 42
tiny = False              # True: this profile's code paths, seconds of work (tests; see 00_setup)
# This notebook's own knobs: None takes the value from the profile table.
n_train = None            # training digits used (60000: all)
n_test = None             # test digits used (10000: all)
epochs = None
batch_size = None
lr = None
eval_every = None         # evaluate on the test set every this many batches

# %%
import course_utils  # import before TensorFlow: see 00_setup

run = course_utils.setup_notebook("06_mnist_cnn_pytorch", profile=profile, data_source=data_source,
                                  data_dir=data_dir, output_dir=output_dir, seed=seed, tiny=tiny, n_train=n_train,
                                  n_test=n_test, epochs=epochs, batch_size=batch_size, lr=lr,
                                  eval_every=eval_every)
cfg = run.cfg

# %% [markdown]
# ## 1. The device
#
# PyTorch never moves anything to a GPU on its own: we pick a device once and send the model and
# every batch to it. `setup_notebook` picked it as `run.device` (`course_utils.setup.env.torch_device`):
# CUDA (NVIDIA GPUs) if PyTorch sees one, then MPS (Apple silicon), then the CPU.

# %%
import numpy as np
import torch
from torch import nn

from course_utils.plots import plot_confusion_matrix, plot_history, show_images
from course_utils.torch_.data import make_loader
from course_utils.torch_.train import evaluate, fit, predict

device = run.device  # cuda, mps or cpu: chosen once by setup_notebook
print("training on", device)

# %% [markdown]
# ## 2. The data
#
# `torchvision.datasets.MNIST(root)` reads the four official files from `root/MNIST/raw/`; the data
# layer put them there (checking their checksums) or found them where you said. We pass
# `download=False`: downloading is the data layer's job, so a missing file gives a clear message
# instead of a silent second copy.
#
# The transform turns each 28×28 `uint8` image into a `float32` tensor of shape (1, 28, 28) with
# values in [0, 1]: PyTorch wants channels first.

# %%
import torchvision
from torch.utils.data import Subset
from torchvision.transforms import v2 as T

info = run.get_data("mnist", data_dir=data_dir)
to_tensor = T.Compose([T.ToImage(), T.ToDtype(torch.float32, scale=True)])
train_full = torchvision.datasets.MNIST(info.root, train=True, download=False, transform=to_tensor)
test_full = torchvision.datasets.MNIST(info.root, train=False, download=False, transform=to_tensor)

rng = np.random.default_rng(seed)   # a random subset is balanced in expectation; the first N are not shuffled
train_idx = np.sort(rng.permutation(len(train_full))[: min(cfg.n_train, len(train_full))])
test_idx = np.sort(rng.permutation(len(test_full))[: min(cfg.n_test, len(test_full))])
train_ds, test_ds = Subset(train_full, train_idx.tolist()), Subset(test_full, test_idx.tolist())
run.set_counts("mnist", train=len(train_ds), test=len(test_ds))
print(f"{len(train_ds)} training and {len(test_ds)} test digits; one image: "
      f"{tuple(train_ds[0][0].shape)} {train_ds[0][0].dtype}, label {train_ds[0][1]}")

# %%
fig = show_images([train_ds[i][0] for i in range(16)], titles=[train_ds[i][1] for i in range(16)],
                  ncols=8, size=1.2, suptitle="MNIST training digits and their labels")

# %% [markdown]
# A `DataLoader` groups examples into batches and, for training, reshuffles them every epoch.
# `make_loader` gives it a seeded random generator, so two runs with the same `seed` see the
# batches in the same order.

# %%
train_loader = make_loader(train_ds, batch_size=cfg.batch_size, shuffle=True, seed=seed)
test_loader = make_loader(test_ds, batch_size=500)
x, y = next(iter(train_loader))
print("one batch:", tuple(x.shape), "labels", tuple(y.shape), f"-> {len(train_loader)} batches per epoch")

# %% [markdown]
# ## 3. The network
#
# The classic tutorial network: two blocks of *convolution → ReLU → max-pool*, then one linear layer.
#
# - `conv1`: 1 → 16 channels, 5×5 kernels, padding 2, so 28×28 stays 28×28; pooling halves it to 14×14;
# - `conv2`: 16 → 32 channels, same kernels; 14×14 → pool → 7×7;
# - `out`: the 32·7·7 = 1,568 numbers, flattened, → 10 class scores (*logits*).
#
# There is no softmax at the end on purpose: `nn.CrossEntropyLoss` takes logits and applies
# log-softmax itself, in a numerically stable way. Adding a softmax layer before it (a common
# mistake) squashes the gradients and slows training down.

# %%
class CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Sequential(nn.Conv2d(1, 16, kernel_size=5, stride=1, padding=2), nn.ReLU(), nn.MaxPool2d(2))
        self.conv2 = nn.Sequential(nn.Conv2d(16, 32, kernel_size=5, stride=1, padding=2), nn.ReLU(), nn.MaxPool2d(2))
        self.out = nn.Linear(32 * 7 * 7, 10)

    def forward(self, x):
        x = self.conv2(self.conv1(x))
        return self.out(x.flatten(start_dim=1))   # (batch, 32, 7, 7) -> (batch, 1568)


torch.manual_seed(seed)
model = CNN().to(device)

# %% [markdown]
# Trace one batch of two digits through the network, layer by layer. Each convolution keeps the
# spatial size (padding 2 = (5 − 1) / 2), each pooling halves it.

# %%
# NBVAL_CHECK_OUTPUT
probe = torch.zeros(2, 1, 28, 28, device=device)
print(f"{'input':28s} {tuple(probe.shape)}")
for name, layer in [("conv1[0] Conv2d 1->16 5x5", model.conv1[0]), ("conv1[1] ReLU", model.conv1[1]),
                    ("conv1[2] MaxPool2d 2", model.conv1[2]), ("conv2[0] Conv2d 16->32 5x5", model.conv2[0]),
                    ("conv2[1] ReLU", model.conv2[1]), ("conv2[2] MaxPool2d 2", model.conv2[2])]:
    probe = layer(probe)
    print(f"{name:28s} {tuple(probe.shape)}")
probe = probe.flatten(start_dim=1)
print(f"{'flatten':28s} {tuple(probe.shape)}")
print(f"{'out Linear 1568->10':28s} {tuple(model.out(probe).shape)}")
for name, p in model.named_parameters():
    print(f"  {name:16s} {str(tuple(p.shape)):18s} {p.numel():6d} parameters")
n_params = sum(p.numel() for p in model.parameters())
print("total parameters:", n_params)
by_formula = (5 * 5 * 1 + 1) * 16 + (5 * 5 * 16 + 1) * 32 + (32 * 7 * 7 + 1) * 10
run.lesson("params_by_formula", "The parameter count by formula, (F*F*C_in + 1)*K per layer, is PyTorch's",
           n_params == by_formula, f"by formula {by_formula:,}, PyTorch {n_params:,}")

# %% [markdown]
# Most of the 28,938 parameters sit in the last linear layer (15,690) and in `conv2` (12,832):
# a 5×5 kernel over 16 input channels for each of 32 output channels (the formula: notebook 04).
#
# ## 4. Exercise: the accuracy function
#
# Accuracy is the fraction of examples whose highest logit is the true class. Write it for one
# batch: `logits` has shape (batch, 10), `targets` has shape (batch,); return a Python float in [0, 1].
# The checker tries four batches (the example below, whose answer you can verify by hand: **0.75**, 3 of
# 4 right; one with 1/3; large logits) and wants a Python float, not a tensor.

# %%
def accuracy(logits, targets):
    """Fraction (a Python float in [0, 1]) of the rows of `logits` (batch, classes) whose largest
    entry is at the index `targets` (batch,) gives."""
    # Hints: logits.argmax(dim=1); compare with ==; .float().mean(); .item() turns a one-element tensor
    # into a Python float.
    raise NotImplementedError("write accuracy")


# %%
from course_utils.exercises import use  # runs the checker; falls back to the reference if needed

accuracy = use("06.accuracy", accuracy)
example_logits = torch.tensor([[2.0, 0.1, 0.3], [0.2, 1.5, 0.1], [0.3, 0.2, 0.9], [1.2, 0.4, 0.1]])
example_targets = torch.tensor([0, 1, 2, 2])
print("accuracy of the example:", accuracy(example_logits, example_targets))

# %% [markdown]
# ## 5. Training
#
# One pass of the loop, in the order that matters:
#
# 1. `model.train()` (dropout and batch norm behave as in training; this network has neither, but
#    the habit saves you later);
# 2. move the batch to the device; `optimizer.zero_grad()` (gradients *accumulate* otherwise);
# 3. forward pass, loss, `loss.backward()`, `optimizer.step()`;
# 4. every `eval_every` batches: `model.eval()` and `torch.no_grad()` for the test set, then back to training.
#
# The loop lives in `course_utils.torch_.train.fit` (read it: about 60 lines) so that every
# PyTorch notebook uses the same one (here the test set plays the validation set). Adam with learning rate 10⁻³ and batches of 64, as in
# the original tutorial; a progress line (epoch, batch, accuracies) updates in place while it trains.
#
# ### Exercise: one training step
#
# Write steps 1 to 3 as `train_step(model, x, y, optimizer, loss_fn)`, returning the batch loss as a
# Python float. The checker runs it on a small network and compares the updated weights with a step of
# its own, once with gradients left over from an earlier step.

# %%
def train_step(model, x, y, optimizer, loss_fn):
    """One training step on the batch (x, y): training mode, clear the old gradients, forward, loss,
    backward, update. Returns the loss of the batch (before the update) as a Python float."""
    # Hints: model.train(); optimizer.zero_grad(); loss = loss_fn(model(x), y); loss.backward();
    # optimizer.step(); return loss.item().
    raise NotImplementedError("write train_step")


# %%
train_step = use("06.train_step", train_step)

# %%
optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)
criterion = nn.CrossEntropyLoss()
with run.timer("train"):
    history, _ = fit(model, train_loader, optimizer, criterion, device, epochs=cfg.epochs, val_loader=test_loader,
                     eval_every=cfg.eval_every)
for s, e, a, va in zip(history["step"], history["epoch"], history["accuracy"], history["val_accuracy"]):
    print(f"batch {s:5d} (epoch {e:5.2f}): train accuracy {a:.3f} | test accuracy {va:.3f}")
print(f"training time: {run.timings['train']:.0f} s on {device}")

# %% [markdown]
# The training accuracy is measured on the batches since the previous report, while the weights
# were still changing; the test accuracy is measured afterwards on fixed weights, the better ones.
# That is why, in this run, the test accuracy is the higher of the two at every report: the lag
# costs the training number more than over-fitting does (this network has no dropout that could
# also lower it).

# %%
fig = plot_history(history, title="MNIST CNN: training vs test")
for ax in fig.axes:  # plot_history says "validation"; here the held-out set is the test set
    ax.set_xlabel(f"evaluation (every {cfg.eval_every} batches)")
    for text in ax.get_legend().get_texts():
        text.set_text(text.get_text().replace("validation", "test"))

# %% [markdown]
# ## 6. How good is it, and where does it fail?
#
# `predict` runs the test set in batches, in eval mode, without gradients. Never loop over images
# one at a time: a batch of 500 costs about as much as a single image on a GPU.

# %%
from sklearn.metrics import confusion_matrix

probs, labels = predict(model, test_loader, device)
preds = probs.argmax(1)
test_acc = float((preds == labels).mean())
train_probe = Subset(train_ds, list(range(min(len(train_ds), len(test_ds)))))  # as many as the test set
_, train_acc = evaluate(model, make_loader(train_probe, batch_size=500), device)
print(f"test accuracy {test_acc:.4f} on {len(labels)} digits | "
      f"training accuracy {train_acc:.4f} on {len(train_probe)} training digits")
cm = confusion_matrix(labels, preds, labels=list(range(10)))
fig = plot_confusion_matrix(cm, [str(d) for d in range(10)], title="MNIST test set: true vs predicted digit")
off_diagonal = [(int(cm[t, p]), t, p) for t in range(10) for p in range(10) if t != p and cm[t, p] > 0]
print("largest confusions (true -> predicted: count):",
      ", ".join(f"{t} -> {p}: {n}" for n, t, p in sorted(off_diagonal, reverse=True)[:5]))
accuracy_floor = {"smoke": 0.85, "laptop": 0.98, "full": 0.99}.get(run.profile, 0.98)
run.lesson("test_accuracy", f"A 29-thousand-parameter CNN reaches at least {accuracy_floor:.0%} on the MNIST test set "
           f"({run.profile} profile, {cfg.epochs} epoch{'s' if cfg.epochs != 1 else ''})", test_acc >= accuracy_floor,
           f"test accuracy {test_acc:.4f} on {len(labels)} digits")
run.lesson("train_close_to_test", "Training and test accuracy stay within 1 point: no over-fitting to see here",
           abs(train_acc - test_acc) <= 0.01, f"training {train_acc:.4f} vs test {test_acc:.4f}")

# %% [markdown]
# The diagonal holds the correct answers. Off the diagonal, the printed list above names this run's
# largest cells; compare them with the classic confusions of handwritten digits (a 7 read as a 2,
# a 4 read as a 9, a 5 read as a 3 or a 6): which of them did this network make? Now the mistakes
# the network is *most sure* about: the wrong predictions with the highest probability.

# %%
wrong = np.flatnonzero(preds != labels)
worst = wrong[np.argsort(-probs[wrong, preds[wrong]])][:12]
fig = show_images([test_ds[i][0] for i in worst], ncols=6, size=1.5,
                  titles=[f"true {labels[i]}, said {preds[i]}\n({probs[i, preds[i]]:.0%})" for i in worst],
                  suptitle="The most confidently wrong test digits")

# %% [markdown]
# Several of these are hard even for a person, and some look mislabelled: a test set has label
# noise too, which is one reason the best published MNIST results stop at about 99.7–99.8%.
#
# ## 7. Saving and loading the weights
#
# Save the `state_dict` (a dict of tensors), not the whole model object: pickling the object ties
# the file to your class's source code. Load it into a fresh instance of the same class, with
# `torch.load(..., weights_only=True)`, which refuses to run code hidden in a file (a pickle can
# execute anything).

# %%
path = run.path("mnist_cnn.pt")
torch.save(model.state_dict(), path)
restored = CNN().to(device)
restored.load_state_dict(torch.load(path, map_location=device, weights_only=True))
probs_restored, _ = predict(restored, test_loader, device)
print("same predictions after reloading:", bool((probs_restored.argmax(1) == preds).all()))
run.lesson("reload_same_predictions", "Weights saved as a state_dict and loaded into a fresh model give the same "
           "predictions", bool((probs_restored.argmax(1) == preds).all()),
           f"{int((probs_restored.argmax(1) == preds).sum())} of {len(preds)} predictions equal")
assert (probs_restored.argmax(1) == preds).all()

# %% [markdown]
# ## Questions
#
# Answer each in two or three sentences before you open the model answer.
#
# **1. Why must `optimizer.zero_grad()` come before `loss.backward()` in every step?**
#
# <details><summary>Answer</summary>
#
# PyTorch adds new gradients to the `.grad` already stored on each parameter (which is useful for
# accumulating over several small batches). Without clearing them, every step would use the sum of all
# gradients since the start, and the updates would grow and point in stale directions.
#
# </details>
#
# **2. The training accuracy printed during training is sometimes lower than the test accuracy. How can that be?**
#
# <details><summary>Answer</summary>
#
# The training figure averages the batches since the previous report, measured while the weights
# were still improving; the test figure is measured afterwards with the final weights of that interval.
# Early in training the weights improve a lot within one interval, so the later measurement is better.
#
# </details>
#
# **3. Why do `predict` and `evaluate` use `model.eval()` and `torch.no_grad()`?**
#
# <details><summary>Answer</summary>
#
# `model.eval()` switches layers such as dropout and batch normalization to their inference
# behaviour. `torch.no_grad()` stops PyTorch from recording the operations for backpropagation, which
# saves memory and time; no gradient is needed to predict.
#
# </details>

# %% [markdown]
# ## Summary
#
# A 29-thousand-parameter CNN learns MNIST in one or two passes over the data. Expect a test
# accuracy of at least 98% in the `laptop` profile (all 60,000 digits, 2 epochs) and at least 99%
# in `full` (3 epochs, as in the original tutorial); the `smoke` profile, which sees a few thousand
# digits once, reaches about 90%. This run's value is in section 6 and below.
#
# **Try next**: add `nn.BatchNorm2d` after each convolution, or `nn.Dropout` before the linear
# layer, and see whether the gap between training and test accuracy changes.
#
# ## What this run showed
#
# Each lesson above, checked on this run's own numbers (✓ held, ✗ did not hold here):

# %%
run.show_lessons()

# %%
run.save_metrics({
    "test_acc": test_acc,
    "train_acc": float(train_acc),
    "epochs": int(cfg.epochs),
    "train_s": run.timings["train"],
    "device": str(device),
    "final_loss": history["loss"][-1],
})
