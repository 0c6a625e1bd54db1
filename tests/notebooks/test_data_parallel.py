"""13_data_parallel_training: the torchrun script itself (2 processes, gloo, on the CPU), its
fault-tolerance restart, and the notebook's smoke metrics (DDP and Keras equivalence).

Every launch runs in its own process group with a timeout and is killed as a whole on failure
(``cud.run_command``); torchrun's rendezvous and the Keras workers take free ports at run time."""
from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from course_utils.torch_ import distributed as cud  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "train_ddp.py"
NB = "13_data_parallel_training"
TIMEOUT_S = 600
pytestmark = pytest.mark.slow


def processes_mentioning(text: str) -> list[int]:
    """Pids whose command line contains ``text`` (Linux /proc; empty elsewhere)."""
    pids = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if text in proc.joinpath("cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"):
                pids.append(int(proc.name))
        except OSError:
            pass
    return pids


def torchrun(out: Path, nproc: int, *extra, max_restarts: int = 0) -> tuple[dict, str]:
    """Launch train_ddp.py; afterwards (passed or failed) no process of this launch may remain."""
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(nproc),
           "--max-restarts", str(max_restarts), str(SCRIPT), "--profile", "smoke", "--output-dir", str(out),
           *map(str, extra)]
    try:
        result = cud.run_command(cmd, timeout=TIMEOUT_S, cwd=ROOT)
    finally:
        assert processes_mentioning(str(out)) == [], "a launched process outlived its launch"
    return json.loads((out / cud.METRICS_NAME).read_text()), result.stdout


def test_torchrun_is_installed_in_this_environment():
    assert (Path(sys.executable).parent / "torchrun").exists()


@pytest.fixture(scope="module")
def two_process_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("ddp_world2")
    metrics, log = torchrun(out, 2)
    return out, metrics, log


def test_torchrun_smoke_two_processes_gloo(two_process_run):
    out, m, log = two_process_run
    assert m["world_size"] == 2 and m["backend"] == "gloo"
    assert m["global_batch"] == 2 * m["per_rank_batch"]
    assert m["images_per_s"] > 0 and m["resumed_from"] is None and m["attempt"] == 0
    assert 0.0 <= m["final_test_acc"] <= 1.0 and m["final_train_loss"] > 0
    assert [h["epoch"] for h in m["history"]] == list(range(1, m["epochs"] + 1))
    # rank 0 alone writes: one checkpoint per epoch, no temporary left, one epoch line per epoch
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted([cud.checkpoint_path(out, e).name for e in range(1, m["epochs"] + 1)] + [cud.METRICS_NAME])
    assert sum(line.startswith("epoch ") for line in log.splitlines()) == m["epochs"]
    # every rank reports its shard; searched anywhere in the log, because the ranks (and torchrun's
    # own warnings on stderr) share one pipe and a line can start in the middle of another's
    assert set(re.findall(r"\[rank (\d+)\] shard of", log)) == {"0", "1"}
    if not m["synthetic"]:
        assert m["final_test_acc"] > 0.8, "smoke DDP on real MNIST should pass 80% test accuracy"


def test_restart_resumes_from_checkpoint_and_matches_uninterrupted_run(two_process_run, tmp_path):
    _, ref, _ = two_process_run
    steps_per_epoch = ref["steps"] // ref["epochs"]
    fail_at = (ref["epochs"] - 1) * steps_per_epoch + steps_per_epoch // 2
    m, log = torchrun(tmp_path, 2, "--fail-once-at-step", fail_at, max_restarts=1)
    assert "simulated failure" in log
    assert m["attempt"] == 1 and m["resumed_from"] == ref["epochs"] - 1
    final = lambda folder: torch.load(cud.checkpoint_path(folder, ref["epochs"]), weights_only=True)["model"]
    assert cud.max_param_diff(final(tmp_path), final(two_process_run[0])) <= 1e-5
    assert m["final_test_acc"] == pytest.approx(ref["final_test_acc"], abs=1e-3)


def test_without_restarts_the_failure_fails_the_job(tmp_path):
    with pytest.raises(RuntimeError, match="exit status"):
        torchrun(tmp_path, 2, "--fail-once-at-step", 3, "--epochs", 1)
    assert not (tmp_path / cud.METRICS_NAME).exists()


def test_script_refuses_to_run_without_torchrun(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE")}
    import subprocess

    r = subprocess.run([sys.executable, str(SCRIPT), "--output-dir", str(tmp_path)], capture_output=True, text=True,
                       env=env, timeout=120)
    assert r.returncode != 0 and "torchrun" in r.stderr


def test_notebook_smoke_metrics(notebook_metrics):
    doc = notebook_metrics(NB)
    m = doc["metrics"]
    assert m["ddp_world_size"] == 2 and m["ddp_backend"] == "gloo"
    assert m["ddp_max_param_diff_vs_single"] <= 1e-5
    assert set(m["ddp_images_per_s"]) == {"1", "2"} and all(v > 0 for v in m["ddp_images_per_s"].values())
    assert m["ddp_resumed_after_failure"] is True
    assert m["keras_num_workers"] == 2 and m["keras_max_loss_diff_vs_single"] <= 1e-4
    assert m["keras_mirrored_replicas"] == 2 and m["keras_mirrored_max_loss_diff_vs_single"] <= 1e-4
    lessons = {le["id"]: le["holds"] for le in doc["lessons"]}
    assert lessons and all(lessons.values()), lessons
