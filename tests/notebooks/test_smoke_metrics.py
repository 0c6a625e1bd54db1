"""The metrics files of fresh smoke runs, checked against what each notebook's topic expects
(tolerance bands; expectations that hold only on real data are checked only when the run used it).
Each notebook runs once per session: the metrics nbval's execution wrote are reused."""
from __future__ import annotations

import math
import os
import re
from pathlib import Path

import numpy as np
import pytest

from course_utils.setup.contract import METRIC_KEYS
from course_utils.tools.runner import toc_notebooks

ROOT = Path(__file__).resolve().parents[2]
STEMS = toc_notebooks(ROOT / "_toc.yml")


# -- notebook metrics (smoke profile) ---------------------------------------------------------
def _real(doc, name="cifar10") -> bool:
    """Did the run use real data (not the synthetic stand-in) for dataset ``name``?"""
    d = doc["data"].get(name) or (doc["data"].get("cats_and_dogs_filtered") if name == "dogs_vs_cats" else None) or {}
    return bool(d) and not d.get("synthetic")


def test_01_knn_metrics(notebook_metrics):
    doc = notebook_metrics("01_knn_cifar10")
    m = doc["metrics"]
    assert m["sklearn_agreement"] == 1.0
    # timings and speed-ups are reported in the metrics, not asserted: a busy machine changes them
    assert m["speedup_no_loops_vs_two_loops"] > 0 and m["dist_no_loops_s"] > 0
    assert m["best_k"] in doc["settings"]["k_choices"]
    assert 0.0 <= m["acc_k1"] <= 1.0 and 0.0 <= m["best_k_test_acc"] <= 1.0
    if _real(doc):  # smoke: 1,000 training images, so well above chance but below the 5,000-image 27%
        assert 0.14 <= m["acc_k1"] <= 0.40
        assert m["best_k_test_acc"] >= 0.14


def test_02_linear_scores_metrics(notebook_metrics):
    m = notebook_metrics("02_linear_scores")["metrics"]
    # CS231n's figure prints 61.95 for ship: that is W x without the bias -1.2 (the notebook says so).
    assert m["toy_scores"] == pytest.approx([-96.8, 437.9, 60.75], abs=1e-9)
    assert m["toy_scores_without_bias"][2] == pytest.approx(61.95, abs=1e-9)
    assert m["toy_predicted_class"] == "dog"


def test_03_losses_metrics(notebook_metrics):
    doc = notebook_metrics("03_svm_softmax_losses")
    m = doc["metrics"]
    assert round(m["svm_toy_loss"], 2) == 5.27
    assert m["svm_toy_losses"] == pytest.approx([2.9, 0.0, 12.9], abs=1e-9)
    assert round(m["softmax_toy_loss"], 2) == 2.04
    assert m["gradcheck_max_rel_error_svm"] < 1e-7
    assert m["gradcheck_max_rel_error_softmax"] < 1e-7
    assert m["vectorized_speedup_svm"] > 0 and m["vectorized_speedup_softmax"] > 0  # reported, not asserted
    if _real(doc):  # smoke: 500 training images, 100 SGD steps: above chance, far below full training
        assert m["svm_val_acc"] > 0.15 and m["softmax_val_acc"] > 0.15
        assert m["svm_test_acc"] > 0.12 and m["softmax_test_acc"] > 0.12


# ---- smoke-run metrics --------------------------------------------------------------------------
def test_04_metrics(notebook_metrics):
    m = notebook_metrics("04_convolution_by_hand")["metrics"]
    assert np.asarray(m["conv_demo_output"]).shape == (3, 3, 2)
    assert m["conv_demo_output"] == DEMO_OUTPUT
    assert m["maxpool_demo_output"] == [[6, 8], [3, 4]]
    for key in ("conv_max_abs_diff_torch", "conv_max_abs_diff_tf", "bn_max_abs_diff_torch", "bn_max_abs_diff_keras",
                "transposed_max_abs_diff_torch", "transposed_max_abs_diff_keras"):
        assert 0 <= m[key] <= 1e-5, (key, m[key])
    assert m["im2col_speedup"] > 0  # reported, not asserted: a busy machine changes it


