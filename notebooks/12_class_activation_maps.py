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
# # 12 · Class activation maps: where is the network looking?
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/cnn-course/cnn-image-classification/blob/main/notebooks/12_class_activation_maps.ipynb)
#
# **You will be able to**
# - compute a class activation map (CAM) from a global-average-pooling network by hand;
# - compute Grad-CAM for any convolutional network, including a nested pretrained base;
# - overlay heat-maps on images in Keras and in PyTorch (with hooks that are removed afterwards).
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
torch_image_size = None
torch_max_per_class = None
torch_epochs = None
torch_head_epochs = None
torch_backbone = None
torch_dataset = None
torch_batch_size = None

# %%
import course_utils  # import before TensorFlow: see 00_setup

run = course_utils.setup_notebook("12_class_activation_maps", profile=profile, data_source=data_source,
                                  data_dir=data_dir, output_dir=output_dir, seed=seed, epochs=epochs,
                                  image_size=image_size, n_train=n_train, n_val=n_val, n_test=n_test,
                                  batch_size=batch_size, keras_backbone=keras_backbone,
                                  torch_image_size=torch_image_size, torch_max_per_class=torch_max_per_class,
                                  torch_epochs=torch_epochs, torch_head_epochs=torch_head_epochs,
                                  torch_backbone=torch_backbone, torch_dataset=torch_dataset,
                                  torch_batch_size=torch_batch_size, run_keras=run_keras, run_torch=run_torch,
                                  torch_data_dir=torch_data_dir)
cfg = run.cfg
keras_metrics = {"cam_shape": None, "gradcam_shape": None, "cam_peak_inside_image": None}
torch_metrics = {"torch_gradcam_shape": None, "torch_cam_peak_inside_image": None}

# %% [markdown]
# ## Part A · Keras
# <!-- KERAS-START: Part A is written between these markers -->
#
# Two Keras models from the earlier notebooks: 09's global-average-pooling (GAP) network, whose
# structure makes class activation maps exact and cheap, and 11's fine-tuned pretrained network,
# which needs the more general Grad-CAM. Each is loaded from this output folder when the earlier
# notebook has saved it there; otherwise a quick stand-in is trained here (and the cell says so).

# %%
if not run_keras:
    print("Part A skipped (run_keras=False)")
else:
    import keras
    import numpy as np
    import pandas as pd
    from PIL import Image
    from skimage import data as skdata

    from course_utils import plots
    from course_utils.data.splits import load_split
    from course_utils.keras_ import cam
    from course_utils.keras_ import data as keras_data
    from course_utils.keras_ import train as keras_train
    from course_utils.keras_ import transfer as keras_transfer
    from course_utils.keras_.models import cats_dogs_gap_cnn

    k_split, k_info = load_split(cfg.n_train, cfg.n_val, cfg.n_test, data_dir, run.data_source, seed)
    run.record(k_info)
    k_gap_path = run.path("cats_dogs_gap.keras")
    if k_gap_path.exists():
        k_gap = keras.models.load_model(k_gap_path)
        k_gap_source = "notebook 09 (loaded from the output folder)"
    else:
        print(f"{k_gap_path.name} not found (run notebook 09 with the same output_dir to reuse its model): "
              f"training a quick GAP model here for {cfg.epochs} epoch(s); its maps will be rougher")
        k_gap = cats_dogs_gap_cnn(image_size=cfg.image_size)
        k_tr = keras_data.split_dataset(k_split, "train", cfg.image_size, cfg.batch_size, seed=seed,
                                        augment=keras_transfer.keras_augmentation(seed=seed))
        k_va = keras_data.split_dataset(k_split, "validation", cfg.image_size, cfg.batch_size)
        with run.timer("keras_train_gap"):
            keras_train.fit(k_gap, k_tr, k_va, epochs=cfg.epochs, loss="binary_crossentropy", patience=None,
                            optimizer=keras.optimizers.RMSprop(learning_rate=1e-3))
        k_gap_source = f"trained here ({cfg.epochs} epochs)"
    k_gap_size = int(k_gap.input_shape[1])
    print(f"GAP model: {k_gap_source}, {k_gap_size}x{k_gap_size} inputs, {k_gap.count_params():,} parameters")

# %% [markdown]
# Eight test images (four cats, four dogs) and one photo that ships with scikit-image, so nothing
# is downloaded at run time: `skimage.data.chelsea()`, a cat.

