"""llava_mm: LLaVA for OpenMMLab (run, evaluate, convert, fine-tune).

Wheels carry the model zoo as OpenMMLab's ``.mim`` convention has it: the
configs, the model index, the tools and the demo folder (with the shipped tiny
model) are copied into ``llava_mm/.mim/`` of the build, so ``list_models()``
and ``get_model(name)`` work from an installed package. The copy is made in
the build folder only; a checkout (or an editable install) reads the same
files from the repository itself.
"""
import shutil
from pathlib import Path

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

# Repository files that llava_mm reads at run time, under llava_mm/.mim/ once installed.
MIM_FILES = ('configs', 'demo', 'tools', 'model-index.yml')



class BuildWithMim(build_py):
    """``build_py`` that also copies ``MIM_FILES`` into ``<build>/llava_mm/.mim``."""

    def run(self) -> None:
        super().run()
        if getattr(self, 'editable_mode', False):
            return  # the package is read from the checkout, next to these files
        root = Path(__file__).resolve().parent
        mim = Path(self.build_lib) / 'llava_mm' / '.mim'
        shutil.rmtree(mim, ignore_errors=True)
        mim.mkdir(parents=True)
        for name in MIM_FILES:
            src = root / name
            if src.is_dir():
                shutil.copytree(src, mim / name, ignore=shutil.ignore_patterns('__pycache__', '*.pyc'))
            else:
                shutil.copyfile(src, mim / name)


version = {}
exec(Path('llava_mm/version.py').read_text(), version)

setup(
    name='llava_mm',
    version=version['__version__'],
    description='LLaVA (CLIP ViT-L/14 + projector + LLaMA/Vicuna) as an OpenMMLab toolkit',
    long_description=Path('README.md').read_text(encoding='utf-8'),
    long_description_content_type='text/markdown',
    packages=find_packages(include=['llava_mm', 'llava_mm.*']),
    python_requires='>=3.9',
    # torch is pinned by the installer (CPU: torch==2.13.0) before this package;
    # a range it satisfies installs nothing more.
    install_requires=[
        'torch>=2.1',
        'mmengine>=0.10.4,<1.0',
        'mmcv-lite>=2.0.0,<2.4.0',
        'mmpretrain==1.2.0',
        'transformers>=5.0,<6',
        'tokenizers',
        'sentencepiece',  # every LLaMA / Vicuna / liuhaotian checkpoint ships only tokenizer.model
        'protobuf',
        'safetensors',
        'huggingface_hub',
        'pillow',
        'numpy',
        'pyyaml',
        'tqdm',
        'pycocotools',
        'pycocoevalcap==1.2',
    ],
    extras_require={
        'tests': ['pytest', 'pytest-timeout', 'peft>=0.13', 'gradio==6.31.0', 'playwright==1.65.2', 'pexpect==4.9.0'],
        'web': ['gradio>=6.31,<7'],
        'lora': ['peft>=0.13'],
    },
    cmdclass={'build_py': BuildWithMim},
    zip_safe=False,
)
