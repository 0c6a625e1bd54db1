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
# # 09 · Cats vs dogs from scratch: over-fitting, augmentation and a global-average-pooling model
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/cnn-course/cnn-image-classification/blob/main/notebooks/09_cats_vs_dogs_augmentation.ipynb)
#
# **You will be able to**
# - build the book's small cats-vs-dogs dataset (train / validation / test by file index) from
#   Kaggle's flat folder, repeatably, leaving bad files out instead of deleting them;
# - train a convnet from scratch on a couple of thousand images (1,400 on the `laptop` profile, the
#   book's 2,000 on `full`) and read over-fitting from its curves;
# - add data augmentation with Keras preprocessing layers (and translate the old
#   `ImageDataGenerator` arguments) plus dropout, and measure what they buy;
# - build global-average-pooling models, with far fewer parameters at the same image size, and
#   train a batch-normalized one that notebook 12 explains with class activation maps.
#
# **Data.** Kaggle's Dogs vs. Cats `train/` folder (`cat.N.jpg`, `dog.N.jpg`) through the data layer;
# without a Kaggle copy, the managed download `cats_and_dogs_filtered` (the same images).
# **Runs in** under a minute (`smoke`) and several minutes (`laptop`; the timings are in the
# metrics file, taken on 2 CPU cores that may be shared with other work). The outputs stored in
# this notebook come from a `laptop` run (700 / 150 / 150 images per class at 64×64 pixels, from
# `../shared/data/dogs_vs_cats_train`, a copy of Kaggle's ids 0–1000) on 2 CPU cores: small
# images, so that the runs are long enough, in epochs, for over-fitting and its cure to show; the
# global-average-pooling model of section 4 sees 128×128 pixels through a strided first
# convolution. The split gives training a larger share than the book's 2 : 1 : 1, because a
# network trained from scratch gains most from more images; 300 test images still measure an
# accuracy to within about ±2.5 points (one standard error). The book's setting (1,000 / 500 / 500 per class, 150×150, 30+ epochs) is the `full` profile, for a GPU.

# %%
# On Colab: install the course helpers (a no-op elsewhere).
import sys

if "google.colab" in sys.modules:
    # %pip install -q "course-utils[torch,tf] @ git+https://github.com/cnn-course/cnn-image-classification"
    pass

# %% tags=["parameters"]
profile = "auto"          # "smoke" | "laptop" | "full" | "auto" (see 00_setup)
data_source = "auto"      # "auto" | "real" | "synthetic"
data_dir = None           # a Kaggle-style flat folder of cat.N.jpg / dog.N.jpg
output_dir = "outputs"    # metrics, models and figures go here
seed = 42
tiny = False              # True: this profile's code paths, seconds of work (tests; see 00_setup)
# This notebook's own knobs: None takes the value from the profile table.
image_size = None         # the book: 150
n_train = None            # images PER CLASS; the book: 1000
n_val = None              # the book: 500
n_test = None             # the book: 500
epochs = None            # the scratch model's epochs
aug_epochs = None        # augmentation + dropout learns more slowly: more epochs
gap_epochs = None
gap_image_size = None    # the GAP model's images (larger than image_size: its first convolution has a stride)
gap_stem_stride = None   # stride of the GAP model's first convolution
gap_widths = None        # filters of the batch-normalized GAP model, one per block
gap_learning_rate = None  # Adam's peak rate, for the GAP model
batch_size = None
learning_rate = None      # RMSprop's; the book: 1e-4

# %%
import course_utils  # import before TensorFlow: see 00_setup

run = course_utils.setup_notebook("09_cats_vs_dogs_augmentation", profile=profile, data_source=data_source,
                                  data_dir=data_dir, output_dir=output_dir, seed=seed, tiny=tiny, image_size=image_size,
                                  n_train=n_train, n_val=n_val, n_test=n_test, epochs=epochs,
                                  aug_epochs=aug_epochs, gap_epochs=gap_epochs, gap_image_size=gap_image_size,
                                  gap_stem_stride=gap_stem_stride, gap_widths=gap_widths,
                                  gap_learning_rate=gap_learning_rate, batch_size=batch_size,
                                  learning_rate=learning_rate)
