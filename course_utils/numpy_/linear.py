"""Linear classifiers in NumPy: scores, the multiclass SVM and softmax losses, gradient checks and
SGD training (taught in 02_linear_scores and 03_svm_softmax_losses, after CS231n assignment 1).

Conventions. 02 writes one example as a column: ``f(x; W, b) = W x + b`` with ``W`` of shape
(C, D). For batches, 03 and this module's losses follow CS231n: examples are **rows** of ``X``
(N, D), the bias is folded in as a last column of ones ("bias trick"), ``W`` has shape (D, C)
and the scores are ``X @ W`` (N, C). The regularisation is ``reg * sum(W**2)`` (gradient
``2 * reg * W``) and, as in CS231n, it also covers the bias row.
"""
from __future__ import annotations

import numpy as np


# -- scores ------------------------------------------------------------------------------------
def linear_scores(x, W, b=None) -> np.ndarray:
    """``W x + b`` for one example ``x`` (D,), or ``X W^T + b`` for rows ``X`` (N, D); ``W`` is (C, D).

    Taught in 02_linear_scores.
    """
    x, W = np.asarray(x, dtype=np.float64), np.asarray(W, dtype=np.float64)
    if W.ndim != 2 or x.shape[-1] != W.shape[1]:
        raise ValueError(f"W must have shape (C, {x.shape[-1]}), got {W.shape}")
    s = x @ W.T
    if b is not None:
        b = np.asarray(b, dtype=np.float64)
        if b.shape != (W.shape[0],):
            raise ValueError(f"b must have shape ({W.shape[0]},), got {b.shape}")
        s = s + b
    return s


def add_bias_column(X) -> np.ndarray:
    """The bias trick: append a 1 to every row, so ``[x, 1] @ [W; b] == x @ W + b``."""
    X = np.asarray(X, dtype=np.float64)
    return np.hstack([X, np.ones((X.shape[0], 1))])


# -- per-example losses on a score matrix (the toy examples) -------------------------------------
def _check_scores(scores, y):
    scores, y = np.atleast_2d(np.asarray(scores, dtype=np.float64)), np.atleast_1d(np.asarray(y))
    if len(scores) != len(y):
        raise ValueError(f"{len(scores)} rows of scores but {len(y)} labels")
    if y.min() < 0 or y.max() >= scores.shape[1]:
        raise ValueError(f"labels must lie in [0, {scores.shape[1] - 1}]")
    return scores, y.astype(np.int64)


def hinge_losses(scores, y, delta: float = 1.0) -> np.ndarray:
    """Multiclass SVM loss of each row: ``sum_{j != y} max(0, s_j - s_y + delta)``."""
    scores, y = _check_scores(scores, y)
    rows = np.arange(len(y))
    margins = np.maximum(0.0, scores - scores[rows, y][:, None] + delta)
    margins[rows, y] = 0.0
    return margins.sum(axis=1)


def softmax_unstable(scores) -> np.ndarray:
    """``exp(s) / sum(exp(s))`` as written on paper: overflows to ``nan`` for scores above ~709."""
    e = np.exp(np.asarray(scores, dtype=np.float64))
    return e / e.sum(axis=-1, keepdims=True)