# %%
if run_keras:
    k_cats = [i for i, y in enumerate(k_split.labels["test"]) if y == 0][:4]
    k_dogs = [i for i, y in enumerate(k_split.labels["test"]) if y == 1][:4]
    k_paths = [k_split.paths["test"][i] for i in k_cats + k_dogs]
    k_true = ["cat"] * len(k_cats) + ["dog"] * len(k_dogs) + ["cat"]
    k_chelsea = skdata.chelsea()

    def k_images(size):
        """The nine images as a [0, 255] float batch of size x size pixels."""
        test = keras_data.load_images(k_paths, size).astype("float32")
        chel = np.asarray(Image.fromarray(k_chelsea).resize((size, size), Image.BILINEAR), dtype="float32")
        return np.concatenate([test, chel[None]])

    k_x_gap = k_images(k_gap_size) / 255.0          # the GAP model expects [0, 1]
    print("batch:", k_x_gap.shape)

# %% [markdown]
# ### A.1 The class activation map, by hand
#
# The GAP model ends in: last conv layer → feature maps $F_k$ (128 of them) →
# `GlobalAveragePooling2D` → one Dense unit with weights $w_k$ → sigmoid. The logit is
# $z = b + \sum_k w_k \cdot \mathrm{mean}(F_k) = b + \mathrm{mean}\big(\sum_k w_k F_k\big)$, so the map
# $\mathrm{CAM} = \sum_k w_k F_k$ says how much each *position* contributed to "dog". For an image
# predicted "cat" we flip the sign, so the map always shows the evidence for the predicted class.
#
# We need the feature maps and the prediction from one input. The original tutorial called a
# `cam_model` it never defined; here it is — a second `keras.Model` on the same layers:

# %%
if run_keras:
    k_cam_model = cam.cam_model(k_gap, "last_conv")
    k_feats, k_probs = k_cam_model.predict(k_x_gap, verbose=0)
    k_w = k_gap.layers[-1].get_weights()[0][:, 0]              # (128,) weights of the dog unit
    print("feature maps:", k_feats.shape, " dense weights:", k_w.shape)
    # by hand, for the first image: weighted sum of its 128 maps, sign of the predicted class
    k_sign = 1.0 if k_probs[0, 0] >= 0.5 else -1.0
    k_by_hand = k_sign * (k_feats[0] @ k_w)
    k_by_hand = (k_by_hand - k_by_hand.min()) / (k_by_hand.max() - k_by_hand.min())   # scale to [0, 1]
    k_maps, _ = cam.class_activation_maps(k_gap, k_x_gap)
    assert np.allclose(k_by_hand, k_maps[0], atol=1e-5)
    print("the helper's map equals the hand computation")

# %% [markdown]
# The map has the resolution of the last conv layer (a few pixels on a side); upsampled to the image
# and overlaid as a heat-map (red = strong evidence for the predicted class):

# %%
if run_keras:
    k_cam_up, k_probs = cam.class_activation_maps(k_gap, k_x_gap, upsample_to=k_gap_size)
    k_titles = [f"{t}: P(dog)={p:.2f}" for t, p in zip(k_true, k_probs[:, 0])]
    fig = plots.show_images([plots.overlay_heatmap(img, m) for img, m in zip(k_x_gap, k_cam_up)],
                            titles=k_titles, ncols=9, size=1.9, suptitle="CAM, GAP model")
    keras_metrics["cam_shape"] = list(k_cam_up.shape[1:])
    keras_metrics["cam_peak_inside_image"] = bool(all(cam.peak_inside(k_cam_up)))
    keras_metrics["cam_model_source"] = k_gap_source
    print("CAM shape:", k_cam_up.shape[1:], " peaks inside the image:", cam.peak_inside(k_cam_up))

