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
# # 11 · Fine-tuning: unfreezing the top of a pretrained network
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/cnn-course/cnn-image-classification/blob/main/notebooks/11_fine_tuning.ipynb)
#
# **You will be able to**
# - unfreeze a whole block of a pretrained base (not one layer) and fine-tune it with a small learning rate;
# - explain why fine-tuning waits for a trained head;
# - use discriminative learning rates in PyTorch;
# - judge fine-tuning against a control that trains the head for the same extra epochs.
#
# This notebook tells one story in two frameworks: **Part A** in Keras 3 (TensorFlow backend),
# **Part B** in PyTorch, then a comparison. Either part can be switched off with `run_keras` /
# `run_torch`. `data_dir` is Part A's cats-vs-dogs folder (Kaggle's flat `cat.N.jpg` layout, as in
# notebook 09); `torch_data_dir` is Part B's image folder.

# %%
# On Colab: install the course helpers (a no-op elsewhere).
import sys

if "google.colab" in sys.modules:
    # %pip install -q "course-utils[torch,tf] @ git+https://github.com/cnn-course/cnn-image-classification"
    pass

# %% tags=["parameters"]
profile = "auto"          # "smoke" | "laptop" | "full" | "auto" (see 00_setup)
data_source = "auto"      # "auto" | "real" | "synthetic"
data_dir = None           # Part A: a Kaggle-style flat folder of cat.N.jpg / dog.N.jpg
output_dir = "outputs"
seed = 42
tiny = False              # True: this profile's code paths, seconds of work (tests; see 00_setup)
torch_data_dir = None     # Part B: train/<class> + val/<class>, or <class>/ folders
run_keras = True
run_torch = True
# This notebook's own knobs: None takes the value from the profile table.
epochs = None
image_size = None
n_train = None
n_val = None
n_test = None
batch_size = None
keras_backbone = None    # Part A: None (VGG16 if its weights can be had, else MobileNet 0.25), "vgg16", "mobilenet_025"
head_epochs = None       # Part A: epochs of the stand-in head when notebook 10's model is not in output_dir
head_learning_rate = None  # Part A: RMSprop learning rate of the head (the stand-in and the control)
finetune_lr = None       # Part A: RMSprop learning rate while fine-tuning the top block
torch_image_size = None
torch_max_per_class = None
torch_epochs = None        # Part B: passes over the cached augmented copies (fine-tuning and control)
torch_views = None         # Part B: augmented copies cached per training image
torch_finetune_lr = None   # Part B: Adam learning rate of the unfrozen stage (the head gets 10x)
torch_val_from_train = None  # Part B: share of the train folder kept for validation; the val folder is the test set
torch_head_epochs = None
torch_backbone = None
torch_dataset = None
torch_batch_size = None

# %%
import course_utils  # import before TensorFlow: see 00_setup

run = course_utils.setup_notebook("11_fine_tuning", profile=profile, data_source=data_source, data_dir=data_dir,
                                  output_dir=output_dir, seed=seed, tiny=tiny, epochs=epochs, image_size=image_size,
                                  n_train=n_train, n_val=n_val, n_test=n_test, batch_size=batch_size,
                                  keras_backbone=keras_backbone, head_epochs=head_epochs,
                                  head_learning_rate=head_learning_rate, finetune_lr=finetune_lr,
                                  torch_image_size=torch_image_size, torch_max_per_class=torch_max_per_class,
                                  torch_epochs=torch_epochs, torch_views=torch_views,
                                  torch_finetune_lr=torch_finetune_lr, torch_val_from_train=torch_val_from_train,
                                  torch_head_epochs=torch_head_epochs,
                                  torch_backbone=torch_backbone, torch_dataset=torch_dataset,
                                  torch_batch_size=torch_batch_size, run_keras=run_keras, run_torch=run_torch,
                                  torch_data_dir=torch_data_dir)
cfg = run.cfg
keras_metrics = {"keras_finetune_test_acc": None, "keras_control_test_acc": None, "keras_baseline_test_acc": None,
                 "keras_trainable_layers": None, "keras_baseline_source": None}
