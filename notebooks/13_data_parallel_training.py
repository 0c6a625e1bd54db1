# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: tags,-all
#     formats: ipynb,py:percent
#     notebook_metadata_filter: kernelspec,jupytext,-jupytext.text_representation.jupytext_version
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 13 · Scaling out: data-parallel training with torchrun and tf.distribute
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/cnn-course/cnn-image-classification/blob/main/notebooks/13_data_parallel_training.ipynb)
#
# **You will be able to**
# - say what data-parallel training replicates (the model, the optimizer) and what it all-reduces
#   (the gradients), and why averaging the gradients of N shards is one step on the global batch;
# - launch a real `DistributedDataParallel` script with `torchrun`, on CPUs (gloo) or GPUs (NCCL),
#   and read what it writes;
# - recognise the classic mistakes by their symptoms: no `set_epoch`, every rank reading the whole
#   dataset, every rank logging and saving, per-rank batch-norm statistics;
# - survive a worker failure: `torchrun --max-restarts`, checkpoints each epoch, resume;
# - do the same in Keras 3: `MirroredStrategy` for the devices of one machine,
#   `MultiWorkerMirroredStrategy` across machines;
# - take it to a cluster: two-node `torchrun`, SLURM, `TF_CONFIG`.
#
# **Data.** MNIST through the course's data layer, as in 06 (the training script asks the data
# layer itself: rank 0 fetches, the others wait). **Costs** about 105 CPU-seconds over all its
# processes in `smoke` and about 200 in `laptop` (20,000 digits, 2 epochs per run); on a busy 2-core
# machine the stored `laptop` run took about a minute and a half of wall time. Everything here runs for real with two processes
# on a 2-core CPU machine; on such a machine the point is correctness, not speed (section 4 says
# what to expect from GPUs).

# %%
# On Colab: install the course helpers (a no-op elsewhere).
import sys

if "google.colab" in sys.modules:
    # %pip install -q "course-utils[torch,tf] @ git+https://github.com/cnn-course/cnn-image-classification"
    pass

# %% tags=["parameters"]
profile = "auto"          # "smoke" | "laptop" | "full" | "auto" (see 00_setup)
data_source = "auto"      # "auto" | "real" | "synthetic"
data_dir = None           # a folder holding MNIST/raw/ (what torchvision.datasets.MNIST reads)
output_dir = "outputs"    # metrics, checkpoints and logs go here
seed = 42
tiny = False              # True: this profile's code paths, seconds of work (tests; see 00_setup)
# This notebook's own knobs: None takes the value from the profile table.
n_train = None            # training digits used by the DDP runs
n_test = None
epochs = None
batch_size = None         # per rank: the global batch is batch_size x world size
lr = None                 # SGD with momentum 0.9
equivalence_steps = None  # compare 1 and 2 processes after this many steps
keras_n = None            # examples for the Keras runs
keras_steps = None
keras_global_batch = None
launch_timeout_s = None   # any launched job running longer than this is stopped

# %%
import course_utils  # import before TensorFlow: see 00_setup

run = course_utils.setup_notebook("13_data_parallel_training", profile=profile, data_source=data_source,
                                  data_dir=data_dir, output_dir=output_dir, seed=seed, tiny=tiny, n_train=n_train,
                                  n_test=n_test, epochs=epochs, batch_size=batch_size, lr=lr,
                                  equivalence_steps=equivalence_steps, keras_n=keras_n, keras_steps=keras_steps,
                                  keras_global_batch=keras_global_batch, launch_timeout_s=launch_timeout_s)
cfg = run.cfg

# %% [markdown]
# ## 1. Replicated and all-reduced
#
# Data parallelism runs N copies of the same program, one per device (a *rank*). Each rank holds a
# full **replica** of the model and of the optimizer state, reads its own **shard** of every global
# batch, and computes gradients on it. Before the optimizer step, the ranks **all-reduce** the
# gradients: every rank ends up with the mean of the N shard gradients. Same weights + same
# averaged gradient + same optimizer = the same weights again after the step, on every rank, without
# ever sending a weight.
#
# Why is that the global-batch step? The loss of a batch of B = N·b examples is the mean of the
# per-example losses, so with equal shards it is the mean of the N shard means, and the gradient
# of a mean is the mean of the gradients. Check it on 06's CNN with a batch of 64 split in two.

