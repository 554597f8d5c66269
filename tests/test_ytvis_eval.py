"""The local YouTube-VIS evaluator (official ``ytvoseval.py`` definition) and ``YTVISMetric``."""
import contextlib
import copy
import io
import json
import zipfile

import numpy as np
import pycocotools.mask as mask_util
import pytest
import torch
from mmengine.evaluator import Evaluator
from mmengine.structures import InstanceData
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from mmdet.registry import METRICS
from mmdet.structures import DetDataSample, TrackDataSample
from mmsgnet.datasets import encode_rle
from mmsgnet.evaluation import STAT_NAMES, YTVISMetric, evaluate_ytvis, spatio_temporal_iou
from mmsgnet.evaluation.ytvis_eval import AREA_RANGES, to_rle

SIZE = (32, 32)


def _box(rows, cols, size=SIZE):
    mask = np.zeros(size, bool)
    mask[rows[0]:rows[1], cols[0]:cols[1]] = True
    return mask


def _rles(masks):
    return [None if mask is None else encode_rle(mask) for mask in masks]


def _gt_track(masks, category_id=1, video_id=1, iscrowd=0):
    rles = _rles(masks)
    return dict(video_id=video_id, category_id=category_id, iscrowd=iscrowd, segmentations=rles,
                areas=[None if r is None else float(mask_util.area(r)) for r in rles])


def _result(masks, score, category_id=1, video_id=1):
    return dict(video_id=video_id, category_id=category_id, score=score,
                segmentations=_rles(masks))


def _ground_truth(tracks, length, size=SIZE, video_ids=(1, )):
    return dict(
        videos=[dict(id=v, height=size[0], width=size[1], length=length) for v in video_ids],
        annotations=[dict(track, id=i + 1) for i, track in enumerate(tracks)],
        categories=[dict(id=c, name=f'class{c}') for c in (1, 2, 3)])


# ------------------------------------------------------------------ hand-computed cases


def test_iou_sums_intersections_and_unions_over_frames():
    # frame 0: det 2x2 inside GT 2x3 (I=4, U=6); frame 1: GT only (3 px); frame 2: det only
    # (2 px); frame 3: neither -> 4 / (6 + 3 + 2)
    det = [_box((0, 2), (0, 2)), None, _box((2, 4), (3, 4)), None]
    gt = [_box((0, 2), (0, 3)), _box((3, 4), (0, 3)), None, None]
    iou = spatio_temporal_iou([_rles(det)], [_rles(gt)])
    assert iou.shape == (1, 1)
    assert iou[0, 0] == pytest.approx(4 / 11, abs=1e-12)


def test_crowd_iou_divides_by_the_detection_area():
    det = _rles([_box((12, 16), (12, 16))])  # 16 px inside a 20x20 crowd region
    crowd = _rles([_box((10, 30), (10, 30))])
    assert spatio_temporal_iou([det], [crowd], iscrowd=[True])[0, 0] == 1.0
    assert spatio_temporal_iou([det], [crowd], iscrowd=[False])[0, 0] == 16 / 400


def test_perfect_prediction_gives_ap_one():
    tracks = [_gt_track([_box((0, 4), (0, 4)), None, _box((1, 5), (1, 5))]),
              _gt_track([None, _box((10, 20), (5, 9)), _box((10, 20), (6, 10))], category_id=2),
              _gt_track([_box((3, 9), (3, 9))] * 3, video_id=2)]
    gt = _ground_truth(tracks, length=3, video_ids=(1, 2))
    results = [dict(video_id=t['video_id'], category_id=t['category_id'], score=0.5,
                    segmentations=t['segmentations']) for t in tracks]
    stats = evaluate_ytvis(gt, results)
    no_gt = {'APm', 'APl', 'ARm', 'ARl'}  # every track is small
    # precision is TP / (TP + FP + eps) as in COCOeval, so 1 up to rounding
    assert stats == pytest.approx({name: -1.0 if name in no_gt else 1.0 for name in STAT_NAMES})


