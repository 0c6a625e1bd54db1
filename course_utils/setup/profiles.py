"""The profile table: every per-notebook setting for every profile, in one place.

Taught in 00_setup. Profiles:

* ``smoke``  -- CI: tiny data, 1-2 epochs, small images; each notebook under 60 s on 2 CPU cores.
* ``laptop`` -- real data, sizes chosen so each notebook finishes within 15 minutes on 2 CPU
  cores and 8 GB of memory.
* ``full``   -- the original tutorials' settings (image sizes, epochs, splits), meant for a GPU.
* ``auto``   -- ``$COURSE_PROFILE`` if set, else ``full`` with a GPU, else ``laptop``.

Any setting can be overridden from a notebook's ``parameters`` cell (or ``papermill -p``):
a knob left at ``None`` takes the value from this table.

``tiny`` (``tiny = True`` in the parameters cell, ``python -m course_utils run --tiny``) keeps a
profile's code paths and model choices -- backbones, datasets, threads, determinism, learning
rates -- and cuts only the amount of work to seconds: see :func:`tiny_settings`. It is how the
``full`` profile is tested on a machine without a GPU before a Colab user meets it.
"""
from __future__ import annotations

import math
import numbers
import os
from copy import deepcopy

from course_utils.errors import CourseError

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
                   "num_folds": 5, "timing_n_test": 100},
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
                  "depth_experiment_width": 8, "depth_experiment_batch": 32, "depth_experiment_threads": 1,
                  "depth_experiment_seeds": 2, "depth_experiment_lr": 0.05},
        "laptop": {"depth_experiment_steps": 300, "depth_experiment_n": 2000, "depth_experiment_blocks": 16,
                   "depth_experiment_width": 8, "depth_experiment_batch": 32, "depth_experiment_threads": 1,
                   "depth_experiment_seeds": 3, "depth_experiment_lr": 0.05},
        "full": {"depth_experiment_steps": 1000, "depth_experiment_n": 10000, "depth_experiment_blocks": 20,
                 "depth_experiment_width": 16, "depth_experiment_batch": 128, "depth_experiment_threads": None,
                 "depth_experiment_seeds": 3, "depth_experiment_lr": 0.05},
    },
    "06_mnist_cnn_pytorch": {
        "smoke": {"n_train": 6000, "n_test": 1000, "epochs": 1, "batch_size": 64, "lr": 1e-3, "eval_every": 30},
        "laptop": {"n_train": 60000, "n_test": 10000, "epochs": 2, "batch_size": 64, "lr": 1e-3, "eval_every": 300},
        "full": {"n_train": 60000, "n_test": 10000, "epochs": 3, "batch_size": 64, "lr": 1e-3, "eval_every": 100},
    },
    "07_monkeypox_classifier": {
        "smoke": {"image_size": 48, "batch_size": 16, "epochs": 2, "max_images_per_class": 24, "patience": None,
                  "learning_rate": 2e-3, "lr_schedule": "exponential", "timing_epochs": 1, "timing_widths": [4, 8],
                  "timing_batch_size": 16,
                  "split_fractions": [0.6, 0.2, 0.2], "widths": [8, 16, 32], "dropout": 0.3,
                  "pretrained_image_size": 64, "n_folds": 2, "lr_decay": 0.1, "test_time_augmentation": True},
        "laptop": {"image_size": 64, "batch_size": 16, "epochs": 120, "max_images_per_class": None, "patience": None,
                   "learning_rate": 2e-3, "lr_schedule": "exponential", "timing_epochs": 5, "timing_widths": [4, 8],
                   "timing_batch_size": 64,
                   "split_fractions": [0.6, 0.2, 0.2], "widths": [8, 16, 32, 64], "dropout": 0.3,
                   "pretrained_image_size": 224, "n_folds": 5, "lr_decay": 0.033, "test_time_augmentation": True},
        "full": {"image_size": 224, "batch_size": 32, "epochs": 60, "max_images_per_class": None, "patience": 20,
                 "learning_rate": 2e-3, "lr_schedule": "plateau", "timing_epochs": 4, "timing_widths": [4, 8],
                 "timing_batch_size": 64,
                 "split_fractions": [0.6, 0.2, 0.2], "widths": [32, 64, 128, 256], "dropout": 0.3,
                 "pretrained_image_size": 224, "n_folds": 5, "lr_decay": 0.1, "test_time_augmentation": True},
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
                  "gap_epochs": 1, "gap_image_size": 64, "gap_stem_stride": 2, "gap_widths": [8, 16, 32, 64],
                  "gap_learning_rate": 2e-3, "batch_size": 20,
                  "learning_rate": 1e-3},
        "laptop": {"image_size": 64, "n_train": 700, "n_val": 150, "n_test": 150, "epochs": 25, "aug_epochs": 60,
                   "gap_epochs": 30, "gap_image_size": 128, "gap_stem_stride": 2, "gap_widths": [32, 64, 128, 256],
                   "gap_learning_rate": 2e-3, "batch_size": 32,
                   "learning_rate": 1e-3},
        "full": {"image_size": 150, "n_train": 1000, "n_val": 500, "n_test": 500, "epochs": 30, "aug_epochs": 100,
                 "gap_epochs": 60, "gap_image_size": 150, "gap_stem_stride": 1, "gap_widths": [32, 64, 128, 256],
                 "gap_learning_rate": 1e-3, "batch_size": 32,
                 "learning_rate": 1e-4},
    },
    "10_transfer_learning": {
        "smoke": {"image_size": 64, "n_train": 40, "n_val": 20, "n_test": 20, "epochs": 1, "feature_epochs": 10,
                  "batch_size": 20, "head_learning_rate": 1e-3,
                  "torch_image_size": 64, "torch_max_per_class": 16, "torch_epochs": 10,
                  "torch_backbone": "efficientnet_lite0", "torch_dataset": "hymenoptera", "torch_batch_size": 32,
                  "torch_head_learning_rate": 1e-3},
        "laptop": {"image_size": 160, "n_train": 500, "n_val": 250, "n_test": 250, "epochs": 5, "feature_epochs": 20,
                   "batch_size": 32, "head_learning_rate": 1e-3,
                   "torch_image_size": 224, "torch_max_per_class": None, "torch_epochs": 30,
                   "torch_backbone": "efficientnet_lite0", "torch_dataset": "hymenoptera", "torch_batch_size": 32,
                   "torch_head_learning_rate": 1e-3},
        "full": {"image_size": 150, "n_train": 1000, "n_val": 500, "n_test": 500, "epochs": 30, "feature_epochs": 30,
                 "batch_size": 32, "head_learning_rate": 1e-3,
                 "torch_image_size": 224, "torch_max_per_class": None, "torch_epochs": 30,
                 "torch_backbone": "resnet18", "torch_dataset": "flowers102", "torch_batch_size": 32,
                 "torch_head_learning_rate": 1e-3},
    },
    "11_fine_tuning": {
        "smoke": {"image_size": 64, "n_train": 40, "n_val": 20, "n_test": 20, "epochs": 1, "batch_size": 20,
                  "head_epochs": 1, "head_learning_rate": 1e-3, "finetune_lr": 1e-4,
                  "torch_image_size": 64, "torch_max_per_class": 16, "torch_epochs": 1, "torch_views": 1,
                  "torch_finetune_lr": 1e-4, "torch_val_from_train": 0.25,
                  "torch_head_epochs": 10, "torch_backbone": "efficientnet_lite0", "torch_dataset": "hymenoptera",
                  "torch_batch_size": 32},
        "laptop": {"image_size": 160, "n_train": 500, "n_val": 250, "n_test": 250, "epochs": 4, "batch_size": 32,
                   "head_epochs": 5, "head_learning_rate": 1e-3, "finetune_lr": 1e-4,
                   "torch_image_size": 224, "torch_max_per_class": None, "torch_epochs": 8, "torch_views": 4,
                   "torch_finetune_lr": 1e-4, "torch_val_from_train": 0.25,
                   "torch_head_epochs": 30, "torch_backbone": "efficientnet_lite0", "torch_dataset": "hymenoptera",
                   "torch_batch_size": 32},
        "full": {"image_size": 150, "n_train": 1000, "n_val": 500, "n_test": 500, "epochs": 30, "batch_size": 32,
                 "head_epochs": 30, "head_learning_rate": 1e-3, "finetune_lr": 1e-5,
                 "torch_image_size": 224, "torch_max_per_class": None, "torch_epochs": 10, "torch_views": 4,
                 "torch_finetune_lr": 1e-4, "torch_val_from_train": 0.25,
                 "torch_head_epochs": 30, "torch_backbone": "resnet18", "torch_dataset": "flowers102",
                 "torch_batch_size": 32},
    },
    "12_class_activation_maps": {
        "smoke": {"image_size": 64, "n_train": 40, "n_val": 20, "n_test": 20, "epochs": 1, "batch_size": 20,
                  "pointing_n": 8, "learning_rate": 1e-3,
                  "torch_image_size": 64, "torch_max_per_class": 16,
                  "torch_head_epochs": 10, "torch_backbone": "efficientnet_lite0", "torch_dataset": "hymenoptera",
                  "torch_batch_size": 32},
        "laptop": {"image_size": 160, "n_train": 500, "n_val": 250, "n_test": 250, "epochs": 5, "batch_size": 32,
                   "pointing_n": 200, "learning_rate": 1e-3,
                   "torch_image_size": 224, "torch_max_per_class": None,
                   "torch_head_epochs": 30, "torch_backbone": "efficientnet_lite0", "torch_dataset": "hymenoptera",
                   "torch_batch_size": 32},
        "full": {"image_size": 150, "n_train": 1000, "n_val": 500, "n_test": 500, "epochs": 30, "batch_size": 32,
                 "pointing_n": 200, "learning_rate": 1e-3,
                 "torch_image_size": 224, "torch_max_per_class": None,
                 "torch_head_epochs": 30, "torch_backbone": "resnet18", "torch_dataset": "flowers102",
                 "torch_batch_size": 32},
    },
    "13_data_parallel_training": {
        # batch_size is per rank: the global batch is batch_size x world size.
        "smoke": {"n_train": 2048, "n_test": 500, "epochs": 2, "batch_size": 32, "lr": 0.05,
                  "equivalence_steps": 5, "keras_n": 1024, "keras_steps": 10, "keras_global_batch": 64,
                  "launch_timeout_s": 300},
        "laptop": {"n_train": 20000, "n_test": 5000, "epochs": 2, "batch_size": 32, "lr": 0.05,
                   "equivalence_steps": 5, "keras_n": 8192, "keras_steps": 50, "keras_global_batch": 64,
                   "launch_timeout_s": 900},
        "full": {"n_train": 60000, "n_test": 10000, "epochs": 3, "batch_size": 64, "lr": 0.05,
                 "equivalence_steps": 5, "keras_n": 60000, "keras_steps": 200, "keras_global_batch": 256,
                 "launch_timeout_s": 1800},
    },
}


