"""Draw ``demo/cat-dog.png``: a cartoon of a cat and a dog on a blanket.

The demo image is an honest drawing made with Pillow by this script (no
photograph could be fetched when the project was set up). It is released with
the project under its licence. Run ``python demo/draw_cat_dog.py`` to redraw it.
"""
from pathlib import Path

from PIL import Image, ImageDraw


def draw_cat(d: ImageDraw.ImageDraw, x: int, y: int) -> None:
    fur, dark = (236, 150, 60), (120, 70, 30)
    d.ellipse([x - 70, y - 20, x + 70, y + 110], fill=fur, outline=dark, width=3)           # body
    d.ellipse([x - 55, y - 120, x + 55, y - 10], fill=fur, outline=dark, width=3)           # head
    d.polygon([(x - 50, y - 95), (x - 40, y - 155), (x - 10, y - 112)], fill=fur, outline=dark)  # ears
    d.polygon([(x + 50, y - 95), (x + 40, y - 155), (x + 10, y - 112)], fill=fur, outline=dark)
    for ex in (x - 22, x + 22):                                                              # eyes
        d.ellipse([ex - 9, y - 80, ex + 9, y - 58], fill=(90, 170, 60), outline=dark)
        d.ellipse([ex - 3, y - 76, ex + 3, y - 62], fill=(0, 0, 0))
    d.polygon([(x - 7, y - 50), (x + 7, y - 50), (x, y - 42)], fill=(230, 110, 130))       # nose
    for side in (-1, 1):                                                                     # whiskers
        for dy in (-46, -38):
            d.line([(x + side * 12, y + dy), (x + side * 60, y + dy - 6)], fill=dark, width=2)
    d.arc([x + 40, y + 20, x + 150, y + 120], start=180, end=330, fill=fur, width=14)       # tail


def draw_dog(d: ImageDraw.ImageDraw, x: int, y: int) -> None:
    fur, dark = (170, 120, 80), (70, 45, 25)
    d.ellipse([x - 90, y - 10, x + 90, y + 120], fill=fur, outline=dark, width=3)           # body
    d.ellipse([x - 65, y - 130, x + 65, y + 5], fill=fur, outline=dark, width=3)            # head
    d.ellipse([x - 95, y - 115, x - 45, y - 10], fill=dark)                                  # floppy ears
    d.ellipse([x + 45, y - 115, x + 95, y - 10], fill=dark)
    d.ellipse([x - 35, y - 50, x + 35, y], fill=(225, 200, 170), outline=dark)               # muzzle
    d.ellipse([x - 12, y - 50, x + 12, y - 33], fill=(20, 20, 20))                           # nose
    d.arc([x - 18, y - 35, x + 18, y - 12], start=20, end=160, fill=(20, 20, 20), width=3)  # mouth
    for ex in (x - 28, x + 28):                                                              # eyes
        d.ellipse([ex - 10, y - 92, ex + 10, y - 70], fill=(255, 255, 255), outline=dark)
        d.ellipse([ex - 5, y - 87, ex + 5, y - 75], fill=(30, 20, 10))
    d.ellipse([x - 10, y - 18, x + 10, y + 12], fill=(220, 80, 90))                          # tongue


def main(out: Path = Path(__file__).with_name('cat-dog.png')) -> None:
    img = Image.new('RGB', (640, 427), (200, 225, 240))                                      # wall
    d = ImageDraw.Draw(img)
    d.rectangle([0, 300, 640, 427], fill=(150, 110, 80))                                     # floor
    d.rounded_rectangle([40, 250, 600, 410], radius=25, fill=(70, 90, 160))                  # blanket
    for i in range(60, 600, 40):
        d.line([(i, 255), (i, 405)], fill=(100, 120, 190), width=4)
    draw_cat(d, 200, 260)
    draw_dog(d, 440, 250)
    img.save(out)


if __name__ == '__main__':
    main()
