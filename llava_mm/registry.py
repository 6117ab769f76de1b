"""llava_mm registries, children of mmpretrain's so components live in one tree.

mmpretrain.registry imports without torchvision (unlike mmpretrain.models), so
llava_mm components are built by name from configs with ``scope='llava_mm'``
and still find mmengine / mmcv / mmpretrain components through their parents.
Every registry mmengine's Runner looks up has a child here, so a config with
``default_scope = 'llava_mm'`` resolves all of them without warnings.
"""
from mmengine.registry import Registry
from mmpretrain import registry as mmpretrain_registry


def _child(name: str, parent: Registry, *locations: str) -> Registry:
    return Registry(name, parent=parent, scope='llava_mm', locations=list(locations))


# Components llava_mm defines.
MODELS = _child('model', mmpretrain_registry.MODELS, 'llava_mm.models')
TOKENIZER = _child('tokenizer', mmpretrain_registry.TOKENIZER, 'llava_mm.models')
DATASETS = _child('dataset', mmpretrain_registry.DATASETS, 'llava_mm.datasets')
TRANSFORMS = _child('transform', mmpretrain_registry.TRANSFORMS, 'llava_mm.datasets')
METRICS = _child('metric', mmpretrain_registry.METRICS, 'llava_mm.evaluation')
EVALUATORS = _child('evaluator', mmpretrain_registry.EVALUATORS, 'llava_mm.evaluation')

# Runner machinery, inherited as is.
RUNNERS = _child('runner', mmpretrain_registry.RUNNERS)
RUNNER_CONSTRUCTORS = _child('runner constructor', mmpretrain_registry.RUNNER_CONSTRUCTORS)
LOOPS = _child('loop', mmpretrain_registry.LOOPS)
HOOKS = _child('hook', mmpretrain_registry.HOOKS)
LOG_PROCESSORS = _child('log processor', mmpretrain_registry.LOG_PROCESSORS)
DATA_SAMPLERS = _child('data sampler', mmpretrain_registry.DATA_SAMPLERS)
MODEL_WRAPPERS = _child('model_wrapper', mmpretrain_registry.MODEL_WRAPPERS)
WEIGHT_INITIALIZERS = _child('weight initializer', mmpretrain_registry.WEIGHT_INITIALIZERS)
OPTIMIZERS = _child('optimizer', mmpretrain_registry.OPTIMIZERS)
OPTIM_WRAPPERS = _child('optim_wrapper', mmpretrain_registry.OPTIM_WRAPPERS)
OPTIM_WRAPPER_CONSTRUCTORS = _child('optimizer wrapper constructor',
                                    mmpretrain_registry.OPTIM_WRAPPER_CONSTRUCTORS)
PARAM_SCHEDULERS = _child('parameter scheduler', mmpretrain_registry.PARAM_SCHEDULERS)
TASK_UTILS = _child('task util', mmpretrain_registry.TASK_UTILS)
VISUALIZERS = _child('visualizer', mmpretrain_registry.VISUALIZERS)
VISBACKENDS = _child('vis_backend', mmpretrain_registry.VISBACKENDS)
BATCH_AUGMENTS = _child('batch augment', mmpretrain_registry.BATCH_AUGMENTS)
