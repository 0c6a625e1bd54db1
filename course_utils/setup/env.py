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

# TensorFlow 2.16+ logs through absl, which ignores TF_CPP_MIN_LOG_LEVEL for its start-up lines.
# These are the lines it writes that carry no news for a learner (the GPU report says the same);
# anything else TensorFlow writes to stderr is passed through untouched.
NATIVE_NOISE = (
    "All log messages before absl::InitializeLog() is called",
    "cudart_stub.cc",                      # "Could not find cuda drivers on your machine"
    "failed call to cuInit",               # a CPU-only machine, reported by setup_notebook instead
    "oneDNN custom operations are on",
    "This TensorFlow binary is optimized to use available CPU instructions",
    "To enable the following instructions",
    "Unable to register cuDNN factory", "Unable to register cuFFT factory",
    "Unable to register cuBLAS factory", "computation placer already registered",
    "NodeDef mentions attribute use_unbounded_threadpool",  # tf.data graph versions, harmless
    "TF-TRT Warning: Could not find TensorRT",
)
_native_filter = None


def _is_noise(line: str) -> bool:
    return any(pattern in line for pattern in NATIVE_NOISE)


class _NativeStderrFilter:
    """Route the process's file descriptor 2 through a pipe and drop :data:`NATIVE_NOISE` lines.

    Only C/C++ code writes to fd 2 directly inside a Jupyter kernel (Python's ``sys.stderr`` is
    the kernel's own stream), so Python warnings and tracebacks are not touched.
    """

    def __init__(self):
        import atexit
        import threading

        self.saved = os.dup(2)
        read_end, write_end = os.pipe()
        os.dup2(write_end, 2)
        os.close(write_end)
        self.read_end = read_end
        self.thread = threading.Thread(target=self._pump, name="native-stderr-filter", daemon=True)
        self.thread.start()
        atexit.register(self.close)

    def _pump(self):
        pending = b""
        while True:
            try:
                chunk = os.read(self.read_end, 65536)
            except OSError:
                break
            if not chunk:
                break
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                if not _is_noise(line.decode("utf-8", "replace")):
                    os.write(self.saved, line + b"\n")
        if pending and not _is_noise(pending.decode("utf-8", "replace")):
            os.write(self.saved, pending)

    def close(self):
        os.dup2(self.saved, 2)  # closes the pipe's last write end: the pump drains and stops
        self.thread.join(timeout=2)


def quiet_native_logs() -> None:
    """Drop TensorFlow's known start-up and tf.data log lines (:data:`NATIVE_NOISE`) from stderr.

    Installed once, inside a Jupyter kernel only (where stored notebooks come from); in a plain
    Python process stderr stays exactly as the libraries write it.
    """
    global _native_filter
    if _native_filter is None and "ipykernel" in sys.modules:
        try:
            _native_filter = _NativeStderrFilter()
        except OSError:  # no usable fd 2 (some IDEs): leave stderr alone
            _native_filter = False


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
    """The installed version, read from the package metadata when the module is not loaded yet
    (importing timm or pandas just to ask pulls in tqdm.auto and its IProgress warning)."""
    if module in sys.modules:
        return getattr(sys.modules[module], "__version__", None)
    from importlib.metadata import PackageNotFoundError, version

    dist = {"sklearn": "scikit-learn", "skimage": "scikit-image", "PIL": "pillow"}.get(module, module)
    try:
        return version(dist)
    except PackageNotFoundError:
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
    if not _installed("tensorflow"):
        return FrameworkGPUs(note="TensorFlow is not installed")
    quiet_native_logs()
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
