"""tools/benchmark.py on tiny configs: figures for both configs of a run, pinned detection
counts honoured, ratios and the JSON report."""
import json
import os.path as osp
import sys

import pytest

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, osp.join(ROOT, 'tools'))
import benchmark  # noqa: E402

SGNET = osp.join(ROOT, 'configs', 'sgnet', 'sgnet_r18_fpn_generated-ytvis.py')
SIPMASK_VIS = osp.join(ROOT, 'configs', 'sipmask_vis', 'sipmask-vis_r18_fpn_generated-ytvis.py')
SIPMASK = osp.join(ROOT, 'configs', 'sipmask', 'sipmask_r18_fpn_gn-head_generated-coco.py')
FASSST = osp.join(ROOT, 'configs', 'fassst', 'fassst_mobilenetv2-0.5x_generated-coco.py')


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


def test_benchmark_three_configs_in_one_run(capsys):
    """--compare takes several configs: each is timed in the same run at every pinned count,
    and the ratio of the first config to each of them is reported."""
    report = benchmark.main([SIPMASK, '--compare', FASSST, SGNET, '--device', 'cpu',
                             '--num-images', '1', '--num-warmup', '0', '--num-frames', '1',
                             '--size', '160', '128', '--num-dets', '2', '3'])
    results = report['results']
    assert [(osp.basename(r['config']), r['pinned_detections']) for r in results] == [
        (osp.basename(c), n) for n in (2, 3) for c in (SIPMASK, FASSST, SGNET)]
    assert [(osp.basename(x['config']), x['pinned_detections']) for x in report['ratios']] == [
        (osp.basename(c), n) for n in (2, 3) for c in (FASSST, SGNET)]
    for k, x in enumerate(report['ratios']):
        first, other = results[3 * (k // 2)], results[3 * (k // 2) + 1 + k % 2]
        assert x['ratio'] == pytest.approx(first['median_ms'] / other['median_ms'])
    printed = capsys.readouterr().out
    assert f'ratio (first / {osp.basename(FASSST)}, median time) at 3 detections' in printed


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


def test_num_dets_above_what_the_model_can_give_is_said(tmp_path, capsys):
    """#12 item 17: a pinned count the model cannot reach is reported, not silently lower."""
    out = tmp_path / 'bench.json'
    report = benchmark.main([SGNET, '--device', 'cpu', '--num-images', '1', '--num-warmup', '0',
                             '--num-frames', '1', '--size', '160', '128', '--num-dets', '5000',
                             '--json', str(out)])
    (r, ) = report['results']
    assert 0 < r['mean_detections'] < 5000
    assert 'gave only' in r['note'] and '--num-dets 5000' in r['note']
    assert 'warning: --num-dets 5000' in capsys.readouterr().err
    assert json.loads(out.read_text())['results'][0]['note'] == r['note']


@pytest.mark.parametrize('argv, message', [
    (['--num-dets', '10', '-5'], '--num-dets must be >= 1'),
    (['--num-dets', '0'], '--num-dets must be >= 1'),
    (['--num-frames', '0'], '--num-frames must be >= 1'),
])
def test_counts_that_cannot_be_measured_are_refused(argv, message, capsys):
    """#12 item 17: negative/zero detection counts and zero frames get a named error."""
    with pytest.raises(SystemExit) as info:
        benchmark.main([SGNET, '--device', 'cpu', *argv])
    assert info.value.code == 2
    assert message in capsys.readouterr().err


def test_bad_image_is_named(tmp_path):
    """#12 item 17: an --image OpenCV cannot decode is named, not a pipeline traceback."""
    bad = tmp_path / 'bad.jpg'
    bad.write_bytes(b'not an image at all')
    with pytest.raises(SystemExit) as info:
        benchmark.main([SIPMASK, '--device', 'cpu', '--num-images', '1', '--image', str(bad)])
    assert 'bad.jpg cannot be decoded' in str(info.value.code)
    with pytest.raises(SystemExit) as info:
        benchmark.main([SIPMASK, '--device', 'cpu', '--image', str(tmp_path / 'none.jpg')])
    assert 'none.jpg does not exist' in str(info.value.code)


def test_plot_has_one_curve_per_config(tmp_path):
    """--plot: time per frame against detections, one line per config of the run, with the
    figures of the report as its points."""
    plot = tmp_path / 'speed.png'
    report = benchmark.main([
        SGNET, '--compare', SIPMASK_VIS, '--device', 'cpu', '--num-images', '1',
        '--num-warmup', '0', '--num-frames', '1', '--size', '160', '128', '--num-dets', '1',
        '4', '--plot', str(plot)])
    assert plot.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    (axes, ) = benchmark.plot_figure(report).axes
    lines = {line.get_label(): line for line in axes.get_lines()}
    assert sorted(lines) == sorted(
        osp.splitext(osp.basename(c))[0] for c in (SGNET, SIPMASK_VIS))
    for config in (SGNET, SIPMASK_VIS):
        rows = [r for r in report['results'] if r['config'] == config]
        line = lines[osp.splitext(osp.basename(config))[0]]
        assert list(line.get_xdata()) == [r['mean_detections'] for r in rows] == [1, 4]
        assert list(line.get_ydata()) == [r['median_ms'] for r in rows]
    assert 'per frame' in axes.get_xlabel() and 'ms' in axes.get_ylabel()


def test_plot_to_an_unknown_format_is_refused_before_timing(capsys):
    with pytest.raises(SystemExit) as info:
        benchmark.main([SGNET, '--plot', 'speed.xyz'])
    assert info.value.code == 2 and '--plot speed.xyz' in capsys.readouterr().err