def softmax(scores) -> np.ndarray:
    """Numerically stable softmax over the last axis: subtracting the row maximum changes
    nothing mathematically (the factor cancels) but keeps every ``exp`` at most 1."""
    s = np.asarray(scores, dtype=np.float64)
    e = np.exp(s - s.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def cross_entropy_losses(scores, y) -> np.ndarray:
    """Softmax (cross-entropy) loss of each row, ``-ln p_y``, computed stably (log-sum-exp)."""
    scores, y = _check_scores(scores, y)
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return -log_p[np.arange(len(y)), y]


# -- full losses with gradients: W (D, C), X (N, D), y (N,) ---------------------------------------
def _check_wxy(W, X, y):
    if W.ndim != 2 or X.ndim != 2 or X.shape[1] != W.shape[0]:
        raise ValueError(f"need W (D, C) and X (N, D) with the same D, got {W.shape} and {X.shape}")
    if len(X) != len(y):
        raise ValueError(f"{len(X)} examples but {len(y)} labels")


def svm_loss_naive(W, X, y, reg: float, delta: float = 1.0):
    """Multiclass SVM loss and gradient with explicit loops (the reference to check against)."""
    _check_wxy(W, X, y)
    dW = np.zeros_like(W)
    loss = 0.0
    num_train, num_classes = X.shape[0], W.shape[1]
    for i in range(num_train):
        scores = X[i].dot(W)
        correct = scores[y[i]]
        for j in range(num_classes):
            if j == y[i]:
                continue
            margin = scores[j] - correct + delta
            if margin > 0:
                loss += margin
                dW[:, j] += X[i]
                dW[:, y[i]] -= X[i]
    loss = loss / num_train + reg * np.sum(W * W)
    dW = dW / num_train + 2 * reg * W
    return loss, dW


def svm_loss_vectorized(W, X, y, reg: float, delta: float = 1.0):
    """Multiclass SVM loss and gradient without loops (same numbers as :func:`svm_loss_naive`)."""
    _check_wxy(W, X, y)
    n = X.shape[0]
    rows = np.arange(n)
    scores = X @ W
    margins = np.maximum(0.0, scores - scores[rows, y][:, None] + delta)
    margins[rows, y] = 0.0
    loss = margins.sum() / n + reg * np.sum(W * W)
    coeff = (margins > 0).astype(X.dtype)          # each positive margin pushes its class up ...
    coeff[rows, y] = -coeff.sum(axis=1)            # ... and the correct class down, once per margin
    dW = X.T @ coeff / n + 2 * reg * W
    return loss, dW


def softmax_loss_naive(W, X, y, reg: float):
    """Softmax loss and gradient with explicit loops (stable: the row maximum is subtracted)."""
    _check_wxy(W, X, y)
    dW = np.zeros_like(W)
    loss = 0.0
    num_train, num_classes = X.shape[0], W.shape[1]
    for i in range(num_train):
        scores = X[i].dot(W)
        scores = scores - np.max(scores)
        p = np.exp(scores) / np.sum(np.exp(scores))
        loss += -np.log(p[y[i]])
        for j in range(num_classes):
            dW[:, j] += (p[j] - (j == y[i])) * X[i]
    loss = loss / num_train + reg * np.sum(W * W)
    dW = dW / num_train + 2 * reg * W
    return loss, dW


def softmax_loss_vectorized(W, X, y, reg: float):
    """Softmax loss and gradient without loops: ``dL/dscores = p - onehot(y)``."""
    _check_wxy(W, X, y)
    n = X.shape[0]
    rows = np.arange(n)
    scores = X @ W
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -log_p[rows, y].mean() + reg * np.sum(W * W)
    dscores = np.exp(log_p)
    dscores[rows, y] -= 1.0
    dW = X.T @ dscores / n + 2 * reg * W
    return loss, dW


# -- gradient checking -------------------------------------------------------------------------
def rel_error(a, b, floor: float = 1e-8) -> np.ndarray:
    """Element-wise relative error ``|a - b| / max(floor, |a| + |b|)``."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return np.abs(a - b) / np.maximum(floor, np.abs(a) + np.abs(b))


def numerical_gradient(f, x: np.ndarray, h: float = 1e-5, indices=None) -> np.ndarray:
    """Centred differences ``(f(x + h e_i) - f(x - h e_i)) / 2h`` at ``indices`` (all if None).

    ``f`` maps the array ``x`` to a scalar; ``x`` is perturbed in place and restored. Returns an
    array shaped like ``x`` (zeros where not evaluated). The centred form has error O(h^2),
    against O(h) for the one-sided ``(f(x+h) - f(x)) / h``.
    """
    if h <= 0:
        raise ValueError("h must be positive")
    grad = np.zeros_like(x, dtype=np.float64)
    it = np.ndindex(x.shape) if indices is None else (tuple(np.atleast_1d(i)) for i in indices)
    for ix in it:
        old = x[ix]
        x[ix] = old + h
        fp = f(x)
        x[ix] = old - h
        fm = f(x)
        x[ix] = old
        grad[ix] = (fp - fm) / (2 * h)
    return grad


def svm_active_margins(W, X, y, delta: float = 1.0) -> np.ndarray:
    """Boolean (N, C): which hinge terms ``max(0, s_j - s_y + delta)`` are switched on."""
    scores = X @ W
    return scores - scores[np.arange(len(y)), y][:, None] + delta > 0


def gradient_check(f, x: np.ndarray, analytic_grad, num_checks: int = 10, h: float = 1e-5, seed: int = 0,
                   kink_state=None):
    """Compare ``analytic_grad`` with centred differences at ``num_checks`` random entries.

    ``kink_state`` (optional) maps ``x`` to an array that changes only where ``f`` has a kink
    (for the SVM: :func:`svm_active_margins`). An entry whose steps ``x +- h`` see different
    states straddles a kink, where a finite difference is meaningless: it is reported but left
    out of the maximum. Returns ``(max_relative_error, table)`` with one row per checked entry:
    ``(index, numerical, analytic, relative_error, straddles_kink)``. Taught in 03.
    """
    analytic_grad = np.asarray(analytic_grad)
    if analytic_grad.shape != x.shape:
        raise ValueError(f"gradient shape {analytic_grad.shape} differs from x's {x.shape}")
    if num_checks < 1:
        raise ValueError("num_checks must be at least 1")
    rng = np.random.default_rng(seed)
    idx = [tuple(int(rng.integers(d)) for d in x.shape) for _ in range(num_checks)]
    num = numerical_gradient(f, x, h=h, indices=idx)
    table = []
    for i in idx:
        kink = False
        if kink_state is not None:
            old = x[i]
            x[i] = old + h
            s_plus = np.array(kink_state(x))
            x[i] = old - h
            s_minus = np.array(kink_state(x))
            x[i] = old
            kink = not np.array_equal(s_plus, s_minus)
        table.append((i, float(num[i]), float(analytic_grad[i]), float(rel_error(num[i], analytic_grad[i])), kink))
    errors = [t[3] for t in table if not t[4]]
    return (max(errors) if errors else float("nan")), table


# -- data preparation and training -----------------------------------------------------------
def prepare_cifar_splits(x_train, y_train, x_test, y_test, n_val: int, n_dev: int = 500, seed: int = 0) -> dict:
    """Rows ready for a linear classifier, as in CS231n: shuffle the training images (an image
    folder is sorted by class), hold out ``n_val`` for validation, draw a small ``dev`` subset for
    quick checks, flatten to float64, subtract the mean training image and append the bias column.
    """
    if not 0 < n_val < len(x_train):
        raise ValueError(f"n_val must be between 1 and {len(x_train) - 1}, got {n_val}")
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(x_train))
    val, tr = order[:n_val], order[n_val:]
    flat = lambda a: np.asarray(a).reshape(len(a), -1).astype(np.float64)
    X_tr, X_val, X_te = flat(x_train[tr]), flat(x_train[val]), flat(x_test)
    mean_image = X_tr.mean(axis=0)
    dev = rng.choice(len(tr), size=min(n_dev, len(tr)), replace=False)
    out = {"mean_image": mean_image}
    for name, X, y in [("train", X_tr, y_train[tr]), ("val", X_val, y_train[val]), ("test", X_te, y_test),
                       ("dev", X_tr[dev], y_train[tr][dev])]:
        out[f"X_{name}"] = add_bias_column(X - mean_image)
        out[f"y_{name}"] = np.asarray(y, dtype=np.int64)
    return out


class LinearClassifier:
    """Scores ``X @ W``; trained by minibatch SGD on a loss ``(W, X, y, reg) -> (loss, dW)``.

    Subclasses :class:`LinearSVM` and :class:`Softmax` pick the loss; ``loss_fn`` replaces it
    (03 trains the softmax classifier with the learner's own vectorised loss that way).
    """

    default_loss = None

    def __init__(self, loss_fn=None, seed: int = 0, weight_scale: float = 1e-4):
        """``weight_scale``: standard deviation of the random initial weights. CS231n uses 1e-3; with
        ``reg`` around 1e4 that makes the first losses almost all regularisation (hundreds), and
        1,500 steps leave a visible trace of the initial noise in the templates; 1e-4 avoids both."""
        self.loss_fn = loss_fn or type(self).default_loss
        if self.loss_fn is None:
            raise ValueError("LinearClassifier needs a loss_fn (or use LinearSVM / Softmax)")
        self.W = None
        self.weight_scale = float(weight_scale)
        self.rng = np.random.default_rng(seed)

    def loss(self, X, y, reg):
        return self.loss_fn(self.W, X, y, reg)

    def train(self, X, y, learning_rate: float = 1e-7, reg: float = 2.5e4, num_iters: int = 1500,
              batch_size: int = 200, verbose: bool = False, print_every: int = 500) -> list[float]:
        """Minibatch SGD (batches drawn with replacement, as in CS231n); returns the loss history."""
        X, y = np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.int64)
        if len(X) != len(y):
            raise ValueError(f"{len(X)} examples but {len(y)} labels")
        if learning_rate <= 0 or num_iters < 1 or batch_size < 1:
            raise ValueError("learning_rate, num_iters and batch_size must be positive")
        num_classes = int(y.max()) + 1
        if self.W is None:
            self.W = self.weight_scale * self.rng.standard_normal((X.shape[1], num_classes))
        history = []
        for it in range(num_iters):
            idx = self.rng.choice(len(X), size=batch_size, replace=True)
            loss, grad = self.loss(X[idx], y[idx], reg)
            self.W -= learning_rate * grad
            history.append(float(loss))
            if verbose and (it % print_every == 0 or it == num_iters - 1):
                print(f"iteration {it:5d} / {num_iters}: loss {loss:.4f}")
        return history

    def predict(self, X) -> np.ndarray:
        if self.W is None:
            raise RuntimeError("train the classifier before predicting")
        return np.argmax(np.asarray(X) @ self.W, axis=1)

    def accuracy(self, X, y) -> float:
        return float(np.mean(self.predict(X) == np.asarray(y)))


class LinearSVM(LinearClassifier):
    """Linear classifier trained with the multiclass SVM (hinge) loss."""
    default_loss = staticmethod(svm_loss_vectorized)


class Softmax(LinearClassifier):
    """Linear classifier trained with the softmax (cross-entropy) loss."""
    default_loss = staticmethod(softmax_loss_vectorized)


def search_hyperparameters(make_model, data: dict, learning_rates, regularization_strengths,
                           num_iters: int, batch_size: int):
    """Train one model per (learning rate, regularisation) pair on ``data['X_train']`` and score it
    on ``data['X_val']``. Returns ``(results, best_model, best_history)`` where ``results`` is a
    list of dicts (lr, reg, train_acc, val_acc, final_loss)."""
    results, best, best_hist, best_val = [], None, None, -1.0
    for lr in learning_rates:
        for reg in regularization_strengths:
            model = make_model()
            hist = model.train(data["X_train"], data["y_train"], learning_rate=lr, reg=reg,
                               num_iters=num_iters, batch_size=batch_size)
            val = model.accuracy(data["X_val"], data["y_val"])
            results.append({"lr": lr, "reg": reg, "train_acc": model.accuracy(data["X_train"], data["y_train"]),
                            "val_acc": val, "final_loss": hist[-1]})
            if val > best_val:
                best, best_hist, best_val = model, hist, val
    return results, best, best_hist


# -- figures -----------------------------------------------------------------------------------
def weight_templates(W, image_shape=(32, 32, 3)) -> list[np.ndarray]:
    """Each class's weights (drop the bias row) rescaled to 0..255 uint8 images.

    ``W`` is (D or D+1, C) as in 03, or (C, D) as in 02 (``W.shape[0]`` equal to the class count)."""
    W = np.asarray(W, dtype=np.float64)
    D = int(np.prod(image_shape))
    if W.shape[0] not in (D, D + 1):
        W = W.T
    if W.shape[0] not in (D, D + 1):
        raise ValueError(f"W must have {D} or {D + 1} rows (or columns), got {W.shape}")
    out = []
    for c in range(W.shape[1]):
        w = W[:D, c].reshape(image_shape)
        out.append(np.round(255.0 * (w - w.min()) / max(w.max() - w.min(), 1e-12)).astype(np.uint8))
    return out


def plot_decision_lines(X, y, W, b, ax=None, class_names=None, title: str = ""):
    """A 2-D toy set with the regions where each class scores highest and, for each class, the
    line where its score ``w_c . x + b_c`` is zero (arrow: the direction ``w_c`` in which it grows).
    Taught in 02_linear_scores (the geometric view)."""
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap

    W, b = np.asarray(W, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if ax is None:
        _, ax = plt.subplots(figsize=(4, 4))
    lim = 3.0
    gx, gy = np.meshgrid(np.linspace(-lim, lim, 300), np.linspace(-lim, lim, 300))
    region = np.argmax(np.c_[gx.ravel(), gy.ravel()] @ W.T + b, axis=1).reshape(gx.shape)
    colors = [f"C{c}" for c in range(len(W))]
    ax.contourf(gx, gy, region, levels=np.arange(len(W) + 1) - 0.5, cmap=ListedColormap(colors), alpha=0.15)
    t = np.linspace(-lim, lim, 2)
    for c, (w, bc) in enumerate(zip(W, b)):
        if abs(w[1]) > 1e-9:
            ax.plot(t, -(w[0] * t + bc) / w[1], color=colors[c], lw=1.5)
        else:
            ax.axvline(-bc / w[0], color=colors[c], lw=1.5)
        p0 = -bc * w / (w @ w)  # the point of the zero line closest to the origin
        ax.annotate("", xy=p0 + 0.8 * w / np.linalg.norm(w), xytext=p0,
                    arrowprops=dict(arrowstyle="->", color=colors[c], lw=1.5))
    for c in range(len(W)):
        ax.scatter(*X[y == c].T, color=colors[c], edgecolor="k", s=25,
                   label=class_names[c] if class_names is not None else f"class {c}")
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    ax.set_title(title, fontsize=9)
    return ax


def plot_forward_diagram(loss: str = "SVM or softmax"):
    """Boxes and arrows: pixels -> scores -> data loss, plus regularisation -> total loss. Taught in 03."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 3.6))
    ax.axis("off")
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 3.7)
    box = dict(boxstyle="round,pad=0.4", fc="#eef4fb", ec="tab:blue")
    wbox = dict(boxstyle="round,pad=0.4", fc="#fdf2e6", ec="tab:orange")
    nodes = {
        "x": (1.0, 2.3, "image x\n32x32x3 pixels\n-> 3072 values\n(+1 for the bias)", box),
        "W": (1.0, 0.6, "weights W\n3073 x 10", wbox),
        "s": (3.7, 2.3, "scores\ns = x W\n(10 numbers)", box),
        "y": (6.2, 3.4, "true label y", box),
        "L": (6.2, 2.3, f"data loss L_i\n({loss})", box),
        "R": (6.2, 0.6, "regulariser\nR(W) = reg * sum W^2", wbox),
        "T": (8.9, 1.45, "total loss\nL = mean_i L_i\n+ R(W)", box),
    }
    texts = {k: ax.text(x, yy, t, ha="center", va="center", fontsize=9, bbox=style)
             for k, (x, yy, t, style) in nodes.items()}
    for a, b in [("x", "s"), ("W", "s"), ("s", "L"), ("y", "L"), ("L", "T"), ("R", "T"), ("W", "R")]:
        ax.annotate("", xy=nodes[b][:2], xytext=nodes[a][:2],
                    arrowprops=dict(arrowstyle="->", lw=1.3, color="0.3", shrinkA=2, shrinkB=2,
                                    patchA=texts[a].get_bbox_patch(), patchB=texts[b].get_bbox_patch()))
    ax.set_title("Forward pass: from pixels to one number to minimise (the gradient flows back along the arrows)",
                 fontsize=10)
    fig.tight_layout()
    return fig
