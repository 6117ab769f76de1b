"""LlavaInstructDataset: LLaVA-Instruct / mix665k / LCS-558K files, as a training config uses them."""
import json

import pytest
import torch
from mmengine.registry import init_default_scope

from llava_mm.datasets import LlavaInstructDataset, encode_conversation
from llava_mm.models.builder import llava_test_pipeline
from llava_mm.registry import DATASETS
from llava_mm.testing.tokenizers import write_sentencepiece_tokenizer

init_default_scope('llava_mm')


def turn(role, value):
    return {'from': role, 'value': value}


@pytest.fixture(scope='module')
def tokenizer_dir(tmp_path_factory):
    return str(write_sentencepiece_tokenizer(tmp_path_factory.mktemp('tok')))


@pytest.fixture
def data(tmp_path, image_files):
    """An image folder with two pictures and a mix665k-like list: two image samples, one text-only."""
    root = tmp_path / 'images'
    (root / 'coco').mkdir(parents=True)
    for i in range(2):
        (root / 'coco' / f'{i}.png').write_bytes(image_files[2 * i].read_bytes())
    records = [
        {'id': 'a1', 'image': 'coco/0.png', 'conversations': [
            turn('human', 'What is this?\n<image>'), turn('gpt', 'A cat.'), turn('human', 'Sure?'),
            turn('gpt', 'Yes.')]},
        {'id': 'b2', 'conversations': [turn('human', 'Say 12.'), turn('gpt', '12')]},
        {'id': 'c3', 'image': 'coco/1.png', 'conversations': [
            turn('gpt', 'Hello.'), turn('human', '<image>\nDescribe it.'), turn('gpt', 'Two dogs.')]},
    ]
    return tmp_path, root, records


def write(path, records, jsonl=False):
    path.write_text('\n'.join(json.dumps(r) for r in records) if jsonl else json.dumps(records))
    return str(path)


@pytest.mark.parametrize('jsonl', [False, True], ids=['json', 'jsonl'])
def test_samples_after_the_pipeline(data, tokenizer_dir, jsonl):
    tmp, root, records = data
    ann = write(tmp / ('train.jsonl' if jsonl else 'train.json'), records, jsonl)
    dataset = DATASETS.build(dict(type='LlavaInstructDataset', ann_file=ann, data_prefix=str(root),
                                  tokenizer=dict(type='AutoTokenizer', name_or_path=tokenizer_dir),
                                  pipeline=llava_test_pipeline(32), num_image_tokens=16))
    assert len(dataset) == 3
    for i, record in enumerate(records):
        sample = dataset[i]
        want = encode_conversation(record['conversations'], dataset.tokenizer, has_image='image' in record)
        ds = sample['data_samples']
        assert ds.input_ids.tolist() == want['input_ids'] and ds.labels.tolist() == want['labels']
        assert ds.input_ids.dtype == torch.long and ds.sample_id == record['id']
        if 'image' in record:
            assert sample['inputs'].shape == (3, 32, 32) and ds.img_path.endswith(record['image'])
        else:
            assert sample['inputs'] is None
    lengths = dataset.modality_lengths
    assert lengths[0] > 0 and lengths[1] < 0 and lengths[2] > 0
    assert lengths[0] == len(dataset[0]['data_samples'].input_ids) + 15  # image tokens counted


def test_truncation_keeps_the_image_and_is_counted(data, tokenizer_dir):
    tmp, root, records = data
    ann = write(tmp / 'train.json', records)
    full = LlavaInstructDataset(ann, tokenizer_dir, data_prefix=str(root), num_image_tokens=16)
    n0 = len(full[0]['data_samples'].input_ids) + 15
    dataset = LlavaInstructDataset(ann, tokenizer_dir, data_prefix=str(root), num_image_tokens=16,
                                   model_max_length=n0 - 3)
    ids = dataset[0]['data_samples'].input_ids.tolist()
    assert ids == full[0]['data_samples'].input_ids.tolist()[:len(ids)] and len(ids) + 15 == n0 - 3
    assert dataset.modality_lengths[0] == n0 - 3
    assert dataset.length_counts['truncated'] >= 1 and 'truncated' in dataset.data_report()
    skip = LlavaInstructDataset(ann, tokenizer_dir, data_prefix=str(root), num_image_tokens=16,
                                model_max_length=n0 - 3, too_long='skip')
    assert len(skip) == len(dataset) - skip.length_counts['skipped_too_long'] and 'a1' not in [
        skip.get_data_info(i)['sample_id'] for i in range(len(skip))]


