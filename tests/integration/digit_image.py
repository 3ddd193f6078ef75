#!/usr/bin/python3
"""digit_image.py - writes one of scikit-learn's digits as a picture a person might send.

usage: digit_image.py INDEX OUT.png   prints the digit's label

The 8x8 sample (0..16, light ink on dark) becomes a 64x64 image with dark ink on white paper,
so the example's preprocessing (invert, shrink back to 8x8) is exercised too.
"""
import sys

import numpy as np
from PIL import Image
from sklearn.datasets import load_digits

index, out = int(sys.argv[1]), sys.argv[2]
digits = load_digits()
pixels = (255 - digits.images[index] * 255 / 16).round().astype(np.uint8)
Image.fromarray(pixels, "L").resize((64, 64), Image.NEAREST).save(out)
print(digits.target[index])
