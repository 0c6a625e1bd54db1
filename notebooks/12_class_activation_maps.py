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
# - overlay heat-maps on images in Keras and in PyTorch (with hooks that are removed afterwards);
# - score maps with the pointing game, against baselines that use no model at all, on a set
#   where only a map of class evidence can win;
# - check a hand-written Grad-CAM against a library.
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
learning_rate = None      # RMSprop's, for the stand-ins trained when 09's or 11's model is missing
image_size = None
n_train = None
n_val = None
n_test = None
batch_size = None
keras_backbone = None    # Part A: None (VGG16 if its weights can be had, else MobileNet 0.25), "vgg16", "mobilenet_025"
pointing_dir = None      # a folder of <class>/<image> files + boxes.json ({"<class>/<image>": [x0, y0, x1, y1]});
                         # None: build composites from the cats-vs-dogs test split
pointing_n = None        # how many composites to build when pointing_dir is None
cam_input_size = None    # the size the GAP model sees pointing images at (it takes any); None: 224, the canvas
torch_image_size = None
torch_max_per_class = None
torch_head_epochs = None
torch_backbone = None
torch_dataset = None
torch_batch_size = None

# %%
import course_utils  # import before TensorFlow: see 00_setup

run = course_utils.setup_notebook("12_class_activation_maps", profile=profile, data_source=data_source,
                                  data_dir=data_dir, output_dir=output_dir, seed=seed, tiny=tiny, epochs=epochs,
                                  learning_rate=learning_rate,
                                  image_size=image_size, n_train=n_train, n_val=n_val, n_test=n_test,
                                  batch_size=batch_size, keras_backbone=keras_backbone, pointing_dir=pointing_dir,
                                  pointing_n=pointing_n, cam_input_size=cam_input_size,
                                  torch_image_size=torch_image_size,
                                  torch_max_per_class=torch_max_per_class, torch_head_epochs=torch_head_epochs,
                                  torch_backbone=torch_backbone, torch_dataset=torch_dataset,
                                  torch_batch_size=torch_batch_size, run_keras=run_keras, run_torch=run_torch,
                                  torch_data_dir=torch_data_dir)
cfg = run.cfg
keras_metrics = {"cam_shape": None, "gradcam_shape": None, "keras_cam_pointing_acc": None,
                 "keras_gradcam_pointing_acc": None}
torch_metrics = {"torch_gradcam_shape": None, "torch_gradcam_pointing_acc": None}

# %% [markdown]
# ## The pointing game
#
# A map is only useful if it points at the object. The **pointing game** (Zhang et al., 2016)
# measures that: for images where the object's box is known, count how often the map's maximum falls
# inside the box. `pointing_dir` can name any folder of `<class>/<image>` files with a `boxes.json`
# (each image's path relative to the folder → `[x0, y0, x1, y1]` in pixels). Left at `None`, the
# notebook builds its own set: photos from the cats-vs-dogs **test** split (images no model here
# trained on), each pasted at a random place and size onto a plain background of random colour, so
# the box is known exactly. A map that pointed at random would score about the share of the image
# the boxes cover (printed below). The set is checked before any model runs.

# %%
from course_utils import pointing
from course_utils.data.splits import load_split

if pointing_dir is None:
    cats_dogs_split, split_info = load_split(cfg.n_train, cfg.n_val, cfg.n_test, data_dir, run.data_source, seed)
    run.record(split_info)
    pointing_items = pointing.build_set(pointing.make_composites, cats_dogs_split.paths["test"],
                                        cats_dogs_split.labels["test"], ["cat", "dog"],
                                        run.path(f"pointing_set_seed{seed}_n{cfg.pointing_n}"),
                                        n=cfg.pointing_n, canvas=224, seed=seed)
else:
    pointing_items = pointing.load_pointing_set(pointing_dir)
pointing_n_images = len(pointing_items)
print(f"pointing set: {pointing_n_images} images in {len(set(it.label for it in pointing_items))} classes "
      f"{sorted(set(it.label for it in pointing_items))}; "
      f"the boxes cover {pointing.box_area_fraction(pointing_items):.0%} of the image on average (a random point's chance), "
      f"and {pointing.centre_point_fraction(pointing_items):.0%} of them contain the image centre (a fixed guess's score)")

# %% [markdown]
# ## Part A · Keras
# <!-- KERAS-START: Part A is written between these markers -->
#
# Two Keras models from the earlier notebooks: 09's global-average-pooling (GAP) network, whose
# structure makes class activation maps exact and cheap, and 11's fine-tuned pretrained network,
# which needs the more general Grad-CAM. Each is loaded from `<output_dir>/artifacts/` when the
# earlier notebook has saved it there, and the cell prints which run made it; otherwise a quick
# stand-in is trained here, and the cell says so.

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
    from course_utils.keras_ import cam
    from course_utils.keras_.data import load_images, split_dataset
    from course_utils.keras_.models import at_input_size, cats_dogs_gap_cnn
    from course_utils.keras_.train import fit
    from course_utils.keras_.transfer import frozen_base_model, keras_augmentation, load_backbone
    from course_utils.setup import artifacts

    if pointing_dir is None:
        split = cats_dogs_split
    else:
        split, split_info = load_split(cfg.n_train, cfg.n_val, cfg.n_test, data_dir, run.data_source, seed)
        run.record(split_info)
    found = artifacts.find_artifact("09_gap_model", run.output_dir)
    if found is not None:
        gap_model = keras.models.load_model(found[0])
        gap_source = artifacts.describe(found[1])
        print("GAP model from", gap_source)
    else:
        print(f"09_gap_model not found in {run.output_dir.name}/artifacts (run notebook 09 with the same output_dir): "
              f"training a STAND-IN GAP model here for {cfg.epochs} epoch(s); it is far weaker than 09's, so "
              f"expect rough maps")
        gap_model = cats_dogs_gap_cnn(image_size=cfg.image_size)
        gap_train = split_dataset(split, "train", cfg.image_size, cfg.batch_size, seed=seed,
                                  augment=keras_augmentation(seed=seed))
        gap_val = split_dataset(split, "validation", cfg.image_size, cfg.batch_size)
        with run.timer("keras_train_gap"):
            fit(gap_model, gap_train, gap_val, epochs=cfg.epochs, loss="binary_crossentropy", patience=None,
                optimizer="rmsprop", learning_rate=cfg.learning_rate)
        gap_source = f"STAND-IN trained here ({cfg.epochs} epochs)"
    gap_size = int(gap_model.input_shape[1])
    print(f"GAP model: {gap_size}x{gap_size} inputs, {gap_model.count_params():,} parameters")

# %% [markdown]
# Eight test images (four cats, four dogs) and one photo that ships with scikit-image, so nothing
# is downloaded at run time: `skimage.data.chelsea()`, a cat.

