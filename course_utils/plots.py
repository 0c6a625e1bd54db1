"""Every figure type the course draws, defined once (first taught where each docstring says).

All functions return the matplotlib Figure so a notebook can save it (``fig.savefig(run.path(...))``).
"""
from __future__ import annotations

import math

import numpy as np


def _plt():
    import matplotlib.pyplot as plt

    return plt


def _figure_and_axes(ax, figsize):
    """The figure of ``ax``, or a new figure of ``figsize`` with one axes when ``ax`` is None."""
    if ax is None:
        return _plt().subplots(figsize=figsize)
    return ax.figure, ax


def to_display(img) -> np.ndarray:
    """An image as an array ``imshow`` accepts: HWC, CHW tensors, [0,1] floats or 0-255 values."""
    arr = img.detach().cpu().numpy() if hasattr(img, "detach") else np.asarray(img)
    if arr.ndim == 3 and arr.shape[0] in (1, 3) and arr.shape[-1] not in (1, 3):
        arr = arr.transpose(1, 2, 0)
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.dtype != np.uint8:
        arr = arr.astype(np.float32)
        if arr.max() > 1.0 + 1e-6:
            arr = arr / 255.0
        arr = np.clip(arr, 0, 1)
    return arr


def show_images(images, titles=None, ncols: int = 8, size: float = 1.6, cmap=None, suptitle: str | None = None,
                title_colors=None):
    """A grid of images with optional titles (red/green titles mark wrong/right predictions).

    Taught in 01_knn_cifar10; used for sample grids, predictions and augmentations everywhere.
    """
    plt = _plt()
    n = len(images)
    ncols = max(1, min(ncols, n))
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows + (0.4 if suptitle else 0)),
                             squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= n:
            continue
        arr = to_display(images[i])
        ax.imshow(arr, cmap=cmap or ("gray" if arr.ndim == 2 else None))
        if titles is not None:
            ax.set_title(str(titles[i]), fontsize=8,
                         color=(title_colors[i] if title_colors is not None else "black"))
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def _history_dict(history) -> dict:
    return history.history if hasattr(history, "history") else dict(history)


def plot_history(history, metrics=("loss", "accuracy"), title: str | None = None, best_epoch: int | None = None):
    """Training curves, train vs validation, one panel per metric.

    ``best_epoch`` (1-based) marks the epoch whose weights were restored (the best-validation
    checkpoint) with a shaded band, so the reader sees which model the test numbers belong to.

    Accepts a Keras ``History`` or a dict of lists with keys ``loss``/``val_loss`` (Keras style).
    Taught in 06_mnist_cnn_pytorch and 07_monkeypox_classifier: the gap between the curves is
    how over-fitting shows.
    """
    plt = _plt()
    h = _history_dict(history)
    metrics = [m for m in metrics if m in h]
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.5 * len(metrics), 3.2), squeeze=False)
    for ax, m in zip(axes.flat, metrics):
        epochs = np.arange(1, len(h[m]) + 1)
        ax.plot(epochs, h[m], "o-", label=f"train {m}")
        if f"val_{m}" in h:
            ax.plot(epochs, h[f"val_{m}"], "s--", label=f"validation {m}")
        if best_epoch is not None:
            ax.axvspan(best_epoch - 0.5, best_epoch + 0.5, color="gold", alpha=0.35,
                       label=f"restored checkpoint (epoch {best_epoch})")
        ax.set_xlabel("epoch")
        ax.set_ylabel(m)
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_confusion_matrix(cm, class_names, normalize: bool = False, title: str = "Confusion matrix", ax=None):
    """Heat-map of a confusion matrix (rows: true class, columns: predicted). Taught in 06/07."""
    import seaborn as sns

    plt = _plt()
    cm = np.asarray(cm)
    shown = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1) if normalize else cm
    if ax is None:
        k = len(class_names)
        fig, ax = plt.subplots(figsize=(1.0 + 0.55 * k, 0.8 + 0.5 * k) if k > 4 else (4, 3.4))
    else:
        fig = ax.figure
    sns.heatmap(shown, annot=True, fmt=".2f" if normalize else "d", cmap="Blues", cbar=False,
                xticklabels=class_names, yticklabels=class_names, ax=ax)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_roc(y_true, y_score, label: str = "model", ax=None):
    """ROC curve from predicted *probabilities* (never from argmax labels, which leaves one
    point and flattens the curve). Taught in 07_monkeypox_classifier."""
    from sklearn.metrics import roc_auc_score, roc_curve
    fpr, tpr, _ = roc_curve(y_true, y_score)
    auc = roc_auc_score(y_true, y_score)
    fig, ax = _figure_and_axes(ax, (4, 4))
    ax.plot(fpr, tpr, label=f"{label} (AUC {auc:.3f})")
    ax.plot([0, 1], [0, 1], "k:", label="chance")
    ax.set_xlabel("false positive rate (1 - specificity)")
    ax.set_ylabel("true positive rate (sensitivity)")
    ax.legend(loc="lower right")
    fig.tight_layout()
    return fig


