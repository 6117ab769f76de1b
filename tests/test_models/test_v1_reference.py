"""LLaVA v1 path against an independent reference computed here, the way original LLaVA v1 did it.

Reference: transformers' ``CLIPVisionModel`` (``hidden_states[-2]``, CLS dropped)
-> ``F.linear`` -> prompt with 256 ``<im_patch>`` tokens between ``<im_start>``
and ``<im_end>`` tokenized in one go -> the patch embeddings overwritten with
the image features -> a separately built ``LlamaForCausalLM`` decoded greedily
token by token without a KV cache.
"""
import torch
import torch.nn.functional as F
from mmengine.dataset import pseudo_collate
from mmpretrain.structures import DataSample
from transformers import CLIPVisionModel, LlamaConfig, LlamaForCausalLM

from llava_mm import get_model, inference_model
from llava_mm.apis.inference import _build_pipeline, _load_input
from llava_mm.models.prompt import PROMPT_TEMPLATES


def strip_prefix(state_dict, prefix):
    return {k[len(prefix):]: v for k, v in state_dict.items() if k.startswith(prefix)}


def reference_generate(model, pixels, question, max_new_tokens):
    sd = model.state_dict()
    cfg = model.cfg.model
    clip = CLIPVisionModel(model.vision_tower.config).eval()
    missing, _ = clip.load_state_dict(strip_prefix(sd, 'vision_tower.'), strict=False)
    assert set(missing) == {'post_layernorm.weight', 'post_layernorm.bias'}
    llama_cfg = {k: v for k, v in cfg.language_model.items() if k != 'type'}
    llama = LlamaForCausalLM(LlamaConfig(**llama_cfg)).eval()
    llama.load_state_dict(strip_prefix(sd, 'language_model.'))
    tokenizer = model.tokenizer

    with torch.no_grad():
        hidden = clip(pixel_values=pixels[None], output_hidden_states=True).hidden_states[-2][:, 1:]
        features = F.linear(hidden, sd['projector.linear_1.weight'], sd['projector.linear_1.bias'])[0]
        assert features.shape[0] == 256  # (224 / 14) ** 2 patches

        prompt = PROMPT_TEMPLATES['llava_v1'].replace('{question}', question).replace('<image>', '<im_patch>' * 256)
        ids = [tokenizer.bos_token_id] + tokenizer(prompt, add_special_tokens=False).input_ids
        start = ids.index(tokenizer.convert_tokens_to_ids('<im_start>'))
        assert ids[start + 257] == tokenizer.convert_tokens_to_ids('<im_end>')
        embeds = llama.get_input_embeddings()(torch.tensor(ids))
        embeds = torch.cat([embeds[:start + 1], features, embeds[start + 257:]])

        new_tokens = []
        for _ in range(max_new_tokens):
            logits = llama(inputs_embeds=embeds[None]).logits[0, -1]
            token = int(logits.argmax())
            if token == tokenizer.eos_token_id:
                break
            new_tokens.append(token)
            embeds = torch.cat([embeds, llama.get_input_embeddings()(torch.tensor([token]))])
    return tokenizer.decode(new_tokens, skip_special_tokens=True).strip()


def test_v1_matches_reference(tiny_v1_dir, image_files):
    model = get_model(tiny_v1_dir)
    assert model.vision_tower.num_image_tokens == 256
    questions = ['What is it?', 'How many dogs are there in the picture?', 'Is there a cat?']
    for path, question in zip(image_files, questions):
        data = _build_pipeline(model, from_file=True)(_load_input(path))
        pixels = model.data_preprocessor(pseudo_collate([data]))['images'][0]
        expected = reference_generate(model, pixels, question, max_new_tokens=12)
        assert inference_model(model, path, question, max_new_tokens=12)['pred_answer'] == expected
        assert expected  # a non-empty, image-dependent answer


def test_v1_caption_uses_im_start_end(tiny_v1_dir):
    model = get_model(tiny_v1_dir)
    ids = model.build_prompts([DataSample()])[0]
    tok = model.tokenizer
    image_at = ids.index(-200)
    assert ids[0] == tok.bos_token_id and ids.count(tok.bos_token_id) == 1
    assert ids[image_at - 1] == tok.convert_tokens_to_ids('<im_start>')
    assert ids[image_at + 1] == tok.convert_tokens_to_ids('<im_end>')