# %%
if run_keras:
    cat_idx = [i for i, y in enumerate(split.labels["test"]) if y == 0][:4]
    dog_idx = [i for i, y in enumerate(split.labels["test"]) if y == 1][:4]
    shown_paths = [split.paths["test"][i] for i in cat_idx + dog_idx]
    true_names = ["cat"] * len(cat_idx) + ["dog"] * len(dog_idx) + ["cat"]
    chelsea_photo = skdata.chelsea()

    def load_shown(size):
        """The nine images as a [0, 255] float batch of size x size pixels."""
        test = load_images(shown_paths, size).astype("float32")
        chel = np.asarray(Image.fromarray(chelsea_photo).resize((size, size), Image.BILINEAR), dtype="float32")
        return np.concatenate([test, chel[None]])

    x_gap = load_shown(gap_size) / 255.0          # the GAP model expects [0, 1]
    print("batch:", x_gap.shape)

# %% [markdown]
# ### A.1 The class activation map, by hand
#
# The GAP model ends in: last conv layer → feature maps $F_k$ (256 in 09's model) →
# `GlobalAveragePooling2D` → one Dense unit with weights $w_k$ → sigmoid. The logit is
# $z = b + \sum_k w_k \cdot \mathrm{mean}(F_k) = b + \mathrm{mean}\big(\sum_k w_k F_k\big)$, so the map
# $\mathrm{CAM} = \sum_k w_k F_k$ says how much each *position* contributed to "dog". For an image
# predicted "cat" we flip the sign, so the map always shows the evidence for the predicted class.
#
# We need the feature maps and the prediction from one input. The original tutorial called a
# `cam_model` it never defined; here it is — a second `keras.Model` on the same layers:

# %%
if run_keras:
    feature_model = cam.cam_model(gap_model, "last_conv")
    feature_maps, probs_gap = (np.asarray(t) for t in feature_model(x_gap, training=False))
    dog_weights = gap_model.layers[-1].get_weights()[0][:, 0]              # (K,) weights of the dog unit
    print("feature maps:", feature_maps.shape, " dense weights:", dog_weights.shape)
    # by hand, for the first image: weighted sum of its K maps, sign of the predicted class
    sign = 1.0 if probs_gap[0, 0] >= 0.5 else -1.0
    by_hand = sign * (feature_maps[0] @ dog_weights)
    by_hand = (by_hand - by_hand.min()) / (by_hand.max() - by_hand.min())   # scale to [0, 1]
    cam_maps, _ = cam.class_activation_maps(gap_model, x_gap)
    assert np.allclose(by_hand, cam_maps[0], atol=1e-5)
    print("the helper's map equals the hand computation")

# %% [markdown]
# The map has the resolution of the last conv layer (a few pixels on a side); upsampled to the image
# and overlaid as a heat-map (red = strong evidence for the predicted class):

# %%
if run_keras:
    cam_up, probs_gap = cam.class_activation_maps(gap_model, x_gap, upsample_to=gap_size)
    titles_gap = [f"{t}: P(dog)={p:.2f}" for t, p in zip(true_names, probs_gap[:, 0])]
    fig = plots.show_images([plots.overlay_heatmap(img, m) for img, m in zip(x_gap, cam_up)],
                            titles=titles_gap, ncols=9, size=1.9, suptitle="CAM, GAP model")
    keras_metrics["cam_shape"] = list(cam_up.shape[1:])
    keras_metrics["cam_raw_shape"] = list(cam_maps.shape[1:])
    keras_metrics["cam_model_source"] = gap_source
    print(f"CAM: {cam_maps.shape[1]}x{cam_maps.shape[2]} at the last conv layer, shown upsampled to "
          f"{cam_up.shape[1]}x{cam_up.shape[2]}")

# %% [markdown]
# Read the maps together with the predictions: where the model is right and confident, the heat
# usually sits on the animal (faces, ears, fur); where it is wrong, it often sits on the background,
# which tells you *why* it is wrong. A map is only worth reading when the model is confident: a
# model whose P(dog) hovers around 0.5 on every image has not learned what a cat or a dog looks like,
# and its maps show that, not the animals. The titles above give each image's P(dog); the pointing
# game below scores the maps on many more images.
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
    found = artifacts.find_artifact("11_keras_finetuned", run.output_dir)
    if found is not None:
        finetuned = keras.models.load_model(found[0])
        finetuned_source = "notebook 11: " + artifacts.describe(found[1], ["test_accuracy", "epochs"])
    else:
        print(f"11_keras_finetuned not found in {run.output_dir.name}/artifacts (run notebook 11 with the same "
              f"output_dir): training a STAND-IN here, a frozen-base model's head for {cfg.epochs} epoch(s)")
        pretrained, weights_tried = load_backbone(cfg.image_size, cfg.keras_backbone, tiny=run.tiny)
        run.record(*weights_tried)
        if pretrained.weights_source.startswith("random"):
            run.stand_in(f"{pretrained.name} with random weights", f"{pretrained.name} with ImageNet weights",
                         "no ImageNet weights could be had (cache, mirror or download)")
        finetuned = frozen_base_model(pretrained, keras_augmentation(seed=seed))
        stand_in_train, stand_in_val = (split_dataset(split, name, cfg.image_size, cfg.batch_size, seed=seed,
                                                      rescale=False) for name in ("train", "validation"))
        with run.timer("keras_train_frozen_head"):
            fit(finetuned, stand_in_train, stand_in_val, epochs=cfg.epochs, patience=None,
                loss="binary_crossentropy", optimizer="rmsprop", learning_rate=cfg.learning_rate)
        finetuned_source = f"STAND-IN: a frozen-base model trained here ({cfg.epochs} epochs)"
    nested, conv_layer_name = cam.find_last_conv(finetuned)
    print(f"{finetuned_source}\nGrad-CAM layer: {conv_layer_name!r} inside the nested model {nested!r}")
    try:
        cam.naive_grad_model(finetuned, conv_layer_name, nested=nested)
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
    finetuned_size = int(finetuned.input_shape[1])
    x_finetuned = load_shown(finetuned_size)                            # this model preprocesses [0, 255] itself
    gradcam_maps, finetuned_probs = cam.grad_cam(finetuned, x_finetuned, conv_layer_name, nested=nested, upsample_to=finetuned_size)
    assert np.allclose(finetuned_probs, finetuned.predict(x_finetuned, verbose=0), atol=1e-4)  # same forward pass
    fig = plots.show_images([plots.overlay_heatmap(img / 255.0, m) for img, m in zip(x_finetuned, gradcam_maps)],
                            titles=[f"{t}: P(dog)={p:.2f}" for t, p in zip(true_names, finetuned_probs[:, 0])],
                            ncols=9, size=1.9, suptitle=f"Grad-CAM, {nested} at {conv_layer_name}")
    keras_metrics["gradcam_shape"] = list(gradcam_maps.shape[1:])
    keras_metrics["gradcam_last_raw_shape"] = list(cam.grad_cam(finetuned, x_finetuned[:1], conv_layer_name,
                                                                nested=nested)[0].shape[1:])
    keras_metrics["gradcam_model_source"] = finetuned_source
    keras_metrics["chelsea_p_dog_finetuned"] = float(finetuned_probs[-1, 0])

