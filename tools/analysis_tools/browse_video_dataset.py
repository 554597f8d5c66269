"""mmdet's `tools/analysis_tools/mot/browse_dataset.py` (video datasets: every frame of every
training sample with its GT tracks) with the mmsgnet plugin registered.

Same arguments as mmdet's script, plus ``--not-show``. Two fixes: ``TrackLocalVisualizer`` draws
the GT track ids from ``instances_id`` while ``PackTrackInputs`` names them ``instances_ids``
(mmdet 3.3 fails with an AttributeError on the first frame): the ids are passed under both names
(and GT ``BitmapMasks`` as the arrays it draws); its track colours come from
``seaborn.color_palette()``, and seaborn is not installed with mmdet: without it the colours
come from matplotlib's default colour cycle. And ``--not-show``: mmdet's script always shows
each frame in a window (its ``--show`` flag defaults to True and cannot be turned off), which
fails on a machine without a display; with ``--not-show`` the frames are only written to
``--output-dir``. Example::

    python tools/analysis_tools/browse_video_dataset.py \
        configs/sgnet/sgnet_r18_fpn_generated-ytvis.py --output-dir work_dirs/browse --not-show
"""
import os.path as osp
import sys
import types

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
from mmsgnet.utils.tools import run_mmdet_tool  # noqa: E402


def _draw_gt_track_ids():
    """Let ``TrackLocalVisualizer`` find the GT ids that ``PackTrackInputs`` packs."""
    from mmdet.visualization import TrackLocalVisualizer
    draw = TrackLocalVisualizer._draw_instances

    def draw_instances(self, image, instances):
        if 'instances_id' not in instances and 'instances_ids' in instances:
            instances = instances.clone()
            instances.instances_id = instances.instances_ids
            if hasattr(instances.get('masks'), 'to_ndarray'):  # GT BitmapMasks
                instances.masks = instances.masks.to_ndarray().astype(bool)
        return draw(self, image, instances)

    TrackLocalVisualizer._draw_instances = draw_instances


def _palette_without_seaborn():
    """mmdet's ``random_color`` with matplotlib's colour cycle when seaborn is missing."""
    from mmdet.visualization import local_visualizer
    if local_visualizer.sns is not None:
        return
    import matplotlib
    from matplotlib.colors import to_rgb
    colors = [to_rgb(c) for c in matplotlib.rcParams['axes.prop_cycle'].by_key()['color']]
    local_visualizer.sns = types.SimpleNamespace(color_palette=lambda: list(colors))


def main():
    import mmsgnet  # noqa: F401  (registers the plugin)
    _draw_gt_track_ids()
    _palette_without_seaborn()
    if '--not-show' in sys.argv:
        sys.argv.remove('--not-show')
        from mmengine.visualization import Visualizer
        Visualizer.show = lambda self, *args, **kwargs: None
    run_mmdet_tool('analysis_tools/mot/browse_dataset.py')


if __name__ == '__main__':
    main()
