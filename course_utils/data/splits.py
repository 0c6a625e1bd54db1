"""Splitting datasets: the cats-vs-dogs split (09-12), group-aware (patient) splits (08) and the
index split Keras makes with ``validation_split`` (07).

The small cats-vs-dogs dataset of Deep Learning with Python, built from Kaggle's flat
``train/`` folder (``cat.N.jpg``, ``dog.N.jpg``). Taught in 09_cats_vs_dogs_augmentation; used by
the Keras halves of 10, 11 and 12.

The book copied files into ``train/``, ``validation/``, ``test/`` folders with ``os.mkdir``
(a second run fails) after a scan that *deleted* files without a JFIF header from the learner's
folder. Here the split is a pair of file lists per split, by index as in the book:
per class, the first ``n_train`` clean ids are training, the next ``n_val`` validation, the
next ``n_test`` test. Bad files are reported and left out (their id is skipped), the source is
never modified, and calling it twice gives the same split. :meth:`CatsDogsSplit.write_folders`
writes the book's folder layout (copies, never links) into a folder of yours, idempotently.
"""
from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from course_utils.data.scan import BadFile, check_image

CLASSES = ("cat", "dog")          # label 0 = cat, 1 = dog (alphabetical, as Keras would order them)
SPLITS = ("train", "validation", "test")
_FLAT = re.compile(r"^(cat|dog)\.(\d+)\.(jpe?g|png)$", re.IGNORECASE)


@dataclass
class CatsDogsSplit:
    """File lists of the train / validation / test splits (labels 0 = cat, 1 = dog)."""
    root: str
    layout: str                                           # "flat" or "folders"
    paths: dict = field(default_factory=dict)             # split -> list[str] (absolute paths)
    labels: dict = field(default_factory=dict)            # split -> list[int]
    bad: list = field(default_factory=list)               # BadFile, scanned and left out
    requested: dict = field(default_factory=dict)         # split -> images per class asked for
    notes: list = field(default_factory=list)

    @property
    def counts(self) -> dict:
        """Images per split and class, e.g. ``{"train": {"cat": 1000, "dog": 1000}, ...}``."""
        return {s: {c: sum(1 for y in self.labels[s] if y == k) for k, c in enumerate(CLASSES)}
                for s in self.paths}

    def totals(self) -> dict:
        return {s: len(self.paths[s]) for s in self.paths}

    def summary(self) -> str:
        from course_utils.setup.config import display_path

        lines = [f"{display_path(self.root)} ({self.layout} layout)"]
        for s, c in self.counts.items():
            lines.append(f"  {s:10s} " + ", ".join(f"{k} {v}" for k, v in c.items())
                         + f"  (asked for {self.requested.get(s)} per class)")
        lines.append(f"  {len(self.bad)} bad files skipped (left in place, not modified)"
                     + "".join(f"\n    {b.path}: {b.reason}" for b in self.bad[:10]))
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)

    def to_json(self) -> str:
        return json.dumps({"root": self.root, "layout": self.layout, "counts": self.counts,
                           "bad": [b.__dict__ for b in self.bad], "notes": self.notes,
                           "files": {s: [os.path.basename(p) for p in ps] for s, ps in self.paths.items()}},
                          indent=1)

    def write_folders(self, dest: str | Path) -> int:
        """Write the book's layout ``dest/{train,validation,test}/{cats,dogs}/<file>`` and return
        how many files were *newly* written: a second call writes 0 (idempotent).

        Always real copies: a hard link would share the learner's file, so editing the "copy"
        would change the original. Never touches the source folder; a hard link left in ``dest``
        by an older version of the course is replaced by a copy."""
        dest = Path(dest)
        if dest.resolve() == Path(self.root).resolve() or Path(self.root).resolve() in dest.resolve().parents:
            raise ValueError(f"refusing to write the split inside the source folder {self.root}")
        new = 0
        for s in self.paths:
            for p, y in zip(self.paths[s], self.labels[s]):
                target = dest / s / (CLASSES[y] + "s") / Path(p).name
                if target.is_symlink():
                    target.unlink()
                if target.exists():
                    st = target.stat()
                    if st.st_nlink == 1 and st.st_size == Path(p).stat().st_size:
                        continue
                    target.unlink()  # a link to (or a stale copy of) the source: ours to replace
                target.parent.mkdir(parents=True, exist_ok=True)
                tmp = target.with_name(f".part-{target.name}")
                shutil.copyfile(p, tmp)
                os.replace(tmp, target)
                new += 1
        return new


