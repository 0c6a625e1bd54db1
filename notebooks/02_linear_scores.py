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
# # 02 · Linear classification: the score function
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/cnn-course/cnn-image-classification/blob/main/notebooks/02_linear_scores.ipynb)
#
# **You will be able to**
# - write the linear score function $f(x; W, b) = Wx + b$ and give the shapes of every term for CIFAR-10;
# - compute class scores by hand for a tiny four-pixel "image", and see why a random $W$ is useless;
# - fold the bias into the weights (the *bias trick*);
# - read a linear classifier two ways: as lines (hyperplanes) cutting the input space, and as one
#   *template* image per class.
#
# **Data.** CIFAR-10 through `run.get_data("cifar10")` (the official archive, or a folder of images with
# `data_dir`). **Runs in** well under a minute (`smoke`) and under half a minute (`laptop`, 2 CPU cores).
#
# **Stored outputs** come from a `laptop` run on a folder of CIFAR-10 as JPEG files (1,000 training
# and 200 test images per class) on a shared 2-CPU-core machine: the numbers are real but not the
# official benchmark numbers.

# %%
# On Colab: install the course helpers (a no-op elsewhere).
import sys

if "google.colab" in sys.modules:
    # %pip install -q "course-utils[torch,tf] @ git+https://github.com/cnn-course/cnn-image-classification"
    pass

# %% tags=["parameters"]
profile = "auto"          # "smoke" | "laptop" | "full" | "auto" (see 00_setup)
data_source = "auto"      # "auto" | "real" | "synthetic"
data_dir = None           # a folder you already have, in the dataset's usual layout
output_dir = "outputs"    # metrics, models and figures go here
seed = 42
tiny = False              # True: this profile's code paths, seconds of work (tests; see 00_setup)
# This notebook's own knobs: None takes the value from the profile table.
n_train = None            # CIFAR-10 training images used to learn the templates
sgd_steps = None          # SGD steps of the quick training that produces the templates

# %%
import course_utils  # import before TensorFlow: see 00_setup

run = course_utils.setup_notebook("02_linear_scores", profile=profile, data_source=data_source, data_dir=data_dir,
                                  output_dir=output_dir, seed=seed, tiny=tiny, n_train=n_train, sgd_steps=sgd_steps)
cfg = run.cfg

# %% [markdown]
# ## 1. From "memorise everything" to a score function
#
# Notebook 01's kNN kept all training images and compared every test image with each of them. A
# **parametric** classifier instead summarises the training set in a few numbers, the parameters, and
# throws the images away. The simplest one is linear: a CIFAR-10 image flattened to a column $x$ of
# $32 \cdot 32 \cdot 3 = 3072$ numbers gets one score per class,
#
# $$f(x; W, b) = W x + b, \qquad W \in \mathbb{R}^{10 \times 3072},\; b \in \mathbb{R}^{10},\;
#   f \in \mathbb{R}^{10},$$
#
# and the predicted class is the one with the highest score. Each row of $W$ is one class's
# classifier; $b$ shifts the scores independently of the image. Prediction costs one matrix-vector
# product (about 30,000 multiply-adds), against 5,000 distances for kNN.

# %%
import numpy as np

from course_utils.data.datasets import CIFAR10_CLASSES as classes
from course_utils.data.datasets import load_cifar10
from course_utils.numpy_ import linear
from course_utils.numpy_.knn import limit_blas_threads
from course_utils.plots import show_images

blas_limit = limit_blas_threads(1)  # small products: one thread is faster on a shared machine (see 01)
info = run.get_data("cifar10", data_dir=data_dir)
x_train, y_train, x_test, y_test = load_cifar10(info, n_train=cfg.n_train, n_test=500, seed=seed)
run.set_counts("cifar10", train=len(x_train), test=len(x_test))

