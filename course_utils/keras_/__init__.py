"""Keras helpers (07-12): datasets, training, models, transfer learning, CAM."""
from course_utils.setup.env import load_frameworks_in_safe_order

load_frameworks_in_safe_order()  # PyTorch before TensorFlow (see course_utils/__init__.py)
