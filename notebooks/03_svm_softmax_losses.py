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
# # 03 · Loss functions: multiclass SVM and softmax, and training them with SGD
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/cnn-course/cnn-image-classification/blob/main/notebooks/03_svm_softmax_losses.ipynb)
#
# **You will be able to**
# - compute the multiclass SVM (hinge) loss and the softmax (cross-entropy) loss by hand and in NumPy;
# - explain what L2 regularisation prefers, and why softmax must subtract the maximum score;
# - write both losses and their gradients with loops and without, verify a gradient numerically, and
#   cross-check both against PyTorch;
# - train linear classifiers on CIFAR-10 with minibatch SGD, tuning the learning rate and regularisation
#   strength on a validation split, and read the learned weights as class templates.
#
# **Data.** CIFAR-10 through `run.get_data("cifar10")` (the official archive, or a folder of images with
# `data_dir`). **Runs in** under a minute (`smoke`) and under a minute (`laptop`, 2 CPU cores).
#
# **Stored outputs** come from a `laptop` run on a folder of CIFAR-10 as JPEG files, 1,000 training
# and 200 test images per class, on a shared 2-CPU-core machine: 9,000 training,
# 1,000 validation and 1,000 test images, against CS231n's 49,000 / 1,000 / 1,000 on the official data. The
# numbers are real but not the official benchmark numbers.

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
n_train = None                  # training images (CS231n: 49,000)
n_val = None                    # validation images, held out from the training images
n_test = None                   # test images
num_iters = None                # SGD iterations per training run
batch_size = None               # minibatch size
learning_rates = None           # the grid searched on the validation split ...
regularization_strengths = None  # ... times this one

# %%
import course_utils  # import before TensorFlow: see 00_setup

run = course_utils.setup_notebook("03_svm_softmax_losses", profile=profile, data_source=data_source,
                                  data_dir=data_dir, output_dir=output_dir, seed=seed, tiny=tiny, n_train=n_train,
                                  n_val=n_val, n_test=n_test, num_iters=num_iters, batch_size=batch_size,
                                  learning_rates=learning_rates, regularization_strengths=regularization_strengths)
cfg = run.cfg

# %%
import numpy as np
import pandas as pd

from course_utils.numpy_ import linear
from course_utils.numpy_.knn import limit_blas_threads, time_call

blas_limit = limit_blas_threads(1)  # loops vs vectorised code on equal terms, stable timings (see 01)

# %% [markdown]
# ## 1. The multiclass SVM loss
#
# Notebook 02 ended with a score function and bad weights. A **loss** turns "bad" into a number. The
# multiclass SVM loss of example $i$ with scores $s = f(x_i; W)$ and correct class $y_i$ is
#
# $$L_i = \sum_{j \ne y_i} \max\left(0,\; s_j - s_{y_i} + \Delta\right), \qquad \Delta = 1 :$$
#
# every wrong class whose score is not at least $\Delta$ below the correct one adds the amount by which it
# violates that margin. CS231n's example: three images (cat, car, frog), three classes, these scores:

# %%
# NBVAL_CHECK_OUTPUT
toy_classes = ["cat", "car", "frog"]
toy_scores = np.array([[3.2, 5.1, -1.7],    # a cat image (correct class: cat)
                       [1.3, 4.9, 2.0],     # a car image (correct class: car)
                       [2.2, 2.5, -3.1]])   # a frog image (correct class: frog)
toy_y = np.array([0, 1, 2])
hinge = linear.hinge_losses(toy_scores, toy_y, delta=1.0)
for name, loss in zip(toy_classes, hinge):
    print(f"{name:5s} image: L_i = {loss:.2f}")
svm_toy_loss = float(hinge.mean())
print(f"mean loss L = {svm_toy_loss:.2f}")

