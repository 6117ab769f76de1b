"""transformers llava-hf <-> llava_mm, both ways.

    get_model('llava-hf-dir')                                       # import
    python tools/model_converters/llava_mm2hf.py SRC OUT            # export
    LlavaForConditionalGeneration.from_pretrained(OUT)              # serve with transformers / vLLM
    processor.apply_chat_template(...); model.generate(...)         # ... as transformers users run it
    python tools/model_converters/llava2llava_mm.py OUT BACK        # and back
"""
import json

import pytest
import torch
from converter_testing import load_script, prompt_logits
from safetensors.torch import load_file, save_file
from tiny_checkpoints import CLIP, IMAGE_SIZE, LLAMA
from transformers import (AddedToken, AutoProcessor, AutoTokenizer, CLIPVisionConfig, LlamaConfig, LlavaConfig,
                          LlavaForConditionalGeneration)

from llava_mm import get_model, inference_model
from llava_mm.converters import config_from_dir, iter_safetensors, load_state_dict, read_config
from llava_mm.models import IMAGE_TOKEN_INDEX
from llava_mm.models.prompt import VICUNA_SYSTEM
from llava_mm.testing import train_bpe_tokenizer

ROUND = 'language_model.model.embed_tokens.weight', 'language_model.lm_head.weight'


@pytest.fixture(scope='module')
def hf_dir(tmp_path_factory):
    """A tiny LlavaForConditionalGeneration saved by transformers itself (random weights)."""
    path = tmp_path_factory.mktemp('hf') / 'llava-hf-tiny'
    tokenizer = train_bpe_tokenizer()
    tokenizer.add_tokens(AddedToken('<image>', special=True, normalized=False), special_tokens=True)
    config = LlavaConfig(vision_config=CLIPVisionConfig(**CLIP),
                         text_config=LlamaConfig(vocab_size=len(tokenizer), **LLAMA),
                         image_token_index=len(tokenizer) - 1, vision_feature_layer=-2)
    torch.manual_seed(0)
    model = LlavaForConditionalGeneration(config)
    model.save_pretrained(str(path))
    tokenizer.save_pretrained(str(path))
    return path, model


def test_llava_hf_dir_loads_strictly(hf_dir, image):
    path, hf_model = hf_dir
    model = get_model(str(path))  # strict: any missing / unexpected / mis-shaped key is an error
    ours = model.state_dict()
    theirs = {k: v for k, v in hf_model.state_dict().items() if 'post_layernorm' not in k}
    assert len(ours) == len(theirs)
    assert torch.equal(ours['vision_tower.encoder.layers.1.self_attn.k_proj.weight'],
                       theirs['model.vision_tower.encoder.layers.1.self_attn.k_proj.weight'])
    assert torch.equal(ours['projector.linear_2.bias'], theirs['model.multi_modal_projector.linear_2.bias'])
    assert torch.equal(ours['language_model.lm_head.weight'], theirs['lm_head.weight'])
    assert inference_model(model, str(image), max_new_tokens=3)['pred_caption'] is not None


def test_llava_hf_config_translation(hf_dir):
    path, _ = hf_dir
    cfg = config_from_dir(path)
    assert cfg.model.vision_tower.feature_layer == -2
    assert cfg.model.vision_tower.feature_select == 'patch'
    assert cfg.model.vision_tower.vision_config.hidden_size == CLIP['hidden_size']
    assert cfg.model.projector == dict(type='MLPProjector', in_features=32, out_features=64)
    assert cfg.model.language_model.num_key_value_heads == LLAMA['num_key_value_heads']
    assert cfg.model.tokenizer.name_or_path == str(path)
    # no image processor saved: v1.5 defaults at the tower's resolution
    assert [s['type'] for s in cfg.test_pipeline] == ['LoadLlavaImage', 'PadToSquare', 'ResizeShortestEdge',
                                                      'CenterCropSquare', 'PackLlavaInputs']


