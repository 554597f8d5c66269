"""tools/video_demo.py: renders a video file or frame folder with the tracks of a VIS model,
writes the YouTube-VIS-style JSON, feeds frames through the config's test pipeline, and
refuses bad inputs with one message and no output left behind. CPU, 160x128, 5 frames."""
import json
import os
import os.path as osp
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope
from mmengine.structures import InstanceData
from vis_utils import load_tool

import mmsgnet  # noqa: F401
from mmdet.registry import DATASETS, MODELS
from mmsgnet.datasets import COCOVID_ANN_FILE, generate_youtube_vis

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
SGNET = osp.join(ROOT, 'configs', 'sgnet', 'sgnet_r18_fpn_generated-ytvis.py')
SIPMASK_IMAGE = osp.join(ROOT, 'configs', 'sipmask', 'sipmask_r18_fpn_gn-head_generated-coco.py')
NUM_FRAMES, WIDTH, HEIGHT, VIDEO_FPS = 5, 160, 128, 10
# a random model is not confident: draw and keep every detection
LOW_THRESHOLDS = ['--score-thr', '0', '--cfg-options', 'model.detector.test_cfg.score_thr=0.0']


demo = load_tool('tools/video_demo.py')


@pytest.fixture(scope='module')
def inputs(tmp_path_factory):
    """A generated 5-frame video as a JPEG folder and as an mp4 (mp4v) of the same frames."""
    root = tmp_path_factory.mktemp('video')
    generate_youtube_vis(str(root / 'data'), num_videos=1, num_frames=NUM_FRAMES,
                         image_size=(WIDTH, HEIGHT), seed=0)
    folder = root / 'data' / 'JPEGImages' / 'video_0000'
    mp4 = root / 'clip.mp4'
    writer = cv2.VideoWriter(str(mp4), cv2.VideoWriter_fourcc(*'mp4v'), VIDEO_FPS,
                             (WIDTH, HEIGHT))
    assert writer.isOpened()
    for name in sorted(os.listdir(folder)):
        writer.write(cv2.imread(str(folder / name)))
    writer.release()
    return dict(root=root, folder=folder, mp4=mp4)


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    """Random weights of the small SG-Net config, as the trainer saves them."""
    init_default_scope('mmdet')
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp('ckpt') / 'sgnet_random.pth'
    model = MODELS.build(Config.fromfile(SGNET).model)
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
    return path


def _run_tool(*args):
    """``python tools/video_demo.py ...`` from the repository root, as users run it."""
    return subprocess.run([sys.executable, osp.join('tools', 'video_demo.py'),
                           *map(str, args)], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)


def _read_video(path):
    capture = cv2.VideoCapture(str(path))
    fps, frames = capture.get(cv2.CAP_PROP_FPS), []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    capture.release()
    return frames, fps


def _expect_error(argv, *words):
    """``main(argv)`` exits with one message containing every word; returns it."""
    with pytest.raises(SystemExit) as info:
        demo.main([str(a) for a in argv])
    message = str(info.value.code)
    assert message.startswith('error: '), message
    for word in words:
        assert word in message, message
    return message


# ------------------------------------------------------------------ outputs
def test_video_file_gives_a_video_of_its_frames_and_the_tracks_json(inputs, checkpoint,
                                                                    tmp_path):
    out, out_json = tmp_path / 'out' / 'demo.mp4', tmp_path / 'out' / 'demo.json'
    result = _run_tool(inputs['mp4'], SGNET, checkpoint, '--out', out, '--json', out_json,
                       '--device', 'cpu', *LOW_THRESHOLDS)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert f'Wrote {out} ({NUM_FRAMES} frames' in result.stdout
    frames, fps = _read_video(out)
    assert len(frames) == NUM_FRAMES and fps == VIDEO_FPS
    assert frames[0].shape == (HEIGHT, WIDTH, 3)
    document = json.loads(out_json.read_text())
    assert document['video'] == 'clip' and document['num_frames'] == NUM_FRAMES
    assert (document['width'], document['height']) == (WIDTH, HEIGHT)
    assert document['classes'] == ['person', 'giant_panda', 'lizard']
    records = document['results']
    assert records
    track_ids = [r['track_id'] for r in records]
    assert len(set(track_ids)) == len(track_ids)
    for record in records:
        assert len(record['segmentations']) == NUM_FRAMES
        assert 1 <= record['category_id'] <= 3
        assert any(s is not None for s in record['segmentations'])
        rle = next(s for s in record['segmentations'] if s is not None)
        assert rle['size'] == [HEIGHT, WIDTH]
    assert sorted(os.listdir(tmp_path / 'out')) == ['demo.json', 'demo.mp4']


