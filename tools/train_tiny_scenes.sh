#!/usr/bin/env bash
# Retrain the shipped tiny scenes model (demo/llava-tiny) from nothing, then score it on scenes it never saw:
#   bash tools/train_tiny_scenes.sh [WORK_DIR]          (default work_dirs/llava-tiny-scenes; about 28 min on 2 CPU cores)
# 1. draws 20,000 training scenes (seed 100) into WORK_DIR/data (tools/make_scenes.py) and trains the SentencePiece
#    tokenizer on the scenes' text into WORK_DIR/tokenizer (the same files as demo/llava-tiny's),
# 2. stage 0, vision:   tools/train.py configs/llava/llava-tiny-scenes_vision.py    -> WORK_DIR/vision/vision_tower
# 3. stage 2, finetune: tools/train.py configs/llava/llava-tiny-scenes_finetune.py  -> WORK_DIR/finetune/model
# 4. draws 500 test scenes (seed 2026) into WORK_DIR/test-data and scores the model with the VQA and caption configs.
# Run again after an interruption: finished drawings are reused and each stage resumes from its last checkpoint.
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
WORK="${1:-work_dirs/llava-tiny-scenes}"
PYTHON="${PYTHON:-python}"
export PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}"
start=$(date +%s)

draw() {  # OUT SEED NUM SPLIT [make_scenes options]: a finished drawing (its marker) is reused
    local marker="$1/.drawn-seed$2-n$3-$4"
    if [ -e "$marker" ]; then
        echo "Reusing the scenes in $1"
    else
        "$PYTHON" "$REPO/tools/make_scenes.py" "$1" --seed "$2" --num-images "$3" --split "$4" "${@:5}"
        touch "$marker"
    fi
}

draw "$WORK/data" 100 20000 train2014 --outputs pretrain instruct
"$PYTHON" -c "import sys; from llava_mm.scenes.tokenizer import write_scene_tokenizer; write_scene_tokenizer(sys.argv[1])" \
    "$WORK/tokenizer"
"$PYTHON" "$REPO/tools/train.py" "$REPO/configs/llava/llava-tiny-scenes_vision.py" --work-dir "$WORK/vision" \
    --resume --cfg-options train_dataloader.dataset.data_root="$WORK/data"
"$PYTHON" "$REPO/tools/train.py" "$REPO/configs/llava/llava-tiny-scenes_finetune.py" --work-dir "$WORK/finetune" \
    --resume --cfg-options train_dataloader.dataset.data_root="$WORK/data" \
    init_from.vision_tower="$WORK/vision/vision_tower" model.tokenizer.name_or_path="$WORK/tokenizer" \
    train_dataloader.dataset.tokenizer="$WORK/tokenizer"
trained=$(date +%s)
echo "Training took $(( (trained - start) / 60 )) min $(( (trained - start) % 60 )) s; model: $WORK/finetune/model"

draw "$WORK/test-data" 2026 500 val2014
"$PYTHON" "$REPO/tools/test.py" "$REPO/configs/llava/llava-tiny-scenes_vqa.py" "$WORK/finetune/model" \
    --work-dir "$WORK/test-vqa" --cfg-options test_dataloader.dataset.data_root="$WORK/test-data" \
    model.tokenizer.name_or_path="$WORK/finetune/model"
"$PYTHON" "$REPO/tools/test.py" "$REPO/configs/llava/llava-tiny-scenes_caption.py" "$WORK/finetune/model" \
    --work-dir "$WORK/test-caption" --cfg-options test_dataloader.dataset.data_root="$WORK/test-data" \
    test_evaluator.ann_file="$WORK/test-data/annotations/coco_karpathy_test_gt.json" \
    model.tokenizer.name_or_path="$WORK/finetune/model"