# %% [markdown]
# For the cat image: $\max(0, 5.1 - 3.2 + 1) + \max(0, -1.7 - 3.2 + 1) = 2.9 + 0$. The car image is classified
# with a margin to spare: 0. The frog image is badly wrong: $6.3 + 6.6 = 12.9$. The mean, 5.27, is the data loss.
#
# ### Regularisation: which of the many good W?
#
# If $W$ has zero loss, so has $2W$ (all margins double). A **regulariser** $R(W) = \lambda \sum W^2$ (L2)
# added to the loss removes the ambiguity and prefers small, *spread-out* weights. CS231n's example: for the
# input $x = (1, 1, 1, 1)$, the weights $w_1 = (1, 0, 0, 0)$ and $w_2 = (0.25, 0.25, 0.25, 0.25)$ give the
# same score, but not the same penalty:

# %%
# NBVAL_CHECK_OUTPUT
x_reg = np.ones(4)
w1, w2 = np.array([1.0, 0.0, 0.0, 0.0]), np.full(4, 0.25)
print(f"w1.x = {w1 @ x_reg}, w2.x = {w2 @ x_reg}")
print(f"L2 penalty: w1 {np.sum(w1**2)}, w2 {np.sum(w2**2)}")

# %% [markdown]
# L2 prefers $w_2$ (0.25 < 1): it uses all inputs a little rather than one input a lot, which generalises
# better, because no single pixel decides. The full loss is $L = \frac{1}{N}\sum_i L_i + \lambda \sum W^2$.
#
# ## 2. The softmax classifier and the cross-entropy loss
#
# Softmax reads the scores as unnormalised log-probabilities: exponentiate, normalise, and charge
# $L_i = -\ln p_{y_i}$, the negative log-likelihood of the correct class. For the cat image:

# %%
# NBVAL_CHECK_OUTPUT
cat_scores = toy_scores[0]
print("exp(scores)   :", np.round(np.exp(cat_scores), 2))
p = linear.softmax(cat_scores)
print("probabilities :", np.round(p, 2))
softmax_toy_loss = float(-np.log(p[0]))
print(f"L_cat = -ln p_cat = -ln {p[0]:.2f} = {softmax_toy_loss:.2f}")
print(f"(-log10 p_cat = {-np.log10(p[0]):.2f})")

# %% [markdown]
# The loss is **2.04**. The CS231n figure prints 0.89 for the same example: that is $-\log_{10} 0.13$, the
# base-10 logarithm. The cross-entropy loss uses the natural logarithm (its gradient is then simply
# $p - \text{one-hot}(y)$), and so do PyTorch and Keras.
#
# ### Numerical stability
#
# Written naively, softmax overflows: $e^{710}$ is already beyond float64's range. Scores of a few hundred
# are common with raw pixel inputs. Subtracting the row's maximum score first changes nothing
# mathematically (the factor $e^{-\max}$ cancels between numerator and denominator) but keeps every
# exponential at most 1.

# %%
# NBVAL_CHECK_OUTPUT
big = np.array([123.0, 456.0, 789.0])
with np.errstate(over="ignore", invalid="ignore"):
    print("naive  softmax([123, 456, 789]) =", linear.softmax_unstable(big))
    print("naive  softmax([1000, 1001])    =", linear.softmax_unstable(np.array([1000.0, 1001.0])))
print("stable softmax([123, 456, 789]) =", linear.softmax(big))
print("stable softmax([1000, 1001])    =", np.round(linear.softmax(np.array([1000.0, 1001.0])), 4))

# %% [markdown]
# $e^{789}$ is `inf`, and `inf / inf` is `nan`; the stable version returns the right answer. Every loss below
# (and every deep-learning framework) uses the stable form, usually as "log-sum-exp".
#
# ## 3. From pixels to loss
#
# The full forward computation for one CIFAR-10 image, which the gradient will run backwards:

# %%
linear.plot_forward_diagram();

# %% [markdown]
# ## 4. The data
#
# As in CS231n: a training split, a validation split held out from the training images (for choosing
# hyperparameters), the test split (used once, at the end) and a small *development* subset of the training
# data for fast checks. Inputs are flattened, the mean training image is subtracted (so that pixels are
# centred at zero), and a 1 is appended (the bias trick of 02). The helper shuffles before splitting, because
# an image folder is sorted by class.

