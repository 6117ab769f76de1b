# LLaVA-1.5 7B stage 2 with LoRA (LLaVA's finetune_lora.sh): rank 128, alpha 256, dropout 0.05 on Vicuna's linear
# layers (never CLIP's), lr 2e-4; the projector trains fully with lr 2e-5.
# -> work_dirs/llava-7b-v1.5_finetune_lora/adapter/; python tools/merge_lora.py ADAPTER OUT makes a model directory.
_base_ = ['./llava-7b-v1.5_finetune.py']

model = dict(lora=dict(r=128, lora_alpha=256, lora_dropout=0.05))
optim_wrapper = dict(optimizer=dict(lr=2e-4), paramwise_cfg=dict(custom_keys={'projector': dict(lr_mult=0.1)}))
