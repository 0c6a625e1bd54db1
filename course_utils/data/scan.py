"""The image-folder scanner used by every loader, Keras and PyTorch alike (taught in 00_setup,
used first in 07 and 09).

It lists classes and counts and finds bad files -- unreadable, truncated, empty, not an image,
hidden files and ``__MACOSX`` debris -- each with a reason. Non-RGB images (grayscale, CMYK,
palette, RGBA) are *not* bad: loaders convert them, and the scan says which were converted.
Nothing is ever deleted or modified: bad files are simply left out of the clean list.
"""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

from course_utils.errors import CourseError

# Files the course itself writes into dataset folders (cache and synthetic markers): not data,
# and not the learner's, so they are neither listed nor reported.
COURSE_MARKERS = {".course-complete.json", ".course-synthetic.json"}
IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"}
# Folder names that mean "a split", never "a class".
SPLIT_NAMES = {"train", "training", "val", "valid", "validation", "test", "testing"}
# Pillow modes of 16-bit (or 32-bit integer) images: scaled to 8 bits before RGB, never clipped.
WIDE_MODES = {"I;16", "I;16B", "I;16L", "I;16N", "I"}


class LayoutError(CourseError, ValueError):
    """A folder whose layout is not the one a loader expects (split folders, a single class)."""


def split_layout(root: str | Path) -> list[str]:
    """The split folders (``train``, ``val``...) of ``root`` if it is laid out as
    ``<split>/<class>/<image>``, else an empty list."""
    root = Path(root)
    subs = [d for d in root.iterdir() if d.is_dir() and not _is_debris(Path(d.name))]
    splits = [d.name for d in subs if d.name.lower() in SPLIT_NAMES
              and any(c.is_dir() and not _is_debris(Path(c.name)) for c in d.iterdir())]
    if len(splits) >= 2 or (splits and len(splits) == len(subs)):
        return sorted(splits)
    return []


@dataclass
class BadFile:
    path: str
    reason: str


@dataclass
class ScanReport:
    root: str
    classes: list[str]
    files: list[str] = field(default_factory=list)        # clean image files (relative to root)
    labels: list[str] = field(default_factory=list)       # class of each clean file
    bad: list[BadFile] = field(default_factory=list)
    converted: dict[str, str] = field(default_factory=dict)  # relative path -> original mode

    @property
    def counts(self) -> dict[str, int]:
        c = Counter(self.labels)
        return {k: c.get(k, 0) for k in self.classes}

    @property
    def paths(self) -> list[Path]:
        return [Path(self.root) / f for f in self.files]

    def summary(self) -> str:
        from course_utils.setup.config import display_path

        lines = [f"{display_path(self.root)}: {len(self.files)} images in {len(self.classes)} classes "
                 + ", ".join(f"{k}={v}" for k, v in self.counts.items())]
        if len(self.classes) == 1:
            lines.append(f"  only one class ({self.classes[0]}): a classifier needs at least two")
        if self.converted:
            modes = Counter(self.converted.values())
            lines.append(f"  {len(self.converted)} non-RGB images will be converted to RGB ({dict(modes)})")
            if any(m in WIDE_MODES for m in modes):
                lines.append("  16-bit images are scaled to 8 bits (value / 257), not clipped")
        if self.bad:
            lines.append(f"  {len(self.bad)} bad files skipped (left in place, not modified):")
            for b in self.bad[:20]:
                lines.append(f"    {b.path}: {b.reason}")
            if len(self.bad) > 20:
                lines.append(f"    ... and {len(self.bad) - 20} more")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["counts"] = self.counts
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1)


def check_image(path: Path) -> tuple[str | None, str | None]:
    """Return ``(reason_if_bad, original_mode)`` for one file. Decodes it fully, because a
    truncated JPEG passes ``verify()`` but fails when a loader reads its pixels."""
    from PIL import Image, UnidentifiedImageError

    try:
        if path.stat().st_size == 0:
            return "empty file (0 bytes)", None
    except OSError as err:
        return f"unreadable ({err.strerror})", None
    try:
        with Image.open(path) as im:
            fmt, mode = im.format, im.mode
            im.load()
    except UnidentifiedImageError:
        return "not an image (no known image header)", None
    except OSError as err:
        msg = str(err)
        return ("truncated image" if "truncat" in msg.lower() else f"unreadable image ({msg})"), None
    except Exception as err:  # decoder bugs on hostile files: report, never crash the scan
        return f"unreadable image ({type(err).__name__}: {err})", None
    if fmt not in ("JPEG", "PNG", "BMP", "GIF", "WEBP", "TIFF", "MPO"):
        return f"unsupported image format {fmt}", None
    if mode == "F":
        return "32-bit floating-point pixels: their range is unknown, so they cannot be shown as 8-bit RGB", None
    return None, (mode if mode != "RGB" else None)


def _is_debris(rel: Path) -> str | None:
    parts = rel.parts
    if any(p == "__MACOSX" for p in parts):
        return "macOS archive debris (__MACOSX)"
    if any(p.startswith(".") for p in parts):
        return "hidden file"
    if rel.name in ("Thumbs.db", "desktop.ini"):
        return "system file"
    return None


def scan_files(root: Path, files: list[Path], labels: list[str], classes: list[str] | None = None,
               check_pixels: bool = True) -> ScanReport:
    """Scan an explicit list of files (for layouts that are not ``<class>/<file>``)."""
    root = Path(root)
    report = ScanReport(root=str(root), classes=classes or sorted(set(labels)))
    for path, label in zip(files, labels):
        rel = Path(path).relative_to(root)
        reason = _is_debris(rel)
        if reason is None and Path(path).suffix.lower() not in IMAGE_EXTENSIONS:
            reason = f"not an image file (extension {Path(path).suffix or 'none'})"
        mode = None
        if reason is None and check_pixels:
            reason, mode = check_image(Path(path))
        if reason:
            report.bad.append(BadFile(str(rel), reason))
            continue
        report.files.append(str(rel))
        report.labels.append(label)
        if mode:
            report.converted[str(rel)] = mode
    return report