def test_05_metrics(notebook_metrics):
    doc = notebook_metrics("05_cnn_architectures")
    m = doc["metrics"]
    assert m["params_seed_monkeypox_cnn"] == 30_471_234
    assert m["params_cats_dogs_scratch"] == 3_453_121
    assert m["params_vgg16_base_150"] == 14_714_688
    assert m["vgg16_base_output_shape"] == [4, 4, 512]
    assert (m["params_alexnet"], m["params_vgg16"], m["params_resnet18"]) == (61_100_840, 138_357_544, 11_689_512)
    assert m["receptive_field_vgg_3x3x3"] == 7
    assert m["receptive_field_matches_empirical"] is True
    losses = m["plain_vs_residual_final_loss"]
    assert set(losses) == {"plain", "residual"}
    # 30 smoke steps: both must have left the neighbourhood of their start but stay plausible
    for v in losses.values():
        assert math.isfinite(v) and 0.5 < v < 3.0, losses
    assert "cifar10" in doc["data"]


# -- the notebook --------------------------------------------------------------------------------------
def test_06_metrics_and_accuracy(notebook_metrics):
    doc = notebook_metrics("06_mnist_cnn_pytorch")
    m = doc["metrics"]
    for key in ("test_acc", "train_acc", "epochs", "train_s", "device"):
        assert key in m, key
    assert m["epochs"] == doc["settings"]["epochs"]
    assert m["device"] in ("cpu", "cuda", "mps")
    assert m["train_s"] > 0
    assert 0.0 <= m["train_acc"] <= 1.0 and 0.0 <= m["test_acc"] <= 1.0
    counts = doc["data"]["mnist"]["counts"]
    assert counts["train"] == doc["settings"]["n_train"] and counts["test"] == doc["settings"]["n_test"]
    if doc["data"]["mnist"]["synthetic"]:
        pytest.skip("MNIST came from the synthetic stand-in: the accuracy expectation is for real digits")
    assert m["test_acc"] > 0.85, f"smoke test accuracy {m['test_acc']:.3f} on real MNIST should exceed 85%"


# ----------------------------------------------------------------------------------------------
# The notebooks' own smoke runs
# ----------------------------------------------------------------------------------------------
def _check_unit_interval(m, keys):
    for k in keys:
        assert m[k] is None or 0.0 <= m[k] <= 1.0, (k, m[k])


def _check_lessons(doc, ids):
    """The lessons a notebook states: the expected ids, each a claim, a boolean and its evidence."""
    lessons = doc["lessons"]
    assert {le["id"] for le in lessons} == ids
    assert 2 <= len(lessons) <= 5
    for le in lessons:
        assert isinstance(le["holds"], bool)
        assert len(le["claim"]) > 20 and re.search(r"\d", le["evidence"]), le