# %% [markdown]
# The maps have the coarse resolution of the base's last conv layer (`image_size / 32` positions
# on a side), upsampled for display. The score we differentiate is the class
# *logit*, not the probability: for a confident prediction (P(dog) = 1.00) the sigmoid is flat,
# its gradient underflows to zero and a probability-based map would be empty.
#
# **Which layer?** Grad-CAM can be taken at any convolutional layer, and the choice is a
# trade-off. The last one has the most class-specific features (it is what the head reads) but
# the coarsest grid: at 160 pixels MobileNet's last maps are 5×5, one cell per 32×32 patch, so
# the peak can only say "somewhere in this fifth of the image". One stage earlier, before the
# last stride-2 step, the maps are twice as fine (10×10), and the features, though more generic,
# are still about parts of animals; the gradient of the class score, which flows back through the
# last stage, still picks the ones that matter for this prediction. Much earlier layers would be
# finer still but see edges and textures, not cats. `cam.find_last_conv(model, finer=2)` finds the
# end of that earlier stage:

# %%
if run_keras:
    _, finer_layer_name = cam.find_last_conv(finetuned, finer=2)
    finer_maps, _ = cam.grad_cam(finetuned, x_finetuned, finer_layer_name, nested=nested, upsample_to=finetuned_size)
    fig = plots.show_images([plots.overlay_heatmap(img / 255.0, m) for img, m in zip(x_finetuned, finer_maps)],
                            titles=[f"{t}: P(dog)={p:.2f}" for t, p in zip(true_names, finetuned_probs[:, 0])],
                            ncols=9, size=1.9, suptitle=f"Grad-CAM, {nested} at {finer_layer_name}")
    keras_metrics["gradcam_finer_raw_shape"] = list(cam.grad_cam(finetuned, x_finetuned[:1], finer_layer_name,
                                                           nested=nested)[0].shape[1:])
    keras_metrics["gradcam_finer_layer"] = finer_layer_name
    print(f"Grad-CAM at {conv_layer_name}: {keras_metrics['gradcam_last_raw_shape']} maps; at {finer_layer_name}: "
          f"{keras_metrics['gradcam_finer_raw_shape']} maps")

# %% [markdown]
# Compare the two rows: twice as many cells on a side, so each warm patch is placed twice as
# precisely. Which layer points best is a question for data: A.4 plays the pointing game at the
# end of each of the base's last three stages on composites of the *validation* photos, and the
# check at the end uses the winner there, scored on the test composites.
#
# ### A.3 Grad-CAM on a Sequential model: it *is* CAM for a GAP network
#
# For the GAP model, the gradient of the logit with respect to $F_k^{ij}$ is $w_k / (HW)$ at every
# position, so $\alpha_k \propto w_k$ and Grad-CAM must reproduce CAM exactly (after normalization;
# the sigmoid only rescales). A good test of both implementations:

# %%
if run_keras:
    gradcam_gap, _ = cam.grad_cam(gap_model, x_gap, "last_conv")
    cam_relu, _ = cam.class_activation_maps(gap_model, x_gap, relu=True)  # Grad-CAM keeps positive evidence
    same_keras = bool(np.allclose(gradcam_gap, cam_relu, atol=1e-4))
    keras_metrics["gradcam_equals_cam_for_gap"] = same_keras
    print("Grad-CAM == CAM on the GAP model:", same_keras,
          f"(largest difference {np.abs(gradcam_gap - cam_relu).max():.1e})")

# %% [markdown]
# ### A.4 The pointing game in Keras
#
# Both models play on the pointing set, for each image's **labelled** class (the class folder: `cat`
# or `dog`; in a `pointing_dir` with other classes, the predicted class). How confident each model
# is on these images is printed too: maps of a model that does not know the answer say little.
#
# **At what size?** A pointing canvas is 224 pixels, and the photo in it spans 40-60% of that,
# about 90-134 pixels: close to the 128 pixels at which 09's GAP model learned what a cat looks
# like. Shrunk to the model's 128-pixel input, the canvas shrinks the animal to 51-77 pixels, a
# size the model has never seen. A network that is convolutional up to its global average pooling
# has no fixed input size (its weights do not depend on it), so `keras_.models.at_input_size` gives
# the same network, same weights, for `cam_input_size` = 224 inputs: the canvas as it is. Both
# sizes are played below, and the check at the end uses the canvas size. Be aware of how that
# choice was made: an earlier stored run of this notebook played only the 128-pixel version,
# scored 0.680 on the test composites and missed the bar; the size was then chosen on composites
# built the same way from the *validation* photos, not on the test composites scored here. The
# next cell plays that validation game again, so that this run shows the evidence for both of its
# choices: the size for CAM and, from A.2, the layer for Grad-CAM. 11's fine-tuned MobileNet
# cannot change its size: its `Flatten` head ties each weight to one cell of a 5×5 grid, so it
# only takes 160-pixel images (`at_input_size` refuses it).

# %%
if run_keras:
    cam_size = int(cfg.cam_input_size)
    gap_on_canvas = at_input_size(gap_model, cam_size)      # the same weights, for cam_size-pixel images
    val_items = pointing.build_set(pointing.make_composites, split.paths["validation"], split.labels["validation"],
                                   ["cat", "dog"], run.path(f"pointing_set_validation_seed{seed}_n{cfg.pointing_n}"),
                                   n=cfg.pointing_n, canvas=224, seed=seed)
    val_paths = [it.path for it in val_items]
    val_asked = np.array([{"cat": 0, "dog": 1}[it.label] for it in val_items])
    x_val_finetuned = load_images(val_paths, finetuned_size).astype("float32")
    # Grad-CAM candidates: the end of each of the base's last three stages (5x5, 10x10, 20x20 at 160 px)
    stage_ends = [cam.find_last_conv(finetuned, finer=f)[1] for f in (1, 2, 4)]

    def val_pointing(maps):
        return float(np.mean(pointing.hits(maps, val_items)))

    validation_pointing = {
        **{f"CAM, GAP model, {size} px": val_pointing(cam.class_activation_maps(
            model, load_images(val_paths, size).astype("float32") / 255.0, target=val_asked)[0])
           for size, model in ((gap_size, gap_model), (cam_size, gap_on_canvas))},
        **{f"Grad-CAM, pretrained, {layer}": val_pointing(cam.grad_cam(
            finetuned, x_val_finetuned, layer, nested=nested, target=val_asked)[0])
           for layer in stage_ends}}
    # the Grad-CAM layer the check uses: the stage end that points best on the validation composites
    pointing_layer = max(stage_ends, key=lambda layer: validation_pointing[f"Grad-CAM, pretrained, {layer}"])
    keras_metrics.update({"validation_pointing": validation_pointing, "gradcam_pointing_layer": pointing_layer})
    print(f"pointing accuracy on {len(val_items)} composites of validation photos, where the choices are made:")
    print(pd.Series(validation_pointing).round(3).to_string())
    print(f"Grad-CAM layer for the test composites (best on these): {pointing_layer}")

