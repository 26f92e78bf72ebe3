import numpy as np

from core.eval.detection import match_boxes, precision_recall


def test_greedy_matching_gives_each_gt_box_to_one_prediction():
    gt = np.array([[0, 0, 10, 10], [20, 0, 30, 10]], float)
    pred = np.array([[0, 0, 10, 10], [1, 0, 11, 10], [20, 0, 30, 12], [50, 50, 60, 60]], float)
    # the duplicate of the first box finds its GT taken; IoU of the third = 100/120
    assert match_boxes(pred, gt, 0.5).tolist() == [0, -1, 1, -1]


def test_precision_and_recall_over_images():
    gt = [np.array([[0, 0, 10, 10]], float), np.array([[0, 0, 10, 10], [20, 20, 30, 30]], float)]
    pred = [np.array([[0, 0, 10, 10], [40, 40, 45, 45]], float), np.zeros((0, 4))]
    st = precision_recall(pred, gt)
    assert (st.tp, st.n_pred, st.n_gt) == (1, 2, 3)
    assert st.precision == 50.0 and round(st.recall, 4) == round(100 / 3, 4)
