"""PxAP on toy masks with the AP computed by hand."""
import numpy as np
import pytest

from core.eval.pxap import PxAPAccumulator, mask_to_grid, pxap


def test_pxap_by_hand():
    # step 0.25 -> bins [0,.25) [.25,.5) [.5,.75) [.75,1) [1,2) [2,3]
    # fg scores 1.0, 0.8, 0.3; bg scores 0.6, 0.1. Going down the thresholds:
    #   >=1   : TP 1 FP 0 -> P 1,   R 1/3
    #   >=.75 : TP 2 FP 0 -> P 1,   R 2/3
    #   >=.5  : TP 2 FP 1 -> P 2/3, R 2/3
    #   >=.25 : TP 3 FP 1 -> P 3/4, R 1
    #   >=0   : TP 3 FP 2 -> P 3/5, R 1
    # AP = 1*(1/3) + 1*(1/3) + (2/3)*0 + (3/4)*(1/3) + (3/5)*0 = 11/12
    m = np.array([[1.0, 0.8, 0.3, 0.6, 0.1, 0.9]])
    mask = np.array([[1, 1, 1, 0, 0, 255]])               # the 0.9 pixel is ignored
    assert pxap([m], [mask], cam_curve_interval=0.25) == pytest.approx(100 * 11 / 12)


def test_perfect_separation_is_100_and_streaming_sums_images():
    acc = PxAPAccumulator(0.01)
    acc.add(np.array([[0.9, 0.1]]), np.array([[1, 0]]))
    acc.add(np.array([[0.8, 0.2]]), np.array([[True, False]]))
    assert acc.compute() == pytest.approx(100.0)


def test_pxap_errors():
    with pytest.raises(ValueError, match="image 0: map shape"):
        pxap([np.zeros((2, 2))], [np.zeros((3, 3))])
    with pytest.raises(ValueError, match="no foreground"):
        pxap([np.zeros((2, 2))], [np.zeros((2, 2), np.uint8)])


def test_masks_resize_with_nearest_neighbour():
    mask = np.zeros((4, 4), np.uint8)
    mask[:2, :2] = 1
    mask[3, 3] = 255
    out = mask_to_grid(mask, (8, 8))
    assert set(np.unique(out)) == {0, 1, 255}
    assert out[:4, :4].all() and out.shape == (8, 8)