cfg = run.cfg

# %%

import keras
import pandas as pd

from course_utils import plots
from course_utils.data.splits import CLASSES, get_cats_dogs, make_split
from course_utils.keras_ import data as keras_data
from course_utils.keras_ import train as keras_train
from course_utils.keras_.models import cats_dogs_gap_cnn, cats_dogs_scratch_cnn
from course_utils.keras_.recipes import train_cats_dogs_gap
from course_utils.keras_.transfer import keras_augmentation

# %% [markdown]
# ## 1. A small dataset, built repeatably
#
# Kaggle's `train/` folder is one flat folder of 25,000 JPEGs named `cat.0.jpg` … `dog.12499.jpg`.
# The book keeps only a small part of it, by file index: per class, ids 0–999 for training,
# 1000–1499 for validation, 1500–1999 for testing. Working with few images is the point: it is
# the usual situation in practice, and it is where over-fitting and augmentation show.
#
# The original code did this with `os.mkdir` and `shutil.copyfile`, so a second run stopped with
# `FileExistsError`, and an earlier scan **deleted** every file without a JFIF header from the
# learner's download. Here `make_split` returns file lists instead: the same folder and
# counts always give the same split, each candidate file is fully decoded once, and a bad file is
# reported and skipped (the next id takes its place). Nothing in the source folder is ever touched.

# %%
per_class = cfg.n_train + cfg.n_val + cfg.n_test
info = get_cats_dogs(data_dir, run.data_source, seed, per_class=per_class)
run.record(info)
with run.timer("split"):
    split = make_split(info.root, cfg.n_train, cfg.n_val, cfg.n_test)
run.set_counts(info.name, **split.totals(), corrupt_skipped=len(split.bad))
print(split.summary())

# %% [markdown]
# Calling it again gives exactly the same lists; that is what "idempotent" buys you when a notebook
# is re-run. If you want the book's folder layout on disk (`train/cats/…`), `write_folders` writes
# it into a folder of *yours* as real copies — never hard links, which would share the file with
# your original so that editing the "copy" changed it — and a second call writes nothing new.

# %%
again = make_split(info.root, cfg.n_train, cfg.n_val, cfg.n_test, check_pixels=False)
print("same split on a second call:", again.paths == split.paths)
small_dir = run.path("cats_and_dogs_small")
print("files written, first call: ", split.write_folders(small_dir))
print("files written, second call:", split.write_folders(small_dir))

# %% [markdown]
# A look at the training images: photos of every size and framing, sometimes with people, cages
# or several animals. We resize them all to `image_size` pixels square.

# %%
idx = [0, 1, 2, 3, -1, -2, -3, -4]
fig = plots.show_images(keras_data.load_images([split.paths["train"][i] for i in idx], cfg.image_size),
                        titles=[CLASSES[split.labels["train"][i]] for i in idx], ncols=8)

# %% [markdown]
# The input pipeline is the one from 07: decode with TensorFlow in a parallel `map` (Pillow only
# for the rare file TensorFlow cannot read, such as a CMYK JPEG), cache, shuffle, batch, rescale
# to [0, 1], prefetch. Labels are 0 = cat, 1 = dog.

# %%
size, bs = cfg.image_size, cfg.batch_size


train_ds, val_ds, test_ds = (keras_data.split_dataset(split, name, size, bs, seed=seed)
                             for name in ("train", "validation", "test"))
x, y = next(iter(train_ds))
print("one batch:", x.shape, x.dtype, "labels", y.numpy()[:8])

# %% [markdown]
# ## 2. A convnet from scratch
#
# The book's network: four conv (3×3) + max-pool blocks with 32, 64, 128 and 128 filters, a dense
# layer of 512 units and **one sigmoid unit** with binary cross-entropy. (Two output units with a
# sigmoid and `sparse_categorical_crossentropy`, a combination seen in copied code, trains a
# softmax-shaped problem with the wrong loss: one sigmoid unit for two classes, or two softmax
# units, never a mix.) The model comes from `course_utils.keras_.models`, where notebook 05
# traced its shapes by hand. At the book's 150×150 pixels:

# %%
# NBVAL_CHECK_OUTPUT
book_model = cats_dogs_scratch_cnn(image_size=150)
params_scratch = book_model.count_params()
print(f"parameters at 150x150: {params_scratch:,}")

# %% [markdown]
# **Exercise.** Where do 3.45 million parameters live? Almost all of them in the dense layer after
# `Flatten`, whose input length depends on the image size. Write `flatten_length(image_size)`: the
# number of values `Flatten` receives (each valid 3×3 conv removes 2 pixels, each 2×2 pool halves,
# rounding down). The checker tries six sizes, odd ones included; then the cell compares the
# function with the model. You should get 6,272 = 7×7×128 at 150 pixels, so that dense layer alone
# has 6,272 × 512 + 512 = 3,211,776 parameters.

# %%
def flatten_length(image_size):
    """Number of values Flatten receives in the scratch CNN for square images of image_size pixels:
    four blocks of a valid 3x3 convolution and a 2x2 max-pool, 128 feature maps at the end (an int)."""
    # Hints: a loop over the 4 blocks: size - 2 for the convolution, then // 2 for the pooling;
    # finally size * size * 128.
    raise NotImplementedError("write flatten_length")


# %%
from course_utils.exercises import use  # runs the checker; falls back to the reference if needed

flatten_length = use("09.flatten_length", flatten_length)
for s in (150, 96, 64):
    n = flatten_length(s)
    flatten = next(layer for layer in cats_dogs_scratch_cnn(s).layers if isinstance(layer, keras.layers.Flatten))
    assert n == flatten.output.shape[-1], (s, n)
    print(f"{s}x{s}: Flatten gets {n:,} values; dense layer {n * 512 + 512:,} parameters")

# %% [markdown]
# We train at `image_size` pixels, so our model is smaller than the book's (the convolutions are the
# same, the dense layer sees a smaller map). The optimizer is RMSprop. The book's first edition uses
# a learning rate of 1e-4 over 30 or more epochs (the `full` profile); the `smoke` and `laptop`
# runs use 1e-3, the default that the book's second edition uses, so that a CPU run of a few
# minutes goes far enough for the network to memorise its training images. Old
# code writes `from tensorflow.python.keras import optimizers`, `optimizers.RMSprop(lr=1e-4)` and
# `model.fit_generator(...)`: `tensorflow.python` is TensorFlow's private package (not the Keras 3
# that `import keras` gives you), Keras 3 spells the argument `learning_rate`, and `fit` takes a
# `tf.data.Dataset` directly. No early stopping here: we *want* to
# see the over-fitting. We do keep the weights of the epoch with the lowest validation loss
# (`EarlyStopping(restore_best_weights=True)` from 07, with a patience as long as the run, so it
# never stops training early), shade that epoch on the curves, and evaluate those weights on the
# test split, once.

# %%
def rmsprop_fit(model, train, epochs):
    return keras_train.fit(model, train, val_ds, epochs=epochs, loss="binary_crossentropy", patience=epochs,
                           optimizer="rmsprop", learning_rate=cfg.learning_rate, verbose=1)


def last_epoch_gap(res):
    """Training minus validation accuracy at the last epoch: how far memorisation has gone."""
    return res.history["accuracy"][-1] - res.history["val_accuracy"][-1]


keras.utils.set_random_seed(seed)
scratch = cats_dogs_scratch_cnn(image_size=size)
print(f"parameters at {size}x{size}: {scratch.count_params():,}")
with run.timer("train_scratch"):
    res_scratch = rmsprop_fit(scratch, train_ds, cfg.epochs)
scratch_test_acc = float(scratch.evaluate(test_ds, verbose=0, return_dict=True)["accuracy"])
scratch_train_val_gap = last_epoch_gap(res_scratch)
print(f"last epoch: train accuracy {res_scratch.history['accuracy'][-1]:.3f}, "
      f"validation {res_scratch.history['val_accuracy'][-1]:.3f} (gap {scratch_train_val_gap:.3f})")
print(f"test accuracy (weights of epoch {res_scratch.best_epoch}, the lowest validation loss): {scratch_test_acc:.3f}")