# %% [markdown]
# Now the test composites, both sizes and both layers:

# %%
if run_keras:
    def pointing_batch(size):
        return load_images([it.path for it in pointing_items], size).astype("float32")

    labelled = np.array([{"cat": 0, "dog": 1}.get(it.label.lower().rstrip("s"), -1) for it in pointing_items])
    target = labelled if (labelled >= 0).all() else None
    x_point_finetuned = pointing_batch(finetuned_size)      # read once: both Grad-CAM layers and the figure
    x_point_canvas = pointing_batch(cam_size) / 255.0       # read once: CAM at the canvas size and its figure
    cam_point, probs_point = cam.class_activation_maps(gap_on_canvas, x_point_canvas, target=target)
    cam_shrunk_point, probs_shrunk = cam.class_activation_maps(gap_model, pointing_batch(gap_size) / 255.0,
                                                               target=target)
    gradcam_point, ft_probs_point = cam.grad_cam(finetuned, x_point_finetuned, pointing_layer,
                                                 nested=nested, target=target)
    gradcam_last_point, _ = cam.grad_cam(finetuned, x_point_finetuned, conv_layer_name,
                                         nested=nested, target=target)

    def confidence(p):
        return float(np.mean(np.maximum(p[:, 0], 1 - p[:, 0])))

    cam_hits, gradcam_hits = pointing.hits(cam_point, pointing_items), pointing.hits(gradcam_point, pointing_items)
    cam_shrunk_hits = pointing.hits(cam_shrunk_point, pointing_items)
    gradcam_last_hits = pointing.hits(gradcam_last_point, pointing_items)
    keras_metrics.update({"keras_cam_pointing_acc": float(np.mean(cam_hits)), "cam_input_size": cam_size,
                          "gradcam_pointing_raw_shape": list(gradcam_point.shape[1:]),
                          "keras_cam_pointing_acc_training_size": float(np.mean(cam_shrunk_hits)),
                          "keras_gradcam_pointing_acc": float(np.mean(gradcam_hits)),
                          "keras_gradcam_last_pointing_acc": float(np.mean(gradcam_last_hits)),
                          "keras_gap_confidence": confidence(probs_point),
                          "keras_finetuned_confidence": confidence(ft_probs_point),
                          "keras_pointing_class": "labelled" if target is not None else "predicted"})
    def composite_accuracy(p):
        """Share of the pointing images the model classifies right (NaN without cat/dog labels)."""
        return float(np.mean((p[:, 0] >= 0.5) == (labelled == 1))) if target is not None else float("nan")

    # the same photos without their canvas: each box cut out and shown to the model on its own
    gap_alone = np.asarray(gap_model(pointing.box_crops(pointing_items, gap_size) / 255.0, training=False))
    finetuned_alone = np.asarray(finetuned(pointing.box_crops(pointing_items, finetuned_size), training=False))

    pointing_table = pd.DataFrame({
        name: {"pointing accuracy": np.mean(hit),
               **{f"pointing, {c}s": np.mean(np.array(hit)[labelled == k]) if (labelled == k).any() else np.nan
                  for k, c in enumerate(["cat", "dog"])},
               "classified right": composite_accuracy(p), "called dog": float(np.mean(p[:, 0] >= 0.5)),
               "mean P(predicted class)": confidence(p), "photo alone: classified right": composite_accuracy(alone)}
        for name, hit, p, alone in ((f"CAM, GAP model, {gap_size} px (its training size)", cam_shrunk_hits,
                                     probs_shrunk, gap_alone),
                                    (f"CAM, GAP model, {cam_size} px (the canvas as it is)", cam_hits, probs_point,
                                     gap_alone),
                                    (f"Grad-CAM, pretrained, {conv_layer_name}", gradcam_last_hits, ft_probs_point,
                                     finetuned_alone),
                                    (f"Grad-CAM, pretrained, {pointing_layer}", gradcam_hits, ft_probs_point,
                                     finetuned_alone))}).T
    keras_metrics.update({"keras_gap_composite_acc": composite_accuracy(probs_point),
                          "keras_gap_composite_acc_training_size": composite_accuracy(probs_shrunk),
                          "keras_finetuned_composite_acc": composite_accuracy(ft_probs_point),
                          "keras_gap_photo_alone_acc": composite_accuracy(gap_alone),
                          "keras_finetuned_photo_alone_acc": composite_accuracy(finetuned_alone)})
    print(pointing_table.round(3).to_string())
    shown = [i for k in (0, 1) for i in np.flatnonzero(labelled == k)[:3]] or list(range(min(6, pointing_n_images)))
    fig = plots.show_images([plots.overlay_heatmap(x_point_canvas[i], cam.upsample(maps[i:i + 1], cam_size)[0])
                             for maps in (cam_shrunk_point, cam_point) for i in shown],
                            titles=[f"{size} px, {pointing_items[i].label}: {'hit' if hit[i] else 'miss'}"
                                    for size, hit in ((gap_size, cam_shrunk_hits), (cam_size, cam_hits))
                                    for i in shown],
                            title_colors=["green" if hit[i] else "red"
                                          for hit in (cam_shrunk_hits, cam_hits) for i in shown], ncols=6, size=1.9,
                            suptitle=f"CAM of the GAP model on the pointing set: the canvas shrunk to {gap_size} px "
                                     f"(top) and as it is, {cam_size} px (bottom)")
    fig = plots.show_images([plots.overlay_heatmap(x_point_finetuned[i] / 255.0,
                                                   cam.upsample(gradcam_point[i:i + 1], finetuned_size)[0])
                             for i in shown],
                            titles=[f"{pointing_items[i].label}: {'hit' if gradcam_hits[i] else 'miss'}" for i in shown],
                            title_colors=["green" if gradcam_hits[i] else "red" for i in shown], ncols=6, size=1.9,
                            suptitle=f"Grad-CAM at {pointing_layer} on the pointing set (pretrained model)")

