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
# # 08 · Breast histopathology: finding invasive ductal carcinoma in tissue patches
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/cnn-course/cnn-image-classification/blob/main/notebooks/08_breast_histopathology.ipynb)
#
# **You will be able to**
# - read a dataset whose labels and patient ids live in its folder layout and file names;
# - split by patient, check the class balance of every split, and compute the majority-class
#   baseline that any model must beat;
# - train a small CNN with an `ExponentialDecay` learning-rate schedule, keep its best-validation
#   checkpoint, and see which epoch that was;
# - tell apart the two knobs of an imbalanced classifier: class weights (what the model learns)
#   and the decision threshold (what we do with its probabilities), and choose the threshold on
#   validation patients;
# - judge an imbalanced classifier with balanced accuracy, sensitivity, specificity, F1, MCC,
#   ROC/AUC and a precision-recall curve, and look at its mistakes.
#
# **Data.** Kaggle's *Breast Histopathology Images* (IDC): 50×50 patches cut from whole-slide
# images of breast cancer specimens, labelled 1 where invasive ductal carcinoma (IDC) is present.
# Kaggle describes the full set as 277,524 patches, 71.6% negative, cut from 162 whole-slide
# images; its archive is organised in one folder per patient id, and those folders are what this
# notebook counts (the part used here already has 167 of them, so do not read the two numbers as
# the same thing). **Runs in** under a minute (`smoke`) and about a minute (`laptop`, see the
# timings in the metrics file; measured on a shared 2-core CPU machine). The outputs stored in
# this notebook come from a `laptop` run on a real part of the set,
# `../shared/data/breast_histopathology_idc`: 167 patient folders, 6,016 patches, about **2%** of
# the full dataset. Numbers on the full set will differ.

# %%
# On Colab: install the course helpers (a no-op elsewhere).
import sys

if "google.colab" in sys.modules:
    # %pip install -q "course-utils[torch,tf] @ git+https://github.com/cnn-course/cnn-image-classification"
    pass

# %% tags=["parameters"]
profile = "auto"          # "smoke" | "laptop" | "full" | "auto" (see 00_setup)
data_source = "auto"      # "auto" | "real" | "synthetic"
data_dir = None           # the unzipped Kaggle folder that holds the patient folders
output_dir = "outputs"    # metrics, models and figures go here
seed = 42
tiny = False              # True: this profile's code paths, seconds of work (tests; see 00_setup)
# This notebook's own knobs: None takes the value from the profile table.
image_size = None
batch_size = None
epochs = None
max_patients = None
patience = None
learning_rate = None
decay_rate = None         # ExponentialDecay: the learning rate is multiplied by this every epoch
split_fractions = None    # train / validation / test shares of the patches, split by patient

# %%
import course_utils  # import before TensorFlow: see 00_setup

run = course_utils.setup_notebook("08_breast_histopathology", profile=profile, data_source=data_source,
                                  data_dir=data_dir, output_dir=output_dir, seed=seed, tiny=tiny, image_size=image_size,
                                  batch_size=batch_size, epochs=epochs, max_patients=max_patients,
                                  patience=patience, learning_rate=learning_rate, decay_rate=decay_rate,
                                  split_fractions=split_fractions)
cfg = run.cfg

# %%
from pathlib import Path

import keras
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from PIL import Image

from course_utils import metrics, plots
from course_utils.data.scan import scan_files
from course_utils.data.splits import group_split
from course_utils.keras_ import data as keras_data
from course_utils.keras_ import train as keras_train

# %% [markdown]
# ## 1. Getting the data
#
# The dataset needs a (free) Kaggle account: sign in, open
# <https://www.kaggle.com/datasets/paultimothymooney/breast-histopathology-images>, accept the
# terms and download it (about 1.6 GB; or `kaggle datasets download -d
# paultimothymooney/breast-histopathology-images` with the Kaggle command-line tool). Unzip it and
# pass the folder that holds the patient folders as `data_dir` (or put it under your course data
# folder as `breast_histopathology_idc/`, see 00_setup). The layout is read directly:
#
# ```
# <patient_id>/0/<patient_id>_idx5_x<X>_y<Y>_class0.png     no IDC
# <patient_id>/1/<patient_id>_idx5_x<X>_y<Y>_class1.png     IDC present
# ```
#
# The Kaggle archive holds the patient folders twice (once at the top and once inside
# `IDC_regular_ps50_idx5/`), so we keep each file name once.

