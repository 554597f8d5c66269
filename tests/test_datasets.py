"""Generated datasets, YouTube-VIS -> CocoVID conversion, annotation validation, the strict
dataset classes and the dataset tools. CPU, tiny images (96x64), seconds."""
import glob
import importlib.util
import json
import os
import os.path as osp
import shutil
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch
from mmengine import Config
from mmengine.dataset import DefaultSampler, pseudo_collate
from mmengine.registry import init_default_scope

import mmsgnet  # noqa: F401  (registers the strict datasets and transforms)
from mmdet.datasets.samplers import TrackImgSampler
from mmdet.registry import DATASETS
from mmsgnet.datasets import (COCO_ANN_FILE, COCOVID_ANN_FILE, YTVIS_ANN_FILE, AnnotationFileError,
                              ImageFileError, convert_ytvis_to_cocovid, decode_segmentation,
                              dump_json_atomic, encode_rle, generate_coco_instance,
                              generate_youtube_vis, image_bytes_problem, validate_annotation_file,
                              validate_coco_instance_file, validate_cocovid_file,
                              validate_ytvis_file, ytvis_class_names)

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = osp.join(REPO, 'configs', '_base_', 'datasets')
SIZE = (96, 64)  # (W, H)


def _load(path):
    with open(path) as f:
        return json.load(f)


def _dump(obj, path):
    with open(path, 'w') as f:
        json.dump(obj, f)
    return str(path)


@pytest.fixture(scope='module', autouse=True)
def mmdet_scope():
    init_default_scope('mmdet')


@pytest.fixture(scope='module')
def coco_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('coco')
    generate_coco_instance(str(root), num_images=6, image_size=SIZE, seed=0)
    return root


@pytest.fixture(scope='module')
def ytvis_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('ytvis')
    generate_youtube_vis(str(root), num_videos=3, num_frames=8, image_size=SIZE, seed=0)
    return root


def _iou(a, b):
    a, b = a.astype(bool), b.astype(bool)
    return (a & b).sum() / max((a | b).sum(), 1)


def _expected_mask(segmentation, meta):
    """The json mask brought to the packed image: resized to img_shape, flipped if flipped."""
    height, width = meta['ori_shape']
    mask = decode_segmentation(segmentation, height, width)
    mask = cv2.resize(mask, meta['img_shape'][::-1], interpolation=cv2.INTER_NEAREST)
    return mask[:, ::-1] if meta.get('flip') else mask


# ---------------------------------------------------------------- generation


def test_generated_coco_is_deterministic(tmp_path):
    paths = [generate_coco_instance(str(tmp_path / name), num_images=3, image_size=SIZE, seed=seed)
             for name, seed in (('a', 5), ('b', 5), ('c', 6))]
    blobs = [open(p, 'rb').read() for p in paths]
    assert blobs[0] == blobs[1] and blobs[0] != blobs[2]
    for name in os.listdir(tmp_path / 'a' / 'images'):
        assert (tmp_path / 'a' / 'images' / name).read_bytes() == \
            (tmp_path / 'b' / 'images' / name).read_bytes()


def test_generated_ytvis_is_deterministic(tmp_path):
    for name in ('a', 'b'):
        generate_youtube_vis(str(tmp_path / name), num_videos=2, num_frames=4, image_size=SIZE,
                             seed=3)
    for rel in (YTVIS_ANN_FILE, COCOVID_ANN_FILE, 'JPEGImages/video_0001/00003.jpg'):
        assert (tmp_path / 'a' / rel).read_bytes() == (tmp_path / 'b' / rel).read_bytes()


@pytest.mark.parametrize('mask_format', ['rle', 'polygon'])
def test_generated_coco_records_describe_their_masks(tmp_path, mask_format):
    ann_file = generate_coco_instance(str(tmp_path), num_images=4, image_size=SIZE, seed=1,
                                      mask_format=mask_format)
    data = _load(ann_file)
    assert [c['name'] for c in data['categories']] == ['ellipse', 'rectangle', 'triangle']
    assert len(data['annotations']) >= len(data['images'])
    for ann in data['annotations']:
        mask = decode_segmentation(ann['segmentation'], SIZE[1], SIZE[0])
        ys, xs = np.nonzero(mask)
        assert ann['area'] == mask.sum() > 0
        assert ann['bbox'] == [xs.min(), ys.min(), np.ptp(xs) + 1, np.ptp(ys) + 1]
        if mask_format == 'polygon':
            assert all(len(p) >= 6 and len(p) % 2 == 0 for p in ann['segmentation'])
    validate_coco_instance_file(ann_file, str(tmp_path / 'images'), decode_images=True)


