"""Keras 3 (TensorFlow backend) data-parallel training with ``tf.distribute`` (taught in
13_data_parallel_training). Each mode trains a small dense classifier on the same data, at the
same global batch, and compares its per-step losses with single-device training:

* ``--mode mirrored``: ``MirroredStrategy`` + ``model.fit`` over the devices of one machine: the
  GPUs if there are any, else two logical CPU devices (``set_logical_device_configuration``).
* ``--mode multiworker``: ``MultiWorkerMirroredStrategy`` with two local worker processes
  (``TF_CONFIG`` on free localhost ports) and a custom training step (``strategy.run``,
  ``tf.nn.compute_average_loss``, ``experimental_distribute_dataset``): Keras 3's ``model.fit``
  under this strategy is reported to fail (keras-team/keras#20585).

    python scripts/train_keras_multiworker.py --mode multiworker --data DATA.npz --output-dir DIR

``DATA.npz`` holds ``x`` (n, features) float32 and ``y`` (n,) int labels. The result goes to
``DIR/keras_<mode>.json``. This process imports TensorFlow only, never PyTorch (nor
course_utils, which loads PyTorch): a separate process is how the course keeps the two apart.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--mode", required=True, choices=("mirrored", "multiworker", "worker"))
    p.add_argument("--data", required=True, help=".npz with x and y")
    p.add_argument("--output-dir", required=True)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--global-batch", type=int, default=64)
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--num-workers", type=int, default=2)
    p.add_argument("--timeout-s", type=int, default=300)
    p.add_argument("--use-gpus", action="store_true", help="mirrored: mirror over the GPUs when there are any")
    # set by the multiworker launcher for its workers
    p.add_argument("--worker-index", type=int, default=0)
    p.add_argument("--ports", default="")
    return p.parse_args(argv)


def free_port(host: str = "127.0.0.1") -> int:
    """Same as course_utils.torch_.distributed.free_port (not imported: it would load PyTorch)."""
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def load_data(path):
    import numpy as np

    d = np.load(path)
    return d["x"].astype("float32"), d["y"].astype("int64")


def build_model(n_features: int, n_classes: int, seed: int):
    import keras

    keras.utils.set_random_seed(seed)  # the same initial weights in every process
    return keras.Sequential([keras.Input((n_features,)), keras.layers.Dense(64, activation="relu"),
                             keras.layers.Dense(n_classes)])


def dataset(x, y, global_batch: int, steps: int):
    import tensorflow as tf

    # no shuffle: every run sees the same global batches in the same order
    return tf.data.Dataset.from_tensor_slices((x, y)).repeat().batch(global_batch, drop_remainder=True).take(steps)


def single_device_losses(x, y, args) -> list[float]:
    """The reference: plain training on one device, per-step loss at the same global batch."""
    import keras
    import tensorflow as tf

    model = build_model(x.shape[1], int(y.max()) + 1, args.seed)
    opt = keras.optimizers.SGD(args.lr)
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    losses = []
    for xb, yb in dataset(x, y, args.global_batch, args.steps):
        with tf.GradientTape() as tape:
            loss = loss_fn(yb, model(xb, training=True))
        grads = tape.gradient(loss, model.trainable_variables)
        opt.apply_gradients(zip(grads, model.trainable_variables))
        losses.append(float(loss))
    return losses


class _StepLosses:
    """Per-step losses from ``model.fit``: Keras logs the running mean of the epoch, so unroll it."""

    def __init__(self):
        import keras

        outer = self
        self.means = []

        class CB(keras.callbacks.Callback):
            def on_train_batch_end(self, batch, logs=None):
                outer.means.append(float(logs["loss"]))

        self.callback = CB()

    def losses(self):
        return [m * (i + 1) - (self.means[i - 1] * i if i else 0.0) for i, m in enumerate(self.means)]


def mirrored(args) -> dict:
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU") if args.use_gpus else []
    if not gpus:
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras

    x, y = load_data(args.data)
    single = single_device_losses(x, y, args)
    if gpus:
        strategy = tf.distribute.MirroredStrategy()
    else:  # NCCL, the default all-reduce, needs GPUs; on CPU devices reduce through one device
        devices = [d.name for d in tf.config.list_logical_devices("CPU")][:2]
        strategy = tf.distribute.MirroredStrategy(devices, cross_device_ops=tf.distribute.ReductionToOneDevice())
    with strategy.scope():
        model = build_model(x.shape[1], int(y.max()) + 1, args.seed)
        model.compile(optimizer=keras.optimizers.SGD(args.lr),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    record = _StepLosses()
    t0 = time.perf_counter()
    model.fit(dataset(x, y, args.global_batch, args.steps), epochs=1, verbose=0, shuffle=False,
              callbacks=[record.callback])
    dist = record.losses()
    return {"mode": "mirrored", "replicas": int(strategy.num_replicas_in_sync),
            "devices": list(strategy.extended.worker_devices), "global_batch": args.global_batch,
            "steps": args.steps, "losses": dist, "single_device_losses": single,
            "max_loss_diff_vs_single": max(abs(a - b) for a, b in zip(dist, single)),
            "fit_s": round(time.perf_counter() - t0, 3)}


def worker(args) -> dict:
    if args.ports:  # local workers; on real machines TF_CONFIG comes from the environment
        os.environ["TF_CONFIG"] = json.dumps({
            "cluster": {"worker": [f"localhost:{p}" for p in args.ports.split(",")]},
            "task": {"type": "worker", "index": args.worker_index}})
    elif "TF_CONFIG" not in os.environ:
        sys.exit("--mode worker needs --ports or a TF_CONFIG in the environment")
    args.worker_index = json.loads(os.environ["TF_CONFIG"])["task"]["index"]
    import keras
    import tensorflow as tf

    strategy = tf.distribute.MultiWorkerMirroredStrategy()  # reads TF_CONFIG, connects to the others
    x, y = load_data(args.data)
    with strategy.scope():
        model = build_model(x.shape[1], int(y.max()) + 1, args.seed)
        opt = keras.optimizers.SGD(args.lr)
    ds = dataset(x, y, args.global_batch, args.steps)
    options = tf.data.Options()  # each worker takes every N-th example of each global batch
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    dist_ds = strategy.experimental_distribute_dataset(ds.with_options(options))

    @tf.function
    def train_step(batch):
        def step_fn(xb, yb):
            with tf.GradientTape() as tape:
                per_example = keras.losses.sparse_categorical_crossentropy(yb, model(xb, training=True),
                                                                           from_logits=True)
                # divide by the GLOBAL batch: summing the replicas' losses gives the global mean
                loss = tf.nn.compute_average_loss(per_example, global_batch_size=args.global_batch)
            grads = tape.gradient(loss, model.trainable_variables)
            opt.apply_gradients(zip(grads, model.trainable_variables))  # all-reduces the gradients
            return loss

        per_replica = strategy.run(step_fn, args=batch)
        return strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica, axis=None)

    t0 = time.perf_counter()
    losses = [float(train_step(b)) for b in dist_ds]
    result = {"worker_index": args.worker_index, "replicas": int(strategy.num_replicas_in_sync),
              "losses": losses, "train_s": round(time.perf_counter() - t0, 3)}
    if args.worker_index == 0:  # the chief also trains the single-device reference, after the others
        result["single_device_losses"] = single_device_losses(x, y, args)
    return result


def multiworker(args) -> dict:
    """Start ``num_workers`` worker processes on free ports, wait, and combine what they wrote."""
    out = Path(args.output_dir)
    ports = ",".join(str(free_port()) for _ in range(args.num_workers))
    procs, results = [], []
    try:
        for i in range(args.num_workers):
            cmd = [sys.executable, __file__, "--mode", "worker", "--worker-index", str(i), "--ports", ports,
                   "--data", args.data, "--output-dir", args.output_dir, "--steps", str(args.steps),
                   "--global-batch", str(args.global_batch), "--lr", str(args.lr), "--seed", str(args.seed)]
            env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "TF_CPP_MIN_LOG_LEVEL": "2"}
            procs.append(subprocess.Popen(cmd, env=env, start_new_session=True))
        deadline = time.monotonic() + args.timeout_s
        for p in procs:
            p.wait(timeout=max(1.0, deadline - time.monotonic()))
        bad = [i for i, p in enumerate(procs) if p.returncode != 0]
        if bad:
            raise RuntimeError(f"workers {bad} failed (exit codes {[procs[i].returncode for i in bad]})")
        for i in range(args.num_workers):
            results.append(json.loads((out / f"keras_worker{i}.json").read_text()))
    finally:
        for p in procs:  # a worker left waiting for its peer would hold a port forever
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
    chief = results[0]
    single = chief["single_device_losses"]
    return {"mode": "multiworker", "num_workers": args.num_workers, "ports": ports,
            "replicas": chief["replicas"], "global_batch": args.global_batch, "steps": args.steps,
            "losses": chief["losses"], "single_device_losses": single,
            "workers_agree": all(r["losses"] == chief["losses"] for r in results),
            "max_loss_diff_vs_single": max(abs(a - b) for a, b in zip(chief["losses"], single)),
            "train_s": chief["train_s"]}


def main(argv=None) -> int:
    args = parse_args(argv)
    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    result = {"mirrored": mirrored, "multiworker": multiworker, "worker": worker}[args.mode](args)
    name = f"keras_worker{args.worker_index}.json" if args.mode == "worker" else f"keras_{args.mode}.json"
    (out / name).write_text(json.dumps(result, indent=1))
    if args.mode != "worker":
        print(json.dumps({k: v for k, v in result.items() if "losses" not in k}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
