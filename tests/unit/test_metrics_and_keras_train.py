"""Tests for 07_monkeypox_classifier, 08_breast_histopathology and their helpers
(course_utils.metrics, course_utils.keras_.train)."""
import math
from pathlib import Path

import numpy as np
import pytest

from course_utils import metrics as M

ROOT = Path(__file__).resolve().parents[2]

# ----------------------------------------------------------------------------------------------
# course_utils.metrics
# ----------------------------------------------------------------------------------------------
# A matrix small enough to do by hand: TN=50, FP=10, FN=5, TP=35.
CM = [[50, 10], [5, 35]]
HAND = {
    "sensitivity": 35 / 40,                                   # 0.875
    "specificity": 50 / 60,                                   # 0.8333
    "precision": 35 / 45,                                     # 0.7778
    "f1": 2 * (35 / 45) * (35 / 40) / (35 / 45 + 35 / 40),   # 0.8235 = 2TP / (2TP + FP + FN) = 70/85
    "mcc": (35 * 50 - 10 * 5) / math.sqrt(45 * 40 * 60 * 55),  # 1700 / sqrt(5,940,000) = 0.6975
    "accuracy": 85 / 100,
    "balanced_accuracy": (35 / 40 + 50 / 60) / 2,
}


def test_metrics_from_known_confusion_matrix_match_hand_values():
    m = M.metrics_from_cm(CM)
    assert (m["tp"], m["fp"], m["fn"], m["tn"]) == (35, 10, 5, 50)
    for k, v in HAND.items():
        assert m[k] == pytest.approx(v, abs=1e-12), k
    assert m["f1"] == pytest.approx(70 / 85)
    assert round(m["mcc"], 4) == 0.6975
    assert M.binary_metrics(tp=35, fp=10, fn=5, tn=50) == m


def test_metrics_from_labels_agree_with_confusion_matrix_and_sklearn():
    y_true = np.array([0] * 60 + [1] * 40)
    y_pred = np.array([0] * 50 + [1] * 10 + [0] * 5 + [1] * 35)
    assert M.confusion_matrix_2x2(y_true, y_pred).tolist() == CM
    rep = M.binary_report(y_true, y_pred.astype(float), threshold=0.5)
    for k, v in HAND.items():
        assert rep[k] == pytest.approx(v)
    diffs = M.sklearn_crosscheck(y_true, np.where(y_pred == 1, 0.8, 0.3))
    assert max(diffs.values()) < 1e-9


def test_zero_division_is_zero_like_sklearn():
    m = M.binary_metrics(tp=0, fp=0, fn=4, tn=6)  # never predicts positive
    assert m["precision"] == 0.0 and m["f1"] == 0.0 and m["mcc"] == 0.0 and m["sensitivity"] == 0.0
    assert m["specificity"] == 1.0 and m["balanced_accuracy"] == 0.5


@pytest.mark.parametrize("bad", [[[1, 2, 3], [4, 5, 6]], [[1, 2]], [[-1, 2], [3, 4]], [[0, 0], [0, 0]],
                                 [[1.5, 2], [3, 4]]])
def test_bad_confusion_matrices_raise(bad):
    with pytest.raises(ValueError):
        M.metrics_from_cm(bad)


def test_auc_from_probabilities_matches_sklearn_and_argmax_auc_is_balanced_accuracy():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 300)
    s = np.clip(0.35 * y + 0.65 * rng.random(300), 0, 1).round(2)  # rounding creates ties
    assert M.auc_from_scores(y, s) == pytest.approx(roc_auc_score(y, s), abs=1e-12)
    hard = (s >= 0.5).astype(float)
    # AUC of thresholded labels collapses to balanced accuracy: the tutorial's mistake
    assert M.auc_from_scores(y, hard) == pytest.approx(M.binary_report(y, s)["balanced_accuracy"])
    assert M.auc_from_scores(y, hard) < M.auc_from_scores(y, s)
    assert M.auc_from_scores([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]) == 1.0
    assert M.auc_from_scores([0, 1], [0.5, 0.5]) == 0.5