def test_hub_spelling_of_keys_loads_too(hf_dir, tmp_path):
    """Published llava-hf checkpoints say vision_tower.vision_model.*, language_model.model.*, ..."""
    path, _ = hf_dir
    hub = tmp_path / 'hub-layout'
    hub.mkdir()
    renamed = {}
    for name, tensor in load_file(str(path / 'model.safetensors')).items():
        if name.startswith('vision_tower.') and not name.startswith('vision_tower.vision_model.'):
            name = 'vision_tower.vision_model.' + name[len('vision_tower.'):]
        renamed[name] = tensor
    assert any(n.startswith('language_model.model.') for n in renamed)
    save_file(renamed, str(hub / 'model.safetensors'))
    for f in ('config.json', 'tokenizer.json', 'tokenizer_config.json'):
        (hub / f).write_bytes((path / f).read_bytes())
    a, b = load_state_dict(str(path)), load_state_dict(str(hub))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_image_processor_becomes_the_pipeline(hf_dir, tmp_path):
    path, _ = hf_dir
    d = tmp_path / 'with-processor'
    d.mkdir()
    for f in path.iterdir():
        (d / f.name).write_bytes(f.read_bytes())
    (d / 'preprocessor_config.json').write_text(json.dumps(dict(
        do_pad=True, size={'shortest_edge': IMAGE_SIZE}, crop_size={'height': IMAGE_SIZE, 'width': IMAGE_SIZE},
        resample=3, image_mean=[0.5, 0.5, 0.5], image_std=[0.25, 0.25, 0.25], do_center_crop=True)))
    cfg = config_from_dir(d)
    assert cfg.test_pipeline[1] == dict(type='PadToSquare', background=(127, 127, 127))
    assert cfg.test_pipeline[2] == dict(type='ResizeShortestEdge', size=IMAGE_SIZE, interpolation='bicubic')
    assert cfg.model.data_preprocessor.mean == (0.5, 0.5, 0.5)


def test_non_llama_language_model_is_refused(hf_dir, tmp_path):
    path, _ = hf_dir
    d = tmp_path / 'mistral'
    d.mkdir()
    raw = json.loads((path / 'config.json').read_text())
    raw['text_config']['model_type'] = 'mistral'
    (d / 'config.json').write_text(json.dumps(raw))
    with pytest.raises(ValueError, match="'mistral'.*LLaMA"):
        config_from_dir(d)


