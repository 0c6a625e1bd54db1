"""The profile table: every per-notebook setting for every profile, in one place.

Taught in 00_setup. Profiles:

* ``smoke``  -- CI: tiny data, 1-2 epochs, small images; each notebook under 60 s on 2 CPU cores.
* ``laptop`` -- real data, sizes chosen so each notebook finishes within 15 minutes on 2 CPU
  cores and 8 GB of memory.
* ``full``   -- the original tutorials' settings (image sizes, epochs, splits), meant for a GPU.
* ``auto``   -- ``$COURSE_PROFILE`` if set, else ``full`` with a GPU, else ``laptop``.

Any setting can be overridden from a notebook's ``parameters`` cell (or ``papermill -p``):
a knob left at ``None`` takes the value from this table.
"""
from __future__ import annotations

import os
from copy import deepcopy

PROFILE_NAMES = ("smoke", "laptop", "full")

# Settings every notebook gets unless it says otherwise.
COMMON = {
    "smoke": {"deterministic": True},
    "laptop": {"deterministic": True},
    "full": {"deterministic": False},
}

# notebook stem -> profile -> settings.  Keep the keys of one notebook the same in all profiles.
TABLE: dict[str, dict[str, dict]] = {
    "00_setup": {
        "smoke": {"prefetch": False},
        "laptop": {"prefetch": False},
        "full": {"prefetch": False},
    },
    "01_knn_cifar10": {
        "smoke": {"n_train": 1000, "n_test": 200, "k_choices": [1, 3, 5, 8, 10, 12, 15, 20, 50, 100],
                  "num_folds": 5, "timing_n_test": 200},
        "laptop": {"n_train": 5000, "n_test": 500, "k_choices": [1, 3, 5, 8, 10, 12, 15, 20, 50, 100],
                   "num_folds": 5, "timing_n_test": 500},
        "full": {"n_train": 5000, "n_test": 500, "k_choices": [1, 3, 5, 8, 10, 12, 15, 20, 50, 100],
                 "num_folds": 5, "timing_n_test": 500},
    },
    "02_linear_scores": {
        "smoke": {"n_train": 500, "sgd_steps": 50},
        "laptop": {"n_train": 5000, "sgd_steps": 500},
        "full": {"n_train": 49000, "sgd_steps": 1500},
    },
    "03_svm_softmax_losses": {
        "smoke": {"n_train": 500, "n_val": 100, "n_test": 100, "num_iters": 300, "batch_size": 100,
                  "learning_rates": [5e-7], "regularization_strengths": [2.5e4]},
        "laptop": {"n_train": 9000, "n_val": 1000, "n_test": 1000, "num_iters": 1500, "batch_size": 200,
                   "learning_rates": [1e-7, 5e-7], "regularization_strengths": [1e4, 2.5e4, 5e4]},
        "full": {"n_train": 49000, "n_val": 1000, "n_test": 1000, "num_iters": 1500, "batch_size": 200,
                 "learning_rates": [1e-7, 5e-7], "regularization_strengths": [2.5e4, 5e4]},
    },
    "04_convolution_by_hand": {
        "smoke": {"timing_batch": 8, "timing_repeats": 1},
        "laptop": {"timing_batch": 32, "timing_repeats": 3},
        "full": {"timing_batch": 32, "timing_repeats": 3},
    },
    "05_cnn_architectures": {
        "smoke": {"depth_experiment_steps": 30, "depth_experiment_n": 256, "depth_experiment_blocks": 8,
                  "depth_experiment_width": 8, "depth_experiment_batch": 32, "depth_experiment_threads": 1},
        "laptop": {"depth_experiment_steps": 300, "depth_experiment_n": 2000, "depth_experiment_blocks": 16,
                   "depth_experiment_width": 8, "depth_experiment_batch": 32, "depth_experiment_threads": 1},
        "full": {"depth_experiment_steps": 1000, "depth_experiment_n": 10000, "depth_experiment_blocks": 20,
                 "depth_experiment_width": 16, "depth_experiment_batch": 128, "depth_experiment_threads": None},
    },
    "06_mnist_cnn_pytorch": {
        "smoke": {"n_train": 6000, "n_test": 1000, "epochs": 1, "batch_size": 64, "lr": 1e-3, "eval_every": 30},
        "laptop": {"n_train": 60000, "n_test": 10000, "epochs": 2, "batch_size": 64, "lr": 1e-3, "eval_every": 300},
        "full": {"n_train": 60000, "n_test": 10000, "epochs": 3, "batch_size": 64, "lr": 1e-3, "eval_every": 100},
    },
    "07_monkeypox_classifier": {
        "smoke": {"image_size": 48, "batch_size": 16, "epochs": 2, "max_images_per_class": 24, "patience": 2,
                  "learning_rate": 2e-3, "lr_schedule": None, "timing_epochs": 1,
                  "split_fractions": [0.6, 0.2, 0.2], "widths": [8, 16, 32], "dropout": 0.3,
                  "pretrained_image_size": 64},
        "laptop": {"image_size": 96, "batch_size": 32, "epochs": 40, "max_images_per_class": None, "patience": 40,
                   "learning_rate": 2e-3, "lr_schedule": None, "timing_epochs": 2,
                   "split_fractions": [0.6, 0.2, 0.2], "widths": [16, 32, 64, 128], "dropout": 0.3,
                   "pretrained_image_size": 224},
        "full": {"image_size": 224, "batch_size": 32, "epochs": 60, "max_images_per_class": None, "patience": 20,
                 "learning_rate": 2e-3, "lr_schedule": "plateau", "timing_epochs": 3,
                 "split_fractions": [0.6, 0.2, 0.2], "widths": [32, 64, 128, 256], "dropout": 0.3,
                 "pretrained_image_size": 224},
    },
    "08_breast_histopathology": {
        "smoke": {"image_size": 50, "batch_size": 64, "epochs": 2, "max_patients": 16, "patience": 2,
                  "learning_rate": 2e-3, "decay_rate": 0.9, "split_fractions": [0.6, 0.2, 0.2]},
        "laptop": {"image_size": 50, "batch_size": 64, "epochs": 12, "max_patients": None, "patience": 4,
                   "learning_rate": 2e-3, "decay_rate": 0.9, "split_fractions": [0.65, 0.15, 0.2]},
        "full": {"image_size": 50, "batch_size": 256, "epochs": 40, "max_patients": None, "patience": 6,
                 "learning_rate": 1e-3, "decay_rate": 0.9, "split_fractions": [0.7, 0.15, 0.15]},
    },
    "09_cats_vs_dogs_augmentation": {
        "smoke": {"image_size": 64, "n_train": 40, "n_val": 20, "n_test": 20, "epochs": 1, "aug_epochs": 1,
                  "gap_epochs": 1, "gap_widths": [8, 16, 32, 64], "gap_learning_rate": 2e-3, "batch_size": 20,
                  "learning_rate": 1e-3},
        "laptop": {"image_size": 64, "n_train": 500, "n_val": 250, "n_test": 250, "epochs": 25, "aug_epochs": 60,
                   "gap_epochs": 40, "gap_widths": [32, 64, 128, 256], "gap_learning_rate": 2e-3, "batch_size": 32,
                   "learning_rate": 1e-3},
        "full": {"image_size": 150, "n_train": 1000, "n_val": 500, "n_test": 500, "epochs": 30, "aug_epochs": 100,
                 "gap_epochs": 60, "gap_widths": [32, 64, 128, 256], "gap_learning_rate": 1e-3, "batch_size": 32,
                 "learning_rate": 1e-4},
    },
    "10_transfer_learning": {
        "smoke": {"image_size": 64, "n_train": 40, "n_val": 20, "n_test": 20, "epochs": 1, "feature_epochs": 10, "batch_size": 20,
                  "torch_image_size": 64, "torch_max_per_class": 16, "torch_epochs": 10,
                  "torch_backbone": "efficientnet_lite0", "torch_dataset": "flowers5", "torch_batch_size": 32},
        "laptop": {"image_size": 160, "n_train": 500, "n_val": 250, "n_test": 250, "epochs": 5, "feature_epochs": 20, "batch_size": 32,
                   "torch_image_size": 128, "torch_max_per_class": 200, "torch_epochs": 30,
                   "torch_backbone": "efficientnet_lite0", "torch_dataset": "flowers5", "torch_batch_size": 32},
        "full": {"image_size": 150, "n_train": 1000, "n_val": 500, "n_test": 500, "epochs": 30, "feature_epochs": 30, "batch_size": 32,
                 "torch_image_size": 224, "torch_max_per_class": None, "torch_epochs": 30,
                 "torch_backbone": "resnet18", "torch_dataset": "flowers102", "torch_batch_size": 32},
    },
    "11_fine_tuning": {
        "smoke": {"image_size": 64, "n_train": 40, "n_val": 20, "n_test": 20, "epochs": 1, "batch_size": 20,
                  "torch_image_size": 64, "torch_max_per_class": 16, "torch_epochs": 1,
                  "torch_head_epochs": 10, "torch_backbone": "efficientnet_lite0", "torch_dataset": "flowers5", "torch_batch_size": 32},
        "laptop": {"image_size": 160, "n_train": 500, "n_val": 250, "n_test": 250, "epochs": 3, "batch_size": 32,
                   "torch_image_size": 128, "torch_max_per_class": 200, "torch_epochs": 2,
                   "torch_head_epochs": 30, "torch_backbone": "efficientnet_lite0", "torch_dataset": "flowers5", "torch_batch_size": 32},
        "full": {"image_size": 150, "n_train": 1000, "n_val": 500, "n_test": 500, "epochs": 30, "batch_size": 32,
                 "torch_image_size": 224, "torch_max_per_class": None, "torch_epochs": 10,
                 "torch_head_epochs": 30, "torch_backbone": "resnet18", "torch_dataset": "flowers102", "torch_batch_size": 32},
    },
    "12_class_activation_maps": {
        "smoke": {"image_size": 64, "n_train": 40, "n_val": 20, "n_test": 20, "epochs": 1, "batch_size": 20,
                  "torch_image_size": 64, "torch_max_per_class": 16, "torch_epochs": 1,
                  "torch_head_epochs": 10, "torch_backbone": "efficientnet_lite0", "torch_dataset": "flowers5", "torch_batch_size": 32},
        "laptop": {"image_size": 160, "n_train": 500, "n_val": 250, "n_test": 250, "epochs": 5, "batch_size": 32,
                   "torch_image_size": 128, "torch_max_per_class": 100, "torch_epochs": 1,
                   "torch_head_epochs": 30, "torch_backbone": "efficientnet_lite0", "torch_dataset": "flowers5", "torch_batch_size": 32},
        "full": {"image_size": 150, "n_train": 1000, "n_val": 500, "n_test": 500, "epochs": 30, "batch_size": 32,
                 "torch_image_size": 224, "torch_max_per_class": None, "torch_epochs": 5,
                 "torch_head_epochs": 30, "torch_backbone": "resnet18", "torch_dataset": "flowers102", "torch_batch_size": 32},
    },
}