class ProfileError(CourseError, ValueError):
    """An unknown profile or notebook name."""


class SettingError(CourseError, ValueError):
    """A parameter whose value cannot work (wrong type, zero or negative size...)."""


def _is_int(v) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _is_real(v) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(float(v))


def _describe(v) -> str:
    return f"{v!r} ({type(v).__name__})"


def check_knobs(notebook: str, knobs: dict | None) -> None:
    """Check each notebook knob that is set (not ``None``) against the type of the values the
    profile table gives it: whole numbers stay whole and >= 1, numbers stay positive, text
    stays text, lists stay lists. Knobs the table does not list are left to the notebook.
    Raises :class:`SettingError` naming the setting and what to do."""
    profs = TABLE.get(notebook)
    if not profs:
        return
    for key, value in (knobs or {}).items():
        examples = [p[key] for p in [*profs.values(), *COMMON.values()] if key in p and p[key] is not None]
        if value is None or not examples:
            continue
        example = examples[0]
        fix = (f"set {key} to a value like {example!r} (the {', '.join(p for p in PROFILE_NAMES if key in profs[p])} "
               f"profiles use {', '.join(repr(profs[p].get(key)) for p in PROFILE_NAMES)}), or to None to take "
               f"the profile's value.")
        problem = None
        if all(isinstance(e, bool) for e in examples):
            if not isinstance(value, bool):
                problem = "must be True or False"
        elif all(_is_int(e) for e in examples):
            if not _is_int(value):
                problem = "must be a whole number"
            elif value < 1:
                problem = "must be at least 1"
        elif all(_is_real(e) for e in examples):
            if not _is_real(value):
                problem = "must be a number"
            elif all(e > 0 for e in examples) and value <= 0:
                problem = "must be greater than 0"
        elif all(isinstance(e, str) for e in examples):
            if not isinstance(value, str):
                problem = "must be text"
        elif all(isinstance(e, (list, tuple)) for e in examples):
            if not isinstance(value, (list, tuple)) or not value:
                problem = "must be a non-empty list"
            elif all(_is_real(x) for e in examples for x in e) and not all(_is_real(x) and x >= 0 for x in value):
                problem = "must be a list of numbers >= 0"
        if problem:
            raise SettingError(f"{notebook}: {key}={_describe(value)} {problem}.", setting=key, fix=fix)