def test_frame_folder_gives_a_video_at_the_given_fps(inputs, checkpoint, tmp_path):
    out = tmp_path / 'demo.avi'
    result = _run_tool(inputs['folder'], SGNET, checkpoint, '--out', out, '--fps', 4,
                       *LOW_THRESHOLDS)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    frames, fps = _read_video(out)
    assert len(frames) == NUM_FRAMES and fps == 4
    assert frames[0].shape == (HEIGHT, WIDTH, 3)
    # the detections are drawn: the rendered frame differs from the input frame
    first = cv2.imread(str(inputs['folder'] / '00000.jpg'))
    assert np.abs(frames[0].astype(int) - first).mean() > 1


def test_frames_go_through_the_config_test_pipeline(inputs, checkpoint):
    """Frame-by-frame predictions of the demo equal the whole-video predictions of the
    config's own test dataset pipeline (same resize, rescaled to 160x128, same ids)."""
    cfg = demo.load_vis_config(SGNET, {'model.detector.test_cfg.score_thr': 0.0})
    model, _ = demo.build_model(cfg, str(checkpoint), 'cpu')
    dataset_cfg = cfg.test_dataloader.dataset
    dataset_cfg.update(data_root=str(inputs['root'] / 'data') + '/', ann_file=COCOVID_ANN_FILE,
                       data_prefix=dict(img_path='JPEGImages/'))
    with torch.no_grad():
        expected = model.test_step(pseudo_collate([DATASETS.build(dataset_cfg)[0]]))[0]
    source = demo.open_frames(str(inputs['folder']))
    pipeline = demo.build_frame_pipeline(cfg)
    for t, img in enumerate(source.frames):
        pred = demo.predict_frame(model, pipeline, img, t, source.num_frames)
        want = expected[t].pred_track_instances
        assert len(pred) == len(want) > 0
        assert pred.masks.shape[1:] == (HEIGHT, WIDTH)
        assert torch.equal(pred.instances_id, want.instances_id)
        assert torch.allclose(pred.bboxes, want.bboxes, atol=1e-3)
        assert torch.equal(pred.masks, want.masks)


def test_each_track_id_keeps_one_colour_and_low_scores_are_not_drawn():
    img = np.full((40, 60, 3), 128, dtype=np.uint8)
    masks = torch.zeros((2, 40, 60), dtype=torch.bool)
    masks[0, 20:38, 2:20] = True
    masks[1, 2:12, 40:58] = True
    pred = InstanceData(bboxes=torch.tensor([[2., 20., 20., 38.], [40., 2., 58., 12.]]),
                        scores=torch.tensor([0.9, 0.2]), labels=torch.tensor([0, 1]),
                        instances_id=torch.tensor([7, 3]), masks=masks)
    drawn = demo.draw_tracks(img, pred, ['a', 'b'], score_thr=0.5)
    expected = (0.5 * 128 + 0.5 * np.array(demo.track_color(7))).astype(np.uint8)
    assert np.abs(drawn[30, 10].astype(int) - expected).max() <= 1  # inside mask 0
    assert (drawn[7, 50] == 128).all()  # mask 1 scores below the threshold
    assert demo.track_color(7) == demo.track_color(7) != demo.track_color(8)
    assert (img == 128).all()  # the input frame is not modified


# ------------------------------------------------------------------ errors
def test_missing_input_is_named(checkpoint, tmp_path):
    _expect_error([tmp_path / 'nope.mp4', SGNET, checkpoint, '--out', tmp_path / 'o.mp4'],
                  'nope.mp4 does not exist')
    assert os.listdir(tmp_path) == []


def test_corrupt_video_and_empty_folder_are_named(checkpoint, tmp_path):
    corrupt = tmp_path / 'corrupt.mp4'
    corrupt.write_bytes(np.random.default_rng(0).bytes(4096))
    out_dir = tmp_path / 'out'
    _expect_error([corrupt, SGNET, checkpoint, '--out', out_dir / 'o.mp4'],
                  'OpenCV cannot read a frame of', 'corrupt.mp4', 'ffmpeg')
    (tmp_path / 'empty').mkdir()
    _expect_error([tmp_path / 'empty', SGNET, checkpoint, '--out', out_dir / 'o.mp4'],
                  'has no frames')
    assert not out_dir.exists()


