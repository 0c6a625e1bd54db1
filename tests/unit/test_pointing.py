"""course_utils.pointing: the pointing game of 12 (no notebook execution)."""
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from course_utils import pointing


def _photos(tmp_path, n=3):
    paths = []
    for i in range(n):
        p = tmp_path / "photos" / f"{i}.jpg"
        p.parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (40 + 10 * i, 30), (200, 20 * i, 50)).save(p)
        paths.append(p)
    return paths


def test_composites_have_exact_boxes_and_a_readable_layout(tmp_path):
    paths = _photos(tmp_path)
    out = pointing.make_composites(paths, [0, 1, 0], ["cat", "dog"], tmp_path / "set", n=5, canvas=64, seed=1)
    items = pointing.load_pointing_set(out)
    assert len(items) == 5 == len(json.loads((out / "boxes.json").read_text()))
    for it in items:
        x0, y0, x1, y1 = it.box
        img = np.asarray(Image.open(it.path))
        assert it.size == (64, 64) and it.label in ("cat", "dog")
        inside = img[y0:y1, x0:x1].astype(int)
        assert abs(inside[..., 0].mean() - 200) < 12                    # the pasted photo is where the box says
        assert 0 < pointing.box_area_fraction([it]) < 1
    with pytest.raises(FileExistsError):                                 # never writes into a used folder
        pointing.make_composites(paths, [0, 1, 0], ["cat", "dog"], out, n=1)


def test_hits_score_the_peak_against_the_box_at_any_map_resolution(tmp_path):
    paths = _photos(tmp_path, 1)
    out = pointing.make_composites(paths, [0], ["cat"], tmp_path / "set", n=1, canvas=64, seed=0)
    item = pointing.load_pointing_set(out)[0]
    x0, y0, x1, y1 = item.box
    for grid in (8, 64):                                                 # raw and upsampled maps
        on = np.zeros((grid, grid))
        on[int((y0 + y1) / 2 * grid / 64), int((x0 + x1) / 2 * grid / 64)] = 1.0
        off = np.zeros((grid, grid))
        far_r = 0 if y0 > 64 - y1 else grid - 1
        far_c = 0 if x0 > 64 - x1 else grid - 1
        off[far_r, far_c] = 1.0
        assert pointing.hits([on, off, np.zeros((grid, grid))], [item] * 3) == [True, False, False]
    assert pointing.peak_xy(np.array([[0, 1], [0, 0]]), (100, 50)) == (75.0, 12.5)


def test_load_pointing_set_names_what_is_wrong(tmp_path):
    folder = tmp_path / "mine"
    (folder / "bee").mkdir(parents=True)
    Image.new("RGB", (20, 10)).save(folder / "bee" / "a.jpg")
    with pytest.raises(ValueError, match="boxes.json"):
        pointing.load_pointing_set(folder)
    (folder / "boxes.json").write_text(json.dumps({"bee/b.jpg": [0, 0, 5, 5]}))
    with pytest.raises(ValueError, match="not a file"):
        pointing.load_pointing_set(folder)
    (folder / "boxes.json").write_text(json.dumps({"bee/a.jpg": [0, 0, 25, 5]}))
    with pytest.raises(ValueError, match="outside"):
        pointing.load_pointing_set(folder)
    (folder / "boxes.json").write_text(json.dumps({"bee/a.jpg": [2, 1, 8, 9]}))
    items = pointing.load_pointing_set(folder)
    assert [(it.relpath, it.label, it.box, it.size) for it in items] == [("bee/a.jpg", "bee", (2, 1, 8, 9), (20, 10))]


def test_centre_point_baseline_counts_boxes_that_cover_the_middle():
    items = [pointing.PointingItem(path=Path("a.jpg"), relpath="cat/a.jpg", label="cat", box=box, size=(100, 100))
             for box in ([40, 40, 60, 60], [0, 0, 50, 50], [45, 10, 90, 80], [50, 50, 99, 99])]
    # the first, third and fourth contain (50, 50); a box's right and bottom edges are outside it
    assert pointing.centre_point_fraction(items) == pytest.approx(0.75)
    assert pointing.centre_point_fraction(items[1:2]) == 0.0



def test_box_crops_return_the_pasted_photo_without_its_background(tmp_path):
    paths = _photos(tmp_path, 2)
    out = pointing.make_composites(paths, [0, 1], ["cat", "dog"], tmp_path / "set", n=4, canvas=96, seed=3)
    items = pointing.load_pointing_set(out)
    crops = pointing.box_crops(items, 16)
    assert crops.shape == (4, 16, 16, 3) and crops.dtype == np.float32
    inner = crops[:, 1:-1, 1:-1, 0]                          # the rim may blur into the canvas (JPEG, resizing)
    assert np.all(np.abs(inner - 200) < 15)                  # the photo, none of the canvas
    whole = np.stack([np.asarray(Image.open(it.path).convert("RGB").resize((16, 16)), np.float32) for it in items])
    assert np.abs(whole[:, 1:-1, 1:-1, 0] - 200).max() > 40  # while the whole composite shows its background