# %%
# NBVAL_CHECK_OUTPUT
x = x_train[0].reshape(-1).astype(np.float64)          # one image as a vector
W = 0.0001 * np.random.default_rng(0).standard_normal((10, 3072))
b = np.zeros(10)
print("x:", x.shape, "| W:", W.shape, "| b:", b.shape, "| scores Wx + b:", linear.linear_scores(x, W, b).shape)
print("parameters:", W.size + b.size)

# %% [markdown]
# ## 2. The four-pixel cat
#
# CS231n's figure: an "image" of four pixels, $x = (56, 231, 24, 2)$, and three classes (cat, dog,
# ship). We pick $W$ and $b$ by hand and compute $Wx + b$.

# %%
# NBVAL_CHECK_OUTPUT
toy_classes = ["cat", "dog", "ship"]
x_toy = np.array([56, 231, 24, 2], dtype=np.float64)
W_toy = np.array([[0.2, -0.5, 0.1, 2.0],
                  [1.5, 1.3, 2.1, 0.0],
                  [0.0, 0.25, 0.2, -0.3]])
b_toy = np.array([1.1, 3.2, -1.2])
toy_scores = linear.linear_scores(x_toy, W_toy, b_toy)
for name, wx, s in zip(toy_classes, W_toy @ x_toy, toy_scores):
    print(f"{name:5s}  W x = {wx:8.2f}   W x + b = {s:8.2f}")
toy_predicted_class = toy_classes[int(np.argmax(toy_scores))]
print("predicted:", toy_predicted_class)
run.lesson("cat_called_dog", "Hand-picked weights call the four-pixel cat a dog: the weights, not the arithmetic, "
           "are wrong", toy_predicted_class == "dog",
           "scores " + ", ".join(f"{n} {v:.2f}" for n, v in zip(toy_classes, toy_scores)))
run.lesson("figure_ship_without_bias", "The figure's ship score 61.95 is W x without the bias",
           np.isclose((W_toy @ x_toy)[2], 61.95) and not np.isclose(toy_scores[2], 61.95),
           f"W x = {(W_toy @ x_toy)[2]:.2f}, W x + b = {toy_scores[2]:.2f}")

# %% [markdown]
# The scores are cat **−96.8**, dog **437.9** and ship **60.75**: the model calls our cat a dog. Nothing is
# wrong with the arithmetic; the weights are simply bad. That is the whole motivation for the next
# notebook: we need a **loss** that measures how bad a given $W$ is, and a way to **learn** a better one.
#
# *Careful with the figure.* The CS231n figure prints 61.95 for ship. That is $W x$ *without* the bias:
# $0.25 \cdot 231 + 0.2 \cdot 24 - 0.3 \cdot 2 = 61.95$, and adding $b_\text{ship} = -1.2$ gives 60.75. (The
# cat and dog scores in the figure include their biases.)
#
# ## 3. The bias trick
#
# Carrying $W$ and $b$ separately is clumsy. Append a constant 1 to every input and $b$ as an extra
# column of $W$: then $[W \; b] \, [x; 1] = W x + b$, and the classifier has a single weight matrix. Notebook
# 03 stores CIFAR-10 inputs this way (3073 numbers per image).

# %%
# NBVAL_CHECK_OUTPUT
W_ext = np.hstack([W_toy, b_toy[:, None]])           # 3 x 5
x_ext = np.append(x_toy, 1.0)                         # 5
print("[W b] [x; 1] =", W_ext @ x_ext, "| equal to W x + b:", np.allclose(W_ext @ x_ext, toy_scores))
run.lesson("bias_trick", "[W b] [x; 1] equals W x + b: one weight matrix carries the bias",
           np.allclose(W_ext @ x_ext, toy_scores), f"largest difference {np.abs(W_ext @ x_ext - toy_scores).max():.1e}")

# %% [markdown]
# ### Exercises: the score function and the bias trick
#
# Two small functions; the cell after each runs its checker (several shapes, chosen so that a transposed
# or bias-less answer is caught). Until a function passes, the notebook uses the course's version.