# %%
from course_utils.data.datasets import CIFAR10_CLASSES as classes
from course_utils.data.datasets import load_cifar10
from course_utils.plots import plot_loss_curves, show_images

info = run.get_data("cifar10", data_dir=data_dir)
x_all, y_all, x_test, y_test = load_cifar10(info, n_train=cfg.n_train + cfg.n_val, n_test=cfg.n_test, seed=seed)
data = linear.prepare_cifar_splits(x_all, y_all, x_test, y_test, n_val=cfg.n_val, n_dev=500, seed=seed)
run.set_counts("cifar10", train=len(data["X_train"]), val=len(data["X_val"]), test=len(data["X_test"]))
for split in ("train", "val", "test", "dev"):
    print(f"{split:5s}: X {data['X_' + split].shape}, y {data['y_' + split].shape}")

# %% [markdown]
# ## 5. Loss and gradient: loops first, then vectorised
#
# `course_utils.numpy_.linear` has each loss twice: a *naive* version with explicit loops over examples and
# classes, easy to read and to trust, and a *vectorised* one, a few array operations. The naive one is the
# reference the fast one must match, to 1e-9 in float64. Here $W$ is stored as (3073, 10), so that a batch of
# rows times $W$ gives one row of scores per example (the transpose of 02's $W$).
#
# For the SVM, each positive margin $s_j - s_{y_i} + 1$ contributes $+x_i$ to column $j$ of the gradient and
# $-x_i$ to column $y_i$. For softmax, $\partial L_i / \partial s = p - \text{one-hot}(y_i)$, so
# $\partial L / \partial W = X^\top (P - Y) / N$.

# %%
W0 = 0.0001 * np.random.default_rng(seed).standard_normal((3073, 10))
X_dev, y_dev = data["X_dev"], data["y_dev"]
reg_check = 5e1
rows, speedups = [], {}
for name, naive, vectorized in [("svm", linear.svm_loss_naive, linear.svm_loss_vectorized),
                                ("softmax", linear.softmax_loss_naive, linear.softmax_loss_vectorized)]:
    (loss_n, grad_n), t_naive = time_call(naive, W0, X_dev, y_dev, reg_check)
    (loss_v, grad_v), t_vec = time_call(vectorized, W0, X_dev, y_dev, reg_check, repeats=3)
    speedups[name] = t_naive / t_vec
    rows.append({"loss": name, "naive loss": loss_n, "|loss difference|": abs(loss_n - loss_v),
                 "max |grad difference|": np.abs(grad_n - grad_v).max(), "naive s": t_naive,
                 "vectorised s": t_vec, "speed-up": speedups[name]})
loop_table = pd.DataFrame(rows).set_index("loss")
worst = max(max(r["|loss difference|"], r["max |grad difference|"]) for r in rows)
run.lesson("vectorized_equals_loops", "The vectorised losses and gradients equal the loop versions (to 1e-9)",
           worst < 1e-9, f"largest difference {worst:.1e}; speed-ups " +
           ", ".join(f"{k} {v:.0f}x" for k, v in speedups.items()))
with pd.option_context("display.float_format", "{:.3g}".format):
    display(loop_table)

# %% [markdown]
# Both pairs agree to far better than 1e-9. With small random weights every score is near 0, so the SVM loss
# starts near 9 (nine margins of about 1) and the softmax loss near $\ln 10 \approx 2.30$ (ten equal
# probabilities): a quick sanity check worth doing for every new classifier. The speed-ups (timed on 500
# images, one core) show why the vectorised versions are the ones we train with.
#
# ### Cross-check with PyTorch
#
# Frameworks compute the same losses, and their automatic differentiation gives the gradient without any
# derivation by hand. `torch.nn.functional.cross_entropy` is exactly our softmax loss (natural log, mean over
# examples). `multi_margin_loss` is the multiclass SVM loss **divided by the number of classes** (PyTorch's
# convention), so we multiply it back by 10. The regulariser is added by hand in both cases.

# %%
import torch
import torch.nn.functional as F

