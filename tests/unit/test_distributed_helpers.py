"""Pure-logic pieces of course_utils.torch_.distributed: checkpoint discovery and atomic saving,
backend choice, the by-hand all-reduce, ports, and killing a whole process group."""
from __future__ import annotations

import os
import pickle
import socket
import sys
import time

import pytest

torch = pytest.importorskip("torch")

from course_utils.torch_ import distributed as cud  # noqa: E402


def test_latest_checkpoint_picks_the_highest_complete_epoch(tmp_path):
    assert cud.latest_checkpoint(tmp_path) == (None, 0)
    assert cud.latest_checkpoint(tmp_path / "missing") == (None, 0)
    for epoch in (1, 3, 2):
        torch.save({"epoch": epoch}, cud.checkpoint_path(tmp_path, epoch))
    (tmp_path / f".{cud.CHECKPOINT_PREFIX}004.pt.tmp-123").write_bytes(b"half a file")  # an interrupted save
    (tmp_path / f"{cud.CHECKPOINT_PREFIX}9.pt.bak").write_bytes(b"not ours")
    path, epoch = cud.latest_checkpoint(tmp_path)
    assert epoch == 3 and path == cud.checkpoint_path(tmp_path, 3)
    assert cud.checkpoint_path(tmp_path, 12).name == f"{cud.CHECKPOINT_PREFIX}012.pt"


def test_save_checkpoint_atomic_replaces_and_leaves_no_temporary(tmp_path):
    path = cud.checkpoint_path(tmp_path, 1)
    cud.save_checkpoint_atomic({"w": torch.ones(2)}, path)
    cud.save_checkpoint_atomic({"w": torch.zeros(2)}, path)
    assert torch.equal(torch.load(path, weights_only=True)["w"], torch.zeros(2))
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_save_checkpoint_atomic_keeps_the_old_file_when_saving_fails(tmp_path):
    path = cud.checkpoint_path(tmp_path, 1)
    cud.save_checkpoint_atomic({"w": torch.ones(2)}, path)
    # the pickler raises AttributeError ("local object") or PicklingError, depending on the Python version
    with pytest.raises((AttributeError, pickle.PicklingError)):
        cud.save_checkpoint_atomic({"w": lambda: None}, path)  # cannot be pickled
    assert torch.equal(torch.load(path, weights_only=True)["w"], torch.ones(2))
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_clear_run_files_removes_only_what_the_script_writes(tmp_path):
    for name in (cud.checkpoint_path(tmp_path, 1).name, cud.METRICS_NAME, f"{cud.SNAPSHOT_PREFIX}5_world2.pt",
                 "my_notes.txt", "model.pt"):
        (tmp_path / name).write_text("x")
    removed = cud.clear_run_files(tmp_path)
    assert len(removed) == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.pt", "my_notes.txt"]


def test_choose_backend():
    assert cud.choose_backend(2, cuda_devices=0) == "gloo"
    assert cud.choose_backend(2, cuda_devices=1) == "gloo"   # two ranks cannot share one GPU under NCCL
    assert cud.choose_backend(2, cuda_devices=2) == "nccl"
    assert cud.choose_backend(1, cuda_devices=4) == "nccl"


def test_shard_gradients_average_and_max_param_diff():
    g = cud.shard_gradients_average([[torch.tensor([1.0, 3.0])], [torch.tensor([3.0, 5.0])]])
    assert torch.equal(g[0], torch.tensor([2.0, 4.0]))
    with pytest.raises(ValueError):
        cud.shard_gradients_average([[torch.zeros(1)], []])
    with pytest.raises(ValueError):
        cud.shard_gradients_average([])
    a = {"w": torch.zeros(3), "b": torch.zeros(1)}
    assert cud.max_param_diff(a, {"w": torch.tensor([0.0, -0.5, 0.1]), "b": torch.zeros(1)}) == pytest.approx(0.5)
    with pytest.raises(ValueError):
        cud.max_param_diff(a, {"w": torch.zeros(3)})


def test_mnist_cnn_shapes():
    for bn in (False, True):
        assert cud.MnistCNN(batch_norm=bn)(torch.zeros(3, 1, 28, 28)).shape == (3, 10)
    assert sum(p.numel() for p in cud.MnistCNN().parameters()) == 28938  # 06's network


def test_free_port_can_be_bound():
    port = cud.free_port()
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:  # a zombie is dead too
        return f.read().split()[2] != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_run_command_kills_the_whole_group_on_timeout(tmp_path):
    pidfile = tmp_path / "child.pid"
    # a parent that starts a long-lived child and waits: both must be gone after the timeout
    cmd = ["bash", "-c", f"sleep 60 & echo $! > {pidfile}; wait"]
    t0 = time.monotonic()
    with pytest.raises(RuntimeError, match="timed out"):
        cud.run_command(cmd, timeout=2)
    assert time.monotonic() - t0 < 30
    child = int(pidfile.read_text())
    assert not _alive(child)


def test_run_command_reports_failure_with_output():
    with pytest.raises(RuntimeError, match="exit status 3.*boom"):
        cud.run_command(["bash", "-c", "echo boom; exit 3"], timeout=30)
    result = cud.run_command(["bash", "-c", "echo fine"], timeout=30)
    assert result.returncode == 0 and result.stdout.strip() == "fine"
