"""The data layer under faults and careless input: a learner's files are never touched, bad
copies are repaired from the next source, and every failure says what to do.

Fast: small archives built here, a cache in ``tmp_path``, no network, no notebook runs.
"""
import hashlib
import io
import json
import os
import pickle
import shutil
import subprocess
import sys
import tarfile
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from archives import tar_gz_bytes, zip_bytes  # tests/unit/archives.py

from course_utils.data import manifest
from course_utils.data.fetch import (
    ArchiveError,
    DataUnavailable,
    cached_dataset,
    check_archive,
    fetch,
    fetch_file,
    safe_extract,
    verify,
)
from course_utils.errors import CourseError

ROOT = Path(__file__).resolve().parents[2]


# -- helpers --------------------------------------------------------------------------------------
GOOD = {"toy/a/1.txt": b"one" * 100, "toy/b/2.txt": b"two" * 100}


def _toy(monkeypatch, archive="zip", payload: bytes | None = None, checksum=True, access="download",
         extracted_size=None, name="toy"):
    """A one-file manifest called ``name``, installed in place of the real manifests."""
    entry = {"name": f"toy.{archive}", "archive": archive}
    if access == "download":
        entry["url"] = "https://127.0.0.1:9/toy"  # nothing listens there: the origin always fails
    if checksum:
        entry["sha256"] = hashlib.sha256(payload).hexdigest()
    else:
        entry["hash_note"] = "no checksum is published"
    if extracted_size is not None:
        entry["extracted_size"] = extracted_size
    data = {"name": name, "title": "Toy", "kind": "dataset", "homepage": "https://x", "licence": "l",
            "citation": "c", "access": access, "layout": "toy/<class>/<file>", "notes": [],
            "classes": ["a", "b"], "synthetic": "class_folders", "files": [entry]}
    if access == "kaggle":
        data["instructions"] = "Download it from Kaggle."
    m = manifest.parse_manifest(data)
    real_get = manifest.get
    monkeypatch.setattr(manifest, "get", lambda n: m if n == name else real_get(n))
    return m


def _mirror(tmp_path, folder: str, payload: bytes, m) -> Path:
    d = tmp_path / folder
    (d / m.files[0].mirror_path).parent.mkdir(parents=True, exist_ok=True)
    (d / m.files[0].mirror_path).write_bytes(payload)
    return d


@pytest.fixture
def cache(tmp_path, monkeypatch):
    home = tmp_path / "cache"
    monkeypatch.setenv("COURSE_DATA_HOME", str(home))
    monkeypatch.delenv("COURSE_DATA_MIRROR", raising=False)
    monkeypatch.delenv("COURSE_DATA_ROOT", raising=False)
    return home


def snapshot(folder: Path) -> dict:
    """Everything that could change about a folder: names, bytes, link counts, times."""
    out = {}
    for p in sorted(folder.rglob("*")):
        st = p.lstat()
        out[p.relative_to(folder).as_posix()] = (
            hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir", st.st_nlink if p.is_file() else 0,
            st.st_mtime_ns)
    return out


# -- 1. a learner's folder at the advised place ------------------------------------------------
def test_learner_folder_at_the_advised_path_survives_a_fetch(cache, tmp_path, monkeypatch):
    payload = zip_bytes(GOOD)
    m = _toy(monkeypatch, payload=payload)
    monkeypatch.setenv("COURSE_DATA_MIRROR", str(_mirror(tmp_path, "mirror", payload, m)))
    mine = cache / "toy" / "data"
    (mine / "toy" / "a").mkdir(parents=True)
    (mine / "toy" / "a" / "1.txt").write_bytes(b"my own copy")
    (mine / "notes.txt").write_text("my notes: do not lose")
    before = snapshot(mine)
    res = fetch("toy", progress=False)
    assert res.path == mine and res.source == "data_dir" and "never changed" in res.origin
    assert snapshot(mine) == before
    from course_utils.tools.cli import main

    assert main(["data", "fetch", "toy"]) == 0
    assert snapshot(mine) == before


