"""PyTorch training loops, written once (taught in 06_mnist_cnn_pytorch; the phase loop in
10_transfer_learning, reused by 11_fine_tuning and 12_class_activation_maps).

* :func:`select_device` -- CUDA, Apple's MPS or the CPU.
* :func:`accuracy` -- the fraction of correct predictions in a batch (the tutorial's function).
* :func:`fit_with_evaluation` -- the 06 loop: train, and every ``eval_every`` batches report the
  training accuracy of those batches and the test accuracy, with a tqdm progress bar.
* :func:`train_model` -- the transfer-learning loop: a ``train`` and a ``val`` phase per epoch,
  the best validation model kept (and checkpointed with optimizer, accuracy and class mapping),
  a learning-rate scheduler stepped once per epoch.
* :func:`predict` -- probabilities and labels for a whole loader, in batches.

Every loop returns a history dict with Keras-style keys (``loss``, ``val_loss``, ``accuracy``,
``val_accuracy``), so :func:`course_utils.plots.plot_history` draws it like a Keras ``History``.
"""
from __future__ import annotations

import copy
import time
from pathlib import Path

import numpy as np


def select_device(preferred: str | None = None):
    """``torch.device`` to train on: ``preferred`` if given (e.g. ``run.device``), else CUDA,
    then Apple's MPS, then the CPU. Taught in 06_mnist_cnn_pytorch."""
    import torch

    if preferred:
        return torch.device(preferred)
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


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


def make_loader(dataset, batch_size: int, shuffle: bool = False, seed: int = 0, num_workers: int = 0):
    """A ``DataLoader`` whose shuffling order depends only on ``seed`` (reproducible runs)."""
    import torch
    from torch.utils.data import DataLoader

    gen = torch.Generator().manual_seed(int(seed))
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, generator=gen, num_workers=num_workers)


def progress_bar(iterable, total=None, desc="", disable=False):
    """A text tqdm bar on stdout, refreshed at most every 10 s; it stays when done (the runner
    stores it in its final state, one line per bar)."""
    import sys

    from tqdm import tqdm

    n = total if total is not None else (len(iterable) if hasattr(iterable, "__len__") else None)
    short = n is not None and n < 10  # a bar for a handful of batches is only noise
    return tqdm(iterable, total=total, desc=desc, leave=True, disable=disable or short, mininterval=10.0,
                file=sys.stdout)


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


def fit_with_evaluation(model, train_loader, test_loader, optimizer, criterion, epochs: int, device,
                        eval_every: int = 100, progress: bool = True) -> dict:
    """The 06 loop. Train for ``epochs``; every ``eval_every`` batches (and at the end of each
    epoch) record the loss and accuracy on the batches seen since the last report and on the
    whole ``test_loader``.

    Returns a history dict: ``loss``/``accuracy`` (training, over the last ``eval_every``
    batches), ``val_loss``/``val_accuracy`` (test set), ``step`` (batches seen), ``epoch``
    (fractional epoch) and ``seconds`` (training time so far, evaluation excluded).
    """
    if epochs < 1 or eval_every < 1:
        raise ValueError("epochs and eval_every must be at least 1")
    model.to(device)
    history = {k: [] for k in ("loss", "accuracy", "val_loss", "val_accuracy", "step", "epoch", "seconds")}
    step, train_s = 0, 0.0
    n_batches = len(train_loader)
    for epoch in range(epochs):
        model.train()
        run_loss, run_correct, run_n = 0.0, 0, 0
        bar = progress_bar(train_loader, total=n_batches, desc=f"epoch {epoch + 1}/{epochs}", disable=not progress)
        t0 = time.perf_counter()
        for i, (x, y) in enumerate(bar, start=1):
            x, y = x.to(device), y.to(device)
            optimizer.zero_grad()
            out = model(x)
            loss = criterion(out, y)
            loss.backward()
            optimizer.step()
            step += 1
            run_loss += loss.item() * len(y)
            run_correct += (out.argmax(1) == y).sum().item()
            run_n += len(y)
            if i % eval_every == 0 or i == n_batches:
                train_s += time.perf_counter() - t0
                val_loss, val_acc = evaluate(model, test_loader, device, criterion)
                history["loss"].append(run_loss / run_n)
                history["accuracy"].append(run_correct / run_n)
                history["val_loss"].append(val_loss)
                history["val_accuracy"].append(val_acc)
                history["step"].append(step)
                history["epoch"].append(round(epoch + i / n_batches, 3))
                history["seconds"].append(round(train_s, 2))
                if progress:
                    bar.set_postfix(train_acc=f"{run_correct / run_n:.3f}", test_acc=f"{val_acc:.3f}")
                run_loss, run_correct, run_n = 0.0, 0, 0
                t0 = time.perf_counter()
    return history