def test_image_config_is_refused(inputs, checkpoint, tmp_path):
    _expect_error([inputs['mp4'], SIPMASK_IMAGE, checkpoint, '--out', tmp_path / 'o.mp4'],
                  'SipMask without a tracker', 'pass a video config')
    assert os.listdir(tmp_path) == []


def test_missing_checkpoint_is_named(inputs, tmp_path):
    _expect_error([inputs['mp4'], SGNET, tmp_path / 'none.pth', '--out', tmp_path / 'o.mp4'],
                  'none.pth does not exist')
    assert os.listdir(tmp_path) == []


def test_checkpoint_of_another_model_is_refused_naming_keys(inputs, tmp_path):
    init_default_scope('mmdet')
    image_ckpt = tmp_path / 'sipmask_image.pth'
    torch.save({'state_dict': MODELS.build(Config.fromfile(SIPMASK_IMAGE).model).state_dict()},
               image_ckpt)
    out_dir = tmp_path / 'out'
    _expect_error([inputs['mp4'], SGNET, image_ckpt, '--out', out_dir / 'o.mp4'],
                  'does not match the config', 'missing keys', 'detector.backbone.conv1.weight',
                  "image model's checkpoint")
    assert not out_dir.exists()  # the folder the demo created is taken back


def test_checkpoint_with_a_changed_shape_is_refused_naming_the_key(inputs, checkpoint,
                                                                   tmp_path):
    state_dict = torch.load(checkpoint)['state_dict']
    key = 'detector.bbox_head.conv_cls.weight'
    state_dict[key] = torch.zeros((40, ) + tuple(state_dict[key].shape[1:]))
    changed = tmp_path / 'changed.pth'
    torch.save({'state_dict': state_dict}, changed)
    out_dir = tmp_path / 'out'
    message = _expect_error([inputs['mp4'], SGNET, changed, '--out', out_dir / 'o.mp4'],
                            '1 shape mismatches', key)
    assert 'missing keys' not in message and 'unexpected keys' not in message
    assert not out_dir.exists()  # the folder the demo created is taken back


def test_unwritable_output_folder_is_named(inputs, checkpoint, tmp_path):
    (tmp_path / 'a_file').write_text('')
    _expect_error([inputs['mp4'], SGNET, checkpoint, '--out', tmp_path / 'a_file' / 'o.mp4'],
                  'is a file, not a folder')


def test_failure_during_the_video_leaves_no_output(inputs, checkpoint, tmp_path):
    frames = tmp_path / 'frames'
    frames.mkdir()
    for name in sorted(os.listdir(inputs['folder']))[:2]:
        (frames / name).write_bytes((inputs['folder'] / name).read_bytes())
    (frames / '00002.jpg').write_bytes(b'not a jpeg')
    out_dir = tmp_path / 'out'
    _expect_error([frames, SGNET, checkpoint, '--out', out_dir / 'nested' / 'o.mp4', '--json',
                   out_dir / 'o.json', *LOW_THRESHOLDS], 'cannot decode frame', '00002.jpg')
    assert not out_dir.exists()  # the partial video and the new folder were removed


# ------------------------------------------------------------------ #12 item 16
def test_out_naming_the_input_is_refused_and_the_input_kept(inputs, checkpoint, tmp_path,
                                                            capsys):
    clip = tmp_path / 'clip.mp4'
    clip.write_bytes(inputs['mp4'].read_bytes())
    before = clip.read_bytes()
    for argv in ([clip, SGNET, checkpoint, '--out', clip],
                 [clip, SGNET, checkpoint, '--out', tmp_path / 'o.mp4', '--json',
                  tmp_path / '.' / 'clip.mp4']):
        with pytest.raises(SystemExit) as info:
            demo.main([str(a) for a in argv])
        assert info.value.code == 2
        assert 'names the input' in capsys.readouterr().err
    assert clip.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ['clip.mp4']


