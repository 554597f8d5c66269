"""mmdet's `tools/test.py` with the mmsgnet plugin registered.

Same arguments as mmdet's script; run `python tools/test.py --help`.
"""
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from mmsgnet.utils.tools import run_mmdet_tool  # noqa: E402


def refuse_mask_tta(argv) -> None:
    """``--tta`` on an instance segmentation model: mmdet 3.3's ``DetTTAModel`` merges the
    boxes of the augmented passes only and asserts that no masks are present, so the run
    would die at the first image; refuse it up front, saying so."""
    if '--tta' not in argv or len(argv) < 2:
        return
    from mmengine.config import Config
    model = Config.fromfile(argv[1]).get('model', {})
    if 'mask_head' in model or 'detector' in model:
        sys.exit(f"error: --tta: {model.get('type')} predicts masks, and mmdet 3.3's "
                 'DetTTAModel merges boxes only (it refuses instance masks); run without --tta')


if __name__ == '__main__':
    refuse_mask_tta(sys.argv)
    run_mmdet_tool('test.py')
