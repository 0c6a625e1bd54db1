"""The pointing game (Zhang et al., 2016): does a saliency map's maximum fall on the object?
Framework-neutral; taught in 12_class_activation_maps.

A pointing set is a folder of ``<class>/<image>`` files plus ``boxes.json``, mapping each image's
path relative to the folder (``"cat/0003.jpg"``) to the object's box ``[x0, y0, x1, y1]`` in pixels
(x to the right, y down, x1 and y1 exclusive). :func:`make_composites` builds one by pasting photos
onto plain backgrounds at random places, so the box is known exactly, and :func:`make_pair_composites`
a harder one with two classes on each canvas (:func:`build_set` rebuilds either in a folder it made
before); :func:`load_pointing_set` reads and checks any such folder; :func:`hits` scores maps
against the boxes.
"""
from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

BOXES_FILE = "boxes.json"
MARKER_FILE = ".made_by_course"   # marks a folder build_set made, so that a later run may replace it


@dataclass
class PointingItem:
    path: Path            # the image file
    relpath: str          # its key in boxes.json
    label: str            # its class folder
    box: tuple            # (x0, y0, x1, y1) in pixels
    size: tuple           # (width, height) of the image in pixels


def _new_folder(out_dir, maker: str) -> Path:
    """``out_dir`` as a Path, if it is new or empty: the makers below never write among other files."""
    out_dir = Path(out_dir)
    if out_dir.exists() and any(out_dir.iterdir()):
        raise FileExistsError(f"{out_dir} is not empty; {maker} writes only into a new folder")
    return out_dir


def _scaled_photo(path, canvas: int, scale, rng):
    """The photo at ``path`` in RGB, resized so its longer side is a random fraction ``scale`` of
    ``canvas`` (one draw of ``rng``)."""
    from PIL import Image

    photo = Image.open(path).convert("RGB")
    ratio = int(round(canvas * rng.uniform(*scale))) / max(photo.size)
    return photo.resize((max(1, round(photo.size[0] * ratio)), max(1, round(photo.size[1] * ratio))), Image.BILINEAR)


def _save(img, out_dir: Path, rel: str) -> None:
    (out_dir / rel).parent.mkdir(parents=True, exist_ok=True)
    img.save(out_dir / rel, quality=92)


def make_composites(paths, labels, class_names, out_dir, n: int, canvas: int = 224,
                    scale=(0.4, 0.6), seed: int = 0) -> Path:
    """Paste ``n`` photos (cycling through ``paths``) onto plain ``canvas`` x ``canvas`` backgrounds
    of random colour, each resized so its longer side is a random fraction ``scale`` of the canvas,
    at a random place. Writes ``out_dir/<class>/<i>.jpg`` and ``boxes.json``; returns ``out_dir``.
    Only files this function creates are written (the folder must be new or empty)."""
    from PIL import Image

    if n < 1 or not len(paths):
        raise ValueError("make_composites needs at least one photo and n >= 1")
    out_dir = _new_folder(out_dir, "make_composites")
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(paths))
    boxes = {}
    for i in range(n):
        k = int(order[i % len(order)])
        photo = _scaled_photo(paths[k], canvas, scale, rng)
        w, h = photo.size
        x0, y0 = int(rng.integers(0, canvas - w + 1)), int(rng.integers(0, canvas - h + 1))
        colour = tuple(int(v) for v in rng.integers(0, 256, 3))
        img = Image.new("RGB", (canvas, canvas), colour)
        img.paste(photo, (x0, y0))
        rel = f"{class_names[int(labels[k])]}/{i:04d}.jpg"
        _save(img, out_dir, rel)
        boxes[rel] = [x0, y0, x0 + w, y0 + h]
    (out_dir / BOXES_FILE).write_text(json.dumps(boxes, indent=1))
    return out_dir