def test_07_metrics(notebook_metrics):
    doc = notebook_metrics("07_monkeypox_classifier")
    m = doc["metrics"]
    assert set(METRIC_KEYS["07_monkeypox_classifier"]) <= set(m)
    _check_unit_interval(m, ["val_acc", "test_acc", "sensitivity", "specificity", "precision", "f1", "auc",
                             "random_split_test_acc", "patient_split_test_acc", "aug_test_acc"])
    assert -1.0 <= m["mcc"] <= 1.0
    assert m["test_acc"] == m["patient_split_test_acc"]
    assert m["epoch_s_plain"] > 0 and m["epoch_s_cache_prefetch"] > 0
    assert m["cache_prefetch_speedup"] == pytest.approx(m["epoch_s_plain"] / m["epoch_s_cache_prefetch"])
    # the lesson times a light network; section 6's network is timed the same way, for comparison
    assert m["network_cache_prefetch_speedup"] == pytest.approx(
        m["network_epoch_s_plain"] / m["network_epoch_s_cache_prefetch"])
    assert m["n_patients_train"] > m["n_patients_test"] > 0
    # sensitivity ... mcc and the confusion matrix are at the threshold chosen on validation
    assert 0.0 <= m["threshold"] <= 1.0 and "validation" in m["threshold_rule"]
    tn, fp = m["confusion_matrix"][0]
    fn, tp = m["confusion_matrix"][1]
    assert m["sensitivity"] == pytest.approx(tp / (tp + fn)) if tp + fn else True
    assert m["specificity"] == pytest.approx(tn / (tn + fp)) if tn + fp else True
    assert math.isnan(m["pretrained_baseline_auc"]) or 0.0 <= m["pretrained_baseline_auc"] <= 1.0
    _check_lessons(doc, {"scratch_learns", "operating_point", "pretrained_knows_more", "cache_prefetch_pays"})
    lessons = {le["id"]: le for le in doc["lessons"]}
    # each lesson is computed from the metrics it names (smoke cannot show the lessons themselves)
    assert lessons["operating_point"]["holds"] == (m["sensitivity"] > 0 and m["specificity"] > 0)
    assert lessons["cache_prefetch_pays"]["holds"] == (m["cache_prefetch_speedup"] >= 1.5)
    # both models are judged over patient-grouped folds: one AUC per fold, the lesson on their mean
    assert len(m["cv_auc_folds"]) == m["n_folds"] >= 2
    assert m["cv_auc_mean"] == pytest.approx(sum(m["cv_auc_folds"]) / m["n_folds"])
    assert all(0.0 <= a <= 1.0 for a in m["cv_auc_folds"])
    assert lessons["scratch_learns"]["holds"] == (m["cv_auc_mean"] >= 0.75)
    if not math.isnan(m["pretrained_baseline_auc"]):
        assert lessons["pretrained_knows_more"]["holds"] == (
            min(m["pretrained_baseline_auc"], m["pretrained_cv_auc_mean"]) >= 0.85
            and m["pretrained_baseline_auc"] > m["auc"] and m["pretrained_cv_auc_mean"] > m["cv_auc_mean"])
    if doc["data"]["monkeypox_msld"]["real"]:
        assert m["n_bad_files_skipped"] == 0        # the MSLD originals are all clean
        assert m["leaked_test_images_random_split"] > 0  # the naive split leaks patients


def test_08_metrics(notebook_metrics):
    doc = notebook_metrics("08_breast_histopathology")
    m = doc["metrics"]
    assert set(METRIC_KEYS["08_breast_histopathology"]) <= set(m)
    _check_unit_interval(m, ["majority_baseline_acc", "test_acc", "balanced_acc", "sensitivity", "specificity",
                             "f1", "auc"])
    assert m["majority_baseline_acc"] >= 0.5
    assert m["n_patients_train"] > m["n_patients_test"] > 0
    tn, fp = m["confusion_matrix"][0]
    fn, tp = m["confusion_matrix"][1]
    assert m["balanced_acc"] == pytest.approx((tp / (tp + fn) + tn / (tn + fp)) / 2)
    assert 1 <= m["best_epoch"] <= m["epochs_run"] <= doc["settings"]["epochs"]
    _check_unit_interval(m, ["unweighted_sensitivity", "unweighted_specificity", "youden_threshold_val"])
    _check_lessons(doc, {"beats_baseline", "class_weights_raise_sensitivity", "checkpoint_not_last_epoch"})
    lessons = {le["id"]: le for le in doc["lessons"]}
    assert lessons["checkpoint_not_last_epoch"]["holds"] == (m["best_epoch"] < m["epochs_run"])
    assert lessons["class_weights_raise_sensitivity"]["holds"] == (
        m["sensitivity"] > m["unweighted_sensitivity"] and m["specificity"] <= m["unweighted_specificity"])
    if doc["data"]["breast_histopathology_idc"]["real"] and doc["settings"].get("max_patients") is None:
        assert 0.6 <= m["majority_baseline_acc"] <= 0.9  # about 3 in 4 patches are negative


