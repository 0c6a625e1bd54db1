"""Data-parallel training with ``torch.distributed``, written once (taught in
13_data_parallel_training; used by ``scripts/train_ddp.py`` and the tests).

* :class:`MnistCNN` -- the network of 06_mnist_cnn_pytorch (section 3), importable by a script.
* :func:`mnist_subsets` -- 06's seeded training and test subsets of MNIST.
* :func:`choose_backend` -- NCCL when every local rank has its own GPU, gloo otherwise.
* :func:`checkpoint_path`, :func:`latest_checkpoint`, :func:`save_checkpoint_atomic` -- one
  checkpoint per epoch, written so that a crash never leaves a half-written file behind.
* :func:`shard_gradients_average` -- what the all-reduce of DDP computes, by hand.
* :func:`max_param_diff` -- the largest difference between two sets of weights.
* :func:`free_port` and :func:`run_command` -- start a group of processes on free localhost
  ports, with a timeout, and kill the whole group when anything goes wrong.
* :func:`clear_run_files` -- remove the files ``train_ddp.py`` wrote in a folder (and nothing else).
"""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
from datetime import timedelta
from pathlib import Path

import numpy as np
import torch
from torch import nn

CHECKPOINT_PREFIX = "ddp_checkpoint_epoch"
_CHECKPOINT_RE = re.compile(rf"^{CHECKPOINT_PREFIX}(\d+)\.pt$")
METRICS_NAME = "train_ddp.metrics.json"
SNAPSHOT_PREFIX = "ddp_params_step"


class MnistCNN(nn.Module):
    """06's MNIST network: two conv(5x5) -> ReLU -> max-pool blocks, then one linear layer.

    ``batch_norm=True`` adds ``BatchNorm2d`` after each convolution (13 uses it to show why
    batch statistics need ``SyncBatchNorm`` under data parallelism)."""

    def __init__(self, batch_norm: bool = False):
        super().__init__()

        def block(c_in, c_out):
            layers = [nn.Conv2d(c_in, c_out, kernel_size=5, stride=1, padding=2)]
            layers += [nn.BatchNorm2d(c_out)] if batch_norm else []
            return nn.Sequential(*layers, nn.ReLU(), nn.MaxPool2d(2))

        self.conv1 = block(1, 16)
        self.conv2 = block(16, 32)
        self.out = nn.Linear(32 * 7 * 7, 10)

    def forward(self, x):
        x = self.conv2(self.conv1(x))
        return self.out(x.flatten(start_dim=1))


def mnist_subsets(root, n_train: int, n_test: int, seed: int):
    """``(train, test)``: the seeded random subsets of MNIST that 06 uses (read from ``root``,
    the folder the data layer returned, holding ``MNIST/raw/``)."""
    import torchvision
    from torch.utils.data import Subset
    from torchvision.transforms import v2 as T

    to_tensor = T.Compose([T.ToImage(), T.ToDtype(torch.float32, scale=True)])
    train_full = torchvision.datasets.MNIST(root, train=True, download=False, transform=to_tensor)
    test_full = torchvision.datasets.MNIST(root, train=False, download=False, transform=to_tensor)
    rng = np.random.default_rng(seed)
    train_idx = np.sort(rng.permutation(len(train_full))[: min(n_train, len(train_full))])
    test_idx = np.sort(rng.permutation(len(test_full))[: min(n_test, len(test_full))])
    return Subset(train_full, train_idx.tolist()), Subset(test_full, test_idx.tolist())


def seed_torch(seed: int) -> None:
    """Seed Python, NumPy and PyTorch and ask for deterministic kernels, like
    ``env.seed_everything`` but without loading TensorFlow (a training worker never needs it)."""
    import random

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)


def attempt_store(attempt: int):
    """The rendezvous store of the torchrun agent (``MASTER_ADDR``/``MASTER_PORT``), with keys
    prefixed by the restart ``attempt``. After a restart the agent's store still holds the
    addresses the dead workers published; without a fresh prefix the new group would read them
    and wait for peers that no longer exist. ``None`` when the launcher hosts no such store."""
    import torch.distributed as dist

    if os.environ.get("TORCHELASTIC_USE_AGENT_STORE") != "True":
        return None  # no agent store (another launcher): init_process_group builds its own from env://
    base = dist.TCPStore(os.environ["MASTER_ADDR"], int(os.environ["MASTER_PORT"]), is_master=False,
                         timeout=timedelta(seconds=300))
    return dist.PrefixStore(f"course_attempt_{int(attempt)}", base)


def choose_backend(local_world_size: int, cuda_devices: int | None = None) -> str:
    """``"nccl"`` when this machine has a GPU for every local rank, else ``"gloo"``.

    NCCL only moves CUDA tensors; gloo moves CPU tensors (and, slowly, CUDA ones)."""
    if cuda_devices is None:
        cuda_devices = torch.cuda.device_count() if torch.cuda.is_available() else 0
    return "nccl" if cuda_devices > 0 and cuda_devices >= local_world_size else "gloo"


