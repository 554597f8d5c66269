#!/usr/bin/env bash
# Multi-process testing with torchrun:  bash tools/dist_test.sh CONFIG CHECKPOINT NPROC [test.py args]
# For video (VIS) configs use tools/test_tracking.py semantics: CHECKPOINT is passed as --checkpoint.
# Env: NNODES (1), NODE_RANK (0), PORT (29500), MASTER_ADDR (127.0.0.1).
set -eo pipefail
CONFIG=${1:?usage: dist_test.sh CONFIG CHECKPOINT NPROC [args]}
CHECKPOINT=${2:?usage: dist_test.sh CONFIG CHECKPOINT NPROC [args]}
GPUS=${3:?usage: dist_test.sh CONFIG CHECKPOINT NPROC [args]}
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
if python -c "import sys; from mmengine import Config; c = Config.fromfile(sys.argv[1]); \
sys.exit(0 if 'tracker' in c.model or c.model.get('type', '').endswith('VIS') else 1)" "$CONFIG" 2>/dev/null; then
  SCRIPT=(tools/test_tracking.py "$CONFIG" --checkpoint "$CHECKPOINT")
else
  SCRIPT=(tools/test.py "$CONFIG" "$CHECKPOINT")
fi
PYTHONPATH="$ROOT:${PYTHONPATH:-}" \
python -m torch.distributed.run \
    --nnodes="$NNODES" --node_rank="$NODE_RANK" --master_addr="$MASTER_ADDR" \
    --nproc_per_node="$GPUS" --master_port="$PORT" \
    "$ROOT/${SCRIPT[0]}" "${SCRIPT[@]:1}" --launcher pytorch "${@:4}"
