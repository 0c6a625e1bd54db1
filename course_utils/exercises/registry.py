"""The exercise registry: one :class:`Exercise` per function a learner writes in a notebook.

Listing exercises imports nothing but this module (no PyTorch, no TensorFlow): checkers and
references are named by strings and imported only when an exercise is checked or its solution
shown. Where each reference lives is written once, in :data:`MODULES`.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass

#: Notebook stems by number.
NOTEBOOKS = {
    "01": "01_knn_cifar10", "02": "02_linear_scores", "03": "03_svm_softmax_losses",
    "04": "04_convolution_by_hand", "05": "05_cnn_architectures", "06": "06_mnist_cnn_pytorch",
    "07": "07_monkeypox_classifier", "08": "08_breast_histopathology",
    "09": "09_cats_vs_dogs_augmentation", "10": "10_transfer_learning", "11": "11_fine_tuning",
    "12": "12_class_activation_maps",
}

#: Short module names -> where they may live (first importable wins). The only place to edit
#: when a module moves.
MODULES = {
    "knn": "course_utils.numpy_.knn",
    "linear": "course_utils.numpy_.linear",
    "conv": "course_utils.numpy_.conv",
    "metrics": "course_utils.metrics",
    "torch_train": "course_utils.torch_.train",
    "keras_models": "course_utils.keras_.models",
    "cam": "course_utils.cam",
    "solutions": "course_utils.exercises.solutions",
    "check_numpy": "course_utils.exercises.check_numpy",
    "check_torch": "course_utils.exercises.check_torch",
    "check_metrics": "course_utils.exercises.check_metrics",
    "check_transfer": "course_utils.exercises.check_transfer",
}


def resolve(spec: str):
    """``"module:attr"`` (module a key of :data:`MODULES`) -> the object, imported now."""
    short, attr = spec.split(":")
    return getattr(importlib.import_module(MODULES[short]), attr)


@dataclass(frozen=True)
class Exercise:
    id: str            # "NN.function"
    signature: str     # what the learner writes, e.g. "l2_no_loops(X_test, X_train)"
    reference: str     # "module:attr", module a key of MODULES
    checker: str       # "module:attr"
    summary: str

    @property
    def number(self) -> str:
        return self.id.split(".")[0]

    @property
    def function(self) -> str:
        return self.id.split(".", 1)[1]

    @property
    def notebook(self) -> str:
        return NOTEBOOKS[self.number]

    def reference_fn(self):
        return resolve(self.reference)

    def checker_fn(self):
        return resolve(self.checker)

    def to_dict(self) -> dict:
        return {"id": self.id, "notebook": self.notebook, "function": self.function, "signature": self.signature,
                "summary": self.summary, "reference": self.reference_path()}

    def reference_path(self) -> str:
        """Dotted path of the reference, found without importing it."""
        short, attr = self.reference.split(":")
        return f"{MODULES[short]}.{attr}"


def _ex(id, signature, reference, checker, summary):
    return Exercise(id, signature, reference, checker, summary)


EXERCISES = [
    _ex("01.l2_no_loops", "l2_no_loops(X_test, X_train)", "knn:l2_distances_no_loops", "check_numpy:l2_no_loops",
        "L2 distance matrix with one matrix product and broadcasting"),
    _ex("01.majority_vote", "majority_vote(neighbour_labels)", "knn:majority_vote", "check_numpy:majority_vote",
        "most frequent label per row, ties to the smallest label"),
    _ex("02.linear_scores", "linear_scores(X, W, b)", "linear:linear_scores", "check_numpy:linear_scores",
        "class scores X W^T + b"),
    _ex("02.add_bias_column", "add_bias_column(X)", "linear:add_bias_column", "check_numpy:add_bias_column",
        "the bias trick: a column of ones"),
    _ex("03.svm_loss", "svm_loss(W, X, y, reg) -> (loss, dW)", "linear:svm_loss_vectorized", "check_numpy:svm_loss",
        "vectorized multiclass SVM loss and gradient"),
    _ex("03.softmax_loss", "softmax_loss(W, X, y, reg) -> (loss, dW)", "linear:softmax_loss_vectorized",
        "check_numpy:softmax_loss", "numerically stable softmax loss and gradient"),
    _ex("03.sgd_step", "sgd_step(W, dW, learning_rate)", "solutions:sgd_step", "check_numpy:sgd_step",
        "one gradient-descent update"),
    _ex("04.conv_output_size", "conv_output_size(size, kernel, pad=0, stride=1) -> int", "solutions:conv_output_size",
        "check_numpy:conv_output_size", "output size of a convolution, floored like the frameworks"),
    _ex("04.conv_forward_naive", "conv_forward_naive(x, w, b, stride=1, pad=0)", "conv:conv_forward_naive",
        "check_numpy:conv_forward_naive", "convolution (cross-correlation) forward pass with loops, NCHW"),
    _ex("04.max_pool_forward", "max_pool_forward(x, size=2, stride=2)", "conv:max_pool_forward",
        "check_numpy:max_pool_forward", "max pooling, NCHW"),
    _ex("04.batchnorm_forward", "batchnorm_forward(x, gamma, beta, eps=1e-5)", "solutions:batchnorm_forward",
        "check_numpy:batchnorm_forward", "batch normalization in training mode, NCHW"),
    _ex("05.conv_params", "conv_params(in_channels, out_channels, kernel_size, bias=True) -> int",
        "solutions:conv_params", "check_numpy:conv_params", "number of parameters of a conv layer"),
    _ex("05.receptive_field", "receptive_field(layers) -> int", "solutions:receptive_field",
        "check_numpy:receptive_field", "receptive field of a stack of (kernel, stride) layers"),
    _ex("06.accuracy", "accuracy(logits, targets) -> float", "torch_train:accuracy", "check_torch:accuracy",
        "fraction of rows whose arg-max is the target"),
    _ex("06.train_step", "train_step(model, x, y, optimizer, loss_fn) -> float", "torch_train:train_step",
        "check_torch:train_step", "one PyTorch training step"),
    _ex("07.binary_metrics", "binary_metrics(tp, fp, fn, tn) -> dict", "metrics:binary_metrics",
        "check_metrics:binary_metrics", "sensitivity, specificity, precision, F1 and MCC from counts"),
    _ex("07.confusion_counts", "confusion_counts(y_true, y_pred) -> (tp, fp, fn, tn)", "solutions:confusion_counts",
        "check_metrics:confusion_counts", "the four counts of a binary confusion matrix"),
    _ex("08.balanced_accuracy", "balanced_accuracy(y_true, y_pred) -> float", "solutions:balanced_accuracy",
        "check_metrics:balanced_accuracy", "mean of the per-class recalls"),
    _ex("08.class_weights", "class_weights(y) -> dict", "solutions:class_weights", "check_metrics:class_weights",
        "'balanced' class weights n / (k * n_c)"),
    _ex("09.flatten_length", "flatten_length(image_size) -> int", "keras_models:flatten_length_reference",
        "check_transfer:flatten_length", "length of the vector Flatten receives in the scratch CNN"),
    _ex("10.feature_head", "feature_head(feature_maps, w, b)", "solutions:feature_head",
        "check_transfer:feature_head", "global average pooling, dense unit and sigmoid on frozen features"),
    _ex("11.layers_to_unfreeze", "layers_to_unfreeze(layer_names, block) -> list", "solutions:layers_to_unfreeze",
        "check_transfer:layers_to_unfreeze", "the layers to make trainable: a whole block and what follows"),
    _ex("12.cam_from_maps", "cam_from_maps(feature_maps, weights)", "solutions:cam_from_maps",
        "check_transfer:cam_from_maps",
        "class activation map from feature maps and dense weights"),
    _ex("12.normalize_cam", "normalize_cam(heatmap)", "cam:normalize_maps", "check_transfer:normalize_cam",
        "ReLU then scale a map to [0, 1]"),
]

REGISTRY = {ex.id: ex for ex in EXERCISES}


def get(exercise_id: str) -> Exercise:
    if exercise_id not in REGISTRY:
        raise KeyError(f"no exercise {exercise_id!r}; `python -m course_utils exercises list` shows them")
    return REGISTRY[exercise_id]


def for_notebook(notebook: str) -> list[Exercise]:
    """Exercises of a notebook, given its number ("03"), stem or file name."""
    number = str(notebook).rsplit("/", 1)[-1][:2]
    return [ex for ex in EXERCISES if ex.number == number]
