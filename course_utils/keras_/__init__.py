"""Keras helpers (07-12): datasets, training, models, transfer learning, CAM."""
