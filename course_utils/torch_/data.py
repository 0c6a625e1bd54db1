"""PyTorch data: loaders, ImageNet transforms, image-folder splits and the flowers datasets (06, 10-12)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

IMAGENET_MEAN = (0.485, 0.456, 0.406)


IMAGENET_STD = (0.229, 0.224, 0.225)


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
        from course_utils.data.scan import load_rgb

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
                 check_pixels: bool = True, val_from_train: float | None = None) -> ImageSplits:
    """Train/validation/test splits of an image folder, scanned by :func:`course_utils.data.scan.scan_folder`.

    Layouts: ``train/<class>`` + ``val/<class>`` (``validation/`` also accepted; an optional
    ``test/<class>``, else the validation folder is halved into validation and test), or plain
    ``<class>/`` folders, split per class by ``fractions`` with ``seed`` (stratified).
    ``max_per_class`` caps each class (in each split folder) at random, for quick runs.
    ``val_from_train`` (a fraction, for train/val folders without a test folder): the whole
    validation folder becomes the test split, and that fraction of each class of the training
    folder becomes the validation split (11 does this: twice the test images). Taught in
    10_transfer_learning.
    """
    if val_from_train is not None and not 0 < val_from_train < 1:
        raise ValueError(f"val_from_train must be a fraction between 0 and 1, not {val_from_train!r}")
    from course_utils.data.datasets import find_image_root
    from course_utils.data.scan import scan_folder

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
        carve = val_from_train is not None and "test" not in reports
        for split, rep in reports.items():
            keep_all = split == "train" or max_per_class is None or carve
            cap = max_per_class if keep_all else max(2, int(round(max_per_class * frac)))
            files, labels = _cap_per_class(rep.paths, [classes.index(v) for v in rep.labels], cap, rng)
            out.files[split], out.labels[split] = files, labels
            out.bad += rep.bad
        if carve:
            train_idx, val_idx = _stratified(out.labels["train"], (1 - val_from_train, val_from_train), rng)
            files, labels = out.files["train"], out.labels["train"]
            out.files["test"], out.labels["test"] = out.files["val"], out.labels["val"]
            out.files["train"], out.labels["train"] = [files[i] for i in train_idx], [labels[i] for i in train_idx]
            out.files["val"], out.labels["val"] = [files[i] for i in val_idx], [labels[i] for i in val_idx]
            out.files = {k: out.files[k] for k in ("train", "val", "test")}
            out.layout += f" (test = the val folder, validation = {val_from_train:.0%} of train)"
        elif "test" not in reports:
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

        self.root = str(root)
        self._sets = {s: self.dataset(s) for s in ("train", "val", "test")}
        names = getattr(self._sets["train"], "classes", None)
        self.classes = list(names) if names else [f"flower {i}" for i in range(1, 103)]

    @property
    def class_to_idx(self) -> dict[str, int]:
        return {c: i for i, c in enumerate(self.classes)}

    def counts(self) -> dict[str, int]:
        return {s: len(d) for s, d in self._sets.items()}

    def dataset(self, split: str, transform=None):
        from torchvision.datasets import Flowers102

        from course_utils.data.synthetic import MARKER

        cls = Flowers102
        if (Path(self.root) / MARKER).exists():
            # the synthetic stand-in's .mat files cannot carry the published md5 torchvision checks
            class SyntheticFlowers102(Flowers102):
                def _check_integrity(self):
                    return self._images_folder.is_dir() and all(
                        (self._base_folder / self._file_dict[k][0]).exists() for k in ("label", "setid"))

            cls = SyntheticFlowers102
        return cls(self.root, split=split, transform=transform, download=False)


def load_torch_splits(dataset: str, data_dir=None, max_per_class: int | None = None, seed: int = 0,
                      data_source: str = "auto", tiny: bool = False, val_from_train: float | None = None):
    """``(splits, info)`` for the PyTorch halves of 10-12; record ``info`` with ``run.record``.

    ``dataset="flowers102"`` (the ``full`` profile): Oxford 102 through torchvision's official
    split where it can be had, else -- saying why -- the 5-class flowers (a ``tiny`` run keeps
    the profile's dataset: the synthetic Oxford 102, flagged as a stand-in). Any other manifest
    name (``"hymenoptera"``, ants vs bees at full resolution, on ``laptop`` and ``smoke``;
    ``"flowers5"``) is resolved through the data layer (or ``data_dir``, any image folder) and
    split by :func:`image_splits`. Provenance names what was read: a ``data_dir`` whose classes
    are not the named dataset's is recorded as an image folder with its own class names, never
    under the other dataset's title. ``info.counts`` holds the split sizes. ``val_from_train``
    goes to :func:`image_splits` (Oxford 102 keeps its official split)."""
    from course_utils.data import manifest as _manifest
    from course_utils.data.datasets import get_dataset

    name = dataset
    if dataset == "flowers102" and data_dir is None:
        try:
            info = get_dataset("flowers102", data_source="real", seed=seed)
            splits = Flowers102Splits(info.root)
            info.counts = {**splits.counts(), "bad_files_skipped": len(splits.bad)}
            return splits, info
        except Exception as err:
            print("Oxford 102 Flowers cannot be had here:", str(err).splitlines()[0][:200])
            if tiny:  # a tiny run keeps the profile's dataset: its synthetic stand-in (flagged by run.record)
                from course_utils.data.datasets import network_reason

                info = get_dataset("flowers102", data_source="synthetic", seed=seed)
                info.origin = network_reason(str(err)) or str(err).splitlines()[0][:300]
                splits = Flowers102Splits(info.root)
                info.counts = {**splits.counts(), "bad_files_skipped": 0}
                return splits, info
            print("-> using the 5-class flowers instead")
            name = "flowers5"
    elif dataset == "flowers102":
        name = "flowers5"
    info = get_dataset(name, data_dir=data_dir, data_source=data_source, seed=seed)
    splits = image_splits(info.root, max_per_class=max_per_class, seed=seed, val_from_train=val_from_train)
    expected = sorted(c.lower() for c in (_manifest.get(name).classes or []))
    if data_dir is not None and not info.synthetic and sorted(c.lower() for c in splits.classes) != expected:
        info.name = "image_folder"
        info.title = f"image folder {Path(info.root).name!r} (classes: {', '.join(splits.classes)})"
        info.notes = []
        print(f"data_dir holds {splits.classes}, not the {dataset} classes: recorded as {info.title}")
    info.counts = {**splits.counts(), "bad_files_skipped": len(splits.bad)}
    return splits, info


def make_loader(dataset, batch_size: int, shuffle: bool = False, seed: int = 0, num_workers: int = 0,
                n_batches: int | None = None):
    """A ``DataLoader`` whose order depends only on ``seed`` (reproducible runs). With
    ``n_batches``, exactly that many batches of examples drawn at random with replacement (a
    training run counted in steps rather than epochs, as in 05)."""
    import torch
    from torch.utils.data import DataLoader, RandomSampler

    gen = torch.Generator().manual_seed(int(seed))
    if n_batches is not None:
        sampler = RandomSampler(dataset, replacement=True, num_samples=int(n_batches) * batch_size, generator=gen)
        return DataLoader(dataset, batch_size=batch_size, sampler=sampler, num_workers=num_workers)
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, generator=gen, num_workers=num_workers)
