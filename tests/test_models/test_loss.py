"""mode='loss' equals transformers' LlavaForConditionalGeneration loss on the same weights, batch and labels.

The batch mixes prompt lengths, a text-only sample and both tokenizer kinds (byte-level BPE and LLaMA-style
SentencePiece); samples carry ``input_ids``/``labels`` from ``encode_conversation``, exactly what the training
datasets give the model. transformers is the independent reference: its input ids hold the image token repeated
once per patch, its labels are ours with -100 at the image positions, right padding.
"""
import pytest
import torch
from mmengine.dataset import pseudo_collate
from mmpretrain.structures import DataSample
from transformers import CLIPVisionConfig, LlamaConfig, LlavaConfig, LlavaForConditionalGeneration

from llava_mm import get_model
from llava_mm.apis.inference import _build_pipeline, _load_input
from llava_mm.datasets import encode_conversation
from llava_mm.models.prompt import IGNORE_INDEX, IMAGE_TOKEN_INDEX
from llava_mm.testing import randomize_, train_bpe_tokenizer, train_sentencepiece_tokenizer

CONVERSATIONS = [
    [{'from': 'human', 'value': '<image>\nWhat is it?'}, {'from': 'gpt', 'value': 'A cat.'}],
    [{'from': 'human', 'value': 'How many dogs are there?\n<image>'}, {'from': 'gpt', 'value': '2'},
     {'from': 'human', 'value': 'What color is the cat?'}, {'from': 'gpt', 'value': 'The cat is brown.'}],
    [{'from': 'human', 'value': 'Where is the bus?'}, {'from': 'gpt', 'value': 'Next to the building.'}],  # no image
]
HAS_IMAGE = [True, True, False]


@pytest.fixture(scope='module', params=['bpe', 'sentencepiece'])
def setup(request, tmp_path_factory):
    tokenizer = train_bpe_tokenizer() if request.param == 'bpe' else train_sentencepiece_tokenizer()
    image_token_index = len(tokenizer)  # an id no text ever produces
    config = LlavaConfig(
        vision_config=CLIPVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=3,
                                       num_attention_heads=4, image_size=56, patch_size=14, projection_dim=16,
                                       hidden_act='quick_gelu'),
        text_config=LlamaConfig(vocab_size=len(tokenizer) + 1, hidden_size=64, intermediate_size=128,
                                num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                                bos_token_id=1, eos_token_id=2, pad_token_id=0),
        image_token_index=image_token_index, vision_feature_layer=-2, vision_feature_select_strategy='default',
        projector_hidden_act='gelu')
    torch.manual_seed(0)
    theirs = randomize_(LlavaForConditionalGeneration(config), std=0.1).eval()
    out = tmp_path_factory.mktemp('hf') / 'tiny-llava-hf'
    theirs.save_pretrained(out)
    train_bpe_tokenizer().save_pretrained(out)  # the model's own tokenizer is not used: samples carry ids
    ours = get_model(str(out), freeze=())
    return ours, theirs, tokenizer, image_token_index


def batch_for(ours, tokenizer, images):
    samples, inputs = [], []
    for conversation, has_image, image in zip(CONVERSATIONS, HAS_IMAGE, images):
        encoded = encode_conversation(conversation, tokenizer, 'vicuna_v1', has_image=has_image)
        samples.append(DataSample(input_ids=encoded['input_ids'], labels=encoded['labels']))
        inputs.append(_build_pipeline(ours, False)(_load_input(image))['inputs'] if has_image else None)
    return ours.data_preprocessor({'inputs': inputs, 'data_samples': samples}, True)


def reference_loss(theirs, data, image_token_index, num_image_tokens):
    rows, label_rows = [], []
    for ds in data['data_samples']:
        ids, labels = [], []
        for token, label in zip(ds.input_ids, ds.labels):
            if token == IMAGE_TOKEN_INDEX:
                ids += [image_token_index] * num_image_tokens
                labels += [IGNORE_INDEX] * num_image_tokens
            else:
                ids.append(token)
                labels.append(label)
        rows.append(ids)
        label_rows.append(labels)
    width = max(map(len, rows))
    input_ids = torch.tensor([r + [0] * (width - len(r)) for r in rows])
    labels = torch.tensor([r + [IGNORE_INDEX] * (width - len(r)) for r in label_rows])
    mask = torch.tensor([[1] * len(r) + [0] * (width - len(r)) for r in rows])
    return theirs(input_ids=input_ids, attention_mask=mask, pixel_values=data['images'], labels=labels).loss