def test_generated_ytvis_is_official_format_with_absences(ytvis_root):
    data = _load(ytvis_root / YTVIS_ANN_FILE)
    assert [c['name'] for c in data['categories']] == list(ytvis_class_names('2019'))
    assert [c['id'] for c in data['categories']] == list(range(1, 41))
    lengths = {v['id']: len(v['file_names']) for v in data['videos']}
    assert set(lengths.values()) == {8}
    reenters = 0
    for ann in data['annotations']:
        assert 1 <= ann['category_id'] <= 3
        for key in ('segmentations', 'bboxes', 'areas'):
            assert len(ann[key]) == lengths[ann['video_id']]
        present = ''.join('x' if s is not None else '.' for s in ann['segmentations'])
        assert [s is None for s in ann['segmentations']] == [b is None for b in ann['bboxes']]
        assert all(isinstance(s['counts'], str) for s in ann['segmentations'] if s)
        reenters += 'x.' in present and '.x' in present.split('x.', 1)[1]
    assert reenters > 0, 'some object must leave the frame and come back'
    validate_ytvis_file(str(ytvis_root / YTVIS_ANN_FILE), str(ytvis_root / 'JPEGImages'))


# ---------------------------------------------------------------- conversion


def test_conversion_numbers_instances_from_one_and_skips_absent_frames(ytvis_root):
    ytvis = _load(ytvis_root / YTVIS_ANN_FILE)
    cocovid = _load(ytvis_root / COCOVID_ANN_FILE)
    assert len(cocovid['videos']) == len(ytvis['videos'])
    assert len(cocovid['images']) == sum(len(v['file_names']) for v in ytvis['videos'])
    present = sum(s is not None for a in ytvis['annotations'] for s in a['segmentations'])
    assert len(cocovid['annotations']) == present
    assert sorted({a['instance_id'] for a in cocovid['annotations']}) == \
        list(range(1, len(ytvis['annotations']) + 1))
    images = {i['id']: i for i in cocovid['images']}
    for track, instance_id in zip(ytvis['annotations'], range(1, 100)):
        anns = [a for a in cocovid['annotations'] if a['instance_id'] == instance_id]
        frames = [images[a['image_id']]['frame_id'] for a in anns]
        assert frames == [t for t, s in enumerate(track['segmentations']) if s is not None]
        for ann, frame in zip(anns, frames):
            assert ann['segmentation'] == track['segmentations'][frame]
            assert ann['video_id'] == track['video_id'] == images[ann['image_id']]['video_id']
            assert images[ann['image_id']]['file_name'] == \
                ytvis['videos'][track['video_id'] - 1]['file_names'][frame]
    validate_cocovid_file(str(ytvis_root / COCOVID_ANN_FILE), str(ytvis_root / 'JPEGImages'))


def _uncompressed_rle(mask):
    """COCO uncompressed RLE: run lengths of the column-major mask, starting with zeros."""
    flat = mask.flatten(order='F')
    bounds = np.concatenate([[0], np.flatnonzero(np.diff(flat)) + 1, [flat.size]])
    counts = np.diff(bounds).tolist()
    return {'size': list(mask.shape), 'counts': [0] + counts if flat[0] else counts}


def test_conversion_fills_missing_boxes_from_uncompressed_rle(ytvis_root, tmp_path):
    ytvis = _load(ytvis_root / YTVIS_ANN_FILE)
    track = ytvis['annotations'][0]
    frame = next(t for t, s in enumerate(track['segmentations']) if s is not None)
    mask = decode_segmentation(track['segmentations'][frame], SIZE[1], SIZE[0])
    expected_bbox, expected_area = track['bboxes'][frame], track['areas'][frame]
    track['segmentations'][frame] = _uncompressed_rle(mask)
    track['bboxes'][frame] = track['areas'][frame] = None
    out = tmp_path / 'out.json'
    convert_ytvis_to_cocovid(_dump(ytvis, tmp_path / 'in.json'), str(out))
    ann = _load(out)['annotations'][0]  # track 0's first present frame comes first
    assert ann['bbox'] == expected_bbox and ann['area'] == expected_area
    assert (decode_segmentation(ann['segmentation'], SIZE[1], SIZE[0]) == mask).all()


def test_failed_conversion_leaves_no_partial_output(ytvis_root, tmp_path):
    ytvis = _load(ytvis_root / YTVIS_ANN_FILE)
    del ytvis['annotations'][0]['segmentations'][0]
    out = tmp_path / 'out.json'
    out.write_text('previous')
    with pytest.raises(AnnotationFileError, match='annotation id=1'):
        convert_ytvis_to_cocovid(_dump(ytvis, tmp_path / 'bad.json'), str(out))
    assert out.read_text() == 'previous'
    with pytest.raises(TypeError):
        dump_json_atomic({'not json': object()}, str(out))
    assert out.read_text() == 'previous'
    assert sorted(os.listdir(tmp_path)) == ['bad.json', 'out.json']  # no temporary file left


# ---------------------------------------------------------------- datasets and pipelines


def _dataset_cfg(config, split, root, dataset_type, ann_file, **prefix):
    cfg = Config.fromfile(osp.join(CONFIGS, config))[f'{split}_dataloader']['dataset']
    cfg.update(type=dataset_type, data_root=str(root), ann_file=ann_file, data_prefix=prefix)
    if not dataset_type.startswith('Strict'):
        cfg.pop('check_images', None)
    return cfg


