#!/usr/bin/python3
"""Checks imgfilter's outputs against Pillow doing the same chain, pixel for pixel.

    compare_with_pillow.py CHAIN OUTDIR INPUT...

CHAIN is imgfilter's --filters (blur,contrast,grayscale; contrast=F for another factor). For each
INPUT, Pillow opens it (paletted and 1-bit images converted to RGB/RGBA/L as stb decodes them),
applies the chain, and the result is compared with OUTDIR/<chain>_<stem>.png. PNG and BMP inputs
must agree byte for byte. JPEG inputs are decoded differently by stb and by Pillow's libjpeg
(IDCT and chroma upsampling), so their outputs are reported, not failed.
Exit status 1 when any PNG or BMP input differs.
"""
import os
import sys

from PIL import Image, ImageEnhance, ImageFilter

KERNELS = {
    "blur": ImageFilter.BLUR, "contour": ImageFilter.CONTOUR, "detail": ImageFilter.DETAIL,
    "edge_enhance": ImageFilter.EDGE_ENHANCE, "edge_enhance_more": ImageFilter.EDGE_ENHANCE_MORE,
    "emboss": ImageFilter.EMBOSS, "find_edges": ImageFilter.FIND_EDGES,
    "sharpen": ImageFilter.SHARPEN, "smooth": ImageFilter.SMOOTH,
    "smooth_more": ImageFilter.SMOOTH_MORE,
}


def as_stb_decodes(image):
    """stb expands palettes to RGB (RGBA with transparency) and 1-bit images to 0/255 gray."""
    if image.mode == "P":
        return image.convert("RGBA" if "transparency" in image.info else "RGB")
    if image.mode == "1":
        return image.convert("L")
    return image


def apply(image, step):
    name, _, argument = step.partition("=")
    if name in KERNELS:
        return image.filter(KERNELS[name])
    if name == "grayscale":
        return image.convert("L")
    if name == "contrast":
        return ImageEnhance.Contrast(image).enhance(float(argument) if argument else 1.5)
    raise ValueError(step)


def output_stem(chain):
    parts = []
    for step in chain.split(","):
        name, _, argument = step.partition("=")
        parts.append(name + (argument if argument and float(argument) != 1.5 else ""))
    return "_".join(parts)


def main():
    chain, out_dir, inputs = sys.argv[1], sys.argv[2], sys.argv[3:]
    failures = 0
    for path in inputs:
        image = as_stb_decodes(Image.open(path))
        for step in chain.split(","):
            image = apply(image, step)
        stem = os.path.splitext(os.path.basename(path))[0]
        ours = Image.open(os.path.join(out_dir, f"{output_stem(chain)}_{stem}.png"))
        same = ours.mode == image.mode and ours.size == image.size and \
            ours.tobytes() == image.tobytes()
        jpeg = path.lower().endswith((".jpg", ".jpeg"))
        if same:
            verdict = "identical"
        elif jpeg:
            verdict = "differs (expected: stb and libjpeg decode JPEG differently)"
        else:
            verdict = "DIFFERS"
            failures += 1
        print(f"{path}: {image.mode} {image.size[0]}x{image.size[1]}: {verdict}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
