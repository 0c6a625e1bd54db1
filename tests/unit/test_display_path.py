"""Paths printed by notebooks never show where the machine that ran them kept its files."""
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