@pytest.mark.parametrize('dataset_type', ['CocoDataset', 'StrictCocoDataset'])
@pytest.mark.parametrize('split', ['train', 'val'])
def test_coco_batches_carry_the_json_masks(coco_root, dataset_type, split):
    cfg = _dataset_cfg('generated_coco_instance.py', split, coco_root, dataset_type,
                       COCO_ANN_FILE, img='images/')
    dataset = DATASETS.build(cfg)
    data = _load(coco_root / COCO_ANN_FILE)
    loader = torch.utils.data.DataLoader(dataset, batch_size=3, collate_fn=pseudo_collate)
    seen = 0
    for batch in loader:
        for inputs, sample in zip(batch['inputs'], batch['data_samples']):
            anns = [a for a in data['annotations'] if a['image_id'] == sample.img_id]
            gt = sample.gt_instances
            assert tuple(inputs.shape[1:]) == sample.img_shape
            assert gt.labels.tolist() == [a['category_id'] - 1 for a in anns]
            masks = gt.masks.to_ndarray()
            assert masks.shape[1:] == (sample.img_shape if split == 'train' else SIZE[::-1])
            for mask, ann in zip(masks, anns):
                expected = _expected_mask(ann['segmentation'], sample.metainfo) \
                    if split == 'train' else decode_segmentation(ann['segmentation'], *SIZE[::-1])
                assert _iou(mask, expected) > 0.95
            seen += 1
    assert seen == len(data['images'])


@pytest.mark.parametrize('dataset_type', ['YouTubeVISDataset', 'StrictYouTubeVISDataset'])
def test_video_train_batches_keep_instance_ids_across_frames(ytvis_root, dataset_type):
    cfg = _dataset_cfg('generated_youtube_vis.py', 'train', ytvis_root, dataset_type,
                       COCOVID_ANN_FILE, img_path='JPEGImages/')
    dataset = DATASETS.build(cfg)
    cocovid = _load(ytvis_root / COCOVID_ANN_FILE)
    loader = torch.utils.data.DataLoader(dataset, batch_size=4, collate_fn=pseudo_collate,
                                         sampler=TrackImgSampler(dataset, seed=0))
    shared = 0
    for batch in loader:
        for inputs, track in zip(batch['inputs'], batch['data_samples']):
            assert inputs.shape[0] == len(track) == 2
            key, ref = track.get_key_frames()[0], track.get_ref_frames()[0]
            assert key.flip == ref.flip and key.video_id == ref.video_id
            for frame in (key, ref):
                anns = [a for a in cocovid['annotations'] if a['image_id'] == frame.img_id]
                gt = frame.gt_instances
                assert gt.instances_ids.tolist() == [a['instance_id'] for a in anns]
                assert gt.labels.tolist() == [a['category_id'] - 1 for a in anns]
                for mask, ann in zip(gt.masks.to_ndarray(), anns):
                    assert _iou(mask, _expected_mask(ann['segmentation'], frame.metainfo)) > 0.95
            key_ids = dict(zip(key.gt_instances.instances_ids.tolist(),
                               key.gt_instances.labels.tolist()))
            for instance_id, label in zip(ref.gt_instances.instances_ids.tolist(),
                                          ref.gt_instances.labels.tolist()):
                if instance_id in key_ids:
                    assert key_ids[instance_id] == label
                    shared += 1
    assert shared > 0


@pytest.mark.parametrize('dataset_type', ['YouTubeVISDataset', 'StrictYouTubeVISDataset'])
def test_video_test_batches_are_whole_videos(ytvis_root, dataset_type):
    cfg = _dataset_cfg('generated_youtube_vis.py', 'val', ytvis_root, dataset_type,
                       COCOVID_ANN_FILE, img_path='JPEGImages/')
    dataset = DATASETS.build(cfg)
    cocovid = _load(ytvis_root / COCOVID_ANN_FILE)
    loader = torch.utils.data.DataLoader(dataset, batch_size=1, collate_fn=pseudo_collate,
                                         sampler=DefaultSampler(dataset, shuffle=False))
    videos = 0
    for batch in loader:
        track = batch['data_samples'][0]
        assert len(track) == batch['inputs'][0].shape[0] == 8
        assert [frame.frame_id for frame in track] == list(range(8))
        for frame in track:
            anns = [a for a in cocovid['annotations'] if a['image_id'] == frame.img_id]
            assert frame.gt_instances.instances_ids.tolist() == [a['instance_id'] for a in anns]
            for mask, ann in zip(frame.gt_instances.masks.to_ndarray(), anns):
                assert (mask == decode_segmentation(ann['segmentation'], *SIZE[::-1])).all()
        videos += 1
    assert videos == 3