def make_pair_composites(paths, labels, class_names, out_dir, n: int, canvas: int = 224,
                         scale=(0.35, 0.5), seed: int = 0) -> Path:
    """A harder pointing set: ``n`` canvases, each with one photo of class 0 and one of class 1
    (``labels`` 0/1, ``class_names`` their folder names), one in the left half and one in the right
    (which side is random), each resized so its longer side is a random fraction ``scale`` of the
    canvas, on a plain background of random colour. Each canvas is written twice, as
    ``<class_names[0]>/<i>.jpg`` and ``<class_names[1]>/<i>.jpg``, and ``boxes.json`` gives each file
    the box of *its* class's animal: the same picture asks "where is the cat?" and "where is the dog?".
    A map that ignores the class (one that finds whatever is busy) can be right on at most one of the
    two, so this set tests what single-photo composites cannot. Same format as
    :func:`make_composites`; only files this function creates are written."""
    from PIL import Image

    paths, labels = np.asarray([str(p) for p in paths]), np.asarray(labels)
    by_class = [paths[labels == k] for k in (0, 1)]
    if n < 1 or min(len(b) for b in by_class) == 0:
        raise ValueError("make_pair_composites needs photos of both classes and n >= 1")
    if scale[1] > 0.5:
        raise ValueError(f"scale={scale}: each photo must fit in half the canvas (at most 0.5)")
    out_dir = _new_folder(out_dir, "make_pair_composites")
    rng = np.random.default_rng(seed)
    orders = [rng.permutation(len(b)) for b in by_class]
    boxes, half = {}, canvas // 2
    for i in range(n):
        img = Image.new("RGB", (canvas, canvas), tuple(int(v) for v in rng.integers(0, 256, 3)))
        left = int(rng.integers(0, 2))                  # the class pasted in the left half
        placed = {}
        for k in (0, 1):
            photo = _scaled_photo(by_class[k][orders[k][i % len(orders[k])]], canvas, scale, rng)
            w, h = photo.size
            x0 = int(rng.integers(0, half - w + 1)) + (0 if k == left else half)
            y0 = int(rng.integers(0, canvas - h + 1))
            img.paste(photo, (x0, y0))
            placed[k] = [x0, y0, x0 + w, y0 + h]
        for k in (0, 1):
            rel = f"{class_names[k]}/{i:04d}.jpg"
            _save(img, out_dir, rel)
            boxes[rel] = placed[k]
    (out_dir / BOXES_FILE).write_text(json.dumps(boxes, indent=1))
    return out_dir


def build_set(make, paths, labels, class_names, out_dir, **kwargs) -> list[PointingItem]:
    """Build a pointing set with ``make`` (:func:`make_composites` or :func:`make_pair_composites`)
    in ``out_dir``, mark it as the course's, and load it. A folder left by an earlier call is
    replaced only if it carries that mark: anything else in ``out_dir`` is left alone, and ``make``
    refuses to write among it (``FileExistsError``)."""
    out_dir = Path(out_dir)
    if (out_dir / MARKER_FILE).is_file():
        shutil.rmtree(out_dir)
    make(paths, labels, class_names, out_dir, **kwargs)
    (out_dir / MARKER_FILE).write_text("made by course_utils.pointing.build_set; safe to delete\n")
    return load_pointing_set(out_dir)


def load_pointing_set(folder) -> list[PointingItem]:
    """Read and check a pointing set (see the module docstring). Raises ``ValueError`` naming the
    problem -- a missing ``boxes.json``, a listed image that is not there, a box outside its image --
    before any map is computed."""
    from PIL import Image

    folder = Path(folder)
    boxes_path = folder / BOXES_FILE
    if not boxes_path.is_file():
        raise ValueError(f"pointing_dir={str(folder)!r} has no {BOXES_FILE}: it must map each image's path "
                         f"relative to the folder ('<class>/<image>') to [x0, y0, x1, y1] in pixels")
    try:
        boxes = json.loads(boxes_path.read_text())
    except ValueError as err:
        raise ValueError(f"{boxes_path} is not valid JSON: {err}") from err
    if not isinstance(boxes, dict) or not boxes:
        raise ValueError(f"{boxes_path} must be a non-empty object {{'<class>/<image>': [x0, y0, x1, y1]}}")
    items = []
    for rel, box in sorted(boxes.items()):
        parts = Path(rel).parts
        if len(parts) != 2:
            raise ValueError(f"{boxes_path}: key {rel!r} is not '<class>/<image>'")
        path = folder / rel
        if not path.is_file():
            raise ValueError(f"{boxes_path} lists {rel!r}, which is not a file in {folder}")
        if not (isinstance(box, (list, tuple)) and len(box) == 4 and all(isinstance(v, (int, float)) for v in box)):
            raise ValueError(f"{boxes_path}: the box of {rel!r} must be [x0, y0, x1, y1], got {box!r}")
        with Image.open(path) as im:
            size = im.size
        x0, y0, x1, y1 = box
        if not (0 <= x0 < x1 <= size[0] and 0 <= y0 < y1 <= size[1]):
            raise ValueError(f"{boxes_path}: box {box} of {rel!r} is empty or outside its "
                             f"{size[0]}x{size[1]} image")
        items.append(PointingItem(path, rel, parts[0], tuple(box), size))
    return items


