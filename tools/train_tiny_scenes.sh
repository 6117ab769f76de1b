#!/usr/bin/env bash
# Retrain the shipped tiny scenes model (demo/llava-tiny) from nothing, then score it on scenes it never saw:
#   bash tools/train_tiny_scenes.sh [WORK_DIR]          (default work_dirs/llava-tiny-scenes; ~NN min on 2 CPU cores)
# 1. draws 20,000 training scenes (seed 100) into WORK_DIR/data (tools/make_scenes.py),
# 2. stage 0, vision:   tools/train.py configs/llava/llava-tiny-scenes_vision.py    -> WORK_DIR/vision/vision_tower
# 3. stage 2, finetune: tools/train.py configs/llava/llava-tiny-scenes_finetune.py  -> WORK_DIR/finetune/model
# 4. draws 500 test scenes (seed 2026) and scores the model with the VQA and caption configs.
# Each stage resumes from its last checkpoint when run again (an interrupted run picks up where it stopped).
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
WORK="${1:-work_dirs/llava-tiny-scenes}"
PYTHON="${PYTHON:-python}"
export PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}"
start=$(date +%s)

draw() {  # OUT SEED NUM [make_scenes options]: draw once; a finished drawing is reused, anything else refused
    if [ -e "$1/annotations/scenes_$4.json" ]; then
        echo "Reusing the scenes in $1"
    else
        "$PYTHON" "$REPO/tools/make_scenes.py" "$1" --seed "$2" --num-images "$3" --split "$4" "${@:5}"
    fi
}

draw "$WORK/data" 100 20000 train2014 --outputs pretrain instruct
"$PYTHON" "$REPO/tools/train.py" "$REPO/configs/llava/llava-tiny-scenes_vision.py" --work-dir "$WORK/vision" \
    --resume --cfg-options train_dataloader.dataset.data_root="$WORK/data"
"$PYTHON" "$REPO/tools/train.py" "$REPO/configs/llava/llava-tiny-scenes_finetune.py" --work-dir "$WORK/finetune" \
    --resume --cfg-options train_dataloader.dataset.data_root="$WORK/data" \
    init_from.vision_tower="$WORK/vision/vision_tower"
trained=$(date +%s)
echo "Training took $(( (trained - start) / 60 )) min $(( (trained - start) % 60 )) s; model: $WORK/finetune/model"

draw "$WORK/test-data" 2026 500 val2014
"$PYTHON" "$REPO/tools/test.py" "$REPO/configs/llava/llava-tiny-scenes_vqa.py" "$WORK/finetune/model" \
    --work-dir "$WORK/test-vqa" --cfg-options test_dataloader.dataset.data_root="$WORK/test-data"
"$PYTHON" "$REPO/tools/test.py" "$REPO/configs/llava/llava-tiny-scenes_caption.py" "$WORK/finetune/model" \
    --work-dir "$WORK/test-caption" --cfg-options test_dataloader.dataset.data_root="$WORK/test-data" \
    test_evaluator.ann_file="$WORK/test-data/annotations/coco_karpathy_test_gt.json"