def test_strict_loader_names_a_truncated_frame(ytvis_root, tmp_path):
    root = tmp_path / 'ytvis'
    shutil.copytree(ytvis_root, root)
    frame = root / 'JPEGImages' / 'video_0000' / '00000.jpg'
    content = frame.read_bytes()
    frame.write_bytes(content[:len(content) * 2 // 3])
    assert cv2.imread(str(frame)) is not None  # OpenCV alone would not notice
    cfg = _dataset_cfg('generated_youtube_vis.py', 'train', root, 'StrictYouTubeVISDataset',
                       COCOVID_ANN_FILE, img_path='JPEGImages/')
    cfg['check_images'] = 'exists'
    dataset = DATASETS.build(cfg)
    with pytest.raises(ImageFileError, match=r"video_0000/00000\.jpg'.*Fix: re-extract"):
        dataset[(0, 0)]
    cfg['check_images'] = 'decode'
    with pytest.raises(AnnotationFileError, match=r'image id=1: .*00000\.jpg.*truncated'):
        DATASETS.build(cfg)


def test_training_skips_videos_without_annotated_objects(ytvis_root, tmp_path, capsys):
    cocovid = _load(ytvis_root / COCOVID_ANN_FILE)
    cocovid['annotations'] = [a for a in cocovid['annotations'] if a['video_id'] != 2]
    ann_file = _dump(cocovid, tmp_path / 'empty_video.json')
    cfg = _dataset_cfg('generated_youtube_vis.py', 'train', ytvis_root,
                       'StrictYouTubeVISDataset', ann_file, img_path='JPEGImages/')
    with pytest.warns(UserWarning, match=r"1 training video\(s\) without any annotated "
                      r"object.*video id=2 \('video_0001'\)"):
        dataset = DATASETS.build(cfg)
    assert [dataset.get_data_info(i)['video_id'] for i in range(len(dataset))] == [1, 3]
    sampler = TrackImgSampler(dataset, seed=0)
    assert len(sampler) == 16
    for index in sampler:  # every key frame draws a reference frame
        assert len(dataset[index]['data_samples']) == 2
    cfg['test_mode'] = True  # test splits keep every video
    assert len(DATASETS.build(cfg)) == 3
    cfg.update(test_mode=False, metainfo=dict(classes=('lizard', )))
    cocovid['annotations'] = [a for a in cocovid['annotations'] if a['category_id'] != 3]
    cfg['ann_file'] = _dump(cocovid, tmp_path / 'no_lizard.json')
    with pytest.raises(AnnotationFileError, match=r"no training video has an annotated object "
                       r"of the classes \('lizard',\).*Fix: "):
        DATASETS.build(cfg)
    capsys.readouterr()
    _tool_main('check_dataset')([ann_file])
    out = capsys.readouterr()
    assert out.out.startswith('OK: ')
    assert "video id=2 ('video_0001') has no annotated object in any frame" in out.err
    ytvis = _load(ytvis_root / YTVIS_ANN_FILE)
    for track in ytvis['annotations']:
        if track['video_id'] == 3:
            track['segmentations'] = [None] * len(track['segmentations'])
            track['bboxes'] = [None] * len(track['bboxes'])
    _tool_main('check_dataset')([_dump(ytvis, tmp_path / 'empty_ytvis.json')])
    assert "video id=3 ('video_0002') has no annotated object" in capsys.readouterr().err


def _garbage_inside(path, seed=1, size=64):
    """Overwrite ``size`` bytes in the middle of a JPEG's entropy-coded data with random bytes
    (header and end-of-image marker intact)."""
    data = bytearray(path.read_bytes())
    start = len(data) // 2
    data[start:start + size] = np.random.default_rng(seed).integers(0, 256, size,
                                                                    dtype=np.uint8).tobytes()
    path.write_bytes(bytes(data))


def test_decode_check_finds_garbage_inside_a_jpeg_before_training(ytvis_root, tmp_path):
    root = tmp_path / 'ytvis'
    shutil.copytree(ytvis_root, root)
    frame = root / 'JPEGImages' / 'video_0001' / '00003.jpg'
    _garbage_inside(frame)
    assert cv2.imread(str(frame)) is not None  # OpenCV alone decodes it (with a grey band)
    assert image_bytes_problem(frame.read_bytes()) is None  # the end marker is intact
    assert 'corrupt (libjpeg: Corrupt JPEG data' in image_bytes_problem(
        frame.read_bytes(), decode=True)
    for good in (ytvis_root / 'JPEGImages').rglob('*.jpg'):  # no false alarm
        assert image_bytes_problem(good.read_bytes(), decode=True, expected_size=SIZE) is None
    # the generated-data configs decode every image once when the dataset is built
    for name in ('generated_youtube_vis.py', 'generated_coco_instance.py'):
        for split in ('train', 'val'):
            cfg = Config.fromfile(osp.join(CONFIGS, name))[f'{split}_dataloader']['dataset']
            assert cfg.check_images == 'decode'
    cfg = _dataset_cfg('generated_youtube_vis.py', 'train', root, 'StrictYouTubeVISDataset',
                       COCOVID_ANN_FILE, img_path='JPEGImages/')
    with pytest.raises(AnnotationFileError, match=r'image id=12: .*video_0001/00003\.jpg.*'
                       r'corrupt.*Fix: '):
        DATASETS.build(cfg)
    with pytest.raises(SystemExit, match=r'image id=12: .*video_0001/00003\.jpg.*corrupt'):
        _tool_main('check_dataset')([str(root / COCOVID_ANN_FILE), '--img-dir',
                                     str(root / 'JPEGImages'), '--decode', '--workers', '2'])


def _image_loaders(pipeline):
    for transform in pipeline:
        if transform['type'] == 'TransformBroadcaster':
            yield from _image_loaders(transform['transforms'])
        elif 'Load' in transform['type'] and 'Annotations' not in transform['type']:
            yield transform['type']


def test_every_pipeline_loads_images_with_the_strict_loader():
    configs = sorted(glob.glob(osp.join(REPO, 'configs', '**', '*.py'), recursive=True))
    checked = 0
    for path in configs:
        cfg = Config.fromfile(path)
        for split in ('train', 'val', 'test'):
            dataset = cfg.get(f'{split}_dataloader', {}).get('dataset')
            while dataset is not None and 'pipeline' not in dataset and 'dataset' in dataset:
                dataset = dataset['dataset']  # dataset wrappers
            if dataset is None or 'pipeline' not in dataset:
                continue
            loaders = list(_image_loaders(dataset['pipeline']))
            assert loaders == ['StrictLoadImageFromFile'], (path, split, loaders)
            checked += 1
    assert checked >= 3 * 20


@pytest.mark.parametrize('config', ['generated_youtube_vis.py', 'youtube_vis_2019.py'])
def test_test_pipelines_name_an_unreadable_frame(ytvis_root, tmp_path, config):
    root = tmp_path / 'ytvis'
    shutil.copytree(ytvis_root, root)
    frame = root / 'JPEGImages' / 'video_0001' / '00002.jpg'
    frame.write_bytes(frame.read_bytes()[:300])
    cfg = _dataset_cfg(config, 'test', root, 'StrictYouTubeVISDataset', COCOVID_ANN_FILE,
                       img_path='JPEGImages/')
    cfg.update(check_images='exists', metainfo=dict(classes=('person', 'giant_panda',
                                                             'lizard')))
    dataset = DATASETS.build(cfg)
    dataset[0]  # video 1 is fine
    with pytest.raises(ImageFileError, match=r"video_0001/00002\.jpg'.*truncated.*Fix: "):
        dataset[1]
    frame.unlink()
    with pytest.raises(ImageFileError, match=r"video_0001/00002\.jpg'.*does not exist"):
        dataset[1]


def test_mmdet_inferencer_accepts_the_strict_loader(coco_root):
    from mmdet.apis import DetInferencer
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'sipmask',
                                   'sipmask_r18_fpn_gn-head_generated-coco.py'))
    cfg.model.backbone.init_cfg = None
    inferencer = DetInferencer(cfg, device='cpu', show_progress=False)
    result = inferencer(str(coco_root / 'images' / '000000.jpg'), return_datasamples=True)
    assert result['predictions'][0].pred_instances.masks.shape[-2:] == SIZE[::-1]


