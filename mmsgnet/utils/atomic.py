"""One atomic file writer for every output of the project (JSON, checkpoints, ``.npz``,
plots): the file is either complete or as it was."""
import os
import os.path as osp
import tempfile
from typing import Callable


def write_atomically(path: str, write: Callable, mode: str = 'wb',
                     suffix: str = '.tmp') -> str:
    """Call ``write(f)`` on a temporary file next to ``path``, then rename it to ``path``.

    ``os.replace`` is atomic on one file system; the temporary file is removed on any error,
    KeyboardInterrupt included; the folder is created if needed; the file gets the usual
    mode (``mkstemp`` creates 0600).

    Args:
        path (str): Destination file.
        write (callable): Writes the content to the open file object it is given.
        mode (str): 'wb' (default) or 'w' (text, UTF-8).
        suffix (str): Suffix of the temporary name (e.g. one a writer dispatches on).

    Returns:
        str: ``path``.
    """
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    handle, tmp_path = tempfile.mkstemp(prefix=f'.{osp.basename(path)}.', suffix=suffix,
                                        dir=folder)
    try:
        encoding = None if 'b' in mode else 'utf-8'
        with os.fdopen(handle, mode, encoding=encoding) as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp_path, 0o666 & ~umask)
        os.replace(tmp_path, path)
    except BaseException:
        if osp.exists(tmp_path):
            os.remove(tmp_path)
        raise
    return path
