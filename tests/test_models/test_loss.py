"""mode='loss': next-token loss on the answer only, vision tower frozen."""
import torch
import torch.nn.functional as F
from mmengine.dataset import pseudo_collate
from mmpretrain.structures import DataSample

from llava_mm import get_model
from llava_mm.apis.inference import _build_pipeline, _load_input
from llava_mm.models.prompt import IMAGE_TOKEN_INDEX


def test_loss_counts_answer_tokens_only(tiny_v15_dir, images):
    model = get_model(tiny_v15_dir).train()
    batch = [_build_pipeline(model, False)(_load_input(img)) for img in images[:2]]
    for data, (q, a) in zip(batch, [('What is it?', 'A cat.'), ('How many dogs are there?', 'two')]):
        data['data_samples'].set_field(q, 'question')
        data['data_samples'].set_field(a, 'answer')
    inputs = model.data_preprocessor(pseudo_collate(batch), True)
    loss = model(**inputs, mode='loss')['loss']

    # Reference: each sample alone, cross-entropy over the answer (+ eos) positions.
    total, count = 0.0, 0
    tok = model.tokenizer
    for i, ds in enumerate(inputs['data_samples']):
        prompt = model.build_prompts([ds])[0]
        target = tok(' ' + ds.answer, add_special_tokens=False).input_ids + [tok.eos_token_id]
        ids = prompt + target
        at = ids.index(IMAGE_TOKEN_INDEX)
        n_img = model.vision_tower.num_image_tokens
        embeds, mask, pos, _ = model.embed_prompts([ids], model.encode_images(inputs['images'][i:i + 1]))
        logits = model.language_model(inputs_embeds=embeds, attention_mask=mask, position_ids=pos).logits[0]
        start = len(prompt) - 1 + n_img - 1  # logits predicting the first answer token
        total += F.cross_entropy(logits[start:start + len(target)], torch.tensor(target), reduction='sum')
        count += len(target)
        assert at < len(prompt)
    torch.testing.assert_close(loss, total / count, atol=1e-5, rtol=1e-5)

    loss.backward()
    assert all(p.grad is None for p in model.vision_tower.parameters())
    assert model.projector.linear_1.weight.grad is not None
