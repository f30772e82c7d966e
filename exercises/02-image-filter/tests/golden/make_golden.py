#!/usr/bin/python3
"""Writes the golden files of exercise 02: small deterministic inputs and what Pillow makes of them.

Run with Debian's Python and Pillow 9.4 (python3-pil), from anywhere:

    /usr/bin/python3 exercises/02-image-filter/tests/golden/make_golden.py

It rewrites inputs/, outputs/ and index.txt next to itself. Each line of index.txt is
"<output> <input> <chain>", the chain in the syntax of imgfilter::parse_chain, plus kernels of
the tests' own: "asym3", "asym5", "extreme3" and "negscale5" (see KERNELS below and
test_support.hpp).
"""
import os
import sys

import PIL
from PIL import Image, ImageEnhance, ImageFilter

HERE = os.path.dirname(os.path.abspath(__file__))

# The same kernels as golden_test.cpp: asymmetric, so that a kernel applied without Pillow's
# vertical flip gives other bytes.
KERNELS = {
    "asym3": ImageFilter.Kernel((3, 3), [1, 2, 3, 0, 0, 0, -1, -2, -5], scale=3, offset=10),
    "asym5": ImageFilter.Kernel((5, 5), [i - 9 for i in range(25)], scale=7, offset=-20),
    # Extreme weights: the sums reach billions, past what 32-bit integers hold, and most samples
    # clamp; a negative scale and an offset past 255.
    "extreme3": ImageFilter.Kernel(
        (3, 3), [100000, -250000, 100000, 300000, 1, -300000, -100000, 250000, -99999], scale=1,
        offset=0),
    "negscale5": ImageFilter.Kernel((5, 5), [(i % 7) - 3 for i in range(25)], scale=-2.5,
                                    offset=300),
}

BUILTIN = {
    "blur": ImageFilter.BLUR,
    "contour": ImageFilter.CONTOUR,
    "detail": ImageFilter.DETAIL,
    "edge_enhance": ImageFilter.EDGE_ENHANCE,
    "edge_enhance_more": ImageFilter.EDGE_ENHANCE_MORE,
    "emboss": ImageFilter.EMBOSS,
    "find_edges": ImageFilter.FIND_EDGES,
    "sharpen": ImageFilter.SHARPEN,
    "smooth": ImageFilter.SMOOTH,
    "smooth_more": ImageFilter.SMOOTH_MORE,
}

CHAINS = list(BUILTIN) + [
    "asym3",
    "asym5",
    "grayscale",
    "contrast",
    "contrast=0.6",
    "contrast=2.5",
    "blur,contrast,grayscale",
    "grayscale,sharpen,contrast=3",
    "smooth_more,asym3,emboss",
    "extreme3",
    "negscale5",
    "contrast=0",
    "contrast=100",
]

# (mode, width, height): every mode, tiny sizes (smaller than, equal to and just above the
# kernels) and odd ones.
INPUTS = [
    ("RGB", 1, 1), ("RGB", 2, 3), ("RGB", 4, 4), ("RGB", 5, 5), ("RGB", 7, 5), ("RGB", 33, 17),
    ("RGBA", 2, 3), ("RGBA", 5, 5), ("RGBA", 7, 5), ("RGBA", 33, 17),
    ("L", 1, 1), ("L", 4, 4), ("L", 5, 5), ("L", 7, 5), ("L", 33, 17),
    ("LA", 7, 5), ("LA", 6, 9),
]

# Larger images, past 256 in one dimension, with a few chains only (their files are larger).
BIG_INPUTS = [("RGB", 257, 131), ("RGBA", 131, 257)]
BIG_CHAINS = ["blur,contrast,grayscale", "extreme3", "smooth_more,asym3,emboss"]


def pattern(mode, width, height, seed):
    """Gradients, a sharp edge and pseudo-random noise (a fixed LCG), so that filters meet flat
    areas, edges, and values that clip at 0 and 255."""
    bands = len(mode)
    state = seed * 7919 + width * 131 + height
    data = bytearray()
    for y in range(height):
        for x in range(width):
            for b in range(bands):
                state = (state * 1103515245 + 12345) & 0x7FFFFFFF
                noise = (state >> 16) % 64
                if mode.endswith("A") and b == bands - 1:
                    value = (x * 37 + y * 11 + noise) % 256  # a varied alpha
                elif (x + y) % 11 < 3:
                    value = 250 if b % 2 == 0 else 3  # an edge that clips
                else:
                    value = (x * 255 // max(1, width - 1) + y * 29 * (b + 1) + noise * 2) % 256
                data.append(value)
    return Image.frombytes(mode, (width, height), bytes(data))


def apply(image, step):
    if step in BUILTIN:
        return image.filter(BUILTIN[step])
    if step in KERNELS:
        return image.filter(KERNELS[step])
    if step == "grayscale":
        return image.convert("L")
    if step.startswith("contrast"):
        factor = float(step.split("=")[1]) if "=" in step else 1.5
        return ImageEnhance.Contrast(image).enhance(factor)
    raise ValueError(step)


def main():
    if not PIL.__version__.startswith("9.4"):
        print(f"warning: Pillow {PIL.__version__}; the golden files were made with 9.4",
              file=sys.stderr)
    os.makedirs(os.path.join(HERE, "inputs"), exist_ok=True)
    os.makedirs(os.path.join(HERE, "outputs"), exist_ok=True)
    for folder in ("inputs", "outputs"):
        for name in os.listdir(os.path.join(HERE, folder)):
            if name.endswith(".png"):
                os.remove(os.path.join(HERE, folder, name))
    lines = []
    cases = [(spec, CHAINS) for spec in INPUTS] + [(spec, BIG_CHAINS) for spec in BIG_INPUTS]
    for seed, ((mode, width, height), chains) in enumerate(cases):
        stem = f"{mode.lower()}_{width}x{height}"
        image = pattern(mode, width, height, seed)
        image.save(os.path.join(HERE, "inputs", stem + ".png"))
        for number, chain in enumerate(chains):
            out = image
            for step in chain.split(","):
                out = apply(out, step)
            tag = chain.split(",")[0].replace("=", "") if "," not in chain else f"chain{number}"
            name = f"{stem}__{tag}.png"
            out.save(os.path.join(HERE, "outputs", name))
            lines.append(f"{name} {stem}.png {chain}")
    with open(os.path.join(HERE, "index.txt"), "w", encoding="ascii") as index:
        index.write("\n".join(lines) + "\n")
    print(f"{len(cases)} inputs, {len(lines)} outputs written to {HERE}")


if __name__ == "__main__":
    main()
