"""mmdet's `tools/analysis_tools/confusion_matrix.py` with the mmsgnet plugin registered.

Same arguments as mmdet's script; run `python tools/analysis_tools/confusion_matrix.py --help`.
"""
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
from mmsgnet.utils.tools import run_mmdet_tool  # noqa: E402

if __name__ == '__main__':
    run_mmdet_tool('analysis_tools/confusion_matrix.py')