# ---------------------------------------------------------------------------------------------- export
@pytest.fixture(scope='module')
def exported(tiny_v15_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp('export') / 'llava-tiny-hf'
    load_script('llava_mm2hf.py').main([str(tiny_v15_dir), str(out), '--no-progress'])
    return out


def test_export_loads_in_transformers_and_logits_match(tiny_v15_dir, exported, image):
    hf_model, info = LlavaForConditionalGeneration.from_pretrained(str(exported), output_loading_info=True)
    assert not any(info.values()), info
    model = get_model(str(tiny_v15_dir))
    processor = AutoProcessor.from_pretrained(str(exported))
    from PIL import Image
    pixels = processor.image_processor(Image.open(image), return_tensors='pt')['pixel_values']

    # the same prompt ids: llava_mm's marker expanded into one <image> token per image feature
    from mmpretrain.structures import DataSample
    ids = model.build_prompts([DataSample()])[0]
    image_ids = [hf_model.config.image_token_index] * model.vision_tower.num_image_tokens
    hf_ids = sum(([*image_ids] if i == IMAGE_TOKEN_INDEX else [i] for i in ids), [])
    with torch.no_grad():
        theirs = hf_model(input_ids=torch.tensor([hf_ids]), pixel_values=pixels).logits
    ours = prompt_logits(model, image)  # llava_mm's own pipeline + preprocessor on the same file
    vocab = ours.shape[-1]
    assert theirs.shape[:2] == ours.shape[:2]
    torch.testing.assert_close(theirs[..., :vocab], ours, atol=1e-4, rtol=0)
    # padded rows score the mean logit: never the greedy choice
    assert (theirs[..., vocab:].max(-1).values < theirs[..., :vocab].max(-1).values).all()


def test_export_files_and_tokenizer(exported):
    config = json.loads((exported / 'config.json').read_text())
    tokenizer = AutoTokenizer.from_pretrained(str(exported))
    assert tokenizer.convert_tokens_to_ids('<image>') == config['image_token_index']
    assert config['text_config']['vocab_size'] % 64 == 0
    assert config['image_seq_length'] == (IMAGE_SIZE // 14) ** 2
    assert config['llava_mm']['prompt_template'] == 'vicuna_v1'
    names = {n for n, _ in iter_safetensors_hf(exported)}
    assert 'vision_tower.vision_model.post_layernorm.weight' in names
    assert 'multi_modal_projector.linear_1.weight' in names and 'language_model.lm_head.weight' in names


def iter_safetensors_hf(path):
    yield from load_file(str(path / 'model.safetensors')).items()


def test_round_trip_llava_mm_hf_llava_mm_is_tensor_identical(tiny_v15_dir, exported, image, tmp_path):
    """Export, then convert back: every tensor llava_mm has is identical, shapes included (the rows the export
    added for <image> and padding are removed again), and so are the config and the tokenizer's ids."""
    back = load_script('llava2llava_mm.py').main([str(exported), str(tmp_path / 'back'), '--no-progress'])
    source, restored = dict(iter_safetensors(tiny_v15_dir)), dict(iter_safetensors(back))
    assert restored.keys() == source.keys()
    for name, tensor in source.items():
        assert restored[name].dtype == tensor.dtype and torch.equal(restored[name], tensor), name
    a, b = get_model(str(tiny_v15_dir)), get_model(str(back))
    vocab = read_config(tiny_v15_dir).model.language_model.vocab_size
    assert read_config(back).model.language_model.vocab_size == vocab
    assert {n: t.shape for n, t in b.state_dict().items()} == {n: t.shape for n, t in a.state_dict().items()}
    assert b.cfg.test_pipeline == a.cfg.test_pipeline and b.prompt_template == a.prompt_template
    assert len(b.tokenizer) == len(a.tokenizer) == source['language_model.lm_head.weight'].shape[0]
    from mmpretrain.structures import DataSample
    samples = [DataSample(), DataSample(metainfo=dict(question='What color is the cat?'))]
    assert b.build_prompts(samples) == a.build_prompts(samples)
    torch.testing.assert_close(prompt_logits(b, image), prompt_logits(a, image), atol=0, rtol=0)
    assert inference_model(a, str(image)) == inference_model(b, str(image))
    # the export directory itself loads too, with the llava-hf shapes (as any llava-hf model)
    exported_model = get_model(str(exported))
    ours = prompt_logits(a, image)
    torch.testing.assert_close(prompt_logits(exported_model, image)[..., :ours.shape[-1]], ours, atol=0, rtol=0)


def conv_vicuna_v1_prompt(messages, system=VICUNA_SYSTEM):
    """haotian-liu/LLaVA llava/conversation.py, ``conv_vicuna_v1.get_prompt()`` (SeparatorStyle.TWO, sep ' ',
    sep2 '</s>'), transcribed: ``messages`` are ``(role, text)`` with ``None`` text for the turn to generate; the
    first user text carries the image as LLaVA's eval scripts write it, ``'<image>\\n' + question``."""
    seps = [' ', '</s>']
    ret = system + seps[0]
    for i, (role, message) in enumerate(messages):
        if message:
            ret += role + ': ' + message + seps[i % 2]
        else:
            ret += role + ':'
    return ret


CONVERSATIONS = [
    # (transformers messages, add_generation_prompt, LLaVA's (role, text) rounds)
    ([{'role': 'user', 'content': [{'type': 'image'}, {'type': 'text', 'text': 'What is in the picture?'}]}],
     True, [('USER', '<image>\nWhat is in the picture?'), ('ASSISTANT', None)]),
    ([{'role': 'user', 'content': [{'type': 'image'}, {'type': 'text', 'text': 'How many dogs are there?'}]},
      {'role': 'assistant', 'content': [{'type': 'text', 'text': 'Two.'}]},
      {'role': 'user', 'content': [{'type': 'text', 'text': 'What color is the cat?'}]}],
     True, [('USER', '<image>\nHow many dogs are there?'), ('ASSISTANT', 'Two.'), ('USER', 'What color is the cat?'),
            ('ASSISTANT', None)]),
    ([{'role': 'user', 'content': [{'type': 'image'}, {'type': 'text', 'text': 'Is there a person?'}]},
      {'role': 'assistant', 'content': 'yes'}],
     False, [('USER', '<image>\nIs there a person?'), ('ASSISTANT', 'yes')]),
]


@pytest.mark.parametrize('messages,generate,rounds', CONVERSATIONS)
def test_chat_template_renders_llava_vicuna_v1(exported, messages, generate, rounds):
    processor = AutoProcessor.from_pretrained(str(exported))
    text = processor.apply_chat_template(messages, add_generation_prompt=generate, tokenize=False)
    assert text == '<s>' + conv_vicuna_v1_prompt(rounds)  # BOS first; the processor does not add another
    system = [{'role': 'system', 'content': 'You are a helpful assistant.'}]
    assert processor.apply_chat_template(system + messages, add_generation_prompt=generate, tokenize=False) == \
        '<s>' + conv_vicuna_v1_prompt(rounds, system='You are a helpful assistant.')


@pytest.fixture(scope='module', params=['bpe', 'sentencepiece'])
def served(request, tiny_v15_dir, tiny_v15_sp_dir, tmp_path_factory):
    """(llava_mm model, exported dir) for the byte-level BPE and the LLaMA-style SentencePiece tokenizer."""
    src = tiny_v15_dir if request.param == 'bpe' else tiny_v15_sp_dir
    out = tmp_path_factory.mktemp('serve') / f'llava-tiny-hf-{request.param}'
    load_script('llava_mm2hf.py').main([str(src), str(out), '--no-progress'])
    return get_model(str(src)), out


@pytest.mark.parametrize('size', [(45, 70), (70, 45)])  # non-square both ways: v1.5 pads to a square
def test_export_answers_like_llava_mm_through_apply_chat_template(served, size, tmp_path):
    """What a transformers user runs - AutoProcessor, apply_chat_template, generate, no hand-made ids -
    gives llava_mm's prompt ids, pixels and exact greedy answers."""
    import numpy as np
    from mmpretrain.structures import DataSample
    from PIL import Image
    model, out = served
    processor = AutoProcessor.from_pretrained(str(out))
    hf_model = LlavaForConditionalGeneration.from_pretrained(str(out))
    assert processor.tokenizer('A cat.').input_ids[0] == model.tokenizer.bos_token_id  # BOS, as llava_mm's prompts
    path = tmp_path / 'image.png'
    Image.fromarray(np.random.default_rng(sum(size)).integers(0, 255, (*size, 3), dtype=np.uint8)).save(path)
    for question in (None, 'What color is the cat?'):
        sample = DataSample(metainfo=dict(question=question) if question else {})
        messages = [{'role': 'user', 'content': [{'type': 'image', 'path': str(path)},
                                                 {'type': 'text', 'text': model.question_for(sample)}]}]
        inputs = processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=True,
                                               return_dict=True, return_tensors='pt')
        image_ids = [hf_model.config.image_token_index] * model.vision_tower.num_image_tokens
        expected_ids = sum((image_ids if i == IMAGE_TOKEN_INDEX else [i] for i in model.build_prompts([sample])[0]),
                           [])
        assert inputs['input_ids'][0].tolist() == expected_ids
        if question is None:  # the caption prompt: llava_mm's pipeline + preprocessor, then its logits
            ours = prompt_logits(model, path)
            with torch.no_grad():
                theirs = hf_model(**inputs).logits[..., :ours.shape[-1]]
            torch.testing.assert_close(theirs, ours, atol=1e-4, rtol=0)
        generated = hf_model.generate(**inputs)  # generation_config.json: llava_mm's settings, greedy
        answer = processor.decode(generated[0, inputs['input_ids'].shape[1]:], skip_special_tokens=True).strip()
        result = inference_model(model, str(path), question)
        assert answer == (result['pred_answer'] if question else result['pred_caption'])
        assert len(answer) > 0


def test_export_pixels_equal_llava_mm(served, tmp_path):
    import numpy as np
    from PIL import Image
    model, out = served
    processor = AutoProcessor.from_pretrained(str(out))
    for size in ((45, 70), (70, 45), (56, 56)):
        path = tmp_path / f'{size}.png'
        Image.fromarray(np.random.default_rng(size[0]).integers(0, 255, (*size, 3), dtype=np.uint8)).save(path)
        theirs = processor.image_processor(Image.open(path).convert('RGB'), return_tensors='pt')['pixel_values']
        assert torch.equal(theirs, llava_mm_pixels(model, path)), size


def llava_mm_pixels(model, image_path):
    from mmcv.transforms import Compose
    from mmengine.dataset import pseudo_collate
    from mmengine.registry import init_default_scope

    from llava_mm.registry import TRANSFORMS
    init_default_scope('llava_mm')
    pipeline = Compose([TRANSFORMS.build(step) for step in model.cfg.test_pipeline])
    return model.data_preprocessor(pseudo_collate([pipeline({'img_path': str(image_path)})]), False)['images']


def test_export_pad_vocab_to_one_adds_only_the_image_token(tiny_v15_dir, tmp_path):
    out = load_script('llava_mm2hf.py').main([str(tiny_v15_dir), str(tmp_path / 'hf'), '--pad-vocab-to', '1',
                                               '--no-progress'])
    rows = dict(iter_safetensors(tiny_v15_dir))['language_model.lm_head.weight'].shape[0]
    assert json.loads((out / 'config.json').read_text())['text_config']['vocab_size'] == rows + 1


def test_v1_linear_projector_cannot_be_exported(tiny_v1_dir, tmp_path):
    with pytest.raises(ValueError, match='LinearProjector'):
        load_script('llava_mm2hf.py').main([str(tiny_v1_dir), str(tmp_path / 'hf'), '--no-progress'])
    assert not (tmp_path / 'hf').exists()
