"""``import llava_mm`` is cheap, and configs still find every component without importing anything by hand."""
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HEAVY = ('torch', 'transformers', 'mmengine', 'mmcv', 'mmpretrain')


def fresh_python(code: str) -> str:
    """Run ``code`` in a new interpreter (nothing imported yet) and return its last output line."""
    proc = subprocess.run([sys.executable, '-c', code], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return proc.stdout.splitlines()[-1]


def test_import_llava_mm_loads_no_framework():
    loaded = json.loads(fresh_python(
        'import sys, json, llava_mm\n'
        f'print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in {HEAVY!r} or m.startswith("llava_mm."))))'))
    assert loaded == ['llava_mm.version']


def test_public_names_and_subpackages_load_on_first_use():
    out = json.loads(fresh_python(
        'import json, llava_mm\n'
        'print(json.dumps([llava_mm.get_model.__module__, llava_mm.inference_model.__module__,\n'
        '                  llava_mm.list_models.__module__, llava_mm.registry.__name__, "get_model" in dir(llava_mm)]))'))
    assert out == ['llava_mm.apis.model_zoo', 'llava_mm.apis.inference', 'llava_mm.apis.model_zoo',
                   'llava_mm.registry', True]


def test_every_component_resolves_from_a_cold_start_with_default_scope():
    """In one interpreter, every registered name (all modules imported); in another, each one is found
    through mmengine's root registries with ``default_scope='llava_mm'`` and nothing imported by hand."""
    names = json.loads(fresh_python(
        'import json\n'
        'import llava_mm.models, llava_mm.datasets, llava_mm.evaluation\n'
        'from llava_mm import registry\n'
        'print(json.dumps({key: sorted(getattr(registry, key)._module_dict)\n'
        '                  for key in ("MODELS", "TOKENIZER", "DATASETS", "TRANSFORMS", "METRICS")}))'))
    assert {'Llava', 'CLIPVisionTower', 'MLPProjector', 'LlamaForCausalLM'} <= set(names['MODELS'])
    assert {'VQAv2', 'COCOCaption', 'ScienceQA'} <= set(names['DATASETS'])
    assert {'PadToSquare', 'PackLlavaInputs'} <= set(names['TRANSFORMS'])
    assert {'VQAAcc', 'COCOCaption', 'ScienceQAAcc'} <= set(names['METRICS'])
    assert names['TOKENIZER'] == ['AutoTokenizer']
    names.pop('TOKENIZER')  # llava_mm's own (mmengine has no tokenizer registry): built by Llava, checked below

    found = json.loads(fresh_python(
        'import json\n'
        'from mmengine import registry\n'
        'registry.init_default_scope("llava_mm")\n'
        f'names = {names!r}\n'
        'found = {}\n'
        'for key, keys in names.items():\n'
        '    with getattr(registry, key).switch_scope_and_registry(None) as reg:\n'
        '        found[key] = [reg.get(name).__module__ for name in keys]\n'
        'found["LoadImageFromFile"] = registry.TRANSFORMS.build(dict(type="LoadImageFromFile")).__module__\n'
        'print(json.dumps(found))'))
    for key, modules in found.items():
        if key != 'LoadImageFromFile':
            assert len(modules) == len(names[key]) and all(m.startswith('llava_mm.') for m in modules), (key, modules)
    assert found['LoadImageFromFile'].startswith('mmcv.')  # mmcv's, through the parent registry


def test_the_shipped_tiny_config_builds_through_mmengine_with_nothing_imported():
    out = fresh_python(
        'import sys\n'
        'from mmengine.config import Config\n'
        'from mmengine.registry import MODELS, init_default_scope\n'
        'cfg = Config.fromfile("demo/llava-tiny/config.py")\n'
        'init_default_scope(cfg.default_scope)\n'
        'cfg.model.tokenizer.name_or_path = "demo/llava-tiny"\n'
        'net = MODELS.build(cfg.model)\n'
        'print(type(net).__module__, type(net).__name__, type(net.tokenizer).__name__, "mmpretrain.models" in sys.modules)')
    module, name, tokenizer, mmpretrain_models = out.split()
    assert (module, name, mmpretrain_models) == ('llava_mm.models.llava', 'Llava', 'False')
    assert 'Tokenizer' in tokenizer