# %%
info = run.get_data("breast_histopathology_idc", data_dir=data_dir)
root = Path(info.root)
found = {}
for p in sorted(root.rglob("*.png")):
    if p.parent.name in ("0", "1") and p.name not in found:
        found[p.name] = p
patients_all = sorted({p.parent.parent.name for p in found.values()})
print(f"{len(found)} patches from {len(patients_all)} patient folders")
if cfg.max_patients and cfg.max_patients < len(patients_all):  # smoke profile: a random few patients
    chosen = set(np.random.default_rng(seed).choice(patients_all, cfg.max_patients, replace=False).tolist())
    found = {k: p for k, p in found.items() if p.parent.parent.name in chosen}
    print(f"using {len(found)} patches from {len(chosen)} randomly chosen patients (max_patients={cfg.max_patients})")

# %% [markdown]
# The same scanner as in 07 checks every file (and leaves bad ones out, reporting why). Then the
# patch sizes: patches cut at the edge of a slide can be smaller than 50×50. Stretching them to
# 50×50 would distort the tissue, and padding would add a border no real patch has; they are
# few, so we **drop** them and count them.

# %%
files = list(found.values())
report = scan_files(root, files, [p.parent.name for p in files], classes=["0", "1"])
print(report.summary())


def patch_size(path):
    with Image.open(path) as im:
        return im.size


paths = np.array([str(root / f) for f in report.files])
full_size = np.array([patch_size(p) == (50, 50) for p in paths])
n_small = int((~full_size).sum())
print(f"dropped {n_small} edge patches smaller than 50x50 ({n_small / len(paths):.1%})")
paths = paths[full_size]
y_all = np.array([int(Path(p).parent.name) for p in paths])
patients = np.array([Path(p).parent.parent.name for p in paths])
print(f"{len(paths)} patches, {len(set(patients))} patients, {y_all.mean():.1%} positive (IDC)")

# %% [markdown]
# ## 2. A patient-level split, and the number to beat
#
# Each patient contributes dozens to hundreds of patches of the same tissue, stained the same way
# on the same day. A patch-level random split would test the model on patients it trained on
# (see 07). So patients go whole into train, validation or test (`keras_data.group_split`,
# stratified by each patient's majority label).

# %%
tr, va, te = group_split(patients, tuple(cfg.split_fractions), seed=seed, labels=y_all)
assert not set(patients[tr]) & set(patients[te]) and not set(patients[va]) & set(patients[te])
assert min(len(tr), len(va), len(te)) > 0, "too few patients for three splits: raise max_patients"
balance = pd.DataFrame({
    name: {"patients": len(set(patients[idx])), "patches": len(idx), "IDC patches": int(y_all[idx].sum()),
           "IDC share": round(float(y_all[idx].mean()), 3)}
    for name, idx in [("train", tr), ("validation", va), ("test", te)]}).T
print(balance)
run.set_counts("breast_histopathology_idc", train=len(tr), val=len(va), test=len(te), dropped_small=n_small)

# %% [markdown]
# About three patches in four are negative. A "classifier" that always answers *no IDC* is
# therefore right about three times in four -- and useless: it finds no cancer at all. That is
# the **majority-class baseline**, and the reason accuracy alone misleads here. **Balanced
# accuracy**, the mean of sensitivity and specificity, gives the baseline exactly 0.5.

# %%
baseline = metrics.majority_baseline(y_all[tr], y_all[te])
majority_baseline_acc = baseline["accuracy"]
print(f"always predicting class {baseline['majority_class']}: test accuracy {baseline['accuracy']:.3f}, "
      f"balanced accuracy {baseline['balanced_accuracy']:.3f}")

# %% [markdown]
# ### Exercises: balanced accuracy and class weights
#
# Two functions for imbalanced data. The checker compares them with scikit-learn's
# `balanced_accuracy_score` and `compute_class_weight("balanced", ...)`.

