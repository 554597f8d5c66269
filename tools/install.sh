#!/usr/bin/env bash
# Install the whole mmsgnet stack into the ACTIVE virtual environment (idempotent).
#
#   python3 -m venv .venv && source .venv/bin/activate && bash tools/install.sh
#
# Stack (see README "Stack"): torch 2.13.0, setuptools>=77.0.3,<82, mmcv 2.1.0 built from
# source WITH its compiled ops, mmengine 0.10.7, mmdet 3.3.0, pycocotools, pytest, and this
# repository in editable mode. On a machine with a CUDA build of torch and nvcc, mmcv is built
# with CUDA ops. A second run takes seconds: pip reuses its cache of the built mmcv wheel, and
# a working mmcv (ops included) is not rebuilt at all.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
say() { printf '\n[mmsgnet install] %s\n' "$*"; }
die() { printf '\n[mmsgnet install] ERROR: %s\n' "$*" >&2; exit 1; }

if [ -z "${VIRTUAL_ENV:-}" ] && [ -z "${CONDA_PREFIX:-}" ] && [ -z "${MMSGNET_ALLOW_SYSTEM_PIP:-}" ]; then
  die "no active virtual environment. Create and activate one first:
    python3 -m venv .venv && source .venv/bin/activate && bash tools/install.sh
(set MMSGNET_ALLOW_SYSTEM_PIP=1 to install into the current interpreter anyway)"
fi
PY=python
"$PY" -c 'import sys; assert sys.version_info >= (3, 8), sys.version' \
  || die "Python >= 3.8 is required (found $("$PY" --version 2>&1))"
PIP=("$PY" -m pip install --disable-pip-version-check)
TORCH_VERSION="${MMSGNET_TORCH_VERSION:-2.13.0}"

# a current pip (PEP 517 builds; one wheel-cache layout on every machine)
"${PIP[@]}" --upgrade pip >/dev/null

say "1/5 torch ${TORCH_VERSION}"
if ! "$PY" -c "import torch, sys; sys.exit(torch.__version__.split('+')[0] != '${TORCH_VERSION}')" 2>/dev/null; then
  "${PIP[@]}" "torch==${TORCH_VERSION}"
fi

say "2/5 build requirements (setuptools<82 keeps pkg_resources, needed by mmcv and mmengine)"
"${PIP[@]}" "setuptools>=77.0.3,<82" wheel ninja psutil numpy

cuda_build=0
if "$PY" -c 'import torch, sys; sys.exit(torch.version.cuda is None)' && command -v nvcc >/dev/null; then
  cuda_build=1
fi
mmcv_ok() {
  # mmcv 2.1.0 with working compiled ops (and CUDA ops when this is a CUDA build)
  "$PY" - "$cuda_build" <<'PYCODE' >/dev/null 2>&1
import sys
import mmcv
assert mmcv.__version__ == '2.1.0', mmcv.__version__
import torch
from mmcv.ops import DeformConv2d, nms
boxes = torch.tensor([[0., 0., 10., 10.], [1., 1., 10., 10.], [20., 20., 30., 30.]])
keep = nms(boxes, torch.tensor([0.9, 0.8, 0.7]), 0.5)[1]
assert keep.tolist() == [0, 2], keep
conv = DeformConv2d(4, 4, 3, padding=1)
out = conv(torch.rand(1, 4, 5, 5), torch.zeros(1, 18, 5, 5))
assert out.shape == (1, 4, 5, 5)
if sys.argv[1] == '1':
    from mmcv.ops import get_compiler_version, get_compiling_cuda_version
    assert get_compiling_cuda_version() not in ('', 'not available')
    keep = nms(boxes.cuda(), torch.tensor([0.9, 0.8, 0.7]).cuda(), 0.5)[1]
    assert keep.tolist() == [0, 2]
PYCODE
}

say "3/5 mmcv 2.1.0 from source with ops (about 10 minutes on 2 cores the first time)"
if mmcv_ok; then
  echo "mmcv 2.1.0 with working ops is already installed"
else
  if [ "$cuda_build" = 1 ]; then export FORCE_CUDA=1; else unset FORCE_CUDA; fi
  export MMCV_WITH_OPS=1 MAX_JOBS="${MAX_JOBS:-$(( $(nproc) > 1 ? $(nproc) : 1 ))}"
  # --no-build-isolation: in an isolated build env mmcv's setup.py cannot see torch and
  # silently builds WITHOUT ops (No module named 'mmcv._ext').
  "${PIP[@]}" --no-build-isolation --force-reinstall --no-deps mmcv==2.1.0
  # mmcv's runtime requirements (mmengine, addict, yapf, opencv-python, ...): `import mmcv`
  # needs them before its ops can be checked
  "${PIP[@]}" mmcv==2.1.0 mmengine==0.10.7
  if ! mmcv_ok; then
    # a cached wheel built without ops (or for the other device) -> rebuild from the sdist
    say "the installed mmcv has no working ops; rebuilding without pip's wheel cache"
    "${PIP[@]}" --no-build-isolation --force-reinstall --no-deps --no-cache-dir mmcv==2.1.0
  fi
fi

say "4/5 mmengine 0.10.7, mmdet 3.3.0, pycocotools, pytest (+ xdist), and mmsgnet (editable)"
"${PIP[@]}" "setuptools>=77.0.3,<82" "torch==${TORCH_VERSION}" mmengine==0.10.7 mmdet==3.3.0 \
  "pycocotools>=2.0.10" pytest pytest-xdist tqdm
"${PIP[@]}" --no-build-isolation --no-deps -e "$here"

say "5/5 verifying the installation"
if ! mmcv_ok; then
  "$PY" -c 'import mmcv.ops' || true
  die "mmcv's compiled ops (mmcv._ext) do not import or do not run.
This happens when mmcv was built without ops (build isolation, or a cached op-less wheel).
Fix: pip uninstall -y mmcv && pip cache remove mmcv && bash tools/install.sh"
fi
"$PY" - <<'PYCODE' || die "the stack imports failed (see the traceback above)"
import mmcv, mmdet, mmengine, torch
import mmsgnet  # registers the plugin
from mmdet.registry import MODELS
print(f'torch {torch.__version__} (cuda: {torch.version.cuda}), mmcv {mmcv.__version__}, '
      f'mmengine {mmengine.__version__}, mmdet {mmdet.__version__}, mmsgnet {mmsgnet.__version__}')
PYCODE
say "done"
