# LLaVA-1.5 7B stage 2 (visual instruction tuning): projector + Vicuna trained on llava_v1_5_mix665k conversations
# (vicuna_v1 template, images padded to a square), starting from stage 1's model; CLIP stays frozen.
#   python tools/train.py configs/llava/llava-7b-v1.5_finetune.py --amp      (or tools/dist_train.sh ... 8 --amp)
_base_ = ['_base_/models/llava-7b-v1.5.py', '_base_/datasets/llava_instruct.py', '_base_/schedules/llava_finetune.py']

model = dict(
    tokenizer=dict(name_or_path='lmsys/vicuna-7b-v1.5'),
    freeze=('vision_tower', ),
    gradient_checkpointing=True,
)
load_from = 'work_dirs/llava-7b-v1.5_pretrain/model'  # stage 1's output (Vicuna + CLIP + the aligned projector)
train_dataloader = dict(dataset=dict(tokenizer='lmsys/vicuna-7b-v1.5', pipeline=_base_.test_pipeline))
