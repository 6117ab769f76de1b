"""``tools/test.py`` as users run it: one process and torchrun, metrics, ``--out``, bad input.

A tiny random model evaluates toy COCO-caption and VQAv2 sets in the official
layouts (21 images: an odd size, so two processes get uneven shares).
"""
import importlib.util
import json
import os
import pickle
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from mmengine.config import Config

from llava_mm.apis import get_model, inference_model
from llava_mm.testing import toy_data
from llava_mm.evaluation import EvalAIAnswerProcessor
from llava_mm.testing import make_tiny_model_dir

REPO = Path(__file__).resolve().parents[2]
TEST_TOOL = REPO / 'tools' / 'test.py'
DIST_TEST = REPO / 'tools' / 'dist_test.sh'
VQA_TEMPLATE = '{question}\nAnswer the question using a single word or phrase.'
NUM_IMAGES = 21


# ----------------------------------------------------------------- helpers
def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def run_test_tool(config, checkpoint, *options, cwd, nproc=1, ok=True) -> subprocess.CompletedProcess:
    """``python tools/test.py ...`` or ``tools/dist_test.sh ... N`` in ``cwd``."""
    env = dict(os.environ, PYTHON=sys.executable, PORT=str(free_port()), OMP_NUM_THREADS='1')
    if nproc == 1:
        cmd = [sys.executable, str(TEST_TOOL), str(config), str(checkpoint), *options]
    else:
        cmd = ['bash', str(DIST_TEST), str(config), str(checkpoint), str(nproc), *options]
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    if ok:
        assert proc.returncode == 0, f'{cmd} failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}'
    return proc


def printed_metrics(proc) -> dict:
    lines = [line for line in proc.stdout.splitlines() if line.startswith('Metrics: ')]
    assert len(lines) == 1, proc.stdout[-3000:]
    return json.loads(lines[0][len('Metrics: '):])


def write_config(path: Path, model_dir: Path, dataset: dict, evaluator, tokenizer: str = '.', **model) -> Path:
    """A stand-alone config: the tiny model's ``model`` and pipeline, a dataset, a metric.

    ``env_cfg`` asks for NCCL as the real configs do: tools/test.py must pick gloo itself without CUDA.
    """
    model_cfg = Config.fromfile(str(model_dir / 'config.py'))
    model_dict = model_cfg.model.to_dict()
    model_dict['tokenizer']['name_or_path'] = tokenizer
    model_dict.update(model)
    Config(dict(
        default_scope='llava_mm',
        model=model_dict,
        test_dataloader=dict(batch_size=4, num_workers=1, dataset=dict(dataset, pipeline=model_cfg.test_pipeline),
                             sampler=dict(type='DefaultSampler', shuffle=False)),
        test_evaluator=evaluator,
        test_cfg=dict(),
        default_hooks=dict(logger=dict(type='LoggerHook', interval=2)),
        env_cfg=dict(dist_cfg=dict(backend='nccl')),
    )).dump(str(path))
    return path


def load_out(path: Path):
    return json.loads(path.read_text()) if path.suffix == '.json' else pickle.loads(path.read_bytes())


# ---------------------------------------------------------------- fixtures
@pytest.fixture(scope='module')
def tiny_dir(tmp_path_factory):
    return make_tiny_model_dir(tmp_path_factory.mktemp('model') / 'tiny', image_size=112)


@pytest.fixture(scope='module')
def coco(tmp_path_factory, tiny_dir):
    """COCO Karpathy layout; the model's own caption is planted among the references
    of every other image so the scores are far from zero."""
    root = tmp_path_factory.mktemp('coco')
    files = toy_data.make_toy_coco_caption(root, num_images=NUM_IMAGES)
    entries = json.loads(Path(files['ann_file']).read_text())
    model = get_model(str(tiny_dir))
    captions = inference_model(model, [f"{root}/{e['image']}" for e in entries])
    gt = json.loads(Path(files['gt_file']).read_text())
    for i, (entry, pred) in enumerate(zip(entries, captions)):
        if i % 2 == 0:
            gt['annotations'].append(dict(image_id=entry['image_id'], id=10000 + i, caption=pred['pred_caption']))
    Path(files['gt_file']).write_text(json.dumps(gt))
    return files