def test_positive_scores_and_input_errors():
    assert M.positive_scores([[0.3, 0.7], [0.9, 0.1]]).tolist() == [0.7, 0.1]
    assert M.positive_scores([[0.7], [0.1]]).tolist() == [0.7, 0.1]
    with pytest.raises(ValueError):
        M.positive_scores([[0.2, 0.3, 0.5]])
    with pytest.raises(ValueError):
        M.positive_scores([2.3, -1.0])  # logits, not probabilities
    with pytest.raises(ValueError):
        M.binary_report([0, 1, 2], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError):
        M.binary_report([0, 1], [0.1, 0.2], threshold=1.5)
    with pytest.raises(ValueError):
        M.binary_report([0, 1, 1], [0.1, 0.2])
    with pytest.raises(ValueError):
        M.auc_from_scores([1, 1], [0.2, 0.3])


def test_majority_baseline_and_threshold_helpers():
    b = M.majority_baseline([0, 0, 0, 1], [0, 0, 0, 1, 1, 0, 0, 0])
    assert b == {"majority_class": 0, "accuracy": 0.75, "balanced_accuracy": 0.5}
    with pytest.raises(ValueError):
        M.majority_baseline([], [0])
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 200)
    s = np.clip(0.3 * y + 0.7 * rng.random(200), 0, 1)
    t = M.threshold_for_sensitivity(y, s, 0.9)
    assert M.binary_report(y, s, t)["sensitivity"] >= 0.9
    assert M.binary_report(y, s, min(1.0, t + 1e-6))["sensitivity"] < 0.9  # the highest such threshold
    table = M.threshold_table(y, s, thresholds=(0.2, 0.5, 0.8))
    assert list(table.index) == [0.2, 0.5, 0.8]
    assert table["sensitivity"].is_monotonic_decreasing and table["specificity"].is_monotonic_increasing


# ----------------------------------------------------------------------------------------------
# course_utils.keras_.train
# ----------------------------------------------------------------------------------------------
def test_exponential_lambda_and_class_weights():
    from course_utils.keras_.train import balanced_class_weights, exponential_lambda

    f = exponential_lambda(1e-3, 0.1)
    assert f(0) == pytest.approx(1e-3)
    assert f(10) == pytest.approx(1e-3 * math.exp(-1))
    assert f(3) / f(2) == pytest.approx(math.exp(-0.1))
    with pytest.raises(ValueError):
        exponential_lambda(0.0)
    w = balanced_class_weights([0, 0, 0, 1])
    assert w == {0: pytest.approx(4 / 6), 1: pytest.approx(2.0)}
    assert 3 * w[0] == pytest.approx(1 * w[1])  # each class carries the same total weight
    with pytest.raises(ValueError):
        balanced_class_weights([0, 0, 0], n_classes=2)  # class 1 has no examples


def test_cosine_lambda_warms_up_then_falls_to_almost_zero():
    from course_utils.keras_.train import cosine_lambda

    f = cosine_lambda(2e-3, 10, warmup=2)
    rates = [f(e) for e in range(10)]
    assert rates[0] == pytest.approx(2e-3 / 3) and rates[1] == pytest.approx(2 * 2e-3 / 3)
    assert rates[2] == pytest.approx(2e-3)                           # the peak, after the warm-up
    assert all(a > b for a, b in zip(rates[2:], rates[3:]))          # then it only falls
    assert 0 < rates[-1] < 0.05 * 2e-3                               # the last epoch still takes a small step
    assert cosine_lambda(1e-3, 1, warmup=2)(0) == pytest.approx(1e-3)  # a one-epoch run skips the warm-up
    assert cosine_lambda(1e-3, 4, final_fraction=0.5)(3) > 0.5e-3
    with pytest.raises(ValueError):
        cosine_lambda(1e-3, 0)