def check_profile_name(profile) -> None:
    """Raise :class:`ProfileError` unless ``profile`` is a known profile or ``auto``."""
    if not isinstance(profile, str) or profile.strip().lower() not in PROFILE_NAMES + ("auto",):
        raise ProfileError(f"profile={profile!r} is not a profile.", setting="profile",
                           fix=f"use one of {', '.join(PROFILE_NAMES + ('auto',))} (see 00_setup).")
# Knobs that are the same in every profile (choices and folders, not sizes), merged into TABLE so
# that each notebook's knobs are all listed in one table. None means "the notebook's default".
SAME_IN_EVERY_PROFILE: dict[str, dict] = {
    "07_monkeypox_classifier": {"positive_class": None},
    "10_transfer_learning": {"keras_backbone": None, "run_keras": True, "run_torch": True, "torch_data_dir": None},
    "11_fine_tuning": {"keras_backbone": None, "run_keras": True, "run_torch": True, "torch_data_dir": None},
    "12_class_activation_maps": {"keras_backbone": None, "run_keras": True, "run_torch": True, "pointing_dir": None,
                                 "torch_data_dir": None, "cam_input_size": 224},
}
for _stem, _knobs in SAME_IN_EVERY_PROFILE.items():
    for _profile in PROFILE_NAMES:
        TABLE[_stem][_profile].update(_knobs)


