"""metrics.threshold_youden (07, 08) and architectures.bn_gap_cnn (07, 09, 12)."""
import numpy as np
import pytest

import course_utils  # noqa: F401  (PyTorch before TensorFlow)
from course_utils import metrics as M


def test_youden_threshold_maximises_sensitivity_plus_specificity():
    y = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    s = np.array([0.1, 0.2, 0.3, 0.6, 0.4, 0.7, 0.8, 0.9])
    t = M.threshold_youden(y, s)
    rep = M.binary_report(y, s, t)
    best = max(M.binary_report(y, s, c)["sensitivity"] + M.binary_report(y, s, c)["specificity"]
               for c in np.linspace(0, 1, 201))
    assert rep["sensitivity"] + rep["specificity"] == pytest.approx(best)
    assert rep["sensitivity"] > 0 and rep["specificity"] > 0
    assert 0.3 < t < 0.4 or 0.6 < t < 0.7        # between two neighbouring scores


def test_youden_never_gives_up_a_class_for_nothing_where_a_sensitivity_target_would():
    # a weak model: positives only slightly higher; a 95% sensitivity target calls everything positive
    rng = np.random.default_rng(0)
    y = np.array([0] * 30 + [1] * 30)
    s = np.clip(np.r_[rng.normal(0.45, 0.05, 30), rng.normal(0.5, 0.05, 30)], 0, 1)
    rep = M.binary_report(y, s, M.threshold_youden(y, s))
    assert rep["sensitivity"] > 0 and rep["specificity"] > 0
    with pytest.raises(ValueError):
        M.threshold_youden([1, 1], [0.2, 0.3])


def test_bn_gap_cnn_shapes_cam_layer_and_outputs():
    pytest.importorskip("keras")
    from course_utils.keras_.models import bn_gap_cnn, cats_dogs_gap_cnn

    m = bn_gap_cnn((32, 32, 3), (8, 16, 32), n_outputs=2, dropout=0.2)
    assert m.get_layer("last_conv").output.shape[1:] == (8, 8, 32)   # two poolings, none after the last block
    out = m.predict(np.random.default_rng(0).random((3, 32, 32, 3)).astype("float32"), verbose=0)
    np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-5)       # softmax head
    bn = [layer for layer in m.layers if type(layer).__name__ == "BatchNormalization"]
    assert len(bn) == 3 and all(layer.momentum == 0.9 for layer in bn)
    g = cats_dogs_gap_cnn(32, widths=(8, 16), batchnorm=True, dropout=0.3)
    assert g.outputs[0].shape[-1] == 1 and g.get_layer("last_conv").output.shape[1:] == (16, 16, 16)
    assert cats_dogs_gap_cnn(150).count_params() == 97_569            # the plain one is unchanged
    s = cats_dogs_gap_cnn(48, widths=(8, 16, 32), batchnorm=True, stem_stride=2)
    assert s.layers[0].strides == (2, 2) and all(layer.strides == (1, 1) for layer in s.layers[1:]
                                                 if type(layer).__name__ == "Conv2D")
    assert s.get_layer("last_conv").output.shape[1:] == (6, 6, 32)     # 48 -> 24 (stride) -> 12 -> 6
    assert s.count_params() == cats_dogs_gap_cnn(48, widths=(8, 16, 32), batchnorm=True).count_params()
    d = cats_dogs_gap_cnn(32, widths=(8, 16), batchnorm=True, convs_per_block=(1, 2))
    assert [layer.filters for layer in d.layers if type(layer).__name__ == "Conv2D"] == [8, 16, 16]
    assert d.get_layer("last_conv").output.shape[1:] == (16, 16, 16)
    with pytest.raises(ValueError):
        cats_dogs_gap_cnn(32, widths=(8, 16), batchnorm=True, convs_per_block=(1, 2, 3))


def test_dihedral_average_is_the_mean_of_the_eight_views_and_ignores_turns():
    pytest.importorskip("keras")
    from course_utils.keras_.models import bn_gap_cnn, dihedral_average

    m = bn_gap_cnn((12, 12, 3), (4, 8), n_outputs=2)
    x = np.random.default_rng(1).random((2, 12, 12, 3)).astype("float32")
    flips = [x, x[:, ::-1], x[:, :, ::-1], x[:, ::-1, ::-1]]
    views = flips + [v.transpose(0, 2, 1, 3) for v in flips]
    expected = np.mean([np.asarray(m(np.ascontiguousarray(v), training=False)) for v in views], axis=0)
    tta = dihedral_average(m)
    got = np.asarray(tta(x, training=False))
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    assert not np.allclose(np.asarray(m(x, training=False)), got, atol=1e-6)   # it does change the answer
    turned = np.ascontiguousarray(np.rot90(x, 1, axes=(1, 2)))                   # a quarter turn: same 8 views
    np.testing.assert_allclose(np.asarray(tta(turned, training=False)), got, rtol=1e-5, atol=1e-6)
    assert tta.count_params() == m.count_params()                              # shared weights, no new ones
    with pytest.raises(ValueError, match="square"):
        dihedral_average(bn_gap_cnn((12, 16, 3), (4,), n_outputs=2))


def test_at_input_size_copies_a_gap_network_for_larger_images_and_refuses_a_flatten_head():
    pytest.importorskip("keras")
    from course_utils.keras_ import cam
    from course_utils.keras_.models import at_input_size, cats_dogs_gap_cnn, cats_dogs_scratch_cnn

    m = cats_dogs_gap_cnn(16, widths=(4, 8), batchnorm=True)
    x16 = np.random.default_rng(2).random((3, 16, 16, 3)).astype("float32")
    before = np.asarray(m(x16, training=False))
    big = at_input_size(m, 32)
    assert big.input_shape == (None, 32, 32, 3) and m.input_shape == (None, 16, 16, 3)   # the original kept
    assert all(np.array_equal(a, b) for a, b in zip(m.get_weights(), big.get_weights()))
    x32 = np.random.default_rng(3).random((3, 32, 32, 3)).astype("float32")
    maps32, _ = cam.class_activation_maps(big, x32)
    maps16, _ = cam.class_activation_maps(m, x16)
    assert maps32.shape[1:] == (2 * maps16.shape[1], 2 * maps16.shape[2])                # a finer grid on the canvas
    back = at_input_size(big, 16)                                                        # and back: the same network
    np.testing.assert_allclose(np.asarray(back(x16, training=False)), before, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="Flatten"):
        at_input_size(cats_dogs_scratch_cnn(64), 96)
