"""Generated videos for identity: ``motion='crossing'`` and ``similar_appearance``
(``generate_dataset.py ytvis --motion crossing --similar-appearance``)."""
import json
import os.path as osp
import sys

import cv2
import numpy as np
import pycocotools.mask as mask_util
import pytest

from mmsgnet.datasets.synthetic import _crossing_tracks, generate_youtube_vis

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def videos_of(ann_file):
    data = json.load(open(ann_file))
    for video in data['videos']:
        yield video, [a for a in data['annotations'] if a['video_id'] == video['id']]


def box_iou(a, b):
    ax2, ay2, bx2, by2 = a[0] + a[2], a[1] + a[3], b[0] + b[2], b[1] + b[3]
    w = max(0.0, min(ax2, bx2) - max(a[0], b[0]))
    h = max(0.0, min(ay2, by2) - max(a[1], b[1]))
    return w * h / (a[2] * a[3] + b[2] * b[3] - w * h)


def test_crossing_split_crosses_occludes_stands_and_returns(tmp_path):
    paths = generate_youtube_vis(str(tmp_path), num_videos=4, num_frames=10,
                                 image_size=(160, 128), seed=2, max_objects=4, min_area=150,
                                 motion='crossing')
    for video, anns in videos_of(paths['ytvis']):
        assert len(anns) == 4
        crossing, other, still, leaving = anns
        # the crossing pair overlaps in a middle frame (or one hides the other there)
        middle = [t for t in (4, 5) if crossing['bboxes'][t] is None or other['bboxes'][t] is
                  None or box_iou(crossing['bboxes'][t], other['bboxes'][t]) > 0.2]
        assert middle, video['id']
        # ... and is apart at the start
        assert box_iou(crossing['bboxes'][0], other['bboxes'][0]) == 0
        assert len({tuple(b) for b in still['bboxes']}) == 1  # standing still
        absent = [t for t, s in enumerate(leaving['segmentations']) if s is None]
        # out of the frame in the middle (hidden by others elsewhere at times)
        assert {4, 5} <= set(absent) and len([t for t in absent if 3 <= t <= 6]) <= 3
        assert leaving['segmentations'][0] is not None


@pytest.mark.parametrize('faster', [False, True])
def test_crossing_tracks_meet_in_the_middle_frame_at_equal_or_higher_speed(faster):
    tracks = _crossing_tracks(np.random.default_rng(0), (160, 128), 9, 4, faster)
    (a, b), middle = tracks[:2], 4
    assert (a['x'][middle], a['y'][middle]) == pytest.approx((b['x'][middle], b['y'][middle]))
    speed = [np.hypot(np.diff(t['x']), np.diff(t['y'])) for t in (a, b)]
    assert np.ptp(speed[0]) == pytest.approx(0) and np.ptp(speed[1]) == pytest.approx(0)
    ratio = speed[1][0] / speed[0][0]
    assert 1.5 <= ratio <= 2.0 if faster else ratio == pytest.approx(1.0)
    assert np.ptp(tracks[2]['x']) == 0 and np.ptp(tracks[2]['y']) == 0


@pytest.mark.parametrize('faster', [False, True])
def test_crossing_gap_shifts_the_second_line_sideways_with_the_same_draws(faster):
    size = (160, 128)
    through = _crossing_tracks(np.random.default_rng(0), size, 9, 4, faster)
    apart = _crossing_tracks(np.random.default_rng(0), size, 9, 4, faster, gap=0.5)
    for k in (0, 2, 3):  # the other objects do not change
        for key in ('x', 'y', 'size', 'angle'):
            np.testing.assert_array_equal(through[k][key], apart[k][key])
    a, b, middle = apart[0], apart[1], 4
    distance = np.hypot(a['x'][middle] - b['x'][middle], a['y'][middle] - b['y'][middle])
    assert distance == pytest.approx(0.5 * a['size'][middle])
    # shifted normal to its line: same direction and speed as without the gap
    np.testing.assert_allclose(np.diff(b['x']), np.diff(through[1]['x']))
    np.testing.assert_allclose(np.diff(b['y']), np.diff(through[1]['y']))


def test_crossing_gap_keeps_the_back_object_more_visible(tmp_path):
    kwargs = dict(num_videos=4, num_frames=10, image_size=(160, 128), seed=2, max_objects=3,
                  min_area=150, motion='crossing')
    hidden = {}
    for gap in (0.0, 0.5):
        paths = generate_youtube_vis(str(tmp_path / str(gap)), crossing_gap=gap, **kwargs)
        # per video, the smallest visible area of a crossing object over the middle frames
        # relative to its largest one
        hidden[gap] = [min((a['areas'][t] or 0) / max(x or 0 for x in a['areas'])
                           for a in anns[:2] for t in (3, 4, 5, 6))
                       for _, anns in videos_of(paths['ytvis'])]
    assert np.mean(hidden[0.5]) > np.mean(hidden[0.0]) + 0.1, hidden