# %%
fig = plots.plot_history(res_scratch.history, title="from scratch, no augmentation", best_epoch=res_scratch.best_epoch)

# %% [markdown]
# **Reading the curves.** Over-fitting shows as training accuracy that keeps climbing towards 1
# while validation accuracy flattens, and validation loss that stops falling and then rises: the
# network is memorising its training images, and every further epoch makes it *worse* on new
# ones. The shaded band is the epoch of the lowest validation loss, whose weights we kept; see
# where it falls and how far the curves part after it (the gap at the last epoch is printed
# above, and the first check at the end tests it). In the book (2,000 training images, 150 px, 30 epochs) validation accuracy stalls around
# 70–72% while training accuracy approaches 100%. The cure with few images: show more *varied*
# images (augmentation) and make memorising harder (dropout).
#
# ## 3. Data augmentation with preprocessing layers
#
# Augmentation applies random, label-preserving transformations to each training batch, so the
# model never sees the exact same picture twice. Keras 3 does it with layers; here one image passed
# through the block eight times:

# %%
augment = keras_augmentation(rotation=0.1, zoom=0.2, translation=0.1, seed=seed)
one = x[:1]
fig = plots.show_images([one[0].numpy()] + [augment(one, training=True)[0].numpy() for _ in range(7)],
                        titles=["original"] + [f"augmented {i}" for i in range(1, 8)], ncols=8)

# %% [markdown]
# **Coming from `ImageDataGenerator`.** The book (and most older tutorials) used the
# `ImageDataGenerator` class, which is deprecated and gone from Keras 3's recommended API. Its
# arguments map to layers as follows:
#
# | `ImageDataGenerator(...)` | Keras 3 layer |
# |---|---|
# | `rescale=1./255` | `layers.Rescaling(1/255)` (here: in the `tf.data` pipeline) |
# | `rotation_range=40` (degrees) | `layers.RandomRotation(40/360)` ≈ `RandomRotation(0.11)` (a fraction of a full turn) |
# | `width_shift_range=0.2`, `height_shift_range=0.2` | `layers.RandomTranslation(0.2, 0.2)` (height first) |
# | `shear_range=0.2` (an angle in **degrees**) | `layers.RandomShear` takes a shear *factor* (a fraction of the image size, roughly tan of the angle): 0.2° is a factor of about 0.0035, a shear nobody could see, so we drop it. `RandomShear(0.2)` would be a shear of about 11°, sixty times the original |
# | `zoom_range=0.2` | `layers.RandomZoom(0.2)` |
# | `horizontal_flip=True` | `layers.RandomFlip("horizontal")` |
# | `fill_mode="nearest"` | `fill_mode="nearest"` on each layer |
#
# We use milder settings than the book's (rotation 0.1, translation 0.1, no shear), as in the
# second edition of the book: heavy augmentation slows learning more than it helps in a short run.
# The layers only act when called with `training=True`; here they are mapped over the *training*
# pipeline only, so validation and test images stay untouched.
#
# Augmented images are still highly correlated with the originals, so the book also adds
# `Dropout(0.5)` before the dense layer. The same network and optimizer, trained for
# `aug_epochs` epochs: a model that can no longer memorise learns more slowly, so it needs more.

# %%
aug_train_ds = keras_data.split_dataset(split, "train", size, bs, seed=seed, augment=augment)
keras.utils.set_random_seed(seed)
aug_model = cats_dogs_scratch_cnn(image_size=size, dropout=0.5)
with run.timer("train_aug_dropout"):
    res_aug = rmsprop_fit(aug_model, aug_train_ds, cfg.aug_epochs)
aug_dropout_test_acc = float(aug_model.evaluate(test_ds, verbose=0, return_dict=True)["accuracy"])
aug_train_val_gap = last_epoch_gap(res_aug)
print(f"last epoch: train accuracy {res_aug.history['accuracy'][-1]:.3f}, "
      f"validation {res_aug.history['val_accuracy'][-1]:.3f} (gap {aug_train_val_gap:.3f})")
print(f"test accuracy (weights of epoch {res_aug.best_epoch}): {aug_dropout_test_acc:.3f}")

# %%
fig = plots.plot_history(res_aug.history, title="augmentation + dropout", best_epoch=res_aug.best_epoch)