# %%
import numpy as np
import torch
from torch import nn

from course_utils.setup.config import display_path
from course_utils.torch_ import distributed

info = run.get_data("mnist", data_dir=data_dir)
train_ds, test_ds = distributed.mnist_subsets(info.root, cfg.n_train, cfg.n_test, seed)
run.set_counts("mnist", train=len(train_ds), test=len(test_ds))
x = torch.stack([train_ds[i][0] for i in range(64)])
y = torch.tensor([train_ds[i][1] for i in range(64)])


def gradients(model, x, y):
    """The gradient of the mean cross-entropy on (x, y), one tensor per parameter."""
    model.zero_grad()
    nn.functional.cross_entropy(model(x), y).backward()
    return [p.grad.detach().clone() for p in model.parameters()]


torch.manual_seed(seed)
cnn = distributed.MnistCNN()
full_batch = gradients(cnn, x, y)
shards = [gradients(cnn, x[:32], y[:32]), gradients(cnn, x[32:], y[32:])]
print(f"{len(full_batch)} parameter tensors; shard 0 and shard 1 gradients differ by up to "
      f"{max(float((a - b).abs().max()) for a, b in zip(*shards)):.3g}")

# %% [markdown]
# **Exercise.** Write the all-reduce by hand: `shard_grads[r][i]` is rank r's gradient of parameter
# i; return one tensor per parameter, the mean over ranks. The check compares your answer with
# the full-batch gradient: **you should see a difference below 1e-6** (float32 rounding).

# %%
def my_average_gradients(shard_grads):
    # YOUR CODE HERE: replace the line below (hint: zip(*shard_grads), torch.stack(...).mean(0))
    return distributed.shard_gradients_average(shard_grads)


def check_average(fn):
    """Checker for the exercise: shapes first, then values against the full-batch gradient."""
    answer = fn(shards)
    if len(answer) != len(full_batch):
        print(f"✗ expected {len(full_batch)} tensors (one per parameter), got {len(answer)}")
        return distributed.shard_gradients_average(shards)
    if any(a.shape != f.shape for a, f in zip(answer, full_batch)):
        print("✗ each tensor must keep its parameter's shape: average over ranks, not within a tensor")
        return distributed.shard_gradients_average(shards)
    diff = max(float((a - f).abs().max()) for a, f in zip(answer, full_batch))
    if diff > 1e-6:
        summed = max(float((a / 2 - f).abs().max()) for a, f in zip(answer, full_batch))
        print(f"✗ differs from the full-batch gradient by {diff:.3g}"
              + (" (it looks like a sum: divide by the number of ranks)" if summed < 1e-6 else ""))
        return distributed.shard_gradients_average(shards)
    print(f"✓ mean of the shard gradients = full-batch gradient (max difference {diff:.2g})")
    return answer


averaged = check_average(my_average_gradients)
grad_diff = max(float((a - f).abs().max()) for a, f in zip(distributed.shard_gradients_average(shards), full_batch))
run.lesson("shard_mean_is_global_gradient",
           "Averaging the gradients of two equal shards gives the gradient of the whole batch",
           grad_diff < 1e-6, f"max difference {grad_diff:.2g} over {sum(p.numel() for p in cnn.parameters())} numbers");

# %% [markdown]
# ### Where it does not hold: batch norm
#
# The argument needs each example's loss to depend on that example alone. Batch normalisation
# breaks that: in training mode it normalises with the mean and variance *of the batch*, so a
# shard of 32 is normalised with different statistics than the batch of 64. Add `BatchNorm2d` to
# the same network and repeat.

