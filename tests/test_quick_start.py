"""The README's quick start (tools/quick_start.sh) end to end, shortened to 2 training
iterations: data generated, a checkpoint trained, the AP table printed, the demo rendered."""
import json
import os
import os.path as osp
import subprocess

import cv2

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def test_quick_start_runs_every_step(tmp_path):
    env = dict(os.environ, DATA=str(tmp_path / 'data'), WORK_DIR=str(tmp_path / 'work'),
               MAX_ITERS='2')
    proc = subprocess.run(['bash', osp.join(ROOT, 'tools', 'quick_start.sh')], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=900)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-4000:]
    for step in ('1/4', '2/4', '3/4', '4/4', 'done'):
        assert f'==== {step}' in log
    assert 'Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ]' in log
    work = tmp_path / 'work'
    assert (work / 'iter_2.pth').is_file()
    assert (work / 'val_results.submission_file.zip').is_file()
    demo = cv2.VideoCapture(str(work / 'demo.mp4'))
    assert int(demo.get(cv2.CAP_PROP_FRAME_COUNT)) == 10
    demo_json = json.loads((work / 'demo.json').read_text())
    assert all(len(r['segmentations']) == 10 for r in demo_json['results'])
