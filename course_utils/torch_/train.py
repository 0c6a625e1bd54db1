"""PyTorch training: one loop, :func:`fit` (taught in 06_mnist_cnn_pytorch; used by 05's
plain-vs-residual experiment and by 10_transfer_learning, 11_fine_tuning, 12_class_activation_maps).
The device is chosen once, by :func:`course_utils.setup.env.torch_device` (``run.device``).

* :func:`accuracy` -- the fraction of correct predictions in a batch (the tutorial's function).
* :func:`fit` -- train; every ``eval_every`` batches (or once per epoch) report the training
  loss and accuracy of those batches and :func:`evaluate` on a validation loader; optionally keep
  the best weights (checkpointed with optimizer, accuracy and class mapping) and step a scheduler.
* :func:`train_model` -- the transfer-learning tutorial's call: :func:`fit` with ``train``/``val``
  loaders and the best weights kept.
* :func:`predict` -- probabilities and labels for a whole loader, in batches.

The loop returns a history dict with Keras-style keys (``loss``, ``val_loss``, ``accuracy``,
``val_accuracy``), so :func:`course_utils.plots.plot_history` draws it like a Keras ``History``.
"""
from __future__ import annotations

import copy
import time
from pathlib import Path

import numpy as np


def accuracy(logits, targets) -> float:
    """Fraction of rows of ``logits`` whose arg-max equals ``targets`` (the tutorial's accuracy
    function, returning a float in [0, 1] instead of a percentage tensor)."""
    if logits.ndim != 2:
        raise ValueError(f"logits must be (batch, classes), got shape {tuple(logits.shape)}")
    if len(logits) != len(targets):
        raise ValueError(f"{len(logits)} rows of logits but {len(targets)} targets")
    if len(targets) == 0:
        raise ValueError("accuracy of an empty batch is undefined")
    return (logits.argmax(dim=1) == targets).float().mean().item()


def progress_bar(iterable, total=None, desc="", disable=False):
    """A progress line over ``iterable`` (:class:`course_utils.progress.Progress`): updated in
    place in a notebook, so the saved notebook keeps its final state only; tqdm elsewhere."""
    from course_utils.progress import Progress

    n = total if total is not None else (len(iterable) if hasattr(iterable, "__len__") else None)
    short = n is not None and n < 10  # a bar for a handful of batches is only noise
    return Progress(iterable, total=n, desc=desc, disable=disable or short)


def _step(model, x, y, optimizer, criterion, is_inception: bool = False):
    """Clear the old gradients, forward, loss, backward, update: ``(loss tensor, logits)``.
    Inception's auxiliary head adds 0.4 x its loss while training (as in torchvision's recipe)."""
    optimizer.zero_grad()
    out = model(x)
    if is_inception and isinstance(out, tuple):
        out, aux = out
        loss = criterion(out, y) + 0.4 * criterion(aux, y)
    else:
        loss = criterion(out, y)
    loss.backward()
    optimizer.step()
    return loss, out


def train_step(model, x, y, optimizer, loss_fn) -> float:
    """One training step on the batch ``(x, y)`` (taught in 06, where it is an exercise): training
    mode, clear the old gradients, forward, loss, backward, update. Returns the batch loss (before
    the update) as a Python float. :func:`fit` runs the same step on every batch."""
    model.train()
    loss, _ = _step(model, x, y, optimizer, loss_fn)
    return loss.item()


def evaluate(model, loader, device, criterion=None) -> tuple[float, float]:
    """``(mean loss, accuracy)`` of ``model`` on ``loader`` in eval mode without gradients.

    ``model.eval()`` switches dropout off and batch norm to its running statistics;
    ``torch.no_grad()`` stops PyTorch from recording the graph (faster, less memory)."""
    import torch

    was_training = model.training
    model.eval()
    total, correct, loss_sum = 0, 0, 0.0
    with torch.no_grad():
        for x, y in loader:
            x, y = x.to(device), y.to(device)
            out = model(x)
            if criterion is not None:
                loss_sum += criterion(out, y).item() * len(y)
            correct += (out.argmax(1) == y).sum().item()
            total += len(y)
    model.train(was_training)
    if total == 0:
        raise ValueError("evaluate() got an empty loader")
    return (loss_sum / total if criterion is not None else float("nan")), correct / total


