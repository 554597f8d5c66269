"""Reference-frame sampling for SG-Net's movement training (Liu et al., CVPR 2021, Eq. 4).

Eq. 4 trains the movement ``D_t = o_t - o_{t-1}`` of frame t against its previous frame, so a
training pair is (key t, reference t - 1): the previous *annotated* frame, i.e. the previous
entry of the video's frame list (YouTube-VIS annotates every 5th frame of a clip and the
CocoVID files list only those). mmdet's ``UniformRefFrameSample(frame_range=1)`` draws t - 1
or t + 1 (always t + 1 for the first frame), which would also train the forward movement
``o_{t+1} - o_t`` at frame t, and with ``frame_range=[-1, 0]`` it fails on the first frame.
"""
import random
from typing import Dict, List, Optional

from mmdet.datasets.transforms import BaseFrameSample
from mmdet.registry import TRANSFORMS

FIRST_FRAME_MODES = ('no_movement', 'next_pair')


@TRANSFORMS.register_module()
class PreviousFrameSample(BaseFrameSample):
    """Sample the key frame t and, as the reference, its previous frame t - 1.

    The first frame of a video has no previous frame; ``first_frame`` decides:

    - ``'no_movement'`` (default, as Eq. 4, whose sum runs over the frames that have a
      previous frame): frame 0 stays a key frame for the detection and mask losses and is its
      own reference; :meth:`SGNet.movement_targets` gives no movement target for a zero frame
      gap, so the frame adds nothing to the movement loss.
    - ``'next_pair'``: the pair (1, 0) instead, i.e. key frame 1 with reference 0 (frame 0
      is then never a key frame; frame 1 is drawn twice as often).

    A single-frame video is always its own reference (no movement loss).

    Args:
        first_frame (str): ``'no_movement'`` or ``'next_pair'``. Default ``'no_movement'``.
        collect_video_keys (list[str]): Video-level keys copied into every frame, as in
            mmdet's frame samplers.
    """

    def __init__(self,
                 first_frame: str = 'no_movement',
                 collect_video_keys: List[str] = ['video_id', 'video_length']) -> None:
        if first_frame not in FIRST_FRAME_MODES:
            raise ValueError(f'PreviousFrameSample.first_frame must be one of '
                             f'{FIRST_FRAME_MODES}, got {first_frame!r}')
        self.first_frame = first_frame
        super().__init__(collect_video_keys=collect_video_keys)

    def sampling_frames(self, video_length: int, key_frame_id: int):
        """Frame indices ``[reference, key]`` (sorted) and the key-frame flags."""
        if not 0 <= key_frame_id < video_length:
            raise ValueError(f'key frame {key_frame_id} is outside the video '
                             f'(video_length={video_length})')
        if key_frame_id == 0 and video_length > 1 and self.first_frame == 'next_pair':
            key_frame_id = 1
        if key_frame_id == 0:  # no previous frame: the key frame is its own reference
            return [0, 0], [True, False]
        return [key_frame_id - 1, key_frame_id], [False, True]

    def transform(self, video_infos: dict) -> Optional[Dict[str, List]]:
        """Key frame ``video_infos['key_frame_id']`` (a random frame if absent) and its
        previous frame, as mmdet's ``UniformRefFrameSample`` returns them."""
        if 'key_frame_id' in video_infos:
            key_frame_id = video_infos['key_frame_id']
        else:
            key_frame_id = random.randrange(video_infos['video_length'])
        frame_ids, key_frame_flags = self.sampling_frames(video_infos['video_length'],
                                                          int(key_frame_id))
        results = self.prepare_data(video_infos, frame_ids)
        results['key_frame_flags'] = key_frame_flags
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(first_frame={self.first_frame!r}, '
                f'collect_video_keys={self.collect_video_keys})')