@pytest.fixture(scope='module')
def coco_run(tmp_path_factory, tiny_dir, coco):
    """One single-process caption run with ``--out preds.json``."""
    work = tmp_path_factory.mktemp('coco_run')
    config = write_config(work / 'caption.py', tiny_dir,
                          dict(type='COCOCaption', data_root=coco['data_root'], ann_file=coco['ann_file']),
                          dict(type='COCOCaption', ann_file=coco['gt_file'], meteor=False))  # no JVM: faster
    proc = run_test_tool(config, tiny_dir, '--out', 'preds.json', cwd=work)
    return dict(config=config, proc=proc, out=work / 'preds.json', work=work)


@pytest.fixture(scope='module')
def vqav2(tmp_path_factory, tiny_dir):
    """VQAv2 layout; every other question has 2 of its 10 answers replaced by the model's
    (EvalAI-normalized) answer, which the official formula scores 0.6."""
    root = tmp_path_factory.mktemp('vqav2')
    files = toy_data.make_toy_vqav2(root, num_images=NUM_IMAGES)
    questions = json.loads(Path(files['question_file']).read_text())['questions']
    model = get_model(str(tiny_dir), task='vqa', question_template=VQA_TEMPLATE)
    answers = inference_model(model, [f"{root}/val2014/COCO_val2014_{q['image_id']:012d}.jpg" for q in questions],
                              [q['question'] for q in questions])
    content = json.loads(Path(files['ann_file']).read_text())
    for i, (ann, pred) in enumerate(zip(content['annotations'], answers)):
        if i % 2 == 0:
            ann['answers'][3]['answer'] = ann['answers'][7]['answer'] = EvalAIAnswerProcessor()(pred['pred_answer'])
    Path(files['ann_file']).write_text(json.dumps(content))
    return dict(files, predictions=[a['pred_answer'] for a in answers])