def test_image_that_does_not_fit_is_dropped_not_cut(data, tokenizer_dir):
    tmp, root, records = data
    dataset = LlavaInstructDataset(write(tmp / 't.json', records), tokenizer_dir, data_prefix=str(root),
                                   num_image_tokens=2048)
    assert [dataset.get_data_info(i)['sample_id'] for i in range(len(dataset))] == ['b2']
    assert dataset.length_counts['skipped_image_does_not_fit'] == 2


BAD = {
    'unknown role': ({'id': 'x', 'conversations': [turn('human', 'Hi'), turn('bot', 'Hello')]},
                     "sample 'x' .*turn 1: unknown role 'bot'"),
    'not alternating': ({'id': 'x', 'conversations': [turn('human', 'Hi'), turn('human', 'Hello')]},
                        "sample 'x' .*turn 1: roles must alternate"),
    'missing value': ({'id': 'x', 'conversations': [turn('human', 'Hi'), {'from': 'gpt'}]},
                      "sample 'x' .*turn 1 \\(gpt\\): missing \"value\""),
    'two images listed': ({'id': 'x', 'image': ['coco/0.png', 'coco/1.png'],
                           'conversations': [turn('human', '<image>'), turn('gpt', 'A')]},
                          "sample 'x' .*more than one image per sample"),
    'two image turns': ({'id': 'x', 'image': 'coco/0.png', 'conversations': [
        turn('human', '<image>'), turn('gpt', 'A'), turn('human', '<image>'), turn('gpt', 'B')]},
        "sample 'x' .*turns \\[0, 2\\]: <image> in more than one turn"),
    'missing image': ({'id': 'x', 'image': 'coco/none.png', 'conversations': [
        turn('human', '<image>'), turn('gpt', 'A')]}, "sample 'x' .*image not found: .*coco/none.png"),
    'unreadable image': ({'id': 'x', 'image': 'coco/broken.jpg', 'conversations': [
        turn('human', '<image>'), turn('gpt', 'A')]}, "sample 'x' .*image unreadable: .*coco/broken.jpg"),
    'empty reply': ({'id': 'x', 'conversations': [turn('human', 'Hi'), turn('gpt', ' ')]},
                    "sample 'x' .*turn 1 \\(gpt\\): empty reply"),
}


@pytest.mark.parametrize('case', sorted(BAD))
def test_bad_data_fails_at_build_naming_file_sample_and_turn(data, tokenizer_dir, case):
    tmp, root, records = data
    (root / 'coco' / 'broken.jpg').write_text('not a picture')
    bad, message = BAD[case]
    ann = write(tmp / 'train.json', records + [bad])
    with pytest.raises(ValueError, match='1 invalid sample\\(s\\) in .*train.json') as err:
        LlavaInstructDataset(ann, tokenizer_dir, data_prefix=str(root))
    import re
    assert re.search('train.json: ' + message, str(err.value)), str(err.value)
    dataset = LlavaInstructDataset(ann, tokenizer_dir, data_prefix=str(root), skip_invalid=True)
    assert len(dataset) == 3 and len(dataset.invalid_samples) == 1
    assert 'invalid skipped 1' in dataset.data_report()


def test_pretrain_captions_with_the_plain_template(data, tokenizer_dir):
    """LCS-558K's schema, stage 1: <image> + caption + newline, everything after the image supervised."""
    tmp, root, _ = data
    records = [{'id': '004539375', 'image': 'coco/0.png', 'conversations': [
        turn('human', 'Render a clear and concise summary of the photo.\n<image>'),
        turn('gpt', 'a cat sitting on a red couch')]}]
    dataset = LlavaInstructDataset(write(tmp / 'blip_laion_cc_sbu_558k.json', records), tokenizer_dir,
                                   template='plain', data_prefix=str(root), pipeline=llava_test_pipeline(32))
    ds = dataset[0]['data_samples']
    assert ds.input_ids[:2].tolist() == [1, -200] and ds.labels[:2].tolist() == [-100, -100]
    assert (ds.labels[2:] == ds.input_ids[2:]).all()
    assert dataset.tokenizer.decode(ds.input_ids[2:]).strip() == 'a cat sitting on a red couch'
