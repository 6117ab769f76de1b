"""Batched generation (left padding + KV cache) gives exactly the batch-1 results."""
import pytest
from mmpretrain.structures import DataSample

from llava_mm import get_model, inference_model

QUESTIONS = ['What is it?', 'How many dogs are there in the picture?', 'Is there a cat?',
             'What color is the cat sitting on the red couch next to the window?', 'Where is the bus?',
             'Two?']


@pytest.mark.parametrize('tokenizer', ['bpe', 'sentencepiece'])
@pytest.mark.parametrize('version', ['v1', 'v1.5'])
@pytest.mark.parametrize('num_beams', [1, 3])
def test_batched_equals_batch_one(version, num_beams, tokenizer, images, request):
    fixture = {'v1': 'tiny_v1_dir', 'v1.5': 'tiny_v15_dir'}[version]
    model = get_model(request.getfixturevalue(fixture.replace('_dir', '_sp_dir') if tokenizer == 'sentencepiece'
                                              else fixture))
    one_by_one = [inference_model(model, img, q, num_beams=num_beams) for img, q in zip(images, QUESTIONS)]
    batched = inference_model(model, images, QUESTIONS, num_beams=num_beams, batch_size=len(images))
    assert batched == one_by_one
    # The prompts really differ in length, so the batch really was padded ...
    lengths = {len(ids) for ids in model.build_prompts([DataSample(question=q) for q in QUESTIONS])}
    assert len(lengths) > 1
    # ... and the answers depend on the image and question (the test would be vacuous otherwise).
    assert len({r['pred_answer'] for r in one_by_one}) == len(images)


def test_captions_batched_equal_batch_one(images, tiny_v15_dir):
    model = get_model(tiny_v15_dir)
    one_by_one = [inference_model(model, img) for img in images]
    assert inference_model(model, images, batch_size=4) == one_by_one
    assert all(set(r) == {'pred_caption'} for r in one_by_one)
    assert len({r['pred_caption'] for r in one_by_one}) == len(images)
