# LLaVA-1.5 7B stage 1 (feature alignment): the projector learns to map CLIP features into Vicuna's embedding space
# on LCS-558K captions ("plain" template). CLIP ViT-L/14-336 and Vicuna-7B v1.5 are frozen.
#   python tools/train.py configs/llava/llava-7b-v1.5_pretrain.py            (or tools/dist_train.sh ... 8)
# -> work_dirs/llava-7b-v1.5_pretrain/model/, the start of llava-7b-v1.5_finetune.py.
_base_ = ['_base_/models/llava-7b-v1.5.py', '_base_/datasets/llava_pretrain.py', '_base_/schedules/llava_pretrain.py']

model = dict(
    tokenizer=dict(name_or_path='lmsys/vicuna-7b-v1.5'),
    freeze=('vision_tower', 'language_model'),
)
# The parts start from their own checkpoints (LLaVA's --model_name_or_path / --vision_tower); the projector is new.
init_from = dict(language_model='lmsys/vicuna-7b-v1.5', vision_tower='openai/clip-vit-large-patch14-336')
train_dataloader = dict(dataset=dict(tokenizer='lmsys/vicuna-7b-v1.5', pipeline=_base_.test_pipeline))