Wt = torch.tensor(W0, requires_grad=True)
torch_diff = {}
Xt, yt = torch.from_numpy(X_dev), torch.from_numpy(y_dev)
for name, torch_loss, ours in [
        ("softmax", lambda s: F.cross_entropy(s, yt), linear.softmax_loss_vectorized),
        ("svm", lambda s: F.multi_margin_loss(s, yt, p=1, margin=1.0) * s.shape[1], linear.svm_loss_vectorized)]:
    Wt.grad = None
    loss_t = torch_loss(Xt @ Wt) + reg_check * (Wt**2).sum()
    loss_t.backward()
    loss_np, grad_np = ours(W0, X_dev, y_dev, reg_check)
    torch_diff[name] = max(abs(loss_t.item() - loss_np), np.abs(Wt.grad.numpy() - grad_np).max())
    print(f"{name:8s} PyTorch loss {loss_t.item():.6f}  ours {loss_np:.6f}  "
          f"max |grad difference| {np.abs(Wt.grad.numpy() - grad_np).max():.1e}")
run.lesson("same_as_pytorch", "Our losses and gradients equal PyTorch's (cross_entropy, multi_margin_loss x 10)",
           max(torch_diff.values()) < 1e-9, ", ".join(f"{k} largest difference {v:.1e}" for k, v in torch_diff.items()))

# %% [markdown]
# ## 6. Gradient check
#
# An analytic gradient with a sign error still "trains", only badly. We compare it with centred differences,
#
# $$\frac{\partial L}{\partial W_k} \approx \frac{L(W + h e_k) - L(W - h e_k)}{2h},$$
#
# at 20 random entries, and report the relative error $|a - n| / (|a| + |n|)$. Two details matter here:
#
# - the inputs are raw (centred) pixel values of up to ±255, so a step $h$ in one weight moves a score by up
#   to about $255h$. We use $h = 10^{-6}$: small enough that the softmax's curvature error ($O(h^2)$) stays
#   below $10^{-7}$, large enough to avoid float64 rounding noise;
# - the SVM loss has **kinks** (where a margin is exactly 0), where it has no derivative. If the steps
#   $W \pm h e_k$ switch a margin on or off, the finite difference straddles a kink and means nothing. The
#   check detects that (the set of active margins differs at the two steps) and reports such entries
#   separately instead of counting them.

# %%
h = 1e-6
svm_f = lambda w: linear.svm_loss_vectorized(w, X_dev, y_dev, reg_check)[0]
soft_f = lambda w: linear.softmax_loss_vectorized(w, X_dev, y_dev, reg_check)[0]
err_svm, table_svm = linear.gradient_check(svm_f, W0, linear.svm_loss_vectorized(W0, X_dev, y_dev, reg_check)[1],
                                           num_checks=20, h=h, seed=seed,
                                           kink_state=lambda w: linear.svm_active_margins(w, X_dev, y_dev))
err_soft, table_soft = linear.gradient_check(soft_f, W0, linear.softmax_loss_vectorized(W0, X_dev, y_dev,
                                                                                         reg_check)[1],
                                             num_checks=20, h=h, seed=seed)
with pd.option_context("display.float_format", "{:.3e}".format):
    print(pd.DataFrame(table_svm[:5], columns=["entry", "numerical", "analytic", "relative error", "kink"]))
print(f"\nSVM:     max relative error {err_svm:.2e}  ({sum(t[4] for t in table_svm)} of 20 entries straddled a kink)")
print(f"softmax: max relative error {err_soft:.2e}")
run.lesson("gradient_check", "Analytic gradients match centred differences: relative error below 1e-7",
           err_svm < 1e-7 and err_soft < 1e-7, f"SVM {err_svm:.1e}, softmax {err_soft:.1e} (20 entries each)")

# %% [markdown]
# Both are well below $10^{-7}$: the analytic gradients are right. (A relative error around $10^{-2}$ would
# mean a bug, or, for the SVM, a kink.)
#
# ### Exercise: the vectorised SVM loss
#
# Write `svm_loss(W, X, y, reg)` returning `(loss, dW)` without loops over examples or classes. The
# checker compares it with loops (margin 1), with `W = 0` (every score ties), with a margin of exactly 0
# (it does not count), and with and without regularisation.