def resolve_profile_name(profile: str | None, has_gpu: bool) -> tuple[str, str]:
    """Return ``(profile, why)`` for a requested profile; ``auto`` follows the documented rule."""
    requested = (profile or "auto").strip().lower()
    if requested == "auto":
        env = os.environ.get("COURSE_PROFILE", "").strip().lower()
        if env:
            if env not in PROFILE_NAMES:
                raise ProfileError(f"COURSE_PROFILE={env!r} is not one of {PROFILE_NAMES}.",
                                   setting="COURSE_PROFILE", fix="unset it or set it to smoke, laptop or full.")
            return env, "from $COURSE_PROFILE"
        return ("full", "auto: a GPU was found") if has_gpu else ("laptop", "auto: no GPU found")
    if requested not in PROFILE_NAMES:
        check_profile_name(profile)
    return requested, "as requested"


def settings_for(notebook: str, profile: str, overrides: dict | None = None, tiny: bool = False) -> dict:
    """The resolved settings of ``notebook`` under ``profile``; non-None overrides win; ``tiny``
    then cuts the amount of work (:func:`tiny_settings`)."""
    if notebook not in TABLE:
        raise ProfileError(f"notebook {notebook!r} has no entry in course_utils.setup.profiles.TABLE "
                           f"(known: {', '.join(TABLE)}).")
    if profile not in PROFILE_NAMES:
        raise ProfileError(f"profile {profile!r} is not one of {PROFILE_NAMES}.")
    settings = deepcopy(COMMON[profile])
    settings.update(deepcopy(TABLE[notebook][profile]))
    for key, value in (overrides or {}).items():
        if value is not None:
            settings[key] = value
    return tiny_settings(notebook, settings) if tiny else settings