# %%
def linear_scores(X, W, b):
    """Class scores of a linear classifier.

    X: (N, D) rows (or one example of shape (D,)); W: (C, D), one row per class; b: (C,).
    Returns (N, C) scores, row n = W @ X[n] + b (or (C,) for one example).
    """
    # Hint: X @ W.T puts one row of C scores per example; adding b broadcasts over the rows.
    raise NotImplementedError("write linear_scores")


# %%
from course_utils.exercises import use  # runs the checker; falls back to the reference if needed

linear_scores = use("02.linear_scores", linear_scores)
print("scores of the four-pixel cat:", linear_scores(x_toy, W_toy, b_toy))

# %%
def add_bias_column(X):
    """The bias trick: return X (N, D) with a column of ones appended as its LAST column, (N, D + 1),
    so that add_bias_column(X) @ np.vstack([W, b]) == X @ W + b. Do not modify X."""
    # Hint: np.hstack or np.concatenate with np.ones((len(X), 1)).
    raise NotImplementedError("write add_bias_column")


# %%
add_bias_column = use("02.add_bias_column", add_bias_column)
print(add_bias_column(np.array([[56.0, 231.0, 24.0, 2.0]])))

# %% [markdown]
# ## 4. The geometric view: each class is a line
#
# Think of an image as a point in a 3072-dimensional space. The score of class $c$, $w_c \cdot x + b_c$, is
# zero on a hyperplane, positive on the side $w_c$ points to, and grows linearly with the distance from it.
# In two dimensions we can draw it. Below, a toy set of three classes in the plane: each coloured line is
# where that class's score is zero, the arrow is $w_c$, and the shading shows which class scores highest.
#
# Changing $b_c$ **shifts** a line without turning it; changing $w_c$ **rotates** it (and rescales how fast
# the score grows). Learning will move these lines until each class's points lie on its positive side.

# %%
import matplotlib.pyplot as plt

toy_rng = np.random.default_rng(seed)
centres = np.array([[-1.5, -1.0], [1.5, -1.0], [0.0, 1.6]])
X2 = np.concatenate([c + 0.45 * toy_rng.standard_normal((30, 2)) for c in centres])
y2 = np.repeat(np.arange(3), 30)
W2 = np.array([[-1.0, -0.6], [1.0, -0.6], [0.0, 1.0]])
b2 = np.array([-0.5, -0.5, -0.5])
rot = np.deg2rad(35)
R = np.array([[np.cos(rot), -np.sin(rot)], [np.sin(rot), np.cos(rot)]])
fig, axes = plt.subplots(1, 3, figsize=(12, 4.2))
linear.plot_decision_lines(X2, y2, W2, b2, ax=axes[0], class_names=["A", "B", "C"], title="W, b")
linear.plot_decision_lines(X2, y2, W2, b2 + np.array([0.0, 0.0, 1.0]), ax=axes[1],
                           title="b_C raised by 1: C's line shifts")
linear.plot_decision_lines(X2, y2, np.vstack([W2[:2], W2[2] @ R.T]), b2, ax=axes[2],
                           title="w_C rotated by 35 degrees: C's line turns")
axes[0].legend(loc="lower left", fontsize=8)
fig.tight_layout()

# %% [markdown]
# A linear classifier can only cut space with such hyperplanes. Classes whose images are not separable
# that way (a red car and a blue car, as points in pixel space) cannot both be won by one line: this is the
# limit that convolutional networks lift later in the course.
#
# ## 5. The template view: each row of W is an image
#
# The score $w_c \cdot x$ is a dot product: it is large when the image looks like $w_c$. So each row of $W$ is
# a **template** for its class, and classification is template matching, like kNN with a single learned
# "prototype" per class, compared by inner product instead of distance.
#
# To see real templates we need a trained $W$. A few hundred SGD steps of the softmax classifier of notebook
# 03 suffice (03 explains the loss and the training; here we only look at the result). As in CS231n, we
# subtract the mean training image first and append the bias column. Training starts from small random
# weights; the regularisation shrinks that initial noise at every step, so with too few steps (the `smoke`
# profile) the templates still look like noise.