def test_one_of_two_tracks_detected_at_iou_0_6():
    # GT A: 5 px in both frames; the detection: frame 0 exact, frame 1 one pixel of it ->
    # IoU (5 + 1) / (5 + 5) = 0.6, a match at thresholds 0.5, 0.55, 0.6. GT B is missed.
    gt = _ground_truth([
        _gt_track([_box((0, 1), (0, 5)), _box((0, 1), (0, 5))]),
        _gt_track([_box((20, 24), (20, 24)), None])], length=2)
    det = _result([_box((0, 1), (0, 5)), _box((0, 1), (0, 1))], score=0.9)
    stats = evaluate_ytvis(gt, [det])
    # where matched: recall 1/2, precision 1 at the 51 recall thresholds 0, 0.01, ..., 0.5
    assert stats['AP50'] == pytest.approx(51 / 101)
    assert stats['AP75'] == 0.0
    assert stats['AP'] == pytest.approx(3 / 10 * 51 / 101)
    for name in ('AR1', 'AR10', 'AR100'):
        assert stats[name] == pytest.approx(3 / 10 * 0.5)


def test_false_positive_scored_above_the_true_positive_halves_ap():
    gt = _ground_truth([_gt_track([_box((0, 4), (0, 4))])], length=1)
    results = [_result([_box((20, 24), (20, 24))], score=0.9),  # no overlap
               _result([_box((0, 4), (0, 4))], score=0.8)]
    stats = evaluate_ytvis(gt, results)
    # precision 0 then 1/2 at recall 1: the envelope is 1/2 at every recall threshold
    assert stats['AP'] == stats['AP50'] == stats['AP75'] == pytest.approx(0.5)
    assert stats['AR1'] == 0.0 and stats['AR10'] == 1.0


def test_area_range_follows_the_mean_area_of_the_track():
    # 60x60 = 3600 px (small) in frame 0, 300x300 = 90000 px (large) in frame 1: mean 46800
    # is medium
    size = (320, 320)
    masks = [_box((0, 60), (0, 60), size), _box((0, 300), (0, 300), size)]
    gt = _ground_truth([_gt_track(masks)], length=2, size=size)
    stats = evaluate_ytvis(gt, [_result(masks, score=0.7)])
    assert stats['APm'] == pytest.approx(1.0) and stats['ARm'] == 1.0
    assert stats['APs'] == stats['APl'] == -1.0


def test_detection_of_the_wrong_category_matches_nothing():
    # category 1 detected perfectly; the category-2 track detected as category 3 (no GT, so
    # category 3 does not count): AP = mean(1, 0)
    a, b = [_box((0, 4), (0, 4))], [_box((10, 14), (10, 14))]
    gt = _ground_truth([_gt_track(a, category_id=1), _gt_track(b, category_id=2)], length=1)
    stats = evaluate_ytvis(gt, [_result(a, 0.9, category_id=1), _result(b, 0.9, category_id=3)])
    assert stats['AP'] == pytest.approx(0.5)
    assert stats['AR100'] == pytest.approx(0.5)


def test_detection_inside_a_crowd_region_is_not_a_false_positive():
    tracks = [_gt_track([_box((0, 4), (0, 4))]), _gt_track([_box((10, 30), (10, 30))], iscrowd=1)]
    results = [_result([_box((12, 16), (12, 16))], score=0.95),
               _result([_box((0, 4), (0, 4))], score=0.9)]
    assert evaluate_ytvis(_ground_truth(tracks, length=1), results)['AP'] == pytest.approx(1.0)
    # the same region as a regular object: an FP first, then recall 1/2 at precision 1/2
    tracks[1]['iscrowd'] = 0
    stats = evaluate_ytvis(_ground_truth(tracks, length=1), results)
    assert stats['AP'] == pytest.approx(0.5 * 51 / 101)


# ------------------------------------------------------------------ errors


def test_result_of_an_unknown_video_is_an_error():
    gt = _ground_truth([_gt_track([_box((0, 4), (0, 4))])], length=1)
    with pytest.raises(ValueError, match=r'result 0 refers to video_id=7.*Fix'):
        evaluate_ytvis(gt, [_result([_box((0, 4), (0, 4))], 0.5, video_id=7)])


def test_result_with_the_wrong_number_of_frames_is_an_error():
    gt = _ground_truth([_gt_track([_box((0, 4), (0, 4)), None])], length=2)
    with pytest.raises(ValueError, match=r'has 1 segmentations but the video has 2 frames.*Fix'):
        evaluate_ytvis(gt, [_result([_box((0, 4), (0, 4))], 0.5)])