# %% [markdown]
# **On this run** (the table above and the first figure): CAM of 09's GAP model points inside
# the box on 0.680 of the 200 composites when the canvas is shrunk to the model's 128 pixels, and
# on **0.860** when the model sees the canvas as it is, at 224 pixels: above the 0.8 the check at
# the end asks for (✓), far above a random point (0.19) and above a fixed guess at the image centre
# (0.56: a photo pasted at a random place still covers the middle of the canvas about half the
# time). Both classes gain: the cats from 0.589 to 0.779, the dogs from 0.762 to 0.933. Grad-CAM of
# 11's fine-tuned MobileNet, which must stay at 160 pixels, points inside the box on 0.710 at
# `conv_pw_5_relu` (20×20 cells; of the three stage ends it pointed best on the validation
# composites: 0.665, against 0.585 at `conv_pw_11_relu` and 0.500 at the last conv layer) and on
# 0.510 at the last conv layer: short of 0.8 (✗).
#
# **Error analysis.** The other columns point at the models rather than at the maps. On these
# composites neither Keras model gets the *verdict* right: the GAP model classifies 0.48 of them
# right at either size, a coin toss (at 224 pixels it calls only 19.5% of them "dog"), and the
# fine-tuned MobileNet 0.585, calling 86% of them "cat". Yet the last column shows that the
# *photos* are not the problem: cut out of the composite (`pointing.box_crops`) and shown alone,
# the same 200 photos are classified right at 0.74 and 0.93, about what each model scores on real
# test photos (09: 0.753; 11: 0.93). What the models cannot read is the canvas. The GAP model shows
# the difference between a map and a verdict: its verdict is the *average* of the evidence over all
# 14×14 cells, most of which show a flat colour unlike anything in its training photos, while the
# map only asks *where* the evidence for the labelled class is strongest, and at the size it
# learned, that is on the animal. The fine-tuned MobileNet has no such way out: its `Flatten` head
# was trained on full-frame photos, one weight per cell of a 5×5 grid, and a half-size animal at a
# random place lands on cells whose weights never saw one. Its map of the evidence for "dog" on a
# canvas it reads as a cat can only point at whatever looked most dog-like. The earlier layer
# points better than the last one (0.710 against 0.510) because its cells are smaller and its
# features, more about edges and textures than about cats, are busiest on the photo; the pair game
# below shows that they do not follow the class. A map explains its model; it cannot know more
# than the model does. The weights offline here are MobileNet's at width 0.25, the smallest there
# is; Part B's ImageNet network, larger and trained on objects at every scale and on every kind of
# background, points inside the box on 0.885 of the same composites (though, as the comparison at
# the end shows, no more often than a map made without any model). Training the Keras models on
# composite-like images would make the Grad-CAM check easier to pass, but it would be training
# towards the test; whether the `full` profile's Keras models do better has not been measured. On
# this profile that check stays ✗.
#
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

    from course_utils.cam import upsample
    from course_utils.data.scan import load_rgb
    from course_utils.plots import overlay_heatmap, show_images
    from course_utils.setup import artifacts
    from course_utils.torch_.cam import gap_cam, grad_cam, last_conv_block
    from course_utils.torch_.data import denormalize, eval_transform, load_torch_splits
    from course_utils.torch_.transfer import (
        choose_backbone,
        classifier_layer,
        imagenet_categories,
        install_head,
        train_feature_head,
    )

    device = run.device  # cuda, mps or cpu: chosen once by setup_notebook
    imagenet, weights_tried = choose_backbone(cfg.torch_backbone, tiny=run.tiny)   # ImageNet weights, 1000-class head
    run.record(*weights_tried)
    if imagenet.weights_source.startswith("random"):
        run.stand_in(f"{imagenet.name} with random weights", f"{imagenet.name} with ImageNet weights",
                     "its ImageNet weights could not be had (cache, mirror or download)")
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
    pooled_layer = imagenet.model.bn2 if hasattr(imagenet.model, "bn2") else imagenet.model.layer4
    grad_last, _, _ = grad_cam(imagenet.model, pooled_layer, x_cat, cls)
    block = last_conv_block(imagenet.model)
    grad_block, _, _ = grad_cam(imagenet.model, block, x_cat, cls)
    print(f"predicted {cls} {names[cls]} ({probs[cls]:.0%}); CAM {cam_cat.shape}, Grad-CAM on the last block "
          f"{grad_block.shape}")
    same = bool(np.allclose(cam_cat, grad_last, atol=1e-4))
    print("Grad-CAM at the layer feeding the pooling equals CAM:", same)
    hooks_left = len(block._forward_hooks) + len(block._backward_hooks)
    print("hooks left on the block after grad_cam:", hooks_left)
    fig = show_images([chelsea, overlay_heatmap(chelsea, upsample(cam_cat, chelsea.shape[:2])),
                       overlay_heatmap(chelsea, upsample(grad_block, chelsea.shape[:2]))],
                      titles=["input", f"CAM: {names[cls]}", "Grad-CAM, last conv block"], ncols=3, size=3.2)

# %% [markdown]
# The check above is the link between the two methods: at the layer right before the global
# pooling, the gradient of the class score with respect to each channel is the same at every
# position (its head weight divided by the number of positions), so Grad-CAM reduces to CAM.
# One block earlier (`blocks[-1]`), Grad-CAM gives a similar but not identical map.
#
# ### B2. Checking the hand-written Grad-CAM against a library
#
# `grad_cam` is twenty lines of hooks. Notebook 04 checked its hand-written convolution
# against the frameworks; here the same check for Grad-CAM, against `pytorch_grad_cam` (the PyPI
# package `grad-cam`), on the cat photo at the same layer and class. The library upsamples its map
# to the input size with OpenCV, so we compare at that size, after the same min-max scaling.

# %%
if run_torch:
    from pytorch_grad_cam import GradCAM
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    with GradCAM(model=imagenet.model, target_layers=[block]) as library_cam:
        library_map = library_cam(input_tensor=x_cat, targets=[ClassifierOutputTarget(cls)])[0]
    ours_up = upsample(grad_block, library_map.shape)
    ours_up = (ours_up - ours_up.min()) / max(float(np.ptp(ours_up)), 1e-12)
    library_diff = float(np.abs(ours_up - library_map).max())
    library_corr = float(np.corrcoef(ours_up.ravel(), library_map.ravel())[0, 1])
    print(f"hand-written vs pytorch_grad_cam: correlation {library_corr:.4f}, largest difference {library_diff:.3f} "
          f"(maps in [0, 1]; the two resize with different interpolation)")
    torch_metrics["gradcam_library_corr"] = library_corr

# %% [markdown]
# ### B3. The pointing game with the ImageNet network
#
# The ImageNet backbone was never trained on our labels, so it plays for its own **top class**: the
# map of the class it predicts for each image, at `conv_head`, the last convolution before the
# pooling. Its 1000 classes include many breeds of cat and dog (and ants and bees).

# %%
if run_torch:
    eval_224 = eval_transform(224, imagenet.mean, imagenet.std)
    layer_head = imagenet.model.conv_head if hasattr(imagenet.model, "conv_head") else imagenet.model.layer4
    torch_point, torch_top_probs = [], []
    for item in pointing_items:
        img = load_rgb(item.path).resize((224, 224))      # the whole composite, box included, no crop
        m, top, p = grad_cam(imagenet.model, layer_head, eval_224(img)[None].to(device))
        torch_point.append(m)
        torch_top_probs.append(float(p[top]))
    torch_hits = pointing.hits(torch_point, pointing_items)
    torch_metrics["torch_gradcam_pointing_acc"] = float(np.mean(torch_hits))
    torch_metrics["torch_top_class_confidence"] = float(np.mean(torch_top_probs))
    print(f"Grad-CAM of the top ImageNet class at {type(layer_head).__name__} "
          f"({'conv_head' if hasattr(imagenet.model, 'conv_head') else 'layer4'}): pointing accuracy "
          f"{np.mean(torch_hits):.3f} on {pointing_n_images} images; mean top-class probability "
          f"{np.mean(torch_top_probs):.3f}")

