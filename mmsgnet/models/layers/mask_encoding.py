"""MEInst's mask encoding (Zhang et al., CVPR 2020, Sec. 3.1, Eq. 1): whitened PCA of 28 x 28
box-local masks in logit space, as pure functions.

Notation (METHODS.md section 5): ``C`` (N, D) principal axes (rows unit vectors), ``mu`` (D)
the mean of the jittered logit masks, ``lambda`` (N) the explained variances, ``D = 28 x 28``.

- :func:`jitter_logits`: a binary mask ``u`` -> ``L = log(x / (1 - x))`` with ``x = 1 - r`` on
  foreground and ``r`` on background, ``r = max(0.05 U(0, 1), 0.01)`` per pixel (AdelaiDet).
- :func:`encode`: ``v = (L - mu) C^T / sqrt(lambda)`` (Eq. 1 left, whitened).
- :func:`decode`: ``sigmoid(v sqrt(lambda) C + mu)`` (Eq. 1 right; ``logits=True`` skips the
  sigmoid, for the implicit-encoding loss).
- :func:`load_components` / :func:`save_components`: the ``.npz`` files (ours and AdelaiDet's).
- :class:`PCAAccumulator`: the fit. The authors use sklearn's ``IncrementalPCA``; we accumulate
  the mean and the D x D covariance in one streaming pass (float64) and eigendecompose it: this
  is exact PCA of the same data (incremental PCA approximates it), with memory independent of
  the number of masks. ``explained_variance`` uses the ``n - 1`` denominator, as sklearn.
"""
import os.path as osp
from typing import Dict, Optional, Sequence, Union

import numpy as np
import torch
from torch import Tensor

from mmsgnet.utils.atomic import write_atomically

#: how to get a components file, quoted by every error about one
COMPONENTS_HELP = (
    'Fit one from a COCO-format annotation file with `python tools/dataset_converters/'
    'mask_components.py ANN_FILE --out OUT.npz --num-components N`, or download the authors\' '
    'COCO file coco_2017_train_class_agnosticTrue_whitenTrue_sigmoidTrue_60.npz (AdelaiDet, '
    'hosted on the HuggingFace repo ZjuCv/AdelaiDet); both formats are accepted.')

#: key names of our files and of AdelaiDet's (which have a leading class axis of length 1)
OUR_KEYS = ('components', 'mean', 'explained_variance')
ADELAIDET_KEYS = ('components_c', 'mean_c', 'explained_variance_c')


class ComponentsFileError(ValueError):
    """A mask-components ``.npz`` is missing, unreadable or malformed (the message says which
    key / shape and how to get a valid file)."""


def jitter_logits(masks: Tensor, generator: Optional[torch.Generator] = None,
                  low: float = 0.01, high: float = 0.05) -> Tensor:
    """Binary masks -> jittered logits (AdelaiDet's "sigmoid" preprocessing).

    Per pixel ``r = max(high * U(0, 1), low)``; foreground (``> 0.5``) becomes ``1 - r``,
    background ``r``; then the inverse sigmoid. Values lie in
    ``[log(low / (1 - low)), log(high / (1 - high))]`` (background) and the negated range
    (foreground): about +-[2.94, 4.60], always finite.

    Args:
        masks (Tensor): (..., D) or (..., h, w) masks in [0, 1] (binary or soft).
        generator (torch.Generator, optional): For reproducible jitter.

    Returns:
        Tensor: float logits of the same shape.
    """
    fg = masks > 0.5
    device = masks.device if generator is None else generator.device
    rand = torch.rand(masks.shape, generator=generator, device=device, dtype=torch.float)
    r = (rand.to(masks.device) * high).clamp(min=low)
    x = torch.where(fg, 1 - r, r)
    return torch.log(x / (1 - x))


def encode(logits: Tensor, components: Tensor, mean: Tensor,
           explained_variance: Tensor) -> Tensor:
    """``v = (L - mu) C^T / sqrt(lambda)`` (MEInst Eq. 1, whitened).

    Args:
        logits (Tensor): (M, D) logit masks.
        components (Tensor): (N, D). mean (Tensor): (D). explained_variance (Tensor): (N).

    Returns:
        Tensor: (M, N) coefficients, unit variance per component over the fitting set.
    """
    return (logits - mean) @ components.t() / explained_variance.sqrt()