def checkpoint_path(folder, epoch: int) -> Path:
    """``folder/ddp_checkpoint_epoch003.pt``: the checkpoint written after ``epoch`` epochs."""
    return Path(folder) / f"{CHECKPOINT_PREFIX}{int(epoch):03d}.pt"


def latest_checkpoint(folder) -> tuple[Path, int] | tuple[None, int]:
    """``(path, epoch)`` of the newest complete checkpoint in ``folder``, ``(None, 0)`` if none.

    Temporary files of an interrupted save never match the pattern, so they are never picked."""
    folder = Path(folder)
    best, best_epoch = None, 0
    if folder.is_dir():
        for p in folder.iterdir():
            m = _CHECKPOINT_RE.match(p.name)
            if m and p.is_file() and int(m.group(1)) > best_epoch:
                best, best_epoch = p, int(m.group(1))
    return best, best_epoch


def save_checkpoint_atomic(state: dict, path) -> Path:
    """``torch.save`` to a temporary file next to ``path``, then rename it into place.

    A rename within one folder is atomic: a reader (or a restarted job) sees either the old file
    or the complete new one, never half of it, even if the process dies while saving."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        torch.save(state, tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def shard_gradients_average(shard_grads: list[list[torch.Tensor]]) -> list[torch.Tensor]:
    """The all-reduce of DDP by hand: ``shard_grads[r][i]`` is rank r's gradient of parameter i;
    the result is their mean over ranks, parameter by parameter (reference for the exercise in 13)."""
    if not shard_grads:
        raise ValueError("no shards")
    n = len(shard_grads[0])
    if any(len(g) != n for g in shard_grads):
        raise ValueError("every shard must have a gradient for each parameter")
    return [torch.stack([g[i] for g in shard_grads]).mean(0) for i in range(n)]


def max_param_diff(a: dict, b: dict) -> float:
    """Largest absolute difference between two ``state_dict``s with the same keys and shapes."""
    if a.keys() != b.keys():
        raise ValueError(f"different parameters: {sorted(set(a) ^ set(b))}")
    return max(float((a[k].double() - b[k].double()).abs().max()) for k in a) if a else 0.0


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago (the OS picks it). Another program could still take
    it before we use it, so launchers pick ports at run time, never from a fixed list."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def kill_group(proc: subprocess.Popen, grace_s: float = 5.0) -> None:
    """Stop ``proc`` and every process it started (its process group): SIGTERM, then SIGKILL."""
    if proc.poll() is not None and not _group_alive(proc.pid):
        return
    for sig, wait in ((signal.SIGTERM, grace_s), (signal.SIGKILL, grace_s)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and _group_alive(proc.pid):
            try:
                proc.wait(timeout=0.1)
            except subprocess.TimeoutExpired:
                pass
        if not _group_alive(proc.pid):
            break
    try:
        proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        pass


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except (ProcessLookupError, PermissionError):
        return False


def run_command(cmd: list[str], timeout: float, env: dict | None = None, cwd=None,
                check: bool = True) -> subprocess.CompletedProcess:
    """Run ``cmd`` in its own process group and return its output (stdout and stderr together).

    On a timeout, an error or an interrupt (Ctrl-C, a stopped kernel) the whole group is killed,
    so no worker keeps a port or a core busy. ``check``: raise ``RuntimeError`` with the end of
    the output when the command fails."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=cwd,
                            env={**os.environ, **(env or {})}, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_group(proc)
        out = proc.stdout.read() if proc.stdout else ""
        raise RuntimeError(f"timed out after {timeout:.0f} s: {' '.join(map(str, cmd))}\n{out[-3000:]}") from None
    except BaseException:
        kill_group(proc)
        raise
    finally:
        if proc.stdout:
            proc.stdout.close()
    kill_group(proc)  # workers a failed launcher left behind
    result = subprocess.CompletedProcess(cmd, proc.returncode, out, "")
    if check and proc.returncode != 0:
        raise RuntimeError(f"exit status {proc.returncode}: {' '.join(map(str, cmd))}\n{out[-3000:]}")
    return result


def clear_run_files(folder) -> list[str]:
    """Remove what ``train_ddp.py`` writes in ``folder`` (its checkpoints, parameter snapshots and
    metrics file) so that a new run starts from scratch; any other file is left alone."""
    folder = Path(folder)
    removed = []
    if folder.is_dir():
        for p in folder.iterdir():
            if p.is_file() and (_CHECKPOINT_RE.match(p.name) or p.name == METRICS_NAME
                                or (p.name.startswith(SNAPSHOT_PREFIX) and p.suffix == ".pt")):
                p.unlink()
                removed.append(p.name)
    return sorted(removed)
