"""Class activation maps in PyTorch (taught in 12_class_activation_maps, Part B).

* :func:`grad_cam` -- Grad-CAM (Selvaraju et al. 2017) for any CNN: a forward hook keeps the
  target layer's activations, a backward hook its gradients; both hooks are removed before the
  function returns, even on error.
* :func:`class_activation_map` -- CAM (Zhou et al. 2016) for a network that ends in global
  average pooling + one linear layer: the class's weights applied to the last feature maps.

Overlays are drawn with :func:`course_utils.plots.overlay_heatmap`.
"""
from __future__ import annotations

import numbers

import numpy as np

from course_utils.cam import normalize_maps


def grad_cam(model, layer, x, class_idx=None):
    """Grad-CAM of one image ``x`` (1, 3, H, W) for ``class_idx`` (default: the predicted class).
    ``class_idx`` may also be a collection of classes: the map is then for the highest-scoring of
    them, chosen in the same forward pass (12: ImageNet's best cat class, or its best dog breed).

    Returns ``(cam, class_idx, probs)``: ``cam`` is an (h, w) array in [0, 1] at the layer's
    resolution, ``probs`` the softmax output. Weights of each channel = the spatial mean of the
    gradient of the class score with respect to that channel; the map = ReLU of the weighted sum.
    """
    import torch

    if x.ndim != 4 or x.shape[0] != 1:
        raise ValueError(f"grad_cam takes one image of shape (1, C, H, W), got {tuple(x.shape)}")
    store = {}

    def forward_hook(module, inputs, output):
        store["act"] = output.detach()

    def backward_hook(module, grad_input, grad_output):
        store["grad"] = grad_output[0].detach()

    handles = [layer.register_forward_hook(forward_hook), layer.register_full_backward_hook(backward_hook)]
    was_training = model.training
    try:
        model.eval()
        x = x.clone().requires_grad_(True)  # so the backward hook fires even when the layer is frozen
        logits = model(x)
        if class_idx is None:
            class_idx = int(logits.argmax(1))
        elif not isinstance(class_idx, numbers.Integral):
            candidates = [int(c) for c in class_idx]
            class_idx = candidates[int(logits[0, candidates].argmax())]
        model.zero_grad()
        logits[0, class_idx].backward()
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    if "act" not in store or "grad" not in store:
        raise RuntimeError("the hooks did not fire: is `layer` part of `model`'s forward pass?")
    weights = store["grad"].mean(dim=(2, 3), keepdim=True)          # (1, C, 1, 1)
    cam = torch.relu((weights * store["act"]).sum(dim=1))[0]        # (h, w)
    return normalize_maps(cam.cpu().numpy(), relu=False), class_idx, torch.softmax(logits.detach(), 1)[0].cpu().numpy()


def class_activation_map(feature_maps, fc_weight, class_idx: int) -> np.ndarray:
    """CAM from the last feature maps (C, h, w) and the linear head's weight (classes, C):
    ``sum_c w[class, c] * A_c``, normalized to [0, 1]. Valid because global average pooling and a
    linear layer commute: the class score is the spatial mean of this map (plus the bias)."""
    import torch

    a = torch.as_tensor(feature_maps, dtype=torch.float32).detach()
    w = torch.as_tensor(fc_weight, dtype=torch.float32).detach()
    if a.ndim != 3 or w.ndim != 2 or w.shape[1] != a.shape[0]:
        raise ValueError("feature maps (C, h, w) and weight (classes, C) needed, "
                         f"got {tuple(a.shape)}, {tuple(w.shape)}")
    cam = torch.einsum("c,chw->hw", w[class_idx], a)
    return normalize_maps(torch.relu(cam).numpy(), relu=False)


def gap_cam(model, x, class_idx: int | None = None):
    """CAM of a GAP network (a timm EfficientNet or a torchvision ResNet: feature maps -> global
    average pooling -> one linear layer) for one image. Returns ``(cam, class_idx, probs)`` like
    :func:`grad_cam`."""
    import torch

    from course_utils.torch_.transfer import classifier_layer, feature_maps

    model.eval()
    head = classifier_layer(model)
    with torch.no_grad():
        fmap = feature_maps(model, x)
        logits = head(fmap.mean(dim=(2, 3)))
    if class_idx is None:
        class_idx = int(logits.argmax(1))
    cam = class_activation_map(fmap[0].cpu(), head.weight.detach().cpu(), class_idx)
    return cam, class_idx, torch.softmax(logits, 1)[0].cpu().numpy()


def last_conv_block(model):
    """The last convolutional block, where Grad-CAM usually looks: ``blocks[-1]`` of a timm
    EfficientNet, ``layer4`` of a torchvision ResNet."""
    if hasattr(model, "blocks"):
        return model.blocks[-1]
    if hasattr(model, "layer4"):
        return model.layer4
    raise ValueError(f"last_conv_block does not know {type(model).__name__}")