torch_metrics = {"torch_finetune_val_acc": None, "torch_finetune_test_acc": None, "torch_control_test_acc": None,
                 "torch_features_test_acc": None, "torch_baseline_source": None}

# %% [markdown]
# ## Part A · Keras
# <!-- KERAS-START: Part A is written between these markers -->
#
# Feature extraction (notebook 10) keeps the pretrained base fixed. **Fine-tuning** goes one step
# further: unfreeze the *top* of the base — the layers with the most task-specific features — and
# train them together with the head, with a small learning rate, so they adapt to cats and dogs
# without forgetting what ImageNet taught them. The lower layers (edges, colours, textures) stay
# frozen: they are generic, and unfreezing millions more weights on 1,000 images invites over-fitting.
#
# The book's recipe, in order:
# 1. add a head on top of the frozen base; 2. **train the head** (notebook 10 did this);
# 3. unfreeze the top block; 4. recompile with a small learning rate; 5. train both.

# %%
if not run_keras:
    print("Part A skipped (run_keras=False)")
else:
    import keras
    import pandas as pd

    from course_utils import plots
    from course_utils.data.splits import load_split
    from course_utils.keras_.data import split_dataset
    from course_utils.keras_.train import compile_model, fit
    from course_utils.keras_.transfer import (
        BACKBONES,
        backbone_name_of,
        count_trainable,
        find_base,
        frozen_base_model,
        keras_augmentation,
        load_backbone,
        tutorial_unfreeze,
        unfreeze_from,
    )
    from course_utils.setup import artifacts

    split, split_info = load_split(cfg.n_train, cfg.n_val, cfg.n_test, data_dir, run.data_source, seed)
    run.record(split_info)
    print(split.summary())
    size, batch = cfg.image_size, cfg.batch_size
    train_ds, val_ds, test_ds = (split_dataset(split, name, size, batch, seed=seed, rescale=False)
                                 for name in ("train", "validation", "test"))

# %% [markdown]
# ### A.1 The starting point: notebook 10's best model
#
# A freshly initialized head outputs noise, so its loss and gradients are large. If the top of
# the base were trainable from the first step, those large, meaningless gradients would flow into
# the pretrained layers and destroy the features we came for. So the head is trained first, with
# the whole base frozen: notebook 10 did this and kept the epoch with the best validation accuracy
# in its artifacts folder, with a record of the run that made it. If that model is in this
# `output_dir` (same image size), we start from it and print which run it came from; otherwise we
# train a stand-in here, the same way, and say so.

# %%
if run_keras:
    found = artifacts.find_artifact("10_keras_frozen_best", run.output_dir)
    why_not = "notebook 10 has not saved it in this output_dir"
    if found is not None:
        record = found[1]["metrics"]
        if record.get("image_size") != size:
            why_not, found = f"notebook 10's model takes {record.get('image_size')} px images, not {size}", None
        elif cfg.keras_backbone not in (None, record.get("backbone")):
            why_not, found = f"notebook 10's model uses {record.get('backbone')}, not {cfg.keras_backbone}", None
    if found is not None:
        start_path = found[0]
        keras_metrics["keras_baseline_source"] = artifacts.describe(found[1], ["best_val_accuracy", "best_epoch"])
        print("Starting from", keras_metrics["keras_baseline_source"])
    else:
        print(f"10_keras_frozen_best not used ({why_not}): training a STAND-IN here, notebook 10's recipe "
              f"(frozen base + augmentation, {cfg.head_epochs} epochs, best validation epoch kept)")
        pretrained, weights_tried = load_backbone(size, cfg.keras_backbone, tiny=run.tiny)
        run.record(*weights_tried)
        if pretrained.weights_source.startswith("random"):
            run.stand_in(f"{pretrained.name} with random weights", f"{pretrained.name} with ImageNet weights",
                         "no ImageNet weights could be had (cache, mirror or download)")
        stand_in = frozen_base_model(pretrained, keras_augmentation(seed=seed))
        start_path = run.path("keras_frozen_best_stand_in.keras")
        with run.timer("keras_train_head"):
            stand_in_result = fit(stand_in, train_ds, val_ds, epochs=cfg.head_epochs,
                                  optimizer="rmsprop", learning_rate=cfg.head_learning_rate,
                                  loss="binary_crossentropy", patience=None,
                                  checkpoint_path=start_path, monitor="val_accuracy")
        keras_metrics["keras_baseline_source"] = (f"stand-in trained here ({cfg.head_epochs} epochs, best at epoch "
                                                  f"{stand_in_result.best_epoch})")

    def load_start():
        """A fresh copy of the starting model: head trained, base frozen."""
        model = keras.models.load_model(start_path)
        return compile_model(model, cfg.head_learning_rate, loss="binary_crossentropy", optimizer="rmsprop")

    def test_accuracy(model):
        return float(model.evaluate(test_ds, verbose=0, return_dict=True)["accuracy"])

    keras_metrics["keras_baseline_test_acc"] = test_accuracy(load_start())
    print(f"test accuracy of the starting model: {keras_metrics['keras_baseline_test_acc']:.3f}")

