"""Tiny checkpoints in the layouts of the projects llava_mm converts from.

Each writer reproduces the *naming and file layout* of the real thing (taken
from the projects' own code: haotian-liu/LLaVA ``LlavaLlamaForCausalLM`` and
``apply_delta``, mmpretrain ``Llava`` + ``VisionTransformer``, transformers
``CLIPVisionModel`` / ``LlamaForCausalLM``) with small random weights, and is
written independently of ``llava_mm.converters`` so the tests check the
converters against them, not against themselves.
"""
import json
from pathlib import Path
from typing import Dict, List

import torch
from safetensors.torch import save_file
from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModel, LlamaConfig, LlamaForCausalLM

from llava_mm.models.prompt import V1_EXTRA_TOKENS
from llava_mm.testing import train_bpe_tokenizer

IMAGE_SIZE = 56
CLIP = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=3, num_attention_heads=4, image_size=IMAGE_SIZE,
            patch_size=14, projection_dim=16, hidden_act='quick_gelu', layer_norm_eps=1e-5)
LLAMA = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=4,
             max_position_embeddings=2048, rms_norm_eps=1e-6, bos_token_id=1, eos_token_id=2, pad_token_id=0,
             tie_word_embeddings=False)


def make_clip_dir(path: Path, seed: int = 1) -> Path:
    """A transformers ``CLIPVisionModel`` directory (float32) with its image processor."""
    torch.manual_seed(seed)
    CLIPVisionModel(CLIPVisionConfig(**CLIP)).save_pretrained(str(path))
    CLIPImageProcessor(size={'shortest_edge': IMAGE_SIZE},
                       crop_size={'height': IMAGE_SIZE, 'width': IMAGE_SIZE}).to_json_file(
                           str(path / 'preprocessor_config.json'))
    return path


