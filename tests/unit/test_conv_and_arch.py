"""Tests for 04_convolution_by_hand and 05_cnn_architectures: the smoke-run metrics, and unit
tests of course_utils.numpy_.conv and course_utils.architectures (fast, no notebook execution)."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import course_utils  # noqa: F401  (loads PyTorch before TensorFlow)
from course_utils.arch import (
    CATS_DOGS_GAP_SPEC,
    CATS_DOGS_SCRATCH_SPEC,
    MONKEYPOX_SPEC,
    receptive_field,
    total_params,
    trace,
    trace_table,
)
from course_utils.keras_.models import cats_dogs_gap_cnn, cats_dogs_scratch_cnn, monkeypox_cnn
from course_utils.numpy_.conv import (
    avg_pool_forward,
    batchnorm_forward,
    conv_forward_im2col,
    conv_forward_naive,
    conv_output_size,
    conv_transpose_forward,
    conv_transpose_output_size,
    cross_correlate2d,
    global_avg_pool,
    im2col,
    max_pool_forward,
    nchw_to_nhwc,
    nhwc_to_nchw,
    relu,
    same_padding,
    torch_to_keras_kernel,
    upsample_nearest,
)
from course_utils.torch_.data import make_loader
from course_utils.torch_.models import (
    BasicBlock,
    count_params_torch,
    empirical_receptive_field,
    kernel_strides,
    small_resnet,
    torch_from_spec,
)
from course_utils.torch_.train import fit


# ---- course_utils.numpy_.conv --------------------------------------------------------------------------
def test_conv_output_size_formula_and_errors():
    assert conv_output_size(32, 5, pad=2, stride=1) == 32
    assert conv_output_size(7, 3, pad=0, stride=2) == 3
    assert conv_output_size(5, 3, pad=1, stride=2) == 3
    assert conv_output_size(10, 3, 0, 2, strict=False) == 4
    with pytest.raises(ValueError, match="not an integer"):
        conv_output_size(10, 3, 0, 2)
    with pytest.raises(ValueError, match="does not fit"):
        conv_output_size(2, 5)
    with pytest.raises(ValueError):
        conv_output_size(32, 3, pad=-1)
    with pytest.raises(ValueError):
        conv_output_size(32, 3, stride=0)
    with pytest.raises(ValueError, match="integer"):
        conv_output_size(32.5, 3)


def test_transposed_output_size_and_same_padding():
    assert conv_transpose_output_size(4, 4, pad=1, stride=2) == 8
    assert conv_transpose_output_size(3, 3, pad=0, stride=1) == 5
    with pytest.raises(ValueError):
        conv_transpose_output_size(1, 1, pad=2, stride=1)
    assert same_padding(32, 3, 1) == (1, 1)
    assert same_padding(32, 3, 2) == (0, 1)
    assert same_padding(7, 4, 1) == (1, 2)


def test_cross_correlation_edge_detector():
    x = np.zeros((5, 5))
    x[:, 2] = 1
    k = np.array([[1, 0, -1]] * 3, dtype=float)
    np.testing.assert_array_equal(cross_correlate2d(x, k), np.array([[-3, 0, 3]] * 3))


@pytest.mark.parametrize("stride,pad", [(1, 0), (1, 1), (2, 1), (3, 2)])
def test_conv_naive_and_im2col_match_torch(stride, pad):
    rng = np.random.default_rng(stride * 10 + pad)
    x = rng.normal(size=(2, 3, 8, 8)).astype(np.float32)
    w = rng.normal(size=(4, 3, 3, 3)).astype(np.float32)
    b = rng.normal(size=4).astype(np.float32)
    if (8 - 3 + 2 * pad) % stride:
        with pytest.raises(ValueError):
            conv_forward_naive(x, w, b, stride, pad)
        return
    ref = F.conv2d(torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(b), stride=stride, padding=pad).numpy()
    np.testing.assert_allclose(conv_forward_naive(x, w, b, stride, pad), ref, atol=1e-5)
    np.testing.assert_allclose(conv_forward_im2col(x, w, b, stride, pad), ref, atol=1e-5)


def test_conv_channel_mismatch_raises():
    with pytest.raises(ValueError, match="channels"):
        conv_forward_naive(np.zeros((1, 3, 5, 5)), np.zeros((2, 4, 3, 3)), np.zeros(2))


def test_im2col_shape():
    cols = im2col(np.zeros((2, 3, 5, 5), np.float32), 3, 3, stride=2, pad=1)
    assert cols.shape == (27, 2 * 3 * 3)


def test_pooling_demo_and_torch():
    x = np.array([[1, 1, 2, 4], [5, 6, 7, 8], [3, 2, 1, 0], [1, 2, 3, 4]], dtype=np.float32)[None, None]
    np.testing.assert_array_equal(max_pool_forward(x)[0, 0], [[6, 8], [3, 4]])
    np.testing.assert_allclose(avg_pool_forward(x)[0, 0], [[3.25, 5.25], [2, 2]])
    np.testing.assert_allclose(global_avg_pool(x), [[3.125]])
    y = np.random.default_rng(0).normal(size=(2, 3, 7, 7)).astype(np.float32)
    np.testing.assert_allclose(max_pool_forward(y, 3, 2), F.max_pool2d(torch.from_numpy(y), 3, 2).numpy())
    np.testing.assert_array_equal(relu(np.array([-1.0, 0.0, 2.0])), [0, 0, 2])


def test_batchnorm_matches_torch_train_and_eval():
    rng = np.random.default_rng(1)
    x = (rng.normal(size=(4, 2, 3, 3)) * 3 + 2).astype(np.float32)
    g = np.array([1.5, 0.5], np.float32)
    b = np.array([0.1, -0.2], np.float32)
    y, rm, rv = batchnorm_forward(x, g, b, np.zeros(2), np.ones(2), training=True, momentum=0.1, eps=1e-5)
    bn = torch.nn.BatchNorm2d(2, eps=1e-5, momentum=0.1)
    with torch.no_grad():
        bn.weight.copy_(torch.from_numpy(g))
        bn.bias.copy_(torch.from_numpy(b))
    yt = bn(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(y, yt, atol=1e-5)
    np.testing.assert_allclose(rm, bn.running_mean.numpy(), atol=1e-6)
    np.testing.assert_allclose(rv, bn.running_var.numpy(), atol=1e-5)
    bn.eval()
    ye, rm2, rv2 = batchnorm_forward(x, g, b, rm, rv, training=False, eps=1e-5)
    np.testing.assert_allclose(ye, bn(torch.from_numpy(x)).detach().numpy(), atol=1e-5)
    assert rm2 is rm and rv2 is rv  # inference updates nothing
    # biased running variance (Keras) differs from the unbiased one by m / (m - 1)
    _, _, rv_b = batchnorm_forward(x, g, b, np.zeros(2), np.zeros(2), training=True, momentum=1.0,
                                     unbiased_running_var=False)
    np.testing.assert_allclose(rv_b, x.var(axis=(0, 2, 3)), rtol=1e-6)
    with pytest.raises(ValueError):
        batchnorm_forward(x[0], g, b, np.zeros(2), np.ones(2))


def test_transposed_conv_matches_torch_and_crops():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(2, 3, 4, 5)).astype(np.float32)
    w = rng.normal(size=(3, 2, 4, 4)).astype(np.float32)
    b = rng.normal(size=2).astype(np.float32)
    ct = torch.nn.ConvTranspose2d(3, 2, 4, stride=2, padding=1)
    with torch.no_grad():
        ct.weight.copy_(torch.from_numpy(w))
        ct.bias.copy_(torch.from_numpy(b))
    ref = ct(torch.from_numpy(x)).detach().numpy()
    out = conv_transpose_forward(x, w, b, stride=2, pad=1)
    assert out.shape == (2, 2, conv_transpose_output_size(4, 4, 1, 2), conv_transpose_output_size(5, 4, 1, 2))
    np.testing.assert_allclose(out, ref, atol=1e-5)
    with pytest.raises(ValueError, match="channels"):
        conv_transpose_forward(x, w[:2], b)
    with pytest.raises(ValueError, match="crops"):
        conv_transpose_forward(x, w, b, stride=1, pad=10)


def test_upsample_and_layouts():
    x = np.array([[1, 2], [3, 4]], np.float32)[None, None]
    np.testing.assert_array_equal(upsample_nearest(x)[0, 0], [[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 4, 4], [3, 3, 4, 4]])
    y = np.arange(24).reshape(1, 2, 3, 4)
    np.testing.assert_array_equal(nhwc_to_nchw(nchw_to_nhwc(y)), y)
    assert torch_to_keras_kernel(np.zeros((16, 3, 5, 5))).shape == (5, 5, 3, 16)
    with pytest.raises(ValueError):
        torch_to_keras_kernel(np.zeros((3, 3)))


# ---- course_utils.architectures -----------------------------------------------------------------
def test_trace_counts_and_shapes_by_hand():
    rows = trace(CATS_DOGS_SCRATCH_SPEC, (150, 150, 3))
    assert rows[-3].output_shape == (7 * 7 * 128,)
    assert sum(r.params for r in rows) == 3_453_121
    assert total_params(MONKEYPOX_SPEC, (250, 250, 3)) == 30_471_234
    assert total_params(CATS_DOGS_GAP_SPEC, (150, 150, 3)) == total_params(CATS_DOGS_GAP_SPEC, (64, 64, 3)) == 97_569
    assert "total" in trace_table(rows)


@pytest.mark.parametrize("spec", [[("dense", 10)], [("flatten",), ("conv", 4, 3, 1, "same")], [("softmax",)]])
def test_trace_rejects_bad_specs(spec):
    with pytest.raises(ValueError):
        trace(spec, (8, 8, 3))


def test_torch_from_spec_matches_the_trace():
    spec = [("conv", 8, 3, 1, "same"), ("relu",), ("pool", 2, 2), ("conv", 16, 3, 1, 1), ("pool", 2, 2),
            ("flatten",), ("dense", 32), ("dense", 10)]
    net = torch_from_spec(spec, 3, input_hw=(32, 32))
    assert count_params_torch(net) == total_params(spec, (32, 32, 3))
    assert tuple(net(torch.zeros(2, 3, 32, 32)).shape) == (2, 10)
    with pytest.raises(ValueError):
        torch_from_spec([("conv", 4, 4, 1, "same")], 3)


def test_keras_builders_counts_and_heads():
    mp = monkeypox_cnn(input_shape=(250, 250, 3), n_outputs=2)
    assert mp.count_params() == 30_471_234
    assert mp.layers[-1].activation.__name__ == "softmax"
    assert monkeypox_cnn(input_shape=(64, 64, 3), n_outputs=1).layers[-1].activation.__name__ == "sigmoid"
    cd = cats_dogs_scratch_cnn(image_size=150)
    assert cd.count_params() == 3_453_121 and cd.output_shape == (None, 1)
    assert any(type(layer).__name__ == "Dropout" for layer in cats_dogs_scratch_cnn(64, dropout=0.5).layers)
    gap = cats_dogs_gap_cnn(image_size=64)
    assert gap.count_params() == 97_569
    assert gap.get_layer("last_conv").output.shape[1:] == (8, 8, 128)
    assert getattr(mp, "optimizer", None) is None  # uncompiled: the notebook that trains it chooses


def test_basic_block_identity_projection_and_plain():
    blk = BasicBlock(16, 16)
    assert isinstance(blk.shortcut, torch.nn.Identity)
    proj = BasicBlock(16, 32, stride=2)
    assert isinstance(proj.shortcut, torch.nn.Sequential)
    assert tuple(proj(torch.zeros(1, 16, 8, 8)).shape) == (1, 32, 4, 4)
    plain = BasicBlock(16, 32, stride=2, residual=False)
    assert isinstance(plain.shortcut, torch.nn.Identity)
    # the plain block ignores its input path: same output as F(x) alone
    torch.manual_seed(0)
    x = torch.randn(2, 16, 8, 8)
    plain.eval()
    f = plain.bn2(plain.conv2(plain.relu(plain.bn1(plain.conv1(x)))))
    torch.testing.assert_close(plain(x), torch.relu(f))
    import torchvision

    r18 = torchvision.models.resnet18(weights=None)
    assert count_params_torch(BasicBlock(64, 128, 2)) == count_params_torch(r18.layer2[0])


def test_small_resnet_trains_on_an_easy_task():
    torch.manual_seed(0)
    x = torch.randn(64, 3, 16, 16)
    y = (x[:, 0].mean(dim=(1, 2)) > 0).long()
    x[:, 0] += (y.float() * 2 - 1)[:, None, None]
    net = small_resnet(n_blocks=2, width=4, n_classes=2)
    batches = make_loader(torch.utils.data.TensorDataset(x, y), 32, seed=0, n_batches=40)
    h, _ = fit(net, batches, torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9), torch.nn.CrossEntropyLoss(),
               "cpu", eval_every=10, progress=False)
    losses = h["loss"]
    assert len(losses) == 4 and losses[-1] < losses[0]
    assert sum(isinstance(m, BasicBlock) for m in net.modules()) == 2


def test_receptive_field_recurrence_and_empirical():
    assert receptive_field([(3, 1)] * 3) == [(3, 1), (5, 1), (7, 1)]
    assert receptive_field([(11, 4), (3, 2)]) == [(11, 4), (19, 8)]
    with pytest.raises(ValueError):
        receptive_field([(0, 1)])
    net = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                              torch.nn.Conv2d(2, 2, 5, padding=2))
    ks = kernel_strides(net)
    assert ks == [(3, 1), (2, 2), (5, 1)]
    assert receptive_field(ks)[-1][0] == empirical_receptive_field(net, input_size=48) == 12
    with pytest.raises(ValueError, match="larger"):
        empirical_receptive_field(net, input_size=8)