def scan_folder(root: str | Path, check_pixels: bool = True, min_classes: int = 2) -> ScanReport:
    """Scan ``root/<class>/**/<image>``: classes are the sub-folders, sorted alphabetically
    (the order Keras and torchvision use).

    A split layout (``train/<class>``, ``val/<class>``) is not read as classes named "train" and
    "val": it stops with a :class:`LayoutError` that names the layout and what to pass instead.
    Fewer than ``min_classes`` classes stops too, saying which class was found."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root} is not a folder")
    splits = split_layout(root)
    if splits:
        raise LayoutError(
            f"{root} is laid out in split folders ({', '.join(s + '/' for s in splits)}), each holding "
            f"class folders; the classes are not named {' and '.join(repr(s) for s in splits)}.",
            setting="data_dir",
            fix=f"pass one split as data_dir (for example {root / splits[0]}), or use a loader that reads "
                f"split folders (course_utils.torch_.transfer.image_splits); `python -m course_utils data "
                f"scan {root}` scans every split.")
    class_dirs = sorted(d for d in root.iterdir() if d.is_dir() and not _is_debris(Path(d.name)))
    if not class_dirs:
        raise LayoutError(f"{root} has no class sub-folders (expected {root}/<class>/<image>).",
                          setting="data_dir", fix="pass the folder whose sub-folders are the classes.")
    if len(class_dirs) < min_classes:
        raise LayoutError(
            f"{root} holds only one class, {class_dirs[0].name!r}: a classifier needs at least "
            f"{min_classes} class sub-folders.", setting="data_dir",
            fix=f"pass the folder that holds {class_dirs[0].name}/ next to the other class folders.")
    files, labels = [], []
    debris = []
    for d in root.iterdir():  # debris at the top level is reported too
        if d.name in COURSE_MARKERS:
            continue
        if _is_debris(Path(d.name)):
            debris.append(d)
        elif d.is_file():
            debris.append(d)
    for cdir in class_dirs:
        for p in sorted(cdir.rglob("*")):
            if p.is_file():
                files.append(p)
                labels.append(cdir.name)
    report = scan_files(root, files, labels, [d.name for d in class_dirs], check_pixels)
    for d in debris:
        reason = _is_debris(Path(d.name)) or "file outside the class folders"
        report.bad.append(BadFile(d.name, reason))
    return report


def scan_any(root: str | Path, check_pixels: bool = True) -> dict[str, ScanReport]:
    """``{split: report}`` for a split layout, ``{"": report}`` for class folders (``data scan``);
    a single class is reported, not refused."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root} is not a folder")
    splits = split_layout(root)
    if splits:
        return {s: scan_folder(root / s, check_pixels, min_classes=1) for s in splits}
    return {"": scan_folder(root, check_pixels, min_classes=1)}


def scan_flat(root: str | Path, pattern: str = r"^(?P<label>[a-z]+)\.(?P<index>\d+)\.\w+$",
              check_pixels: bool = True) -> ScanReport:
    """Scan a flat folder whose file names carry the label (Kaggle's ``cat.N.jpg``)."""
    import re

    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root} is not a folder")
    rx = re.compile(pattern)
    files, labels, bad = [], [], []
    for p in sorted(root.iterdir()):
        if p.name in COURSE_MARKERS:
            continue
        m = rx.match(p.name)
        if p.is_file() and m and not _is_debris(Path(p.name)):
            files.append(p)
            labels.append(m.group("label"))
        else:
            bad.append(BadFile(p.name, _is_debris(Path(p.name)) or "name does not match the label pattern"))
    report = scan_files(root, files, labels, None, check_pixels)
    report.bad.extend(bad)
    return report


def to_rgb(im):
    """An 8-bit RGB copy of a Pillow image. 16-bit images (``I;16``, or ``I`` from a 16-bit PNG)
    are scaled to 8 bits first (value / 257, rounded: 65535 -> 255), because ``convert("RGB")``
    would clip every value above 255 to white."""
    import numpy as np
    from PIL import Image

    if im.mode in WIDE_MODES:
        arr = np.asarray(im, dtype=np.int64)
        if arr.min() < 0 or arr.max() > 65535:
            raise CourseError(f"an image with mode {im.mode} holds values outside 0..65535 "
                              f"({arr.min()}..{arr.max()}): it is not a 16-bit image and cannot be "
                              "shown as 8-bit RGB.", setting="data_dir",
                              fix="convert it to an 8- or 16-bit PNG or a JPEG, or leave it out.")
        im = Image.fromarray(((arr + 128) // 257).astype(np.uint8))
    elif im.mode == "F":
        raise CourseError("a 32-bit floating-point image cannot be shown as 8-bit RGB without knowing "
                          "its range.", setting="data_dir", fix="convert it to an 8- or 16-bit PNG or a JPEG.")
    return im.convert("RGB")


def load_rgb(path: str | Path, size: tuple[int, int] | None = None):
    """Open an image as RGB (converting grayscale, 16-bit, CMYK, palette and RGBA), optionally resized."""
    from PIL import Image

    with Image.open(path) as im:
        im = to_rgb(im)
        if size is not None:
            im = im.resize(size, Image.BILINEAR)
        return im.copy()