# %%
torch.manual_seed(seed)
cnn_bn = distributed.MnistCNN(batch_norm=True).train()
bn_full = gradients(cnn_bn, x, y)
bn_avg = distributed.shard_gradients_average([gradients(cnn_bn, x[:32], y[:32]), gradients(cnn_bn, x[32:], y[32:])])
bn_diff = max(float((a - f).abs().max()) for a, f in zip(bn_avg, bn_full))
print(f"with BatchNorm: mean of shard gradients vs full batch differ by up to {bn_diff:.3g}")

# per-rank statistics: what each rank's BatchNorm saw in its first layer
first = cnn_bn.conv1[0]
with torch.no_grad():
    feats = [first(x[:32]), first(x[32:]), first(x)]
means = [f.mean(dim=(0, 2, 3)) for f in feats]
print("channel 0 mean seen by rank 0, rank 1, and the whole batch:",
      ", ".join(f"{m[0]:.4f}" for m in means))
print("mean of the two rank means:", f"{((means[0] + means[1]) / 2)[0]:.4f}  <- what SyncBatchNorm uses")
run.lesson("batchnorm_breaks_equivalence",
           "With batch norm, per-rank batch statistics make the averaged shard gradients differ from "
           "the global-batch gradient",
           bn_diff > 100 * max(grad_diff, 1e-9), f"max difference {bn_diff:.3g} with BatchNorm vs {grad_diff:.2g} without");

# %% [markdown]
# Under DDP each rank's `BatchNorm` normalises with its own shard's statistics and keeps its own
# running averages (DDP broadcasts rank 0's buffers at each forward, so the others are overwritten).
# With large per-rank batches this hardly matters; with small ones (detection, segmentation, big
# images, 2–8 per GPU) it hurts. The fix is one line before wrapping the model:
# `model = nn.SyncBatchNorm.convert_sync_batchnorm(model)`: at each BN layer every rank computes its
# shard's mean, variance and count, the ranks gather each other's, and each combines them into the
# statistics of the global batch (the "mean of the two rank means" above, for equal shards).
# It costs one extra collective (an all-gather) per BN layer at every step, and in
# PyTorch it needs GPU (or XPU) tensors, so it cannot run on this CPU machine.
#
# ## 2. The training script
#
# Distributed training does not run inside a notebook kernel: it is N processes, started by a
# launcher. `scripts/train_ddp.py` is a real script (read it: about 200 lines); `torchrun` starts
# one copy per rank and gives each its `RANK`, `WORLD_SIZE`, `LOCAL_RANK` and the address of a
# rendezvous. In it:
#
# - `init_process_group("gloo")` on CPUs, `"nccl"` when every rank has a GPU of its own;
# - the same seed on every rank before building the model (the same initial weights; DDP also
#   broadcasts rank 0's), then `seed + rank` for anything random inside a rank;
# - `DistributedSampler` hands each rank a disjoint shard, `set_epoch(epoch)` reshuffles each epoch;
# - global batch = per-rank batch × world size: with 2 ranks and the same per-rank batch you take
#   half as many steps per epoch, each on twice the data; the learning rate often scales with it;
# - rank 0 alone logs, evaluates, writes the metrics and one checkpoint per epoch (to a temporary
#   file, then renamed: a crash never leaves half a checkpoint), and every rank resumes from the
#   newest checkpoint in the output folder.
#
# The notebook starts the script with `subprocess` (through `distributed.run_command`, which puts the
# launcher and its workers in one process group and kills the whole group on a timeout or an
# interrupt, so no worker is left holding a port). `sys.executable -m torch.distributed.run` is
# `torchrun` from this very environment.

# %%
import json
import re
from pathlib import Path

SCRIPTS = Path(course_utils.__file__).resolve().parents[1] / "scripts"
TRAIN_DDP = SCRIPTS / "train_ddp.py"
ddp_root = run.path("ddp")


