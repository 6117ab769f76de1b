"""Draw ``demo/cat-dog.png``: an orange cat next to a brown dog, as one of the drawn scenes.

The demo image is a scene of ``llava_mm.scenes`` (the data the tiny embedded
model is trained on), made with the same Pillow primitives, written out by
hand instead of sampled: two large animals in a row on a plain light-blue
background. Its canvas is 320 x 224 like the training scenes; it is saved at
twice that size so people can see it well (the model resizes it anyway).
Run ``python demo/draw_cat_dog.py`` to redraw it.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from llava_mm.scenes import Background, Scene, SceneObject, captions, render_scene  # noqa: E402

SCENE = Scene(width=320, height=224, layout='row', background=Background('sky', 'plain', 20, 0), objects=(
    SceneObject(kind='cat', colour='orange', size='large', position='left', box=(14, 46, 146, 178)),
    SceneObject(kind='dog', colour='brown', size='large', position='right', box=(174, 46, 306, 178)),
))


def main(out: Path = Path(__file__).with_name('cat-dog.png')) -> None:
    render_scene(SCENE, scale=2).save(out)
    print(f'Wrote {out}: {captions(SCENE)[0]}')


if __name__ == '__main__':
    main()
