"""The contract every notebook keeps (see README): structure, parameters, setup call, badges,
jupytext pairing, stored outputs, and the metrics file its smoke run writes."""
import ast
import json
from pathlib import Path

import jupytext
import nbformat
import pytest

from course_utils.setup import profiles
from course_utils.setup.config import colab_badge
from course_utils.setup.contract import METRIC_KEYS
from course_utils.tools.badges import install_line
from course_utils.tools.runner import toc_notebooks

ROOT = Path(__file__).resolve().parents[2]
NB = ROOT / "notebooks"
ORDER = ["00_setup", "01_knn_cifar10", "02_linear_scores", "03_svm_softmax_losses", "04_convolution_by_hand",
         "05_cnn_architectures", "06_mnist_cnn_pytorch", "07_monkeypox_classifier", "08_breast_histopathology",
         "09_cats_vs_dogs_augmentation", "10_transfer_learning", "11_fine_tuning", "12_class_activation_maps",
         "13_data_parallel_training"]
STEMS = toc_notebooks(ROOT / "_toc.yml")
TWO_FRAMEWORKS = {"10_transfer_learning", "11_fine_tuning", "12_class_activation_maps", "13_data_parallel_training"}


def test_toc_lists_every_notebook_in_teaching_order():
    assert STEMS == ORDER


def test_profile_table_covers_every_notebook_with_the_same_keys_in_each_profile():
    for stem in STEMS:
        assert stem in profiles.TABLE, stem
        keys = [set(profiles.TABLE[stem][p]) for p in profiles.PROFILE_NAMES]
        assert keys[0] == keys[1] == keys[2], f"{stem}: profiles disagree on settings"
        assert stem in METRIC_KEYS


def test_profile_resolution(monkeypatch):
    monkeypatch.delenv("COURSE_PROFILE", raising=False)
    assert profiles.resolve_profile_name("auto", has_gpu=True)[0] == "full"
    assert profiles.resolve_profile_name("auto", has_gpu=False)[0] == "laptop"
    monkeypatch.setenv("COURSE_PROFILE", "smoke")
    assert profiles.resolve_profile_name("auto", has_gpu=True) == ("smoke", "from $COURSE_PROFILE")
    assert profiles.resolve_profile_name("laptop", has_gpu=False)[0] == "laptop"
    with pytest.raises(profiles.ProfileError):
        profiles.resolve_profile_name("huge", has_gpu=False)
    monkeypatch.setenv("COURSE_PROFILE", "bogus")
    with pytest.raises(profiles.ProfileError, match="COURSE_PROFILE"):
        profiles.resolve_profile_name("auto", has_gpu=False)


def test_overrides_win_and_none_means_table():
    s = profiles.settings_for("06_mnist_cnn_pytorch", "smoke", {"epochs": 5, "batch_size": None})
    assert s["epochs"] == 5 and s["batch_size"] == profiles.TABLE["06_mnist_cnn_pytorch"]["smoke"]["batch_size"]
    with pytest.raises(profiles.ProfileError):
        profiles.settings_for("99_nope", "smoke")


def test_save_metrics_writes_the_schema_and_refuses_missing_keys(tmp_path, monkeypatch):
    from course_utils import setup_notebook

    monkeypatch.delenv("COURSE_OUTPUT_DIR", raising=False)
    run = setup_notebook("02_linear_scores", profile="smoke", data_source="synthetic", output_dir=str(tmp_path),
                         seed=1, verbose=False)
    with pytest.raises(KeyError, match="toy_predicted_class"):
        run.save_metrics({"toy_scores": [1.0, 2.0, 3.0]})
    info = run.get_data("cifar10")
    run.set_counts("cifar10", train=10, test=5)
    with run.timer("work"):
        pass
    import numpy as np

    run.save_metrics({"toy_scores": np.array([-96.8, 437.9, 61.95]), "toy_predicted_class": "dog",
                      "nan_becomes_null": float("nan")})
    path = run.metrics_path()
    doc = json.loads(path.read_text())
    assert path.name == "02_linear_scores.metrics.json"
    assert doc["profile"] == "smoke" and doc["seed"] == 1 and doc["synthetic"] is True
    assert doc["data"]["cifar10"]["source"] == "synthetic"
    assert doc["data"]["cifar10"]["counts"] == {"train": 10, "test": 5}
    assert doc["metrics"]["toy_scores"] == [-96.8, 437.9, 61.95] and doc["metrics"]["nan_becomes_null"] is None
    assert "work" in doc["timings"] and "total_s" in doc["timings"]
    assert doc["environment"]["versions"]["numpy"] and doc["environment"]["device"] in ("cpu", "cuda", "mps")
    assert info.synthetic


