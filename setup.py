"""llava_mm: LLaVA for OpenMMLab (run, evaluate, convert, fine-tune)."""
from pathlib import Path

from setuptools import find_packages, setup

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
    include_package_data=True,
    zip_safe=False,
)