def test_ground_truth_without_annotations_is_an_error():
    with pytest.raises(ValueError, match=r'no annotations.*format_only=True'):
        evaluate_ytvis(_ground_truth([], length=1), [])


# ------------------------------------------------------------------ agreement with COCOeval


def _random_mask(rng, size):
    """A rectangle or an ellipse of 8 to ~380 px a side, so every area range occurs."""
    height, width = size
    h, w = rng.integers(8, height - 20, size=2)
    y0, x0 = rng.integers(0, height - h), rng.integers(0, width - w)
    if rng.random() < 0.5:
        return _box((y0, y0 + h), (x0, x0 + w), size)
    yy, xx = np.mgrid[:height, :width]
    return ((yy - y0 - h / 2) / (h / 2))**2 + ((xx - x0 - w / 2) / (w / 2))**2 <= 1


def _random_images(seed=0, num_images=20, size=(400, 400)):
    """GT objects and noisy detections (shifted masks, misses, false positives, wrong
    categories, tied scores) as (image id, category, mask, iscrowd) and (..., score)."""
    rng = np.random.default_rng(seed)
    objects, detections = [], []
    for image_id in range(1, num_images + 1):
        for _ in range(rng.integers(1, 6)):
            mask, category = _random_mask(rng, size), int(rng.integers(1, 4))
            objects.append((image_id, category, mask, int(rng.random() < 0.1)))
            if rng.random() < 0.85:
                shifted = np.roll(mask, tuple(rng.integers(-12, 13, size=2)), axis=(0, 1))
                category = category if rng.random() < 0.9 else int(rng.integers(1, 4))
                detections.append((image_id, category, shifted, round(rng.random(), 1)))
        for _ in range(rng.integers(0, 3)):
            detections.append((image_id, int(rng.integers(1, 4)), _random_mask(rng, size),
                               round(rng.random(), 1)))
    return objects, detections


def test_single_frame_videos_agree_with_cocoeval():
    objects, detections = _random_images()
    size, categories = (400, 400), [dict(id=c, name=f'class{c}') for c in (1, 2, 3)]
    areas = [float(mask.sum()) for _, _, mask, _ in objects]
    assert min(areas) < 128**2 < 256**2 < max(areas)  # every area range is exercised
    coco_gt = COCO()
    coco_gt.dataset = dict(
        images=[dict(id=i, height=size[0], width=size[1]) for i in range(1, 21)],
        annotations=[dict(id=n + 1, image_id=i, category_id=c, segmentation=encode_rle(m),
                          area=float(m.sum()), iscrowd=crowd, bbox=list(mask_util.toBbox(
                              encode_rle(m))))
                     for n, (i, c, m, crowd) in enumerate(objects)],
        categories=categories)
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt.createIndex()
        coco_dt = coco_gt.loadRes([dict(image_id=i, category_id=c, score=s,
                                        segmentation=encode_rle(m))
                                   for i, c, m, s in detections])
        coco_eval = COCOeval(coco_gt, coco_dt, 'segm')
        coco_eval.params.areaRng = [list(AREA_RANGES[name]) for name in AREA_RANGES]
        coco_eval.params.maxDets = [1, 10, 100]
        coco_eval.evaluate()
        coco_eval.accumulate()
        coco_eval.summarize()

    gt = _ground_truth([_gt_track([m], c, i, crowd) for i, c, m, crowd in objects], length=1,
                       size=size, video_ids=range(1, 21))
    stats = evaluate_ytvis(gt, [_result([m], s, c, i) for i, c, m, s in detections])
    for k, name in enumerate(STAT_NAMES):
        assert stats[name] == pytest.approx(coco_eval.stats[k], abs=1e-6), name
    assert all(value > 0 for value in stats.values())


