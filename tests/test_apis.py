"""mmsgnet.apis: the streaming VideoInferencer gives the tracks of test_step on the whole
video, frame by frame, with memory that does not grow with the video's length; image configs
run through mmdet's own DetInferencer. CPU, 160x128 frames."""
import itertools
import os.path as osp
import tracemalloc

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope

import mmsgnet  # noqa: F401
from mmdet.registry import DATASETS, MODELS
from mmsgnet.apis import InferenceError, VideoInferencer, image_inferencer
from mmsgnet.datasets import COCOVID_ANN_FILE, generate_coco_instance, generate_youtube_vis
from mmsgnet.evaluation import video_to_ytvis_results

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
SGNET = osp.join(ROOT, 'configs', 'sgnet', 'sgnet_r18_fpn_generated-ytvis.py')
SIPMASK_VIS = osp.join(ROOT, 'configs', 'sipmask_vis', 'sipmask-vis_r18_fpn_generated-ytvis.py')
SIPMASK = osp.join(ROOT, 'configs', 'sipmask', 'sipmask_r18_fpn_gn-head_generated-coco.py')
LOW_THR = {'model.detector.test_cfg.score_thr': 0.0}
NUM_FRAMES = 6


def _random_checkpoint(config, path, classes=None):
    init_default_scope('mmdet')
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(config).model)
    meta = {'dataset_meta': {'classes': classes}} if classes else {}
    torch.save({'state_dict': model.state_dict(), 'meta': meta}, path)
    return str(path)


@pytest.fixture(scope='module')
def video(tmp_path_factory):
    root = tmp_path_factory.mktemp('video')
    generate_youtube_vis(str(root), num_videos=1, num_frames=NUM_FRAMES, image_size=(160, 128),
                         seed=0)
    return root


@pytest.mark.parametrize('config', [SGNET, SIPMASK_VIS])
def test_streamed_frames_give_the_tracks_of_test_step_on_the_whole_video(video, config,
                                                                         tmp_path):
    ckpt = _random_checkpoint(config, tmp_path / 'random.pth')
    inferencer = VideoInferencer(config, ckpt, device='cpu', cfg_options=LOW_THR)
    dataset_cfg = inferencer.cfg.test_dataloader.dataset
    dataset_cfg.update(data_root=str(video) + '/', ann_file=COCOVID_ANN_FILE,
                       data_prefix=dict(img_path='JPEGImages/'))
    with torch.no_grad():
        whole = inferencer.model.test_step(
            pseudo_collate([DATASETS.build(dataset_cfg)[0]]))[0]
    folder = str(video / 'JPEGImages' / 'video_0000')
    streamed = list(inferencer.stream(folder))
    assert len(streamed) == len(whole) == NUM_FRAMES
    for t, result in enumerate(streamed):
        got, want = result[0].pred_track_instances, whole[t].pred_track_instances
        assert result[0].frame_id == t
        assert len(got) == len(want) > 0
        assert torch.equal(got.instances_id, want.instances_id.cpu())
        assert torch.allclose(got.bboxes, want.bboxes.cpu(), atol=1e-3)
        assert torch.equal(got.masks, want.masks.cpu())
    # per video: the YouTube-VIS records of the whole-video prediction; a second call on the
    # same inferencer starts a new video (the tracker restarts at frame 0)
    for _ in range(2):
        document = inferencer(folder)
        assert document['results'] == video_to_ytvis_results(
            list(whole), 1, with_track_id=True)
        assert (document['num_frames'], document['width'], document['height']) == (
            NUM_FRAMES, 160, 128)


def _peak_bytes_of_a_video(inferencer, frames, num_frames):
    """tracemalloc peak (Python and NumPy allocations: decoded frames, packed inputs, results
    handed out) while one video of ``num_frames`` frames is streamed."""
    source = itertools.islice(itertools.cycle(frames), num_frames)
    tracemalloc.start()
    try:
        count = 0
        for result in inferencer.stream(source):
            count += 1
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == num_frames and result[0].frame_id == num_frames - 1
    return peak