def test_notebook_09_metrics(notebook_metrics):
    doc = notebook_metrics("09_cats_vs_dogs_augmentation")
    m = doc["metrics"]
    assert m["params_scratch"] == 3_453_121
    assert m["params_gap"] == 97_569
    for k in ("scratch_test_acc", "aug_dropout_test_acc", "gap_test_acc"):
        assert 0.0 <= m[k] <= 1.0
    assert isinstance(m["n_corrupt_skipped"], int) and m["n_corrupt_skipped"] >= 0
    counts = next(iter(doc["data"].values()))["counts"]
    s = doc["settings"]
    assert counts["train"] == 2 * s["n_train"] and counts["test"] == 2 * s["n_test"]
    if _real(doc, "dogs_vs_cats") or _real(doc, "cats_and_dogs_filtered"):
        assert m["n_corrupt_skipped"] == 0      # ids 0..1000 of Kaggle's folder are all readable
    from course_utils.setup.artifacts import find_artifact

    out = Path(os.environ["COURSE_OUTPUT_DIR"])
    assert (out / "cats_dogs_gap.keras").exists()
    path, record = find_artifact("09_gap_model", out)
    assert path.suffix == ".keras" and record["notebook"] == "09_cats_vs_dogs_augmentation"
    assert record["profile"] == doc["profile"] and record["seed"] == doc["seed"]
    assert record["metrics"]["test_acc"] == pytest.approx(m["gap_test_acc"], abs=1e-4)
    assert re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", record["created"])
    for k in ("scratch_train_val_gap", "aug_train_val_gap"):
        assert -1.0 <= m[k] <= 1.0
    assert 1 <= m["scratch_best_epoch"] <= s["epochs"]
    assert m["params_gap_trained"] < m["params_scratch_trained"]
    lessons = {le["id"]: le for le in doc["lessons"]}
    assert set(lessons) == {"scratch_overfits", "aug_narrows_gap", "aug_beats_scratch", "gap_model_good"}
    for le in lessons.values():
        assert isinstance(le["holds"], bool) and re.search(r"\d", le["evidence"])
    assert lessons["scratch_overfits"]["holds"] == (m["scratch_train_val_gap"] >= 0.10)
    assert lessons["aug_beats_scratch"]["holds"] == (m["aug_dropout_test_acc"] >= m["scratch_test_acc"] + 0.03)








@pytest.mark.slow
@pytest.mark.parametrize("stem", STEMS)
def test_smoke_run_writes_complete_metrics(stem, notebook_metrics):
    doc = notebook_metrics(stem)
    assert doc["notebook"] == stem and doc["profile"] == "smoke"
    missing = [k for k in METRIC_KEYS[stem] if k not in doc["metrics"]]
    assert not missing, f"metrics missing: {missing}"
    for key in ("settings", "data", "timings", "environment", "seed", "data_source", "synthetic"):
        assert key in doc
    for name, d in doc["data"].items():
        assert d["source"] in ("data_dir", "cache", "mirror", "download", "package", "synthetic", "unavailable"), name
        assert d["synthetic"] == (d["source"] == "synthetic")
    assert doc["timings"]["total_s"] > 0  # reported (the smoke budget is a target, not an assertion)


DEMO_OUTPUT = [[[1.0, 2.0], [2.0, 0.0], [9.0, 2.0]],
               [[8.0, 4.0], [12.0, -3.0], [12.0, -2.0]],
               [[7.0, -2.0], [8.0, -3.0], [11.0, -5.0]]]