def _take_clean(candidates, n: int, bad: list, check_pixels: bool) -> list:
    """The first ``n`` readable files of ``candidates`` (in order); bad ones go to ``bad``."""
    out = []
    it = iter(candidates)
    while len(out) < n:
        p = next(it, None)
        if p is None:
            break
        reason = check_image(Path(p))[0] if check_pixels else None
        if reason:
            bad.append(BadFile(Path(p).name, reason))
        else:
            out.append(str(p))
    return out, it


def flat_ids(root: str | Path) -> dict:
    """``{"cat": [(id, path), ...], "dog": [...]}`` of a flat Kaggle folder, sorted by numeric id
    (``cat.10.jpg`` after ``cat.9.jpg``; a plain file-name sort would not do that)."""
    root = Path(root)
    out = {c: [] for c in CLASSES}
    for p in root.iterdir():
        m = _FLAT.match(p.name)
        if m and p.is_file():
            out[m.group(1).lower()].append((int(m.group(2)), p))
    for c in out:
        out[c].sort()
    return out


def make_split(root: str | Path, n_train: int = 1000, n_val: int = 500, n_test: int = 500,
               check_pixels: bool = True) -> CatsDogsSplit:
    """Build the book's split from ``root``: a Kaggle-style flat folder (``cat.N.jpg``) or
    ``cats_and_dogs_filtered`` (``train/`` and ``validation/`` with ``cats/``, ``dogs/``; it has
    no test split, so the test images are carved out of the end of ``validation/``).

    Counts are *per class*. Only the files needed are decoded (a full decode catches truncated
    JPEGs that a header check misses); bad files are skipped and the next id takes their place.
    If the folder has fewer clean images than asked for, the later splits get fewer and a note
    says so. Deterministic: the same folder and counts always give the same split.
    """
    for name, v in (("n_train", n_train), ("n_val", n_val), ("n_test", n_test)):
        if int(v) < 0:
            raise ValueError(f"{name} must be >= 0, got {v}")
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root} is not a folder")
    while True:  # unzipped archives wrap the data in one folder (train/, cats_and_dogs_filtered/)
        entries = [p for p in root.iterdir() if not p.name.startswith((".", "__"))]
        if len(entries) == 1 and entries[0].is_dir():
            root = entries[0]
        else:
            break
    want = {"train": int(n_train), "validation": int(n_val), "test": int(n_test)}
    split = CatsDogsSplit(root=str(root), layout="flat", requested=want,
                          paths={s: [] for s in SPLITS}, labels={s: [] for s in SPLITS})
    ids = flat_ids(root)
    if ids["cat"] or ids["dog"]:
        for k, c in enumerate(CLASSES):
            it = iter([p for _, p in ids[c]])
            for s in SPLITS:
                got, it = _take_clean(it, want[s], split.bad, check_pixels)
                split.paths[s] += got
                split.labels[s] += [k] * len(got)
    elif (root / "train").is_dir() and (root / "validation").is_dir():
        split.layout = "folders"
        split.notes.append("cats_and_dogs_filtered has no test split: test images are the last "
                           "ones of validation/, never used for validation")
        for k, c in enumerate(CLASSES):
            def listing(sub, c=c):  # c bound now: the function is called inside this iteration only
                d = next((root / sub / n for n in (c + "s", c) if (root / sub / n).is_dir()), None)
                if d is None:
                    return []
                files = [p for p in d.iterdir() if p.is_file() and not p.name.startswith(".")]
                key = lambda p: (int(m.group(2)) if (m := _FLAT.match(p.name)) else 10**9, p.name)
                return sorted(files, key=key)
            got, _ = _take_clean(listing("train"), want["train"], split.bad, check_pixels)
            split.paths["train"] += got
            split.labels["train"] += [k] * len(got)
            it = iter(listing("validation"))
            for s in ("validation", "test"):
                got, it = _take_clean(it, want[s], split.bad, check_pixels)
                split.paths[s] += got
                split.labels[s] += [k] * len(got)
    else:
        raise ValueError(f"{root} holds neither cat.N.jpg / dog.N.jpg files (Kaggle's flat train/ "
                         "folder) nor train/ and validation/ folders (cats_and_dogs_filtered)")
    short = {s: c for s, c in split.counts.items() if min(c.values()) < want[s]}
    if short:
        split.notes.append(f"fewer clean images than asked for in {sorted(short)}: {short}")
    return split