def test_loss_equals_transformers(setup, images):
    ours, theirs, tokenizer, image_token_index = setup
    data = batch_for(ours, tokenizer, images)
    assert [ds.has_image for ds in data['data_samples']] == HAS_IMAGE and data['images'].shape[0] == 2
    loss = ours(**data, mode='loss')['loss']
    expected = reference_loss(theirs, data, image_token_index, ours.vision_tower.num_image_tokens)
    torch.testing.assert_close(loss, expected, atol=1e-5, rtol=1e-5)
    assert loss.item() > 0.1


def test_text_only_batch_still_runs_every_part(setup, images):
    """No image in the batch: every parameter an image batch trains still gets a gradient (zero for the vision
    tower and projector), so DDP / ZeRO-3 ranks agree on the graph."""
    ours, _, tokenizer, _ = setup

    def grads_after(data):
        ours.zero_grad()
        ours(**data, mode='loss')['loss'].backward()
        return {n: p.grad for n, p in ours.named_parameters() if p.grad is not None}

    with_images = grads_after(batch_for(ours, tokenizer, images))
    encoded = encode_conversation(CONVERSATIONS[2], tokenizer, 'vicuna_v1', has_image=False)
    data = ours.data_preprocessor({'inputs': [None], 'data_samples': [DataSample(**encoded)]}, True)
    assert data['images'] is None
    text_only = grads_after(data)
    assert text_only.keys() == with_images.keys()
    visual = [n for n in text_only if n.startswith(('vision_tower.', 'projector.'))]
    assert visual and all(torch.count_nonzero(text_only[n]) == 0 for n in visual)
    assert all(torch.count_nonzero(with_images[n]) > 0 for n in visual if n.startswith('projector.'))
    assert torch.count_nonzero(text_only['language_model.lm_head.weight']) > 0


def test_question_answer_samples_tokenize_prompt_and_answer_as_one_text(tiny_v15_dir, images):
    """Evaluation-style samples (question + answer) are encoded as a one-round conversation: the answer's ids are
    those of the whole text, with no spurious '▁' a separate ``' ' + answer`` tokenization adds."""
    model = get_model(tiny_v15_dir).train()
    ds = DataSample(question='What is it?', answer='A cat.')
    ids, labels = model.training_targets(ds)
    expected = encode_conversation([{'from': 'human', 'value': '<image>\nWhat is it?'},
                                    {'from': 'gpt', 'value': 'A cat.'}], model.tokenizer, 'vicuna_v1')
    assert (ids, labels) == (expected['input_ids'], expected['labels'])
    supervised = [t for t in labels if t != IGNORE_INDEX]
    assert model.tokenizer.decode(supervised) == ' A cat.</s>'.strip() or \
        model.tokenizer.decode(supervised).strip() == 'A cat.</s>'
    data = model.data_preprocessor(pseudo_collate([_build_pipeline(model, False)(_load_input(images[0]))]), True)
    data['data_samples'][0].set_field('What is it?', 'question')
    data['data_samples'][0].set_field('A cat.', 'answer')
    loss = model(**data, mode='loss')['loss']
    loss.backward()
    assert all(p.grad is None for p in model.vision_tower.parameters())  # frozen by default
    assert model.projector.linear_1.weight.grad is not None


def test_gradient_checkpointing_gives_the_same_loss_and_gradients(tiny_v15_dir, images):
    plain = get_model(tiny_v15_dir, freeze=()).train()
    checkpointed = get_model(tiny_v15_dir, freeze=(), gradient_checkpointing=True).prepare_for_training().train()
    lm = checkpointed.language_model
    assert getattr(lm, 'is_activation_checkpointing', None) or lm.is_gradient_checkpointing
    results = []
    for model in (plain, checkpointed):
        data = batch_for(model, model.tokenizer, images)
        loss = model(**data, mode='loss')['loss']
        loss.backward()
        results.append((loss.detach(), {n: p.grad for n, p in model.named_parameters() if p.grad is not None}))
    (loss_a, grads_a), (loss_b, grads_b) = results
    torch.testing.assert_close(loss_a, loss_b)
    assert grads_a.keys() == grads_b.keys()
    for name in grads_a:
        torch.testing.assert_close(grads_a[name], grads_b[name], atol=1e-6, rtol=1e-5, msg=name)
