"""Procedurally drawn scenes for training and testing small LLaVA models offline.

Scenes of 1-4 coloured shapes and cartoon animals on plain or patterned
backgrounds (``scene``, ``drawing``), what is said about them in a closed
vocabulary (``language``), and writers of the real LLaVA / COCO / VQAv2 file
layouts (``writers``; CLI: ``tools/make_scenes.py``). ``scene_corpus()`` is
every text they can produce; ``scenes.tokenizer.write_scene_tokenizer`` trains
the tiny scenes model's SentencePiece tokenizer on it.
"""
from .corpus import scene_corpus
from .drawing import draw_object, render_scene
from .language import QA, candidate_questions, captions, conversation, detailed_description, sample_questions
from .scene import Background, Scene, SceneObject, sample_scene
from .writers import OUTPUTS, make_scene, write_scenes

__all__ = ['Background', 'OUTPUTS', 'QA', 'Scene', 'SceneObject', 'candidate_questions', 'captions', 'conversation',
           'detailed_description', 'draw_object', 'make_scene', 'render_scene', 'sample_questions', 'sample_scene',
           'scene_corpus', 'write_scenes']
