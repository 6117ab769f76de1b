"""A built wheel, installed outside the source tree, runs the model zoo and the shipped tiny model.

``pip install .`` used to install no configs and no model index, so
``list_models()`` / ``get_model(name)`` worked only from a checkout. This test
builds the wheel from a copy of the repository, installs it with
``pip install --no-deps --target T`` and runs llava_mm from an unrelated folder
with ``PYTHONPATH=T`` only, as a user of the wheel would.
"""
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from llava_mm import get_model, inference_model, list_models

REPO = Path(__file__).resolve().parents[2]
LLAVA_7B_V15_PARAMS = 7_062_900_736  # configs/llava/metafile.yml, = liuhaotian/llava-v1.5-7b's tensors
NOT_SHIPPED = shutil.ignore_patterns('.git', 'build', 'dist', '*.egg-info', '__pycache__', '*.pyc', 'work_dirs',
                                     'data', '.pytest_cache', 'tests')

USER_SCRIPT = '''
import json, sys
import llava_mm
tiny = llava_mm.get_model('llava-tiny_caption')
print(json.dumps(dict(
    package=llava_mm.__file__,
    models=llava_mm.list_models(),
    params_7b=sum(p.numel() for p in llava_mm.get_model('llava-7b-v1.5_vqa', device='meta').parameters()),
    tokenizer=tiny.cfg.model.tokenizer.name_or_path,
    caption=llava_mm.inference_model(tiny, sys.argv[1])['pred_caption'],
)))
'''


def pip(*args: str, cwd: Path) -> None:
    proc = subprocess.run([sys.executable, '-m', 'pip', *args, '-q', '--disable-pip-version-check'],
                          cwd=cwd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f'pip {" ".join(args)} failed:\n{proc.stdout}\n{proc.stderr}'


@pytest.fixture(scope='module')
def wheel(tmp_path_factory) -> Path:
    """The wheel, built from a copy of the repository (the checkout gets no build/ or egg-info)."""
    work = tmp_path_factory.mktemp('wheel')
    shutil.copytree(REPO, work / 'src', ignore=NOT_SHIPPED)
    pip('wheel', str(work / 'src'), '--no-deps', '--no-build-isolation', '-w', str(work / 'dist'), cwd=work)
    (built, ) = (work / 'dist').glob('llava_mm-*.whl')
    return built


@pytest.fixture(scope='module')
def target(wheel, tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp('site') / 'T'
    pip('install', '--no-deps', '--target', str(target), str(wheel), cwd=wheel.parent)
    return target


def test_wheel_carries_configs_model_index_tools_and_the_tiny_model(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    mim = 'llava_mm/.mim/'
    for folder, patterns in (('configs', ('*.py', '*.yml')), ('demo/llava-tiny', ('*', )), ('tools', ('*.py', '*.sh'))):
        expected = {f'{mim}{p.relative_to(REPO).as_posix()}'
                    for pattern in patterns for p in (REPO / folder).rglob(pattern)
                    if p.is_file() and '__pycache__' not in p.parts}
        assert expected and expected <= names, sorted(expected - names)
    assert f'{mim}model-index.yml' in names
    assert not [n for n in names if '__pycache__' in n or n.endswith('.pyc')]


def test_installed_wheel_runs_the_model_zoo_from_an_unrelated_folder(target, tmp_path, image_files):
    elsewhere = tmp_path / 'elsewhere'
    elsewhere.mkdir()
    env = dict(os.environ, PYTHONPATH=str(target))
    proc = subprocess.run([sys.executable, '-c', USER_SCRIPT, str(image_files[0])], cwd=elsewhere, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-4000:]
    run = json.loads(proc.stdout.splitlines()[-1])

    assert Path(run['package']).parent == target / 'llava_mm'  # the installed copy, not the checkout
    assert run['models'] == list_models() and 'llava-tiny_caption' in run['models']
    assert run['params_7b'] == LLAVA_7B_V15_PARAMS
    # The shipped tiny model resolves inside the installed package, and answers as it does from the checkout.
    assert Path(run['tokenizer']) == target / 'llava_mm' / '.mim' / 'demo' / 'llava-tiny'
    assert run['caption'] == inference_model(get_model('llava-tiny_caption'), str(image_files[0]))['pred_caption']