def test_image_bytes_problem_accepts_good_and_rejects_bad_files(coco_root):
    good = (coco_root / 'images' / '000000.jpg').read_bytes()
    assert image_bytes_problem(good, decode=True, expected_size=SIZE) is None
    assert 'truncated' in image_bytes_problem(good[:-200])
    assert 'empty' in image_bytes_problem(b'')
    assert 'not a decodable image' in image_bytes_problem(b'garbage', decode=True)
    assert '96x64' in image_bytes_problem(good, decode=True, expected_size=(64, 96))


def test_configs_follow_the_mmdet_video_conventions():
    for name in ('youtube_vis_2019.py', 'youtube_vis_2021.py', 'youtube_vis_2022.py', 'ovis.py',
                 'generated_youtube_vis.py'):
        cfg = Config.fromfile(osp.join(CONFIGS, name))
        test_pipeline = cfg.test_dataloader.dataset.pipeline
        assert test_pipeline[0].type == 'TransformBroadcaster'
        assert 'Resize' in [t.type for t in test_pipeline[0].transforms]
        assert test_pipeline[-1].type == 'PackTrackInputs'
        assert cfg.test_dataloader.sampler.type == 'TrackImgSampler'  # a frame per sample
        assert cfg.val_evaluator.type == 'YTVISMetric'
    cfg = Config.fromfile(osp.join(CONFIGS, 'youtube_vis_2021.py'))
    assert cfg.test_dataloader.dataset.dataset_version == '2021'
    assert cfg.test_dataloader.dataset.ann_file == 'annotations/youtube_vis_2021_valid.json'
    assert cfg.test_dataloader.dataset.data_prefix.img_path == 'valid/JPEGImages'


