"""Hand-made maps shared by the eval tests (32x32, boxes in map pixels)."""
import numpy as np


def blob(rects, shape=(32, 32), value=1.0):
    m = np.zeros(shape, np.float32)
    for y0, y1, x0, x1 in rects:
        m[y0:y1, x0:x1] = value
    return m


def nested():
    """Outer square 0.5 (box (0,0,16,16)), inner square 1.0 (box (4,4,12,12))."""
    m = blob([(0, 16, 0, 16)], value=0.5)
    m[4:12, 4:12] = 1.0
    return m


# A: a blob and its own box -> IoU 1 at every tau
MAP_A, GT_A = blob([(8, 16, 4, 20)]), np.array([[4, 8, 20, 16]])
# B: constant map -> box (0,0,0,0) -> IoU 1/100 with GT (0,0,9,9)
MAP_B, GT_B = np.full((32, 32), 0.3, np.float32), np.array([[0, 0, 9, 9]])
# C: nested levels, GT = inner box -> IoU 81/289 for tau < 0.5, 1 for tau >= 0.5
MAP_C, GT_C = nested(), np.array([[4, 4, 12, 12]])