def test_kaggle_dataset_in_a_learner_folder_at_the_advised_path_is_used(cache, monkeypatch):
    from course_utils.data.datasets import get_dataset

    _toy(monkeypatch, payload=b"", checksum=False, access="kaggle")
    mine = cache / "toy" / "data"
    (mine / "a").mkdir(parents=True)
    (mine / "a" / "x.jpg").write_bytes(b"jpeg")
    (mine / "README-mine.txt").write_text("downloaded 2024")
    before = snapshot(mine)
    info = get_dataset("toy", data_source="real")
    assert info.root == mine and info.real
    assert snapshot(mine) == before


def test_an_empty_foreign_folder_is_left_alone_and_explained(cache, tmp_path, monkeypatch):
    payload = zip_bytes(GOOD)
    m = _toy(monkeypatch, payload=payload)
    monkeypatch.setenv("COURSE_DATA_MIRROR", str(_mirror(tmp_path, "mirror", payload, m)))
    (cache / "toy" / "data").mkdir(parents=True)
    with pytest.raises(CourseError, match="did not create") as err:
        fetch("toy", progress=False)
    assert "What to do" in str(err.value)
    assert (cache / "toy" / "data").is_dir()


# -- 2. bad copies are repaired ------------------------------------------------------------------
@pytest.mark.parametrize("checksum", [True, False], ids=["published-checksum", "no-checksum"])
def test_truncated_cached_archive_is_quarantined_and_fetched_again(cache, tmp_path, monkeypatch, checksum):
    payload = zip_bytes(GOOD)
    m = _toy(monkeypatch, payload=payload, checksum=checksum)
    monkeypatch.setenv("COURSE_DATA_MIRROR", str(_mirror(tmp_path, "mirror", payload, m)))
    dl = cache / "toy" / "downloads"
    dl.mkdir(parents=True)
    (dl / "toy.zip").write_bytes(payload[: len(payload) // 2])  # a download cut short
    assert verify("toy")[0]["ok"] is False
    res = fetch("toy", progress=False)
    assert res.source == "mirror"
    assert (res.path / "toy" / "a" / "1.txt").read_bytes() == GOOD["toy/a/1.txt"]
    assert (dl / "toy.zip").read_bytes() == payload
    assert [p.name.startswith("toy.zip.") for p in (cache / "toy" / "quarantine").iterdir()] == [True]
    assert all(r["ok"] for r in verify("toy"))


def test_auto_uses_a_good_mirror_rather_than_synthetic_data_when_the_cache_is_bad(cache, tmp_path, monkeypatch):
    from course_utils.data.datasets import get_dataset

    payload = zip_bytes(GOOD)
    m = _toy(monkeypatch, payload=payload, checksum=False)
    monkeypatch.setenv("COURSE_DATA_MIRROR", str(_mirror(tmp_path, "mirror", payload, m)))
    (cache / "toy" / "downloads").mkdir(parents=True)
    (cache / "toy" / "downloads" / "toy.zip").write_bytes(payload[:100])
    info = get_dataset("toy", data_source="auto", progress=False)
    assert not info.synthetic and info.source == "mirror"


def test_without_a_published_checksum_the_first_good_download_is_recorded_and_enforced(cache, tmp_path, monkeypatch):
    payload = zip_bytes(GOOD)
    m = _toy(monkeypatch, payload=payload, checksum=False)
    monkeypatch.setenv("COURSE_DATA_MIRROR", str(_mirror(tmp_path, "mirror", payload, m)))
    fetch("toy", progress=False)
    recorded = json.loads((cache / "toy" / "recorded-checksums.json").read_text())
    assert recorded == {"toy.zip": hashlib.sha256(payload).hexdigest()}
    assert verify("toy")[0]["hash"] == "recorded sha256"
    # A later, different (but well-formed) copy is refused against the recorded sha256.
    shutil.rmtree(cache / "toy" / "data")
    (cache / "toy" / "downloads" / "toy.zip").unlink()
    other = zip_bytes({"toy/a/1.txt": b"another file"})
    monkeypatch.setenv("COURSE_DATA_MIRROR", str(_mirror(tmp_path, "mirror2", other, m)))
    with pytest.raises(DataUnavailable, match="recorded from its first good download"):
        fetch("toy", progress=False)


def test_verify_checks_the_extracted_folder_too(cache, tmp_path, monkeypatch):
    payload = zip_bytes(GOOD)
    m = _toy(monkeypatch, payload=payload)
    monkeypatch.setenv("COURSE_DATA_MIRROR", str(_mirror(tmp_path, "mirror", payload, m)))
    res = fetch("toy", progress=False)
    rows = verify("toy")
    assert rows[-1]["file"].startswith("data/") and rows[-1]["ok"] is True and rows[-1]["files"] == 2
    (res.path / "toy" / "b" / "2.txt").write_bytes(b"changed")
    (res.path / "toy" / "a" / "1.txt").unlink()
    row = verify("toy")[-1]
    assert row["ok"] is False and "2.txt: " in row["error"] and "1.txt: missing" in row["error"]


# -- 3. mirrors -----------------------------------------------------------------------------------
def test_a_mirror_folder_with_a_space_in_its_path_is_used(cache, tmp_path, monkeypatch):
    payload = b"payload"
    m = _toy(monkeypatch, archive="none", payload=payload)
    m.files[0].name = "toy.none"
    spaced = _mirror(tmp_path, "my course mirror", payload, m)
    monkeypatch.setenv("COURSE_DATA_MIRROR", os.pathsep.join([str(tmp_path / "empty mirror"), str(spaced)]))
    path, source, origin = fetch_file(m, m.files[0], progress=False)
    assert source == "mirror" and origin.startswith(str(spaced)) and path.read_bytes() == payload


def test_a_bad_first_mirror_falls_through_to_a_good_second_one(cache, tmp_path, monkeypatch):
    payload = zip_bytes(GOOD)
    m = _toy(monkeypatch, payload=payload)
    bad = _mirror(tmp_path, "bad", b"tampered", m)
    good = _mirror(tmp_path, "good", payload, m)
    monkeypatch.setenv("COURSE_DATA_MIRROR", os.pathsep.join([str(bad), str(good)]))
    res = fetch("toy", progress=False)
    assert res.source == "mirror" and res.origin.startswith(str(good))


def test_when_every_source_fails_the_error_lists_each_with_its_reason(cache, tmp_path, monkeypatch):
    payload = zip_bytes(GOOD)
    m = _toy(monkeypatch, payload=payload)
    bad = _mirror(tmp_path, "bad", b"tampered", m)
    truncated = _mirror(tmp_path, "truncated", payload[:50], m)
    monkeypatch.setenv("COURSE_DATA_MIRROR", os.pathsep.join([str(bad), str(tmp_path / "missing"), str(truncated)]))
    with pytest.raises(DataUnavailable) as err:
        fetch("toy", progress=False)
    text = str(err.value)
    # local mirrors are named by their folder (display_path), never by this machine's absolute path
    assert str(tmp_path) not in text
    order = [text.index(f"{bad.name}/"), text.index("missing/"), text.index(f"{truncated.name}/"),
             text.index("https://127.0.0.1:9/toy")]
    assert order == sorted(order)
    assert "checksum mismatch" in text and "not there" in text
    assert "COURSE_DATA_MIRROR" in text and "What to do" in text
    assert not any((cache / "toy" / "downloads").iterdir())


# -- archives: tested before extraction ---------------------------------------------------------
def test_truncated_tar_gz_is_refused_before_extraction(tmp_path):
    data = tar_gz_bytes({f"f{i}.bin": os.urandom(20000) for i in range(5)})
    archive = tmp_path / "cut.tar.gz"
    archive.write_bytes(data[: len(data) // 2])
    with pytest.raises(ArchiveError, match="damaged"):
        check_archive(archive, "tar.gz")
    with pytest.raises(ArchiveError):
        safe_extract(archive, "tar.gz", tmp_path / "out")
    assert not any((tmp_path / "out").rglob("*"))


@pytest.mark.parametrize("kind", ["tar", "tar.gz"])
def test_tar_header_claiming_a_huge_member_is_refused(tmp_path, kind):
    info = tarfile.TarInfo("huge.bin")
    info.size = 10**12  # a terabyte claimed, a few bytes present
    raw = info.tobuf(format=tarfile.GNU_FORMAT) + b"x" * 1024 + b"\0" * 1024
    archive = tmp_path / f"huge.{kind}"
    if kind == "tar":
        archive.write_bytes(raw)
    else:
        import gzip

        archive.write_bytes(gzip.compress(raw))
    with pytest.raises(ArchiveError):
        safe_extract(archive, kind, tmp_path / "out")
    assert not (tmp_path / "out" / "huge.bin").exists()


def test_a_zip_bomb_is_refused(cache, tmp_path, monkeypatch):
    bomb = zip_bytes({"zeros.bin": b"\0" * (8 << 20)})  # 8 MB of zeros in about 8 KB
    assert len(bomb) < 100_000
    m = _toy(monkeypatch, payload=bomb, extracted_size=10_000)
    monkeypatch.setenv("COURSE_DATA_MIRROR", str(_mirror(tmp_path, "mirror", bomb, m)))
    with pytest.raises(DataUnavailable, match="would expand to 8,388,608 bytes"):
        fetch("toy", progress=False)
    assert cached_dataset("toy") is None
    assert not list((cache / "toy").rglob("zeros.bin"))
    # Without a declared size the bound is a ratio of the archive's size.
    big = tmp_path / "big.zip"
    big.write_bytes(zip_bytes({"zeros.bin": b"\0" * (40 << 20)}))
    with pytest.raises(ArchiveError, match="decompression bomb"):
        safe_extract(big, "zip", tmp_path / "out")
    assert not (tmp_path / "out" / "zeros.bin").exists()


# -- 7. unusable cache folders ---------------------------------------------------------------------
def test_an_impossible_cache_folder_is_one_clear_message(tmp_path, monkeypatch, capsys):
    (tmp_path / "a-file").write_text("not a folder")
    monkeypatch.setenv("COURSE_DATA_HOME", str(tmp_path / "a-file" / "cache"))
    monkeypatch.setenv("COURSE_DATA_MIRROR", str(tmp_path))
    with pytest.raises(CourseError, match="COURSE_DATA_HOME"):
        fetch("mnist", progress=False)
    from course_utils.tools.cli import main

    assert main(["data", "fetch", "mnist"]) == 2
    err = capsys.readouterr().err
    assert "COURSE_DATA_HOME" in err and "What to do" in err and "Traceback" not in err


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root can write a read-only folder")
def test_a_read_only_cache_folder_is_one_clear_message(tmp_path, monkeypatch):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    monkeypatch.setenv("COURSE_DATA_HOME", str(ro))
    try:
        with pytest.raises(CourseError, match="COURSE_DATA_HOME"):
            fetch("mnist", progress=False)
    finally:
        ro.chmod(0o755)


# -- 9. leftovers of a killed fetch ---------------------------------------------------------------
def test_leftovers_of_a_killed_fetch_are_cleaned_and_nothing_else(cache, tmp_path, monkeypatch):
    payload = zip_bytes(GOOD)
    m = _toy(monkeypatch, payload=payload)
    monkeypatch.setenv("COURSE_DATA_MIRROR", str(_mirror(tmp_path, "mirror", payload, m)))
    (cache / "toy" / ".extract-k1ll3d" / "toy").mkdir(parents=True)
    (cache / "toy" / ".extract-k1ll3d" / "toy" / "half.txt").write_text("half")
    (cache / "toy" / "downloads").mkdir()
    (cache / "toy" / "downloads" / ".part-1234-toy.zip").write_bytes(b"partial")
    (cache / "toy" / "downloads" / "keep-me.txt").write_text("not the course's leftover")
    fetch("toy", progress=False)
    left = sorted(p.name for p in (cache / "toy").rglob("*") if p.name.startswith((".part-", ".extract-")))
    assert left == []
    assert (cache / "toy" / "downloads" / "keep-me.txt").read_text() == "not the course's leftover"


# -- 8. two fetches at once ----------------------------------------------------------------------
_FETCH_SCRIPT = textwrap.dedent("""
    import json, sys, time, types
    from pathlib import Path
    # The data layer needs no framework: load it without the package's torch/TensorFlow imports.
    pkg = types.ModuleType("course_utils")
    pkg.__path__ = [sys.argv[3]]
    sys.modules["course_utils"] = pkg
    from course_utils.data import fetch as F
    from course_utils.data import manifest
    m = manifest.parse_manifest(json.loads(sys.argv[1]))
    manifest.get = lambda name: m
    slow = F.safe_extract
    extractions = []
    def slow_extract(*a, **k):
        extractions.append(a[0])
        time.sleep(1.5)  # hold the extraction open so the two runs overlap
        return slow(*a, **k)
    F.safe_extract = slow_extract
    go = Path(sys.argv[2])
    while not go.exists():
        time.sleep(0.02)
    res = F.fetch("toy", progress=False)
    print(json.dumps({"source": res.source, "path": str(res.path), "extracted": len(extractions)}))
""")


def test_two_concurrent_fetches_both_succeed_and_the_second_uses_the_first_copy(cache, tmp_path, monkeypatch):
    payload = zip_bytes({f"toy/c{i % 2}/{i}.bin": os.urandom(2000) for i in range(200)})
    m = _toy(monkeypatch, payload=payload)
    monkeypatch.setenv("COURSE_DATA_MIRROR", str(_mirror(tmp_path, "mirror", payload, m)))
    script = tmp_path / "fetch_toy.py"
    script.write_text(_FETCH_SCRIPT)
    go = tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    procs = [subprocess.Popen([sys.executable, str(script), json.dumps(m.raw), str(go), str(ROOT / "course_utils")],
                              env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    try:
        time.sleep(0.5)
        go.write_text("go")
        outs = [p.communicate(timeout=120) for p in procs]
    finally:
        for p in procs:  # never leave a process behind, whatever happened
            if p.poll() is None:
                p.kill()
                p.wait(timeout=10)
    for p, (_out, err) in zip(procs, outs):
        assert p.returncode == 0, err[-2000:]
    results = [json.loads(out.strip().splitlines()[-1]) for out, _ in outs]
    assert sorted(r["extracted"] for r in results) == [0, 1]  # the second waited, then used the first's copy
    assert sorted(r["source"] for r in results) == ["cache", "mirror"]
    assert results[0]["path"] == results[1]["path"] == str(cache / "toy" / "data")
    assert all(r["ok"] for r in verify("toy"))


# -- 8. CIFAR batches are never unpickled blindly ---------------------------------------------------
class _Evil:
    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (open, (self.target, "w"))


def _cifar_folder(root: Path, evil_target: Path | None = None) -> Path:
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {b"data": rng.integers(0, 255, (4, 3072), dtype=np.uint8), b"labels": [0, 1, 2, 3]}
        if evil_target is not None and name == "data_batch_3":
            batch[b"extra"] = _Evil(str(evil_target))
        with open(folder / name, "wb") as fh:
            pickle.dump(batch, fh)
    return root


def test_cifar_batches_from_a_data_dir_are_read_without_running_code(tmp_path, capsys):
    from course_utils.data.datasets import DataInfo, load_cifar10

    plain = _cifar_folder(tmp_path / "plain")
    xtr, ytr, xte, yte = load_cifar10(DataInfo("cifar10", "CIFAR-10", plain, "data_dir"))
    assert xtr.shape == (20, 32, 32, 3) and xte.shape == (4, 32, 32, 3)
    assert "restricted unpickler" in capsys.readouterr().out
    sentinel = tmp_path / "pwned"
    evil = _cifar_folder(tmp_path / "evil", evil_target=sentinel)
    with pytest.raises(CourseError, match="not unpickled"):
        load_cifar10(DataInfo("cifar10", "CIFAR-10", evil, "data_dir"))
    assert not sentinel.exists()


def test_cifar_batches_extracted_from_the_verified_archive_are_unpickled(cache, tmp_path, monkeypatch, capsys):
    from course_utils.data.datasets import DataInfo, load_cifar10

    src = _cifar_folder(tmp_path / "src")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        tf.add(src / "cifar-10-batches-py", arcname="cifar-10-batches-py")
    payload = buf.getvalue()
    m = _toy(monkeypatch, archive="tar.gz", payload=payload)
    monkeypatch.setenv("COURSE_DATA_MIRROR", str(_mirror(tmp_path, "mirror", payload, m)))
    res = fetch("toy", progress=False)
    capsys.readouterr()
    xtr = load_cifar10(DataInfo("cifar10", "CIFAR-10", res.path, "mirror"))[0]
    assert xtr.shape == (20, 32, 32, 3)
    assert "restricted" not in capsys.readouterr().out


# -- 5. split layouts and a single class -----------------------------------------------------------
def _jpeg(path: Path, value: int = 128):
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((8, 8, 3), value, np.uint8)).save(path)


def test_a_train_val_layout_is_not_read_as_two_classes(tmp_path, capsys):
    from course_utils.data.scan import LayoutError, scan_any, scan_folder
    from course_utils.tools.cli import main

    for split in ("train", "val"):
        for c in ("ants", "bees"):
            _jpeg(tmp_path / "hym" / split / c / "1.jpg")
    with pytest.raises(LayoutError, match=r"split folders \(train/, val/\)") as err:
        scan_folder(tmp_path / "hym")
    assert "data_dir" in str(err.value)
    reports = scan_any(tmp_path / "hym")
    assert set(reports) == {"train", "val"} and all(r.classes == ["ants", "bees"] for r in reports.values())
    assert main(["data", "scan", str(tmp_path / "hym")]) == 0
    assert "split layout (train/, val/)" in capsys.readouterr().out


def test_a_folder_with_one_class_is_said_plainly(tmp_path, capsys):
    from course_utils.data.datasets import find_image_root
    from course_utils.data.scan import LayoutError, scan_folder
    from course_utils.tools.cli import main

    for i in range(3):
        _jpeg(tmp_path / "one" / "cats" / f"{i}.jpg")
    root = find_image_root(tmp_path / "one")
    assert root == tmp_path / "one"
    with pytest.raises(LayoutError, match="only one class, 'cats'"):
        scan_folder(root)
    assert main(["data", "scan", str(root)]) == 0
    assert "only one class (cats)" in capsys.readouterr().out


def test_the_torch_loader_stops_on_a_single_class(tmp_path):
    pytest.importorskip("torch")
    from course_utils.data.scan import LayoutError
    from course_utils.torch_.data import image_splits

    for i in range(3):
        _jpeg(tmp_path / "one" / "cats" / f"{i}.jpg")
    with pytest.raises(LayoutError, match="only one class"):
        image_splits(tmp_path / "one")


# -- 6. 16-bit PNGs ---------------------------------------------------------------------------------
def test_a_true_16_bit_png_is_scaled_to_8_bits_not_clipped(tmp_path):
    from PIL import Image

    from course_utils.data.scan import load_rgb, scan_folder

    values = np.linspace(0, 65535, 64 * 64).round().astype(np.uint16).reshape(64, 64)
    path = tmp_path / "scans" / "a" / "wide.png"
    path.parent.mkdir(parents=True)
    Image.fromarray(values).save(path)
    assert path.read_bytes()[24] == 16  # the PNG header says 16 bits per sample
    with Image.open(path) as im:
        assert np.asarray(im).max() == 65535
    rgb = np.asarray(load_rgb(path))
    assert rgb.dtype == np.uint8 and rgb.shape == (64, 64, 3)
    assert rgb.min() == 0 and rgb.max() == 255
    assert (rgb == 255).mean() < 0.01  # clipping made 99.6% of the pixels white
    assert np.abs(rgb[..., 0].astype(int) - values / 257).max() <= 0.5 + 1e-9
    _jpeg(tmp_path / "scans" / "b" / "x.png")
    rep = scan_folder(tmp_path / "scans")
    assert "a/wide.png" in rep.files and "scaled to 8 bits" in rep.summary()


# -- 4. the split writer copies ---------------------------------------------------------------------
def test_the_split_writer_copies_and_never_links_a_learners_file(tmp_path):
    from course_utils.data.splits import make_split

    src = tmp_path / "kaggle_train"
    for c in ("cat", "dog"):
        for i in range(6):
            _jpeg(src / f"{c}.{i}.jpg", 40 * i)
    before = snapshot(src)
    split = make_split(src, 2, 2, 2)
    dest = tmp_path / "out" / "small"
    assert split.write_folders(dest) == 12
    assert split.write_folders(dest) == 0
    written = [p for p in dest.rglob("*") if p.is_file()]
    assert len(written) == 12 and all(p.stat().st_nlink == 1 for p in written)
    written[0].write_bytes(b"edited the copy")
    assert snapshot(src) == before


# -- 7. settings are checked before any work ---------------------------------------------------------
@pytest.mark.parametrize("kwargs, setting", [
    ({"seed": "abc"}, "seed"),
    ({"seed": 4.7}, "seed"),
    ({"knobs": {"epochs": 0}}, "epochs"),
    ({"knobs": {"n_train": -5}}, "n_train"),
    ({"knobs": {"image_size": 64.5}}, "image_size"),
    ({"knobs": {"learning_rate": "fast"}}, "learning_rate"),
    ({"profile": "bogus"}, "profile"),
    ({"data_source": "internet"}, "data_source"),
])
def test_bad_parameter_values_name_the_setting(kwargs, setting):
    from course_utils.setup.notebook import check_parameters

    with pytest.raises(CourseError) as err:
        check_parameters("09_cats_vs_dogs_augmentation", **kwargs)
    assert setting in str(err.value) and "What to do" in str(err.value)


def test_an_output_dir_that_is_a_file_fails_before_any_work(tmp_path, monkeypatch):
    import course_utils.setup.notebook as nb

    (tmp_path / "results").write_text("a learner's file")
    monkeypatch.setattr(nb, "describe_machine", lambda **k: pytest.fail("work started before the check"))
    with pytest.raises(CourseError, match="output_dir"):
        nb.setup_notebook("09_cats_vs_dogs_augmentation", profile="smoke", output_dir=str(tmp_path / "results"))
    with pytest.raises(CourseError, match="output_dir"):
        nb.setup_notebook("09_cats_vs_dogs_augmentation", profile="smoke",
                          output_dir=str(tmp_path / "results" / "sub"))
    with pytest.raises(CourseError, match="epochs"):
        nb.setup_notebook("09_cats_vs_dogs_augmentation", profile="smoke", output_dir=str(tmp_path / "o"), epochs=0)
    assert (tmp_path / "results").read_text() == "a learner's file"


@pytest.mark.parametrize("param", [["profile", "bogus"], ["epochs", "0"], ["seed", "abc"]])
def test_the_runner_refuses_bad_parameters_before_starting_a_kernel(param, tmp_path, monkeypatch, capsys):
    import papermill

    from course_utils.tools.cli import main

    monkeypatch.setattr(papermill, "execute_notebook", lambda *a, **k: pytest.fail("a kernel was started"))
    assert main(["run", "09", "--output-dir", str(tmp_path), "-p", *param]) == 2
    err = capsys.readouterr().err
    assert param[0] in err and "What to do" in err and "Traceback" not in err


# -- 8. results page ---------------------------------------------------------------------------------
def test_results_from_another_folder_writes_only_where_told(tmp_path, monkeypatch, capsys):
    from course_utils.tools.cli import main

    learner = tmp_path / "my-project"
    (learner / "book").mkdir(parents=True)
    (learner / "book" / "results.md").write_text("my own results")
    (learner / "README.md").write_text("my readme <!-- results:start --> <!-- results:end -->")
    before = snapshot(learner)
    monkeypatch.chdir(learner)
    assert main(["results", "--metrics-dir", str(tmp_path / "metrics")]) == 2
    assert "--dest" in capsys.readouterr().err
    assert snapshot(learner) == before
    assert main(["results", "--metrics-dir", str(tmp_path / "metrics"), "--dest", str(tmp_path / "page.md")]) == 0
    assert (tmp_path / "page.md").read_text().startswith("# Results")
    assert snapshot(learner) == before


def test_the_cli_shows_a_traceback_only_with_debug(tmp_path, monkeypatch, capsys):
    from course_utils.tools.cli import main

    monkeypatch.chdir(tmp_path)
    assert main(["results", "--metrics-dir", "m"]) == 2
    assert "Traceback" not in capsys.readouterr().err
    with pytest.raises(CourseError):
        main(["--debug", "results", "--metrics-dir", "m"])


def test_the_split_reads_a_kaggle_folder_unzipped_inside_a_wrapper(tmp_path):
    from course_utils.data.splits import make_split

    for c in ("cat", "dog"):
        for i in range(3):
            _jpeg(tmp_path / "data" / "train" / f"{c}.{i}.jpg")
    split = make_split(tmp_path / "data", 1, 1, 1)
    assert split.layout == "flat" and split.totals() == {"train": 2, "validation": 2, "test": 2}