# %% [markdown]
# Read the maps together with the predictions: where the model is right and confident, the heat
# usually sits on the animal (faces, ears, fur); where it is wrong, it often sits on the background,
# which tells you *why* it is wrong. A GAP model trained for a few epochs on a CPU gives blotchy,
# sometimes background-heavy maps; that is itself a finding about what it learned. In our `laptop`
# run, 09's GAP model (0.548 test accuracy after 10 epochs at 96×96) hovers around P(dog) = 0.5 and
# its maps mostly light up the background and the image borders: it has not yet learned to look at
# the animals. Train it for longer (09 with `epochs=30` or more) and compare the maps.
#
# ### A.2 Grad-CAM, and why the usual recipe fails on a nested base
#
# CAM needs the GAP → Dense structure. **Grad-CAM** works for any convnet: weight each feature map
# by the *gradient* of the class score with respect to it, averaged over positions,
# $\alpha_k = \mathrm{mean}_{ij}\, \partial s / \partial F_k^{ij}$, then
# $\mathrm{ReLU}(\sum_k \alpha_k F_k)$. The model from 11 is `input → augmentation → preprocessing →
# base → head`, with the pretrained base a *nested* model. The recipe found in most tutorials,
# `keras.Model(model.inputs, [base.get_layer(last_conv).output, model.output])`, fails: that layer's
# output lives in the base's own graph, not in the outer model's.

# %%
if run_keras:
    k_ft_path = run.path("keras_finetuned.keras")
    if k_ft_path.exists():
        k_ft = keras.models.load_model(k_ft_path)
        k_ft_source = "notebook 11's fine-tuned model (loaded from the output folder)"
    else:
        print(f"{k_ft_path.name} not found (run notebook 11 with the same output_dir to reuse it): "
              f"training a frozen-base model's head here for {cfg.epochs} epoch(s)")
        k_bb, k_weights = keras_transfer.load_backbone(cfg.image_size, cfg.keras_backbone)
        run.record(*k_weights)
        k_ft = keras_transfer.frozen_base_model(k_bb, keras_transfer.keras_augmentation(seed=seed))
        k_mk = lambda s: keras_data.split_dataset(k_split, s, cfg.image_size, cfg.batch_size,  # noqa: E731
                                                  seed=seed, rescale=False)
        with run.timer("keras_train_frozen_head"):
            keras_train.fit(k_ft, k_mk("train"), k_mk("validation"), epochs=cfg.epochs, patience=None,
                            loss="binary_crossentropy", optimizer=keras.optimizers.RMSprop(learning_rate=1e-3))
        k_ft_source = f"a frozen-base model trained here ({cfg.epochs} epochs)"
    k_nested, k_layer = cam.find_last_conv(k_ft)
    print(f"{k_ft_source}\nGrad-CAM layer: {k_layer!r} inside the nested model {k_nested!r}")
    try:
        cam.naive_grad_model(k_ft, k_layer, nested=k_nested)
        print("the naive recipe worked with this Keras version")
    except ValueError as err:
        print("the usual recipe fails:", type(err).__name__, "-", str(err).splitlines()[0][:200])

# %% [markdown]
# `cam.grad_cam` avoids the problem: it walks the outer model layer by layer inside a
# `tf.GradientTape` and, at the nested base, calls a sub-model *built on the base's own graph*
# (`keras.Model(base.inputs, [base.get_layer(name).output, base.output])`), which returns both the
# conv maps and the base's output. The same function handles Sequential models.

# %%
if run_keras:
    k_ft_size = int(k_ft.input_shape[1])
    k_x_ft = k_images(k_ft_size)                            # this model preprocesses [0, 255] itself
    k_gc, k_ft_probs = cam.grad_cam(k_ft, k_x_ft, k_layer, nested=k_nested, upsample_to=k_ft_size)
    assert np.allclose(k_ft_probs, k_ft.predict(k_x_ft, verbose=0), atol=1e-4)  # same forward pass
    fig = plots.show_images([plots.overlay_heatmap(img / 255.0, m) for img, m in zip(k_x_ft, k_gc)],
                            titles=[f"{t}: P(dog)={p:.2f}" for t, p in zip(k_true, k_ft_probs[:, 0])],
                            ncols=9, size=1.9, suptitle=f"Grad-CAM, {k_nested}")
    keras_metrics["gradcam_shape"] = list(k_gc.shape[1:])
    keras_metrics["gradcam_peak_inside_image"] = bool(all(cam.peak_inside(k_gc)))
    keras_metrics["gradcam_model_source"] = k_ft_source
    keras_metrics["chelsea_p_dog_finetuned"] = float(k_ft_probs[-1, 0])

# %% [markdown]
# The pretrained model is far more accurate than the small GAP network, and its maps sit on the
# animals — in our `laptop` run mostly on the cats' heads — at the coarse resolution of its last
# conv layer (`image_size / 32` positions on a side). The score we differentiate is the class
# *logit*, not the probability: for a confident prediction (P(dog) = 1.00) the sigmoid is flat,
# its gradient underflows to zero and a probability-based map would be empty.
#
# ### A.3 Grad-CAM on a Sequential model: it *is* CAM for a GAP network
#
# For the GAP model, the gradient of the logit with respect to $F_k^{ij}$ is $w_k / (HW)$ at every
# position, so $\alpha_k \propto w_k$ and Grad-CAM must reproduce CAM exactly (after normalization;
# the sigmoid only rescales). A good test of both implementations:

# %%
if run_keras:
    k_gc_gap, _ = cam.grad_cam(k_gap, k_x_gap, "last_conv")
    k_cam_raw, _ = cam.class_activation_maps(k_gap, k_x_gap, relu=True)  # Grad-CAM keeps positive evidence
    k_same = bool(np.allclose(k_gc_gap, k_cam_raw, atol=1e-4))
    keras_metrics["gradcam_equals_cam_for_gap"] = k_same
    print("Grad-CAM == CAM on the GAP model:", k_same,
          f"(largest difference {np.abs(k_gc_gap - k_cam_raw).max():.1e})")

# %% [markdown]
# <!-- KERAS-END -->
#
# ## Part B · PyTorch
# <!-- TORCH-START: Part B is written between these markers -->

# %%
if not run_torch:
    print("Part B skipped (run_torch=False)")

# %% [markdown]
# The same two maps in PyTorch, built from the model's parts with *hooks*: functions PyTorch calls
# during the forward pass (to keep a layer's activations) and the backward pass (to keep the
# gradients flowing into them). `course_utils.torch_.cam` registers both, computes the map, and
# removes the hooks before returning, even on error: a forgotten hook keeps copying tensors on
# every later forward pass.
#
# - **CAM** (Zhou et al., 2016) needs a network that ends in global average pooling and one linear
#   layer. The class score is then the spatial mean of `Σ_c w[class, c] · A_c`, so that sum *is* a
#   map of where the evidence for the class lies.
# - **Grad-CAM** (Selvaraju et al., 2017) works for any layer of any CNN: it weights each channel
#   by the spatial mean of the gradient of the class score with respect to it, then keeps the
#   positive part.

# %%
if run_torch:
    import numpy as np
    import torch
    from skimage import data as skdata
    from torchvision.transforms import v2 as T

    from course_utils.cam import peak, upsample
    from course_utils.plots import overlay_heatmap, show_images
    from course_utils.torch_.cam import gap_cam, grad_cam, last_conv_block
    from course_utils.torch_.data import denormalize, eval_transform, load_flower_splits
    from course_utils.torch_.transfer import (
        choose_backbone,
        fine_tune_last_stage,
        imagenet_categories,
        train_feature_head,
    )

    device = run.device  # cuda, mps or cpu: chosen once by setup_notebook
    imagenet, weights_tried = choose_backbone(cfg.torch_backbone)   # ImageNet weights, 1000-class head
    run.record(*weights_tried)
    print(f"ImageNet backbone: {imagenet.name}")

# %% [markdown]
# ### B1. The cat, with the ImageNet network
#
# The whole photo goes in, resized to 224 × 336 to keep its shape (a fully convolutional network
# accepts any size; the global pooling absorbs it). At the input of the head, EfficientNet-Lite0's
# feature maps are then 7 × 11.

# %%
if run_torch:
    chelsea = skdata.chelsea()                                    # 300 x 451 RGB
    to_input = T.Compose([T.ToImage(), T.Resize((224, 336), antialias=True), T.ToDtype(torch.float32, scale=True),
                          T.Normalize(imagenet.mean, imagenet.std)])
    x_cat = to_input(chelsea)[None].to(device)
    cam_cat, cls, probs = gap_cam(imagenet.model.to(device), x_cat)
    names = imagenet_categories()
    grad_last, _, _ = grad_cam(imagenet.model, imagenet.model.bn2 if hasattr(imagenet.model, "bn2")
                                  else imagenet.model.layer4, x_cat, cls)
    block = last_conv_block(imagenet.model)
    grad_block, _, _ = grad_cam(imagenet.model, block, x_cat, cls)
    print(f"predicted {cls} {names[cls]} ({probs[cls]:.0%}); CAM {cam_cat.shape}, Grad-CAM on the last block "
          f"{grad_block.shape}")
    same = bool(np.allclose(cam_cat, grad_last, atol=1e-4))
    print("Grad-CAM at the layer feeding the pooling equals CAM:", same)
    print("hooks left on the block after grad_cam:", len(block._forward_hooks) + len(block._backward_hooks))
    fig = show_images([chelsea, overlay_heatmap(chelsea, upsample(cam_cat, chelsea.shape[:2])),
                       overlay_heatmap(chelsea, upsample(grad_block, chelsea.shape[:2]))],
                      titles=["input", f"CAM: {names[cls]}", "Grad-CAM, last conv block"], ncols=3, size=3.2)