# %% [markdown]
# ### A.2 The control: the same extra epochs, base still frozen
#
# Fine-tuning trains for more epochs. Any gain it shows could come from those epochs alone — the
# head simply training longer — rather than from unfreezing anything. The control answers that: the
# same starting model, the same images and the same number of extra epochs, with the base still
# frozen. Fine-tuning is judged against the control, not against the starting model.

# %%
if run_keras:
    control = load_start()
    with run.timer("keras_control"):
        control_result = fit(control, train_ds, val_ds, epochs=cfg.epochs,
                             optimizer="rmsprop", learning_rate=cfg.head_learning_rate,
                             loss="binary_crossentropy", patience=None)
    keras_metrics["keras_control_test_acc"] = test_accuracy(control)
    print(f"control (head only, {cfg.epochs} more epochs): test accuracy {keras_metrics['keras_control_test_acc']:.3f}")
    del control

# %% [markdown]
# ### A.3 Unfreezing a block — and the one-line pitfall
#
# The book unfreezes VGG16's last convolutional block, `block5_conv1` to `block5_pool`. A loop that
# circulates widely in tutorials tries to do this:
#
# ```python
# for layer in conv_base.layers:
#     if layer.name == "block5_conv1":
#         layer.trainable = True
#     else:
#         layer.trainable = False
# ```
#
# **Pitfall:** it reads as "from `block5_conv1` on", but it makes exactly **one** layer trainable:
# `block5_conv2` and `block5_conv3` stay frozen. Watch it happen (for MobileNet, the top block
# starts at `conv_dw_12`: the last two depthwise-separable blocks):

# %%
if run_keras:
    model = load_start()
    base = find_base(model)
    backbone_name = backbone_name_of(base)
    start_layer = BACKBONES[backbone_name]["start_layer"]
    tutorial_trainable = tutorial_unfreeze(base, start_layer)
    print("the tutorial's loop leaves trainable:", tutorial_trainable)
    block_trainable = unfreeze_from(base, start_layer)
    print(f"unfreeze_from({start_layer!r}) makes trainable: {block_trainable}")
    keras_metrics["keras_trainable_layers"] = len(block_trainable)
    keras_metrics["keras_trainable_layers_tutorial_bug"] = len(tutorial_trainable)
    print(pd.DataFrame({"layer": [layer.name for layer in base.layers[-12:]],
                        "trainable": [layer.trainable for layer in base.layers[-12:]]}).to_string(index=False))

# %% [markdown]
# The fix is the book's own `set_trainable` flag: once the loop meets the start layer, every layer
# after it is trainable too (`unfreeze_from` in `course_utils.keras_.transfer`). With MobileNet, the unfrozen block
# contains BatchNorm layers. The model calls the base with `training=False`, so they keep using
# their ImageNet statistics even while their scale and offset are trained — updating those
# statistics from a few small batches would shift every feature at once (the Keras fine-tuning
# guide's advice).
#
# ### A.4 Recompile with a small learning rate, and train
#
# Changing `trainable` only takes effect after `compile`, so `fit` compiles again, with RMSprop at
# `finetune_lr` (see the settings printed at the top): ten times or more smaller than the head's
# `head_learning_rate`, because we want to *adjust* the pretrained features, not relearn them. (Old
# code writes `RMSprop(lr=1e-5)`: Keras 3 removed the `lr` alias.)