# %% [markdown]
# With augmentation the training accuracy should rise more slowly and stay closer to the
# validation accuracy: the gap that signalled memorisation shrinks, and the best validation epoch
# tends to come later. The price is time: the book trains this model for 100 epochs at 150 px and
# gets about 82%. Compare the test accuracies of the two models in the table below, and the
# lesson checks at the end, which test both effects on this run.
#
# ## 4. The global-average-pooling variant
#
# Most of the scratch model's weights sit in the dense layer after `Flatten`. Replacing `Flatten` by
# `GlobalAveragePooling2D` — the mean of each feature map — feeds the classifier one number per
# channel, whatever the image size. With 16-32-64-128 filters ("same" padding) this model has far
# fewer parameters, and because the class score is a weighted sum of *averaged* maps, we can later
# see *where* in the image the evidence was (class activation maps, notebook 12).

# %%
# NBVAL_CHECK_OUTPUT
params_gap = cats_dogs_gap_cnn(image_size=150).count_params()
print(f"GAP model: {params_gap:,} parameters at any image size "
      f"({params_scratch / params_gap:.0f}x fewer than the scratch model at 150x150)")

# %% [markdown]
# That small GAP network is hard to train from scratch in a few minutes: plain stacked
# convolutions learn slowly. The model we train, and that notebook 12 explains, keeps the GAP
# head but makes four modern changes:
#
# - **batch normalization** after every convolution: each layer's inputs stay centred and scaled,
#   so a larger learning rate is safe and training moves faster;
# - **wider** blocks (`gap_widths` filters), with `Dropout` before the single output unit;
# - **larger images for less arithmetic**: it sees `gap_image_size` pixels, and its first
#   convolution moves `gap_stem_stride` pixels at a time, so that the most expensive layer on a
#   CPU, the one at full resolution, computes a quarter of the positions (with a stride of 2).
#   More detail goes in, and the maps that notebook 12 turns into heat-maps still have several
#   cells on a side;
# - a **learning-rate schedule**: Adam's rate climbs over two epochs to `gap_learning_rate`
#   (a warm-up: the first steps, from random weights, are the least reliable), then falls along
#   half a cosine to almost zero at the last epoch (`keras_train.cosine_lambda`). Large steps
#   early, small ones at the end, so the last epochs settle instead of bouncing around with the
#   noise of each batch.
#
# It trains with the same augmentation settings as above, through a layer of its own: a random
# layer's state moves on with every batch it transforms, so with a shared layer this model's
# random draws would depend on how long the models before it trained, and the run could not be
# repeated on its own. The whole recipe is one helper, `keras_.recipes.train_cats_dogs_gap`, so
# that `scripts/gap_spread.py` can repeat exactly this run, once per seed. Its last ReLU, the
# map that GAP averages, is named `last_conv` for notebook 12.

# %%
gap_size = cfg.gap_image_size
with run.timer("train_gap"):
    gap_model, res_gap, gap_test_ds = train_cats_dogs_gap(split, gap_size, bs, cfg.gap_epochs, cfg.gap_learning_rate,
                                                          widths=cfg.gap_widths, stem_stride=cfg.gap_stem_stride,
                                                          seed=seed)
print(f"batch-normalized GAP model: {gap_model.count_params():,} parameters, {gap_size}x{gap_size} inputs, "
      f"last_conv maps {gap_model.get_layer('last_conv').output.shape[1]}x"
      f"{gap_model.get_layer('last_conv').output.shape[2]}")
gap_test_acc = float(gap_model.evaluate(gap_test_ds, verbose=0, return_dict=True)["accuracy"])
print(f"test accuracy (weights of epoch {res_gap.best_epoch}): {gap_test_acc:.3f}")
fig = plots.plot_history(res_gap.history, title="batch-normalized GAP + augmentation", best_epoch=res_gap.best_epoch)

