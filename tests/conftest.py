"""Suite-wide settings.

The README's test command runs the suite in 2 worker processes (pytest-xdist,
``-n 2 --maxschedchunk 1``): on small CPU tensors torch gains little from a second thread but
two processes double the throughput. Each worker then uses one torch thread, and the longest
tests (the learning tests, minutes each) are collected first so that each worker starts with
one of them while the other tests fill in around them.
"""
import os

import torch

# (substring of the test id, minutes on one core): the longest first
LONG_TESTS = (('test_vis_learning.py::test_video_model_tracks_and_segments_a_held_out_video'
               '[sipmask-vis', 15), ('test_vis_learning.py', 6), ('test_sipmask_learning.py', 5))


def pytest_configure(config):
    if os.environ.get('PYTEST_XDIST_WORKER'):
        torch.set_num_threads(1)


def pytest_collection_modifyitems(session, config, items):
    def minutes(item):
        return max([m for key, m in LONG_TESTS if key in item.nodeid] or [0])

    items.sort(key=minutes, reverse=True)  # stable: the others keep their order
