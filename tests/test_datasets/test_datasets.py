"""The evaluation datasets read the official layouts and hand metrics what they need."""
import json

import pytest
from mmengine.registry import init_default_scope

from llava_mm.testing import toy_data
from llava_mm.registry import DATASETS

init_default_scope('llava_mm')

VQA_SUFFIX = 'Answer the question using a single word or phrase.'


def build(**cfg):
    return DATASETS.build(cfg)


@pytest.fixture(scope='module')
def coco(tmp_path_factory):
    return toy_data.make_toy_coco_caption(tmp_path_factory.mktemp('coco'), num_images=5)


@pytest.fixture(scope='module')
def vqav2(tmp_path_factory):
    return toy_data.make_toy_vqav2(tmp_path_factory.mktemp('vqav2'), num_images=4, questions_per_image=2)


@pytest.fixture(scope='module')
def scienceqa(tmp_path_factory):
    return toy_data.make_toy_scienceqa(tmp_path_factory.mktemp('sqa'), num_problems=6)


# ------------------------------------------------------------ COCO captions
def test_coco_caption_karpathy_layout(coco):
    ds = build(type='COCOCaption', data_root=coco['data_root'], ann_file='annotations/coco_karpathy_test.json')
    assert len(ds) == 5
    info = ds.get_data_info(0)
    entry = json.load(open(coco['ann_file']))[0]
    assert info['image_id'] == entry['image_id'] and isinstance(info['image_id'], int)
    assert info['img_path'] == f"{coco['data_root']}/{entry['image']}"
    assert info['gt_caption'] == entry['caption']


def test_coco_caption_image_id_from_file_name_and_entries_merged(tmp_path, coco):
    # BLIP's Karpathy test file has no image_id; train-style files repeat an image per caption.
    entries = [dict(image=e['image'], caption=c) for e in json.load(open(coco['ann_file'])) for c in e['caption'][:2]]
    ann = tmp_path / 'no_ids.json'
    ann.write_text(json.dumps(entries))
    ds = build(type='COCOCaption', data_root=coco['data_root'], ann_file=str(ann))
    assert [ds.get_data_info(i)['image_id'] for i in range(len(ds))] == coco['image_ids']
    assert all(len(ds.get_data_info(i)['gt_caption']) == 2 for i in range(len(ds)))


# ------------------------------------------------------------------ VQAv2
def test_vqav2_official_files(vqav2):
    ds = build(type='VQAv2', data_root=vqav2['data_root'], data_prefix='val2014',
               question_file='annotations/v2_OpenEnded_mscoco_val2014_questions.json',
               ann_file='annotations/v2_mscoco_val2014_annotations.json')
    questions = json.load(open(vqav2['question_file']))['questions']
    annotations = {a['question_id']: a for a in json.load(open(vqav2['ann_file']))['annotations']}
    assert [ds.get_data_info(i)['question_id'] for i in range(len(ds))] == [q['question_id'] for q in questions]
    for i, q in enumerate(questions):
        info, ann = ds.get_data_info(i), annotations[q['question_id']]
        assert info['question'] == q['question'] and info['image_id'] == q['image_id']
        assert info['gt_answer'] == [a['answer'] for a in ann['answers']]  # all 10, repeats kept
        assert len(info['gt_answer']) == 10
        assert info['answer_type'] == ann['answer_type']
        assert info['img_path'].endswith(f"val2014/COCO_val2014_{q['image_id']:012d}.jpg")


def test_vqav2_test_dev_has_no_answers_and_uses_test2015_images(tmp_path):
    files = toy_data.make_toy_vqav2(tmp_path, num_images=3, split='test-dev2015', with_answers=False)
    ds = build(type='VQAv2', data_root=files['data_root'], data_prefix='test2015',
               question_file='annotations/v2_OpenEnded_mscoco_test-dev2015_questions.json')
    assert len(ds) == 3
    info = ds.get_data_info(0)
    assert 'gt_answer' not in info and '/test2015/COCO_test2015_' in info['img_path']


def test_vqav2_question_without_annotation_is_named(tmp_path, vqav2):
    content = json.load(open(vqav2['ann_file']))
    dropped = content['annotations'].pop(3)['question_id']
    ann = tmp_path / 'ann.json'
    ann.write_text(json.dumps(content))
    with pytest.raises(ValueError, match=f'no annotation for 1 question.*{dropped}'):
        build(type='VQAv2', data_root=vqav2['data_root'], data_prefix='val2014', ann_file=str(ann),
              question_file='annotations/v2_OpenEnded_mscoco_val2014_questions.json')


# ------------------------------------------------------------------ jsonl
def test_llava_question_jsonl_keeps_text_unchanged(tmp_path):
    files = toy_data.make_toy_llava_questions(tmp_path, num_images=3)
    ds = build(type='LlavaQuestionJsonl', **files)
    first = json.loads(open(files['ann_file']).readline())
    info = ds.get_data_info(0)
    assert info['question'] == first['text'] and info['question'].endswith('\n' + VQA_SUFFIX)
    assert info['question_id'] == first['question_id']
    assert info['image_id'] == int(first['image'].split('_')[-1].split('.')[0])


def test_vqa_jsonl_custom_set(tmp_path):
    files = toy_data.make_toy_vqa_jsonl(tmp_path, num_images=4)
    with open(files['ann_file'], 'a') as f:
        f.write('\n' + json.dumps(dict(image='img_0.jpg', question='Is it red?', answers='yes', question_id=77)))
    ds = build(type='VQAJsonl', **files)
    assert len(ds) == 5
    assert [ds.get_data_info(i)['question_id'] for i in range(5)] == [0, 1, 2, 3, 77]
    assert ds.get_data_info(4)['gt_answer'] == ['yes']
    assert ds.get_data_info(1)['img_path'].endswith('images/img_1.png')