# %%
if run_keras:
    print("trainable weight tensors now:", count_trainable(model)[0])
    with run.timer("keras_fine_tune"):
        finetune_result = fit(model, train_ds, val_ds, epochs=cfg.epochs,
                              optimizer="rmsprop", learning_rate=cfg.finetune_lr,
                              loss="binary_crossentropy", patience=None)
    keras_metrics["keras_finetune_test_acc"] = test_accuracy(model)
    fig = plots.plot_history(finetune_result.history, title=f"fine-tuning the top of {backbone_name}")
    keras_finetuned = artifacts.save_artifact(
        model, "11_keras_finetuned",
        run.artifact_record({"test_accuracy": keras_metrics["keras_finetune_test_acc"], "epochs": cfg.epochs,
                             "backbone": backbone_name, "image_size": size, "started_from": keras_metrics["keras_baseline_source"]},
                            data=[split_info.name]),
        run.output_dir)
    print(pd.DataFrame({"model": ["starting model (head trained, base frozen)", f"control: head, {cfg.epochs} more epochs",
                                  f"fine-tuned: top block + head, {cfg.epochs} epochs"],
                        "test accuracy": [keras_metrics["keras_baseline_test_acc"], keras_metrics["keras_control_test_acc"],
                                          keras_metrics["keras_finetune_test_acc"]]}).set_index("model").round(3))

# %% [markdown]
# The test split was used once per model, at the end, and all three rows are on the same test
# images. Read the fine-tuned row against the **control**, not against the starting model: the
# control's row shows how much the extra epochs alone bring. On the `laptop` profile's 500 test
# images one image is 0.2 points, so a difference of a few images can be luck; the check at the
# end of the notebook says whether this run's difference went the expected way. On the `full`
# profile (VGG16 with ImageNet weights, 150×150, 2,000 training images, 30 or more epochs on a GPU) the book reaches
# about 97% test accuracy after fine-tuning. The fine-tuned model is saved in the artifacts folder as
# `11_keras_finetuned.keras`; notebook 12 explains its decisions with Grad-CAM.
#
# <!-- KERAS-END -->
#
# ## Part B · PyTorch
# <!-- TORCH-START: Part B is written between these markers -->

# %%
if not run_torch:
    print("Part B skipped (run_torch=False)")

# %% [markdown]
# Fine-tuning in PyTorch, in five steps: split the images so that the test set can tell two good
# models apart; run the frozen layers once and keep what the last stage takes; train a linear head
# on the frozen features (the starting point, notebook 10's recipe); unfreeze the **last stage**
# and train it with a small learning rate and the head with a ten times larger one; and compare
# with a control that trains only the head, for the same epochs on the same augmented images. All
# models are judged on the same test images.
#
# **The split.** Notebook 10 halved the tutorial's `val` folder into validation and test images.
# That leaves 76 test images, where one image is 1.3 points: about the whole difference
# fine-tuning can make on ants and bees. Here the whole `val` folder is the test set, and a quarter
# of the `train` folder is set aside for validation (choosing the epoch), so the test set is twice
# as large (`val_from_train` in `load_torch_splits`).

# %%
if run_torch:
    import copy

    import torch
    from torch.utils.data import TensorDataset

    from course_utils.plots import plot_confusion_matrix, plot_history
    from course_utils.setup import artifacts
    from course_utils.torch_.data import load_torch_splits, make_loader
    from course_utils.torch_.train import predict
    from course_utils.torch_.transfer import (
        cache_stage_inputs,
        choose_backbone,
        discriminative_param_groups,
        last_stage,
        pooled_from_cache,
        train_feature_head,
        train_on_cache,
        unfreeze_last_stage,
    )

    device = run.device  # cuda, mps or cpu: chosen once by setup_notebook
    backbone, weights_tried = choose_backbone(cfg.torch_backbone, tiny=run.tiny)
    splits, torch_data_info = load_torch_splits(cfg.torch_dataset, torch_data_dir, cfg.torch_max_per_class, seed,
                                                data_source=run.data_source, tiny=run.tiny,
                                                val_from_train=cfg.torch_val_from_train)
    run.record(*weights_tried, torch_data_info)
    if backbone.weights_source.startswith("random"):
        run.stand_in(f"{backbone.name} with random weights", f"{backbone.name} with ImageNet weights",
                     "its ImageNet weights could not be had (cache, mirror or download)")
    torch_dataset_name = torch_data_info.name
    print(f"{backbone.name} on {run.provenance[torch_dataset_name].title}: {splits.counts()} images "
          f"({splits.layout}), {len(splits.bad)} bad files skipped")

