#!/usr/bin/env bash
# Installs what Vodscope needs on a fresh Debian machine: system tools (ffmpeg, chromium), a venv, the pinned packages.
# Usage: scripts/setup.sh [runtime|dev|train]
#   train: only the training venv .venv-train (torch, ultralytics: requirements-train.txt), which the `train`
#   job and `manage.py train_model` run as a subprocess; the app's own .venv never imports torch.
set -euo pipefail
cd "$(dirname "$0")/.."
flavour="${1:-runtime}"

need_apt=()
command -v ffmpeg >/dev/null 2>&1 || need_apt+=(ffmpeg)
python3 -c "import venv, ensurepip" >/dev/null 2>&1 || need_apt+=(python3-venv)
if [ "$flavour" = dev ]; then
  command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
  # The production test pass needs both servers; scripts/ensure_services.sh starts them.
  command -v pg_ctlcluster >/dev/null 2>&1 || need_apt+=(postgresql)
  command -v redis-server >/dev/null 2>&1 || need_apt+=(redis-server)
  # An x86 CPU without VNNI, emulated, for tests/detection/pipeline/test_int8_kernels.py.
  if [ "$(uname -m)" = x86_64 ]; then command -v qemu-x86_64 >/dev/null 2>&1 || need_apt+=(qemu-user); fi
fi
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  echo "installing system packages: ${need_apt[*]}"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${need_apt[@]}"
fi

PYTHON="${PYTHON:-python3}"
if [ "$flavour" = train ]; then
  [ -x .venv-train/bin/python ] || "$PYTHON" -m venv .venv-train
  stamp=".venv-train/.installed-train"
  if [ ! -f "$stamp" ] || [ requirements-train.txt -nt "$stamp" ]; then
    .venv-train/bin/pip install -q --disable-pip-version-check -r requirements-train.txt
    .venv-train/bin/python -c "import torch, ultralytics, onnx, onnxruntime"
    touch "$stamp"
  fi
  exit 0
fi
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
stamp=".venv/.installed-$flavour"
req="requirements.txt"
[ "$flavour" = dev ] && req="requirements-dev.txt"
if [ ! -f "$stamp" ] || [ "$req" -nt "$stamp" ] || [ requirements.txt -nt "$stamp" ] || [ requirements-dev-nodeps.txt -nt "$stamp" ]; then
  .venv/bin/pip install -q --disable-pip-version-check -r "$req"
  [ "$flavour" = dev ] && .venv/bin/pip install -q --disable-pip-version-check --no-deps -r requirements-dev-nodeps.txt
  touch "$stamp"
fi