def peak_xy(saliency: np.ndarray, image_size: tuple) -> tuple[float, float]:
    """Where a map's maximum lies, in the pixels of an image of ``image_size`` = (width, height):
    the centre of the highest cell, scaled from the map's grid to the image (maps at any resolution,
    raw or upsampled, point to the same place)."""
    m = np.asarray(saliency, dtype=np.float64)
    if m.ndim != 2 or not np.all(np.isfinite(m)):
        raise ValueError(f"a finite 2-D map is needed, got shape {m.shape}")
    r, c = np.unravel_index(int(np.argmax(m)), m.shape)
    return (c + 0.5) * image_size[0] / m.shape[1], (r + 0.5) * image_size[1] / m.shape[0]


def hits(maps, items) -> list[bool]:
    """For each map and its :class:`PointingItem`: does the maximum fall inside the box? A flat map
    (no maximum) never hits."""
    out = []
    for m, item in zip(maps, items, strict=True):
        m = np.asarray(m)
        if not np.all(np.isfinite(m)) or np.ptp(m) <= 0:
            out.append(False)
            continue
        x, y = peak_xy(m, item.size)
        x0, y0, x1, y1 = item.box
        out.append(bool(x0 <= x < x1 and y0 <= y < y1))
    return out


def box_crops(items, size: int) -> np.ndarray:
    """Each item's box cut out of its image and resized to ``size`` x ``size``: ``(N, size, size, 3)``
    float32 in [0, 255]. For a composite this is the pasted photo alone, without the background:
    asking a model to classify it separates "the model does not know this photo" from "the model
    does not know it on this canvas" (the error analysis of 12)."""
    from PIL import Image

    out = np.empty((len(items), size, size, 3), np.float32)
    for i, item in enumerate(items):
        with Image.open(item.path) as im:
            out[i] = np.asarray(im.convert("RGB").crop(tuple(item.box)).resize((size, size), Image.BILINEAR))
    return out


def contrast_maps(items, grid) -> list[np.ndarray]:
    """A map made without any model: for each image, the spread (standard deviation) of its grey
    levels in each cell of a ``grid`` = (rows, cols) partition. It peaks wherever the picture is
    busiest. On a photo pasted onto a flat colour that is nearly always the photo, so it is the
    baseline a saliency map must beat before its hits say anything about what a *model* uses
    (12 compares each map with this one at the map's own grid)."""
    from PIL import Image

    rows, cols = (grid, grid) if np.isscalar(grid) else (int(grid[0]), int(grid[1]))
    cell = 8                                           # pixels per cell side after resizing
    out = []
    for item in items:
        with Image.open(item.path) as im:
            grey = np.asarray(im.convert("L").resize((cols * cell, rows * cell), Image.BILINEAR), np.float32)
        out.append(grey.reshape(rows, cell, cols, cell).std(axis=(1, 3)))
    return out


def paired_comparison(hits_a, hits_b) -> dict:
    """Two maps scored on the same images: how often each hits where the other misses, and the
    one-sided exact sign test (McNemar's test on the discordant pairs) of "``a`` hits more often
    than ``b``". ``p`` near 0: ``a`` is better beyond the luck of which images were drawn; a
    difference of a few images out of hundreds is not evidence."""
    from scipy.stats import binomtest

    a, b = np.asarray(hits_a, bool), np.asarray(hits_b, bool)
    if a.shape != b.shape:
        raise ValueError(f"hits of the same images are needed, got {a.shape} and {b.shape}")
    only_a, only_b = int(np.sum(a & ~b)), int(np.sum(~a & b))
    n = only_a + only_b
    p = float(binomtest(only_a, n, 0.5, alternative="greater").pvalue) if n else 1.0
    return {"a": float(a.mean()), "b": float(b.mean()), "only_a": only_a, "only_b": only_b, "p": p}


def against_contrast(map_hits, items, grid) -> dict:
    """:func:`paired_comparison` of a map's hits with those of :func:`contrast_maps` at the same
    ``grid``, on the same ``items``: the comparison 12 makes for every map."""
    return paired_comparison(map_hits, hits(contrast_maps(items, grid), items))


def box_area_fraction(items) -> float:
    """Mean share of the image the boxes cover: what a map pointing at random would score."""
    return float(np.mean([(b[2] - b[0]) * (b[3] - b[1]) / (s[0] * s[1]) for b, s in
                          ((it.box, it.size) for it in items)]))


def centre_point_fraction(items) -> float:
    """Share of the set whose box contains the image centre: what a map that always peaks in the
    middle would score. A photo pasted at a random place still covers the centre often (more often
    the larger it is), so a saliency map shows that it finds the object only if it beats this
    guess, not merely a random point (:func:`box_area_fraction`)."""
    return float(np.mean([b[0] <= s[0] / 2 < b[2] and b[1] <= s[1] / 2 < b[3] for b, s in
                          ((it.box, it.size) for it in items)]))