# %% [markdown]
# ### B1. Run the frozen layers once
#
# Everything below the last stage stays frozen, with its batch norm in eval mode, so what it
# computes for an image never changes: compute it once and keep it. `cache_stage_inputs` decodes
# each image once and keeps the maps the last stage takes (for EfficientNet-Lite0 at 224 px,
# 192 channels of 7×7): the centre crop of every image, and `torch_views` augmented copies of each
# training image (the tutorial's rotation, crop, flips and colour jitter). An epoch then runs only
# the last stage, forward and backward, on small maps: seconds instead of minutes on a CPU. The
# price: each training image is seen in `torch_views` fixed augmentations rather than a new one
# every epoch. The control below trains on exactly the same copies.

# %%
if run_torch:
    with run.timer("torch_cache"):
        cache = cache_stage_inputs(backbone, splits, cfg.torch_image_size, cfg.torch_views, device,
                                   cfg.torch_batch_size, seed=seed)
    for name, (maps, labels) in cache.items():
        print(f"{name:9s} {len(labels):4d} maps of {tuple(maps.shape[1:])}")
    print(f"cached in {run.timings['torch_cache']:.0f} s")
    test_loader = make_loader(TensorDataset(*cache["test"]), 64)

    def torch_test_accuracy(model):
        """Test accuracy of a backbone's model, from the cached test maps through its last stage."""
        probs, labels = predict(last_stage(model), test_loader, device)
        return float((probs.argmax(1) == labels).mean()), probs, labels

# %% [markdown]
# ### B2. The starting point: a head trained on the frozen features
#
# Fine-tuning must start from a trained head: a randomly initialised one would send large, random
# gradients into the pretrained layers and damage what they know. `train_feature_head` is notebook
# 10's recipe in one call: a linear head on the pooled features of the centre crops, the epoch with
# the best validation accuracy kept. It is trained here rather than loaded from notebook 10,
# because 10 chose its head's epoch on images that are test images in this split.

# %%
if run_torch:
    features = pooled_from_cache(last_stage(backbone.model), {k: cache[k] for k in ("train", "val")}, device)
    feature_loaders = {k: make_loader(TensorDataset(*features[k]), 64, shuffle=k == "train", seed=seed)
                       for k in ("train", "val")}
    _, features_best, _ = train_feature_head(backbone, splits, cfg.torch_image_size, cfg.torch_batch_size,
                                             cfg.torch_head_epochs, device, seed=seed, verbose=False,
                                             loaders=feature_loaders)
    torch_metrics["torch_baseline_source"] = (f"trained here: linear head on frozen features, {cfg.torch_head_epochs} "
                                              f"epochs, best at epoch {features_best['epoch']}")
    features_val_acc = float(features_best["val_accuracy"])
    features_test_acc = torch_test_accuracy(backbone.model)[0]
    print(f"feature extraction: validation {features_val_acc:.3f}, test {features_test_acc:.3f}")
    start = copy.deepcopy(backbone)       # the control and the fine-tuning both start from this

# %% [markdown]
# ### B3. Unfreeze the last stage, with discriminative learning rates
#
# Which layers? A whole **stage**, not one layer: the last stage's blocks learned together the
# most ImageNet-specific features, and a single unfrozen layer (what some old tutorials did)
# has too little room to adapt. For EfficientNet-Lite0 the last stage is `blocks[6]` plus the
# 1×1 `conv_head` and its batch norm `bn2`; for a ResNet it is `layer4`.
#
# How fast? The head gets 10× the base learning rate (`torch_finetune_lr`): it is new and far from
# its best, while the pretrained stage only needs nudging. Two optimizer *parameter groups* say this
# in PyTorch.
#
# Batch norm: the unfrozen stage's batch-norm layers keep their ImageNet statistics (eval mode)
# while their scale and offset train, as Keras does, so small augmented batches do not overwrite
# them.

