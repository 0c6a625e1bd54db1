# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
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
torch_image_size = None
torch_max_per_class = None
torch_epochs = None

# %%
import course_utils  # import before TensorFlow: see 00_setup

run = course_utils.setup_notebook("12_class_activation_maps", profile=profile, data_source=data_source, data_dir=data_dir,
                                  output_dir=output_dir, seed=seed, epochs=epochs, image_size=image_size, n_train=n_train, n_val=n_val, n_test=n_test, batch_size=batch_size, torch_image_size=torch_image_size, torch_max_per_class=torch_max_per_class, torch_epochs=torch_epochs)
cfg = run.cfg
keras_metrics = {"cam_shape": None, "gradcam_shape": None, "cam_peak_inside_image": None}
torch_metrics = {"torch_gradcam_shape": None, "torch_cam_peak_inside_image": None}

# %% [markdown]
# ## Part A · Keras
# <!-- KERAS-START: Part A is written between these markers -->

# %%
if not run_keras:
    print("Part A skipped (run_keras=False)")

# %% [markdown]
# <!-- KERAS-END -->
#
# ## Part B · PyTorch
# <!-- TORCH-START: Part B is written between these markers -->

# %%
if not run_torch:
    print("Part B skipped (run_torch=False)")

# %% [markdown]
# <!-- TORCH-END -->
#
# ## Comparison
# <!-- COMPARISON: written once both parts exist -->

# %%
run.save_metrics({**keras_metrics, **torch_metrics})
