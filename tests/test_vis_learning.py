"""Learning tests of the video models: the small configs, trained on generated videos on CPU,
track every object of a held-out video with one id and segment it (mean mask IoU >= 0.6).
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
#: config -> number of generated training videos (the half-width SipMask-VIS memorises 48)
CONFIGS = {
    osp.join(ROOT, 'configs', 'sipmask_vis', 'sipmask-vis_r18_fpn_generated-ytvis.py'): 192,
    osp.join(ROOT, 'configs', 'sgnet', 'sgnet_r18_fpn_generated-ytvis.py'): 48,
}


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


@pytest.mark.parametrize('config', CONFIGS, ids=osp.basename)
def test_video_model_tracks_and_segments_a_held_out_video(config, tmp_path):
    data_root = f'{tmp_path}/data/'
    generate_youtube_vis(data_root + 'train', num_videos=CONFIGS[config], num_frames=6,
                         image_size=(160, 128), seed=0, max_objects=3, min_area=150)
    paths = generate_youtube_vis(data_root + 'val', num_videos=4, num_frames=10,
                                 image_size=(160, 128), seed=1, max_objects=3, min_area=150,
                                 objects_leave=False)
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
    dataset = runner.test_dataloader.dataset
    index = [i for i in range(len(dataset))
             if dataset.get_data_info(i)['video_id'] == video_id][0]
    data = runner.test_dataloader.collate_fn([dataset[index]])
    with torch.no_grad():
        video = model.test_step(data)[0]
    # an object's detection in a frame: the highest-scoring one whose mask covers it (IoU >= 0.5)
    gt_tracks = defaultdict(lambda: [None] * len(video))
    for t, frame in enumerate(video):
        gt = frame.gt_instances
        for mask, gt_id in zip(gt.masks.to_ndarray(), gt.instances_ids.tolist()):
            gt_tracks[gt_id][t] = encode_rle(mask)
    objects = dict(zip(gt_tracks, match_objects(list(gt_tracks.values()), video)))
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