def get_cats_dogs(data_dir=None, data_source: str = "auto", seed: int = 0, per_class: int | None = None):
    """Resolve the cats-vs-dogs images; returns their :class:`DataInfo` (record it with ``run.record``).

    ``data_dir`` (a Kaggle-style flat folder) wins; then the Kaggle ``dogs_vs_cats`` folder
    found through ``$COURSE_DATA_ROOT`` or the cache; then the managed download of
    ``cats_and_dogs_filtered`` (no Kaggle account needed); then, with ``data_source='auto'``,
    the synthetic stand-in. ``info.name`` says which of the two datasets it is.
    """
    from course_utils.data.datasets import get_dataset
    from course_utils.data.fetch import DataUnavailable

    if data_dir is not None or data_source == "synthetic":
        return get_dataset("dogs_vs_cats", data_dir=data_dir, data_source=data_source, seed=seed,
                           synthetic_size=per_class)
    try:
        return get_dataset("dogs_vs_cats", data_source="real", seed=seed, progress=False)
    except DataUnavailable:
        print("Kaggle's Dogs vs. Cats folder was not found; using cats_and_dogs_filtered (same images).")
    size = None if per_class is None else max(1, per_class // 2)
    return get_dataset("cats_and_dogs_filtered", data_source=data_source, seed=seed, synthetic_size=size)


def load_split(n_train: int, n_val: int, n_test: int, data_dir=None, data_source: str = "auto", seed: int = 0,
               check_pixels: bool = True):
    """:func:`get_cats_dogs` + :func:`make_split`: the one call notebooks 10-12 make.

    Returns ``(split, info)``; ``info.counts`` holds the split's sizes for the metrics file
    (``run.record(info)``)."""
    per_class = int(n_train) + int(n_val) + int(n_test)
    info = get_cats_dogs(data_dir, data_source=data_source, seed=seed, per_class=per_class)
    split = make_split(info.root, n_train, n_val, n_test, check_pixels=check_pixels)
    info.counts = {**split.totals(), "corrupt_skipped": len(split.bad)}
    return split, info


def keras_like_split(n: int, validation_split: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(train, validation)`` the way ``image_dataset_from_directory`` splits: shuffle the
    file list with ``seed``, then the last ``validation_split`` fraction is validation."""
    rng = np.random.RandomState(seed)
    order = rng.permutation(n)
    n_val = int(validation_split * n)
    return np.sort(order[: n - n_val]), np.sort(order[n - n_val:])


def group_split(groups, fractions=(0.7, 0.15, 0.15), seed: int = 0, labels=None):
    """Split items so that every group (patient) lands in exactly one of train/validation/test.

    Groups are shuffled with ``seed`` and assigned greedily until each split holds about its
    fraction of the *items*. With ``labels``, groups are assigned per majority label so each split
    keeps both classes. Returns three sorted index arrays. Taught in 07 and 08 (leakage).
    """
    groups = np.asarray(groups)
    rng = np.random.default_rng(seed)
    uniq = np.array(sorted(set(groups.tolist())))
    out = [[], [], []]
    strata = [uniq]
    if labels is not None:
        labels = np.asarray(labels)
        major = {g: np.bincount(labels[groups == g]).argmax() for g in uniq}
        strata = [np.array([g for g in uniq if major[g] == k]) for k in sorted(set(major.values()))]
    for stratum in strata:
        stratum = stratum[rng.permutation(len(stratum))]
        sizes = {g: int((groups == g).sum()) for g in stratum}
        total = sum(sizes.values())
        filled = [0, 0, 0]
        for g in stratum:
            # the split furthest below its target share gets the next group
            need = [fractions[i] * total - filled[i] for i in range(3)]
            i = int(np.argmax(need))
            out[i].append(g)
            filled[i] += sizes[g]
    idx = [np.sort(np.flatnonzero(np.isin(groups, np.array(o, dtype=groups.dtype)))) for o in out]
    return tuple(idx)