# %% [markdown]
# ### B4. Grad-CAM on notebook 11's fine-tuned ants-and-bees model
#
# Now the model of notebook 11 (the last stage fine-tuned on ants and bees), loaded from the
# artifacts folder when notebook 11 saved it there with matching settings; otherwise a stand-in is
# trained here with notebook 10's recipe (a linear head on cached features, quick and confident),
# and the cell says so. Grad-CAM with hooks on its last convolutional block, for validation images.

# %%
if run_torch:
    model_bb, weights_tried = choose_backbone(cfg.torch_backbone, tiny=run.tiny)
    splits, torch_data_info = load_torch_splits(cfg.torch_dataset, torch_data_dir, cfg.torch_max_per_class, seed,
                                                data_source=run.data_source, tiny=run.tiny)
    run.record(*weights_tried, torch_data_info)
    if model_bb.weights_source.startswith("random"):
        run.stand_in(f"{model_bb.name} with random weights", f"{model_bb.name} with ImageNet weights",
                     "its ImageNet weights could not be had (cache, mirror or download)")
    torch_dataset_name = torch_data_info.name
    found = artifacts.find_artifact("11_torch_finetuned", run.output_dir)
    wanted = {"backbone": model_bb.name, "image_size": cfg.torch_image_size, "dataset": torch_dataset_name,
              "classes": splits.classes}
    if found is not None and all(found[1]["metrics"].get(k) == v for k, v in wanted.items()):
        install_head(model_bb.model, torch.nn.Linear(
            classifier_layer(model_bb.model).in_features, len(splits.classes)))
        model_bb.model.load_state_dict(torch.load(found[0], map_location="cpu", weights_only=True)["model"])
        model = model_bb.model
        torch_model_source = "notebook 11: " + artifacts.describe(found[1], ["best_val_accuracy", "test_accuracy"])
    else:
        print("11_torch_finetuned not found with these settings in the artifacts folder (run notebook 11 with the "
              f"same output_dir): training a STAND-IN here, a linear head on cached features ({cfg.torch_head_epochs} epochs)")
        with run.timer("torch_train"):
            _, stand_in_best, _ = train_feature_head(
                model_bb, splits, cfg.torch_image_size, cfg.torch_batch_size, cfg.torch_head_epochs, device,
                seed=seed, verbose=False)
        model = model_bb.model
        torch_model_source = (f"STAND-IN trained here (linear head, validation accuracy "
                              f"{stand_in_best['val_accuracy']:.3f})")
    print(torch_model_source)

# %%
if run_torch:
    tf = eval_transform(cfg.torch_image_size, model_bb.mean, model_bb.std)
    val_ds = splits.dataset("val", tf)
    layer = last_conv_block(model)
    images, titles, colors = [], [], []
    for i in np.linspace(0, len(val_ds) - 1, num=min(8, len(val_ds))).astype(int):
        x, y = val_ds[int(i)]
        gradcam_map, pred, p = grad_cam(model, layer, x[None].to(device))
        shown = denormalize(x, model_bb.mean, model_bb.std)
        images += [shown, overlay_heatmap(shown, gradcam_map)]
        titles += [f"true {splits.classes[y]}", f"said {splits.classes[pred]} {p[pred]:.0%}"]
        colors += ["black", "green" if pred == y else "red"]
    torch_gradcam_shape = list(gradcam_map.shape)
    print(f"Grad-CAM map at the last block: {torch_gradcam_shape[0]}x{torch_gradcam_shape[1]} "
          f"for {cfg.torch_image_size}x{cfg.torch_image_size} inputs (shown upsampled)")
    fig = show_images(images, titles=titles, title_colors=colors, ncols=4, size=2.0,
                      suptitle="Grad-CAM of the ants-and-bees model (validation images)")
    torch_metrics.update({"torch_gradcam_shape": torch_gradcam_shape, "torch_cam_shape": list(cam_cat.shape),
                          "torch_gradcam_equals_cam_last_layer": same, "torch_chelsea_class": int(cls),
                          "torch_model_source": torch_model_source, "torch_dataset": torch_dataset_name})

# %% [markdown]
# The titles say, for each image, what the model predicted and how sure it was (green right, red
# wrong: see the output above for how many of each this run has). Read the maps with care: a warm
# region shows where evidence for the *predicted* class lies, not that the model "understands" the
# insect. On a wrong prediction the map shows what misled it; a map that lights up the background
# is a warning sign that the model learned a shortcut.

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
# | nested pretrained base | rebuild the graph through the base's layers (else a `ValueError`: the inner layer's output "is not connected to `inputs`") | hooks work at any depth |
# | clean-up | nothing to undo | remove the hooks (`handle.remove()`), or they fire on every later call |

# %% [markdown]
# ### A map made without a model
#
# A pointing score needs a baseline that knows nothing. A random point and a fixed guess at the
# centre are two; here is a stronger one: `pointing.contrast_maps`, which marks, in each cell of
# the same grid as the map it is compared with, how much the grey levels vary. It has never seen a
# cat, but on a photo pasted onto one flat colour it peaks on the photo almost every time. Each
# model's map is scored against it on the *same* images: how often the map hits where the contrast
# map misses, how often the reverse, and the one-sided sign test (McNemar's test) of "the map hits
# more often" (`pointing.paired_comparison`). Only a map that wins here shows something about what
# its model uses rather than where the picture is busy.

# %%
import pandas as pd

rows, versus_contrast = [], {}


def versus_columns(c):
    """A table row's columns for a map against the contrast map (``pointing.against_contrast``); the
    pair game below reports its maps with the same columns."""
    return {"contrast map, same grid": c["b"], "only the map hits": c["only_a"],
            "only the contrast map hits": c["only_b"], "sign test p": c["p"]}


def add_row(name, raw, shown, hits, maps_grid):
    row = {"map": name, "raw map": list(raw), "shown at": list(shown), "pointing accuracy": None}
    if hits is not None:
        c = pointing.against_contrast(hits, pointing_items, maps_grid)
        versus_contrast[name] = c
        row.update({"pointing accuracy": c["a"], **versus_columns(c)})
    rows.append(row)


if run_keras:
    add_row(f"CAM, GAP model, {gap_size} px (Keras)", keras_metrics["cam_raw_shape"], keras_metrics["cam_shape"],
            cam_shrunk_hits, cam_shrunk_point.shape[1:])
    add_row(f"CAM, GAP model, {cam_size} px (Keras)", cam_point.shape[1:], [cam_size] * 2, cam_hits,
            cam_point.shape[1:])
    add_row("Grad-CAM, pretrained base, last conv layer (Keras)", keras_metrics["gradcam_last_raw_shape"],
            keras_metrics["gradcam_shape"], gradcam_last_hits, gradcam_last_point.shape[1:])
    add_row(f"Grad-CAM, pretrained base, {pointing_layer} (Keras)", list(gradcam_point.shape[1:]),
            keras_metrics["gradcam_shape"], gradcam_hits, gradcam_point.shape[1:])
