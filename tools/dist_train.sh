#!/usr/bin/env bash
# Train with N processes on this machine (or on several with NNODES / NODE_RANK / MASTER_ADDR):
#   tools/dist_train.sh CONFIG N [tools/train.py options, e.g. --work-dir W --amp]
# GPUs use NCCL; without CUDA tools/train.py switches to gloo, so this also runs on CPUs.
# The config's global_batch_size holds for any N (gradient accumulation makes up the difference).
set -euo pipefail
if [ $# -lt 2 ]; then
    echo "usage: $0 CONFIG NUM_PROCESSES [tools/train.py options]" >&2
    exit 2
fi
CONFIG=$1
NPROC=$2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}
PYTHON=${PYTHON:-python}

PYTHONPATH="$(dirname "$0")/..${PYTHONPATH:+:$PYTHONPATH}" \
exec "$PYTHON" -m torch.distributed.run \
    --nnodes="$NNODES" \
    --node_rank="$NODE_RANK" \
    --master_addr="$MASTER_ADDR" \
    --nproc_per_node="$NPROC" \
    --master_port="$PORT" \
    "$(dirname "$0")/train.py" "$CONFIG" --launcher pytorch "${@:3}"