def launch_ddp(name, nproc, *extra, max_restarts=0):
    """Run train_ddp.py with torchrun in ddp_root/name (its earlier files removed) and return
    (metrics, output text)."""
    folder = ddp_root / name
    folder.mkdir(parents=True, exist_ok=True)
    distributed.clear_run_files(folder)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(nproc),
           "--max-restarts", str(max_restarts), str(TRAIN_DDP), "--profile", run.profile,
           "--output-dir", str(folder), "--seed", str(seed), "--data-source", run.data_source,
           "--epochs", str(cfg.epochs), "--lr", str(cfg.lr), "--n-train", str(cfg.n_train),
           "--n-test", str(cfg.n_test), *map(str, extra)]
    if data_dir is not None:
        cmd += ["--data-dir", str(data_dir)]
    result = distributed.run_command(cmd, timeout=cfg.launch_timeout_s)
    (folder / "torchrun.log").write_text(result.stdout)
    return json.loads((folder / distributed.METRICS_NAME).read_text()), result.stdout


def show_log(text, keep=("MNIST", "[rank ", "global batch", "epoch ", "resumed", "metrics ->")):
    """The lines of a torchrun log that matter here (tracebacks and warnings left out; torchrun's
    own log prefix and this machine's folders shortened)."""
    for line in text.splitlines():
        if line.startswith(keep) or "exitcode" in line:
            if "exitcode" in line and "] " in line:
                # the process id changes with every run: it says nothing to a reader
                line = "torchrun: " + line.split("] ", 1)[1].split(" of binary:")[0].split(" (pid:")[0]
            if "metrics -> " in line:
                head, path = line.split("metrics -> ", 1)
                line = f"{head}metrics -> {display_path(path)}"
            print(line)


global_batch = cfg.batch_size * 2
ddp2, log2 = launch_ddp("world2", 2, "--global-batch", global_batch, "--snapshot-step", cfg.equivalence_steps)
show_log(log2)

# %% [markdown]
# Two lines start with `[rank 0]` and `[rank 1]`: each rank printed them, on purpose, to show its
# shard. Every other line comes from rank 0 alone. The same run with one process, at the same
# global batch:

# %%
ddp1, log1 = launch_ddp("world1", 1, "--global-batch", global_batch, "--snapshot-step", cfg.equivalence_steps)
show_log(log1)

# %% [markdown]
# ## 3. Equivalence: 1 process at batch B = 2 processes at B/2
#
# Both runs started from the same weights and saw the same global batches (the sampler's
# permutation depends on the seed and the epoch, not on the number of ranks; with N ranks,
# rank r takes the examples at positions r, r + N, r + 2N, ... of it). Both saved their weights
# after the same number of steps. If DDP does what
# section 1 says, they are the same weights, up to float rounding.

# %%
snap = lambda d, w: torch.load(ddp_root / d / f"{distributed.SNAPSHOT_PREFIX}{cfg.equivalence_steps}_world{w}.pt",
                               weights_only=True)
param_diff = distributed.max_param_diff(snap("world1", 1), snap("world2", 2))
print(f"after {cfg.equivalence_steps} SGD steps at global batch {global_batch}: "
      f"max |w(1 process) - w(2 processes)| = {param_diff:.2g}")
loss_gap = abs(ddp1["final_train_loss"] - ddp2["final_train_loss"])
print(f"after {cfg.epochs} epochs: training loss {ddp1['final_train_loss']:.5f} (1 process) vs "
      f"{ddp2['final_train_loss']:.5f} (2 processes); test accuracy {ddp1['final_test_acc']:.4f} vs "
      f"{ddp2['final_test_acc']:.4f}")
run.lesson("ddp_equals_single_process",
           f"{cfg.equivalence_steps} DDP steps with 2 processes at batch B/2 give the weights of 1 process at batch B",
           param_diff <= 1e-5, f"max parameter difference {param_diff:.2g} (tolerance 1e-5)");

# %% [markdown]
# ## 4. Scaling: images per second
#
# Each run timed its training epochs (without evaluation) and counted the images of the global
# batches it processed.

# %%
images_per_s = {1: ddp1["images_per_s"], 2: ddp2["images_per_s"]}
for w, ips in images_per_s.items():
    print(f"world size {w}: {ips:7.0f} images/s ({w} process(es) x {ddp2['threads_per_rank']} thread, "
          f"backend {ddp2['backend']}, device {ddp2['device']})")