# %%
def balanced_accuracy(y_true, y_pred):
    """Mean over the classes present in y_true of the recall of each class (a float). For two classes
    it is (sensitivity + specificity) / 2."""
    # Hint: for each class c in np.unique(y_true), the fraction of the examples of class c predicted c.
    raise NotImplementedError("write balanced_accuracy")


# %%
def class_weights(y):
    """'Balanced' class weights {label: n_samples / (n_classes * n_label)}: a rare class gets a
    large weight, so each class contributes equally to the loss."""
    # Hint: np.unique(y, return_counts=True).
    raise NotImplementedError("write class_weights")


# %%
from course_utils.exercises import use  # runs the checker; falls back to the reference if needed

balanced_accuracy = use("08.balanced_accuracy", balanced_accuracy)
class_weights = use("08.class_weights", class_weights)
print("the majority baseline's balanced accuracy:",
      balanced_accuracy(y_all[te], np.full(len(te), baseline["majority_class"])))
print("class weights of the training split:", class_weights(y_all[tr]))

# %% [markdown]
# ## 3. The patches
#
# Pink is eosin (cytoplasm, stroma), purple is haematoxylin (nuclei). IDC patches tend to be
# crowded with irregular purple nuclei; the difference is subtle at 50×50 pixels.

# %%
size, bs = cfg.image_size, cfg.batch_size
names = ["no IDC", "IDC"]
show = np.random.default_rng(seed).choice(tr, 16, replace=False)
fig = plots.show_images([keras_data.load_image_array(p, size) for p in paths[show]],
                        titles=[names[k] for k in y_all[show]], ncols=8)

# %% [markdown]
# ## 4. Pipeline and model
#
# The pipeline is 07's: decode → cache → shuffle → batch → rescale → prefetch
# (`keras_data.make_dataset`).
#
# **The network is not the tutorial's.** It is a deliberately tiny network of this course, kept
# small so that it trains in minutes on a CPU: five 3×3 convolutions of 16 filters each (one,
# then two, then two), a 2×2 max pooling after each group, `Dropout(0.5)`, `Flatten` and a 2-unit
# softmax (trained with sparse categorical cross-entropy, as 07 explains): about eleven thousand
# parameters. Swap in a larger network of your own in `idc_cnn` if you have a GPU.

# %%
train_ds = keras_data.make_dataset(paths[tr], y_all[tr], size, bs, shuffle=True, seed=seed)
val_ds = keras_data.make_dataset(paths[va], y_all[va], size, bs)
test_ds = keras_data.make_dataset(paths[te], y_all[te], size, bs)


def idc_cnn(input_shape=(50, 50, 3)):
    """This course's tiny IDC network (not the tutorial's): five 16-filter 3x3 convolutions in three
    max-pooled groups, Dropout(0.5), Flatten, 2-unit softmax (about 11k parameters)."""
    conv = lambda: keras.layers.Conv2D(16, 3, padding="same", activation="relu")  # noqa: E731
    return keras.Sequential([
        keras.Input(input_shape),
        conv(), keras.layers.MaxPooling2D(),
        conv(), conv(), keras.layers.MaxPooling2D(),
        conv(), conv(), keras.layers.MaxPooling2D(),
        keras.layers.Dropout(0.5),
        keras.layers.Flatten(),
        keras.layers.Dense(2, activation="softmax"),
    ], name="idc_cnn")


# %%
idc_cnn((50, 50, 3)).summary(line_length=80)

# %%
# NBVAL_CHECK_OUTPUT
print(f"parameters at 50x50: {idc_cnn((50, 50, 3)).count_params():,}")

# %% [markdown]
# **Learning rate.** Instead of a callback, the optimizer itself carries the schedule:
# `keras.optimizers.schedules.ExponentialDecay` multiplies the rate by `decay_rate` every
# `decay_steps` optimizer steps; with `decay_steps` = steps per epoch, that is once per epoch.
# **Class weights** (07) make the IDC patches count as much in total as the negatives. Early
# stopping and the best-validation `.keras` checkpoint come from the same `keras_train.fit` as in
# 07: training runs until the validation loss has not improved for `patience` epochs, and the
# weights of the best epoch are put back.