# %%
data = linear.prepare_cifar_splits(x_train, y_train, x_test, y_test, n_val=max(len(x_train) // 10, 1), seed=seed)
model = linear.Softmax(seed=seed)
with run.timer("template_training"):
    history = model.train(data["X_train"], data["y_train"], learning_rate=5e-7, reg=2.5e4,
                          num_iters=cfg.sgd_steps, batch_size=200)
template_val_acc = model.accuracy(data["X_val"], data["y_val"])
print(f"{cfg.sgd_steps} SGD steps on {len(data['X_train'])} images: loss {history[0]:.2f} -> {history[-1]:.2f}, "
      f"validation accuracy {template_val_acc:.3f} (chance 0.100)")
run.lesson("templates_beat_chance", "Ten learned templates (one per class) classify well above chance (at least 0.20)",
           template_val_acc >= 0.20, f"validation accuracy {template_val_acc:.3f} vs 0.100 chance after "
           f"{cfg.sgd_steps} steps")

# %%
show_images(linear.weight_templates(model.W), titles=classes, ncols=10, size=1.2,
            suptitle="rows of the learned W, shown as images");

# %% [markdown]
# With enough steps (the `laptop` profile's 500) the templates are recognisable colour layouts: blue for
# airplane and ship (sky, sea, with a darker band of water at the bottom of ship), green for bird and deer
# (grass and foliage, with a brown blob in the middle for deer), a car-like shape with a dark lower band for
# automobile and truck, a brown body in the middle for horse. The horse template is blurry and roughly
# left-right symmetric: horses in the data face both ways, and one template has to match both. That is the
# weakness of the template view: **one template per class** cannot represent the many ways a class looks.
# Neural networks fix this by learning many intermediate templates (features) and
# combining them.
#
# (Notebook 03 trains the same classifier properly, with a search over learning rates and regularisation
# strengths, and shows its templates too.)

# %%
blas_limit.restore_original_limits()

# %% [markdown]
# ## Questions
#
# Answer each in two or three sentences before you open the model answer.
#
# **1. The four-pixel cat gets the highest score for *dog*. Is the formula wrong?**
#
# <details><summary>Answer</summary>
#
# No. The formula W x + b is right; the weights were picked by hand and are bad. A score function only
# says how to turn weights into scores. Which weights are good is the job of a loss function and an
# optimiser (notebook 03).
#
# </details>
#
# **2. What does the bias b do geometrically, and what would a classifier without it lose?**
#
# <details><summary>Answer</summary>
#
# Each class's score is zero on a hyperplane w_c · x + b_c = 0. The bias moves that hyperplane away
# from the origin without turning it. Without b every decision boundary would have to pass through the
# origin (the all-black image), which is an arbitrary restriction.
#
# </details>
#
# **3. Why does a class template (a row of W shown as an image) look like a blurry average of the class?**
#
# <details><summary>Answer</summary>
#
# The score is a dot product: it is large when the image is bright where the template is large. One
# template per class must score all of that class's images highly, so training pushes it towards their
# common colour layout (a blue sky for planes, green ground for frogs), which is a blurred average. It
# cannot represent a class that comes in several different looks.
#
# </details>

# %% [markdown]
# ## Summary
#
# - A linear classifier scores an image with $Wx + b$: 10 × 3072 weights and 10 biases for CIFAR-10.
# - Hand-picked weights call the four-pixel cat a dog (−96.8, 437.9, 60.75): we need a loss and learning.
# - The bias trick folds $b$ into $W$; geometrically each class is a hyperplane, visually a template image.
#
# ## What this run showed
#
# Each lesson above, checked on this run's own numbers (✓ held, ✗ did not hold here):

# %%
run.show_lessons()

# %%
run.save_metrics({
    "toy_scores": [float(s) for s in toy_scores],
    "toy_predicted_class": toy_predicted_class,
    "toy_scores_without_bias": [float(s) for s in W_toy @ x_toy],
    "template_val_acc": template_val_acc,
    "template_sgd_steps": int(cfg.sgd_steps),
})