def fit(model, train_loader, optimizer, criterion, device, epochs: int = 1, val_loader=None,
        eval_every: int | None = None, scheduler=None, frozen_bn_eval: bool | str = False, is_inception: bool = False,
        keep_best: bool = False, checkpoint_path: str | Path | None = None, class_to_idx: dict | None = None,
        progress: bool = True, verbose: bool = False) -> tuple[dict, dict]:
    """The PyTorch training loop of the course (taught in 06; used by 05's plain-vs-residual
    experiment and by 10-12): forward, loss, ``backward``, ``step``, batch after batch.

    Reports go into ``history`` (Keras-style keys, so :func:`course_utils.plots.plot_history` draws
    it): ``loss``/``accuracy`` on the training batches since the last report and, with
    ``val_loader``, ``val_loss``/``val_accuracy`` from :func:`evaluate`, plus ``step`` (batches
    seen), ``epoch`` (fractional), ``lr`` and ``seconds`` (training time, evaluation excluded).
    A report is made every ``eval_every`` batches and at the end of each epoch, or only at the
    end of each epoch when ``eval_every`` is None.

    ``scheduler.step()`` is called once per epoch, after the optimizer steps. ``frozen_bn_eval``
    keeps batch-norm layers whose parameters are frozen in eval mode, so small augmented batches
    do not overwrite their ImageNet statistics (the fine-tuning trap; Keras does the same);
    ``frozen_bn_eval="all"`` keeps every batch-norm layer's statistics, trainable ones included
    (11 fine-tunes a stage's scale and offset while its ImageNet statistics stay).
    ``is_inception``: Inception v3 returns ``(logits, aux_logits)`` in training; the loss is
    ``loss(logits) + 0.4 * loss(aux_logits)`` as in the paper. ``keep_best`` keeps (and loads at
    the end) the weights of the epoch with the best validation accuracy, saved with the optimizer
    state and ``class_to_idx`` to ``checkpoint_path`` if given.

    Returns ``(history, best)``; ``best`` is ``{"epoch": ..., "val_accuracy": ...}`` (epoch 0 and
    -1 without ``val_loader``).
    """
    import torch

    if epochs < 1 or (eval_every is not None and eval_every < 1):
        raise ValueError("epochs and eval_every must be at least 1")
    if keep_best and val_loader is None:
        raise ValueError("keep_best needs a val_loader")
    model.to(device)
    history = {k: [] for k in ("loss", "accuracy", "val_loss", "val_accuracy", "step", "epoch", "lr", "seconds")}
    best = {"epoch": 0, "val_accuracy": -1.0}
    best_weights = copy.deepcopy(model.state_dict()) if keep_best else None
    step, train_s = 0, 0.0
    n_batches = len(train_loader)
    for epoch in range(1, epochs + 1):
        model.train()
        if frozen_bn_eval:
            freeze_batchnorm_stats(model, trainable_too=frozen_bn_eval == "all")
        loss_sum, correct, n = 0.0, 0, 0
        bar = progress_bar(train_loader, total=n_batches, desc=f"epoch {epoch}/{epochs}", disable=not progress)
        t0 = time.perf_counter()
        for i, (x, y) in enumerate(bar, start=1):
            x, y = x.to(device), y.to(device)
            loss, out = _step(model, x, y, optimizer, criterion, is_inception)
            step += 1
            loss_sum += loss.item() * len(y)
            correct += (out.argmax(1) == y).sum().item()
            n += len(y)
            if i == n_batches or (eval_every is not None and i % eval_every == 0):
                train_s += time.perf_counter() - t0
                history["loss"].append(loss_sum / n)
                history["accuracy"].append(correct / n)
                history["step"].append(step)
                history["epoch"].append(round(epoch - 1 + i / n_batches, 3))
                history["lr"].append(optimizer.param_groups[0]["lr"])
                history["seconds"].append(round(train_s, 2))
                if val_loader is not None:
                    val_loss, val_acc = evaluate(model, val_loader, device, criterion)
                    history["val_loss"].append(val_loss)
                    history["val_accuracy"].append(val_acc)
                    if progress:
                        bar.set_postfix(train_acc=f"{correct / n:.3f}", val_acc=f"{val_acc:.3f}")
                loss_sum, correct, n = 0.0, 0, 0
                t0 = time.perf_counter()
        if n_batches == 0:
            raise ValueError("the training loader is empty")
        if scheduler is not None:
            scheduler.step()  # once per epoch, after optimizer.step()
        if val_loader is not None and history["val_accuracy"][-1] > best["val_accuracy"]:
            best = {"epoch": epoch, "val_accuracy": history["val_accuracy"][-1]}
            if keep_best:
                best_weights = copy.deepcopy(model.state_dict())
                if checkpoint_path is not None:
                    torch.save({"model": best_weights, "optimizer": optimizer.state_dict(),
                                "best_acc": best["val_accuracy"], "epoch": epoch,
                                "class_to_idx": class_to_idx or {}}, checkpoint_path)
        if verbose:
            val = (f" | val_loss {history['val_loss'][-1]:.3f} val_acc {history['val_accuracy'][-1]:.3f}"
                   if val_loader is not None else "")
            print(f"epoch {epoch}/{epochs}: loss {history['loss'][-1]:.3f} acc {history['accuracy'][-1]:.3f}{val} | "
                  f"lr {history['lr'][-1]:.2g} | {history['seconds'][-1]:.0f} s"
                  + ("  *best*" if best["epoch"] == epoch else ""))
    if keep_best:
        model.load_state_dict(best_weights)
    return history, best