# %%
steps_per_epoch = int(np.ceil(len(tr) / bs))


def train_idc(class_weight, name):
    """One training run of `idc_cnn`, same seed and schedule; only the class weights differ."""
    schedule = keras.optimizers.schedules.ExponentialDecay(cfg.learning_rate, decay_steps=steps_per_epoch,
                                                           decay_rate=cfg.decay_rate, staircase=True)
    keras.utils.set_random_seed(seed)
    return keras_train.fit(idc_cnn((size, size, 3)), train_ds, val_ds, epochs=cfg.epochs, learning_rate=schedule,
                           class_weight=class_weight, patience=cfg.patience,
                           checkpoint_path=run.path(f"08_idc_{name}_best.keras"))


class_weight = keras_train.balanced_class_weights(y_all[tr])
print("class weights:", {names[k]: round(w, 3) for k, w in class_weight.items()})
with run.timer("train"):
    result = train_idc(class_weight, "weighted")
model = result.model
print(f"restored the checkpoint of epoch {result.best_epoch} of {result.epochs_run} "
      f"(validation loss {result.best_value:.4f}; last epoch {result.history['val_loss'][-1]:.4f})")
fig = plots.plot_history(result.history, title="IDC patches: train vs validation", best_epoch=result.best_epoch)

# %% [markdown]
# The shaded band marks the epoch whose weights were restored: every number below belongs to
# that model, not to the last epoch. With dropout active during training only, training accuracy
# can sit *below* validation accuracy early on; that is not a bug. Over-fitting shows as
# validation loss turning up while training loss keeps falling.
#
# ## 5. Evaluation on the test patients
#
# Exactly as in 07, with the same helpers: one batched pass for probabilities, the confusion
# matrix, the metrics from their formulas (checked against scikit-learn), ROC from probabilities.

# %%
y_test, probs_test = keras_data.labels_and_probabilities(model, test_ds)
rep = metrics.binary_report(y_test, probs_test, threshold=0.5)
metrics.sklearn_crosscheck(y_test, probs_test)
fig = plots.plot_confusion_matrix(np.array(rep["confusion_matrix"]), names,
                                  title=f"test patients ({len(y_test)} patches)")
summary = pd.DataFrame({
    "model": {k: rep[k] for k in ("accuracy", "balanced_accuracy", "sensitivity", "specificity", "precision",
                                   "f1", "mcc", "auc")},
    "always 'no IDC'": {"accuracy": baseline["accuracy"], "balanced_accuracy": baseline["balanced_accuracy"],
                        "sensitivity": 0.0, "specificity": 1.0, "precision": 0.0, "f1": 0.0, "mcc": 0.0,
                        "auc": 0.5}})
print(summary.round(3).to_string())

# %% [markdown]
# Read the table against the baseline column: accuracy must beat the baseline's, and balanced
# accuracy must beat 0.5 by a wide margin for the model to have learnt anything. The papers this
# dataset comes from report, for CNNs on the full set of patients, a balanced accuracy of about
# 0.84–0.85 and an F1 of about 0.72–0.76 (Cruz-Roa et al., 2014; Janowczyk and Madabhushi, 2016).
# Here the test set is a few
# dozen patients from 2% of it, so read this run's numbers as a band of several points either
# way: patients differ, and one split can be kind or unkind.
#
# ## 6. Class weights and the threshold: two knobs for one trade-off
#
# A classifier of imbalanced data has two separate knobs for trading missed cancers against false
# alarms:
#
# - **class weights** change *what the model learns*: errors on the rare class cost more, so the
#   trained model gives IDC patches higher probabilities, and at the usual threshold of 0.5 it
#   flags more patches: sensitivity up, specificity down;
# - the **threshold** changes *what we do with the probabilities*: the same model, a different
#   line between "IDC" and "no IDC". It costs no training, and it must be chosen on the
#   **validation** patients (on the test set it would be tuning on the test).
#
# To see what the class weights did, we train the same network once more without them (same
# seed, same schedule), and look at both models at 0.5 and at a threshold chosen on validation by
# **Youden's J** (the threshold where sensitivity + specificity − 1 is largest: the point of the
# ROC curve furthest from the chance diagonal, giving up neither class for nothing).

