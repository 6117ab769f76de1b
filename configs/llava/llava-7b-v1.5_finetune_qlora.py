# LLaVA-1.5 7B stage 2 with QLoRA: the LoRA recipe on a 4-bit NormalFloat (nf4) Vicuna, bf16 compute.
# Needs a CUDA GPU and bitsandbytes (pip install bitsandbytes); elsewhere training stops with a clear error.
_base_ = ['./llava-7b-v1.5_finetune_lora.py']

model = dict(quantization=dict(quant_type='nf4', compute_dtype='bfloat16'))