def test_multi_frame_videos_agree_with_mmdets_port_of_the_official_code(monkeypatch):
    """mmdet 3.3's copy of youtubevos/cocoapi ``ytvoseval.py`` (with its removed ``np.float``
    alias put back) on videos with absent frames; no crowd tracks (see the module docstring)."""
    from mmdet.evaluation.functional import YTVIS, YTVISeval
    monkeypatch.setattr(np, 'float', float, raising=False)
    rng, size, length = np.random.default_rng(1), (300, 300), 3
    tracks, results = [], []
    for video_id in range(1, 9):
        for _ in range(rng.integers(1, 4)):
            masks = [_random_mask(rng, size) if rng.random() < 0.8 else None for _ in range(length)]
            masks[0] = _random_mask(rng, size) if masks[0] is None else masks[0]
            category = int(rng.integers(1, 4))
            tracks.append(_gt_track(masks, category, video_id))
            shifted = [None if m is None or rng.random() < 0.2 else np.roll(m, 9, axis=1)
                       for m in masks]
            results.append(_result(shifted, round(rng.random(), 1), category, video_id))
        results.append(_result([_random_mask(rng, size)] * length, round(rng.random(), 1),
                               int(rng.integers(1, 4)), video_id))
    gt = _ground_truth(tracks, length=length, size=size, video_ids=range(1, 9))
    stats = evaluate_ytvis(copy.deepcopy(gt), copy.deepcopy(results))

    with contextlib.redirect_stdout(io.StringIO()):
        ytvis = YTVIS()
        ytvis.dataset = gt
        ytvis.createIndex()
        official = YTVISeval(ytvis, ytvis.loadRes(results), 'segm')
        official.evaluate()
        official.accumulate()
        official.summarize()
    for k, name in enumerate(STAT_NAMES):
        assert stats[name] == pytest.approx(official.stats[k], abs=1e-6), name


# ------------------------------------------------------------------ YTVISMetric

CLASSES = ('person', 'giant_panda', 'lizard')
VIDEO_SIZE = (48, 64)


def _frame(video_id, frame_id, length, instances):
    """A predicted frame (perfect: the GT masks) as mmdet's video datasets and VIS models give
    it. ``instances``: (instance_id, label, mask as polygons or RLE)."""
    masks = [mask_util.decode(to_rle(m, *VIDEO_SIZE)).astype(bool) for _, _, m in instances]
    sample = DetDataSample(metainfo=dict(
        video_id=video_id, frame_id=frame_id, img_id=video_id * 10 + frame_id,
        ori_shape=VIDEO_SIZE, img_shape=VIDEO_SIZE, ori_video_length=length, video_length=length,
        instances=[dict(instance_id=i, bbox_label=label, mask=m, ignore_flag=0,
                        bbox=[float(v) for v in mask_util.toBbox(to_rle(m, *VIDEO_SIZE))])
                   for i, label, m in instances]))
    pred = InstanceData()
    pred.masks = torch.from_numpy(np.stack(masks)) if masks else torch.zeros(0, *VIDEO_SIZE,
                                                                             dtype=torch.bool)
    pred.scores = torch.full((len(masks), ), 0.8)
    pred.labels = torch.tensor([label for _, label, _ in instances], dtype=torch.long)
    pred.instances_id = torch.tensor([i for i, _, _ in instances], dtype=torch.long)
    sample.pred_track_instances = pred
    return sample


def _videos():
    """Two videos: a person with an RLE mask in every frame, a lizard given as a polygon that
    enters in frame 1, a last frame without objects; a video with one panda."""
    person = encode_rle(_box((2, 12), (3, 9), VIDEO_SIZE))
    lizard = [[20.0, 20.0, 40.0, 20.0, 40.0, 30.0, 20.0, 30.0]]
    panda = encode_rle(_box((5, 40), (10, 60), VIDEO_SIZE))
    first = [_frame(1, 0, 3, [(1, 0, person)]), _frame(1, 1, 3, [(1, 0, person), (2, 2, lizard)]),
             _frame(1, 2, 3, [])]
    second = [_frame(2, 0, 1, [(3, 1, panda)])]
    return [TrackDataSample(video_data_samples=video) for video in (first, second)]


def _evaluator(**kwargs):
    evaluator = Evaluator([METRICS.build(dict(type='YTVISMetric', **kwargs))])
    evaluator.dataset_meta = dict(classes=CLASSES)
    return evaluator