# %%
def svm_loss(W, X, y, reg):
    """Multiclass SVM loss (margin 1) and its gradient, vectorised.

    W: (D, C); X: (N, D); y: (N,) labels in 0..C-1; reg: regularisation strength.
    Returns (loss, dW): the mean over examples of sum_{j != y_i} max(0, s_j - s_{y_i} + 1), plus
    reg * np.sum(W * W); dW has W's shape.
    """
    # Hints: scores = X @ W; correct = scores[np.arange(N), y][:, None]; margins = np.maximum(0, ...);
    # zero the margins of the correct classes; for the gradient, an (N, C) matrix of coefficients: 1 where
    # a margin is positive, minus the row's count of positive margins in the correct column; dW = X.T @ it / N.
    raise NotImplementedError("write svm_loss")


# %%
from course_utils.exercises import use  # runs the checker; falls back to the reference if needed

svm_loss = use("03.svm_loss", svm_loss)
print(f"SVM loss at W0: {svm_loss(W0, X_dev, y_dev, reg_check)[0]:.4f} (about 9: nine margins of about 1)")

# %% [markdown]
# ### Exercise: the vectorised softmax loss
#
# Write `softmax_loss(W, X, y, reg)` returning `(loss, dW)` without loops over examples or classes. The
# checker compares your loss and gradient with PyTorch's `cross_entropy` and autograd, on small cases,
# with regularisation, with tied scores and with **large scores** (a softmax that does not subtract the
# row maximum overflows there). Section 8 trains the softmax classifier **with your function** once it
# passes, and with the course's otherwise.

# %%
def softmax_loss(W, X, y, reg):
    """Softmax (cross-entropy) loss and its gradient, vectorised.

    W: (D, C); X: (N, D); y: (N,) labels in 0..C-1; reg: regularisation strength.
    Returns (loss, dW): the mean over examples of -log p[y_i] plus reg * np.sum(W * W); dW has W's shape.
    """
    # Hints: scores = X @ W; subtract each row's maximum (keepdims=True) so np.exp cannot overflow;
    # log p = shifted - log(sum(exp(shifted))); the gradient of the data term is X.T @ (P - Y) / N with Y
    # the one-hot labels, and the regulariser adds 2 * reg * W.
    raise NotImplementedError("write softmax_loss")


# %%
softmax_loss = use("03.softmax_loss", softmax_loss)
print(f"softmax loss at W0: {softmax_loss(W0, X_dev, y_dev, reg_check)[0]:.4f} (near ln 10 = 2.30)")

# %% [markdown]
# ## 7. Training the SVM with minibatch SGD
#
# Stochastic gradient descent repeats: draw a minibatch of `batch_size` examples, compute loss and gradient on
# it, step $W \leftarrow W - \eta \nabla_W L$. Two hyperparameters matter most: the learning rate $\eta$ and the
# regularisation strength $\lambda$. We train one model per pair on the training split and keep the one with
# the best **validation** accuracy; the test split is not looked at until the end.

# %%
with run.timer("svm_search"):
    svm_results, svm_model, svm_history = linear.search_hyperparameters(
        lambda: linear.LinearSVM(seed=seed), data, cfg.learning_rates, cfg.regularization_strengths,
        num_iters=cfg.num_iters, batch_size=cfg.batch_size)
svm_table = pd.DataFrame(svm_results).set_index(["lr", "reg"])
svm_val_acc = float(svm_table["val_acc"].max())
display(svm_table.round(3))
print(f"best SVM validation accuracy: {svm_val_acc:.3f}  ({run.timings['svm_search']:.0f} s for the search)")

# %% [markdown]
# ### Exercise: one SGD step
#
# The training loop above repeats one update. Write it: `sgd_step(W, dW, learning_rate)` returns the new
# weights. (The classifiers here have it built in; the check tells you whether yours moves the right way.)