def decode(coeffs: Tensor, components: Tensor, mean: Tensor, explained_variance: Tensor,
           logits: bool = False) -> Tensor:
    """``sigmoid(v sqrt(lambda) C + mu)`` (MEInst Eq. 1, right).

    Args:
        coeffs (Tensor): (M, N) coefficients.
        logits (bool): Return the logits ``v sqrt(lambda) C + mu`` (no sigmoid).

    Returns:
        Tensor: (M, D) mask probabilities (or logits).
    """
    out = (coeffs * explained_variance.sqrt()) @ components + mean
    return out if logits else out.sigmoid()


def mask_iou(pred: Tensor, target: Tensor) -> Tensor:
    """Per-mask foreground IoU of (M, D) boolean masks (an empty union counts as 1)."""
    inter = (pred & target).sum(-1).float()
    union = (pred | target).sum(-1).float()
    return torch.where(union > 0, inter / union.clamp(min=1), torch.ones_like(inter))


def two_class_miou(pred: Tensor, target: Tensor) -> float:
    """AdelaiDet's ``mask_evaluation.py`` metric: IoU of foreground and of background, each
    accumulated over all masks, averaged."""
    ious = []
    for p, t in ((pred, target), (~pred, ~target)):
        union = (p | t).sum().item()
        ious.append((p & t).sum().item() / union if union else 1.0)
    return float(np.mean(ious))


# ------------------------------------------------------------------------ files
def _components_error(path: str, problem: str) -> ComponentsFileError:
    return ComponentsFileError(f'mask components file {path!r}: {problem}. {COMPONENTS_HELP}')


def load_components(path: str, num_components: Optional[int] = None) -> Dict[str, np.ndarray]:
    """Read a components ``.npz``: ours (``components`` (N, D), ``mean`` (D),
    ``explained_variance`` (N)) or AdelaiDet's (``components_c`` (1, N, D), ``mean_c``
    (1, D), ``explained_variance_c`` (1, N); the class axis is dropped).

    Args:
        path (str): The file.
        num_components (int, optional): Keep the first N components (the file may hold more:
            PCA components are ordered by variance, so the first N are the N-component fit).

    Returns:
        dict: float32 arrays ``components``, ``mean``, ``explained_variance``.

    Raises:
        ComponentsFileError: missing / unreadable file, missing key, wrong shape, fewer
            components than asked, non-positive or non-finite values.
    """
    if not osp.isfile(path):
        raise _components_error(path, 'does not exist')
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: np.asarray(data[k]) for k in data.files}
    except Exception as err:  # zip / npy errors: truncated or not an npz
        raise _components_error(path, f'cannot be read as .npz ({err}); the file is damaged '
                                'or not a NumPy .npz archive') from err
    if all(k in arrays for k in OUR_KEYS):
        comps, mean, var = (arrays[k] for k in OUR_KEYS)
        expected = {'components': 2, 'mean': 1, 'explained_variance': 1}
    elif all(k in arrays for k in ADELAIDET_KEYS):
        comps, mean, var = (arrays[k] for k in ADELAIDET_KEYS)
        for key, value in zip(ADELAIDET_KEYS, (comps, mean, var)):
            if value.ndim < 1 or value.shape[0] != 1:
                raise _components_error(
                    path, f'AdelaiDet key {key!r} must have a leading class axis of length 1 '
                    f'(class-agnostic), got shape {value.shape}')
        comps, mean, var = comps[0], mean[0], var[0]
        expected = {'components_c': 2, 'mean_c': 1, 'explained_variance_c': 1}
    else:
        raise _components_error(
            path, f'needs the keys {OUR_KEYS} (mmsgnet) or {ADELAIDET_KEYS} (AdelaiDet), '
            f'found {sorted(arrays)}')
    for (key, ndim), value in zip(expected.items(), (comps, mean, var)):
        if value.ndim != ndim:
            raise _components_error(path, f'key {key!r} has shape {value.shape}, expected '
                                    f'{ndim} dimension(s) (after the class axis)')
    n, dim = comps.shape
    if mean.shape != (dim, ) or var.shape != (n, ):
        raise _components_error(
            path, f'inconsistent shapes: components {comps.shape}, mean {mean.shape} (expected '
            f'({dim},)), explained_variance {var.shape} (expected ({n},))')
    if num_components is not None:
        if num_components > n:
            raise _components_error(path, f'holds {n} components but {num_components} are '
                                    'asked for; fit a file with at least that many')
        comps, var = comps[:num_components], var[:num_components]
    if not (np.isfinite(comps).all() and np.isfinite(mean).all() and np.isfinite(var).all()):
        raise _components_error(path, 'contains NaN or inf values')
    if (var <= 0).any():
        raise _components_error(path, 'explained_variance must be > 0 (whitening divides by '
                                'its square root)')
    return dict(components=comps.astype(np.float32), mean=mean.astype(np.float32),
                explained_variance=var.astype(np.float32))


