"""ID switches (CLEAR MOT) and IDF1 (Ristani et al.) on hand-made cases."""
import numpy as np
import pytest

from mmsgnet.datasets.coco_format import encode_rle
from mmsgnet.evaluation import IdentityFrame, id_switches, idf1, video_identity_metrics


def frames_of(*per_frame):
    """Per frame: {gt_id: pred_id} of pairs with IoU 1 (everything else 0)."""
    frames = []
    for pairs in per_frame:
        gt = sorted(pairs)
        pred = sorted({p for p in pairs.values() if p is not None})
        ious = np.zeros((len(gt), len(pred)))
        for g, p in pairs.items():
            if p is not None:
                ious[gt.index(g), pred.index(p)] = 1.0
        frames.append(IdentityFrame(gt, pred, ious))
    return frames


def test_perfect_tracks():
    frames = frames_of({0: 10, 1: 11}, {0: 10, 1: 11}, {0: 10, 1: 11})
    assert id_switches(frames) == 0
    assert idf1(frames) == dict(IDF1=1.0, IDTP=6.0, IDFP=0.0, IDFN=0.0)


def test_two_objects_swap_ids_halfway():
    frames = frames_of({0: 10, 1: 11}, {0: 10, 1: 11}, {0: 11, 1: 10}, {0: 11, 1: 10})
    assert id_switches(frames) == 2  # each object once
    # the best global matching keeps 2 of each object's 4 frames: 2 * 4 / (8 + 8)
    assert idf1(frames) == dict(IDF1=0.5, IDTP=4.0, IDFP=4.0, IDFN=4.0)


def test_a_switch_and_back_counts_twice_and_a_miss_none():
    frames = frames_of({0: 10}, {0: None}, {0: 12}, {0: 10})
    assert id_switches(frames) == 2  # 10 -> 12 -> 10; the missed frame is no switch
    # gt 4, predictions 3; IDTP 2 (id 10): IDF1 = 4 / 7
    assert idf1(frames)['IDF1'] == pytest.approx(4 / 7)
    assert idf1(frames)['IDFN'] == 2 and idf1(frames)['IDFP'] == 1


def test_a_correspondence_that_still_holds_is_kept():
    first = IdentityFrame([0], [10, 11], np.array([[0.9, 0.0]]))
    second = IdentityFrame([0], [10, 11], np.array([[0.6, 0.95]]))  # 10 still >= 0.5
    assert id_switches([first, second]) == 0
    third = IdentityFrame([0], [10, 11], np.array([[0.4, 0.95]]))  # now 10 is below
    assert id_switches([first, second, third]) == 1


def test_iou_threshold():
    frames = [IdentityFrame([0], [10], np.array([[0.49]]))]
    assert idf1(frames)['IDF1'] == 0.0
    assert idf1(frames, iou_thr=0.4)['IDF1'] == 1.0
    assert idf1([])['IDF1'] == 1.0


def test_from_rle_tracks():
    def box(x1, x2):
        mask = np.zeros((8, 16), dtype=bool)
        mask[2:6, x1:x2] = True
        return encode_rle(mask)
    gt = [[box(0, 4), box(2, 6), None], [box(10, 14), box(8, 12), box(6, 10)]]
    # the first object is found with one id, the second changes id in its last frame
    pred = [[box(0, 4), box(2, 6), None], [box(10, 14), box(8, 12), None],
            [None, None, box(6, 10)]]
    metrics = video_identity_metrics(gt, pred)
    assert metrics['IDSW'] == 1
    assert metrics['IDF1'] == pytest.approx(2 * 4 / (5 + 5))