def test_metric_evaluates_perfect_predictions_twice_in_a_row():
    evaluator = _evaluator()
    for _ in range(2):  # validation runs every epoch in one process
        for video in _videos():
            evaluator.process(data_samples=[video])
        metrics = evaluator.evaluate(size=2)
        assert metrics['youtube_vis/AP'] == pytest.approx(1.0)
        assert metrics['youtube_vis/AR10'] == 1.0
        assert set(metrics) == {f'youtube_vis/{item}' for item in
                                ('AP', 'AP50', 'AP75', 'APs', 'APm', 'APl', 'AR1', 'AR10',
                                 'IDF1', 'IDSW')}
        assert metrics['youtube_vis/IDF1'] == 1.0 and metrics['youtube_vis/IDSW'] == 0


def test_metric_writes_one_result_per_track_to_the_submission_zip(tmp_path):
    evaluator = _evaluator(outfile_prefix=str(tmp_path / 'out' / 'results'))
    for video in _videos():
        evaluator.process(data_samples=[video])
    assert evaluator.evaluate(size=2)['youtube_vis/AP'] == pytest.approx(1.0)
    with zipfile.ZipFile(tmp_path / 'out' / 'results.submission_file.zip') as zf:
        records = json.loads(zf.read('results.json'))
    assert sorted((r['video_id'], r['category_id'], len(r['segmentations']))
                  for r in records) == [(1, 1, 3), (1, 3, 3), (2, 2, 1)]
    assert records == json.loads((tmp_path / 'out' / 'results.json').read_text())
    assert sorted(p.name for p in (tmp_path / 'out').iterdir()) == [
        'results.identity.json', 'results.json',
        'results.submission_file.zip']  # no temporary files left
    identity = json.loads((tmp_path / 'out' / 'results.identity.json').read_text())
    assert {k: (v['IDSW'], v['IDF1']) for k, v in identity.items()} == {'1': (0, 1.0),
                                                                        '2': (0, 1.0)}


def test_metric_format_only_writes_files_and_returns_nothing(tmp_path):
    evaluator = _evaluator(outfile_prefix=str(tmp_path / 'results'), format_only=True)
    for video in _videos():
        evaluator.process(data_samples=[video])
    assert evaluator.evaluate(size=2) == {}
    assert (tmp_path / 'results.json').exists()
    assert (tmp_path / 'results.submission_file.zip').exists()


def test_metric_rejects_unknown_items_and_format_only_without_prefix():
    with pytest.raises(ValueError, match=r"unknown metric_items \['mAP'\].*Fix"):
        YTVISMetric(metric_items=['mAP'])
    with pytest.raises(ValueError, match='Fix: set outfile_prefix'):
        YTVISMetric(format_only=True)


def test_metric_builds_gt_tracks_with_mask_areas_and_absent_frames():
    evaluator = _evaluator(metric_items=STAT_NAMES)
    videos = _videos()
    for video in videos:
        evaluator.process(data_samples=[video])
    metric = evaluator.metrics[0]
    stored = copy.deepcopy(metric.results)
    evaluator.evaluate(size=2)
    tracks = [track for video in stored for track in video['annotations']]
    assert [(t['video_id'], t['category_id'], [s is not None for s in t['segmentations']])
            for t in tracks] == [(1, 1, [True, True, False]), (1, 3, [False, True, False]),
                                 (2, 2, [True])]
    assert tracks[0]['areas'][:2] == [60.0, 60.0]  # the mask area, not the box area


def test_metric_reports_id_switches_and_idf1_per_video():
    evaluator = _evaluator(metric_items=['AP'])
    videos = _videos()
    # the person (id 1) changes id in frame 1 of the first video
    videos[0][1].pred_track_instances.instances_id[0] = 5
    for video in videos:
        evaluator.process(data_samples=[video])
    metrics = evaluator.evaluate(size=2)
    # video 1: one switch; IDTP 2 of 3 GT and 3 predicted detections -> IDF1 4 / 6
    assert metrics['youtube_vis/IDSW'] == pytest.approx(0.5)
    assert metrics['youtube_vis/IDF1'] == pytest.approx((4 / 6 + 1.0) / 2)
    with pytest.raises(ValueError, match=r"unknown identity_items \['MOTA'\].*Fix"):
        YTVISMetric(identity_items=['MOTA'])
