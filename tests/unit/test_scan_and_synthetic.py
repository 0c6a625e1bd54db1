"""The image-folder scanner and the synthetic stand-ins."""
import hashlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from course_utils.data.scan import scan_flat, scan_folder


def _tree_digest(root: Path) -> dict:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def messy_folder(tmp_path):
    root = tmp_path / "lesions"
    rng = np.random.default_rng(0)
    for cls in ("a_pos", "b_neg"):
        (root / cls).mkdir(parents=True)
        for i in range(3):
            Image.fromarray(rng.integers(0, 255, (20, 20, 3), dtype=np.uint8)).save(root / cls / f"ok{i}.jpg")
    good = (root / "a_pos" / "ok0.jpg").read_bytes()
    (root / "a_pos" / "empty.jpg").write_bytes(b"")
    (root / "a_pos" / "truncated.jpg").write_bytes(good[: len(good) // 2])
    (root / "a_pos" / "text.jpg").write_text("this is not a JPEG")
    (root / "b_neg" / ".hidden.jpg").write_bytes(good)
    (root / "b_neg" / "readme.txt").write_text("notes")
    (root / "__MACOSX").mkdir()
    (root / "__MACOSX" / "._ok0.jpg").write_bytes(b"\x00\x05\x16\x07")
    Image.fromarray(rng.integers(0, 255, (20, 20), dtype=np.uint8)).save(root / "b_neg" / "gray.png")
    Image.new("CMYK", (20, 20), (10, 20, 30, 40)).save(root / "b_neg" / "cmyk.jpg")
    Image.new("RGBA", (20, 20), (10, 20, 30, 128)).save(root / "b_neg" / "rgba.png")
    return root


def test_scanner_reports_each_kind_of_bad_file_and_converts_modes(messy_folder):
    before = _tree_digest(messy_folder)
    rep = scan_folder(messy_folder)
    reasons = {b.path: b.reason for b in rep.bad}
    assert reasons["a_pos/empty.jpg"].startswith("empty")
    assert reasons["a_pos/truncated.jpg"].startswith(("truncated", "unreadable"))
    assert reasons["a_pos/text.jpg"].startswith("not an image")
    assert reasons["b_neg/.hidden.jpg"] == "hidden file"
    assert reasons["b_neg/readme.txt"].startswith("not an image file")
    assert "MACOSX" in reasons["__MACOSX"]
    assert len(rep.bad) == 6
    assert rep.classes == ["a_pos", "b_neg"]
    assert rep.counts == {"a_pos": 3, "b_neg": 6}
    assert rep.converted == {"b_neg/cmyk.jpg": "CMYK", "b_neg/gray.png": "L", "b_neg/rgba.png": "RGBA"}
    assert _tree_digest(messy_folder) == before, "the scanner must never modify or delete files"
    assert "6 bad files skipped" in rep.summary()


def test_the_course_markers_are_not_reported_as_bad_files(tmp_path, monkeypatch):
    from course_utils.data.datasets import synthetic_dataset

    monkeypatch.setenv("COURSE_DATA_HOME", str(tmp_path))
    rep = scan_folder(synthetic_dataset("flowers5", seed=0, size=3))
    assert rep.bad == [] and sum(rep.counts.values()) == 15


def test_scanner_errors_on_wrong_layout(tmp_path):
    with pytest.raises(FileNotFoundError):
        scan_folder(tmp_path / "missing")
    (tmp_path / "flat.jpg").write_bytes(b"")
    with pytest.raises(ValueError, match="no class sub-folders"):
        scan_folder(tmp_path)


def test_flat_scan_reads_labels_from_names(tmp_path):
    rng = np.random.default_rng(1)
    for name in ("cat.0.jpg", "cat.1.jpg", "dog.0.jpg"):
        Image.fromarray(rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)).save(tmp_path / name)
    (tmp_path / "dog.1.jpg").write_bytes(b"GIF89a broken")
    (tmp_path / "notes.md").write_text("x")
    rep = scan_flat(tmp_path)
    assert rep.counts == {"cat": 2, "dog": 1}
    assert {b.path for b in rep.bad} == {"dog.1.jpg", "notes.md"}


def test_cli_scan_prints_json(messy_folder, capsys):
    import json

    from course_utils.tools.cli import main

    assert main(["data", "scan", str(messy_folder), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["counts"] == {"a_pos": 3, "b_neg": 6} and len(out["bad"]) == 6


@pytest.mark.parametrize("name", ["mnist", "cifar10", "monkeypox_msld", "breast_histopathology_idc", "dogs_vs_cats",
                                  "cats_and_dogs_filtered", "flowers5", "flowers102", "hymenoptera"])
def test_synthetic_data_is_deterministic_by_seed(tmp_path, monkeypatch, name):
    from course_utils.data import synthetic
    from course_utils.data.manifest import get

    m = get(name)
    a, b, c = (tmp_path / x for x in "abc")
    synthetic.make(m.synthetic, a, seed=3, classes=m.classes, size=4)
    synthetic.make(m.synthetic, b, seed=3, classes=m.classes, size=4)
    synthetic.make(m.synthetic, c, seed=4, classes=m.classes, size=4)
    assert _tree_digest(a) == _tree_digest(b)
    assert _tree_digest(a) != _tree_digest(c)


def test_synthetic_cifar10_is_learnable_above_chance(tmp_path, monkeypatch):
    from sklearn.linear_model import LogisticRegression

    from course_utils.data.datasets import get_dataset, load_cifar10

    monkeypatch.setenv("COURSE_DATA_HOME", str(tmp_path))
    info = get_dataset("cifar10", data_source="synthetic", seed=0, synthetic_size=40)
    xtr, ytr, xte, yte = load_cifar10(info)
    assert xtr.shape == (400, 32, 32, 3) and set(ytr) == set(range(10))
    clf = LogisticRegression(max_iter=300).fit(xtr.reshape(len(xtr), -1) / 255.0, ytr)
    acc = clf.score(xte.reshape(len(xte), -1) / 255.0, yte)
    assert acc > 0.5, f"synthetic CIFAR-10 should be easy (chance 0.1), got {acc:.2f}"


def test_synthetic_mnist_loads_with_torchvision_and_is_learnable(tmp_path):
    torchvision = pytest.importorskip("torchvision")
    from sklearn.linear_model import LogisticRegression

    from course_utils.data import synthetic

    synthetic.make("mnist", tmp_path, seed=0, classes=[str(i) for i in range(10)], size=60)
    train = torchvision.datasets.MNIST(tmp_path, train=True)
    test = torchvision.datasets.MNIST(tmp_path, train=False)
    assert len(train) == 600 and tuple(train.data.shape[1:]) == (28, 28)
    x = train.data.reshape(len(train), -1).numpy() / 255.0
    xt = test.data.reshape(len(test), -1).numpy() / 255.0
    acc = LogisticRegression(max_iter=500).fit(x, train.targets.numpy()).score(xt, test.targets.numpy())
    assert acc > 0.6, acc