# ---- static structure of each notebook -------------------------------------------------------

def _nb(stem):
    return nbformat.read(NB / f"{stem}.ipynb", as_version=4)


@pytest.mark.parametrize("stem", STEMS)
def test_jupytext_pair_is_in_sync(stem):
    py = jupytext.read(NB / f"{stem}.py")
    ipynb = jupytext.read(NB / f"{stem}.ipynb")
    a = [(c.cell_type, c.source.strip()) for c in py.cells]
    b = [(c.cell_type, c.source.strip()) for c in ipynb.cells]
    assert a == b, f"{stem}.py and {stem}.ipynb differ: run `make sync`"


@pytest.mark.parametrize("stem", STEMS)
def test_first_cell_title_outcomes_and_badge(stem):
    first = _nb(stem).cells[0]
    assert first.cell_type == "markdown"
    assert first.source.startswith(f"# {stem[:2]} ·"), "title '# NN · ...'"
    assert "You will be able to" in first.source
    assert colab_badge(stem) in first.source, "badge must be built from config.REPO_URL (python -m course_utils badges)"
    assert install_line() in "\n".join(c.source for c in _nb(stem).cells[:3])


@pytest.mark.parametrize("stem", STEMS)
def test_parameters_cell_and_single_setup_call(stem):
    cells = [c for c in _nb(stem).cells if c.cell_type == "code"]
    tagged = [i for i, c in enumerate(cells) if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, "exactly one cell tagged 'parameters'"
    values = {}
    for node in ast.parse(cells[tagged[0]].source).body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            values[node.targets[0].id] = ast.literal_eval(node.value)
    assert values.get("profile") == "auto" and values.get("data_source") == "auto"
    assert "data_dir" in values and values["data_dir"] is None
    assert values.get("output_dir") == "outputs" and values.get("seed") == 42
    setup = cells[tagged[0] + 1].source
    assert f'setup_notebook("{stem}"' in setup
    code = "\n".join(c.source for c in cells)
    assert code.count("setup_notebook(") == 1
    assert code.index("import course_utils") < min(
        [code.find(s) for s in ("import tensorflow", "import keras") if code.find(s) >= 0] or [len(code)])
    assert "run.save_metrics(" in code


def test_template_follows_the_contract():
    text = (ROOT / "templates" / "NN_topic.py").read_text()
    for needle in ('tags=["parameters"]', 'profile = "auto"', 'data_source = "auto"', "data_dir = None",
                   'output_dir = "outputs"', "seed = 42", "tiny = False", "tiny=tiny", "setup_notebook(",
                   "run.save_metrics(",
                   "You will be able to", "colab-badge.svg"):
        assert needle in text, needle


# ---- the metrics file of each notebook's smoke run (executed once, by nbval) ---------------



def test_an_artifact_record_names_only_the_data_its_model_was_made_from(tmp_path, monkeypatch):
    """A notebook that reads two datasets (11: cats and dogs for Keras, ants and bees for PyTorch)
    must not say its PyTorch model came from both."""
    from course_utils import setup_notebook

    monkeypatch.delenv("COURSE_OUTPUT_DIR", raising=False)
    run = setup_notebook("02_linear_scores", profile="smoke", data_source="synthetic", output_dir=str(tmp_path),
                         seed=1, verbose=False)
    run.get_data("cifar10")
    run.get_data("mnist")
    assert set(run.artifact_record({"acc": 0.5})["data"]) == {"cifar10", "mnist"}
    assert set(run.artifact_record({"acc": 0.5}, data=["mnist"])["data"]) == {"mnist"}
    with pytest.raises(ValueError, match="not read by this run"):
        run.artifact_record({"acc": 0.5}, data=["hymenoptera"])
    run.lesson("learns", "it learns", True, "0.9 vs 0.1")
    assert run.lesson("learns", "it learns", False, "0.1 vs 0.9") is None   # no bare True under a cell
    assert run.lessons == [{"id": "learns", "claim": "it learns", "holds": False, "evidence": "0.1 vs 0.9"}]
