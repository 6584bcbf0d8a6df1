"""Draw the bundled image set (assets/images/*.png): 12 small synthetic pictures, seeded, so the
inputs of vision cases and the top-1 agreement of an exported classifier never need a download.

Run: python scripts/make_images.py  (writes the same bytes every time; Pillow only)."""
from __future__ import annotations

import math
import random
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

SIZE = 96
OUT = Path(__file__).resolve().parent.parent / "assets" / "images"


def scene(i: int) -> Image.Image:
    rng = random.Random(1000 + i)
    bg = tuple(rng.randrange(40, 220) for _ in range(3))
    img = Image.new("RGB", (SIZE, SIZE), bg)
    d = ImageDraw.Draw(img)
    kind = i % 4
    if kind == 0:  # gradient sky over ground with a sun
        for y in range(SIZE):
            t = y / SIZE
            d.line([(0, y), (SIZE, y)], fill=(int(90 + 120 * t), int(140 + 60 * t), int(230 - 100 * t)))
        d.rectangle([0, SIZE * 2 // 3, SIZE, SIZE], fill=(60 + rng.randrange(60), 120 + rng.randrange(60), 50))
        r = rng.randrange(8, 16)
        cx, cy = rng.randrange(r, SIZE - r), rng.randrange(r, SIZE // 2)
        d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=(250, 220, 80))
    elif kind == 1:  # overlapping shapes
        for _ in range(6):
            x0, y0 = rng.randrange(SIZE), rng.randrange(SIZE)
            x1, y1 = x0 + rng.randrange(10, 50), y0 + rng.randrange(10, 50)
            col = tuple(rng.randrange(256) for _ in range(3))
            (d.ellipse if rng.random() < 0.5 else d.rectangle)([x0, y0, x1, y1], fill=col)
    elif kind == 2:  # stripes and checks
        step = rng.randrange(6, 16)
        col = tuple(rng.randrange(256) for _ in range(3))
        for k in range(0, SIZE, step):
            if rng.random() < 0.5:
                d.rectangle([k, 0, k + step // 2, SIZE], fill=col)
            else:
                d.rectangle([0, k, SIZE, k + step // 2], fill=col)
    else:  # a smooth texture
        f1, f2 = rng.uniform(0.05, 0.3), rng.uniform(0.05, 0.3)
        for y in range(SIZE):
            for x in range(SIZE):
                v = math.sin(f1 * x + 3 * math.sin(f2 * y))
                img.putpixel((x, y), (int(128 + 100 * v), int(128 - 80 * v), int(128 + 60 * math.cos(f2 * x))))
    return img.filter(ImageFilter.GaussianBlur(0.6))


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for i in range(12):
        scene(i).save(OUT / f"scene{i:02d}.png", optimize=True)


if __name__ == "__main__":
    main()
