"""The base class of the errors a user causes and can fix (bad data, settings or files).

Their message names the cause and the fix, so the tools (``tools/train.py``, ``test.py``,
``test_tracking.py``) print only that message, last and once, instead of a traceback (see
:func:`mmsgnet.utils.tools.run_mmdet_tool`).
"""


class UserError(Exception):
    """Mixin base of the named errors of mmsgnet: a message that says what is wrong and how
    to fix it. Subclasses also derive from the builtin error they refine (``ValueError``,
    ``OSError``, ...), so existing ``except`` clauses keep working."""


class ConfigError(UserError, ValueError):
    """A config value that cannot work (raised when the component is built)."""
