"""Synthetic stand-ins for every dataset, in the dataset's real layout and file format.

Used by the tests and as an offline fallback (always announced with a banner and recorded as
``synthetic`` in the metrics file). Deterministic by seed, with a class signal a small model can
learn -- each class has its own colour, shape and stripe direction -- so a smoke run can show
learning above chance. Numbers measured on these images say nothing about the real task.
"""
from __future__ import annotations

import colorsys
import gzip
import json
import pickle
from pathlib import Path

import numpy as np

MARKER = ".course-synthetic.json"


def synth_image(label: int, n_classes: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """One RGB uint8 image whose colour, shape and texture depend on ``label``."""
    yy, xx = np.mgrid[0:size, 0:size] / max(size - 1, 1)
    hue = (label / n_classes + rng.normal(0, 0.02)) % 1.0
    base = np.array(colorsys.hsv_to_rgb(hue, 0.65, 0.85))
    bg = np.array(colorsys.hsv_to_rgb((hue + 0.5) % 1.0, 0.25, 0.45))
    cy, cx = rng.uniform(0.35, 0.65, size=2)
    r = rng.uniform(0.18, 0.3)
    if label % 3 == 0:
        mask = (yy - cy) ** 2 + (xx - cx) ** 2 < r**2
    elif label % 3 == 1:
        mask = (np.abs(yy - cy) < r) & (np.abs(xx - cx) < r)
    else:
        mask = (np.abs(yy - cy) + np.abs(xx - cx)) < r * 1.3
    angle = np.pi * label / n_classes
    stripes = 0.5 + 0.5 * np.sin(2 * np.pi * 4 * (np.cos(angle) * xx + np.sin(angle) * yy))
    img = bg[None, None, :] * (0.8 + 0.2 * stripes[..., None])
    img = np.where(mask[..., None], base[None, None, :], img)
    img = img + rng.normal(0, 0.06, size=img.shape)
    return (np.clip(img, 0, 1) * 255).astype(np.uint8)


# Seven-segment strokes for the digits 0-9: (x0, y0, x1, y1) in a 0..1 box.
_SEG = {"a": (0.2, 0.1, 0.8, 0.1), "b": (0.8, 0.1, 0.8, 0.5), "c": (0.8, 0.5, 0.8, 0.9),
        "d": (0.2, 0.9, 0.8, 0.9), "e": (0.2, 0.5, 0.2, 0.9), "f": (0.2, 0.1, 0.2, 0.5), "g": (0.2, 0.5, 0.8, 0.5)}
_DIGITS = ["abcdef", "bc", "abged", "abgcd", "fgbc", "afgcd", "afgedc", "abc", "abcdefg", "abcdfg"]


def synth_digit(label: int, rng: np.random.Generator, size: int = 28) -> np.ndarray:
    """A 28x28 grayscale seven-segment digit, jittered, MNIST-like (white on black)."""
    from PIL import Image, ImageDraw

    im = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(im)
    scale = rng.uniform(0.55, 0.75) * size
    ox, oy = rng.uniform(0.1, 0.35) * size, rng.uniform(0.05, 0.2) * size
    slant = rng.uniform(-0.15, 0.15)
    width = int(rng.integers(2, 4))
    for seg in _DIGITS[label]:
        x0, y0, x1, y1 = _SEG[seg]
        pts = [(ox + (x0 + slant * (1 - y0)) * scale * 0.8, oy + y0 * scale),
               (ox + (x1 + slant * (1 - y1)) * scale * 0.8, oy + y1 * scale)]
        draw.line(pts, fill=255, width=width)
    arr = np.asarray(im, dtype=np.float32) + rng.normal(0, 12, size=(size, size))
    return np.clip(arr, 0, 255).astype(np.uint8)


def _save(arr: np.ndarray, path: Path) -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path, quality=90) if path.suffix == ".jpg" else Image.fromarray(arr).save(path)


