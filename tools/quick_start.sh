#!/usr/bin/env bash
# Quick start on CPU, no download: generate YouTube-VIS-format videos, train the small SG-Net,
# evaluate it with the local YouTube-VIS metric (prints the AP table), and render the demo
# video of a held-out video. About 9 minutes on 2 CPU cores.
#
#   bash tools/quick_start.sh            # from the repository root, in the installed venv
#
# Env: WORK_DIR (work_dirs/quick_start); DATA (data/generated_ytvis, the config's data_root;
# reused when already there); MAX_ITERS (the config's 2400; fewer for a smoke run).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
CONFIG=configs/sgnet/sgnet_r18_fpn_2x_generated-ytvis.py
DATA=${DATA:-data/generated_ytvis}
WORK_DIR=${WORK_DIR:-work_dirs/quick_start}
OPTIONS=("train_dataloader.dataset.data_root=$DATA/" "val_dataloader.dataset.data_root=$DATA/"
         "test_dataloader.dataset.data_root=$DATA/")
if [ -n "${MAX_ITERS:-}" ]; then OPTIONS+=("train_cfg.max_iters=$MAX_ITERS"); fi
say() { printf '\n==== %s\n' "$*"; }

say "1/4 generated videos in $DATA (train: 48 videos, val: 8 held-out videos, 160x128)"
for split in train val; do
    if [ -f "$DATA/$split/annotations/instances_cocovid.json" ]; then
        echo "$DATA/$split exists, reused"
        continue
    fi
    if [ "$split" = train ]; then n=48; seed=0; else n=8; seed=1; fi
    python tools/dataset_converters/generate_dataset.py ytvis --out-dir "$DATA/$split" \
        --num-videos "$n" --num-frames 10 --size 160 128 --max-objects 3 --min-area 150 \
        --seed "$seed"
done

say "2/4 training $CONFIG on CPU (log every 50 iterations) -> $WORK_DIR"
python tools/train.py "$CONFIG" --work-dir "$WORK_DIR" --cfg-options "${OPTIONS[@]}"
CKPT=$(cat "$WORK_DIR/last_checkpoint")

say "3/4 YouTube-VIS evaluation of $CKPT on the held-out videos"
python tools/test_tracking.py "$CONFIG" --checkpoint "$CKPT" --work-dir "$WORK_DIR/test" \
    --cfg-options "${OPTIONS[@]}" "test_evaluator.outfile_prefix=$WORK_DIR/val_results" 2>&1 \
    | tee "$WORK_DIR/test.log"

say "4/4 demo video of the held-out video_0000"
python tools/video_demo.py "$DATA/val/JPEGImages/video_0000" "$CONFIG" "$CKPT" \
    --out "$WORK_DIR/demo.mp4" --json "$WORK_DIR/demo.json"

say "done: checkpoint $CKPT, results $WORK_DIR/val_results.json, demo $WORK_DIR/demo.mp4"