# %%
if run_torch:
    names = unfreeze_last_stage(backbone.model)
    groups = discriminative_param_groups(backbone.model, base_lr=cfg.torch_finetune_lr, head_mult=10)
    n_train_params = sum(p.numel() for p in backbone.model.parameters() if p.requires_grad)
    n_all = sum(p.numel() for p in backbone.model.parameters())
    print(f"unfrozen: {', '.join(names)} -> {n_train_params:,d} of {n_all:,d} parameters train "
          f"({n_train_params / n_all:.0%})")
    for g in groups:
        print(f"  group {g['name']:8s} lr {g['lr']:.0e}  {sum(p.numel() for p in g['params']):>9,d} parameters")

# %% [markdown]
# ### B4. Fine-tune, and the control
#
# `train_on_cache` does exactly the above on the cached copies: Adam with the two groups,
# `torch_epochs` passes over the augmented copies, validation on the centre crops after each
# epoch, and the epoch with the best validation accuracy kept (the course's `fit` loop). With
# `unfreeze=False` the same call is the control: same copies, batches, epochs and head learning
# rate, with the last stage frozen, so only the head trains.

# %%
if run_torch:
    with run.timer("torch_control"):
        control_model = copy.deepcopy(start)
        _, control_history, control_best, _ = train_on_cache(
            control_model, cache, cfg.torch_epochs, device, base_lr=cfg.torch_finetune_lr, head_mult=10,
            unfreeze=False, seed=seed, verbose=False)
    with run.timer("torch_finetune"):
        _, finetune_history, finetune_best, names = train_on_cache(
            backbone, cache, cfg.torch_epochs, device, base_lr=cfg.torch_finetune_lr, head_mult=10, seed=seed)
    print(f"best validation epoch: control {control_best['epoch']}, fine-tuned {finetune_best['epoch']} "
          f"(of {cfg.torch_epochs}); {run.timings['torch_control']:.0f} s and {run.timings['torch_finetune']:.0f} s")
    torch.save({"model": backbone.model.state_dict(), "best_acc": finetune_best["val_accuracy"],
                "epoch": finetune_best["epoch"], "class_to_idx": splits.class_to_idx}, run.path("torch_finetuned.pt"))
    fig = plot_history(finetune_history, title=f"Part B: fine-tuning the last stage of {backbone.name}")

# %% [markdown]
# ### B5. Test evaluation and comparison
#
# The three models are judged on the same held-out test images, which neither training nor model
# selection has seen.

# %%
if run_torch:
    from sklearn.metrics import confusion_matrix

    control_test_acc = torch_test_accuracy(control_model.model)[0]
    finetune_test_acc, finetune_probs, finetune_labels = torch_test_accuracy(backbone.model)
    print(f"{'':32s} {'validation':>10s} {'test':>8s}")
    print(f"{'feature extraction (start)':32s} {features_val_acc:10.3f} {features_test_acc:8.3f}")
    print(f"{'control: head only, augmented':32s} {control_best['val_accuracy']:10.3f} {control_test_acc:8.3f}")
    print(f"{'fine-tuned: last stage + head':32s} {finetune_best['val_accuracy']:10.3f} {finetune_test_acc:8.3f}")
    print(f"(test images: {len(finetune_labels)}; one image is {1 / len(finetune_labels):.3f})")
    if len(splits.classes) <= 10:
        fig = plot_confusion_matrix(confusion_matrix(finetune_labels, finetune_probs.argmax(1),
                                                     labels=range(len(splits.classes))),
                                    splits.classes, title="fine-tuned model, test images")
    torch_metrics.update({"torch_finetune_val_acc": float(finetune_best["val_accuracy"]),
                          "torch_finetune_test_acc": finetune_test_acc, "torch_control_test_acc": control_test_acc,
                          "torch_control_val_acc": float(control_best["val_accuracy"]),
                          "torch_features_val_acc": features_val_acc, "torch_features_test_acc": features_test_acc,
                          "torch_backbone": backbone.name, "torch_dataset": torch_dataset_name,
                          "torch_test_images": len(finetune_labels), "torch_unfrozen": names,
                          "torch_cache_s": run.timings["torch_cache"], "torch_finetune_s": run.timings["torch_finetune"]})
    torch_finetuned = artifacts.save_artifact(
        run.path("torch_finetuned.pt"), "11_torch_finetuned",
        run.artifact_record({"best_val_accuracy": float(finetune_best["val_accuracy"]), "test_accuracy": finetune_test_acc,
                             "backbone": backbone.name, "image_size": cfg.torch_image_size,
                             "dataset": torch_dataset_name, "classes": splits.classes}, data=[torch_dataset_name]),
        run.output_dir)

