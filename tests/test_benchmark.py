"""tools/benchmark.py on tiny configs: figures for both configs of a run, pinned detection
counts honoured, ratios and the JSON report."""
import json
import os.path as osp
import sys

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, osp.join(ROOT, 'tools'))
import benchmark  # noqa: E402

SGNET = osp.join(ROOT, 'configs', 'sgnet', 'sgnet_r18_fpn_generated-ytvis.py')
SIPMASK_VIS = osp.join(ROOT, 'configs', 'sipmask_vis', 'sipmask-vis_r18_fpn_generated-ytvis.py')
SIPMASK = osp.join(ROOT, 'configs', 'sipmask', 'sipmask_r18_fpn_gn-head_generated-coco.py')


def test_benchmark_two_video_configs_with_pinned_detections(tmp_path, capsys):
    out = tmp_path / 'bench.json'
    report = benchmark.main([
        SGNET, '--compare', SIPMASK_VIS, '--device', 'cpu', '--num-images', '2',
        '--num-warmup', '1', '--num-frames', '3', '--size', '160', '128',
        '--num-dets', '1', '5', '--json', str(out)])
    results = report['results']
    assert [(osp.basename(r['config']), r['pinned_detections']) for r in results] == [
        (osp.basename(SGNET), 1), (osp.basename(SIPMASK_VIS), 1),
        (osp.basename(SGNET), 5), (osp.basename(SIPMASK_VIS), 5)]
    for r in results:
        assert r['unit'] == 'frame' and r['iterations'] == 2
        assert r['mean_detections'] == r['pinned_detections']  # every frame has exactly N
        assert 0 < r['median_ms'] and r['fps'] > 0 and r['peak_memory_mib'] > 0
    assert [round(x['ratio'], 6) for x in report['ratios']] == [
        round(results[0]['median_ms'] / results[1]['median_ms'], 6),
        round(results[2]['median_ms'] / results[3]['median_ms'], 6)]
    assert json.loads(out.read_text()) == json.loads(json.dumps(report))
    printed = capsys.readouterr().out
    assert 'ratio (first / second, median time) at 5 detections' in printed


def test_benchmark_image_config_per_image():
    report = benchmark.main([SIPMASK, '--device', 'cpu', '--num-images', '1', '--num-warmup',
                             '0', '--size', '160', '128', '--num-dets', '3'])
    (r, ) = report['results']
    assert r['unit'] == 'image' and r['mean_detections'] == 3


def test_benchmark_profile_times_each_component(tmp_path, capsys):
    """--profile: exclusive per-frame times of the data preprocessor, backbone, neck, heads,
    their post-processing and the tracker, adding up to the total, in the table and JSON."""
    out = tmp_path / 'profile.json'
    report = benchmark.main([SGNET, '--device', 'cpu', '--num-images', '2', '--num-warmup', '0',
                             '--num-frames', '2', '--size', '160', '128', '--num-dets', '3',
                             '--profile', '--json', str(out)])
    (r, ) = report['results']
    prof = r['profile']
    for name in ('data_preprocessor', 'detector.backbone', 'detector.neck', 'detector.bbox_head',
                 'detector.bbox_head.predict_by_feat', 'detector.mask_head',
                 'detector.mask_head.predict_by_feat', 'detector.bbox_head.predict',
                 'tracker.track', 'other', 'total'):
        assert name in prof, name
    assert 'loss_track' not in prof  # never runs in inference
    parts = sum(v for k, v in prof.items() if k != 'total')
    assert abs(parts - prof['total']) < 1e-6 * max(1.0, prof['total'])
    for k in ('detector.backbone', 'detector.neck', 'detector.bbox_head', 'tracker.track'):
        assert prof[k] > 0, k
    assert json.loads(out.read_text())['results'][0]['profile'] == prof
    printed = capsys.readouterr().out
    assert 'profile of sgnet_r18_fpn_generated-ytvis.py, 3 detections' in printed
    assert 'detector.backbone' in printed
