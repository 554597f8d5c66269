"""Learning tests of the video models: the small configs, trained on generated videos on CPU,
track every object of a held-out video with one id and segment it (mean mask IoU >= 0.6),
and keep the ids of two objects that cross each other in a held-out crossing video.
"""
import json
import os.path as osp
from collections import defaultdict

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

import mmsgnet  # noqa: F401
from mmsgnet.datasets.coco_format import encode_rle
from mmsgnet.datasets.synthetic import generate_youtube_vis
from mmsgnet.evaluation import match_objects

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
#: config -> the generated training videos (number; motion: 'mixed' makes half of them
#: crossing videos, crossing_gap how far apart their crossing objects pass, README "Video
#: identity"). SipMask-VIS learns to find a partly hidden object only from crossings that
#: show one (crossing_gap=0.5); SG-Net: the quick start's 2x schedule of the small config.
CONFIGS = {
    osp.join(ROOT, 'configs', 'sipmask_vis', 'sipmask-vis_r18_fpn_generated-ytvis.py'):
    dict(num_videos=192, motion='mixed', crossing_gap=0.5),
    osp.join(ROOT, 'configs', 'sgnet', 'sgnet_r18_fpn_2x_generated-ytvis.py'):
    dict(num_videos=192, motion='mixed', crossing_gap=0.0),
}
VIDEO = dict(num_frames=10, image_size=(160, 128), max_objects=3, min_area=150)
#: the held-out crossing video: video 3 of seed 4 with crossing_gap=0.5 -- two objects cross
#: between frames 4 and 5, the front one hiding up to 45% of the back one (frames 5-6), a
#: third stands in a corner
CROSSING = dict(seed=4, crossing_gap=0.5, video_id=3)


def first_video_with_objects_always_in_view(ann_file):
    """The paper's tracker gives an object that leaves and re-enters after the retention
    window a new id by design, so the id test uses a held-out video whose objects stay in
    view (and are never fully occluded)."""
    data = json.load(open(ann_file))
    for video in data['videos']:
        anns = [a for a in data['annotations'] if a['video_id'] == video['id']]
        if anns and all(s is not None for a in anns for s in a['segmentations']):
            return video['id']
    return None


def predict_objects(model, cfg, data_root, video_id):
    """Per GT object of a held-out video, the frames it is in (RLE or None) and its
    :class:`ObjectMatch`: per frame the best mask IoU, and where found (the highest-scoring
    mask with IoU >= 0.5) that detection's track id."""
    loader = Runner.build_dataloader(dict(
        cfg.test_dataloader, dataset=dict(cfg.test_dataloader.dataset, data_root=data_root)))
    dataset = loader.dataset
    index = [i for i in range(len(dataset))
             if dataset.get_data_info(i)['video_id'] == video_id][0]
    with torch.no_grad():
        video = model.test_step(loader.collate_fn([dataset[index]]))[0]
    gt_tracks = defaultdict(lambda: [None] * len(video))
    for t, frame in enumerate(video):
        gt = frame.gt_instances
        for mask, gt_id in zip(gt.masks.to_ndarray(), gt.instances_ids.tolist()):
            gt_tracks[gt_id][t] = encode_rle(mask)
    return dict(gt_tracks), dict(zip(gt_tracks, match_objects(list(gt_tracks.values()), video)))


def assert_one_id_per_object(gt_tracks, objects, found_around=None):
    """Every object found in >= 80% of its frames (and before and after frame
    ``found_around`` when given), one id per object across the video, different per object,
    mean mask IoU >= 0.6."""
    ious = [iou for obj in objects.values() for iou in obj.ious]
    summary = (f'ids per frame found { {k: o.ids for k, o in objects.items()} }, frames '
               f'{ {k: len(o.ious) for k, o in objects.items()} }, mean mask IoU '
               f'{np.mean(ious):.3f} over {len(ious)}')
    print(summary)
    assert all(obj.ids for obj in objects.values()), summary  # every object is found
    # ... in most frames, with one id per object across all frames, different per object
    assert all(len(obj.ids) >= 0.8 * len(obj.ious) for obj in objects.values()), summary
    assert all(len(set(obj.ids)) == 1 for obj in objects.values()), summary
    assert len({obj.ids[0] for obj in objects.values()}) == len(objects), summary
    assert np.mean(ious) >= 0.6, summary
    if found_around is not None:  # ... on both sides of the crossing
        for k, obj in objects.items():
            frames = [t for t, rle in enumerate(gt_tracks[k]) if rle is not None]
            found = [t for t, iou in zip(frames, obj.ious) if iou >= 0.5]
            assert min(found) < found_around < max(found), (k, found, summary)


@pytest.mark.parametrize('config', CONFIGS, ids=osp.basename)
def test_video_model_tracks_and_segments_a_held_out_video(config, tmp_path):
    recipe = CONFIGS[config]
    data_root = f'{tmp_path}/data/'
    generate_youtube_vis(data_root + 'train', num_videos=recipe['num_videos'], seed=0,
                         motion=recipe['motion'], crossing_gap=recipe['crossing_gap'],
                         **dict(VIDEO, num_frames=6))
    paths = generate_youtube_vis(data_root + 'val', num_videos=4, seed=1, objects_leave=False,
                                 **VIDEO)
    video_id = first_video_with_objects_always_in_view(paths['ytvis'])
    assert video_id is not None

    cfg = Config.fromfile(config)
    cfg.work_dir = str(tmp_path / 'work')
    for loader in (cfg.train_dataloader, cfg.val_dataloader, cfg.test_dataloader):
        loader.dataset.data_root = data_root
    cfg.default_hooks.checkpoint.interval = cfg.train_cfg.max_iters + 1
    cfg.randomness = dict(seed=0)
    runner = Runner.from_cfg(cfg)
    runner.train()

    model = runner.model.eval()
    assert_one_id_per_object(*predict_objects(model, cfg, data_root, video_id))
    crossing_root = f'{tmp_path}/crossing/'
    generate_youtube_vis(crossing_root + 'val', num_videos=CROSSING['video_id'],
                         seed=CROSSING['seed'], motion='crossing',
                         crossing_gap=CROSSING['crossing_gap'], **VIDEO)
    assert_one_id_per_object(*predict_objects(model, cfg, crossing_root, CROSSING['video_id']),
                             found_around=4.5)
