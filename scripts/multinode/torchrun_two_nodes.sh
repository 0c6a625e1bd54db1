#!/usr/bin/env bash
# Two machines, N GPUs each, one training job (taught in 13_data_parallel_training).
# Run this same script on both machines, with NODE_RANK=0 on one and NODE_RANK=1 on the other:
#
#   MASTER_ADDR=node0.example.org NODE_RANK=0 bash scripts/multinode/torchrun_two_nodes.sh
#   MASTER_ADDR=node0.example.org NODE_RANK=1 bash scripts/multinode/torchrun_two_nodes.sh
#
# MASTER_ADDR must be reachable from both machines; the port must be open between them.
# OUTPUT_DIR must be on storage both machines see (NFS, Lustre, a cloud bucket mount): rank 0
# writes the checkpoints there, and after a restart any node must be able to read them.
set -euo pipefail
: "${MASTER_ADDR:?set MASTER_ADDR to the host name of node 0}"
: "${NODE_RANK:?set NODE_RANK to 0 on one machine and 1 on the other}"
NNODES=${NNODES:-2}
NPROC=${NPROC:-$(nvidia-smi -L 2>/dev/null | wc -l)}   # one process per GPU
NPROC=${NPROC/#0/1}
PORT=${PORT:-29500}
OUTPUT_DIR=${OUTPUT_DIR:-/shared/checkpoints/mnist_ddp}
PROFILE=${PROFILE:-full}

# NCCL: name the network interface the nodes talk over when there are several (ip addr shows them);
# NCCL_DEBUG=INFO prints which transport (InfiniBand, sockets) NCCL picked.
export NCCL_SOCKET_IFNAME=${NCCL_SOCKET_IFNAME:-eth0}
export NCCL_DEBUG=${NCCL_DEBUG:-WARN}

exec torchrun \
  --nnodes "$NNODES" --nproc-per-node "$NPROC" --node-rank "$NODE_RANK" \
  --rdzv-backend c10d --rdzv-endpoint "$MASTER_ADDR:$PORT" --rdzv-id mnist_ddp \
  --max-restarts 3 \
  scripts/train_ddp.py --profile "$PROFILE" --output-dir "$OUTPUT_DIR"
