"""k-nearest-neighbour classification in NumPy (taught in 01_knn_cifar10).

:class:`KNearestNeighbor` follows CS231n assignment 1: ``train`` only memorises the data, L2
distances are computed three ways (two loops, one loop, no loops) so their speed can be compared,
L1 is an option, and ``predict_labels`` takes a majority vote among the ``k`` nearest training
images. **Tie rule:** when several labels get the same number of votes, the smallest label index
wins (``np.argmax`` of the vote counts returns the first maximum) -- the rule scikit-learn's
``KNeighborsClassifier`` uses too, so the two agree prediction for prediction.
"""
from __future__ import annotations

import time

import numpy as np


def _as_rows(X) -> np.ndarray:
    """Images (N, 32, 32, 3) or rows (N, D) -> float64 rows (N, D)."""
    X = np.asarray(X)
    if X.ndim < 2:
        raise ValueError(f"expected a batch of images or rows, got an array of shape {X.shape}")
    return X.reshape(len(X), -1).astype(np.float64, copy=False)


def l2_distances_two_loops(X_test, X_train) -> np.ndarray:
    """L2 distances with a Python loop over test *and* training rows (the slowest way)."""
    X_test, X_train = _as_rows(X_test), _as_rows(X_train)
    dists = np.zeros((len(X_test), len(X_train)))
    for i in range(len(X_test)):
        for j in range(len(X_train)):
            dists[i, j] = np.sqrt(np.sum((X_test[i] - X_train[j]) ** 2))
    return dists


def l2_distances_one_loop(X_test, X_train) -> np.ndarray:
    """L2 distances with one loop over test rows; broadcasting handles all training rows."""
    X_test, X_train = _as_rows(X_test), _as_rows(X_train)
    dists = np.zeros((len(X_test), len(X_train)))
    for i in range(len(X_test)):
        dists[i, :] = np.sqrt(np.sum((X_train - X_test[i]) ** 2, axis=1))
    return dists


def l2_distances_no_loops(X_test, X_train) -> np.ndarray:
    """L2 distances without loops: ``||a-b||^2 = ||a||^2 - 2 a.b + ||b||^2`` (one matrix product).

    Rounding can make a tiny squared distance slightly negative, so it is clipped at 0 before the
    square root. For uint8 pixels every term is an integer below 2**53, so in float64 the result
    equals the loop versions exactly.
    """
    X_test, X_train = _as_rows(X_test), _as_rows(X_train)
    sq = X_test @ X_train.T                                  # the one big computation: a.b for all pairs
    sq *= -2.0
    sq += np.einsum("ij,ij->i", X_test, X_test)[:, None]     # ||a||^2 (einsum: no temporary copy of X)
    sq += np.einsum("ij,ij->i", X_train, X_train)[None, :]   # ||b||^2
    np.maximum(sq, 0.0, out=sq)
    return np.sqrt(sq, out=sq)


def l1_distances(X_test, X_train) -> np.ndarray:
    """L1 (Manhattan) distances, one loop over test rows (no matrix-product shortcut exists)."""
    X_test, X_train = _as_rows(X_test), _as_rows(X_train)
    dists = np.zeros((len(X_test), len(X_train)))
    for i in range(len(X_test)):
        dists[i, :] = np.sum(np.abs(X_train - X_test[i]), axis=1)
    return dists


L2_METHODS = {"two_loops": l2_distances_two_loops, "one_loop": l2_distances_one_loop,
              "no_loops": l2_distances_no_loops}


def majority_vote(neighbour_labels, n_classes: int | None = None) -> np.ndarray:
    """Most frequent label in each row of ``neighbour_labels`` (n, k); ties -> smallest label."""
    lab = np.asarray(neighbour_labels, dtype=np.int64)
    if lab.ndim != 2 or lab.shape[1] == 0:
        raise ValueError(f"neighbour_labels must have shape (n, k) with k >= 1, got {lab.shape}")
    if (lab < 0).any():
        raise ValueError("labels must be non-negative integers")
    n_classes = int(lab.max()) + 1 if n_classes is None else int(n_classes)
    counts = np.zeros((lab.shape[0], n_classes), dtype=np.int64)
    np.add.at(counts, (np.repeat(np.arange(lab.shape[0]), lab.shape[1]), lab.ravel()), 1)
    return counts.argmax(axis=1)  # argmax returns the first maximum: the smallest tied label