#: Settings that measure an amount of work, recognised by name: tiny cuts them (and nothing else).
_TINY_EPOCHS = ("epochs",)                                 # ... -> 1
_TINY_PREFIXES = ("n_", "max_", "timing_")                 # ... -> min(profile, smoke)
_TINY_SUFFIXES = ("_n", "_steps", "steps", "num_iters", "image_size", "batch", "batch_size",
                  "_per_class", "eval_every")
#: Per-notebook cuts the name rule cannot derive (values a tiny run must use whatever the profile).
TINY_OVERRIDES: dict[str, dict] = {
    "05_cnn_architectures": {"depth_experiment_steps": 4, "depth_experiment_n": 128},
    "06_mnist_cnn_pytorch": {"n_train": 1000, "n_test": 200, "eval_every": 5},
    "07_monkeypox_classifier": {"max_images_per_class": 12},
    "08_breast_histopathology": {"max_patients": 8},
    "09_cats_vs_dogs_augmentation": {"n_train": 20, "n_val": 10, "n_test": 10},
    "10_transfer_learning": {"n_train": 20, "n_val": 10, "n_test": 10, "torch_max_per_class": 6},
    "11_fine_tuning": {"n_train": 20, "n_val": 10, "n_test": 10, "torch_max_per_class": 6},
    "12_class_activation_maps": {"n_train": 20, "n_val": 10, "n_test": 10, "torch_max_per_class": 6},
}


def _cut(key: str) -> str | None:
    if key.endswith(_TINY_EPOCHS):
        return "epochs"
    if key.startswith(_TINY_PREFIXES) or key.endswith(_TINY_SUFFIXES):
        return "amount"
    return None


def tiny_settings(notebook: str, settings: dict) -> dict:
    """``settings`` (one profile's, overrides applied) cut to a seconds-long run.

    Derived from the settings' names, not written per notebook: every ``*epochs`` becomes 1;
    every amount of work (``n_*``, ``max_*``, ``timing_*``, ``*image_size``, ``*_steps``,
    ``*batch_size``, ``*_per_class``, ``eval_every``) becomes the smaller of the profile's value
    and the ``smoke`` profile's (``None``, "all of it", counts as larger than anything), then
    :data:`TINY_OVERRIDES` cuts further where smoke itself takes more than seconds. Everything
    else -- backbones, datasets, learning rates, widths and depths, threads, determinism -- is
    the profile's own, so the profile's code paths run.
    """
    smoke = {**COMMON["smoke"], **TABLE[notebook]["smoke"]}
    out = dict(settings)
    for key, value in settings.items():
        kind = _cut(key)
        if kind is None or isinstance(value, bool) or not isinstance(value, (int, type(None))):
            continue
        if kind == "epochs":
            out[key] = 1
            continue
        small = smoke.get(key)
        if isinstance(small, int) and not isinstance(small, bool):
            out[key] = small if value is None else min(value, small)
    for key, value in TINY_OVERRIDES.get(notebook, {}).items():
        if key in out:
            current = out[key]
            out[key] = value if current is None else min(current, value)
    return out


def table_frame():
    """The whole table as a pandas DataFrame (rows: notebook/setting, columns: profiles)."""
    import pandas as pd

    rows = []
    for nb, profs in TABLE.items():
        for key in profs["smoke"]:
            rows.append({"notebook": nb, "setting": key, **{p: profs[p].get(key) for p in PROFILE_NAMES}})
    return pd.DataFrame(rows).set_index(["notebook", "setting"])
