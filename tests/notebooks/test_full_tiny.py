"""The ``full`` profile's code paths (what ``profile="auto"`` picks on every Colab GPU), run tiny.

Every notebook whose ``full`` settings differ from ``laptop`` runs with ``--profile full --tiny``:
the GPU profile's backbones, datasets, threads and determinism with seconds of work. Where real
weights or data cannot be had here, the run uses labelled stand-ins, and the metrics say so.
"""
import json

import pytest

from course_utils.setup import profiles
from course_utils.tools.runner import run_notebooks

FULL_ONLY = [nb for nb in profiles.TABLE
             if profiles.settings_for(nb, "full") != profiles.settings_for(nb, "laptop")]


@pytest.fixture(scope="module")
def out_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("full-tiny")


@pytest.mark.slow
@pytest.mark.parametrize("notebook", FULL_ONLY)
def test_full_profile_runs_tiny(notebook, out_dir):
    rows = run_notebooks([notebook], profile="full", output_dir=out_dir, tiny=True)
    assert rows[0]["status"] == "ok", rows[0]["error"]
    doc = json.loads((out_dir / f"{notebook}.metrics.json").read_text())
    assert doc["profile"] == "full" and doc["tiny"] is True
    assert doc["settings"] == profiles.settings_for(notebook, "full", tiny=True)
    for stand_in in doc["stand_ins"]:
        assert stand_in["what"] and stand_in["instead_of"] and stand_in["why"]
    if notebook == "10_transfer_learning":
        m = doc["metrics"]
        assert (m["torch_backbone"], m.get("torch_dataset")) == ("resnet18", "flowers102")
        if "random" in m["torch_weights_source"]:  # no ImageNet weights here: flagged as a stand-in
            assert any("resnet18" in s["what"] for s in doc["stand_ins"])


def test_the_full_only_list_covers_the_gpu_notebooks():
    assert {"05_cnn_architectures", "06_mnist_cnn_pytorch", "10_transfer_learning", "11_fine_tuning",
            "12_class_activation_maps"} <= set(FULL_ONLY)