@pytest.fixture(scope='module')
def tool():
    """tools/test.py as a module, for checks that need no fresh process."""
    spec = importlib.util.spec_from_file_location('llava_mm_test_tool', TEST_TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def vqa_config(path: Path, tiny_dir: Path, files: dict, **dataset) -> Path:
    # A hub id that is not downloaded: tools/test.py must use the checkpoint directory's tokenizer.
    return write_config(path, tiny_dir,
                        dict(type='VQAv2', data_root=files['data_root'], data_prefix=files['data_prefix'],
                             question_file=files['question_file'], ann_file=files['ann_file'], **dataset),
                        dict(type='VQAAcc', postprocess=True), tokenizer='liuhaotian/llava-v1.5-7b',
                        task='vqa', question_template=VQA_TEMPLATE)


# ------------------------------------------------------------ end to end
def test_caption_end_to_end_prints_metrics_and_writes_every_prediction(coco_run, coco):
    proc = coco_run['proc']
    metrics = printed_metrics(proc)
    assert metrics and all(isinstance(v, (int, float)) for v in metrics.values()), metrics
    assert max(metrics.values()) > 0  # the planted references match
    log = proc.stdout + proc.stderr
    assert 'Epoch(test) [2/6]' in log and 'Epoch(test) [6/6]' in log  # progress: [i/N]
    rows = load_out(coco_run['out'])
    assert [r['sample_idx'] for r in rows] == list(range(NUM_IMAGES))
    assert [r['image_id'] for r in rows] == coco['image_ids']
    assert all(isinstance(r['pred_caption'], str) and r['pred_caption'] for r in rows)
    assert not [p for p in coco_run['work'].iterdir() if p.name.startswith('.preds.json')]  # no temp file left


def test_caption_two_processes_match_one(coco_run, tiny_dir):
    work = coco_run['work']
    two = run_test_tool(coco_run['config'], tiny_dir, '--out', 'preds_2p.json', cwd=work, nproc=2)
    assert load_out(work / 'preds_2p.json') == load_out(coco_run['out'])
    assert printed_metrics(two) == printed_metrics(coco_run['proc'])
    assert not (work / '.dist_test').exists()  # ranks exchanged results inside the work dir


def test_vqa_one_and_two_processes_agree_and_score_each_question_once(tmp_path, tiny_dir, vqav2):
    config = vqa_config(tmp_path / 'vqa.py', tiny_dir, vqav2)
    one = run_test_tool(config, tiny_dir, '--out', 'one.pkl', cwd=tmp_path)
    two = run_test_tool(config, tiny_dir, '--out', 'two.pkl', cwd=tmp_path, nproc=2)
    assert 'gloo' in two.stderr  # picked without being asked
    rows_one, rows_two = load_out(tmp_path / 'one.pkl'), load_out(tmp_path / 'two.pkl')
    questions = json.loads(Path(vqav2['question_file']).read_text())['questions']
    assert [r['question_id'] for r in rows_two] == [q['question_id'] for q in questions]  # each once, in order
    assert rows_two == rows_one
    assert [r['pred_answer'] for r in rows_one] == vqav2['predictions']  # same as inference_model
    assert all(len(r['gt_answer']) == 10 and r['answer_type'] for r in rows_one)
    metrics_one, metrics_two = printed_metrics(one), printed_metrics(two)
    assert metrics_one == metrics_two
    planted = (NUM_IMAGES + 1) // 2
    assert metrics_one['VQA/accuracy'] == pytest.approx(100 * 0.6 * planted / NUM_IMAGES)


def test_scienceqa_end_to_end(tmp_path, tiny_dir):
    files = toy_data.make_toy_scienceqa(tmp_path / 'data', num_problems=9)
    config = write_config(tmp_path / 'sqa.py', tiny_dir,
                          dict(type='ScienceQA', data_root=files['data_root'], ann_file='problems.json',
                               split_file='pid_splits.json', split='test', data_prefix='images/test'),
                          dict(type='ScienceQAAcc', lenient=False), task='vqa', question_template='{question}')
    metrics = printed_metrics(run_test_tool(config, tiny_dir, '--out', 'preds.json', cwd=tmp_path))
    rows = load_out(tmp_path / 'preds.json')
    problems = json.loads(Path(files['ann_file']).read_text())
    assert [r['question_id'] for r in rows] == [pid for pid, p in problems.items() if p['image']]
    for row in rows:
        problem = problems[row['question_id']]
        assert row['gt_answer'] == 'ABCDE'[problem['answer']] and row['choices'] == problem['choices']
        assert row['question'].endswith("Answer with the option's letter from the given choices directly.")
        assert isinstance(row['pred_answer'], str)
    assert 0 <= metrics['scienceqa/accuracy'] <= 100 and 'scienceqa/subject/natural science' in metrics


def test_vqav2_test_dev_writes_a_submission_for_every_question(tmp_path, tiny_dir):
    files = toy_data.make_toy_llava_questions(tmp_path / 'data', num_images=5)
    submission = tmp_path / 'submission' / 'answers.json'
    config = write_config(tmp_path / 'testdev.py', tiny_dir, dict(type='LlavaQuestionJsonl', **files),
                          dict(type='VQAAcc', postprocess=True, format_only=True, outfile_path=str(submission)),
                          task='vqa', question_template='{question}')
    assert printed_metrics(run_test_tool(config, tiny_dir, cwd=tmp_path)) == {}
    expected = [json.loads(line)['question_id'] for line in Path(files['ann_file']).read_text().splitlines()]
    answers = json.loads(submission.read_text())
    assert [a['question_id'] for a in answers] == expected
    assert all(isinstance(a['answer'], str) for a in answers)


# --------------------------------------------------------------- bad input
def failed(proc) -> str:
    assert proc.returncode != 0, proc.stdout[-3000:]
    return proc.stdout + proc.stderr


def test_missing_annotation_file_is_named(tmp_path, tiny_dir, vqav2, tool):
    # In-process (tool.main is what `python tools/test.py` runs) to spare a start-up.
    config = vqa_config(tmp_path / 'missing_ann.py', tiny_dir,
                        dict(vqav2, ann_file=str(tmp_path / 'no_such_annotations.json')))
    with pytest.raises(FileNotFoundError, match=r'Annotation file not found: .*no_such_annotations.json'):
        tool.main([str(config), str(tiny_dir), '--work-dir', str(tmp_path / 'work'), '--out', str(tmp_path / 'o.json')])
    assert not (tmp_path / 'o.json').exists()


def test_malformed_json_is_named(tmp_path, tiny_dir, vqav2, tool):
    broken = tmp_path / 'broken_questions.json'
    broken.write_text(Path(vqav2['question_file']).read_text()[:-40])
    config = vqa_config(tmp_path / 'malformed.py', tiny_dir, dict(vqav2, question_file=str(broken)))
    with pytest.raises(ValueError, match=f'Malformed JSON in {broken}'):
        tool.main([str(config), str(tiny_dir), '--work-dir', str(tmp_path / 'work')])


def test_absent_images_are_named_before_the_model_loads(tmp_path, tiny_dir):
    files = toy_data.make_toy_vqav2(tmp_path / 'data', num_images=3)
    gone = sorted((tmp_path / 'data' / 'val2014').iterdir())[1]
    gone.unlink()
    config = vqa_config(tmp_path / 'vqa.py', tiny_dir, files)
    log = failed(run_test_tool(config, tiny_dir, cwd=tmp_path, ok=False))
    assert '1 image(s) listed in' in log and str(gone) in log
    assert 'Loaded weights' not in log


def test_prediction_for_an_id_missing_from_ground_truth(tmp_path, tiny_dir, coco):
    gt = json.loads(Path(coco['gt_file']).read_text())
    missing = coco['image_ids'][1]
    gt['images'] = [i for i in gt['images'] if i['id'] != missing]
    gt['annotations'] = [a for a in gt['annotations'] if a['image_id'] != missing]
    (tmp_path / 'gt.json').write_text(json.dumps(gt))
    # A bare .safetensors checkpoint, with the tokenizer named in the config.
    config = write_config(tmp_path / 'caption.py', tiny_dir,
                          dict(type='COCOCaption', data_root=coco['data_root'], ann_file=coco['ann_file'], indices=4),
                          dict(type='COCOCaption', ann_file=str(tmp_path / 'gt.json'), meteor=False),
                          tokenizer=str(tiny_dir))
    log = failed(run_test_tool(config, tiny_dir / 'model.safetensors', '--out', 'preds.json', cwd=tmp_path, ok=False))
    assert str(missing) in log[-2000:], log[-2000:]  # in the final error, not just somewhere in the log
    # --out was written whole before the scorer failed, and nothing else was left behind.
    assert [r['image_id'] for r in load_out(tmp_path / 'preds.json')] == coco['image_ids'][:4]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith('.preds')]