def save_components(path: str, components: np.ndarray, mean: np.ndarray,
                    explained_variance: np.ndarray, **extra) -> str:
    """Write our ``.npz`` atomically (temp file in the same folder, then rename)."""
    arrays = dict(components=np.asarray(components, np.float32),
                  mean=np.asarray(mean, np.float32),
                  explained_variance=np.asarray(explained_variance, np.float32),
                  **{k: np.asarray(v) for k, v in extra.items()})
    return write_atomically(path, lambda f: np.savez(f, **arrays))


# -------------------------------------------------------------------------- fit
class PCAAccumulator:
    """Exact PCA of a stream of D-vectors: one pass accumulates ``sum x`` and ``sum x x^T``
    (float64), :meth:`fit` eigendecomposes the covariance.

    Args:
        dim (int): D (784 for 28 x 28 masks).
    """

    def __init__(self, dim: int) -> None:
        self.dim = dim
        self.count = 0
        self.total = np.zeros(dim, np.float64)
        self.outer = np.zeros((dim, dim), np.float64)

    def update(self, rows: Union[np.ndarray, Tensor]) -> None:
        rows = np.asarray(rows.detach().cpu() if isinstance(rows, Tensor) else rows, np.float64)
        rows = rows.reshape(-1, self.dim)
        self.count += rows.shape[0]
        self.total += rows.sum(0)
        self.outer += rows.T @ rows

    def fit(self, num_components: int) -> Dict[str, np.ndarray]:
        """Top ``num_components`` axes (rows, sign: largest entry positive), the mean and the
        explained variances (eigenvalues of the ``n - 1`` covariance), and the explained
        variance ratios."""
        if self.count < 2:
            raise ValueError(f'PCA needs at least 2 masks, got {self.count}')
        mean = self.total / self.count
        cov = (self.outer - self.count * np.outer(mean, mean)) / (self.count - 1)
        evals, evecs = np.linalg.eigh((cov + cov.T) / 2)
        order = np.argsort(evals)[::-1][:num_components]
        comps = evecs[:, order].T
        signs = np.sign(comps[np.arange(len(comps)), np.abs(comps).argmax(1)])
        comps = comps * signs[:, None]
        var = np.clip(evals[order], 1e-12, None)
        ratio = var / max(float(np.clip(evals, 0, None).sum()), 1e-12)
        return dict(components=comps, mean=mean, explained_variance=var,
                    explained_variance_ratio=ratio)


def fit_components(logit_masks: Sequence[Tensor], num_components: int) -> Dict[str, np.ndarray]:
    """PCA of already-jittered logit masks (batches of (M, D)); see :class:`PCAAccumulator`."""
    acc = None
    for batch in logit_masks:
        batch = batch.reshape(batch.shape[0], -1)
        acc = acc or PCAAccumulator(batch.shape[1])
        acc.update(batch)
    if acc is None:
        raise ValueError('no masks to fit')
    return acc.fit(num_components)
