# LLaVA-1.5 stage 2: projector + language model, lr 2e-5, global batch 128, 1 epoch, 3% warmup, cosine, wd 0.
_base_ = ['./llava_pretrain.py']
global_batch_size = 128
optim_wrapper = dict(optimizer=dict(lr=2e-5))
