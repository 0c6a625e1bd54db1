"""course_utils: the helper package behind the notebooks of the course
"Convolutional networks for image classification".

Each helper is defined once, here, and used by name from the notebooks; its docstring says
which notebook teaches it. Start with :func:`setup_notebook` (00_setup).

Import order of the frameworks. PyTorch must be loaded before TensorFlow (Triton's bundled LLVM
crashes the process if TensorFlow's is loaded first), so three places call
:func:`~course_utils.setup.env.load_frameworks_in_safe_order`:

* ``import course_utils`` inside a Jupyter/IPython kernel (every notebook), so the notebooks'
  rule "import course_utils before TensorFlow" holds from the first line on;
* :func:`setup_notebook`, for scripts that import the package outside a kernel;
* the modules that import Keras or TensorFlow themselves (``keras_/``).

Everything else loads lazily: the command line (``--help``, ``data``, ``results``, ``badges``,
``doctor`` until it asks for versions) imports neither PyTorch nor TensorFlow, which keeps it
under a second instead of the several seconds PyTorch alone takes to import.
"""
import sys

from .setup.config import REPO_URL, colab_badge, colab_url

__version__ = "0.1.0"
__all__ = ["setup_notebook", "Run", "use_drive", "REPO_URL", "colab_badge", "colab_url", "__version__"]

_LAZY = {"setup_notebook": "setup.notebook", "Run": "setup.notebook", "use_drive": "setup.config"}


def _in_kernel() -> bool:
    """True inside a Jupyter/IPython kernel (notebooks, papermill, nbval), not on the command line."""
    return "ipykernel" in sys.modules or "IPython" in sys.modules


if _in_kernel():
    from .setup.env import load_frameworks_in_safe_order

    load_frameworks_in_safe_order()


def __getattr__(name):
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'course_utils' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
