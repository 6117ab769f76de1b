"""llava_mm registries: children of mmengine's root registries, scope ``llava_mm``.

A config with ``default_scope = 'llava_mm'`` makes mmengine import this module
and look components up here; each registry's ``locations`` names the modules
that register into it, so mmengine imports them on the first look-up. Nothing
has to be imported by hand, and ``import llava_mm`` stays cheap.

The parents are mmengine's registries, not mmpretrain's: importing
``mmpretrain.registry`` runs mmpretrain's ``__init__`` (mmcv, mmpretrain.apis,
mmengine.model: ~2 s), and llava_mm builds no mmpretrain component by name.
mmcv's transforms (``LoadImageFromFile``) register in mmengine's root, so they
are found through the parent; mmpretrain's stay reachable as ``mmpretrain.X``.
Every registry mmengine's Runner looks up has a child here, so a Runner with
``default_scope = 'llava_mm'`` resolves all of them without warnings.
"""
from mmengine import registry as mmengine_registry
from mmengine.registry import Registry


def _child(name: str, parent: Registry, *locations: str) -> Registry:
    return Registry(name, parent=parent, scope='llava_mm', locations=list(locations))


# Components llava_mm defines, with the packages that register them.
MODELS = _child('model', mmengine_registry.MODELS, 'llava_mm.models')
TOKENIZER = Registry('tokenizer', scope='llava_mm', locations=['llava_mm.models'])  # no mmengine counterpart
DATASETS = _child('dataset', mmengine_registry.DATASETS, 'llava_mm.datasets')
TRANSFORMS = _child('transform', mmengine_registry.TRANSFORMS, 'llava_mm.datasets')
METRICS = _child('metric', mmengine_registry.METRICS, 'llava_mm.evaluation')
EVALUATORS = _child('evaluator', mmengine_registry.EVALUATOR, 'llava_mm.evaluation')

# Runner machinery: mmengine's, plus llava_mm's training loop, hooks, sampler, optim wrapper (llava_mm.engine).
RUNNERS = _child('runner', mmengine_registry.RUNNERS)
RUNNER_CONSTRUCTORS = _child('runner constructor', mmengine_registry.RUNNER_CONSTRUCTORS)
LOOPS = _child('loop', mmengine_registry.LOOPS, 'llava_mm.engine')
HOOKS = _child('hook', mmengine_registry.HOOKS, 'llava_mm.engine')
LOG_PROCESSORS = _child('log processor', mmengine_registry.LOG_PROCESSORS)
DATA_SAMPLERS = _child('data sampler', mmengine_registry.DATA_SAMPLERS, 'llava_mm.engine')
FUNCTIONS = _child('function', mmengine_registry.FUNCTIONS)
MODEL_WRAPPERS = _child('model_wrapper', mmengine_registry.MODEL_WRAPPERS)
WEIGHT_INITIALIZERS = _child('weight initializer', mmengine_registry.WEIGHT_INITIALIZERS)
OPTIMIZERS = _child('optimizer', mmengine_registry.OPTIMIZERS)
OPTIM_WRAPPERS = _child('optim_wrapper', mmengine_registry.OPTIM_WRAPPERS, 'llava_mm.engine')
OPTIM_WRAPPER_CONSTRUCTORS = _child('optimizer wrapper constructor',
                                    mmengine_registry.OPTIM_WRAPPER_CONSTRUCTORS)
PARAM_SCHEDULERS = _child('parameter scheduler', mmengine_registry.PARAM_SCHEDULERS)
TASK_UTILS = _child('task util', mmengine_registry.TASK_UTILS)
VISUALIZERS = _child('visualizer', mmengine_registry.VISUALIZERS)
VISBACKENDS = _child('vis_backend', mmengine_registry.VISBACKENDS)