def _idx(path: Path, arr: np.ndarray) -> None:
    """Write an IDX file (the MNIST format): magic, dims, big-endian uint8 payload."""
    ndim = arr.ndim
    header = bytes([0, 0, 0x08, ndim]) + b"".join(int(d).to_bytes(4, "big") for d in arr.shape)
    path.write_bytes(header + arr.astype(np.uint8).tobytes())


def make_mnist(root: Path, rng, n_train: int = 2000, n_test: int = 500) -> dict:
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    counts = {}
    for split, n, prefix in (("train", n_train, "train"), ("test", n_test, "t10k")):
        labels = np.arange(n) % 10
        rng.shuffle(labels)
        images = np.stack([synth_digit(int(k), rng) for k in labels])
        _idx(raw / f"{prefix}-images-idx3-ubyte", images)
        _idx(raw / f"{prefix}-labels-idx1-ubyte", labels)
        for name in (f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte"):
            # mtime=0: gzip stamps the write time into its header, which would make two
            # generations with the same seed differ
            with open(raw / name, "rb") as src, gzip.GzipFile(raw / f"{name}.gz", "wb", mtime=0) as dst:
                dst.write(src.read())
        counts[split] = n
    return counts


def make_cifar10(root: Path, rng, classes, n_per_class: int = 60, n_test_per_class: int = 20) -> dict:
    out = root / "cifar-10-batches-py"
    out.mkdir(parents=True, exist_ok=True)

    def batch(n_each):
        labels = np.repeat(np.arange(10), n_each)
        rng.shuffle(labels)
        data = np.stack([synth_image(int(k), 10, 32, rng).transpose(2, 0, 1).reshape(-1) for k in labels])
        return data, labels

    data, labels = batch(n_per_class)
    for i, chunk in enumerate(np.array_split(np.arange(len(labels)), 5), start=1):
        with open(out / f"data_batch_{i}", "wb") as fh:
            pickle.dump({b"data": data[chunk], b"labels": labels[chunk].tolist()}, fh)
    tdata, tlabels = batch(n_test_per_class)
    with open(out / "test_batch", "wb") as fh:
        pickle.dump({b"data": tdata, b"labels": tlabels.tolist()}, fh)
    with open(out / "batches.meta", "wb") as fh:
        pickle.dump({b"label_names": [c.encode() for c in classes]}, fh)
    return {"train": len(labels), "test": len(tlabels)}


def make_class_folders(root: Path, rng, classes, n_per_class: int = 40, size: int = 96,
                       name_fn=None, ext: str = ".jpg") -> dict:
    counts = {}
    for k, cls in enumerate(classes):
        for i in range(n_per_class):
            name = name_fn(k, i) if name_fn else f"{cls}_{i:04d}{ext}"
            _save(synth_image(k, len(classes), size, rng), root / cls / name)
        counts[cls] = n_per_class
    return counts


def make_monkeypox(root: Path, rng, classes, n_per_class: int = 40, size: int = 96) -> dict:
    # MSLD names files P<patient>_<n>.jpg; 2-4 images per synthetic patient, patient ids unique
    # across classes, as in the real set (which is why a patient-level split is needed).
    counts = {}
    pid = 1
    for k, cls in enumerate(classes):
        i = 0
        while i < n_per_class:
            per = int(rng.integers(1, 4))
            for j in range(1, per + 1):
                if i >= n_per_class:
                    break
                _save(synth_image(k, len(classes), size, rng), root / cls / f"P{pid}_{j}.jpg")
                i += 1
            pid += 1
        counts[cls] = n_per_class
    return counts


def make_idc(root: Path, rng, n_patients: int = 12, patches_per_patient: int = 30) -> dict:
    counts = {"0": 0, "1": 0}
    for p in range(n_patients):
        pid = str(10000 + p)
        pos_rate = rng.uniform(0.1, 0.5)
        for i in range(patches_per_patient):
            label = int(rng.random() < pos_rate)
            x, y = 50 * (i % 10), 50 * (i // 10)
            _save(synth_image(label, 2, 50, rng), root / pid / str(label) / f"{pid}_idx5_x{x}_y{y}_class{label}.png")
            counts[str(label)] += 1
    return counts


def make_flat_cats_dogs(root: Path, rng, n_per_class: int = 60, size: int = 96) -> dict:
    for k, cls in enumerate(("cat", "dog")):
        for i in range(n_per_class):
            _save(synth_image(k, 2, size, rng), root / f"{cls}.{i}.jpg")
    return {"cat": n_per_class, "dog": n_per_class}


def make_split_folders(root: Path, rng, classes, splits=("train", "validation"), n_per_class: int = 30,
                       size: int = 96) -> dict:
    counts = {}
    for split in splits:
        c = make_class_folders(root / split, rng, classes, n_per_class, size,
                               name_fn=lambda k, i, s=split: f"{s}_{classes[k]}_{i:04d}.jpg")
        counts[split] = sum(c.values())
    return counts


def _savemat(path: Path, data: dict) -> None:
    """``scipy.io.savemat`` with a fixed header (it stamps the creation time, which would make
    two runs with the same seed differ)."""
    import io

    from scipy.io import savemat

    buf = io.BytesIO()
    savemat(buf, data)
    raw = bytearray(buf.getvalue())
    raw[:116] = b"MATLAB 5.0 MAT-file, synthetic stand-in written by course_utils".ljust(116)
    path.write_bytes(bytes(raw))


def make_flowers102(root: Path, rng, n_classes: int = 102, per_class: int = 3, size: int = 96) -> dict:
    base = root / "flowers-102"
    labels = np.repeat(np.arange(1, n_classes + 1), per_class)
    for i, lab in enumerate(labels, start=1):
        _save(synth_image(int(lab) - 1, n_classes, size, rng), base / "jpg" / f"image_{i:05d}.jpg")
    _savemat(base / "imagelabels.mat", {"labels": labels[None, :]})
    ids = np.arange(1, len(labels) + 1)
    _savemat(base / "setid.mat",
             {"trnid": ids[0::3][None, :], "valid": ids[1::3][None, :], "tstid": ids[2::3][None, :]})
    return {"train": len(ids[0::3]), "val": len(ids[1::3]), "test": len(ids[2::3])}


def make(kind: str, root: str | Path, seed: int, classes: list[str], size: int | None = None) -> dict:
    """Write the synthetic stand-in ``kind`` under ``root``; returns image counts.

    ``size`` scales how many images are made (images per class, or patients for IDC).
    """
    root = Path(root)
    rng = np.random.default_rng(seed)
    if kind == "mnist":
        counts = make_mnist(root, rng, n_train=(size or 200) * 10, n_test=(size or 200) * 10 // 4)
    elif kind == "cifar10":
        counts = make_cifar10(root, rng, classes, n_per_class=size or 60, n_test_per_class=max((size or 60) // 3, 10))
    elif kind == "monkeypox":
        counts = make_monkeypox(root, rng, classes, n_per_class=size or 40)
    elif kind == "idc":
        counts = make_idc(root, rng, n_patients=size or 12)
    elif kind == "flat_cats_dogs":
        counts = make_flat_cats_dogs(root, rng, n_per_class=size or 60)
    elif kind == "split_train_validation":
        counts = make_split_folders(root, rng, classes, ("train", "validation"), n_per_class=size or 30)
    elif kind == "split_train_val":
        counts = make_split_folders(root, rng, classes, ("train", "val"), n_per_class=size or 30)
    elif kind == "class_folders":
        counts = make_class_folders(root, rng, classes, n_per_class=size or 40)
    elif kind == "flowers102":
        counts = make_flowers102(root, rng, per_class=size or 3)
    else:
        raise ValueError(f"no synthetic generator called {kind!r}")
    (root / MARKER).write_text(json.dumps({"kind": kind, "seed": seed, "size": size, "counts": counts}))
    return counts
