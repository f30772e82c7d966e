#!/usr/bin/python3
"""Times Pillow's filters on the benchmark's image, for comparison with the C++ ones.

    pillow_bench.py RAW WIDTH HEIGHT RUNS FILTER...

RAW holds WIDTH x HEIGHT RGB pixels, row after row. Prints one line per filter: its name and the
median time of RUNS runs in milliseconds. Pillow's filters run on one thread.
"""
import statistics
import sys
import time

from PIL import Image, ImageEnhance, ImageFilter

FILTERS = {
    "blur": lambda im: im.filter(ImageFilter.BLUR),
    "contour": lambda im: im.filter(ImageFilter.CONTOUR),
    "detail": lambda im: im.filter(ImageFilter.DETAIL),
    "edge_enhance": lambda im: im.filter(ImageFilter.EDGE_ENHANCE),
    "edge_enhance_more": lambda im: im.filter(ImageFilter.EDGE_ENHANCE_MORE),
    "emboss": lambda im: im.filter(ImageFilter.EMBOSS),
    "find_edges": lambda im: im.filter(ImageFilter.FIND_EDGES),
    "sharpen": lambda im: im.filter(ImageFilter.SHARPEN),
    "smooth": lambda im: im.filter(ImageFilter.SMOOTH),
    "smooth_more": lambda im: im.filter(ImageFilter.SMOOTH_MORE),
    "grayscale": lambda im: im.convert("L"),
    "contrast": lambda im: ImageEnhance.Contrast(im).enhance(1.5),
}


def main():
    raw, width, height, runs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    with open(raw, "rb") as f:
        image = Image.frombytes("RGB", (width, height), f.read())
    for name in sys.argv[5:]:
        if name not in FILTERS:
            continue
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            FILTERS[name](image)
            times.append((time.perf_counter() - start) * 1000.0)
        print(name, f"{statistics.median(times):.3f}", flush=True)


if __name__ == "__main__":
    main()