# ---------------------------------------------------------------- validation


FIRST_ANN = 'annotation id=1 (image id={image_id})'
# (mutation of a good COCO file, record named in the message, problem named in the message)
MALFORMED_COCO = {
    'missing top-level key': (lambda d: d.pop('annotations'), 'top level',
                              "missing key 'annotations'"),
    'missing record key': (lambda d: d['annotations'][0].pop('bbox'), 'annotation id=1',
                           "missing key(s) ['bbox']"),
    'rle size': (lambda d: d['annotations'][0]['segmentation'].update(size=[65, 96]), FIRST_ANN,
                 'RLE size [65, 96] (HxW) does not match the image size [64, 96]'),
    'unknown category': (lambda d: d['annotations'][0].update(category_id=99), FIRST_ANN,
                         "category_id 99 is not in 'categories'"),
    'short polygon': (lambda d: d['annotations'][0].update(segmentation=[[1, 2, 3, 4]]),
                      FIRST_ANN, 'a polygon has 4 coordinates'),
    'bbox length': (lambda d: d['annotations'][0].update(bbox=[1, 2, 3]), FIRST_ANN,
                    'is not 4 finite numbers'),
    'bbox negative': (lambda d: d['annotations'][0].update(bbox=[1, 2, -3, 4]), FIRST_ANN,
                      'negative width or height'),
    'bbox outside': (lambda d: d['annotations'][0].update(bbox=[200, 2, 3, 4]), FIRST_ANN,
                     'lies outside the 96x64 image'),
    'duplicate id': (lambda d: d['annotations'][1].update(id=1), 'annotation id=1',
                     'duplicate id'),
    'no annotations': (lambda d: d.update(annotations=[]), 'annotations', 'no annotations'),
    'image size': (lambda d: d['images'][0].update(height=0), 'image id=1',
                   'width/height must be positive integers'),
    'unknown image': (lambda d: d['annotations'][0].update(image_id=77), 'annotation id=1 '
                      '(image id=77)', "image_id 77 is not in 'images'"),
    'rle counts bad characters': (
        lambda d: d['annotations'][0]['segmentation'].update(counts='~~~ '), FIRST_ANN,
        'RLE counts is not a valid compressed COCO RLE string'),
    'rle counts wrong total': (
        lambda d: d['annotations'][0]['segmentation'].update(
            counts=encode_rle(np.zeros((64, 95)))['counts']), FIRST_ANN,
        'RLE counts decode to run lengths that do not add up to height*width=6144'),
}


@pytest.mark.parametrize('case', sorted(MALFORMED_COCO))
def test_malformed_coco_files_raise_with_file_record_and_fix(coco_root, tmp_path, case):
    data = _load(coco_root / COCO_ANN_FILE)
    mutate, record, problem = MALFORMED_COCO[case]
    record = record.format(image_id=data['annotations'][0]['image_id'])
    mutate(data)
    ann_file = _dump(data, tmp_path / 'broken.json')
    with pytest.raises(AnnotationFileError) as error:
        validate_coco_instance_file(ann_file)
    message = str(error.value)
    assert f"'{ann_file}'" in message and f'{record}: ' in message and problem in message
    assert f'{problem}' in message.split('Fix: ')[0] and len(message.split('Fix: ')[1]) > 10


def test_unreadable_json_raises_with_fix(tmp_path):
    ann_file = tmp_path / 'truncated.json'
    ann_file.write_text('{"images": [{"id": 1')
    with pytest.raises(AnnotationFileError, match=r'(?s)truncated\.json.*not valid JSON.*Fix: '):
        validate_annotation_file(str(ann_file))
    with pytest.raises(AnnotationFileError, match=r'(?s)missing\.json.*does not exist.*Fix: '):
        validate_annotation_file(str(tmp_path / 'missing.json'))


def test_missing_and_corrupt_images_are_reported(coco_root, tmp_path):
    root = tmp_path / 'coco'
    shutil.copytree(coco_root, root)
    os.remove(root / 'images' / '000002.jpg')
    (root / 'images' / '000004.jpg').write_bytes(b'\xff\xd8\xff broken')
    ann_file = str(root / COCO_ANN_FILE)
    with pytest.raises(AnnotationFileError) as error:
        validate_coco_instance_file(ann_file, str(root / 'images'))
    assert 'image id=3' in str(error.value) and 'does not exist' in str(error.value)
    assert 'image id=5' not in str(error.value)  # existence only by default
    with pytest.raises(AnnotationFileError, match=r'image id=5: .*000004\.jpg.*re-extract'):
        validate_coco_instance_file(ann_file, str(root / 'images'), decode_images=True)


def test_empty_annotations_are_allowed_for_test_splits(coco_root, tmp_path):
    data = _load(coco_root / COCO_ANN_FILE)
    data['annotations'] = []
    ann_file = _dump(data, tmp_path / 'test_split.json')
    assert validate_coco_instance_file(ann_file, allow_empty=True)['num_annotations'] == 0
    cfg = _dataset_cfg('generated_coco_instance.py', 'train', tmp_path, 'StrictCocoDataset',
                       ann_file, img='images/')
    with pytest.raises(AnnotationFileError, match='no annotations.*Fix: point `ann_file`'):
        DATASETS.build(cfg)


