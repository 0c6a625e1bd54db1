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

# Files the course itself writes into dataset folders (cache and synthetic markers): not data,
# and not the learner's, so they are neither listed nor reported.
COURSE_MARKERS = {".course-complete.json", ".course-synthetic.json"}
IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"}


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
        from .config import display_path

        lines = [f"{display_path(self.root)}: {len(self.files)} images in {len(self.classes)} classes "
                 + ", ".join(f"{k}={v}" for k, v in self.counts.items())]
        if self.converted:
            modes = Counter(self.converted.values())
            lines.append(f"  {len(self.converted)} non-RGB images will be converted to RGB ({dict(modes)})")
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


def scan_folder(root: str | Path, check_pixels: bool = True) -> ScanReport:
    """Scan ``root/<class>/**/<image>``: classes are the sub-folders, sorted alphabetically
    (the order Keras and torchvision use)."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root} is not a folder")
    class_dirs = sorted(d for d in root.iterdir() if d.is_dir() and not _is_debris(Path(d.name)))
    if not class_dirs:
        raise ValueError(f"{root} has no class sub-folders (expected {root}/<class>/<image>)")
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


def load_rgb(path: str | Path, size: tuple[int, int] | None = None):
    """Open an image as RGB (converting grayscale, CMYK, palette and RGBA), optionally resized."""
    from PIL import Image

    with Image.open(path) as im:
        im = im.convert("RGB")
        if size is not None:
            im = im.resize(size, Image.BILINEAR)
        return im.copy()
