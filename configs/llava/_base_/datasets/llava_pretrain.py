# Stage 1 data: LCS-558K (liuhaotian/LLaVA-Pretrain), LLaVA-1.5's projector-alignment set.
#   data/llava/LLaVA-Pretrain/blip_laion_cc_sbu_558k.json   [{id, image, conversations}]
#   data/llava/LLaVA-Pretrain/images/...
# The `plain` template: <image> + caption + '\n', the instruction discarded, the caption supervised.
_base_ = ['./train_loader.py']
data_root = 'data/llava/LLaVA-Pretrain'
train_dataloader = dict(
    batch_size=32,
    dataset=dict(data_root=data_root, ann_file='blip_laion_cc_sbu_558k.json', data_prefix='images', template='plain'),
)
