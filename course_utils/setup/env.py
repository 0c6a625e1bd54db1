"""The machine a notebook runs on: GPUs per framework, seeding, versions, plot defaults.

Taught in 00_setup; called by :func:`course_utils.setup_notebook` in every notebook.
Both frameworks are imported lazily and optional: a learner with only PyTorch (or only
TensorFlow) installed still gets a report.
"""
from __future__ import annotations

import importlib
import importlib.util
import os
import platform
import random
import sys
from dataclasses import asdict, dataclass, field

# Quiet TensorFlow's C++ start-up chatter (on a machine without a GPU it logs a CUDA "error" that
# is not one) and make Keras 3 use TensorFlow, before either loads. setup_notebook reports the
# GPUs each framework sees instead; Python exceptions are unaffected.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")


def load_frameworks_in_safe_order() -> None:
    """Import PyTorch (and torchvision) before TensorFlow.

    PyTorch's CUDA wheels bring Triton, which bundles its own LLVM; loaded *after* TensorFlow
    (which exports LLVM symbols too) it crashes the process at import. Loaded first, both work.
    ``import course_utils`` calls this inside a Jupyter kernel (so notebooks import course_utils
    before TensorFlow), as do :func:`course_utils.setup_notebook` and the Keras helper modules;
    the command line does not, and stays free of both frameworks (see ``course_utils/__init__.py``).
    """
    if "tensorflow" in sys.modules and "torchvision" not in sys.modules and _installed("torchvision"):
        import warnings

        warnings.warn("TensorFlow was imported before course_utils: importing torchvision now may crash "
                      "the kernel (Triton and TensorFlow both bundle LLVM). Restart the kernel and import "
                      "course_utils first.", RuntimeWarning, stacklevel=3)
        return
    for module in ("torch", "torchvision"):
        if _installed(module):
            importlib.import_module(module)


@dataclass
class FrameworkGPUs:
    installed: bool = False
    version: str | None = None
    backend: str = "cpu"          # "cuda", "mps" or "cpu"
    count: int = 0
    names: list[str] = field(default_factory=list)
    memory_gb: list[float] = field(default_factory=list)
    note: str = ""


def _version(module: str) -> str | None:
    try:
        return importlib.import_module(module).__version__
    except Exception:
        return None


def detect_torch() -> FrameworkGPUs:
    """PyTorch's view of the accelerators: CUDA GPUs (names, memory), Apple MPS, or CPU."""
    try:
        import torch
    except ImportError:
        return FrameworkGPUs(note="PyTorch is not installed")
    info = FrameworkGPUs(installed=True, version=torch.__version__)
    if torch.cuda.is_available():
        info.backend = "cuda"
        info.count = torch.cuda.device_count()
        for i in range(info.count):
            props = torch.cuda.get_device_properties(i)
            info.names.append(props.name)
            info.memory_gb.append(round(props.total_memory / 2**30, 1))
    elif getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        info.backend, info.count, info.names = "mps", 1, ["Apple MPS"]
    return info


def detect_tensorflow(memory_growth: bool = True) -> FrameworkGPUs:
    """TensorFlow's view of the GPUs; turns on memory growth so TF does not grab all memory
    (which would starve PyTorch in the same notebook)."""
    try:
        import tensorflow as tf
    except ImportError:
        return FrameworkGPUs(note="TensorFlow is not installed")
    info = FrameworkGPUs(installed=True, version=tf.__version__)
    gpus = tf.config.list_physical_devices("GPU")
    for gpu in gpus:
        if memory_growth:
            try:
                tf.config.experimental.set_memory_growth(gpu, True)
            except RuntimeError as err:  # already initialised: harmless, say so
                info.note = f"memory growth not changed ({err})"
        try:
            details = tf.config.experimental.get_device_details(gpu)
            info.names.append(details.get("device_name", gpu.name))
        except Exception:
            info.names.append(gpu.name)
    if gpus:
        info.backend, info.count = "cuda", len(gpus)
        # TF has no portable "total memory" call; PyTorch's numbers are shown when present.
    return info


def torch_device(gpus: FrameworkGPUs | None = None) -> str:
    """The device string a PyTorch notebook should use: ``cuda``, ``mps`` or ``cpu``."""
    gpus = gpus or detect_torch()
    return gpus.backend if gpus.backend in ("cuda", "mps") else "cpu"


def seed_everything(seed: int, deterministic: bool = True) -> None:
    """Seed Python, NumPy, PyTorch and TensorFlow/Keras; optionally ask for deterministic kernels.

    Deterministic kernels make two CPU runs with the same seed give the same numbers (the tests
    rely on it); on a GPU they cost speed, so the ``full`` profile leaves them off.
    """
    random.seed(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)
    import numpy as np

    np.random.seed(seed)
    if "torch" in sys.modules or _installed("torch"):
        import torch

        torch.manual_seed(seed)
        if deterministic:
            os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
            torch.use_deterministic_algorithms(True, warn_only=True)
            torch.backends.cudnn.benchmark = False
    if "tensorflow" in sys.modules or _installed("tensorflow"):
        import keras
        import tensorflow as tf

        keras.utils.set_random_seed(seed)  # Python, NumPy and the backend in one call
        if deterministic:
            try:
                tf.config.experimental.enable_op_determinism()
            except Exception:
                pass


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def set_plot_defaults() -> None:
    """One look for every figure in the course."""
    import matplotlib as mpl

    mpl.rcParams.update({
        "figure.figsize": (6.4, 4.0),
        "figure.dpi": 100,
        "savefig.dpi": 100,
        "axes.grid": True,
        "grid.alpha": 0.3,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "image.cmap": "viridis",
        "font.size": 10,
    })


def library_versions() -> dict:
    """Versions of the libraries the course uses (None where not installed)."""
    mods = ["numpy", "torch", "torchvision", "timm", "tensorflow", "keras", "sklearn", "skimage",
            "matplotlib", "pandas", "PIL", "pooch", "papermill"]
    out = {"python": platform.python_version()}
    for m in mods:
        out[m] = _version(m) if _installed(m) else None
    return out


def in_colab() -> bool:
    return "google.colab" in sys.modules or "COLAB_RELEASE_TAG" in os.environ


def describe_machine(memory_growth: bool = True) -> dict:
    """Everything :func:`setup_notebook` prints, as a dict (also stored in the metrics file)."""
    t = detect_torch()
    f = detect_tensorflow(memory_growth=memory_growth)
    return {
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "colab": in_colab(),
        "torch": asdict(t),
        "tensorflow": asdict(f),
        "torch_device": torch_device(t),
        "has_gpu": t.backend in ("cuda", "mps") or f.count > 0,
    }