# %% [markdown]
# The check above is the link between the two methods: at the layer right before the global
# pooling, the gradient of the class score with respect to each channel is the same at every
# position (its head weight divided by the number of positions), so Grad-CAM reduces to CAM.
# One block earlier (`blocks[-1]`), Grad-CAM gives a similar but not identical map.
#
# Does the peak land on the cat? In the original photo the cat fills everything left of
# x ≈ 400 px; the right edge (x > 400) is background.

# %%
if run_torch:
    row, col = peak(cam_cat, chelsea.shape[:2])
    torch_cam_peak_inside_image = bool(0 <= row < chelsea.shape[0] and 0 <= col < 400)
    print(f"CAM peak at row {row}, column {col} of the 300 x 451 photo -> on the cat: {torch_cam_peak_inside_image}")

# %% [markdown]
# ### B2. Grad-CAM on the fine-tuned flower model
#
# Now the model of notebook 11, rebuilt with the same helpers (feature-extraction head, then the
# last stage fine-tuned for `torch_epochs` epochs), and Grad-CAM with hooks on its last
# convolutional block, for validation images. At `torch_image_size` 128 that block's maps are only
# 4 × 4: coarse, which is why Grad-CAM maps look blurry once upsampled.

# %%
if run_torch:
    flower_bb, weights_tried = choose_backbone(cfg.torch_backbone)
    run.record(*weights_tried)
    splits, flowers = load_flower_splits(cfg.torch_dataset, torch_data_dir, cfg.torch_max_per_class, seed,
                                        run.data_source)
    run.record(flowers)
    torch_dataset_name = flowers.name
    with run.timer("torch_train"):
        train_feature_head(flower_bb, splits, cfg.torch_image_size, cfg.torch_batch_size, cfg.torch_head_epochs,
                              device, seed=seed, verbose=False)
        model, _, best, _ = fine_tune_last_stage(flower_bb, splits, cfg.torch_image_size, cfg.torch_batch_size,
                                                    cfg.torch_epochs, device, seed=seed)
    print(f"fine-tuned validation accuracy {best['val_accuracy']:.3f} ({run.timings['torch_train']:.0f} s)")

# %%
if run_torch:
    tf = eval_transform(cfg.torch_image_size, flower_bb.mean, flower_bb.std)
    val_ds = splits.dataset("val", tf)
    layer = last_conv_block(model)
    images, titles, colors = [], [], []
    for i in np.linspace(0, len(val_ds) - 1, num=min(8, len(val_ds))).astype(int):
        x, y = val_ds[int(i)]
        cam, pred, p = grad_cam(model, layer, x[None].to(device))
        shown = denormalize(x, flower_bb.mean, flower_bb.std)
        images += [shown, overlay_heatmap(shown, cam)]
        titles += [f"true {splits.classes[y]}", f"said {splits.classes[pred]} {p[pred]:.0%}"]
        colors += ["black", "green" if pred == y else "red"]
    torch_gradcam_shape = list(cam.shape)
    print("Grad-CAM map shape at the last block:", torch_gradcam_shape)
    fig = show_images(images, titles=titles, title_colors=colors, ncols=4, size=2.0,
                      suptitle="Grad-CAM of the fine-tuned model (validation images)")
    torch_metrics.update({"torch_gradcam_shape": torch_gradcam_shape,
                          "torch_cam_peak_inside_image": torch_cam_peak_inside_image,
                          "torch_gradcam_equals_cam_last_layer": same, "torch_chelsea_class": int(cls),
                          "torch_finetune_val_acc": float(best["val_accuracy"])})

# %% [markdown]
# After a single fine-tuning epoch on 350 small photos this model is weak (about 52% validation
# accuracy in the stored laptop run, 2 CPU cores), so expect several red titles: the maps of wrong
# predictions are the instructive ones.
#
# Read the maps with care: a warm region shows where evidence for the *predicted* class lies, not
# that the model "understands" the flower. On a wrong prediction (red title) the map shows what
# misled it; a map that lights up the background is a warning sign that the model learned a
# shortcut.