def plot_precision_recall(y_true, y_score, label: str = "model", ax=None):
    """Precision-recall curve with the positive rate as the no-skill line. Taught in 08."""
    from sklearn.metrics import average_precision_score, precision_recall_curve
    prec, rec, _ = precision_recall_curve(y_true, y_score)
    ap = average_precision_score(y_true, y_score)
    fig, ax = _figure_and_axes(ax, (4, 4))
    ax.plot(rec, prec, label=f"{label} (AP {ap:.3f})")
    ax.axhline(np.mean(y_true), color="k", ls=":", label="no skill (positive rate)")
    ax.set_xlabel("recall (sensitivity)")
    ax.set_ylabel("precision")
    ax.legend(loc="lower left")
    fig.tight_layout()
    return fig


def bar_chart(values: dict, ylabel: str = "", title: str = "", log: bool = False, fmt: str = "{:.3g}"):
    """Labelled bars (timings, accuracies per stage). Taught in 01_knn_cifar10."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(1.2 + 1.1 * len(values), 3.2))
    names, vals = list(values), [float(v) for v in values.values()]
    bars = ax.bar(names, vals, color="tab:blue")
    for b, v in zip(bars, vals):
        ax.annotate(fmt.format(v), (b.get_x() + b.get_width() / 2, v), ha="center", va="bottom", fontsize=8)
    if log:
        ax.set_yscale("log")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    fig.tight_layout()
    return fig


def overlay_heatmap(image, heatmap, alpha: float = 0.4, cmap: str = "jet"):
    """Blend a [0,1] heat-map (any size) over an image; returns an HxWx3 float array.

    Taught in 12_class_activation_maps (CAM and Grad-CAM, Keras and PyTorch).
    """
    import matplotlib

    img = to_display(image)
    if img.dtype == np.uint8:
        img = img.astype(np.float32) / 255.0
    if img.ndim == 2:
        img = np.stack([img] * 3, axis=-1)
    from course_utils.cam import normalize_maps, upsample

    h = normalize_maps(heatmap, relu=False)
    if h.shape != img.shape[:2]:
        h = np.clip(upsample(h, img.shape[:2]), 0, 1)
    colored = matplotlib.colormaps[cmap](h)[..., :3]
    return np.clip((1 - alpha) * img + alpha * colored, 0, 1)


def plot_loss_curves(curves: dict, every: int = 1, window: int | None = None, title: str = "",
                     ylabel: str = "training loss", xlabel: str = "training step", log: bool = False):
    """Training-loss curves of several runs, one line each; ``curves`` maps a name to its losses,
    one every ``every`` steps. With ``window``, the raw losses are drawn faint under their moving
    average (noisy minibatch losses, 03); without, as points (05's plain-vs-residual experiment).
    Returns the Figure."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 3.4))
    for i, (name, losses) in enumerate(curves.items()):
        h = np.asarray(losses, dtype=np.float64)
        steps = every * np.arange(1, len(h) + 1)
        color = f"C{i}"
        if window is None:
            ax.plot(steps, h, "o-", markersize=3, color=color, label=name)
            continue
        ax.plot(steps, h, color=color, alpha=0.25, lw=0.8)
        if len(h) >= window:
            h = np.convolve(h, np.ones(window) / window, mode="valid")
            steps = steps[window - 1:]
        ax.plot(steps, h, color=color, label=name)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if log:
        ax.set_yscale("log")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    return fig