print(f"speed-up with 2 processes: {images_per_s[2] / images_per_s[1]:.2f}x")

# %% [markdown]
# Read these numbers for what they are. Each rank here uses one CPU thread, so two processes use
# both cores and one process uses one: the speed-up measures "a second core", not a second
# accelerator, and one process with two threads would get part of it without any DDP. On a shared
# or busy machine the numbers move from run to run; they are printed, never asserted.
#
# On GPUs the picture changes: each rank computes on its own GPU and NCCL all-reduces the
# gradients over NVLink or InfiniBand while the backward pass is still running (DDP overlaps
# communication with computation, bucket by bucket). Data-parallel training of a CNN typically
# scales close to linearly with the number of GPUs as long as the per-GPU batch keeps each GPU
# busy and the input pipeline keeps up; a network with many parameters and little computation
# (large fully connected layers) scales worse, since the all-reduce grows with the parameter count.
#
# ## 5. The classic mistakes, by their symptoms
#
# **No `set_epoch`.** `DistributedSampler` shuffles with a generator seeded by `seed + epoch`. If
# the loop never calls `set_epoch`, the epoch stays 0: every epoch repeats the same order.

# %%
from torch.utils.data import DistributedSampler


def first_indices(sampler, epoch, k=8, call_set_epoch=True):
    if call_set_epoch:
        sampler.set_epoch(epoch)
    return list(sampler)[:k]


rank0 = DistributedSampler(train_ds, num_replicas=2, rank=0, shuffle=True, seed=seed)
forgot = [first_indices(rank0, e, call_set_epoch=False) for e in range(3)]
right = [first_indices(DistributedSampler(train_ds, num_replicas=2, rank=0, seed=seed), e) for e in range(3)]
for e in range(3):
    print(f"epoch {e}: without set_epoch {forgot[e]} | with set_epoch {right[e]}")
same_order = forgot[0] == forgot[1] == forgot[2]
run.lesson("set_epoch_reshuffles", "Without set_epoch every epoch repeats the same order; with it the order changes",
           same_order and right[0] != right[1] != right[2],
           f"without: identical first indices in 3 epochs ({same_order}); with: {right[0][:3]} vs {right[1][:3]}");

# %% [markdown]
# **Every rank reading the whole dataset.** With a plain shuffling `DataLoader` on each rank
# instead of a `DistributedSampler`, each rank walks through all the data: an "epoch" is N passes,
# N times slower, and the ranks' batches overlap. The symptom: a world of 2 takes as many steps
# per epoch as a world of 1.

# %%
shard_sets = [set(DistributedSampler(train_ds, num_replicas=2, rank=r, seed=seed)) for r in range(2)]
whole = set(range(len(train_ds)))
print(f"DistributedSampler: rank 0 has {len(shard_sets[0])}, rank 1 has {len(shard_sets[1])} examples, "
      f"{len(shard_sets[0] & shard_sets[1])} in common, together {len(shard_sets[0] | shard_sets[1])} of {len(whole)}")
print(f"plain DataLoader on each rank: each has {len(whole)}, {len(whole)} in common")
run.lesson("sampler_shards_disjoint", "DistributedSampler gives each rank a disjoint shard that together cover the data",
           not (shard_sets[0] & shard_sets[1]) and (shard_sets[0] | shard_sets[1]) == whole,
           f"shards of {len(shard_sets[0])} and {len(shard_sets[1])}, overlap {len(shard_sets[0] & shard_sets[1])}");

# %% [markdown]
# **Every rank logging and saving.** The two `[rank r]` lines in section 2 show what every print
# looks like when each rank prints: duplicated, and interleaved in any order. Saving from every
# rank is worse: N processes writing the same checkpoint file at the same moment can leave a file
# mixed from two writers. The script logs and saves from rank 0 only; count what the 2-process run
# printed and wrote.

