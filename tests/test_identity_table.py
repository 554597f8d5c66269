"""tools/analysis_tools/identity_table.py and its per-video row
(``mmsgnet.evaluation.video_identity_row``): video AP, mask IoU, objects kept with one id,
tracks, ID switches and IDF1 of a generated crossing video. CPU, 96x64, 5 frames."""
import json
import os.path as osp

import numpy as np
import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope
from vis_utils import load_tool

import mmsgnet  # noqa: F401
from mmdet.registry import MODELS
from mmsgnet.datasets import generate_youtube_vis
from mmsgnet.evaluation import EncodedFrame, load_gt_video, video_identity_row

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
SMALL_SGNET = osp.join(ROOT, 'configs', 'sgnet', 'sgnet_r18_fpn_generated-ytvis.py')
PAPER_CONFIGS = [
    osp.join(ROOT, 'configs', 'sgnet', 'sgnet_r50_fpn_1xb8-12e_youtubevis2019.py'),
    osp.join(ROOT, 'configs', 'sipmask_vis',
             'sipmask-vis_r50-caffe_fpn_gn-head_1x_youtubevis2019.py'),
    'mmdet::masktrack_rcnn/masktrack-rcnn_mask-rcnn_r50_fpn_8xb1-12e_youtubevis2019.py'
]


tool = load_tool('tools/analysis_tools/identity_table.py')


@pytest.fixture(scope='module')
def gt(tmp_path_factory):
    """The GT of a generated 64x48 crossing video, 5 frames, 3 objects."""
    paths = generate_youtube_vis(str(tmp_path_factory.mktemp('crossing')), num_videos=1,
                                 num_frames=5, image_size=(64, 48), seed=0, max_objects=3,
                                 motion='crossing')
    return load_gt_video(paths['ytvis'], 'video_0000', num_frames=5, size=(48, 64))


def predictions(gt, ids):
    """Per frame, the GT masks as predictions (score 0.9, the GT class) with track ids
    ``ids(object, frame)``."""
    frames = []
    for t in range(len(gt.video['file_names'])):
        present = [k for k, track in enumerate(gt.tracks) if track[t] is not None]
        frames.append(EncodedFrame(
            [gt.tracks[k][t] for k in present], np.full(len(present), 0.9),
            np.array([gt.annotations[k]['category_id'] - 1 for k in present]),
            np.array([ids(k, t) for k in present])))
    return frames


def test_perfect_predictions_keep_every_object_with_one_id(gt):
    row = video_identity_row(gt, predictions(gt, lambda k, t: k))
    assert row == dict(AP=1.0, mask_iou=1.0, one_id_objects=3, num_objects=3, num_tracks=3,
                       IDSW=0, IDF1=1.0)


def test_two_objects_that_swap_ids_after_crossing_are_not_kept(gt):
    swapped = {0: 1, 1: 0, 2: 2}
    row = video_identity_row(gt, predictions(gt, lambda k, t: swapped[k] if t >= 3 else k))
    assert row['one_id_objects'] == 1 and row['num_tracks'] == 3  # the standing one
    assert row['IDSW'] == 2 and row['IDF1'] < 1 and row['mask_iou'] == 1.0


def test_resnet18_swap_keeps_the_small_config_and_fits_the_paper_configs(tmp_path):
    args = tool.parse_args([SMALL_SGNET, '--work-dir', str(tmp_path)])
    init_default_scope('mmdet')
    small = tool.table_config(SMALL_SGNET, str(tmp_path) + '/', args)
    original = MODELS.build(mmsgnet.apis.load_vis_config(SMALL_SGNET).model).state_dict()
    swapped = MODELS.build(small.model).state_dict()
    assert {k: v.shape for k, v in swapped.items()} == {k: v.shape for k, v in original.items()}
    for config in PAPER_CONFIGS:
        cfg = tool.table_config(config, str(tmp_path) + '/', args)
        backbone = cfg.model.detector.backbone
        assert backbone.depth == 18 and backbone.init_cfg is None
        assert cfg.model.detector.neck.in_channels == [
            (64, 128, 256, 512)[i] for i in backbone.out_indices]
        assert cfg.train_dataloader.dataset.data_root == str(tmp_path) + '/'
        MODELS.build(cfg.model)  # the neck fits the backbone; nothing is downloaded


def test_tool_trains_predicts_and_reports_a_consistent_row(tmp_path, capsys):
    out = tmp_path / 'table.json'
    own = Config.fromfile(SMALL_SGNET).model.tracker.to_dict()
    trackers = tmp_path / 'trackers.json'
    # the config's own tracker again (the same weights: the same row) and one that remembers
    # nothing (every detection a new track)
    trackers.write_text(json.dumps({'sgnet_r18_fpn_generated-ytvis': {
        'again': dict(own, init_score_thr=0.0),
        'no memory': dict(type='CenternessTracker', init_score_thr=2.0)}}))
    rows = tool.main([SMALL_SGNET, '--work-dir', str(tmp_path / 'work'), '--iters', '2',
                      '--size', '96', '64', '--num-frames', '5', '--json', str(out),
                      '--trackers', str(trackers),
                      '--cfg-options', 'model.detector.test_cfg.score_thr=0.0',
                      'model.tracker.init_score_thr=0.0'])
    assert len(rows) == 3
    assert [r.get('tracker') for r in rows] == [None, 'again', 'no memory']
    assert {k: v for k, v in rows[1].items() if k != 'tracker'} == rows[0]
    assert rows[2]['num_tracks'] >= rows[0]['num_tracks']
    row = rows[0]
    assert row['config'] == SMALL_SGNET and row['num_objects'] == 3
    assert 0 <= row['one_id_objects'] <= 3 and row['num_tracks'] >= 1
    assert 0 <= row['AP'] <= 1 and 0 <= row['mask_iou'] <= 1
    assert row['IDSW'] >= 0 and 0 <= row['IDF1'] <= 1
    assert json.loads(out.read_text())['rows'] == rows
    assert '| sgnet_r18_fpn_generated-ytvis.py |' in capsys.readouterr().out
    assert (tmp_path / 'work' / 'video' / 'annotations' / 'instances.json').is_file()


def test_trackers_file_is_checked(tmp_path, capsys):
    trackers = tmp_path / 'trackers.json'
    trackers.write_text(json.dumps({'other_config': {'x': {'type': 'CenternessTracker'}}}))
    with pytest.raises(SystemExit):
        tool.parse_args([SMALL_SGNET, '--work-dir', str(tmp_path), '--trackers', str(trackers)])
    assert "['other_config'] name no config of this run" in capsys.readouterr().err
    trackers.write_text('{"sgnet_r18_fpn_generated-ytvis": {"x": {"no": "type"}}}')
    with pytest.raises(SystemExit):
        tool.parse_args([SMALL_SGNET, '--work-dir', str(tmp_path), '--trackers', str(trackers)])
    assert 'give {"<config stem>"' in capsys.readouterr().err


def test_missing_config_is_named(tmp_path):
    with pytest.raises(SystemExit) as info:
        tool.main(['configs/none.py', '--work-dir', str(tmp_path)])
    assert 'configs/none.py does not exist' in str(info.value.code)
