"""Compile and fit a Keras model with the training controls the course teaches, in one call.

Taught in 07_monkeypox_classifier (early stopping, best-validation checkpoint, learning-rate
schedules, class weights, epoch timing); reused by 08 and the Keras notebooks 09-12.

    from course_utils.keras_.train import fit
    result = fit(model, train_ds, val_ds, epochs=15, learning_rate=1e-3,
                 checkpoint_path=run.path("best.keras"), patience=4,
                 lr_schedule="exponential", class_weight=balanced_class_weights(y_train))
    result.history            # dict of lists, as keras.callbacks.History.history
    result.epoch_times        # seconds per epoch
    result.best_epoch         # 1-based epoch with the best monitored value

Keras is imported inside the functions, so importing this module stays cheap.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from course_utils.setup.env import load_frameworks_in_safe_order

load_frameworks_in_safe_order()  # PyTorch before TensorFlow: see course_utils/__init__.py

LR_SCHEDULES = (None, "exponential", "plateau")


def exponential_lambda(initial_lr: float = 1e-3, rate: float = 0.1):
    """The exponential lambda schedule for ``keras.callbacks.LearningRateScheduler``:
    ``lr(epoch) = initial_lr * exp(-rate * epoch)`` (epoch counted from 0), so the learning rate
    shrinks by the same factor ``exp(-rate)`` every epoch. Taught in 07."""
    if initial_lr <= 0 or rate < 0:
        raise ValueError("initial_lr must be > 0 and rate >= 0")
    return lambda epoch, lr=None: float(initial_lr * math.exp(-rate * epoch))


def cosine_lambda(initial_lr: float, epochs: int, warmup: int = 0, final_fraction: float = 0.0):
    """A warm-up + cosine schedule for ``keras.callbacks.LearningRateScheduler`` (or ``fit``'s
    ``lr_schedule``): the rate climbs linearly to ``initial_lr`` over the first ``warmup`` epochs,
    then follows half a cosine towards ``final_fraction * initial_lr``, reached just after the last
    of ``epochs`` (epoch counted from 0; the last epoch still takes a small step). Large steps
    while the weights are far from any minimum, small ones at the end, so the last epochs settle
    instead of bouncing: a short run ends near its best. Taught in 09."""
    if initial_lr <= 0 or epochs < 1 or warmup < 0 or not 0 <= final_fraction <= 1:
        raise ValueError("initial_lr must be > 0, epochs >= 1, warmup >= 0 and 0 <= final_fraction <= 1")
    warmup = min(int(warmup), int(epochs) - 1)
    floor = initial_lr * final_fraction

    def lr(epoch, _lr=None):
        if epoch < warmup:
            return float(initial_lr * (epoch + 1) / (warmup + 1))
        t = (epoch - warmup) / max(1, epochs - warmup)
        return float(floor + (initial_lr - floor) * 0.5 * (1 + math.cos(math.pi * min(t, 1.0))))

    return lr


def balanced_class_weights(labels, n_classes: int | None = None) -> dict[int, float]:
    """``{class: n / (n_classes * count(class))}``: the rarer class weighs more, so each class
    contributes the same total weight to the loss (scikit-learn's ``"balanced"`` rule). Taught in 07."""
    labels = np.asarray(labels).astype(int).ravel()
    if labels.size == 0:
        raise ValueError("balanced_class_weights needs at least one label")
    if labels.min() < 0:
        raise ValueError("labels must be non-negative class indices")
    k = int(n_classes or labels.max() + 1)
    counts = np.bincount(labels, minlength=k)
    if (counts == 0).any():
        raise ValueError(f"class(es) {np.flatnonzero(counts == 0).tolist()} have no examples: "
                         "class weights are undefined")
    return {c: float(len(labels) / (k * counts[c])) for c in range(k)}


def _epoch_logger(verbose: int):
    import keras

    class EpochLogger(keras.callbacks.Callback):
        """Times every epoch and (with ``verbose``) prints one short line per epoch."""

        def __init__(self):
            super().__init__()
            self.times, self.lrs = [], []

        def on_epoch_begin(self, epoch, logs=None):
            self._t = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            dt = time.perf_counter() - self._t
            self.times.append(dt)
            lr = current_learning_rate(self.model.optimizer)
            self.lrs.append(lr)
            if verbose:
                shown = "  ".join(f"{k} {v:.4f}" for k, v in (logs or {}).items()
                                  if k in ("loss", "accuracy", "val_loss", "val_accuracy"))
                print(f"epoch {epoch + 1:3d}  {shown}  lr {lr:.2e}  ({dt:.1f} s)", flush=True)

    return EpochLogger()


def current_learning_rate(optimizer) -> float:
    """The optimizer's learning rate now, whether it is a number or a schedule."""
    lr = optimizer.learning_rate
    try:
        return float(np.asarray(lr))
    except (TypeError, ValueError):
        return float(np.asarray(lr(optimizer.iterations)))


def make_callbacks(checkpoint_path=None, monitor: str = "val_loss", patience: int | None = 5,
                   lr_schedule=None, initial_lr: float = 1e-3, exp_rate: float = 0.1,
                   plateau_factor: float = 0.5, plateau_patience: int = 2, min_lr: float = 1e-6) -> list:
    """The training-control callbacks taught in 07.

    * ``EarlyStopping(monitor, patience, restore_best_weights=True)`` unless ``patience`` is None;
    * ``ModelCheckpoint(checkpoint_path, save_best_only=True)`` -- the best-validation model as a
      ``.keras`` file (the Keras 3 format: architecture, weights and optimizer state);
    * ``lr_schedule``: ``"exponential"`` (:func:`exponential_lambda` through
      ``LearningRateScheduler``), ``"plateau"`` (``ReduceLROnPlateau``: cut the rate by
      ``plateau_factor`` when ``monitor`` stalls), a callable ``epoch -> lr``, or None.
    """
    import keras

    mode = "max" if "acc" in monitor or "auc" in monitor else "min"
    cbs = []
    if patience is not None:
        cbs.append(keras.callbacks.EarlyStopping(monitor=monitor, mode=mode, patience=int(patience),
                                                 restore_best_weights=True))
    if checkpoint_path is not None:
        checkpoint_path = Path(checkpoint_path)
        if checkpoint_path.suffix != ".keras":
            raise ValueError(f"checkpoint_path must end in .keras (the Keras 3 format), got {checkpoint_path.name}")
        checkpoint_path.parent.mkdir(parents=True, exist_ok=True)
        cbs.append(keras.callbacks.ModelCheckpoint(str(checkpoint_path), monitor=monitor, mode=mode,
                                                   save_best_only=True))
    if lr_schedule == "exponential":
        cbs.append(keras.callbacks.LearningRateScheduler(exponential_lambda(initial_lr, exp_rate)))
    elif lr_schedule == "plateau":
        cbs.append(keras.callbacks.ReduceLROnPlateau(monitor=monitor, mode=mode, factor=plateau_factor,
                                                     patience=plateau_patience, min_lr=min_lr))
    elif callable(lr_schedule):
        cbs.append(keras.callbacks.LearningRateScheduler(lambda epoch, lr=None: float(lr_schedule(epoch))))
    elif lr_schedule is not None:
        raise ValueError(f"lr_schedule={lr_schedule!r}: use one of {LR_SCHEDULES} or a callable epoch -> lr")
    return cbs


@dataclass
class FitResult:
    """What :func:`fit` returns."""
    model: object
    history: dict
    epoch_times: list = field(default_factory=list)
    learning_rates: list = field(default_factory=list)
    best_epoch: int = 0            # 1-based epoch with the best monitored value
    best_value: float = float("nan")
    epochs_run: int = 0
    monitor: str = "val_loss"
    checkpoint_path: str | None = None
    train_s: float = 0.0

    @property
    def mean_epoch_s(self) -> float:
        """Mean seconds per epoch, leaving out the first (graph tracing, cache filling) when
        there is more than one."""
        t = self.epoch_times[1:] if len(self.epoch_times) > 1 else self.epoch_times
        return float(np.mean(t)) if t else float("nan")

    def summary(self) -> str:
        return (f"{self.epochs_run} epochs in {self.train_s:.1f} s; best {self.monitor} "
                f"{self.best_value:.4f} at epoch {self.best_epoch}"
                + (f"; best model saved to {Path(self.checkpoint_path).name}" if self.checkpoint_path else ""))


# The optimizers the course uses, by the names the notebooks pass (taught in 07; RMSprop in 09-11).
OPTIMIZERS = {"adam": "Adam", "rmsprop": "RMSprop", "sgd": "SGD"}


def make_optimizer(name: str = "adam", learning_rate=1e-3):
    """A fresh Keras optimizer by name, at ``learning_rate`` (a number from the profile table, or a
    ``keras.optimizers.schedules`` schedule). Old code writes ``RMSprop(lr=...)``; Keras 3 spells it
    ``learning_rate``. A fresh one each time: an optimizer holds state for the model it first saw."""
    import keras

    key = str(name).lower()
    if key not in OPTIMIZERS:
        raise ValueError(f"optimizer={name!r} is not one of {sorted(OPTIMIZERS)}")
    return getattr(keras.optimizers, OPTIMIZERS[key])(learning_rate=learning_rate)


def compile_model(model, learning_rate=1e-3, loss="sparse_categorical_crossentropy",
                  metrics=("accuracy",), optimizer="adam"):
    """Compile with ``optimizer`` (a name for :func:`make_optimizer`, or an optimizer object) at
    ``learning_rate``, a number or a schedule (08 uses ExponentialDecay)."""
    if optimizer is None or isinstance(optimizer, str):
        optimizer = make_optimizer(optimizer or "adam", learning_rate)
    model.compile(optimizer=optimizer, loss=loss, metrics=list(metrics))
    return model


def fit(model, train_ds, val_ds, epochs: int, *, learning_rate=1e-3, loss="sparse_categorical_crossentropy",
        metrics=("accuracy",), optimizer=None, compile: bool = True, class_weight: dict | None = None,
        checkpoint_path=None, monitor: str = "val_loss", patience: int | None = 5, lr_schedule=None,
        exp_rate: float = 0.1, plateau_factor: float = 0.5, plateau_patience: int = 2,
        callbacks=(), verbose: int = 1) -> FitResult:
    """Compile (unless ``compile=False``) and fit ``model``; returns a :class:`FitResult`.

    Training controls (see :func:`make_callbacks`): early stopping on ``monitor`` with
    ``patience`` (restoring the best weights), a best-validation ``.keras`` checkpoint,
    ``lr_schedule`` in ``(None, "exponential", "plateau")`` or a callable, ``class_weight``
    (e.g. :func:`balanced_class_weights`). ``verbose=1`` shows in-epoch progress (one line updated
    in place, :func:`course_utils.progress.keras_progress`) and prints one line per epoch with its time.
    A learning-rate *schedule object* (``keras.optimizers.schedules``) goes in ``learning_rate``
    with ``lr_schedule=None``.
    """
    if epochs < 1:
        raise ValueError("epochs must be >= 1")
    if lr_schedule is not None and not isinstance(learning_rate, (int, float)):
        raise ValueError("use either a schedule object in learning_rate or lr_schedule, not both")
    if compile:
        compile_model(model, learning_rate=learning_rate, loss=loss, metrics=metrics, optimizer=optimizer)
    initial_lr = float(learning_rate) if isinstance(learning_rate, (int, float)) else 1e-3
    logger = _epoch_logger(verbose)
    cbs = make_callbacks(checkpoint_path, monitor=monitor, patience=patience, lr_schedule=lr_schedule,
                         initial_lr=initial_lr, exp_rate=exp_rate, plateau_factor=plateau_factor,
                         plateau_patience=plateau_patience) + [logger] + list(callbacks)
    if verbose:  # in-epoch progress: one line updated in place (stores cleanly in a notebook)
        from course_utils.progress import keras_progress

        cbs.append(keras_progress("fit"))
    t = time.perf_counter()
    is_dataset = hasattr(train_ds, "element_spec")  # a tf.data pipeline shuffles itself
    hist = model.fit(train_ds, validation_data=val_ds, epochs=int(epochs), class_weight=class_weight,
                     callbacks=cbs, verbose=0, shuffle=not is_dataset)
    train_s = time.perf_counter() - t
    h = {k: [float(v) for v in vals] for k, vals in hist.history.items()}
    h["lr"] = [float(v) for v in logger.lrs]
    res = FitResult(model=model, history=h, epoch_times=[round(x, 3) for x in logger.times],
                    learning_rates=list(logger.lrs), epochs_run=len(logger.times), monitor=monitor,
                    checkpoint_path=str(checkpoint_path) if checkpoint_path else None, train_s=round(train_s, 3))
    if monitor in h and h[monitor]:
        vals = np.asarray(h[monitor])
        i = int(np.nanargmax(vals) if ("acc" in monitor or "auc" in monitor) else np.nanargmin(vals))
        res.best_epoch, res.best_value = i + 1, float(vals[i])
    if verbose:
        print(res.summary())
    return res