# %%
with run.timer("train_unweighted"):
    plain = train_idc(None, "unweighted")
operating = {}
for name, r in [("class weights", result), ("no class weights", plain)]:
    yv, pv = keras_data.labels_and_probabilities(r.model, val_ds)
    yt, pt = keras_data.labels_and_probabilities(r.model, test_ds)
    t_val = metrics.threshold_youden(yv, pv)
    for rule, t in [("0.5", 0.5), (f"Youden on validation ({t_val:.2f})", t_val)]:
        m = metrics.binary_report(yt, pt, threshold=t)
        operating[(name, rule)] = {"threshold": t, "sensitivity": m["sensitivity"], "specificity": m["specificity"],
                                   "balanced acc": m["balanced_accuracy"], "accuracy": m["accuracy"], "AUC": m["auc"]}
operating = pd.DataFrame(operating).T
operating.index.names = ["model", "threshold rule"]
print("test patients:")
print(operating.round(3).to_string())

# %% [markdown]
# Read the table by rows. At 0.5, the model trained with class weights should catch more IDC
# patches (higher sensitivity) and clear fewer negatives (lower specificity) than the one
# trained without: that is the trade the weights make, and the lesson check at the end tests it
# on this run. Its AUC, which looks at the ranking of the probabilities and not at any threshold,
# need not change much: class weights mostly *move* the probabilities. A threshold chosen on
# validation can often make a similar move for the unweighted model at no training cost. A
# screening test would then pick its threshold for a target sensitivity; here Youden's J treats
# both kinds of error as equally bad.
#
# ## 7. Curves for an imbalanced problem
#
# The ROC curve is blind to class balance. The **precision-recall** curve is not: its no-skill
# line sits at the share of positives, and precision (how many flagged patches really are IDC)
# drops as we push recall up. For a rare positive class this is the more honest picture.

# %%
scores = metrics.positive_scores(probs_test)
fig, axes = plt.subplots(1, 2, figsize=(9, 4))
plots.plot_roc(y_test, scores, ax=axes[0])
plots.plot_precision_recall(y_test, scores, ax=axes[1])
axes[0].set_title("ROC")
axes[1].set_title("precision-recall")
fig.tight_layout()

# %% [markdown]
# ## 8. Looking at the mistakes
#
# Titles read *true / predicted*; red marks a wrong prediction. Look for a pattern: are the
# missed IDC patches pale, or mostly stroma? Are the false alarms dense with benign nuclei?

# %%
pred = (scores >= 0.5).astype(int)
wrong = np.flatnonzero(pred != y_test)
right = np.flatnonzero(pred == y_test)
rng = np.random.default_rng(seed)
pick = np.concatenate([rng.choice(wrong, min(12, len(wrong)), replace=False),
                       rng.choice(right, min(12, len(right)), replace=False)]).astype(int)
test_paths = paths[te]
fig = plots.show_images([keras_data.load_image_array(p, size) for p in test_paths[pick]],
                        titles=[f"{names[y_test[i]]} / {names[pred[i]]}" for i in pick],
                        title_colors=["red" if pred[i] != y_test[i] else "green" for i in pick], ncols=8)

# %% [markdown]
# ## Questions
#
# Answer each in two or three sentences before you open the model answer.
#
# **1. Why must patches of one patient not be split between training and test sets?**
#
# <details><summary>Answer</summary>
#
# Patches of one patient share tissue, staining and scanner. A model can learn to recognise the
# patient rather than the disease, and it would be rewarded for that on test patches of patients it has
# seen. Only test patients that were never in training measure how it does on a new patient.
#
# </details>
#
# **2. A model reaches 76% accuracy where three patches in four are negative. What do you check before you believe it learned anything?**
#
# <details><summary>Answer</summary>
#
# The majority baseline: answering "no IDC" always already gives about 75%. Look at the balanced
# accuracy (0.5 for the baseline), the sensitivity (how many cancer patches it finds), MCC and the
# precision-recall curve, which all stay near chance for a model that ignores the minority class.
#
# </details>
#
# **3. What do class weights change in training, and what do they not change?**
#
# <details><summary>Answer</summary>
#
# They scale each example's loss, so the rare class counts as much in total as the common one and the
# model stops favouring the majority. They do not add information: the rare class still has few
# distinct examples, and the probabilities the model outputs no longer match the real class frequencies
# (the decision threshold may need to be chosen again).
#
# </details>