def test_strict_coco_dataset_rejects_classes_missing_from_the_file(coco_root):
    cfg = _dataset_cfg('coco_instance.py', 'train', coco_root, 'StrictCocoDataset',
                       COCO_ANN_FILE, img='images/')  # the 80 COCO classes
    with pytest.raises(AnnotationFileError, match=r"\['person', .*Fix: set `metainfo"):
        DATASETS.build(cfg)


def test_malformed_cocovid_files_raise(ytvis_root, tmp_path):
    data = _load(ytvis_root / COCOVID_ANN_FILE)
    data['annotations'][2]['instance_id'] = 0
    ann_file = _dump(data, tmp_path / 'zero_id.json')
    ann = data['annotations'][2]
    with pytest.raises(AnnotationFileError) as error:
        validate_cocovid_file(ann_file)
    assert f"annotation id={ann['id']} (image id={ann['image_id']})" in str(error.value)
    assert 'mmdet treats 0 as missing' in str(error.value) and 'ytvis2cocovid' in str(error.value)
    cfg = _dataset_cfg('generated_youtube_vis.py', 'train', ytvis_root,
                       'StrictYouTubeVISDataset', str(ytvis_root / YTVIS_ANN_FILE),
                       img_path='JPEGImages/')
    with pytest.raises(AnnotationFileError, match='official YouTube-VIS format.*ytvis2cocovid'):
        DATASETS.build(cfg)


def test_cocovid_video_without_name_and_image_without_frame_id(ytvis_root, tmp_path):
    data = _load(ytvis_root / COCOVID_ANN_FILE)
    del data['videos'][0]['name']
    ann_file = _dump(data, tmp_path / 'no_name.json')
    with pytest.raises(AnnotationFileError, match=r"video id=1: missing key\(s\) \['name'\]"):
        validate_cocovid_file(ann_file)
    data = _load(ytvis_root / COCOVID_ANN_FILE)
    del data['images'][0]['frame_id']
    ann_file = _dump(data, tmp_path / 'no_frame_id.json')
    with pytest.raises(AnnotationFileError) as error:
        validate_cocovid_file(ann_file)
    # one problem: the annotations of that image are not reported as pointing nowhere
    assert error.value.problems == [
        "image id=1: missing key(s) ['frame_id']. Fix: add ['frame_id'] to every image"]


def test_invalid_rle_counts_in_ytvis_files_are_named(ytvis_root, tmp_path):
    data = _load(ytvis_root / YTVIS_ANN_FILE)
    track = data['annotations'][1]
    frame = next(t for t, s in enumerate(track['segmentations']) if s is not None)
    track['segmentations'][frame]['counts'] = 'garbage!'
    ann_file = _dump(data, tmp_path / 'bad_rle.json')
    with pytest.raises(AnnotationFileError, match=rf'annotation id=2 \(video id=1\) frame '
                       rf'{frame}: RLE counts'):
        validate_ytvis_file(ann_file)


def test_compressed_rle_check_agrees_with_pycocotools():
    rng = np.random.default_rng(0)
    masks = [rng.random((13, 17)) < p for p in (0.0, 0.05, 0.5, 0.95, 1.0)]
    masks.append(np.pad(np.ones((5, 5), bool), ((4, 4), (6, 6))))
    from mmsgnet.datasets.validation import compressed_rle_totals
    counts = [encode_rle(m)['counts'] for m in masks]
    totals = compressed_rle_totals(counts + [c[:-1] for c in counts if len(c) > 2] + ['', '~'])
    assert totals[:len(masks)] == [13 * 17] * len(masks)
    assert all(t != 13 * 17 for t in totals[len(masks):])


def test_malformed_ytvis_files_raise(ytvis_root, tmp_path):
    data = _load(ytvis_root / YTVIS_ANN_FILE)
    track = data['annotations'][0]
    frame = next(t for t, s in enumerate(track['segmentations']) if s is not None)
    track['segmentations'][frame]['size'] = [10, 10]
    data['annotations'][1]['bboxes'].pop()
    ann_file = _dump(data, tmp_path / 'broken_ytvis.json')
    with pytest.raises(AnnotationFileError) as error:
        validate_ytvis_file(ann_file)
    message = str(error.value)
    assert f'annotation id=1 (video id=1) frame {frame}: RLE size [10, 10]' in message
    assert "annotation id=2 (video id=1): 'bboxes' has 7 entries" in message
    assert message.count('Fix: ') == 2 and ann_file in message


# ---------------------------------------------------------------- tools