# %%
def sgd_step(W, dW, learning_rate):
    """One step of (minibatch) gradient descent: return the updated weights, same shape as W."""
    # Hint: the gradient points uphill.
    raise NotImplementedError("write sgd_step")


# %%
sgd_step = use("03.sgd_step", sgd_step)

# %% [markdown]
# ## 8. Training the softmax classifier (with your loss)
#
# `softmax_loss` is your function if it passed its check, the course's otherwise.

# %%
with run.timer("softmax_search"):
    softmax_results, softmax_model, softmax_history = linear.search_hyperparameters(
        lambda: linear.LinearClassifier(loss_fn=softmax_loss, seed=seed), data, cfg.learning_rates,
        cfg.regularization_strengths, num_iters=cfg.num_iters, batch_size=cfg.batch_size)
softmax_table = pd.DataFrame(softmax_results).set_index(["lr", "reg"])
softmax_val_acc = float(softmax_table["val_acc"].max())
display(softmax_table.round(3))
print(f"best softmax validation accuracy: {softmax_val_acc:.3f}")

# %% [markdown]
# The loss curves of the two best models: noisy (each faint point is one minibatch; the solid line is a moving
# average), falling fast at first as the weights pick up the coarse colour statistics of each class, then
# flattening as the regularisation term and the data term balance. A curve that rises or explodes means the
# learning rate is too large; one still falling steeply at the end means more iterations would help.

# %%
plot_loss_curves({"SVM (best)": svm_history, "softmax (best)": softmax_history}, window=25, log=True,
                 xlabel="SGD iteration", ylabel="loss (data + regularisation)",
                 title="training loss of the selected models");

# %% [markdown]
# Only now, with the hyperparameters fixed, the test split:

# %%
svm_test_acc = svm_model.accuracy(data["X_test"], data["y_test"])
softmax_test_acc = softmax_model.accuracy(data["X_test"], data["y_test"])
print(f"SVM:     validation {svm_val_acc:.3f}   test {svm_test_acc:.3f}")
print(f"softmax: validation {softmax_val_acc:.3f}   test {softmax_test_acc:.3f}")
print("(kNN in 01 reached roughly 0.25-0.30; chance is 0.10)")
run.lesson("beats_chance_far", "Both trained linear classifiers beat chance (0.10) by far: at least 0.25 on test",
           min(svm_test_acc, softmax_test_acc) >= 0.25,
           f"test accuracy SVM {svm_test_acc:.3f}, softmax {softmax_test_acc:.3f} on {len(data['y_test'])} images")

# %% [markdown]
# **What to expect.** CS231n, with all 49,000 training images of the official data, reports about 0.39
# validation accuracy for the SVM and at least 0.35 for softmax. This course's `laptop` profile can use at most
# 9,000 training images (the local JPEG export has 10,000 in total, and 1,000 go to validation). Compare the
# validation and test accuracies this run printed above with CS231n's: a linear classifier has few
# parameters, so five times more data helps it only a little. The hyperparameters the search picked are in
# the tables above (and in the metrics); with less data, the balance between fitting and regularising shifts.
# Validation and test accuracies on 1,000 images each carry about ±1.5 points of sampling noise, so the
# SVM-vs-softmax order can flip between runs. Run the `full` profile on the official data to compare with
# CS231n's numbers.
#
# ## 9. What the classifiers learned
#
# Each column of $W$ (minus the bias) is a class template (as in 02):

# %%
show_images(linear.weight_templates(svm_model.W), titles=classes, ncols=10, size=1.2, suptitle="SVM templates");
show_images(linear.weight_templates(softmax_model.W), titles=classes, ncols=10, size=1.2,
            suptitle="softmax templates");