if run_torch:
    torch_map_name = f"Grad-CAM, {imagenet.name} top class (PyTorch)"
    add_row(torch_map_name, torch_point[0].shape, [224, 224], torch_hits, torch_point[0].shape)
    add_row("Grad-CAM, ants-and-bees model (PyTorch)", torch_metrics["torch_gradcam_shape"],
            [cfg.torch_image_size] * 2, None, None)
comparison = pd.DataFrame(rows).set_index("map").round(3) if rows else None
counts = [c for c in ("only the map hits", "only the contrast map hits") if comparison is not None and c in comparison]
comparison.astype({c: "Int64" for c in counts}) if comparison is not None else "both parts were switched off"

# %% [markdown]
# **On this run** the contrast map, which knows nothing about cats or dogs, points inside the box
# on 0.825 to 0.885 of the 200 composites, depending on its grid. No map beats it. CAM of the
# GAP model at 128 pixels hits 22 images the contrast map misses and misses 53 it hits; at 224
# pixels it comes close, 0.860 against 0.885 (18 images against 23, sign test p = 0.83). Grad-CAM
# of the fine-tuned MobileNet: 17 against 49 at `conv_pw_5_relu`. Part B's ImageNet network ties
# it exactly: 0.885 each, 21 images either way, p = 0.56. So on these composites the pointing game
# cannot tell a map of class evidence from a map of where the picture is busy:
# `keras_cam_points` and `torch_gradcam_points` hold (✓), but they show nothing a contrast map does
# not, and the check that asks for more, `torch_gradcam_beats_contrast`, stays ✗. A flat background
# makes the photo the only busy region, and that is what a pointing set must avoid to test a model's
# maps. A harder set would put the animal on a busy background, or a cat and a dog on one canvas, so
# that only a map of class evidence can find the right box. The next cells build the second kind.

# %% [markdown]
# ### A harder game: a cat and a dog on one canvas
#
# To take the busy region away as an answer, `pointing.make_pair_composites` pastes one cat photo
# and one dog photo from the same test split onto each canvas, one in each half, and asks twice:
# the same picture is filed under `cat/` with the cat's box and under `dog/` with the dog's. Each
# map is computed for the animal asked for: the labelled class for the Keras models and, for the
# ImageNet network, whichever of its cat classes (tabby, tiger cat, Persian, Siamese, Egyptian) or
# dog classes (the 118 breeds) scores highest. The contrast map cannot know which animal is asked
# for, so it can be right on at most one of the two questions about a picture: about half, whatever
# it does. A map that beats it here is using what its model knows about cats and dogs.

# %%
import numpy as np

pair_rows, pair_versus_contrast, torch_pair_name = [], {}, None
if pointing_dir is not None:
    print("the pair set is built from the cats-vs-dogs test split: skipped when pointing_dir is given "
          "(a folder made like it can be played as pointing_dir)")
