"""The shipped training configs carry LLaVA-1.5's recipe and build; QLoRA refuses clearly without a GPU."""
import pytest
import torch
from mmengine.config import Config

from llava_mm import get_model
from llava_mm.testing import tiny_model_config

REPO = __import__('pathlib').Path(__file__).resolve().parents[2]


def config(name):
    return Config.fromfile(str(REPO / f'configs/llava/llava-7b-v1.5_{name}.py'))


@pytest.mark.parametrize('name, lr, global_batch, template, freeze', [
    ('pretrain', 1e-3, 256, 'plain', ('vision_tower', 'language_model')),
    ('finetune', 2e-5, 128, 'vicuna_v1', ('vision_tower', )),
    ('finetune_lora', 2e-4, 128, 'vicuna_v1', ('vision_tower', )),
    ('finetune_qlora', 2e-4, 128, 'vicuna_v1', ('vision_tower', )),
    ('finetune_scienceqa', 2e-5, 128, 'vicuna_v1', ('vision_tower', )),
])
def test_recipes(name, lr, global_batch, template, freeze):
    cfg = config(name)
    assert cfg.optim_wrapper.optimizer.type == 'AdamW' and cfg.optim_wrapper.optimizer.weight_decay == 0
    assert cfg.optim_wrapper.optimizer.lr == lr and cfg.global_batch_size == global_batch
    assert cfg.train_dataloader.dataset.template == template and tuple(cfg.model['freeze']) == freeze  # (ConfigDict.freeze is addict's method)
    warmup, cosine = cfg.param_scheduler
    assert warmup.type == 'LinearLR' and warmup.end == pytest.approx(0.03 * cfg.train_cfg.max_epochs)
    assert cosine.type == 'CosineAnnealingLR' and cosine.end == cfg.train_cfg.max_epochs
    assert cfg.train_dataloader.sampler.type == 'LengthGroupedSampler'
    pad = [s for s in cfg.train_dataloader.dataset.pipeline if s['type'] == 'PadToSquare']
    assert pad and tuple(pad[0]['background']) == (122, 116, 104)  # v1.5's pad-to-square images
    model = get_model(cfg, device='meta')
    assert sum(p.numel() for p in model.parameters()) == 7_062_900_736
    if 'lora' in name:
        assert dict(cfg.model.lora) == dict(r=128, lora_alpha=256, lora_dropout=0.05)
        assert cfg.optim_wrapper.paramwise_cfg.custom_keys.projector.lr_mult * lr == pytest.approx(2e-5)


def test_qlora_needs_a_gpu():
    if torch.cuda.is_available():
        pytest.skip('this machine has CUDA')
    from llava_mm.registry import MODELS
    from llava_mm.testing import train_bpe_tokenizer
    cfg = tiny_model_config()
    cfg.update(tokenizer=train_bpe_tokenizer(), lora=dict(r=4), quantization=dict(quant_type='nf4'))
    model = MODELS.build(cfg)
    with pytest.raises(RuntimeError, match='QLoRA, 4-bit nf4\\) needs a CUDA GPU.*finetune_lora'):
        model.prepare_for_training()
    with pytest.raises(ValueError, match='set lora= too'):
        MODELS.build({**cfg, 'lora': None})
