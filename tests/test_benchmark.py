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
