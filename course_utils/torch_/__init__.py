"""PyTorch helpers (06, 05, 10-13): data loaders, the training loop, models, transfer learning, CAM,
distributed training."""