def write_shards(path: Path, tensors: Dict[str, torch.Tensor], num_shards: int, fmt: str) -> List[Path]:
    """transformers-style shards + index, as ``save_pretrained`` lays them out."""
    path.mkdir(parents=True, exist_ok=True)
    names = list(tensors)
    per = -(-len(names) // num_shards)
    ext, index_name = ('safetensors', 'model.safetensors.index.json') if fmt == 'safetensors' else \
        ('bin', 'pytorch_model.bin.index.json')
    stem = 'model' if fmt == 'safetensors' else 'pytorch_model'
    weight_map, files = {}, []
    for i in range(num_shards):
        file = f'{stem}-{i + 1:05d}-of-{num_shards:05d}.{ext}'
        shard = {n: tensors[n].contiguous() for n in names[i * per:(i + 1) * per]}
        if fmt == 'safetensors':
            save_file(shard, str(path / file), metadata={'format': 'pt'})
        else:
            torch.save(shard, path / file)
        weight_map.update({n: file for n in shard})
        files.append(path / file)
    (path / index_name).write_text(json.dumps({'metadata': {}, 'weight_map': weight_map}))
    return files


def llama_state_dict(vocab_size: int, seed: int) -> Dict[str, torch.Tensor]:
    torch.manual_seed(seed)
    model = LlamaForCausalLM(LlamaConfig(vocab_size=vocab_size, **LLAMA))
    state_dict = {n: t.to(torch.float16) for n, t in model.state_dict().items()}
    for i in range(LLAMA['num_hidden_layers']):  # what older transformers saved (and LLaVA's files carry)
        state_dict[f'model.layers.{i}.self_attn.rotary_emb.inv_freq'] = torch.rand(8)
    return state_dict


def make_llama_base(path: Path, fmt: str = 'bin', num_shards: int = 2) -> Dict[str, torch.Tensor]:
    """A LLaMA base directory (like huggyllama/llama-7b): float16 shards, tokenizer, config.json."""
    tokenizer = train_bpe_tokenizer()
    state_dict = llama_state_dict(len(tokenizer), seed=2)
    write_shards(path, state_dict, num_shards, fmt)
    LlamaConfig(vocab_size=len(tokenizer), **LLAMA).save_pretrained(str(path))
    tokenizer.save_pretrained(str(path))
    return state_dict


def original_llava_config(vocab_size: int, version: str, vision_tower: str = 'openai/clip-vit-large-patch14',
                          **architecture):
    """config.json of an original LLaVA checkpoint (LLaVA-Lightning delta v1-1 / llava-v1.5)."""
    config = dict(architectures=['LlavaLlamaForCausalLM'], model_type='llava' if version == 'v1' else 'llava_llama',
                  vocab_size=vocab_size, torch_dtype='float16', mm_hidden_size=CLIP['hidden_size'],
                  mm_vision_select_layer=-2, mm_vision_tower=vision_tower, use_mm_proj=True,
                  **{**LLAMA, **architecture})
    if version == 'v1':
        config.update(mm_use_im_start_end=True, mm_use_im_patch_token=True)
    else:
        config.update(mm_use_im_start_end=False, mm_use_im_patch_token=False, mm_projector_type='mlp2x_gelu',
                      mm_vision_select_feature='patch', image_aspect_ratio='pad', mm_patch_merge_type='flat')
    return config


def make_delta(path: Path, base: Dict[str, torch.Tensor], num_shards: int = 3) -> Dict[str, torch.Tensor]:
    """An original LLaVA v1 delta: LLaMA-shaped differences with 3 extra token rows, ``mm_projector``, no
    vision weights, the tokenizer with the image tokens added; float16 safetensors shards."""
    tokenizer = train_bpe_tokenizer(extra_tokens=V1_EXTRA_TOKENS)
    torch.manual_seed(3)
    delta = {}
    for name, tensor in base.items():
        shape = list(tensor.shape)
        if name in ('model.embed_tokens.weight', 'lm_head.weight'):
            shape[0] = len(tokenizer)
        delta[name] = (torch.randn(shape) * 0.01).to(tensor.dtype)
    delta['model.mm_projector.weight'] = (torch.randn(LLAMA['hidden_size'], CLIP['hidden_size']) * 0.1).half()
    delta['model.mm_projector.bias'] = (torch.randn(LLAMA['hidden_size']) * 0.1).half()
    write_shards(path, delta, num_shards, 'safetensors')
    # liuhaotian/LLaVA-Lightning-7B-delta-v1-1's config.json carries the special-token ids of the early LLaMA
    # conversion (bos 0, eos 1, pad -1), not its tokenizer's (unk 0, bos 1, eos 2)
    config = original_llava_config(len(tokenizer), 'v1', bos_token_id=0, eos_token_id=1, pad_token_id=-1)
    (path / 'config.json').write_text(json.dumps(config))
    tokenizer.save_pretrained(str(path))
    return delta


def apply_delta_reference(base: Dict[str, torch.Tensor], delta: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """haotian-liu/LLaVA ``apply_delta`` on state dicts: both in float16, ``param += base`` (over the base's
    rows where the delta added tokens), projector kept, rotary buffers not part of the result."""
    merged = {}
    for name, param in delta.items():
        if name.endswith('rotary_emb.inv_freq'):
            continue
        param = param.to(torch.float16).clone()
        if name not in base:
            assert name in ['model.mm_projector.weight', 'model.mm_projector.bias'], name
        elif param.shape == base[name].shape:
            param += base[name].to(torch.float16)
        else:
            bparam = base[name].to(torch.float16)
            param[:bparam.shape[0], :bparam.shape[1]] += bparam
        merged[name] = param
    return merged


def to_original_llava(state_dict: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """llava_mm (v1.5) weights named as ``LlavaLlamaForCausalLM`` saves them (no vision tower)."""
    out = {}
    for name, tensor in state_dict.items():
        if name.startswith('language_model.'):
            out[name[len('language_model.'):]] = tensor
        elif name.startswith('projector.linear_'):
            index = {'1': '0', '2': '2'}[name[len('projector.linear_')]]
            out[f'model.mm_projector.{index}.' + name.split('.')[-1]] = tensor
    return out


def to_mmpretrain(state_dict: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """llava_mm weights named as mmpretrain's ``Llava`` holds them: ``model.lang_encoder`` (projector inside as
    ``model.mm_projector``), ViT in mmpretrain layout with fused qkv (openai-clip_to_mmpretrain-clip.py)."""
    out = {}
    layers = {'layer_norm1': 'ln1', 'layer_norm2': 'ln2', 'self_attn.out_proj': 'attn.proj',
              'mlp.fc1': 'ffn.layers.0.0', 'mlp.fc2': 'ffn.layers.1'}
    vit = 'model.vision_tower.'
    for name, tensor in state_dict.items():
        if name.startswith('language_model.'):
            out['model.lang_encoder.' + name[len('language_model.'):]] = tensor
        elif name.startswith('projector.linear_1.'):
            suffix = name.split('.')[-1]
            v15 = 'projector.linear_2.weight' in state_dict  # nn.Sequential (v1.5) or one nn.Linear (v1)
            key = ('mm_projector.0.' if v15 else 'mm_projector.') + suffix
            out['model.lang_encoder.model.' + key] = tensor
        elif name.startswith('projector.linear_2.'):
            out['model.lang_encoder.model.mm_projector.2.' + name.split('.')[-1]] = tensor
        elif name == 'vision_tower.embeddings.class_embedding':
            out[vit + 'cls_token'] = tensor.reshape(1, 1, -1)
        elif name == 'vision_tower.embeddings.position_embedding.weight':
            out[vit + 'pos_embed'] = tensor.unsqueeze(0)
        elif name == 'vision_tower.embeddings.patch_embedding.weight':
            out[vit + 'patch_embed.projection.weight'] = tensor
        elif name.startswith('vision_tower.pre_layrnorm.'):
            out[vit + 'pre_norm.' + name.split('.')[-1]] = tensor
        elif '.self_attn.q_proj.' in name:
            i, suffix = name.split('.')[3], name.split('.')[-1]
            parts = [state_dict[name.replace('q_proj', p)] for p in ('q_proj', 'k_proj', 'v_proj')]
            out[f'{vit}layers.{i}.attn.qkv.{suffix}'] = torch.cat(parts)
        elif '.self_attn.k_proj.' in name or '.self_attn.v_proj.' in name:
            continue
        else:
            i, rest = name.split('.')[3], '.'.join(name.split('.')[4:])
            module, suffix = rest.rsplit('.', 1)
            out[f'{vit}layers.{i}.{layers[module]}.{suffix}'] = tensor
    return out