# %%
# counted anywhere in the log: the ranks share one pipe, so a line may begin in the middle of another
per_rank = {r: log2.count(f"[rank {r}] shard") for r in range(2)}
epoch_lines = len(re.findall(r"epoch \d+/\d+:", log2))
ckpts = sorted(p.name for p in (ddp_root / "world2").glob(f"{distributed.CHECKPOINT_PREFIX}*.pt"))
print(f"per-rank line printed by rank 0: {per_rank[0]}x, by rank 1: {per_rank[1]}x; "
      f"epoch lines: {epoch_lines} for {cfg.epochs} epochs; checkpoints: {ckpts}")
run.lesson("rank0_logs_and_saves", "Rank 0 alone logs the epochs and writes one checkpoint per epoch",
           epoch_lines == cfg.epochs and len(ckpts) == cfg.epochs and per_rank == {0: 1, 1: 1},
           f"{epoch_lines} epoch lines and {len(ckpts)} checkpoints for {cfg.epochs} epochs");

# %% [markdown]
# **Per-rank batch-norm statistics**: section 1 showed the symptom (each rank normalises with its
# own shard's mean, and the averaged gradients are no longer the global-batch gradient) and the
# fix (`SyncBatchNorm`).
#
# ## 6. Fault tolerance: a worker dies, the job goes on
#
# On many machines for many hours, something fails: a node reboots, a process runs out of memory.
# `torchrun --max-restarts 1` watches its workers; when one exits with an error it stops the
# others and starts the whole group again (a new rendezvous). That only helps if the script
# resumes: here every rank loads the newest checkpoint in its output folder. The flag
# `--fail-once-at-step` makes rank 1 exit in the middle of the last epoch, on the first attempt only.