def test_peak_memory_does_not_grow_with_the_number_of_frames(tmp_path):
    """20 and 200 frames of 160x120, predicted at 64x48 to keep the test fast: the peak of the
    Python/NumPy heap while streaming stays within 25% + 1 MB (the decoded frames of a whole
    200-frame video alone would be 11 MB, its packed float input 7 MB more)."""
    generate_youtube_vis(str(tmp_path), num_videos=1, num_frames=4, image_size=(160, 120),
                         seed=1)
    folder = tmp_path / 'JPEGImages' / 'video_0000'
    frames = [cv2.imread(str(folder / f'{t:05d}.jpg')) for t in range(4)]
    cfg = Config.fromfile(SGNET)
    for transform in cfg.test_dataloader.dataset.pipeline[0].transforms:
        if transform.type == 'Resize':
            transform.scale = (64, 48)
    inferencer = VideoInferencer(cfg, None, device='cpu', cfg_options=LOW_THR)
    _peak_bytes_of_a_video(inferencer, frames, 3)  # warm-up (lazy imports, caches)
    short = _peak_bytes_of_a_video(inferencer, frames, 20)
    long = _peak_bytes_of_a_video(inferencer, frames, 200)
    assert long <= 1.25 * short + 2**20, (short, long)


def test_image_config_runs_through_mmdets_det_inferencer(tmp_path):
    """mmdet's DetInferencer, unchanged, on our image config and checkpoint gives the
    detections of the model's test_step; image_inferencer adds the checks and class names."""
    from mmdet.apis import DetInferencer
    generate_coco_instance(str(tmp_path / 'data'), num_images=1, image_size=(160, 128), seed=2)
    image = str(tmp_path / 'data' / 'images' / '000000.jpg')
    ckpt = _random_checkpoint(SIPMASK, tmp_path / 'sipmask.pth')
    plain = DetInferencer(model=SIPMASK, weights=ckpt, device='cpu')
    ours = image_inferencer(SIPMASK, ckpt, device='cpu')
    assert ours.model.dataset_meta['classes'] == ('ellipse', 'rectangle', 'triangle')
    out_dir = tmp_path / 'out'
    results = ours(image, out_dir=str(out_dir), return_datasamples=True, pred_score_thr=0.0)
    pred = results['predictions'][0].pred_instances
    plain_pred = plain(image, return_datasamples=True)['predictions'][0].pred_instances
    assert torch.equal(pred.bboxes, plain_pred.bboxes) and len(pred) > 0
    assert pred.masks.shape[-2:] == (128, 160)
    # the same numbers as the model's own test_step through the config's test pipeline
    from mmengine.dataset import Compose

    from mmsgnet.datasets import inference_pipeline
    pipeline = Compose(inference_pipeline(ours.cfg.test_dataloader.dataset.pipeline))
    with torch.no_grad():
        direct = ours.model.test_step(pseudo_collate([pipeline(dict(img_path=image,
                                                                    img_id=0))]))[0]
    assert torch.allclose(direct.pred_instances.bboxes, pred.bboxes.to(torch.float32))
    assert (out_dir / 'vis' / '000000.jpg').is_file()


def test_image_inferencer_refuses_a_video_config_and_a_mismatched_checkpoint(tmp_path):
    with pytest.raises(InferenceError, match='describes a video model'):
        image_inferencer(SGNET, device='cpu')
    ckpt = _random_checkpoint(SGNET, tmp_path / 'sgnet.pth')
    with pytest.raises(InferenceError, match='does not match the config.*missing keys'):
        image_inferencer(SIPMASK, ckpt, device='cpu')
    with pytest.raises(InferenceError, match='without a tracker'):
        VideoInferencer(SIPMASK, device='cpu')


def test_frames_of_another_size_or_type_are_refused():
    inferencer = VideoInferencer(SGNET, None, device='cpu')
    frames = [np.zeros((64, 80, 3), np.uint8), np.zeros((32, 80, 3), np.uint8)]
    with pytest.raises(InferenceError, match='frame 1 is 80x32, the first frame 80x64'):
        list(inferencer.stream(frames))
    with pytest.raises(InferenceError, match='not a BGR uint8'):
        list(inferencer.stream([np.zeros((64, 80), np.float32)]))
    with pytest.raises(InferenceError, match='gave no frame'):
        inferencer([])