def train_model(model, dataloaders: dict, criterion, optimizer, num_epochs: int, device, scheduler=None,
                is_inception: bool = False, class_to_idx: dict | None = None,
                checkpoint_path: str | Path | None = None, frozen_bn_eval: bool = False,
                progress: bool = True, verbose: bool = True):
    """The transfer-learning loop (10 and 11): per epoch a ``train`` phase (``model.train()``,
    gradients on) and a ``val`` phase (``model.eval()``, ``torch.no_grad()``); the weights with
    the best validation accuracy are kept in memory and, with ``checkpoint_path``, saved with
    the optimizer state, that accuracy and ``class_to_idx``. ``scheduler.step()`` is called once
    per epoch, after the optimizer steps (the original tutorial passed it the loss, which only
    ``ReduceLROnPlateau`` takes).

    ``frozen_bn_eval``: keep batch-norm layers whose parameters are frozen in eval mode during
    training, so their running statistics (learned on ImageNet) are not overwritten by those of
    small, augmented batches (the fine-tuning trap; Keras does the same when a layer is frozen).

    ``is_inception``: Inception v3 returns ``(logits, aux_logits)`` in training; the loss is
    ``loss(logits) + 0.4 * loss(aux_logits)`` as in the paper, and only ``logits`` at evaluation.

    Returns ``(model with the best weights loaded, history, best)`` where ``best`` is
    ``{"epoch": ..., "val_accuracy": ...}`` and history has Keras-style keys plus ``lr`` and ``seconds``.
    """
    import torch

    if "train" not in dataloaders or "val" not in dataloaders:
        raise ValueError("dataloaders needs a 'train' and a 'val' loader")
    if num_epochs < 1:
        raise ValueError("num_epochs must be at least 1")
    model.to(device)
    history = {k: [] for k in ("loss", "accuracy", "val_loss", "val_accuracy", "lr", "seconds")}
    best_acc, best_epoch = -1.0, 0
    best_weights = copy.deepcopy(model.state_dict())
    for epoch in range(1, num_epochs + 1):
        t0 = time.perf_counter()
        history["lr"].append(optimizer.param_groups[0]["lr"])
        for phase in ("train", "val"):
            model.train(phase == "train")
            if phase == "train" and frozen_bn_eval:
                freeze_batchnorm_stats(model)
            loss_sum, correct, n = 0.0, 0, 0
            bar = progress_bar(dataloaders[phase], desc=f"epoch {epoch}/{num_epochs} {phase}", disable=not progress)
            for x, y in bar:
                x, y = x.to(device), y.to(device)
                optimizer.zero_grad()
                with torch.set_grad_enabled(phase == "train"):
                    out = model(x)
                    if is_inception and phase == "train" and isinstance(out, tuple):
                        out, aux = out
                        loss = criterion(out, y) + 0.4 * criterion(aux, y)
                    else:
                        loss = criterion(out, y)
                    if phase == "train":
                        loss.backward()
                        optimizer.step()
                loss_sum += loss.item() * len(y)
                correct += (out.argmax(1) == y).sum().item()
                n += len(y)
            if n == 0:
                raise ValueError(f"the {phase} loader is empty")
            prefix = "" if phase == "train" else "val_"
            history[prefix + "loss"].append(loss_sum / n)
            history[prefix + "accuracy"].append(correct / n)
        if scheduler is not None:
            scheduler.step()  # once per epoch, after optimizer.step()
        history["seconds"].append(round(time.perf_counter() - t0, 2))
        val_acc = history["val_accuracy"][-1]
        if val_acc > best_acc:
            best_acc, best_epoch = val_acc, epoch
            best_weights = copy.deepcopy(model.state_dict())
            if checkpoint_path is not None:
                torch.save({"model": best_weights, "optimizer": optimizer.state_dict(), "best_acc": best_acc,
                            "epoch": epoch, "class_to_idx": class_to_idx or {}}, checkpoint_path)
        if verbose:
            print(f"epoch {epoch}/{num_epochs}: loss {history['loss'][-1]:.3f} acc {history['accuracy'][-1]:.3f} | "
                  f"val_loss {history['val_loss'][-1]:.3f} val_acc {val_acc:.3f} | "
                  f"lr {history['lr'][-1]:.2g} | {history['seconds'][-1]:.0f} s" + ("  *best*" if best_epoch == epoch else ""))
    model.load_state_dict(best_weights)
    return model, history, {"epoch": best_epoch, "val_accuracy": best_acc}


def freeze_batchnorm_stats(model) -> int:
    """Put every batch-norm layer without trainable parameters in eval mode; returns how many."""
    from torch import nn

    n = 0
    for m in model.modules():
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)) and not any(p.requires_grad for p in m.parameters()):
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
