"""Data-parallel training of 06's MNIST CNN with DistributedDataParallel (taught in
13_data_parallel_training).

Launch it with torchrun, which starts one process per rank and gives each its RANK, WORLD_SIZE,
LOCAL_RANK and the rendezvous address:

    torchrun --standalone --nproc_per_node 2 scripts/train_ddp.py --profile smoke --output-dir DIR

(``python -m torch.distributed.run`` is the same program.) What it does:

* gloo on CPUs, NCCL when every local rank has a GPU of its own;
* the same initial weights on every rank (DDP also broadcasts rank 0's at start), per-rank seeds
  for anything random inside a rank;
* a ``DistributedSampler`` gives each rank its own shard; ``set_epoch`` reshuffles every epoch;
* global batch = per-rank batch x world size (``--global-batch`` fixes it instead);
* rank 0 alone logs, evaluates, writes ``DIR/train_ddp.metrics.json`` and one checkpoint per
  epoch (atomically); on start every rank resumes from the newest checkpoint in ``DIR``;
* ``--fail-once-at-step K``: rank 1 exits at global step K of the first attempt, to show
  ``torchrun --max-restarts 1`` restarting the group and the job resuming from its checkpoint.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import timedelta
from pathlib import Path

# Run from a checkout: make the course's package importable without installing it.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
import torch.distributed as dist  # noqa: E402
from torch import nn  # noqa: E402
from torch.nn.parallel import DistributedDataParallel as DDP  # noqa: E402
from torch.utils.data import DataLoader, DistributedSampler  # noqa: E402

from course_utils.data.datasets import get_dataset  # noqa: E402
from course_utils.setup import profiles  # noqa: E402
from course_utils.torch_ import distributed as cud  # noqa: E402
from course_utils.torch_.data import make_loader  # noqa: E402
from course_utils.torch_.train import evaluate, load_checkpoint  # noqa: E402

NOTEBOOK = "13_data_parallel_training"


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--profile", default="smoke", choices=profiles.PROFILE_NAMES)
    p.add_argument("--output-dir", required=True, help="checkpoints and train_ddp.metrics.json go here")
    p.add_argument("--data-source", default=os.environ.get("COURSE_DATA_SOURCE", "auto"),
                   choices=("auto", "real", "synthetic"))
    p.add_argument("--data-dir", default=None, help="a folder holding MNIST/raw/ (else the data layer finds MNIST)")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--batch-size", type=int, default=None, help="per rank (default: the profile's)")
    p.add_argument("--global-batch", type=int, default=None,
                   help="fix the global batch instead (per rank = this / world size)")
    p.add_argument("--lr", type=float, default=None)
    p.add_argument("--n-train", type=int, default=None)
    p.add_argument("--n-test", type=int, default=None)
    p.add_argument("--snapshot-step", type=int, default=0, help="rank 0 saves the weights after this many steps")
    p.add_argument("--fail-once-at-step", type=int, default=0,
                   help="rank 1 exits at this global step, first attempt only")
    p.add_argument("--threads", type=int, default=1, help="torch threads per rank on CPUs")
    p.add_argument("--timeout-s", type=int, default=300, help="a collective waiting longer than this fails")
    p.add_argument("--no-resume", action="store_true", help="ignore checkpoints in --output-dir")
    return p.parse_args(argv)


def say(text: str) -> None:
    """One line in one write: ``print`` writes the text and its newline separately, and two ranks
    sharing a pipe can slip a line in between, gluing two lines into one."""
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def log(rank: int, *msg):
    if rank == 0:  # one voice: N ranks printing the same line make logs unreadable
        say(" ".join(map(str, msg)))


def main(argv=None) -> int:
    args = parse_args(argv)
    if "RANK" not in os.environ:
        sys.exit("train_ddp.py runs under torchrun: torchrun --standalone --nproc_per_node 2 "
                 "scripts/train_ddp.py --profile smoke --output-dir DIR")
    rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    local_rank, local_world = int(os.environ["LOCAL_RANK"]), int(os.environ["LOCAL_WORLD_SIZE"])
    attempt = int(os.environ.get("TORCHELASTIC_RESTART_COUNT", "0"))
    cfg = profiles.settings_for(NOTEBOOK, args.profile, {
        "epochs": args.epochs, "batch_size": args.batch_size, "lr": args.lr, "n_train": args.n_train,
        "n_test": args.n_test})
    if args.global_batch:
        if args.global_batch % world:
            sys.exit(f"--global-batch {args.global_batch} is not divisible by the world size {world}")
        cfg["batch_size"] = args.global_batch // world
    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)

    backend = cud.choose_backend(local_world)
    if backend == "nccl":
        torch.cuda.set_device(local_rank)
        device = torch.device("cuda", local_rank)
    else:
        device = torch.device("cpu")
        # one thread per rank (torchrun's own default): ranks with all cores each would fight over them
        torch.set_num_threads(args.threads)
    dist.init_process_group(backend, store=cud.attempt_store(attempt), rank=rank, world_size=world,
                            timeout=timedelta(seconds=args.timeout_s))
    try:
        return train(args, cfg, rank, world, local_rank, attempt, backend, device, out)
    finally:
        dist.destroy_process_group()


def train(args, cfg, rank, world, local_rank, attempt, backend, device, out) -> int:
    # Data through the course's data layer: rank 0 fetches (and verifies) MNIST, the others wait,
    # then find it in the cache. Two ranks downloading into one folder would corrupt it.
    if rank == 0:
        info = get_dataset("mnist", data_dir=args.data_dir, data_source=args.data_source, seed=args.seed,
                           progress=False)
    dist.barrier()
    if rank != 0:
        info = get_dataset("mnist", data_dir=args.data_dir, data_source=args.data_source, seed=args.seed,
                           progress=False)
    train_ds, test_ds = cud.mnist_subsets(info.root, cfg["n_train"], cfg["n_test"], args.seed)
    log(rank, f"MNIST: {info.source}{' (SYNTHETIC stand-in)' if info.synthetic else ''}, {len(train_ds)} training "
              f"and {len(test_ds)} test digits | {world} ranks, backend {backend}, attempt {attempt}")

    cud.seed_torch(args.seed)
    model = cud.MnistCNN()                 # same seed on every rank: the same initial weights
    optimizer = torch.optim.SGD(model.parameters(), lr=cfg["lr"], momentum=0.9)
    start_epoch, history, resumed_from = 0, [], None
    ckpt_path, ckpt_epoch = (None, 0) if args.no_resume else cud.latest_checkpoint(out)
    if ckpt_path is not None:
        ckpt = load_checkpoint(model, ckpt_path, optimizer)
        start_epoch, history, resumed_from = ckpt["epoch"], ckpt["history"], ckpt_epoch
        log(rank, f"resumed from {ckpt_path.name} (after epoch {ckpt_epoch})")
    torch.manual_seed(args.seed + rank)    # per-rank seed: dropout or augmentation differ per shard
    model = model.to(device)
    ddp = DDP(model, device_ids=[local_rank] if backend == "nccl" else None)

    sampler = DistributedSampler(train_ds, num_replicas=world, rank=rank, shuffle=True, seed=args.seed)
    loader = DataLoader(train_ds, batch_size=cfg["batch_size"], sampler=sampler, drop_last=True)
    test_loader = make_loader(test_ds, batch_size=500)
    criterion = nn.CrossEntropyLoss()
    global_batch = cfg["batch_size"] * world
    say(f"[rank {rank}] shard of {len(sampler)} digits, {len(loader)} batches of {cfg['batch_size']} per epoch, "
        f"seed {args.seed + rank}, device {device}")
    log(rank, f"global batch {global_batch} = {cfg['batch_size']} per rank x {world} ranks")

    step = start_epoch * len(loader)
    train_s, images = 0.0, 0
    for epoch in range(start_epoch, cfg["epochs"]):
        sampler.set_epoch(epoch)            # without it every epoch repeats epoch 0's order
        ddp.train()
        loss_sum = torch.zeros(2, dtype=torch.float64, device=device)
        t0 = time.perf_counter()
        for x, y in loader:
            x, y = x.to(device), y.to(device)
            optimizer.zero_grad()
            loss = criterion(ddp(x), y)
            loss.backward()                 # DDP all-reduces (averages) the gradients here
            optimizer.step()
            step += 1
            loss_sum += torch.tensor([loss.item() * len(y), len(y)], dtype=torch.float64, device=device)
            if args.snapshot_step and step == args.snapshot_step and rank == 0:
                torch.save(model.state_dict(), out / f"{cud.SNAPSHOT_PREFIX}{step}_world{world}.pt")
            if args.fail_once_at_step and step == args.fail_once_at_step and attempt == 0 and rank == min(1, world - 1):
                say(f"[rank {rank}] simulated failure at step {step} (epoch {epoch + 1}): exiting")
                os._exit(1)                 # a crash: no clean-up, no goodbye to the other ranks
        if device.type == "cuda":
            torch.cuda.synchronize()
        epoch_s = time.perf_counter() - t0
        train_s += epoch_s
        images += len(loader) * global_batch
        dist.all_reduce(loss_sum)           # the mean loss over all ranks, not rank 0's shard only
        train_loss = float(loss_sum[0] / loss_sum[1])
        if rank == 0:
            test_loss, test_acc = evaluate(model, test_loader, device, criterion)
            history.append({"epoch": epoch + 1, "train_loss": train_loss, "test_loss": test_loss,
                            "test_acc": test_acc, "epoch_s": round(epoch_s, 3)})
            log(rank, f"epoch {epoch + 1}/{cfg['epochs']}: train loss {train_loss:.4f} | test loss {test_loss:.4f} | "
                      f"test accuracy {test_acc:.4f} | {len(loader) * global_batch / epoch_s:.0f} images/s")
            cud.save_checkpoint_atomic({"epoch": epoch + 1, "model": model.state_dict(),
                                        "optimizer": optimizer.state_dict(), "history": history,
                                        "world_size": world}, cud.checkpoint_path(out, epoch + 1))
        dist.barrier()                      # nobody runs ahead of the checkpoint

    if rank == 0:
        last = history[-1] if history else {}
        metrics = {
            "world_size": world, "backend": backend, "device": str(device), "attempt": attempt,
            "threads_per_rank": torch.get_num_threads(), "epochs": cfg["epochs"],
            "per_rank_batch": cfg["batch_size"], "global_batch": global_batch, "lr": cfg["lr"],
            "steps": step, "n_train": len(train_ds), "n_test": len(test_ds),
            "images_per_s": images / train_s if train_s else None, "train_s": round(train_s, 3),
            "final_train_loss": last.get("train_loss"), "final_test_loss": last.get("test_loss"),
            "final_test_acc": last.get("test_acc"), "resumed_from": resumed_from, "history": history,
            "data_source": info.source, "synthetic": info.synthetic, "profile": args.profile, "seed": args.seed,
        }
        path = out / cud.METRICS_NAME
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(metrics, indent=1))
        os.replace(tmp, path)
        log(rank, f"metrics -> {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