# ------------------------------------------------------------- in-process
def test_out_is_replaced_atomically(tmp_path, monkeypatch, tool):
    out = tmp_path / 'preds.json'
    out.write_text('previous run')

    def disk_full(src, dst):
        raise OSError('No space left on device')

    import llava_mm.fileio
    monkeypatch.setattr(llava_mm.fileio.os, 'replace', disk_full)
    with pytest.raises(OSError, match='No space left'):
        tool.write_bytes_atomic(str(out), b'[{"pred_answer": "yes"}]')
    assert out.read_text() == 'previous run'
    assert list(tmp_path.iterdir()) == [out]


def test_out_must_be_json_or_pickle(tool):
    with pytest.raises(SystemExit):
        tool.parse_args(['config.py', 'ckpt', '--out', 'preds.txt'])


# ------------------------------------------------------------- the log
def lines_before_first_result(log: str) -> int:
    lines = log.splitlines()
    return next(i for i, line in enumerate(lines) if 'Epoch(test) [' in line or line.startswith('Predictions of'))


def test_log_is_short_by_default(coco_run):
    log = coco_run['proc'].stdout + coco_run['proc'].stderr
    assert lines_before_first_result(log) <= 10, log[:3000]
    assert 'System environment' not in log and 'Config:\n' not in log and 'before_train_epoch' not in log


def test_verbose_logs_the_start_up_report_and_workers_are_capped(coco_run, tiny_dir):
    work = coco_run['work']
    (work / 'verbose.json').write_text('previous run')  # a previous --out file is replaced, as documented
    proc = run_test_tool(coco_run['config'], tiny_dir, '--verbose', '--out', 'verbose.json', '--cfg-options',
                         'test_dataloader.num_workers=64', 'test_dataloader.dataset.indices=4', cwd=work)
    log = proc.stdout + proc.stderr
    assert 'System environment' in log and 'INFO - Config:\n' in log and "default_scope = 'llava_mm'" in log
    assert 'before_test_epoch:' in log  # the hook order
    assert lines_before_first_result(log) > 60
    cpus = len(os.sched_getaffinity(0))
    assert f'test_dataloader.num_workers: 64 -> {cpus} ({cpus} CPUs' in log
    assert 'worker processes in total' not in log  # torch's oversubscription warning
    assert [r['image_id'] for r in load_out(work / 'verbose.json')] == [r['image_id'] for r in load_out(coco_run['out'])][:4]