else:
    n_pairs = max(1, cfg.pointing_n // 2)
    pair_items = pointing.build_set(pointing.make_pair_composites, cats_dogs_split.paths["test"],
                                    cats_dogs_split.labels["test"], ["cat", "dog"],
                                    run.path(f"pointing_pairs_seed{seed}_n{n_pairs}"), n=n_pairs, canvas=224,
                                    seed=seed)
    asked = np.array([{"cat": 0, "dog": 1}[it.label] for it in pair_items])
    pair_maps = {}
    if run_keras:
        pair_paths = [it.path for it in pair_items]
        for size, model in ((gap_size, gap_model), (cam_size, gap_on_canvas)):
            pair_maps[f"CAM, GAP model, {size} px (Keras)"] = cam.class_activation_maps(
                model, load_images(pair_paths, size).astype("float32") / 255.0, target=asked)[0]
        pair_maps[f"Grad-CAM, pretrained base, {pointing_layer} (Keras)"] = cam.grad_cam(
            finetuned, load_images(pair_paths, finetuned_size).astype("float32"), pointing_layer,
            nested=nested, target=asked)[0]
    if run_torch:
        imagenet_groups = {"cat": range(281, 286), "dog": range(151, 269)}   # ImageNet's cat and dog classes
        torch_pair_name = f"Grad-CAM, {imagenet.name}, best cat or dog class (PyTorch)"
        torch_pair_maps = []
        for item in pair_items:      # the map of the best-scoring class of the animal asked for
            x = eval_224(load_rgb(item.path).resize((224, 224)))[None].to(device)
            torch_pair_maps.append(grad_cam(imagenet.model, layer_head, x, imagenet_groups[item.label])[0])
        pair_maps[torch_pair_name] = torch_pair_maps
    for name, maps in pair_maps.items():
        grid = np.asarray(maps[0]).shape
        c = pointing.against_contrast(pointing.hits(maps, pair_items), pair_items, grid)
        pair_versus_contrast[name] = c
        pair_rows.append({"map": name, "raw map": list(grid), "points at the animal asked for": c["a"],
                          **versus_columns(c)})
    print(f"{len(pair_items) // 2} canvases, {len(pair_items)} questions (each canvas: where is the cat? where is "
          f"the dog?); the boxes cover {pointing.box_area_fraction(pair_items):.0%} of the image on average")
    if pair_rows:
        print(pd.DataFrame(pair_rows).set_index("map").round(3).to_string())
    if torch_pair_name:
        where = {(it.path.name, it.label): i for i, it in enumerate(pair_items)}
        pictures = sorted({it.path.name for it in pair_items})[:3]          # three canvases, both questions
        by_picture = [where[(name, label)] for name in pictures for label in ("cat", "dog")]
        torch_pair_hits = pointing.hits(torch_pair_maps, pair_items)
        fig = show_images([overlay_heatmap(np.asarray(load_rgb(pair_items[i].path).resize((224, 224))) / 255.0,
                                           upsample(torch_pair_maps[i], 224)) for i in by_picture],
                          titles=[f"the {pair_items[i].label}? {'hit' if torch_pair_hits[i] else 'miss'}"
                                  for i in by_picture],
                          title_colors=["green" if torch_pair_hits[i] else "red" for i in by_picture], ncols=6,
                          size=1.9, suptitle="Grad-CAM of the ImageNet network for the animal asked for")

# %% [markdown]
# **On this run**, with 200 questions about 100 canvases, the contrast map finds the animal asked
# for 0.430 to 0.455 of the time (depending on its grid), the "about half" a map blind to the class
# can reach. Grad-CAM of the ImageNet network finds it 0.590 of the time: it hits 61 questions the
# contrast map misses and misses 32 it hits, and a sign test puts the chance of so lopsided a split,
# were the two maps equally good, at p = 0.002. So its maps do follow the class (✓ for
# `torch_gradcam_finds_the_asked_animal`; the figure shows the same canvas asked both ways), even
# though it points at the wrong animal, or between the two, on four questions in ten. CAM of 09's
# GAP model does too when it sees the canvas at 224 pixels: 0.575 against 0.455, 56 questions
# against 32, p = 0.007 (✓ for `keras_cam_finds_the_asked_animal`). Shrunk to its 128 pixels it did
# not (0.405 against 0.430): the scale that decided the first game decides this one. That the map
# finds the cat when asked for the cat and the dog when asked for the dog, from a model whose
# verdict on these canvases is a coin toss, is the distinction of Part A again: the map says where
# the evidence for a class is, the verdict weighs it against everything else on the canvas.
# Grad-CAM of the fine-tuned MobileNet does not follow the class (0.305 against 0.450), which fits
# Part A's error analysis of its `Flatten` head.
#
# What to take from the three games: a map that lands on the object on a clean background may only
# be finding the one busy region; test a saliency method where something without a model cannot
# win, and report that baseline beside the score.

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


# %% [markdown]
# ## What this run showed
#
# Each lesson of this notebook, checked on this run's own numbers (✓ held, ✗ did not hold here):

# %%
chance = pointing.box_area_fraction(pointing_items)
centre = pointing.centre_point_fraction(pointing_items)
baselines = f"a random point: {chance:.2f}, the image centre: {centre:.2f}"


def points_at_object(acc):
    """The bar for every pointing check: 80% of the set, and better than a fixed guess at the centre."""
    return acc >= 0.8 and acc > centre


def beats_contrast(c, n, questions):
    """(holds, evidence) for a map against the contrast map (``pointing.against_contrast``): more hits,
    beyond chance (one-sided sign test, p < 0.05)."""
    return (c["a"] > c["b"] and c["p"] < 0.05,
            f"{c['a']:.3f} vs {c['b']:.3f} for the contrast map on {n} {questions}; only the map hits "
            f"{c['only_a']}, only the contrast map {c['only_b']}; p = {c['p']:.3f}")


if run_keras:
    run.lesson("keras_cam_points", f"CAM of the GAP model, shown the pointing images at {cam_size} px, points at the "
               "animal: its maximum falls inside the box on at least 80% of the pointing set, more often than a fixed "
               "guess at the image centre",
               points_at_object(keras_metrics["keras_cam_pointing_acc"]),
               f"{keras_metrics['keras_cam_pointing_acc']:.3f} of {pointing_n_images} images at {cam_size} px "
               f"(at its {gap_size}-px training size: {keras_metrics['keras_cam_pointing_acc_training_size']:.3f}; "
               f"{baselines}); mean confidence {keras_metrics['keras_gap_confidence']:.2f}; model: {gap_source[:60]}")
    run.lesson("keras_gradcam_points", "Grad-CAM of the pretrained model points at the animal on at least 80% of the "
               "pointing set, more often than a fixed guess at the image centre",
               points_at_object(keras_metrics["keras_gradcam_pointing_acc"]),
               f"{keras_metrics['keras_gradcam_pointing_acc']:.3f} of {pointing_n_images} images at "
               f"{pointing_layer} {list(gradcam_point.shape[1:])} (at the last conv layer: "
               f"{keras_metrics['keras_gradcam_last_pointing_acc']:.3f}; {baselines}); "
               f"mean confidence {keras_metrics['keras_finetuned_confidence']:.2f}")
    keras_pair_name = f"CAM, GAP model, {cam_size} px (Keras)"
    if keras_pair_name in pair_versus_contrast:
        run.lesson("keras_cam_finds_the_asked_animal", f"With a cat and a dog on one canvas, CAM of the GAP model at "
                   f"{cam_size} px for the animal asked for points at that animal more often than a model-free "
                   "contrast map, beyond chance (one-sided sign test, p < 0.05): its maps follow the class",
                   *beats_contrast(pair_versus_contrast[keras_pair_name], len(pair_items), "questions"))
    run.lesson("gradcam_is_cam_on_gap", "on a GAP network, Grad-CAM at the last conv layer equals CAM",
               same_keras and (same if run_torch else True),
               f"Keras {same_keras}" + (f", PyTorch {same}" if run_torch else ""))
if run_torch:
    run.lesson("torch_gradcam_points", "Grad-CAM of the ImageNet network's top class points at the object on at "
               "least 80% of the pointing set, more often than a fixed guess at the image centre",
               points_at_object(torch_metrics["torch_gradcam_pointing_acc"]),
               f"{torch_metrics['torch_gradcam_pointing_acc']:.3f} of {pointing_n_images} images ({baselines}), "
               f"{imagenet.name} at conv_head")
    run.lesson("torch_gradcam_beats_contrast", "Grad-CAM of the ImageNet network shows more than where the image is "
               "busy: it hits the box more often than a model-free contrast map at the same grid, beyond chance "
               "(one-sided sign test on the same images, p < 0.05)",
               *beats_contrast(versus_contrast[torch_map_name], pointing_n_images, "images"))
    if torch_pair_name in pair_versus_contrast:
        run.lesson("torch_gradcam_finds_the_asked_animal", "With a cat and a dog on one canvas, Grad-CAM of the "
                   "ImageNet network for the animal asked for points at that animal more often than a model-free "
                   "contrast map, beyond chance (one-sided sign test, p < 0.05): its maps follow the class",
                   *beats_contrast(pair_versus_contrast[torch_pair_name], len(pair_items), "questions"))
    run.lesson("gradcam_matches_library", "the hand-written Grad-CAM agrees with pytorch_grad_cam (correlation "
               "above 0.99 at the same layer and class), and leaves no hooks behind",
               library_corr > 0.99 and hooks_left == 0, f"correlation {library_corr:.4f}, hooks left {hooks_left}")
run.show_lessons()

# %% [markdown]
# **The two ✗ of the stored `laptop` run, and why.** `keras_gradcam_points` (0.710, short of 0.8):
# the only Keras ImageNet weights offline here are MobileNet's at width 0.25, and 11's `Flatten`
# head ties that model to 160-pixel inputs, so it reads a half-size animal on a flat canvas poorly
# (A.4's error analysis); the best of its layers on the validation composites still misses. It
# may hold with VGG16, which `keras_backbone=None` tries first where its weights can be had; that
# has not been measured here. `torch_gradcam_beats_contrast` (0.885 against 0.885): on one photo
# pasted onto a flat colour, the busy region is nearly always the photo, so this set cannot show class
# evidence; the same claim holds where a set can show it, with a cat and a dog on each canvas
# (`torch_gradcam_finds_the_asked_animal`). Both stay visible: a ✗ is a result.

# %%
run.save_metrics({**keras_metrics, **torch_metrics, "pointing_n_images": pointing_n_images,
                  "pointing_centre_baseline": centre, "pointing_random_baseline": chance,
                  "pointing_versus_contrast": versus_contrast, "pairs_versus_contrast": pair_versus_contrast,
                  "pairs_n_images": len(pair_items) if pair_versus_contrast else 0})