#: Metric keys each notebook must write (from its issue); the tests check them.
METRIC_KEYS: dict[str, list[str]] = {
    "00_setup": ["n_torch_gpus", "n_tf_gpus", "datasets_in_manifest"],
    "01_knn_cifar10": ["acc_k1", "best_k", "best_k_test_acc", "dist_two_loops_s", "dist_one_loop_s",
                       "dist_no_loops_s", "speedup_no_loops_vs_two_loops", "sklearn_agreement"],
    "02_linear_scores": ["toy_scores", "toy_predicted_class"],
    "03_svm_softmax_losses": ["svm_toy_loss", "softmax_toy_loss", "gradcheck_max_rel_error_svm",
                              "gradcheck_max_rel_error_softmax", "svm_val_acc", "softmax_val_acc",
                              "svm_test_acc", "softmax_test_acc", "vectorized_speedup_svm",
                              "vectorized_speedup_softmax"],
    "04_convolution_by_hand": ["conv_demo_output", "conv_max_abs_diff_torch", "conv_max_abs_diff_tf",
                               "maxpool_demo_output", "bn_max_abs_diff_torch", "bn_max_abs_diff_keras",
                               "transposed_max_abs_diff_torch", "transposed_max_abs_diff_keras",
                               "im2col_speedup"],
    "05_cnn_architectures": ["params_seed_monkeypox_cnn", "params_cats_dogs_scratch", "params_vgg16_base_150",
                             "vgg16_base_output_shape", "params_alexnet", "params_vgg16", "params_resnet18",
                             "receptive_field_vgg_3x3x3", "receptive_field_matches_empirical",
                             "plain_vs_residual_final_loss"],
    "06_mnist_cnn_pytorch": ["test_acc", "train_acc", "epochs", "train_s", "device"],
    "07_monkeypox_classifier": ["n_patients_train", "n_patients_test", "val_acc", "test_acc", "sensitivity",
                                "specificity", "precision", "f1", "mcc", "auc", "random_split_test_acc",
                                "patient_split_test_acc", "epoch_s_plain", "epoch_s_cache_prefetch",
                                "aug_test_acc", "n_bad_files_skipped", "cache_prefetch_speedup",
                                "pretrained_baseline_auc", "threshold"],
    "08_breast_histopathology": ["majority_baseline_acc", "test_acc", "balanced_acc", "sensitivity",
                                 "specificity", "f1", "mcc", "auc", "n_patients_train", "n_patients_test",
                                 "best_epoch", "epochs_run", "unweighted_sensitivity", "unweighted_specificity",
                                 "youden_threshold_val"],
    "09_cats_vs_dogs_augmentation": ["n_corrupt_skipped", "scratch_test_acc", "aug_dropout_test_acc",
                                     "gap_test_acc", "params_scratch", "params_gap", "scratch_train_val_gap",
                                     "aug_train_val_gap"],
    "10_transfer_learning": ["keras_backbone", "keras_weights_source", "keras_features_val_acc",
                             "keras_frozen_aug_val_acc", "torch_backbone", "torch_weights_source",
                             "torch_features_val_acc", "chelsea_top1"],
    "11_fine_tuning": ["keras_finetune_test_acc", "keras_trainable_layers", "torch_finetune_val_acc",
                       "torch_finetune_test_acc"],
    "12_class_activation_maps": ["cam_shape", "gradcam_shape", "cam_peak_inside_image", "torch_gradcam_shape",
                                 "torch_cam_peak_inside_image"],
}


