"""``python tools/make_scenes.py OUT --num-images N --seed S`` as users run it."""
import hashlib
import importlib.util
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from llava_mm.scenes import write_scenes

REPO = Path(__file__).resolve().parents[2]
TOOL = REPO / 'tools' / 'make_scenes.py'


def load_tool():
    spec = importlib.util.spec_from_file_location('make_scenes', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def digest(root: Path) -> dict:
    """sha256 of every file under ``root``, by relative path."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob('*')) if p.is_file()}


def test_cli_from_another_directory_writes_the_api_files_byte_for_byte(tmp_path):
    elsewhere = tmp_path / 'elsewhere'
    elsewhere.mkdir()
    proc = subprocess.run([sys.executable, str(TOOL), 'out', '--num-images', '6', '--seed', '5'], cwd=elsewhere,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert 'Drew 6 scenes' in proc.stdout
    api = write_scenes(tmp_path / 'api', 6, seed=5)
    produced = digest(elsewhere / 'out')
    assert produced == digest(Path(api['root']))
    assert {'pretrain.json', 'instruct.json', 'annotations/coco_karpathy_test.json',
            'annotations/coco_karpathy_test_gt.json', 'annotations/v2_OpenEnded_mscoco_val2014_questions.json',
            'annotations/v2_mscoco_val2014_annotations.json', 'annotations/scenes_val2014.json',
            'val2014/COCO_val2014_000000000006.jpg'} <= set(produced)


def test_same_seed_same_bytes_other_seed_other_data(tmp_path):
    a = digest(Path(write_scenes(tmp_path / 'a', 12, seed=3)['root']))
    b = digest(Path(write_scenes(tmp_path / 'b', 12, seed=3)['root']))
    c = digest(Path(write_scenes(tmp_path / 'c', 12, seed=4)['root']))
    assert a == b
    assert set(a) == set(c)
    assert all(a[name] != c[name] for name in a if name.endswith(('.jpg', '.json')))


def test_a_larger_set_starts_with_the_smaller_one(tmp_path):
    # each image has its own random streams: the first images do not depend on how many follow
    small = json.loads(Path(write_scenes(tmp_path / 's', 3, seed=1)['instruct']).read_text())
    large = json.loads(Path(write_scenes(tmp_path / 'l', 5, seed=1)['instruct']).read_text())
    assert large[:3] == small


def test_outputs_and_split_are_chosen(tmp_path):
    root = tmp_path / 'train'
    load_tool().main([str(root), '--num-images', '3', '--split', 'train2014', '--outputs', 'pretrain', 'instruct'])
    files = set(digest(root))
    assert files == {'pretrain.json', 'instruct.json', 'annotations/scenes_train2014.json',
                     *(f'train2014/COCO_train2014_{i:012d}.jpg' for i in (1, 2, 3))}
    root = tmp_path / 'vqa'
    load_tool().main([str(root), '--num-images', '2', '--outputs', 'vqa', '--questions-per-image', '5'])
    questions = json.loads((root / 'annotations/v2_OpenEnded_mscoco_val2014_questions.json').read_text())
    assert len(questions['questions']) == 10 and not (root / 'pretrain.json').exists()


def test_refuses_a_non_empty_out_unless_forced(tmp_path, capsys):
    out = tmp_path / 'out'
    out.mkdir()
    (out / 'keep.txt').write_text('mine')
    tool = load_tool()
    with pytest.raises(SystemExit) as exc:
        tool.main([str(out), '--num-images', '2'])
    assert exc.value.code == 2
    assert f'{out} is not empty' in capsys.readouterr().err and not (out / 'val2014').exists()
    write_scenes(out / 'sub', 1)  # an empty or missing OUT is fine

    tool.main([str(out), '--num-images', '4', '--force'])
    tool.main([str(out), '--num-images', '2', '--force'])  # a smaller set replaces the older images
    assert sorted(p.name for p in (out / 'val2014').iterdir()) == [f'COCO_val2014_{i:012d}.jpg' for i in (1, 2)]
    assert (out / 'keep.txt').read_text() == 'mine'


@pytest.mark.parametrize('args, message', [
    (['--num-images', '0'], "argument --num-images: expected a positive integer, got 0"),
    (['--num-images', 'many'], "argument --num-images: expected a positive integer, got 'many'"),
    ([], 'the following arguments are required: --num-images'),
    (['--num-images', '2', '--outputs', 'captions'], "argument --outputs: invalid choice: 'captions'"),
    (['--num-images', '2', '--split', 'val/2014'], 'split must be a plain name such as "val2014"'),
    (['--num-images', '2', '--questions-per-image', '-1'], 'argument --questions-per-image'),
    (['--num-images', '2', '--seed', 'x'], "argument --seed: invalid int value: 'x'"),
])
def test_bad_arguments_say_what_is_wrong(tmp_path, capsys, args, message):
    with pytest.raises(SystemExit) as exc:
        load_tool().main([str(tmp_path / 'out'), *args])
    assert exc.value.code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / 'out').exists()


def test_out_that_is_a_file_is_refused(tmp_path, capsys):
    target = tmp_path / 'file'
    target.write_text('x')
    with pytest.raises(SystemExit):
        load_tool().main([str(target), '--num-images', '1'])
    assert 'exists and is not a directory' in capsys.readouterr().err


def test_a_thousand_images_take_well_under_a_minute(tmp_path):
    start = time.perf_counter()
    write_scenes(tmp_path / 'big', 1000, seed=0, outputs=['vqa', 'caption'])
    assert time.perf_counter() - start < 30
