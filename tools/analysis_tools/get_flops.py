"""mmdet's `tools/analysis_tools/get_flops.py` with the mmsgnet plugin registered.

Same arguments as mmdet's script; run `python tools/analysis_tools/get_flops.py --help`. Image
configs run unchanged. On a video config the model counts the dense per-frame network
(``OneStageVIS._forward``: backbone, neck, bbox head, mask-head basis; the validation samples
are single frames). Two wrapper fixes: mmdet's script calls ``model(inputs, data_samples)`` and
relies on the default ``mode='tensor'`` of image detectors, while ``BaseMOTModel`` defaults to
``'predict'`` (post-processing and tracking, which torch's tracer cannot count): video models
default to ``'tensor'`` here. And mmdet's script reads ``ori_shape`` / ``pad_shape`` from the
first data sample, which for a video model is a ``TrackDataSample`` without shapes of its own:
the wrapper gives it its first frame's."""
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
from mmsgnet.utils.tools import run_mmdet_tool  # noqa: E402


def _frame_shapes_on_video_samples():
    """``TrackDataSample.ori_shape`` (etc.) = its first frame's (AttributeError if absent)."""
    from mmdet.structures import TrackDataSample
    for key in ('ori_shape', 'pad_shape', 'batch_input_shape'):
        if not hasattr(TrackDataSample, key):
            setattr(TrackDataSample, key, property(lambda self, k=key: getattr(self[0], k)))


def _tensor_mode_for_video_models():
    """``BaseMOTModel.forward`` defaulting to ``mode='tensor'``, as ``BaseDetector`` does."""
    from mmdet.models.mot import BaseMOTModel
    forward = BaseMOTModel.forward

    def forward_tensor(self, inputs, data_samples=None, mode='tensor', **kwargs):
        return forward(self, inputs, data_samples, mode=mode, **kwargs)

    BaseMOTModel.forward = forward_tensor


def main():
    import mmsgnet  # noqa: F401  (registers the plugin)
    _frame_shapes_on_video_samples()
    _tensor_mode_for_video_models()
    run_mmdet_tool('analysis_tools/get_flops.py')


if __name__ == '__main__':
    main()
