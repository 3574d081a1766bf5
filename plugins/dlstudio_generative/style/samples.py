"""Sample pictures for style transfer, drawn by the code below (so nobody's picture is shipped): three contents
(a landscape, a still life, a city skyline) and four styles (swirly night-sky strokes, a mosaic, warm waves,
cross-hatched ink), stored as small PNGs in the plugin's ``resources`` folder.

A spec names a sample as ``"sample:<name>"`` (e.g. ``"sample:landscape"``) where it would name a file.
``python -m dlstudio_generative.style.samples`` draws them again (deterministically: the same pixels each time;
a test checks that the shipped files are what the code draws).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

RESOURCES = Path(__file__).resolve().parents[1] / "resources"
#: How a spec refers to a bundled sample instead of a file.
SAMPLE_PREFIX = "sample:"
#: Drawn at this many times the size, then reduced: smooth edges without an anti-aliasing renderer.
_SUPERSAMPLE = 2


class SampleImage(NamedTuple):
    title: str
    #: "content" or "style": which slot of the panel offers it.
    role: str
    path: Path


# -- contents ---------------------------------------------------------------------------------------------
def _vertical_gradient(size: tuple[int, int], top: tuple[int, int, int], bottom: tuple[int, int, int]) -> Image.Image:
    width, height = size
    t = np.linspace(0.0, 1.0, height)[:, None, None]
    rows = (1 - t) * np.array(top, float) + t * np.array(bottom, float)
    return Image.fromarray(np.repeat(rows, width, axis=1).round().astype(np.uint8), "RGB")


def _hill(width: int, base: float, amplitude: float, wavelength: float, phase: float, height: int) -> list:
    xs = np.linspace(0, width, 64)
    ys = base - amplitude * np.sin(xs / wavelength + phase)
    return [(0, height), *zip(xs.tolist(), ys.tolist(), strict=True), (width, height)]


def draw_landscape(rng: np.random.Generator, s: int) -> Image.Image:
    """Rolling hills under a sun, a house with a red roof, a tree and a path."""
    w, h = 256 * s, 192 * s
    image = _vertical_gradient((w, h), (90, 150, 225), (200, 225, 245))
    draw = ImageDraw.Draw(image)
    draw.ellipse((190 * s, 18 * s, 226 * s, 54 * s), fill=(255, 215, 60))
    draw.polygon(_hill(w, 120 * s, 14 * s, 40 * s, 0.5, h), fill=(110, 160, 80))
    draw.polygon(_hill(w, 145 * s, 10 * s, 28 * s, 2.0, h), fill=(70, 130, 55))
    draw.polygon([(120 * s, h), (150 * s, h), (112 * s, 150 * s), (104 * s, 150 * s)], fill=(200, 175, 120))
    draw.rectangle((60 * s, 105 * s, 110 * s, 150 * s), fill=(235, 225, 200))  # the house
    draw.polygon([(52 * s, 107 * s), (85 * s, 78 * s), (118 * s, 107 * s)], fill=(180, 45, 40))
    draw.rectangle((78 * s, 125 * s, 90 * s, 150 * s), fill=(90, 60, 40))
    for x in (65, 96):
        draw.rectangle((x * s, 113 * s, (x + 9) * s, 122 * s), fill=(70, 110, 160))
    draw.rectangle((168 * s, 110 * s, 176 * s, 150 * s), fill=(100, 70, 45))  # the tree
    draw.ellipse((150 * s, 75 * s, 194 * s, 120 * s), fill=(40, 105, 45))
    for _ in range(12):  # flowers in the grass
        x, y = rng.uniform(0, w), rng.uniform(160 * s, h - 4 * s)
        draw.ellipse((x - 2 * s, y - 2 * s, x + 2 * s, y + 2 * s), fill=(250, 240, 120))
    return image


def draw_still_life(rng: np.random.Generator, s: int) -> Image.Image:
    """A vase of flowers, an apple and a pear on a table before a wall with a framed picture."""
    w, h = 224 * s, 224 * s
    image = _vertical_gradient((w, h), (215, 200, 170), (180, 160, 130))
    draw = ImageDraw.Draw(image)
    draw.rectangle((140 * s, 22 * s, 204 * s, 78 * s), fill=(120, 80, 40))  # a frame on the wall
    draw.rectangle((146 * s, 28 * s, 198 * s, 72 * s), fill=(120, 170, 200))
    draw.polygon([(146 * s, 72 * s), (166 * s, 45 * s), (186 * s, 72 * s)], fill=(80, 120, 70))
    draw.rectangle((0, 150 * s, w, h), fill=(130, 85, 50))  # the table
    draw.rectangle((0, 150 * s, w, 156 * s), fill=(100, 60, 35))
    draw.ellipse((45 * s, 85 * s, 105 * s, 158 * s), fill=(40, 80, 150))  # the vase
    draw.rectangle((62 * s, 70 * s, 88 * s, 95 * s), fill=(40, 80, 150))
    for angle in np.linspace(-1.0, 1.0, 5):
        x, y = 75 + 40 * math.sin(angle), 70 - 38 * math.cos(angle)
        draw.line((75 * s, 75 * s, x * s, y * s), fill=(50, 110, 40), width=2 * s)
        color = tuple(int(c) for c in rng.choice([(230, 60, 70), (245, 200, 50), (240, 240, 235)]))
        draw.ellipse(((x - 9) * s, (y - 9) * s, (x + 9) * s, (y + 9) * s), fill=color)
        draw.ellipse(((x - 3) * s, (y - 3) * s, (x + 3) * s, (y + 3) * s), fill=(120, 70, 20))
    draw.ellipse((120 * s, 125 * s, 152 * s, 157 * s), fill=(200, 30, 35))  # an apple
    draw.line((136 * s, 126 * s, 139 * s, 117 * s), fill=(90, 60, 30), width=2 * s)
    draw.ellipse((160 * s, 128 * s, 188 * s, 160 * s), fill=(190, 190, 60))  # a pear
    draw.ellipse((166 * s, 110 * s, 184 * s, 138 * s), fill=(190, 190, 60))
    return image


def draw_skyline(rng: np.random.Generator, s: int) -> Image.Image:
    """A city at dusk: towers with lit windows, a moon, and their reflection in a river."""
    w, h = 256 * s, 176 * s
    image = _vertical_gradient((w, h), (30, 40, 90), (240, 150, 90))
    draw = ImageDraw.Draw(image)
    draw.ellipse((30 * s, 20 * s, 52 * s, 42 * s), fill=(245, 240, 215))
    water = 140 * s
    x = 0
    while x < w:
        width = int(rng.integers(18, 40)) * s
        top = int(rng.integers(40, 115)) * s
        shade = int(rng.integers(25, 60))
        draw.rectangle((x, top, x + width - s, water), fill=(shade, shade, shade + 15))
        for wy in range(top + 6 * s, water - 6 * s, 9 * s):
            for wx in range(x + 4 * s, x + width - 6 * s, 7 * s):
                if rng.random() < 0.55:
                    draw.rectangle((wx, wy, wx + 3 * s, wy + 4 * s), fill=(255, 220, 120))
        x += width
    draw.rectangle((0, water, w, h), fill=(35, 45, 80))
    reflection = image.crop((0, water - (h - water), w, water)).transpose(Image.Transpose.FLIP_TOP_BOTTOM)
    reflection = Image.blend(reflection, Image.new("RGB", reflection.size, (35, 45, 80)), 0.55)
    image.paste(reflection, (0, water))
    return image


# -- styles ---------------------------------------------------------------------------------------------
def draw_night_swirls(rng: np.random.Generator, s: int) -> Image.Image:
    """Short curved brush strokes in blues, whites and yellows following whirlpools, with glowing stars."""
    w = h = 224 * s
    image = Image.new("RGB", (w, h), (20, 40, 100))
    draw = ImageDraw.Draw(image)
    centres = rng.uniform(0.1, 0.9, size=(4, 2)) * w
    spins = rng.choice([-1.0, 1.0], size=4) * rng.uniform(0.7, 1.3, size=4)
    palette = [(30, 70, 160), (60, 110, 200), (110, 160, 230), (230, 230, 200), (250, 210, 70), (15, 35, 90)]

    def flow(x: float, y: float) -> tuple[float, float]:
        vx, vy = 0.3, 0.0
        for (cx, cy), spin in zip(centres, spins, strict=True):
            dx, dy = x - cx, y - cy
            r2 = dx * dx + dy * dy + (20.0 * s) ** 2
            strength = spin * (60.0 * s) ** 2 / r2
            vx, vy = vx - dy / math.sqrt(r2) * strength, vy + dx / math.sqrt(r2) * strength
        norm = math.hypot(vx, vy) or 1.0
        return vx / norm, vy / norm

    for _ in range(1400):
        x, y = rng.uniform(0, w), rng.uniform(0, h)
        points = [(x, y)]
        for _ in range(int(rng.integers(6, 14))):
            dx, dy = flow(x, y)
            x, y = x + dx * 3 * s, y + dy * 3 * s
            points.append((x, y))
        color = palette[int(rng.integers(len(palette)))]
        draw.line(points, fill=color, width=int(rng.integers(2, 5)) * s, joint="curve")
    for _ in range(7):
        x, y, r = rng.uniform(0, w), rng.uniform(0, h * 0.7), rng.uniform(6, 12) * s
        draw.ellipse((x - 2 * r, y - 2 * r, x + 2 * r, y + 2 * r), outline=(240, 220, 120), width=2 * s)
        draw.ellipse((x - r, y - r, x + r, y + r), fill=(255, 235, 110))
    return image


def draw_mosaic(rng: np.random.Generator, s: int) -> Image.Image:
    """Irregular tiles of bright glazed colours set in dark grout (a Voronoi tessellation)."""
    w = h = 224 * s
    seeds = rng.uniform(0, w, size=(110, 2))
    palette = np.array([(200, 40, 40), (240, 180, 30), (30, 110, 190), (40, 150, 90), (230, 230, 220),
                        (120, 50, 140), (240, 110, 40)], float)
    colors = palette[rng.integers(len(palette), size=len(seeds))] * rng.uniform(0.8, 1.1, size=(len(seeds), 1))
    ys, xs = np.mgrid[0:h:2, 0:w:2].astype(float)  # nearest seed on a coarse grid, then enlarged
    distances = (xs[..., None] - seeds[:, 0]) ** 2 + (ys[..., None] - seeds[:, 1]) ** 2
    nearest = np.argsort(distances, axis=-1)[..., :2]
    first = np.take_along_axis(distances, nearest[..., :1], -1)[..., 0]
    second = np.take_along_axis(distances, nearest[..., 1:], -1)[..., 0]
    grout = (np.sqrt(second) - np.sqrt(first)) < 2.5 * s
    tiles = colors[nearest[..., 0]]
    tiles[grout] = (45, 40, 35)
    small = Image.fromarray(np.clip(tiles, 0, 255).astype(np.uint8), "RGB")
    return small.resize((w, h), Image.Resampling.NEAREST).filter(ImageFilter.SMOOTH)


def draw_warm_waves(rng: np.random.Generator, s: int) -> Image.Image:
    """Bands of reds, oranges and yellows that ripple across the picture."""
    w = h = 224 * s
    ys, xs = np.mgrid[0:h, 0:w].astype(float) / s
    phase = ys / 9.0 + 2.2 * np.sin(xs / 23.0 + 0.7 * np.sin(ys / 31.0)) + 0.8 * np.sin(xs / 7.0 + ys / 13.0)
    band = (np.floor(phase) % 4).astype(int)
    palette = np.array([(190, 40, 30), (235, 110, 35), (250, 190, 60), (120, 25, 35)], float)
    shade = 0.85 + 0.15 * np.cos(2 * math.pi * (phase % 1.0))
    pixels = palette[band] * shade[..., None]
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")


def draw_ink_hatching(rng: np.random.Generator, s: int) -> Image.Image:
    """Black ink hatched in square patches of different angles and densities on off-white paper."""
    w = h = 224 * s
    image = Image.new("RGB", (w, h), (245, 238, 220))
    cell = 56 * s
    for top in range(0, h, cell):
        for left in range(0, w, cell):
            ink = Image.new("L", (cell, cell), 0)  # lines drawn on the patch alone stop at its edges
            draw = ImageDraw.Draw(ink)
            angles = [rng.uniform(0, math.pi)]
            if rng.random() < 0.5:
                angles.append(angles[0] + math.pi / 2 + rng.uniform(-0.3, 0.3))
            spacing = rng.uniform(5, 11) * s
            for angle in angles:
                dx, dy = math.cos(angle), math.sin(angle)
                for offset in np.arange(-cell, cell, spacing):
                    cx, cy = cell / 2 - dy * offset, cell / 2 + dx * offset
                    jitter = rng.uniform(-1.5, 1.5, size=2) * s
                    draw.line((cx - dx * cell + jitter[0], cy - dy * cell, cx + dx * cell, cy + dy * cell + jitter[1]),
                              fill=255, width=max(1, int(rng.integers(1, 3))) * s)
            image.paste((25, 25, 30), (left, top), ink)
    return image


_DRAWINGS: dict[str, tuple[str, str, Callable[[np.random.Generator, int], Image.Image]]] = {
    "landscape": ("Landscape with a house", "content", draw_landscape),
    "still-life": ("Still life with flowers", "content", draw_still_life),
    "skyline": ("City skyline at dusk", "content", draw_skyline),
    "night-swirls": ("Swirling night sky", "style", draw_night_swirls),
    "mosaic": ("Mosaic tiles", "style", draw_mosaic),
    "warm-waves": ("Warm waves", "style", draw_warm_waves),
    "ink-hatching": ("Cross-hatched ink", "style", draw_ink_hatching),
}

#: The bundled samples by name, contents first.
SAMPLES: dict[str, SampleImage] = {
    name: SampleImage(title, role, RESOURCES / f"{role}-{name}.png") for name, (title, role, _) in _DRAWINGS.items()
}


def sample_path(name: str) -> Path:
    """The PNG of the sample ``name`` (e.g. ``"landscape"``); ValueError naming the samples there are."""
    try:
        return SAMPLES[name].path
    except KeyError:
        raise ValueError(f"there is no sample picture {name!r}; the samples are {', '.join(SAMPLES)}") from None


def image_source(ref: str) -> Path:
    """The file a spec's image reference names: ``"sample:<name>"`` for a bundled sample, else a path."""
    if not isinstance(ref, str) or not ref.strip():
        raise ValueError("no picture given: name a file or a sample (e.g. 'sample:landscape')")
    if ref.startswith(SAMPLE_PREFIX):
        return sample_path(ref[len(SAMPLE_PREFIX):])
    return Path(ref).expanduser()


def draw_sample(name: str) -> Image.Image:
    """The sample ``name`` drawn afresh (the same pixels every time)."""
    _, _, draw = _DRAWINGS[name]
    seed = sum(ord(c) for c in name)  # a fixed seed per sample, independent of the order they are drawn in
    big = draw(np.random.default_rng(seed), _SUPERSAMPLE)
    return big.resize((big.width // _SUPERSAMPLE, big.height // _SUPERSAMPLE), Image.Resampling.LANCZOS)


def write_samples(folder: Path = RESOURCES) -> list[Path]:
    """Draw every sample into ``folder`` as PNG; the paths written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, sample in SAMPLES.items():
        path = folder / sample.path.name
        # 256 colours are plenty for these drawings and keep each file to a few tens of KB.
        draw_sample(name).quantize(256, dither=Image.Dither.NONE).save(path, optimize=True)
        written.append(path)
    return written


if __name__ == "__main__":
    for path in write_samples():
        print(f"{path} ({path.stat().st_size // 1024} KB)")
