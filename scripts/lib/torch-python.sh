# Sourced by the trainer's shell scripts: sets PYTHON to an interpreter that imports torch.
# $PYTHON if set; else the first of python3 on PATH and /usr/bin/python3 that imports torch. Here
# Debian's torch is /usr/bin/python3's (the pyenv python3 first on PATH has none); on the lent GPU
# machine the plain python3 holds PyTorch with CUDA and /usr/bin/python3 may not.
if [ -z "${PYTHON:-}" ]; then
  for candidate in python3 /usr/bin/python3; do
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import torch' >/dev/null 2>&1; then
      PYTHON="$candidate"
      break
    fi
  done
fi
if [ -z "${PYTHON:-}" ]; then
  echo "no python3 here imports torch: install Debian's python3-torch (bash scripts/install-system-deps.sh) or set PYTHON" >&2
  exit 2
fi
