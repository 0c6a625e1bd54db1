"""PyTorch helpers (06, 05, 10-12): data loaders, the training loop, models, transfer learning, CAM."""