# %%
fail_step = (cfg.epochs - 1) * (len(train_ds) // global_batch) + max(1, len(train_ds) // global_batch // 2)
ddp_fault, log_fault = launch_ddp("fault", 2, "--global-batch", global_batch, "--fail-once-at-step", fail_step,
                                  max_restarts=1)
show_log(log_fault)
resumed = ddp_fault["resumed_from"] is not None and ddp_fault["attempt"] == 1
final_diff = distributed.max_param_diff(
    torch.load(distributed.checkpoint_path(ddp_root / "fault", cfg.epochs), weights_only=True)["model"],
    torch.load(distributed.checkpoint_path(ddp_root / "world2", cfg.epochs), weights_only=True)["model"])
print(f"resumed from the checkpoint after epoch {ddp_fault['resumed_from']} on attempt {ddp_fault['attempt']}; "
      f"final weights vs the uninterrupted run: max difference {final_diff:.2g}; test accuracy "
      f"{ddp_fault['final_test_acc']:.4f} vs {ddp2['final_test_acc']:.4f}")
run.lesson("resume_after_failure", "After a worker failure, torchrun restarts the group and training resumes "
           "from the last checkpoint and ends where an uninterrupted run ends",
           resumed and final_diff <= 1e-5,
           f"resumed_from={ddp_fault['resumed_from']}, attempt {ddp_fault['attempt']}, final weight difference {final_diff:.2g}");

# %% [markdown]
# The work since the last checkpoint (half an epoch) was done twice: checkpoint often enough that
# losing that much is cheap. Resuming gives the same weights because everything the next epoch
# depends on is in the checkpoint (weights, the optimizer's momentum, the epoch, which fixes the
# sampler's order) and the rest is seeded. A job whose data order or augmentation depends on
# unsaved state resumes to a *different* run.
#
# ## 7. Keras 3 on TensorFlow: `tf.distribute`
#
# Keras (with the TensorFlow backend) distributes through `tf.distribute` strategies. The
# TensorFlow runs go in their own processes (`scripts/train_keras_multiworker.py`): this kernel has
# loaded PyTorch, and a separate process is the simplest way to keep both frameworks healthy. Both
# use a small dense network on flattened MNIST digits, plain SGD, no shuffling, and compare the loss
# of each step with single-device training at the same global batch.
#
# - **`MirroredStrategy`** (one machine, several devices): build and compile the model inside
#   `strategy.scope()`, call `model.fit` as usual; Keras splits each global batch across the
#   replicas and all-reduces the gradients. Here the "devices" are two logical CPU devices made with
#   `tf.config.set_logical_device_configuration`; with GPUs (`full` profile) it mirrors over them.
# - **`MultiWorkerMirroredStrategy`** (several machines): each worker process reads `TF_CONFIG`
#   (the cluster's addresses and its own index) and they all-reduce over the network. In Keras 3,
#   `model.fit` under this strategy is reported to fail ("Attempt to convert a value (PerReplica…)
#   to a Tensor", open upstream as keras-team/keras#20585), so the workers run a custom training
#   step: `strategy.run` on each replica, `tf.nn.compute_average_loss` (divide by the *global*
#   batch), `experimental_distribute_dataset` to shard the input.

# %%
flat_x = np.stack([train_ds[i][0].numpy().reshape(-1) for i in range(min(cfg.keras_n, len(train_ds)))])
flat_y = np.array([train_ds[i][1] for i in range(len(flat_x))])
keras_dir = run.path("keras_distribute")
keras_dir.mkdir(parents=True, exist_ok=True)
np.savez(keras_dir / "mnist_flat.npz", x=flat_x.astype("float32"), y=flat_y)


def launch_keras(mode):
    cmd = [sys.executable, str(SCRIPTS / "train_keras_multiworker.py"), "--mode", mode, "--data",
           str(keras_dir / "mnist_flat.npz"), "--output-dir", str(keras_dir), "--steps", str(cfg.keras_steps),
           "--global-batch", str(cfg.keras_global_batch), "--seed", str(seed),
           "--timeout-s", str(cfg.launch_timeout_s)] + (["--use-gpus"] if run.profile == "full" else [])
    distributed.run_command(cmd, timeout=cfg.launch_timeout_s + 30)
    return json.loads((keras_dir / f"keras_{mode}.json").read_text())


mirrored = launch_keras("mirrored")
print(f"MirroredStrategy: {mirrored['replicas']} replicas {mirrored['devices']}; global batch "
      f"{mirrored['global_batch']}, {mirrored['steps']} steps; max |loss - single device| = "
      f"{mirrored['max_loss_diff_vs_single']:.2g}")
run.lesson("keras_mirrored_matches_single", "MirroredStrategy + model.fit over 2 replicas follows single-device training",
           mirrored["replicas"] == 2 and mirrored["max_loss_diff_vs_single"] <= 1e-4,
           f"{mirrored['replicas']} replicas, max loss difference {mirrored['max_loss_diff_vs_single']:.2g} "
           f"over {mirrored['steps']} steps");

# %%
multi = launch_keras("multiworker")
print(f"MultiWorkerMirroredStrategy: {multi['num_workers']} worker processes on localhost ports {multi['ports']}, "
      f"{multi['replicas']} replicas in sync; workers agree: {multi['workers_agree']}; "
      f"max |loss - single device| = {multi['max_loss_diff_vs_single']:.2g}")
print("step losses (2 workers):", [round(v, 4) for v in multi["losses"][:5]], "...")
print("step losses (1 device): ", [round(v, 4) for v in multi["single_device_losses"][:5]], "...")
run.lesson("keras_multiworker_matches_single", "Two MultiWorkerMirroredStrategy workers with a custom step "
           "follow single-device training at the same global batch",
           multi["num_workers"] == 2 and multi["workers_agree"] and multi["max_loss_diff_vs_single"] <= 1e-4,
           f"{multi['num_workers']} workers, max loss difference {multi['max_loss_diff_vs_single']:.2g} "
           f"over {multi['steps']} steps");

# %% [markdown]
# For training across machines the Keras team now points to the **JAX backend** and its
# `keras.distribution` API (`DataParallel`, and `ModelParallel` with a `LayoutMap` for models that
# do not fit on one device), which keeps `model.fit` working on many hosts. The course stays on the
# TensorFlow backend; moving a Keras model there means setting `KERAS_BACKEND=jax` before importing
# Keras and replacing the strategy scope with `keras.distribution.set_distribution(...)`.
#
# ## 8. Going multi-node
#
# Nothing in `train_ddp.py` changes between one machine and many: only the launch does. The
# runnable files are in `scripts/multinode/`:
#
# - `torchrun_two_nodes.sh`: the same command on both machines, with `--nnodes 2 --node-rank 0|1
#   --rdzv-backend c10d --rdzv-endpoint HOST0:29500 --rdzv-id JOB` instead of `--standalone`;
# - `slurm_ddp.sbatch`: a SLURM job of 2 nodes × 4 GPUs; `srun` starts one `torchrun` per node and
#   the first node of the allocation hosts the rendezvous;
# - `keras_two_machines.sh`: the `TF_CONFIG` of a two-machine cluster (the same worker list on both,
#   a different `task.index`) and the worker command.
#
# What a cluster adds: **shared storage** for the data and the checkpoints (a restarted job may land
# on other nodes, and they must find the last checkpoint); a network between the nodes that NCCL
# can use (InfiniBand or fast Ethernet; `NCCL_SOCKET_IFNAME` names the interface,
# `NCCL_DEBUG=INFO` shows what NCCL chose); open ports for the rendezvous; and a scheduler that
# restarts or requeues jobs, which is why resuming from the newest checkpoint matters.

# %%
for name in ("torchrun_two_nodes.sh", "slurm_ddp.sbatch", "keras_two_machines.sh"):
    text = (SCRIPTS / "multinode" / name).read_text()
    print(f"--- scripts/multinode/{name}: the launch line(s)")
    print("\n".join(line for line in text.splitlines() if line.strip().startswith(("torchrun", "srun", "exec", "--", "export TF", "scripts/"))))

# %% [markdown]
# ## Questions
#
# Answer each in two or three sentences before you open the model answer.
#
# **1. Two processes at batch 32 each reached the same weights as one process at batch 64. Why,
# and what would change if each process used batch 64?**
#
# <details><summary>Answer</summary>
#
# DDP averages the gradients of the two shards; the mean of two means over 32 examples each is the
# mean over the 64 examples, so each step is the single-process step on the global batch. With 64
# per process the global batch becomes 128: a different optimization (fewer steps per epoch, a
# different noise level), which usually needs its learning rate retuned.
#
# </details>
#
# **2. What goes wrong if you forget `sampler.set_epoch(epoch)`, and why is it easy to miss?**
#
# <details><summary>Answer</summary>
#
# `DistributedSampler` shuffles with a seed derived from the epoch number; without `set_epoch`
# every epoch sees the same order, so the shuffling that SGD relies on is gone. Nothing crashes and
# the loss still falls, so only checking the order (as section 5 did) reveals it.
#
# </details>
#
# **3. Why does a model with BatchNorm stop matching single-process training under DDP, and what
# fixes it?**
#
# <details><summary>Answer</summary>
#
# Each process normalizes with the mean and variance of its own shard, not of the global batch,
# so the forward pass differs from the single-process one (and each rank's running statistics
# drift apart). `torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)` computes the statistics
# across all processes, at the cost of one more communication per BatchNorm layer.
#
# </details>

# %% [markdown]
# ## What this run showed

# %%
run.show_lessons()

# %%
run.save_metrics({
    "ddp_world_size": ddp2["world_size"],
    "ddp_backend": ddp2["backend"],
    "ddp_max_param_diff_vs_single": param_diff,
    "ddp_images_per_s": images_per_s,
    "ddp_resumed_after_failure": bool(resumed),
    "ddp_final_test_acc": ddp2["final_test_acc"],
    "ddp_fault_final_param_diff": final_diff,
    "ddp_global_batch": global_batch,
    "ddp_threads_per_rank": ddp2["threads_per_rank"],
    "keras_num_workers": multi["num_workers"],
    "keras_max_loss_diff_vs_single": multi["max_loss_diff_vs_single"],
    "keras_mirrored_replicas": mirrored["replicas"],
    "keras_mirrored_max_loss_diff_vs_single": mirrored["max_loss_diff_vs_single"],
})
