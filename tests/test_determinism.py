"""Same seed, same CPU, same numbers: a Keras notebook executed twice gives the same metrics.

(06_mnist_cnn_pytorch has the PyTorch twin of this test.) Keras is seeded by
``keras.utils.set_random_seed`` and TensorFlow's op determinism is on in the smoke profile, so
the runs should agree exactly; the tolerance below only absorbs float summation order, which
TensorFlow does not promise across thread schedules: 0.02 is one test image in 50.
"""
import pytest

from course_utils.tools.runner import run_notebooks

STEM = "08_breast_histopathology"
TOLERANCE = 0.02


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