# %% [markdown]
# ## Summary
#
# - Labels and patient ids came from the folder layout; edge patches smaller than 50×50 were
#   dropped and counted.
# - The split follows patients, and each split's class balance is printed, not assumed.
# - The majority-class baseline is the bar: here about three patches in four are negative, so
#   accuracy must be read next to it, and balanced accuracy, sensitivity, MCC and the
#   precision-recall curve tell whether the model finds cancer.
# - The same metric and plotting helpers served 07 and 08 (`course_utils.metrics`,
#   `course_utils.plots`).
#
# - Class weights and the threshold are two knobs for the same trade-off; the threshold is chosen
#   on validation patients, and the test set only reports what it gives.
# - The model evaluated is the restored best-validation checkpoint, whose epoch is printed and
#   shaded on the curves.
#
# ## What this run showed
#
# Each lesson of this notebook, checked on this run's own numbers (✓ held, ✗ did not hold here).
# The numbers come from the stored `laptop` run on about 2% of the full dataset, on a 2-core CPU.

# %%
w05, u05 = operating.loc[("class weights", "0.5")], operating.loc[("no class weights", "0.5")]
run.lesson("beats_baseline", "The model beats the majority-class baseline: higher test accuracy, and balanced "
           "accuracy well above the baseline's 0.5",
           rep["accuracy"] > majority_baseline_acc and rep["balanced_accuracy"] >= 0.6,
           f"accuracy {rep['accuracy']:.3f} vs baseline {majority_baseline_acc:.3f}; "
           f"balanced accuracy {rep['balanced_accuracy']:.3f} vs 0.5")
run.lesson("class_weights_raise_sensitivity", "At threshold 0.5, class weights trade specificity for "
           "sensitivity: the weighted model catches more IDC patches than the unweighted one",
           w05["sensitivity"] > u05["sensitivity"] and w05["specificity"] <= u05["specificity"],
           f"sensitivity {w05['sensitivity']:.3f} vs {u05['sensitivity']:.3f}; "
           f"specificity {w05['specificity']:.3f} vs {u05['specificity']:.3f}")
run.lesson("checkpoint_not_last_epoch", "The best validation epoch came before the last one, so restoring the "
           "checkpoint keeps weights with a lower validation loss than the last epoch's",
           result.best_epoch < result.epochs_run,
           f"best epoch {result.best_epoch} of {result.epochs_run}; validation loss {result.best_value:.4f} "
           f"vs {result.history['val_loss'][-1]:.4f} at the last epoch")
run.show_lessons()

# %%
run.save_metrics({
    "majority_baseline_acc": majority_baseline_acc, "test_acc": rep["accuracy"],
    "balanced_acc": rep["balanced_accuracy"], "sensitivity": rep["sensitivity"],
    "specificity": rep["specificity"], "f1": rep["f1"], "mcc": rep["mcc"], "auc": rep["auc"],
    "n_patients_train": len(set(patients[tr])), "n_patients_test": len(set(patients[te])),
    # extra keys
    "precision": rep["precision"], "n_dropped_small": n_small, "n_patches": int(len(paths)),
    "epochs_run": result.epochs_run, "best_epoch": result.best_epoch,
    "confusion_matrix": rep["confusion_matrix"],
    "unweighted_sensitivity": float(u05["sensitivity"]), "unweighted_specificity": float(u05["specificity"]),
    "unweighted_auc": float(u05["AUC"]), "unweighted_best_epoch": plain.best_epoch,
    "youden_threshold_val": float(operating.loc[("class weights", slice(None)), "threshold"].iloc[1]),
    "youden_test_sensitivity": float(operating.loc[("class weights", slice(None)), "sensitivity"].iloc[1]),
    "youden_test_specificity": float(operating.loc[("class weights", slice(None)), "specificity"].iloc[1]),
})
