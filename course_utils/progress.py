"""Progress that stores cleanly: one line, updated in place, for PyTorch loops and Keras ``fit``.

In a notebook the line is a display output replaced on every update (``display_id``), so a saved
notebook keeps one line with the final state -- not hundreds of ``\\r`` fragments, and not a
widget that shows "HBox(...)" once the kernel is gone. Outside a notebook it is a tqdm bar on
stderr. Used by :func:`course_utils.torch_.train.progress_bar` (06, 10-12) and
:func:`course_utils.keras_.train.fit` (07-12); taught where 06 first trains.
"""
from __future__ import annotations

import sys
import time


def _kernel_display():
    """IPython's ``display`` when running in a Jupyter kernel, else None."""
    ip = sys.modules.get("IPython")
    if ip is None:
        return None
    try:
        shell = ip.get_ipython()
    except Exception:
        return None
    if shell is None or not hasattr(shell, "kernel"):
        return None
    from IPython.display import display

    return display


def _fmt_time(s: float) -> str:
    return f"{s:.1f} s" if s < 60 else f"{int(s // 60)} min {s % 60:02.0f} s"


class Progress:
    """A progress line: ``update(n, **postfix)``, ``close(final=None)``; iterable with ``wrap``.

    ``min_interval`` seconds between refreshes keeps the notebook's message traffic low.
    """

    def __init__(self, iterable=None, total: int | None = None, desc: str = "", min_interval: float = 0.5,
                 disable: bool = False):
        if total is None and iterable is not None and hasattr(iterable, "__len__"):
            total = len(iterable)
        self.iterable = iterable
        self.total, self.desc, self.n = total, desc, 0
        self.postfix: dict = {}
        self.min_interval = float(min_interval)
        self.disable = disable
        self._t0 = self._last = time.perf_counter()
        self._handle = self._tqdm = None
        if disable:
            return
        display = _kernel_display()
        if display is not None:
            self._handle = display({"text/plain": self.text()}, raw=True, display_id=True)
        else:
            from tqdm import tqdm

            self._tqdm = tqdm(total=total, desc=desc, leave=False, file=sys.stderr, mininterval=2.0)

    def text(self) -> str:
        elapsed = time.perf_counter() - self._t0
        if self.total:
            frac = min(self.n / self.total, 1.0)
            bar = "█" * int(frac * 20) + "·" * (20 - int(frac * 20))
            done = f"{bar} {self.n}/{self.total}"
            if 0 < self.n < self.total:
                done += f" (eta {_fmt_time(elapsed / self.n * (self.total - self.n))})"
        else:
            done = f"{self.n}"
        post = "  ".join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}" for k, v in self.postfix.items())
        return f"{self.desc}  {done}  {_fmt_time(elapsed)}" + (f"  {post}" if post else "")

    def set_postfix(self, **postfix) -> None:
        self.postfix.update(postfix)
        self._refresh(force=False)

    def update(self, n: int = 1, **postfix) -> None:
        self.n += n
        self.postfix.update(postfix)
        self._refresh(force=False)

    def _refresh(self, force: bool) -> None:
        if self.disable:
            return
        now = time.perf_counter()
        if not force and now - self._last < self.min_interval:
            return
        self._last = now
        if self._handle is not None:
            self._handle.update({"text/plain": self.text()}, raw=True)
        elif self._tqdm is not None:
            self._tqdm.n = self.n
            if self.postfix:
                self._tqdm.set_postfix({k: (f"{v:.4f}" if isinstance(v, float) else v)
                                        for k, v in self.postfix.items()}, refresh=False)
            self._tqdm.refresh()

    def close(self, final: str | None = None) -> None:
        """Show the final state (or ``final``) once; the line stays as the stored output."""
        if self.disable:
            return
        if self._handle is not None:
            self._handle.update({"text/plain": final or self.text()}, raw=True)
            self._handle = None
        elif self._tqdm is not None:
            self._tqdm.n = self.n
            self._tqdm.close()
            self._tqdm = None

    def __iter__(self):
        return self.wrap(self.iterable)

    def wrap(self, iterable):
        """Iterate over ``iterable``, advancing one step per item; closes at the end."""
        try:
            for item in iterable:
                yield item
                self.update(1)
        finally:
            self.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def keras_progress(desc: str = "fit", verbose: bool = True):
    """A Keras callback showing one in-place line: epoch, batch within the epoch, running loss
    and accuracy, elapsed time. Keras' own bar writes a ``\\r`` fragment per refresh into a saved
    notebook; this line is replaced instead (see the module docstring)."""
    import keras

    class KerasProgress(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.epochs = self.params.get("epochs")
            self.steps = self.params.get("steps")
            total = self.epochs * self.steps if (self.epochs and self.steps) else None
            self.bar = Progress(total=total, desc=desc, disable=not verbose)
            self.epoch = 0

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch + 1
            self.bar.desc = f"{desc} epoch {self.epoch}/{self.epochs}"

        def on_train_batch_end(self, batch, logs=None):
            shown = {k: float(v) for k, v in (logs or {}).items() if k in ("loss", "accuracy")}
            self.bar.update(1, **shown)

        def on_epoch_end(self, epoch, logs=None):
            shown = {k: float(v) for k, v in (logs or {}).items() if k in ("val_loss", "val_accuracy")}
            self.bar.set_postfix(**shown)

        def on_train_end(self, logs=None):
            self.bar.desc = f"{desc} done ({self.epoch} epoch{'s' if self.epoch != 1 else ''})"
            self.bar.total = self.bar.n or self.bar.total
            self.bar.close()

    return KerasProgress()