class KNearestNeighbor:
    """A kNN classifier with L2 (three implementations) or L1 distance. Taught in 01_knn_cifar10."""

    def __init__(self, metric: str = "l2"):
        if metric not in ("l1", "l2"):
            raise ValueError(f"metric must be 'l1' or 'l2', got {metric!r}")
        self.metric = metric
        self.X_train = None
        self.y_train = None

    def train(self, X, y) -> KNearestNeighbor:
        """Memorise the training data: that is all kNN 'training' is."""
        X, y = _as_rows(X), np.asarray(y, dtype=np.int64)
        if len(X) != len(y):
            raise ValueError(f"{len(X)} images but {len(y)} labels")
        self.X_train, self.y_train = X, y
        return self

    def _check_trained(self):
        if self.X_train is None:
            raise RuntimeError("call train(X, y) before computing distances")

    def compute_distances_two_loops(self, X):
        self._check_trained()
        return l2_distances_two_loops(X, self.X_train)

    def compute_distances_one_loop(self, X):
        self._check_trained()
        return l2_distances_one_loop(X, self.X_train)

    def compute_distances_no_loops(self, X):
        self._check_trained()
        return l2_distances_no_loops(X, self.X_train)

    def compute_distances(self, X, method: str = "no_loops") -> np.ndarray:
        """Distances (n_test, n_train) with this classifier's metric (``method`` only for L2)."""
        self._check_trained()
        if self.metric == "l1":
            return l1_distances(X, self.X_train)
        if method not in L2_METHODS:
            raise ValueError(f"method must be one of {list(L2_METHODS)}, got {method!r}")
        return L2_METHODS[method](X, self.X_train)

    def predict_labels(self, dists, k: int = 1) -> np.ndarray:
        """Majority vote among the ``k`` nearest training images (ties: smallest label wins).

        Neighbours at exactly equal distance are ordered by training index (stable sort).
        """
        self._check_trained()
        dists = np.asarray(dists)
        if dists.ndim != 2 or dists.shape[1] != len(self.y_train):
            raise ValueError(f"dists must have shape (n_test, {len(self.y_train)}), got {dists.shape}")
        if not 1 <= k <= dists.shape[1]:
            raise ValueError(f"k must be between 1 and {dists.shape[1]}, got {k}")
        nearest = np.argsort(dists, axis=1, kind="stable")[:, :k]
        return majority_vote(self.y_train[nearest], n_classes=int(self.y_train.max()) + 1)

    def predict(self, X, k: int = 1, method: str = "no_loops") -> np.ndarray:
        return self.predict_labels(self.compute_distances(X, method=method), k=k)


def cross_validate_k(X, y, k_choices, num_folds: int = 5, metric: str = "l2",
                     seed: int | None = 0) -> dict[int, list[float]]:
    """``num_folds``-fold cross-validation of kNN: ``{k: [accuracy on each fold]}``.

    The data are shuffled with ``seed`` (``None``: keep the order) and split into equal folds;
    each fold is held out once while the others are the training set. Shuffling matters: an
    image folder is sorted by class, and consecutive folds of sorted data would hold out whole
    classes the remaining folds never show. Distances are computed once per fold and reused
    for every ``k``.
    """
    X, y = _as_rows(X), np.asarray(y)
    if len(X) != len(y):
        raise ValueError(f"{len(X)} images but {len(y)} labels")
    if num_folds < 2 or num_folds > len(X):
        raise ValueError(f"num_folds must be between 2 and {len(X)}, got {num_folds}")
    if seed is not None:
        order = np.random.default_rng(seed).permutation(len(X))
        X, y = X[order], y[order]
    X_folds, y_folds = np.array_split(X, num_folds), np.array_split(y, num_folds)
    results = {int(k): [] for k in k_choices}
    for i in range(num_folds):
        X_tr = np.concatenate([f for j, f in enumerate(X_folds) if j != i])
        y_tr = np.concatenate([f for j, f in enumerate(y_folds) if j != i])
        clf = KNearestNeighbor(metric).train(X_tr, y_tr)
        dists = clf.compute_distances(X_folds[i])
        for k in results:
            results[k].append(float(np.mean(clf.predict_labels(dists, k=k) == y_folds[i])))
    return results


def time_call(fn, *args, repeats: int = 1, **kwargs):
    """``(result, seconds)``: wall-clock time of ``fn(*args, **kwargs)``, the fastest of
    ``repeats`` calls (as ``timeit`` does: noise from other programs only ever adds time)."""
    if repeats < 1:
        raise ValueError("repeats must be at least 1")
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn(*args, **kwargs)
        best = min(best, time.perf_counter() - t)
    return out, best


def limit_blas_threads(n: int = 1):
    """Limit NumPy's BLAS (matrix products) to ``n`` threads from now on; returns the limiter
    (``.restore_original_limits()`` undoes it; also usable as ``with limit_blas_threads(1):``).

    Used in 01-03 so that loops (one core) and vectorised code are compared on equal terms; on a
    machine shared with other programs, extra BLAS threads can also make small products slower.
    """
    from threadpoolctl import threadpool_limits

    if n < 1:
        raise ValueError("n must be at least 1")
    return threadpool_limits(limits=n, user_api="blas")


def plot_cross_validation(results: dict, title: str = "kNN cross-validation"):
    """Accuracy of every fold (dots) and the mean +- std over folds (line) against k."""
    import matplotlib.pyplot as plt

    ks = sorted(results)
    means = np.array([np.mean(results[k]) for k in ks])
    stds = np.array([np.std(results[k]) for k in ks])
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for k in ks:
        ax.scatter([k] * len(results[k]), results[k], color="0.6", s=12)
    ax.errorbar(ks, means, yerr=stds, fmt="o-", capsize=3, color="tab:blue", label="mean ± std over folds")
    ax.set_xscale("log")
    ax.set_xticks(ks)
    ax.set_xticklabels([str(k) for k in ks])
    ax.set_xlabel("k (log scale)")
    ax.set_ylabel("validation accuracy")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    return fig


def neighbour_rows(X_query, y_query, X_train, y_train, dists, class_names, rows, k: int = 6):
    """Images, titles and title colours for ``show_images(..., ncols=k + 1)``: each query image
    followed by its ``k`` nearest training images (class and L2 distance; green = same class)."""
    images, titles, colors = [], [], []
    for r in rows:
        images.append(X_query[r])
        titles.append(f"test: {class_names[y_query[r]]}")
        colors.append("black")
        for j in np.argsort(dists[r], kind="stable")[:k]:
            images.append(X_train[j])
            titles.append(f"{class_names[y_train[j]]}\n{dists[r, j]:.0f}")
            colors.append("green" if y_train[j] == y_query[r] else "red")
    return images, titles, colors
