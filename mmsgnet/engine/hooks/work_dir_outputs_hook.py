"""Put the files that metrics write into the run's work folder (``--work-dir``)."""
from mmengine.hooks import Hook

from mmdet.registry import HOOKS

#: Placeholder in a metric's ``outfile_prefix`` for the run's work folder.
WORK_DIR = '{work_dir}'


@HOOKS.register_module()
class WorkDirOutputsHook(Hook):
    """Before validation and testing, replace ``{work_dir}`` in the ``outfile_prefix`` of the
    evaluators' metrics (e.g. ``YTVISMetric(outfile_prefix='{work_dir}/val_results')``) by
    the run's work folder, so that validation during training and ``tools/test*.py`` write
    their results next to the run's logs and checkpoints instead of a fixed path. Added to
    every config by ``configs/_base_/default_runtime.py`` (``custom_hooks``)."""

    priority = 'VERY_HIGH'

    def _resolve(self, runner, split: str) -> None:
        evaluator = getattr(runner, f'{split}_evaluator', None)
        for metric in getattr(evaluator, 'metrics', []):
            prefix = getattr(metric, 'outfile_prefix', None)
            if isinstance(prefix, str) and WORK_DIR in prefix:
                metric.outfile_prefix = prefix.replace(WORK_DIR, runner.work_dir)

    def before_val(self, runner) -> None:
        self._resolve(runner, 'val')

    def before_test(self, runner) -> None:
        self._resolve(runner, 'test')