# %% [markdown]
# Read the three rows together, with the size of one test image in mind (printed under the table).
# In the stored `laptop` run they tie on the test set: 0.935 each, 143 of the 153 images. On
# validation the control and the fine-tuning both went from 0.934 to 0.951 (57 to 58 of 61 images).
# So fine-tuning did as well as the control, which is what the check at the end asks, and no better:
# this run shows no gain from unfreezing the last stage on ants and bees. The run itself says why
# there was little to gain. The frozen features already separate the two classes (0.935 on the test
# set before any fine-tuning; ImageNet has an ant class and a bee class among its thousand), and the
# unfrozen stage fits the 736 augmented copies completely within four epochs (training accuracy
# 1.000 in the log above), after which they have nothing more to teach it. A gain needs a task
# further from ImageNet, or more than 184 training images; the `full` profile (Oxford flowers, on a
# GPU) has more images.

# %% [markdown]
# <!-- TORCH-END -->
#
# ## Comparison
# Both parts fine-tuned the *top block* of a pretrained base after its new head had been trained,
# with a learning rate ten to a hundred times smaller than for the head. What differs is how each
# framework says "train these weights, not those":
#
# | | Keras 3 | PyTorch |
# |---|---|---|
# | unfreeze a block | set `layer.trainable = True` from the first layer of the block onwards (the flag is read when the model is compiled, so compile again) | `requires_grad_(True)` on the block's parameters |
# | smaller learning rate for the base | one optimizer with a small rate (`optimizer="rmsprop", learning_rate=cfg.finetune_lr`) | parameter groups: the head ×10 the base rate |
# | the control | the same `fit`, base still frozen | `train_on_cache(..., unfreeze=False)` |
# | batch normalization | layers inside a frozen base stay in inference mode when called with `training=False` | `.eval()` on the batch-norm layers after every `model.train()` (`train_on_cache` does it) |
#
# The table below is this run's (different data in the two parts: compare each part with its own
# control, not with the other part).

# %%
import pandas as pd

rows = []
if run_keras:
    rows.append({"part": "A · Keras", "trainable layers after unfreezing": keras_metrics["keras_trainable_layers"],
                 "start (test acc)": keras_metrics["keras_baseline_test_acc"],
                 "control (test acc)": keras_metrics["keras_control_test_acc"],
                 "fine-tuned (test acc)": keras_metrics["keras_finetune_test_acc"]})
if run_torch:
    rows.append({"part": "B · PyTorch", "trainable layers after unfreezing": ", ".join(names),
                 "start (test acc)": torch_metrics["torch_features_test_acc"],
                 "control (test acc)": torch_metrics["torch_control_test_acc"],
                 "fine-tuned (test acc)": torch_metrics["torch_finetune_test_acc"]})
pd.DataFrame(rows).set_index("part").round(3) if rows else "both parts were switched off"


# %% [markdown]
# ## Exercise: which layers to unfreeze
#
# Section A.2 showed the tutorial loop that unfreezes one layer instead of a block. Write the selection
# without a model: from the layer names of a base, in order, and a block name, the names to make
# trainable. The checker uses VGG16's names and a network with twelve blocks (where `block1` must not
# match `block10_conv`), and wants a `ValueError` for a block that does not exist.