def _run_tool(name, *args):
    """Run a tool as users do, ``python tools/dataset_converters/NAME ...`` from the repo root
    (each run pays the ~4 s import of the package, so there is one run per tool)."""
    return subprocess.run([sys.executable, osp.join('tools', 'dataset_converters', name),
                           *map(str, args)], cwd=REPO, capture_output=True, text=True,
                          timeout=300)


def _tool_main(name):
    """The ``main`` function of a tool, to call in-process."""
    spec = importlib.util.spec_from_file_location(
        name, osp.join(REPO, 'tools', 'dataset_converters', f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


def test_generate_tool_writes_videos_and_images(tmp_path):
    result = _run_tool('generate_dataset.py', 'ytvis', '--out-dir', tmp_path / 'ytvis',
                       '--num-videos', 2, '--num-frames', 3, '--size', 64, 48, '--seed', 2)
    assert result.returncode == 0, result.stderr
    assert 'Wrote 2 videos' in result.stdout
    assert len(_load(tmp_path / 'ytvis' / COCOVID_ANN_FILE)['images']) == 6
    assert cv2.imread(str(tmp_path / 'ytvis/JPEGImages/video_0001/00002.jpg')).shape == (48, 64, 3)
    _tool_main('generate_dataset')(['coco', '--out-dir', str(tmp_path / 'coco'), '--num-images',
                                    '2', '--size', '64', '48', '--mask-format', 'polygon'])
    data = _load(tmp_path / 'coco' / COCO_ANN_FILE)
    assert len(data['images']) == 2 and isinstance(data['annotations'][0]['segmentation'], list)


def test_ytvis2cocovid_tool_matches_the_library(ytvis_root, tmp_path):
    result = _run_tool('ytvis2cocovid.py', ytvis_root / YTVIS_ANN_FILE, tmp_path / 'out.json')
    assert result.returncode == 0, result.stderr
    assert '3 videos, 24 frames' in result.stdout
    assert (tmp_path / 'out.json').read_bytes() == (ytvis_root / COCOVID_ANN_FILE).read_bytes()
    with pytest.raises(SystemExit, match='does not exist'):
        _tool_main('ytvis2cocovid')([str(tmp_path / 'missing.json'), str(tmp_path / 'x.json')])


@pytest.mark.parametrize('args, message', [
    (['ytvis', '--num-videos', '0'], '--num-videos must be >= 1, got 0'),
    (['ytvis', '--num-frames', '0'], '--num-frames must be >= 1, got 0'),
    (['ytvis', '--max-objects', '0'], '--max-objects must be >= 1, got 0'),
    (['coco', '--max-objects', '0'], '--max-objects must be >= 1, got 0'),
    (['coco', '--num-images', '0'], '--num-images must be >= 1, got 0'),
])
def test_generate_tool_refuses_empty_datasets_and_writes_nothing(
        tmp_path, capsys, args, message):
    out_dir = tmp_path / 'out'
    with pytest.raises(SystemExit):
        _tool_main('generate_dataset')(args + ['--out-dir', str(out_dir)])
    assert message in capsys.readouterr().err
    assert not out_dir.exists()
    with pytest.raises(ValueError, match='must be >= 1'):
        generate_youtube_vis(str(out_dir), num_videos=0)
    with pytest.raises(ValueError, match='must be >= 1'):
        generate_coco_instance(str(out_dir), max_objects=0)
    assert not out_dir.exists()


def test_ytvis2cocovid_tool_refuses_cocovid_input_and_its_own_output(ytvis_root, tmp_path):
    cocovid = tmp_path / 'cocovid.json'
    shutil.copy(ytvis_root / COCOVID_ANN_FILE, cocovid)
    with pytest.raises(SystemExit, match=r'(?s)cocovid\.json.*is already CocoVID.*use it as '
                       r'it is'):
        _tool_main('ytvis2cocovid')([str(cocovid), str(tmp_path / 'out.json')])
    assert not (tmp_path / 'out.json').exists()
    official = tmp_path / 'official.json'
    shutil.copy(ytvis_root / YTVIS_ANN_FILE, official)
    before = official.read_bytes()
    for out in (official, tmp_path / '.' / 'official.json'):
        with pytest.raises(SystemExit, match='would overwrite the input.*another output path'):
            _tool_main('ytvis2cocovid')([str(official), str(out)])
    assert official.read_bytes() == before


def test_check_dataset_tool_reports_problems(ytvis_root, tmp_path, capsys):
    root = tmp_path / 'ytvis'
    shutil.copytree(ytvis_root, root)
    os.remove(root / 'JPEGImages' / 'video_0000' / '00001.jpg')
    result = _run_tool('check_dataset.py', root / COCOVID_ANN_FILE, '--img-dir',
                       root / 'JPEGImages')
    assert result.returncode == 1
    assert 'image id=2: ' in result.stderr and 'video_0000/00001.jpg' in result.stderr
    _tool_main('check_dataset')([str(ytvis_root / YTVIS_ANN_FILE), '--img-dir',
                                 str(ytvis_root / 'JPEGImages'), '--decode'])
    assert capsys.readouterr().out.startswith('OK: ')
