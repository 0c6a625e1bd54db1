"""Same seed, same CPU, same numbers: a Keras notebook executed twice gives the same metrics.

(06_mnist_cnn_pytorch has the PyTorch twin of this test.) Keras is seeded by
``keras.utils.set_random_seed`` and TensorFlow's op determinism is on in the smoke profile, so
the runs should agree exactly; the tolerance below only absorbs float summation order, which
TensorFlow does not promise across thread schedules: 0.02 is one test image in 50.
"""
import json

import pytest

from course_utils.tools.runner import run_notebooks

STEM = "08_breast_histopathology"
TOLERANCE = 0.02
NB = "06_mnist_cnn_pytorch"  # its PyTorch twin
#: two CPU runs with the same seed use deterministic kernels and the same batch order. In practice
#: two separate processes can still differ in the last float bits (two laptop runs here gave test
#: accuracies 0.9870 and 0.9868), so allow 5 of the 1,000 smoke test digits.
DETERMINISM_TOL = 0.005


@pytest.mark.slow
def test_keras_notebook_twice_same_seed_same_metrics(notebook_metrics, tmp_path):
    first = notebook_metrics(STEM)
    rows = run_notebooks([STEM], profile="smoke", output_dir=tmp_path)
    assert rows[0]["status"] == "ok", rows[0]["error"]
    second = rows[0]["metrics_doc"]
    assert second["seed"] == first["seed"] and second["settings"] == first["settings"]
    for key in ("test_acc", "balanced_acc", "auc", "sensitivity", "specificity"):
        a, b = first["metrics"][key], second["metrics"][key]
        assert abs(a - b) <= TOLERANCE, f"{key}: {a} vs {b}"
    assert first["metrics"]["n_patients_train"] == second["metrics"]["n_patients_train"]


def test_06_same_seed_same_result_on_cpu(notebook_metrics, tmp_path):
    from course_utils.tools.runner import run_notebooks

    first = notebook_metrics(NB)
    if first["environment"]["device"] != "cpu":
        pytest.skip("bit-for-bit repeatability is only promised on the CPU")
    rows = run_notebooks([NB], profile="smoke", output_dir=tmp_path, params={"seed": first["seed"]})
    assert rows[0]["status"] == "ok", rows[0]["error"]
    second = json.loads((tmp_path / f"{NB}.metrics.json").read_text())
    assert second["seed"] == first["seed"]
    assert abs(second["metrics"]["test_acc"] - first["metrics"]["test_acc"]) <= DETERMINISM_TOL
    assert abs(second["metrics"]["train_acc"] - first["metrics"]["train_acc"]) <= DETERMINISM_TOL