# %%
def layers_to_unfreeze(layer_names, block):
    """The names, in order, from the first layer of `block` (a layer named `block` or starting with
    `block + "_"`) to the last layer of the base. Raise ValueError if no layer belongs to `block`."""
    # Hints: enumerate(layer_names); name.startswith(block + "_"); a list slice from that index on.
    raise NotImplementedError("write layers_to_unfreeze")


# %%
from course_utils.exercises import use  # runs the checker; falls back to the reference if needed

layers_to_unfreeze = use("11.layers_to_unfreeze", layers_to_unfreeze)
print(layers_to_unfreeze(["block4_conv3", "block4_pool", "block5_conv1", "block5_conv2", "block5_conv3",
                          "block5_pool"], "block5"))

# %% [markdown]
# ## Questions
#
# Answer each in two or three sentences before you open the model answer.
#
# **1. Why is the new head trained on the frozen base first, before any base layer is unfrozen?**
#
# <details><summary>Answer</summary>
#
# A new head starts from random weights, so its first gradients are large and meaningless. With the
# base unfrozen, those gradients would flow into the pretrained layers and wreck the features before the
# head had learned anything. Training the head first makes the later fine-tuning gradients small and
# informative.
#
# </details>
#
# **2. Why unfreeze the top block rather than the first layers, and why with a small learning rate?**
#
# <details><summary>Answer</summary>
#
# The first layers compute generic features (edges, colours) that suit almost any image task; the
# top block computes the most task-specific ones, which are the ones worth adapting. A small learning
# rate adapts them gently; a large one would overwrite what ImageNet training put there, with little
# data to relearn it.
#
# </details>
#
# **3. In Keras, why does changing `layer.trainable` have no effect until the model is compiled again?**
#
# <details><summary>Answer</summary>
#
# `compile` builds the training step with the list of trainable weights at that moment. Changing the
# flag afterwards does not rebuild it, so the old set keeps being trained (or frozen) until you compile
# again.
#
# </details>


# %% [markdown]
# ## What this run showed
#
# Each lesson of this notebook, checked on this run's own numbers (✓ held, ✗ did not hold here):

# %%
if run_keras:
    run.lesson("block_not_one_layer", "the tutorial's loop unfreezes one layer; unfreeze_from unfreezes the whole block",
               keras_metrics["keras_trainable_layers_tutorial_bug"] == 1 and keras_metrics["keras_trainable_layers"] > 1,
               f"{keras_metrics['keras_trainable_layers_tutorial_bug']} layer vs {keras_metrics['keras_trainable_layers']} "
               f"layers from {start_layer}")
    run.lesson("keras_finetune_beats_control",
               "fine-tuning the top block beats training the head for the same extra epochs (Keras, test accuracy)",
               keras_metrics["keras_finetune_test_acc"] > keras_metrics["keras_control_test_acc"],
               f"test {keras_metrics['keras_finetune_test_acc']:.3f} (fine-tuned) vs "
               f"{keras_metrics['keras_control_test_acc']:.3f} (control), start {keras_metrics['keras_baseline_test_acc']:.3f}")
if run_torch:
    one_image = 1 / len(finetune_labels)
    run.lesson("torch_finetune_keeps_features",
               "fine-tuning the last stage at a small learning rate keeps what the features knew: the fine-tuned "
               "model is within one test image of the start, or better",
               finetune_test_acc >= features_test_acc - one_image - 1e-9,
               f"test {finetune_test_acc:.3f} (fine-tuned) vs {features_test_acc:.3f} (start); one image = {one_image:.3f}")
    run.lesson("torch_finetune_vs_control",
               "fine-tuning the last stage does at least as well as the control that trains only the head (PyTorch, test)",
               finetune_test_acc >= control_test_acc - 1e-9,
               f"test {finetune_test_acc:.3f} (fine-tuned) vs {control_test_acc:.3f} (control) on {len(finetune_labels)} images")
run.show_lessons()

# %%
run.save_metrics({**keras_metrics, **torch_metrics})