class ProfileError(ValueError):
    """An unknown profile or notebook name."""


def resolve_profile_name(profile: str | None, has_gpu: bool) -> tuple[str, str]:
    """Return ``(profile, why)`` for a requested profile; ``auto`` follows the documented rule."""
    requested = (profile or "auto").strip().lower()
    if requested == "auto":
        env = os.environ.get("COURSE_PROFILE", "").strip().lower()
        if env:
            if env not in PROFILE_NAMES:
                raise ProfileError(f"COURSE_PROFILE={env!r} is not one of {PROFILE_NAMES}.")
            return env, "from $COURSE_PROFILE"
        return ("full", "auto: a GPU was found") if has_gpu else ("laptop", "auto: no GPU found")
    if requested not in PROFILE_NAMES:
        raise ProfileError(f"profile {profile!r} is not one of {PROFILE_NAMES + ('auto',)}.")
    return requested, "as requested"


def settings_for(notebook: str, profile: str, overrides: dict | None = None) -> dict:
    """The resolved settings of ``notebook`` under ``profile``; non-None overrides win."""
    if notebook not in TABLE:
        raise ProfileError(f"notebook {notebook!r} has no entry in course_utils.profiles.TABLE "
                           f"(known: {', '.join(TABLE)}).")
    if profile not in PROFILE_NAMES:
        raise ProfileError(f"profile {profile!r} is not one of {PROFILE_NAMES}.")
    settings = deepcopy(COMMON[profile])
    settings.update(deepcopy(TABLE[notebook][profile]))
    for key, value in (overrides or {}).items():
        if value is not None:
            settings[key] = value
    return settings


def table_frame():
    """The whole table as a pandas DataFrame (rows: notebook/setting, columns: profiles)."""
    import pandas as pd

    rows = []
    for nb, profs in TABLE.items():
        for key in profs["smoke"]:
            rows.append({"notebook": nb, "setting": key, **{p: profs[p].get(key) for p in PROFILE_NAMES}})
    return pd.DataFrame(rows).set_index(["notebook", "setting"])
