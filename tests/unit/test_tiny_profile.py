"""``tiny`` cuts the amount of work and keeps every other choice of the profile."""
import pytest

from course_utils.setup import profiles as P


@pytest.mark.parametrize("notebook", list(P.TABLE))
def test_tiny_keeps_choices_and_cuts_work(notebook):
    full = P.settings_for(notebook, "full")
    smoke = P.settings_for(notebook, "smoke")
    tiny = P.settings_for(notebook, "full", tiny=True)
    assert set(tiny) == set(full)
    for key, value in full.items():
        kind = P._cut(key)
        if kind is None:  # a choice: backbone, dataset, learning rate, width, threads, determinism
            assert tiny[key] == value, key
        elif kind == "epochs":
            assert tiny[key] == 1, key
        elif isinstance(smoke.get(key), int):
            assert tiny[key] is not None and tiny[key] <= smoke[key], key
            assert value is None or tiny[key] <= value, key


def test_tiny_full_keeps_the_gpu_models():
    s = P.settings_for("10_transfer_learning", "full", tiny=True)
    assert (s["torch_backbone"], s["torch_dataset"]) == ("resnet18", "flowers102")
    assert s["torch_image_size"] < 224 and s["epochs"] == 1 and s["torch_max_per_class"] is not None
    assert P.settings_for("05_cnn_architectures", "full", tiny=True)["depth_experiment_threads"] is None


def test_explicit_knob_survives_only_when_smaller():
    assert P.settings_for("06_mnist_cnn_pytorch", "full", {"n_train": 50}, tiny=True)["n_train"] == 50
    assert P.settings_for("06_mnist_cnn_pytorch", "full", {"n_train": 50000}, tiny=True)["n_train"] <= 1000


def test_stand_ins_are_printed_and_written_to_the_metrics(tmp_path, capsys, monkeypatch):
    import json

    from course_utils.setup.notebook import Run

    monkeypatch.setattr("course_utils.setup.notebook.library_versions", lambda: {})
    run = Run("10_transfer_learning", "full", "as requested", {}, "auto", None, tmp_path, 42,
              {"torch_device": "cpu"}, tiny=True)
    run.stand_in("resnet18 with RANDOM weights", "resnet18 with ImageNet weights", "name resolution failed")
    run.stand_in("resnet18 with RANDOM weights", "resnet18 with ImageNet weights", "name resolution failed")
    assert "STAND-IN: resnet18 with RANDOM weights" in capsys.readouterr().out
    run.save_metrics({"x": 1}, strict=False)
    doc = json.loads(run.metrics_path().read_text())
    assert doc["tiny"] is True
    assert doc["stand_ins"] == [{"what": "resnet18 with RANDOM weights", "instead_of": "resnet18 with ImageNet weights",
                                 "why": "name resolution failed"}]
