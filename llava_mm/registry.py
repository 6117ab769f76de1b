"""llava_mm registries, children of mmpretrain's so components live in one tree.

mmpretrain.registry imports without torchvision (unlike mmpretrain.models), so
llava_mm components can be built by name from configs with ``scope='llava_mm'``
and still find mmengine / mmcv / mmpretrain components by their parents.
"""
from mmengine.registry import Registry
from mmpretrain import registry as mmpretrain_registry

__all__ = ['MODELS', 'DATASETS', 'TRANSFORMS', 'METRICS', 'TOKENIZER', 'EVALUATORS']


def _child(name: str, parent: Registry, *locations: str) -> Registry:
    return Registry(name, parent=parent, scope='llava_mm', locations=list(locations))


MODELS = _child('model', mmpretrain_registry.MODELS, 'llava_mm.models')
TOKENIZER = _child('tokenizer', mmpretrain_registry.TOKENIZER, 'llava_mm.models')
DATASETS = _child('dataset', mmpretrain_registry.DATASETS, 'llava_mm.datasets')
TRANSFORMS = _child('transform', mmpretrain_registry.TRANSFORMS, 'llava_mm.datasets')
METRICS = _child('metric', mmpretrain_registry.METRICS, 'llava_mm.evaluation')
EVALUATORS = _child('evaluator', mmpretrain_registry.EVALUATORS, 'llava_mm.evaluation')