def test_contrast_map_peaks_on_the_busy_photo_not_the_flat_canvas(tmp_path):
    rng = np.random.default_rng(0)
    boxes = {}
    for i, (x0, y0) in enumerate([(0, 0), (24, 16), (40, 40)]):      # patches aligned with the 8-pixel cells
        img = np.full((64, 64, 3), (30, 160, 90), np.uint8)
        img[y0:y0 + 24, x0:x0 + 24] = rng.integers(0, 256, (24, 24, 3), dtype=np.uint8)
        (tmp_path / "cat").mkdir(exist_ok=True)
        Image.fromarray(img).save(tmp_path / "cat" / f"{i}.png")
        boxes[f"cat/{i}.png"] = [x0, y0, x0 + 24, y0 + 24]
    (tmp_path / "boxes.json").write_text(json.dumps(boxes))
    items = pointing.load_pointing_set(tmp_path)
    maps = pointing.contrast_maps(items, 8)
    assert all(m.shape == (8, 8) for m in maps)
    assert all(pointing.hits(maps, items))                       # the busy patch, wherever it is
    assert pointing.contrast_maps(items, (4, 2))[0].shape == (4, 2)
    always_corner = [np.eye(8)[::-1] for _ in items]                # peaks in the top-right cell: misses 2 of 3
    c = pointing.against_contrast(pointing.hits(always_corner, items), items, 8)
    assert (c["a"], c["b"], c["only_a"], c["only_b"]) == (pytest.approx(0), 1.0, 0, 3)
    Image.new("RGB", (64, 64), (90, 90, 90)).save(tmp_path / "cat" / "0.png")   # nothing busy left
    assert not pointing.hits(pointing.contrast_maps(items[:1], 8), items[:1])[0]  # a flat map never hits


def test_paired_comparison_counts_disagreements_and_tests_them():
    a = [True] * 30 + [False] * 10
    b = [False] * 20 + [True] * 10 + [False] * 10
    r = pointing.paired_comparison(a, b)
    assert (r["only_a"], r["only_b"]) == (20, 0) and r["a"] == 0.75 and r["b"] == 0.25
    assert r["p"] == pytest.approx(0.5 ** 20)                   # 20 of 20 disagreements go a's way
    even = pointing.paired_comparison([True, False] * 10, [False, True] * 10)
    assert even["p"] > 0.5                                      # 10 against 10 is no evidence
    assert pointing.paired_comparison([True], [True])["p"] == 1.0
    with pytest.raises(ValueError):
        pointing.paired_comparison([True], [True, False])


def test_pair_composites_ask_for_each_animal_on_the_same_picture(tmp_path):
    cats, dogs = [], []
    for k, colour, store in ((0, (250, 10, 10), cats), (1, (10, 10, 250), dogs)):
        for i in range(2):
            p = tmp_path / "photos" / f"{k}_{i}.png"
            p.parent.mkdir(parents=True, exist_ok=True)
            Image.new("RGB", (50 + 10 * i, 40), colour).save(p)
            store.append(p)
    out = pointing.make_pair_composites(cats + dogs, [0, 0, 1, 1], ["cat", "dog"], tmp_path / "pairs", n=12,
                                        canvas=96, seed=4)
    items = pointing.load_pointing_set(out)
    assert len(items) == 24 and sorted({it.label for it in items}) == ["cat", "dog"]
    by_name = {}
    for it in items:
        by_name.setdefault(it.path.name, {})[it.label] = it
    sides = set()
    for pair in by_name.values():
        cat, dog = pair["cat"], pair["dog"]
        assert np.array_equal(np.asarray(Image.open(cat.path)), np.asarray(Image.open(dog.path)))  # one picture
        img = np.asarray(Image.open(cat.path)).astype(int)
        for it, channel in ((cat, 0), (dog, 2)):              # each box holds its own animal (red cat, blue dog)
            x0, y0, x1, y1 = it.box
            assert img[y0 + 2:y1 - 2, x0 + 2:x1 - 2, channel].mean() > 200
        assert (cat.box[2] <= 48) != (dog.box[2] <= 48) and (cat.box[0] >= 48) != (dog.box[0] >= 48)  # one per half
        sides.add(cat.box[0] < 48)
    assert sides == {True, False}                             # the cat is not always on the same side
    # a map that ignores the class finds at most one of the two animals of a picture
    blind = [np.asarray(Image.open(it.path).convert("L"), float) * 0 + (np.arange(96) < 48)[None, :] for it in items]
    assert np.mean(pointing.hits(blind, items)) <= 0.5
    with pytest.raises(ValueError, match="half the canvas"):
        pointing.make_pair_composites(cats + dogs, [0, 0, 1, 1], ["cat", "dog"], tmp_path / "x", n=1, scale=(0.4, 0.6))
    with pytest.raises(FileExistsError):
        pointing.make_pair_composites(cats + dogs, [0, 0, 1, 1], ["cat", "dog"], out, n=1)


def test_build_set_replaces_only_a_folder_it_made(tmp_path):
    paths = _photos(tmp_path)
    out = tmp_path / "set"
    first = pointing.build_set(pointing.make_composites, paths, [0, 1, 0], ["cat", "dog"], out, n=4, canvas=64, seed=1)
    again = pointing.build_set(pointing.make_composites, paths, [0, 1, 0], ["cat", "dog"], out, n=2, canvas=64, seed=2)
    assert len(first) == 4 and len(again) == 2                             # rebuilt, not added to
    assert sorted(p.name for p in out.rglob("*.jpg")) == sorted(it.path.name for it in again)
    mine = tmp_path / "mine"
    (mine / "cat").mkdir(parents=True)
    (mine / "cat" / "kitten.jpg").write_bytes(b"a learner's photo")
    with pytest.raises(FileExistsError):                                   # no mark: never deleted, never written into
        pointing.build_set(pointing.make_pair_composites, paths, [0, 1, 0], ["cat", "dog"], mine, n=1, canvas=64)
    assert (mine / "cat" / "kitten.jpg").read_bytes() == b"a learner's photo"
    assert sorted(p.name for p in mine.rglob("*")) == ["cat", "kitten.jpg"]
