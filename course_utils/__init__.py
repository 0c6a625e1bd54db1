"""course_utils: the helper package behind the notebooks of the course
"Convolutional networks for image classification".

Each helper is defined once, here, and used by name from the notebooks; its docstring says
which notebook teaches it. Start with :func:`setup_notebook` (00_setup).
"""
from course_utils.setup.env import load_frameworks_in_safe_order

load_frameworks_in_safe_order()

from course_utils.setup.config import REPO_URL, colab_badge, colab_url
from course_utils.setup.notebook import Run, setup_notebook

__version__ = "0.1.0"
__all__ = ["setup_notebook", "Run", "REPO_URL", "colab_badge", "colab_url", "__version__"]