# -------------------------------------------------------------- ScienceQA
def test_scienceqa_prompt_as_llava_asks_it(scienceqa):
    ds = build(type='ScienceQA', data_root=scienceqa['data_root'])
    problems = json.load(open(scienceqa['ann_file']))
    with_image = [pid for pid, p in problems.items() if p['image']]
    assert [ds.get_data_info(i)['question_id'] for i in range(len(ds))] == with_image  # image subset only
    by_pid = {ds.get_data_info(i)['question_id']: ds.get_data_info(i) for i in range(len(ds))}
    with_hint = next(pid for pid in with_image if problems[pid]['hint'])
    no_hint = next(pid for pid in with_image if not problems[pid]['hint'])
    p = problems[with_hint]
    options = '\n'.join(f'{letter}. {c}' for letter, c in zip('ABCDE', p['choices']))
    assert by_pid[with_hint]['question'] == (
        f"Context: {p['hint']}\n{p['question']}\n{options}\n"
        "Answer with the option's letter from the given choices directly.")
    assert by_pid[no_hint]['question'].startswith(problems[no_hint]['question'] + '\nA. ')
    assert by_pid[with_hint]['gt_answer'] == 'ABCDE'[p['answer']]
    assert by_pid[with_hint]['choices'] == p['choices']
    assert by_pid[with_hint]['img_path'].endswith(f'images/test/{with_hint}/image.png')


# ------------------------------------------------------------------ errors
def test_missing_annotation_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match='missing_karpathy.json'):
        build(type='COCOCaption', data_root=str(tmp_path), ann_file='missing_karpathy.json')


def test_malformed_json_names_file_and_line(tmp_path, vqav2):
    bad = tmp_path / 'questions.json'
    bad.write_text('{"questions": [\n {"question_id": 1,\n')
    with pytest.raises(ValueError, match=r'Malformed JSON in .*questions.json \(line 3'):
        build(type='VQAv2', data_root=vqav2['data_root'], data_prefix='val2014', question_file=str(bad))


def test_malformed_jsonl_names_line(tmp_path):
    files = toy_data.make_toy_vqa_jsonl(tmp_path, num_images=3)
    lines = open(files['ann_file']).read().splitlines()
    lines[1] = lines[1][:-5]
    open(files['ann_file'], 'w').write('\n'.join(lines))
    with pytest.raises(ValueError, match=r'vqa.jsonl, line 2'):
        build(type='VQAJsonl', **files)


def test_record_missing_keys_names_line(tmp_path):
    files = toy_data.make_toy_llava_questions(tmp_path, num_images=2)
    with open(files['ann_file'], 'a') as f:
        f.write(json.dumps(dict(question_id=5, image='x.jpg')) + '\n')
    with pytest.raises(ValueError, match=r"line 3: missing key\(s\) \['text'\]"):
        build(type='LlavaQuestionJsonl', **files)


def test_all_missing_images_listed_at_load_time(tmp_path):
    files = toy_data.make_toy_coco_caption(tmp_path, num_images=4)
    images = sorted((tmp_path / 'val2014').iterdir())
    images[0].unlink()
    images[2].unlink()
    with pytest.raises(FileNotFoundError, match='2 image') as err:
        build(type='COCOCaption', data_root=files['data_root'], ann_file=files['ann_file'])
    assert images[0].name in str(err.value) and images[2].name in str(err.value)
    assert images[1].name not in str(err.value)


def test_lazy_init_reads_nothing_until_full_init(tmp_path):
    ds = build(type='COCOCaption', data_root=str(tmp_path), ann_file='later.json', lazy_init=True)
    with pytest.raises(FileNotFoundError, match='later.json'):
        ds.full_init()


# -------------------------------------------------------------- packing
def test_pipeline_carries_ids_and_answers_to_the_data_sample(vqav2):
    pipeline = [dict(type='LoadLlavaImage'),
                dict(type='PadToSquare'), dict(type='ResizeShortestEdge', size=56),
                dict(type='CenterCropSquare', size=56), dict(type='PackLlavaInputs')]
    ds = build(type='VQAv2', data_root=vqav2['data_root'], data_prefix='val2014', pipeline=pipeline,
               question_file='annotations/v2_OpenEnded_mscoco_val2014_questions.json',
               ann_file='annotations/v2_mscoco_val2014_annotations.json')
    packed = ds[1]
    assert tuple(packed['inputs'].shape) == (3, 56, 56)
    sample = packed['data_samples'].to_dict()
    info = ds.get_data_info(1)
    for key in ('question', 'question_id', 'image_id', 'gt_answer', 'answer_type'):
        assert sample[key] == info[key], key
    assert sample['sample_idx'] == 1


def test_corrupt_image_error_names_the_file(tmp_path):
    files = toy_data.make_toy_vqa_jsonl(tmp_path, num_images=3)
    (tmp_path / 'images' / 'img_1.png').write_bytes(b'\x89PNG\r\n\x1a\nnot a png at all')
    ds = build(type='VQAJsonl', **files, pipeline=[dict(type='LoadLlavaImage'), dict(type='PackLlavaInputs')])
    ds[0]
    with pytest.raises(RuntimeError, match=r'Sample 1 \(.*img_1.png\) failed in the pipeline'):
        ds[1]