# %% [markdown]
# **On this run** the GAP model reaches 0.753 on the test images, just above the 0.75 that the
# last check asks for, with fewer parameters than the scratch model (the table below). How much of
# that is luck? `scripts/gap_spread.py` trains the same model with the same settings once per
# seed: seeds 42, 43 and 44 gave 0.753, 0.767 and 0.760 on these 300 test images (seed 42 is this
# run, reproduced exactly; the runs are recorded in `book/metrics/09_gap_spread.json`). So a run
# lands within a point or so of 0.76: clear of the bar, but not by much. The model still fits its
# augmented training images only to about 0.82: it under-fits rather than memorises, so more
# epochs or wider blocks are the next step where minutes are cheaper (the `full` profile).
# Notebook 10 shows the other way forward: features learned on ImageNet.

# %% [markdown]
# We save all three models in the Keras 3 format (`.keras`: the architecture, the weights and the
# optimizer state in one file; the old `.h5` files are legacy). The GAP model is also handed on to
# notebook 12 through the course's artifacts folder, `<output_dir>/artifacts/09_gap_model.keras`,
# with a record next to it (`09_gap_model.json`: which notebook, profile and seed made it, its image
# size, its test accuracy, the data it read, and when).

# %%
from course_utils.setup.artifacts import save_artifact

for name, model in [("cats_dogs_scratch", scratch), ("cats_dogs_aug_dropout", aug_model), ("cats_dogs_gap", gap_model)]:
    model.save(run.path(f"{name}.keras"))
gap_record = run.artifact_record({"image_size": int(gap_size), "test_acc": round(gap_test_acc, 4),
                                  "best_epoch": res_gap.best_epoch})
gap_path = save_artifact(gap_model, "09_gap_model", gap_record, run.output_dir)
reloaded = keras.models.load_model(gap_path)
print("reloaded GAP model, test accuracy:",
      round(float(reloaded.evaluate(gap_test_ds, verbose=0, return_dict=True)["accuracy"]), 3))
print("record:", {k: gap_record[k] for k in ("notebook", "profile", "seed", "metrics")})

# %% [markdown]
# ## 5. One table

# %%
stages = {"from scratch": (scratch, res_scratch, scratch_test_acc),
          "augmentation + dropout": (aug_model, res_aug, aug_dropout_test_acc),
          "batch-normalized GAP + augmentation": (gap_model, res_gap, gap_test_acc)}
table = pd.DataFrame({
    "model": list(stages),
    "parameters": [m.count_params() for m, _, _ in stages.values()],
    "epochs": [r.epochs_run for _, r, _ in stages.values()],
    "best epoch (val loss)": [r.best_epoch for _, r, _ in stages.values()],
    "train acc (best epoch)": [r.history["accuracy"][r.best_epoch - 1] for _, r, _ in stages.values()],
    "val acc (best epoch)": [r.history["val_accuracy"][r.best_epoch - 1] for _, r, _ in stages.values()],
    "train - val acc (last epoch)": [last_epoch_gap(r) for _, r, _ in stages.values()],
    "test acc": [t for _, _, t in stages.values()],
}).set_index("model")
table.round(3)

# %%
fig = plots.bar_chart({"scratch": scratch_test_acc, "aug + dropout": aug_dropout_test_acc, "GAP": gap_test_acc},
                      ylabel="test accuracy",
                      title=f"{2 * cfg.n_train} training images, {size}x{size} (GAP: {gap_size}x{gap_size})")

# %% [markdown]
# ## Questions
#
# Answer each in two or three sentences before you open the model answer.
#
# **1. Why does the validation loss rise while the training loss falls, and which two remedies does this notebook try?**
#
# <details><summary>Answer</summary>
#
# With 1,400 images (2,000 on `full`) the network can memorise the training set: the training loss keeps falling
# while predictions on unseen images become confidently wrong, so the validation loss rises. Data
# augmentation shows the network a new variant of each image every epoch, so memorising is harder, and
# dropout stops units from relying on each other; both narrow the gap but need more epochs.
#
# </details>
#
# **2. Why is augmentation applied to the training pipeline only, never to validation or test images?**
#
# <details><summary>Answer</summary>
#
# Validation and test images measure how the model does on real images as they come. Random flips,
# rotations and zooms there would change what is measured from run to run and no longer match the data
# the model will see. Augmentation is a training device, not part of the model's input.
#
# </details>
#
# **3. Why does the global-average-pooling model have about 35 times fewer parameters than the Flatten model, and why can it take any image size?**
#
# <details><summary>Answer</summary>
#
# Flatten feeds every value of the last 7×7×128 map to the dense layer (6,272 inputs × 512 units).
# Global average pooling reduces each of the feature maps to one number, so the next layer sees only
# as many inputs as there are channels. That count does not depend on the height and width of the map,
# so neither does the model.
#
# </details>