def test_make_callbacks_and_a_tiny_fit(tmp_path):
    import keras

    from course_utils.keras_.train import fit, make_callbacks

    cbs = make_callbacks(tmp_path / "m.keras", patience=2, lr_schedule="plateau")
    kinds = {type(c).__name__ for c in cbs}
    assert kinds == {"EarlyStopping", "ModelCheckpoint", "ReduceLROnPlateau"}
    assert "LearningRateScheduler" in {type(c).__name__ for c in make_callbacks(lr_schedule="exponential")}
    with pytest.raises(ValueError):
        make_callbacks(tmp_path / "m.h5")
    with pytest.raises(ValueError):
        make_callbacks(lr_schedule="cosine")

    keras.utils.set_random_seed(0)
    x = np.random.default_rng(0).random((64, 4)).astype("float32")
    y = (x[:, 0] > 0.5).astype("int64")
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(16)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    res = fit(model, ds, ds, epochs=3, learning_rate=0.05, lr_schedule="exponential",
              checkpoint_path=tmp_path / "best.keras", patience=5, verbose=0)
    assert res.epochs_run == 3 and len(res.epoch_times) == 3 and all(t > 0 for t in res.epoch_times)
    assert (tmp_path / "best.keras").is_file()
    assert res.history["lr"][1] == pytest.approx(0.05 * math.exp(-0.1), rel=1e-5)
    assert 1 <= res.best_epoch <= 3 and res.best_value == min(res.history["val_loss"])
    with pytest.raises(ValueError):
        fit(model, ds, ds, epochs=0)


# ----------------------------------------------------------------------------------------------
# 07 on a folder laced with bad files (its own smoke run, with data_dir)
# ----------------------------------------------------------------------------------------------
def test_laced_folder_scan_counts(tmp_path, laced_folder):
    from course_utils.data.scan import scan_folder

    expected = laced_folder(tmp_path / "laced")
    rep = scan_folder(tmp_path / "laced")
    assert rep.classes == ["Alpha", "Beta"]
    assert len(rep.files) == expected["good"] and len(rep.bad) == expected["bad"]
    assert set(rep.converted.values()) == {"L", "CMYK"}




def test_make_optimizer_by_name_and_rate():
    kt = pytest.importorskip("course_utils.keras_.train")
    opt = kt.make_optimizer("RMSprop", 3e-4)
    assert type(opt).__name__ == "RMSprop" and float(np.asarray(opt.learning_rate)) == pytest.approx(3e-4)
    assert kt.make_optimizer("rmsprop") is not kt.make_optimizer("rmsprop")  # fresh state each time
    with pytest.raises(ValueError, match="not one of"):
        kt.make_optimizer("adagrad")



def test_notebooks_take_optimizers_and_rates_from_the_helper():
    """One place builds Keras optimizers (keras_.train.make_optimizer), at rates the profile table holds."""
    pattern = __import__("re").compile(r"keras\.optimizers\.(Adam|RMSprop|SGD)\(")
    found = [f"{p.name}:{i}" for p in sorted(Path(__file__).resolve().parents[2].glob("notebooks/*.py"))
             for i, line in enumerate(p.read_text().splitlines(), 1) if pattern.search(line)]
    assert found == [], f"build optimizers with keras_train.make_optimizer / optimizer='name': {found}"


def test_notebooks_take_torch_learning_rates_from_the_profile_table():
    """A PyTorch optimizer in a notebook takes its rate from a knob (``lr=cfg.x``), never a literal:
    a learner changes it in the parameters cell, and the metrics file records it."""
    pattern = __import__("re").compile(r"torch\.optim\.\w+\(.*\blr=[0-9.]")
    found = [f"{p.name}:{i}" for p in sorted(Path(__file__).resolve().parents[2].glob("notebooks/*.py"))
             for i, line in enumerate(p.read_text().splitlines(), 1) if pattern.search(line)]
    assert found == [], f"declare the rate as a knob in the profile table: {found}"


def test_notebooks_build_split_pipelines_with_split_dataset():
    """09-12 build a split's Keras pipeline with keras_.data.split_dataset, not a local wrapper."""
    pattern = __import__("re").compile(r"make_dataset\(\s*split\.paths\[")
    found = [p.name for p in sorted(Path(__file__).resolve().parents[2].glob("notebooks/*.py"))
             if pattern.search(p.read_text())]
    assert found == [], f"use split_dataset(split, name, size, batch, ...) in {found}"
