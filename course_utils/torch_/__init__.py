"""PyTorch helpers of the course (data, training loops, models, transfer learning, CAM, distributed)."""
