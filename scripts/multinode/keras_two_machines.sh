#!/usr/bin/env bash
# Keras MultiWorkerMirroredStrategy on two machines (taught in 13_data_parallel_training).
# Run on both machines, with WORKER_INDEX=0 on the first (the chief) and 1 on the second:
#
#   HOST0=node0.example.org HOST1=node1.example.org WORKER_INDEX=0 bash scripts/multinode/keras_two_machines.sh
#   HOST0=node0.example.org HOST1=node1.example.org WORKER_INDEX=1 bash scripts/multinode/keras_two_machines.sh
#
# Both machines list the same cluster, in the same order; only "task.index" differs. Each waits
# until the other has started. DATA must exist on both (shared storage, or a copy on each).
set -euo pipefail
: "${HOST0:?}" "${HOST1:?}" "${WORKER_INDEX:?0 on the chief, 1 on the other machine}"
PORT=${PORT:-12345}
DATA=${DATA:-/shared/data/mnist_flat.npz}
OUTPUT_DIR=${OUTPUT_DIR:-/shared/outputs/keras_multiworker}

export TF_CONFIG="{\"cluster\": {\"worker\": [\"$HOST0:$PORT\", \"$HOST1:$PORT\"]},
                   \"task\": {\"type\": \"worker\", \"index\": $WORKER_INDEX}}"
exec python scripts/train_keras_multiworker.py --mode worker --data "$DATA" --output-dir "$OUTPUT_DIR" \
  --steps 200 --global-batch 256
