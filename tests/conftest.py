"""Suite-wide settings.

The README's test command runs the suite in 2 worker processes (pytest-xdist,
``-n 2 --maxschedchunk 1``): on small CPU tensors torch gains little from a second thread but
two processes double the throughput. Each worker then uses one torch thread, and the
longest tests (the learning tests, minutes each) come first, interleaved with short ones: xdist
hands each worker its first two tests at once, so the order long, short, long, short, ...
starts each worker on a different long test.
"""
import os

import torch

# (substring of the test id, minutes on one core): the longest first
LONG_TESTS = (('test_vis_learning.py::test_video_model_tracks_and_segments_a_held_out_video'
               '[sipmask-vis', 15), ('test_vis_learning.py', 6), ('test_sipmask_learning.py', 5),
              ('test_fassst_learning.py', 4), ('test_meinst_learning.py', 4))


def pytest_configure(config):
    if os.environ.get('PYTEST_XDIST_WORKER'):
        torch.set_num_threads(1)


def pytest_collection_modifyitems(session, config, items):
    def minutes(item):
        return max([m for key, m in LONG_TESTS if key in item.nodeid] or [0])

    long = sorted((i for i in items if minutes(i)), key=minutes, reverse=True)
    short = [i for i in items if not minutes(i)]
    order = []
    for k, item in enumerate(long):
        order += [item] + short[k:k + 1]
    items[:] = order + short[len(long):]