# %% [markdown]
# <!-- TORCH-END -->
#
# ## Comparison
# CAM and Grad-CAM answer the same question, "which pixels pushed the score of this class up?",
# and agree exactly on a global-average-pooling network, as both parts checked. How each
# framework gets at the last convolutional feature maps differs:
#
# | | Keras 3 | PyTorch |
# |---|---|---|
# | feature maps and prediction together | a second functional `keras.Model(inputs, [conv.output, model.output])` | a forward hook on the conv block |
# | gradient of the class score | `tf.GradientTape` around that model's call | a backward hook (or `torch.autograd.grad`) |
# | nested pretrained base | rebuild the graph through the base's layers (else "Graph disconnected") | hooks work at any depth |
# | clean-up | nothing to undo | remove the hooks (`handle.remove()`), or they fire on every later call |

# %%
import pandas as pd

rows = []
if run_keras:
    rows.append({"part": "A · Keras", "CAM shape": keras_metrics["cam_shape"],
                 "Grad-CAM shape": keras_metrics["gradcam_shape"],
                 "CAM peak inside the image": keras_metrics["cam_peak_inside_image"]})
if run_torch:
    rows.append({"part": "B · PyTorch", "CAM shape": None, "Grad-CAM shape": torch_metrics["torch_gradcam_shape"],
                 "CAM peak inside the image": torch_metrics["torch_cam_peak_inside_image"]})
pd.DataFrame(rows).set_index("part") if rows else "both parts were switched off"


# %% [markdown]
# ## Exercise: a class activation map by hand
#
# On a network that ends in global average pooling and one dense layer, the CAM of a class is the sum
# of the last feature maps weighted by that class's dense weights. Write it, and the normalisation the
# plots use, in NumPy. The checker uses maps whose height, width and channel count differ, and a map
# with no positive value (its maximum after ReLU is 0).

# %%
import numpy as np


def cam_from_maps(feature_maps, weights):
    """Class activation map: feature_maps (H, W, K) of the last conv layer (channels last), weights (K,)
    of the class in the dense layer. Returns (H, W): sum over k of weights[k] * feature_maps[:, :, k]."""
    # Hint: feature_maps @ weights, or np.tensordot, or a weighted sum over the last axis.
    raise NotImplementedError("write cam_from_maps")


def normalize_cam(heatmap):
    """Keep the positive evidence (ReLU) and scale it to [0, 1] by dividing by its maximum; a map with
    no positive value becomes all zeros (no division by zero)."""
    # Hint: np.maximum(heatmap, 0); check the maximum before dividing.
    raise NotImplementedError("write normalize_cam")


# %%
from course_utils.exercises import use  # runs the checker; falls back to the reference if needed

cam_from_maps = use("12.cam_from_maps", cam_from_maps)
normalize_cam = use("12.normalize_cam", normalize_cam)
print(normalize_cam(cam_from_maps(np.arange(12.0).reshape(2, 2, 3), np.array([1.0, 0.0, -0.5]))))

# %% [markdown]
# ## Questions
#
# Answer each in two or three sentences before you open the model answer.
#
# **1. Why does the class activation map need a global-average-pooling layer just before the dense layer, and what does Grad-CAM do when there is none?**
#
# <details><summary>Answer</summary>
#
# With GAP, the class score is a weighted sum of the channel averages, so it equals the average over
# positions of the weighted sum of the maps: the CAM says exactly how much each position adds to the
# score. With other layers after the last convolution that identity does not hold; Grad-CAM takes the
# weights from the gradient of the class score with respect to each map instead.
#
# </details>
#
# **2. A CAM lights up the snow behind a wolf rather than the wolf. What does that tell you about the model?**
#
# <details><summary>Answer</summary>
#
# The model uses the background as evidence for the class: a shortcut learned because wolves in the
# training photos were often on snow. It will probably fail on wolves elsewhere and call a dog on snow
# a wolf; the training data, not the map, needs fixing.
#
# </details>
#
# **3. Why is the map upsampled before it is laid over the image, and what detail does that hide?**
#
# <details><summary>Answer</summary>
#
# The last feature maps are small (say 7×7 for a 224-pixel input), one cell per patch of many pixels.
# Upsampling stretches them to the image size for display; the smooth blobs suggest a precision the
# map does not have, since within each patch the location is unknown.
#
# </details>

# %%
run.save_metrics({**keras_metrics, **torch_metrics})