def train_model(model, dataloaders: dict, criterion, optimizer, num_epochs: int, device, **options):
    """The transfer-learning tutorial's call (10 and 11): :func:`fit` on ``dataloaders["train"]``
    validated on ``dataloaders["val"]`` once per epoch, keeping the best weights. Returns
    ``(model with the best weights loaded, history, best)``."""
    if "train" not in dataloaders or "val" not in dataloaders:
        raise ValueError("dataloaders needs a 'train' and a 'val' loader")
    options = {"verbose": True, **options}
    history, best = fit(model, dataloaders["train"], optimizer, criterion, device, epochs=num_epochs,
                        val_loader=dataloaders["val"], keep_best=True, **options)
    return model, history, best


def freeze_batchnorm_stats(model, trainable_too: bool = False) -> int:
    """Put every batch-norm layer without trainable parameters (with ``trainable_too``: every
    batch-norm layer) in eval mode, so its running statistics stay; returns how many."""
    from torch import nn

    n = 0
    for m in model.modules():
        is_bn = isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d))
        if is_bn and (trainable_too or not any(p.requires_grad for p in m.parameters())):
            m.eval()
            n += 1
    return n


def load_checkpoint(model, path, optimizer=None) -> dict:
    """Restore a :func:`train_model` checkpoint into ``model`` (and ``optimizer``); returns the
    checkpoint dict (``best_acc``, ``epoch``, ``class_to_idx``). ``weights_only=True``: loading
    never runs code stored in the file."""
    import torch

    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    model.load_state_dict(ckpt["model"])
    if optimizer is not None:
        optimizer.load_state_dict(ckpt["optimizer"])
    return ckpt


def predict(model, loader, device) -> tuple[np.ndarray, np.ndarray]:
    """``(probabilities (N, classes), labels (N,))`` for a whole loader: batched, in eval mode,
    without gradients (never one image at a time)."""
    import torch

    model.eval()
    probs, labels = [], []
    with torch.no_grad():
        for x, y in loader:
            probs.append(torch.softmax(model(x.to(device)), dim=1).cpu().numpy())
            labels.append(np.asarray(y))
    if not probs:
        raise ValueError("predict() got an empty loader")
    return np.concatenate(probs), np.concatenate(labels)
