"""Parity with transformers' LlavaForConditionalGeneration, an independent implementation.

A tiny llava-hf directory is saved with ``save_pretrained``; ``get_model(dir)``
+ ``inference_model`` must give exactly the text transformers' greedy
``generate`` gives on the same prompt ids and pixels, and the same logits.
"""
import pytest
import torch
from mmengine.dataset import pseudo_collate
from mmpretrain.structures import DataSample
from transformers import (CLIPVisionConfig, LlamaConfig, LlavaConfig, LlavaForConditionalGeneration,
                          LlavaImageProcessorPil)

from llava_mm import get_model, inference_model
from llava_mm.apis.inference import _build_pipeline, _load_input
from llava_mm.models.prompt import IMAGE_TOKEN_INDEX
from llava_mm.models import build_tokenizer
from llava_mm.testing import randomize_, train_bpe_tokenizer
from llava_mm.testing.tokenizers import write_sentencepiece_tokenizer

QUESTIONS = ['What is it?', 'How many dogs are there in the picture?', 'Is there a cat?',
             'What color is the cat sitting on the red couch next to the window?', 'Where is the bus?', 'Two?']
MAX_NEW_TOKENS = 12


@pytest.fixture(scope='module', params=['bpe', 'sentencepiece'])
def hf_dir(request, tmp_path_factory):
    """A llava-hf directory; with ``sentencepiece`` its tokenizer is the LLaMA-style tokenizer.model (the image
    token is an extra embedding row no text produces)."""
    out = tmp_path_factory.mktemp('llava-hf') / 'tiny-llava-1.5-hf'
    if request.param == 'bpe':
        tokenizer = train_bpe_tokenizer(extra_tokens=('<image>', ))
        image_token_index = tokenizer.convert_tokens_to_ids('<image>')
        vocab = len(tokenizer)
    else:
        write_sentencepiece_tokenizer(out)
        image_token_index = vocab = len(build_tokenizer(str(out)))
        vocab += 1
        tokenizer = None
    config = LlavaConfig(
        vision_config=CLIPVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=3,
                                       num_attention_heads=4, image_size=336, patch_size=14, projection_dim=16,
                                       hidden_act='quick_gelu'),
        text_config=LlamaConfig(vocab_size=vocab, hidden_size=64, intermediate_size=128,
                                num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                                bos_token_id=1, eos_token_id=2, pad_token_id=0),
        image_token_index=image_token_index,
        vision_feature_layer=-2, vision_feature_select_strategy='default', projector_hidden_act='gelu')
    torch.manual_seed(0)
    model = randomize_(LlavaForConditionalGeneration(config))
    model.save_pretrained(out)
    if tokenizer is not None:
        tokenizer.save_pretrained(out)
    LlavaImageProcessorPil(do_pad=True, size={'shortest_edge': 336},
                           crop_size={'height': 336, 'width': 336}).save_pretrained(out)
    return out


def hf_inputs(model, image, question, image_token_index):
    """Our prompt ids with the image marker expanded as transformers expects, and our pixels."""
    ids = model.build_prompts([DataSample(question=question)])[0]
    at = ids.index(IMAGE_TOKEN_INDEX)
    expanded = ids[:at] + [image_token_index] * model.vision_tower.num_image_tokens + ids[at + 1:]
    data = model.data_preprocessor(pseudo_collate([_build_pipeline(model, False)(_load_input(image))]))
    return torch.tensor([expanded]), data['images']


def test_generation_and_logits_match_transformers(hf_dir, images):
    ours = get_model(str(hf_dir))
    theirs = LlavaForConditionalGeneration.from_pretrained(hf_dir).eval()
    image_token_index = theirs.config.image_token_index
    tokenizer = ours.tokenizer

    answers = inference_model(ours, images, QUESTIONS, max_new_tokens=MAX_NEW_TOKENS)
    for image, question, answer in zip(images, QUESTIONS, answers):
        input_ids, pixels = hf_inputs(ours, image, question, image_token_index)
        with torch.no_grad():
            out = theirs.generate(input_ids=input_ids, attention_mask=torch.ones_like(input_ids),
                                  pixel_values=pixels, max_new_tokens=MAX_NEW_TOKENS, do_sample=False,
                                  num_beams=1, eos_token_id=tokenizer.eos_token_id,
                                  pad_token_id=tokenizer.pad_token_id)
            expected = tokenizer.decode(out[0, input_ids.shape[1]:], skip_special_tokens=True).strip()
            assert answer == {'question': question, 'pred_answer': expected}

            their_logits = theirs(input_ids=input_ids, pixel_values=pixels).logits
            sample = DataSample(question=question)
            our_logits = ours(pixels, [sample], mode='tensor')
        assert our_logits.shape == their_logits.shape
        torch.testing.assert_close(our_logits, their_logits, atol=1e-4, rtol=0)
    assert len({a['pred_answer'] for a in answers}) == len(images)  # image- and question-dependent


def test_llava_hf_dir_defaults(hf_dir):
    model = get_model(str(hf_dir))
    assert model.prompt_template.startswith('A chat between a curious user')
    assert model.question_template == '{question}'
    assert model.generation_cfg['num_beams'] == 1 and not model.generation_cfg.get('do_sample')
    assert model.vision_tower.num_image_tokens == 576
