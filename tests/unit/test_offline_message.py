"""Offline, the banner and `data fetch` say why, how to get the data, and the two ways out."""

from course_utils.data.datasets import network_reason, unavailable_message
from course_utils.tools.cli import main

DNS = ("https://example.org/mnist/train-images-idx3-ubyte.gz: ConnectionError: HTTPSConnectionPool(...) "
       "(Caused by NameResolutionError(\"Failed to resolve 'example.org' ([Errno -2] Name or service not known)\"))")


def test_reason_is_named():
    assert network_reason(DNS) == "name resolution failed (no network, or no DNS)"
    assert network_reason("something else") is None


def test_message_for_a_download_dataset():
    msg = unavailable_message("mnist", "could not fetch train-images-idx3-ubyte.gz for 'mnist':\n  " + DNS)
    assert "name resolution failed" in msg
    assert "COURSE_DATA_MIRROR" in msg and "data_dir" in msg
    assert "https://example.org/mnist/train-images-idx3-ubyte.gz" in msg


def test_message_for_a_kaggle_dataset_keeps_the_instructions():
    from course_utils.data import manifest

    m = manifest.get("monkeypox_msld")
    msg = unavailable_message("monkeypox_msld", "cannot be downloaded automatically")
    assert m.instructions.strip().splitlines()[0].strip() in msg
    assert "COURSE_DATA_MIRROR" in msg and "data_dir" in msg


def test_data_fetch_offline_names_the_cause(tmp_path, monkeypatch, capsys):
    import pooch

    def offline(url, *args, **kwargs):
        raise ConnectionError(f"HTTPSConnectionPool: NameResolutionError: Failed to resolve ({url})")

    monkeypatch.setenv("COURSE_DATA_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("COURSE_DATA_MIRROR", raising=False)
    monkeypatch.setattr(pooch, "retrieve", offline)
    assert main(["data", "fetch", "mnist"]) == 1
    err = capsys.readouterr().err
    assert "name resolution failed" in err and "COURSE_DATA_MIRROR" in err and "data_dir" in err


def test_banner_shows_reason_and_ways_out(tmp_path, monkeypatch):
    import pooch

    from course_utils.data.datasets import banner, get_dataset

    def offline(url, *args, **kwargs):
        raise ConnectionError("NameResolutionError: Name or service not known")

    monkeypatch.setenv("COURSE_DATA_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("COURSE_DATA_MIRROR", raising=False)
    monkeypatch.delenv("COURSE_DATA_ROOT", raising=False)
    monkeypatch.setattr(pooch, "retrieve", offline)
    info = get_dataset("mnist", data_source="auto", synthetic_size=5, progress=False)
    assert info.synthetic
    text = banner(info)
    assert "SYNTHETIC" in text and "name resolution failed" in text
    assert "COURSE_DATA_MIRROR" in text and "data_dir" in text