def test_loader_workers_are_capped_at_the_cpus_shared_by_local_ranks(tmp_path, tiny_dir, coco, tool, monkeypatch):
    config = write_config(tmp_path / 'caption.py', tiny_dir,
                          dict(type='COCOCaption', data_root=coco['data_root'], ann_file=coco['ann_file']),
                          dict(type='COCOCaption', ann_file=coco['gt_file'], meteor=False))
    args = tool.parse_args([str(config), str(tiny_dir), '--cfg-options', 'test_dataloader.num_workers=1000'])
    cpus = len(os.sched_getaffinity(0))
    assert tool.build_config(args).test_dataloader.num_workers == cpus <= os.cpu_count()
    monkeypatch.setenv('LOCAL_WORLD_SIZE', str(2 * cpus))  # more ranks than CPUs: one worker each
    assert tool.build_config(args).test_dataloader.num_workers == 1
    few = tool.parse_args([str(config), str(tiny_dir), '--cfg-options', 'test_dataloader.num_workers=0'])
    assert tool.build_config(few).test_dataloader.num_workers == 0  # what is asked for when it fits


def test_runner_keeps_a_plain_config_and_dumps_it(tmp_path, tiny_dir, coco, tool):
    config = write_config(tmp_path / 'caption.py', tiny_dir,
                          dict(type='COCOCaption', data_root=coco['data_root'], ann_file=coco['ann_file']),
                          dict(type='COCOCaption', ann_file=coco['gt_file'], meteor=False))
    runner = tool.build_runner(tool.parse_args([str(config), str(tiny_dir), '--work-dir', str(tmp_path / 'w')]))
    assert type(runner.cfg) is Config  # no class swapped in behind mmengine's back
    dumped = Config.fromfile(str(tmp_path / 'w' / 'caption.py'))
    assert dumped.model == runner.cfg.model and dumped.test_dataloader == runner.cfg.test_dataloader


# ---------------------------------------------------- configs and --out
def test_a_config_without_a_test_set_is_named_with_the_missing_key(tmp_path, tiny_dir, tool):
    model_only = tiny_dir / 'config.py'  # a model directory's config: model and pipeline, no test set
    with pytest.raises(ValueError, match=rf'{model_only} defines no test set: test_dataloader and test_evaluator'):
        tool.main([str(model_only), str(tiny_dir), '--work-dir', str(tmp_path / 'work')])
    no_metric = tmp_path / 'no_metric.py'
    cfg = Config.fromfile(str(model_only))
    cfg.test_dataloader = dict(batch_size=1, dataset=dict(type='COCOCaption', data_root='.', ann_file='a.json'))
    cfg.dump(str(no_metric))
    with pytest.raises(ValueError, match=rf'{no_metric} defines no test set: test_evaluator missing'):
        tool.main([str(no_metric), str(tiny_dir), '--work-dir', str(tmp_path / 'work')])
    assert not (tmp_path / 'work').exists()


def test_out_never_replaces_a_directory_a_link_or_a_file_in_the_way(tmp_path, tiny_dir, coco, tool):
    config = write_config(tmp_path / 'caption.py', tiny_dir,
                          dict(type='COCOCaption', data_root=coco['data_root'], ann_file=coco['ann_file']),
                          dict(type='COCOCaption', ann_file=coco['gt_file'], meteor=False))
    work = tmp_path / 'work'
    folder = tmp_path / 'results.json'  # a user's folder that happens to have the name
    folder.mkdir()
    (folder / 'keep.txt').write_text('mine')
    target = tmp_path / 'elsewhere.json'
    target.write_text('linked')
    (tmp_path / 'link.json').symlink_to(target)
    (tmp_path / 'a_file').write_text('in the way')
    cases = {folder: 'is a directory', tmp_path / 'link.json': 'is a symbolic link',
             tmp_path / 'a_file' / 'preds.json': 'is a file, not a folder'}
    for out, message in cases.items():
        with pytest.raises(OSError, match=message):
            tool.main([str(config), str(tiny_dir), '--work-dir', str(work), '--out', str(out)])
    assert (folder / 'keep.txt').read_text() == 'mine' and target.read_text() == 'linked'
    assert (tmp_path / 'link.json').is_symlink() and (tmp_path / 'a_file').read_text() == 'in the way'
    assert not work.exists()  # refused before the runner was built
    # Checked again when the predictions are written: a folder made during the run survives too.
    with pytest.raises(FileExistsError, match='is a directory'):
        tool.SavePredictions(str(folder)).compute_metrics([{'pred_caption': 'a cat'}])
    assert (folder / 'keep.txt').read_text() == 'mine'