def mean_colours(out_dir, video, anns, frame=0):
    image = cv2.imread(osp.join(out_dir, 'JPEGImages', video['file_names'][frame]))
    colours = []
    for ann in anns:
        rle = ann['segmentations'][frame]
        mask = mask_util.decode(dict(rle, counts=rle['counts'].encode())).astype(bool)
        colours.append(image[mask].mean(0))
    return np.array(colours)


@pytest.mark.parametrize('similar', [False, True])
def test_similar_appearance_gives_one_class_and_near_identical_colours(tmp_path, similar):
    out = str(tmp_path)
    paths = generate_youtube_vis(out, num_videos=3, num_frames=6, image_size=(160, 128),
                                 seed=3, max_objects=3, min_area=150, motion='crossing',
                                 similar_appearance=similar)
    spreads = []
    for video, anns in videos_of(paths['ytvis']):
        colours = mean_colours(out, video, anns)
        spreads.append(np.abs(colours[:, None] - colours[None]).max())
        if similar:
            assert len({a['category_id'] for a in anns}) == 1
    if similar:
        assert max(spreads) < 25, spreads
    else:
        assert max(spreads) > 40, spreads


def test_cli_motion_and_similar_appearance(tmp_path):
    sys.path.insert(0, osp.join(ROOT, 'tools', 'dataset_converters'))
    try:
        from generate_dataset import main
    finally:
        sys.path.pop(0)
    main(['ytvis', '--out-dir', str(tmp_path / 'cli'), '--num-videos', '2', '--num-frames',
          '6', '--size', '96', '64', '--seed', '4', '--motion', 'crossing',
          '--similar-appearance', '--crossing-gap', '0.5'])
    generate_youtube_vis(str(tmp_path / 'api'), num_videos=2, num_frames=6,
                         image_size=(96, 64), seed=4, motion='crossing',
                         similar_appearance=True, crossing_gap=0.5)
    for name in ('instances.json', 'instances_cocovid.json'):
        assert (tmp_path / 'cli' / 'annotations' / name).read_bytes() == \
            (tmp_path / 'api' / 'annotations' / name).read_bytes()


def test_crossing_needs_five_frames_and_motion_is_checked(tmp_path):
    with pytest.raises(ValueError, match='num_frames >= 5'):
        generate_youtube_vis(str(tmp_path), num_videos=1, num_frames=4, motion='crossing')
    with pytest.raises(ValueError, match=r'crossing_gap must be in \[0, 2\]'):
        generate_youtube_vis(str(tmp_path), num_videos=1, motion='crossing', crossing_gap=-1)
    with pytest.raises(ValueError, match="motion must be one of"):
        generate_youtube_vis(str(tmp_path), num_videos=1, motion='zigzag')
    with pytest.raises(ValueError, match="motion='mixed' needs num_frames >= 5"):
        generate_youtube_vis(str(tmp_path), num_videos=1, num_frames=4, motion='mixed')


def test_mixed_motion_is_crossing_then_random_videos_in_fours(tmp_path):
    kwargs = dict(num_videos=6, num_frames=6, image_size=(96, 64), seed=5, max_objects=3,
                  min_area=40)
    mixed = generate_youtube_vis(str(tmp_path / 'mixed'), motion='mixed', **kwargs)
    crossing = generate_youtube_vis(str(tmp_path / 'crossing'), motion='crossing', **kwargs)
    random = generate_youtube_vis(str(tmp_path / 'random'), **kwargs)
    by_video = [{v['id']: (v, anns) for v, anns in videos_of(p['ytvis'])}
                for p in (mixed, crossing, random)]
    for index in range(6):  # videos 0, 1 and 4, 5 cross; 2 and 3 are the random ones
        same = by_video[1] if index % 4 < 2 else by_video[2]
        strip = [[{k: v for k, v in a.items() if k != 'id'} for a in videos[index + 1][1]]
                 for videos in (by_video[0], same)]
        assert strip[0] == strip[1], index
        frame = by_video[0][index + 1][0]['file_names'][0]
        assert (tmp_path / 'mixed' / 'JPEGImages' / frame).read_bytes() == \
            (tmp_path / ('crossing' if index % 4 < 2 else 'random') / 'JPEGImages' /
             frame).read_bytes()