def test_sigterm_removes_the_partial_video_and_the_folder_created(checkpoint, tmp_path):
    """As on Ctrl-C: a terminated run leaves no temporary video and no new folder."""
    import signal
    import time
    generate_youtube_vis(str(tmp_path / 'data'), num_videos=1, num_frames=40,
                         image_size=(WIDTH, HEIGHT), seed=5)
    out_dir = tmp_path / 'out'
    proc = subprocess.Popen(
        [sys.executable, osp.join('tools', 'video_demo.py'),
         str(tmp_path / 'data' / 'JPEGImages' / 'video_0000'), SGNET, str(checkpoint), '--out',
         str(out_dir / 'nested' / 'o.mp4'), '--json', str(out_dir / 'o.json')],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 600
    while time.time() < deadline and proc.poll() is None and not (
            (out_dir / 'nested').is_dir() and os.listdir(out_dir / 'nested')):
        time.sleep(0.2)
    assert proc.poll() is None, proc.communicate()  # still rendering, temporary video there
    assert any(n.endswith('.tmp.mp4') for n in os.listdir(out_dir / 'nested'))
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signal.SIGTERM, err[-2000:]
    assert 'terminated' in err
    assert not out_dir.exists()


def test_odd_frame_size_gives_video_and_json_of_one_size(checkpoint, tmp_path):
    """OpenCV's writers drop the last column/row of odd sizes: the demo drops them before
    predicting, so the video, the JSON and its masks all describe the same frames."""
    folder = tmp_path / 'odd'
    folder.mkdir()
    rng = np.random.default_rng(0)
    for t in range(2):
        cv2.imwrite(str(folder / f'{t:05d}.jpg'), rng.integers(0, 255, (HEIGHT + 1, WIDTH + 1,
                                                                        3), dtype=np.uint8))
    out, out_json = tmp_path / 'o.mp4', tmp_path / 'o.json'
    summary = demo.main([str(folder), SGNET, str(checkpoint), '--out', str(out), '--json',
                         str(out_json), *LOW_THRESHOLDS])
    frames, _ = _read_video(out)
    assert frames[0].shape == (HEIGHT, WIDTH, 3)
    document = json.loads(out_json.read_text())
    assert (document['width'], document['height']) == (WIDTH, HEIGHT)
    assert (summary['width'], summary['height']) == (WIDTH, HEIGHT)
    rles = [s for r in document['results'] for s in r['segmentations'] if s]
    assert rles and all(rle['size'] == [HEIGHT, WIDTH] for rle in rles)


def test_truncated_checkpoint_is_named_as_damaged(inputs, checkpoint, tmp_path):
    """#12 item 13: a checkpoint cut short (a kill while saving) gets one named error."""
    data = open(checkpoint, 'rb').read()
    truncated = tmp_path / 'truncated.pth'
    truncated.write_bytes(data[:len(data) // 2])
    out_dir = tmp_path / 'out'
    message = _expect_error([inputs['mp4'], SGNET, truncated, '--out', out_dir / 'o.mp4'],
                            'truncated.pth', 'truncated or corrupt')
    assert 'weights-only' not in message
    assert not out_dir.exists()


# ------------------------------------------------------------------ #15 identity
@pytest.fixture(scope='module')
def crossing(tmp_path_factory):
    """One generated 64x48 crossing video (two objects cross, one stands still), 5 frames."""
    root = tmp_path_factory.mktemp('crossing')
    paths = generate_youtube_vis(str(root), num_videos=1, num_frames=5, image_size=(64, 48),
                                 seed=0, max_objects=3, motion='crossing')
    return dict(folder=root / 'JPEGImages' / 'video_0000', **paths)


def _gt_tracks(ann_file, name='video_0000'):
    """Per-frame segmentations of the video's GT tracks, read straight from the file."""
    data = json.load(open(ann_file))
    video = next(v for v in data['videos'] if v['file_names'][0].startswith(name + '/'))
    return [a['segmentations'] for a in data['annotations'] if a['video_id'] == video['id']]


def test_gt_adds_identity_that_matches_the_written_tracks(crossing, checkpoint, tmp_path,
                                                          capsys):
    from mmsgnet.evaluation import video_identity_metrics
    out_json = tmp_path / 'o.json'
    summary = demo.main([str(crossing['folder']), SGNET, str(checkpoint), '--out',
                         str(tmp_path / 'o.mp4'), '--json', str(out_json), '--gt',
                         crossing['ytvis'], *LOW_THRESHOLDS])
    document = json.loads(out_json.read_text())
    identity = document['identity']
    assert set(identity) == {'IDSW', 'IDF1', 'IDTP', 'IDFP', 'IDFN', 'gt_video'}
    assert identity['gt_video'] == 'video_0000'  # the input folder's name by default
    expected = video_identity_metrics(_gt_tracks(crossing['ytvis']),
                                      [r['segmentations'] for r in document['results']])
    assert {k: identity[k] for k in expected} == expected
    assert 0 <= identity['IDF1'] <= 1 and summary['identity'] == identity
    console = capsys.readouterr().out
    assert f"IDSW {identity['IDSW']}, IDF1 {identity['IDF1']:.3f}" in console


def test_json_has_track_statistics_without_gt(crossing, checkpoint, tmp_path):
    out_json = tmp_path / 'o.json'
    demo.main([str(crossing['folder']), SGNET, str(checkpoint), '--out', str(tmp_path / 'o.mp4'),
               '--json', str(out_json), *LOW_THRESHOLDS])
    document = json.loads(out_json.read_text())
    assert 'identity' not in document
    lengths = [sum(s is not None for s in r['segmentations']) for r in document['results']]
    assert document['tracks'] == dict(num_tracks=len(lengths),
                                      mean_track_length=pytest.approx(np.mean(lengths)),
                                      num_short_tracks=sum(n <= 2 for n in lengths))


def test_gt_without_json_still_prints_the_identity(crossing, checkpoint, tmp_path, capsys):
    summary = demo.main([str(crossing['folder']), SGNET, str(checkpoint), '--out',
                         str(tmp_path / 'o.mp4'), '--gt', crossing['ytvis'], '--gt-video',
                         'video_0000', *LOW_THRESHOLDS])
    assert os.listdir(tmp_path) == ['o.mp4']
    assert "Identity against 'video_0000'" in capsys.readouterr().out
    assert set(summary['identity']) >= {'IDSW', 'IDF1'}


def test_ground_truth_as_prediction_keeps_every_id(crossing):
    from mmsgnet.evaluation import identity_summary, load_gt_video
    gt = load_gt_video(crossing['ytvis'], 'video_0000', num_frames=5, size=(48, 64))
    records = [dict(segmentations=t) for t in _gt_tracks(crossing['ytvis'])]
    identity = identity_summary(gt, records)
    assert identity['IDSW'] == 0 and identity['IDF1'] == 1.0 and identity['IDFN'] == 0


def test_track_statistics_count_short_tracks():
    from mmsgnet.evaluation import track_statistics
    rle = dict(size=[1, 1], counts='01')
    records = [dict(segmentations=[rle] * 4), dict(segmentations=[None, rle, rle, None]),
               dict(segmentations=[None, None, None, rle])]
    assert track_statistics(records) == dict(num_tracks=3, mean_track_length=7 / 3,
                                             num_short_tracks=2)
    assert track_statistics([]) == dict(num_tracks=0, mean_track_length=0.0,
                                        num_short_tracks=0)


def test_gt_problems_are_named_before_the_model_runs(crossing, checkpoint, tmp_path):
    folder = str(crossing['folder'])
    run = [folder, SGNET, checkpoint, '--out', tmp_path / 'out' / 'o.mp4', '--gt']
    _expect_error(run + [tmp_path / 'none.json'], 'none.json', 'does not exist')
    (tmp_path / 'bad.json').write_text('{"videos": [')
    _expect_error(run + [tmp_path / 'bad.json'], 'bad.json', 'not valid JSON')
    _expect_error(run + [crossing['cocovid']], 'not an official YouTube-VIS file')
    _expect_error(run + [crossing['ytvis'], '--gt-video', 'clip'],
                  "video 'clip' is not in", 'video_0000')
    short = tmp_path / 'video_0000'
    short.mkdir()
    for name in sorted(os.listdir(folder))[:4]:
        (short / name).write_bytes((crossing['folder'] / name).read_bytes())
    _expect_error([short, *run[1:], crossing['ytvis']], 'has 5 frames, the predicted video 4')
    assert not (tmp_path / 'out').exists()


def test_gt_video_without_gt_is_refused(crossing, checkpoint, tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        demo.main([str(crossing['folder']), SGNET, str(checkpoint), '--out',
                   str(tmp_path / 'o.mp4'), '--gt-video', 'video_0000'])
    assert info.value.code == 2 and 'give --gt ANN_FILE too' in capsys.readouterr().err