# %% [markdown]
# ## Summary
#
# - The split is file lists by index, repeatable, with bad files reported and left where they are.
# - From scratch, a convnet over-fits 1,400 images: training accuracy races towards 1 while
#   validation accuracy stalls (the first check below measures the gap on this run).
# - Augmentation (preprocessing layers on the training pipeline only) and dropout are the cure
#   for that gap, given the extra epochs they need; the checks below say how far they got on
#   this run, on the curves and on the test images.
# - Global average pooling replaces millions of dense weights by one average per channel; batch
#   normalization, wider blocks, larger images through a strided first convolution and a
#   warm-up + cosine learning-rate schedule make such a model quicker to train from scratch, and
#   it is the one notebook 12 explains.
#
# On the `full` profile (the book's 1,000 / 500 / 500, 150×150, and its 30 to 100 epochs on a GPU)
# the book reports about 70–72% from scratch and about 82% with augmentation and dropout; the course
# has not measured the `full` profile on a GPU yet, so those are the book's numbers, not this run's.
# Notebook 10 gets past 85% validation accuracy on photos from the same Kaggle folder (split
# differently, so not on these test images) in a few minutes on a CPU, by reusing a network trained
# on ImageNet.
#
# ## What this run showed
#
# Each lesson of this notebook, checked on this run's own numbers (✓ held, ✗ did not hold here).

# %%
run.lesson("scratch_overfits", "From scratch, the network over-fits: at its last epoch training accuracy is at "
           "least 0.10 above validation accuracy",
           scratch_train_val_gap >= 0.10,
           f"train {res_scratch.history['accuracy'][-1]:.3f} vs validation {res_scratch.history['val_accuracy'][-1]:.3f}"
           f" (gap {scratch_train_val_gap:.3f}); best validation loss at epoch {res_scratch.best_epoch} "
           f"of {res_scratch.epochs_run}")
run.lesson("aug_narrows_gap", "Augmentation + dropout keep training and validation accuracy closer together",
           aug_train_val_gap < scratch_train_val_gap,
           f"last-epoch gap {aug_train_val_gap:.3f} vs {scratch_train_val_gap:.3f} from scratch")
run.lesson("aug_beats_scratch", "Augmentation + dropout beat the scratch model on the test images by at least "
           "3 points",
           aug_dropout_test_acc >= scratch_test_acc + 0.03,
           f"test {aug_dropout_test_acc:.3f} vs {scratch_test_acc:.3f}")
run.lesson("gap_model_good", "The batch-normalized GAP model, with fewer parameters than the scratch model, "
           "reaches at least 0.75 test accuracy (good enough for notebook 12 to explain)",
           gap_test_acc >= 0.75 and gap_model.count_params() < scratch.count_params(),
           f"test {gap_test_acc:.3f}; {gap_model.count_params():,} parameters at {cfg.gap_image_size} px vs "
           f"{scratch.count_params():,} for the scratch model at {cfg.image_size} px")
run.show_lessons()

# %%
run.save_metrics({
    "n_corrupt_skipped": len(split.bad),
    "scratch_test_acc": scratch_test_acc,
    "aug_dropout_test_acc": aug_dropout_test_acc,
    "gap_test_acc": gap_test_acc,
    "params_scratch": int(params_scratch),
    "params_gap": int(params_gap),
    "scratch_train_val_gap": scratch_train_val_gap,
    "aug_train_val_gap": aug_train_val_gap,
    "scratch_best_epoch": res_scratch.best_epoch,
    "params_gap_trained": int(gap_model.count_params()),
    "params_scratch_trained": int(scratch.count_params()),
    "image_size": int(size),
    "gap_image_size": int(gap_size),
    "gap_best_epoch": res_gap.best_epoch,
})