# %% [markdown]
# The templates are blurry colour layouts, the average appearance of each class: blue for airplane and ship
# (sky, sea, with darker water at the bottom of ship), green for bird, deer and frog (foliage, grass; a brown
# blob in the middle for deer, a yellow-green one for frog), a car front with a dark lower band for automobile
# and truck, a brown body on green ground for horse. The softmax templates are smoother than the SVM's: the
# hinge loss stops caring about an example once its margin is met, so fewer images shape each template.
# They show what a linear classifier on pixels *can* learn, one average picture per class, and why it stalls
# below 40%: a single template cannot cover a class that comes in many colours, poses and backgrounds. The
# convolutional networks of the following notebooks learn many small, shared templates (filters) and
# combine them, which is what lets them go far beyond any linear classifier on pixels.

# %%
blas_limit.restore_original_limits()

# %% [markdown]
# ## Questions
#
# Answer each in two or three sentences before you open the model answer.
#
# **1. At initialisation, with tiny random weights, why is the SVM loss about 9 and the softmax loss about 2.3 on CIFAR-10?**
#
# <details><summary>Answer</summary>
#
# All ten scores are close to 0. Each of the nine wrong classes then has a margin of about
# 0 - 0 + 1 = 1, so the SVM loss is about 9. The softmax gives each class probability about 1/10, so
# the loss is -ln(1/10) = ln 10 ≈ 2.30. A different first loss points to a bug.
#
# </details>
#
# **2. Why does a softmax implementation subtract the largest score before taking `exp`, and why does that not change the result?**
#
# <details><summary>Answer</summary>
#
# exp of a score above about 710 overflows float64 to inf, and inf / inf is nan. Subtracting the same
# constant from every score of a row multiplies numerator and denominator of the softmax by the same
# factor exp(-max), so the probabilities are unchanged, and the largest shifted score is 0, so nothing
# overflows.
#
# </details>
#
# **3. In the two tables above, the validation accuracy only falls as the regularisation strength
# grows, and both searches pick its smallest value, the edge of the grid. What does that tell you,
# and what would you try next?**
#
# <details><summary>Answer</summary>
#
# That even the grid's weakest penalty (1e4) may already be too strong for this small training set
# and few iterations: a search whose best value lies on the edge of its grid has not shown where the
# optimum is. Extend the grid past the edge (5e3, 2.5e3, ...) until the accuracy turns down again.
# It should: without regularisation the weights fit details of the training images (noise
# included), which do not carry over to new images; a moderate penalty keeps the templates smooth
# and general; too strong a penalty dominates the data term, shrinks the weights towards zero, and
# the classifier underfits, which is the side of the curve this grid shows.
#
# </details>

# %% [markdown]
# ## Summary
#
# - SVM loss on the toy example: 2.9, 0, 12.9, mean 5.27. Softmax loss of the cat image: 2.04 (natural log;
#   0.89 is log10). Stable softmax subtracts the maximum.
# - Loops and vectorised code agree to 1e-9; centred-difference gradient checks agree below 1e-7 (away from
#   the SVM's kinks).
# - SGD with a validation-tuned learning rate and regularisation gives a linear classifier far above
#   chance on CIFAR-10 (on `laptop`, in the 30s of percent): still far from learned features.
#
# ## What this run showed
#
# Each lesson above, checked on this run's own numbers (✓ held, ✗ did not hold here):

# %%
run.show_lessons()

# %%
run.save_metrics({
    "svm_toy_loss": svm_toy_loss,
    "svm_toy_losses": [float(v) for v in hinge],
    "softmax_toy_loss": softmax_toy_loss,
    "gradcheck_max_rel_error_svm": float(err_svm),
    "gradcheck_max_rel_error_softmax": float(err_soft),
    "gradcheck_svm_kink_entries": int(sum(t[4] for t in table_svm)),
    "svm_val_acc": svm_val_acc,
    "softmax_val_acc": softmax_val_acc,
    "svm_test_acc": svm_test_acc,
    "softmax_test_acc": softmax_test_acc,
    "svm_best_hparams": [float(v) for v in svm_table["val_acc"].idxmax()],
    "softmax_best_hparams": [float(v) for v in softmax_table["val_acc"].idxmax()],
    "vectorized_speedup_svm": speedups["svm"],
    "vectorized_speedup_softmax": speedups["softmax"],
    "n_train": len(data["X_train"]),
})
