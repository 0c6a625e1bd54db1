"""The metrics contract: the keys each notebook's metrics file must contain.

``Run.save_metrics`` refuses a metrics file without them, so a renamed metric fails in the
notebook rather than in a dashboard; the results page and the tests read the same list. The
notebooks themselves are listed, in teaching order, in ``_toc.yml`` (read by
:func:`course_utils.tools.runner.toc_notebooks`).
"""
from __future__ import annotations

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
                                "pretrained_baseline_auc", "threshold", "cv_auc_mean",
                                "pretrained_cv_auc_mean"],
    "08_breast_histopathology": ["majority_baseline_acc", "test_acc", "balanced_acc", "sensitivity",
                                 "specificity", "f1", "mcc", "auc", "n_patients_train", "n_patients_test",
                                 "best_epoch", "epochs_run", "unweighted_sensitivity", "unweighted_specificity",
                                 "youden_threshold_val"],
    "09_cats_vs_dogs_augmentation": ["n_corrupt_skipped", "scratch_test_acc", "aug_dropout_test_acc",
                                     "gap_test_acc", "params_scratch", "params_gap", "scratch_train_val_gap",
                                     "aug_train_val_gap"],
    "10_transfer_learning": ["keras_backbone", "keras_weights_source", "keras_features_val_acc",
                             "keras_random_features_val_acc", "keras_frozen_aug_val_acc",
                             "keras_frozen_aug_best_val_acc", "torch_backbone", "torch_weights_source",
                             "torch_features_val_acc", "chelsea_top1"],
    "11_fine_tuning": ["keras_baseline_test_acc", "keras_control_test_acc", "keras_finetune_test_acc",
                       "keras_trainable_layers", "torch_features_test_acc", "torch_control_test_acc",
                       "torch_finetune_val_acc", "torch_finetune_test_acc"],
    "12_class_activation_maps": ["cam_shape", "gradcam_shape", "keras_cam_pointing_acc", "keras_gradcam_pointing_acc",
                                 "torch_gradcam_shape", "torch_gradcam_pointing_acc", "pointing_n_images"],
    "13_data_parallel_training": ["ddp_world_size", "ddp_backend", "ddp_max_param_diff_vs_single",
                                  "ddp_images_per_s", "ddp_resumed_after_failure", "ddp_final_test_acc",
                                  "keras_num_workers", "keras_max_loss_diff_vs_single", "keras_mirrored_replicas",
                                  "keras_mirrored_max_loss_diff_vs_single"],
}
