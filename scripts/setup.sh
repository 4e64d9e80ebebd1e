#!/usr/bin/env bash
# Install everything hwgen needs, idempotently: system packages with apt-get, Python
# packages into .venv. Re-running it when everything is present takes about a second.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
venv="$here/.venv"
stamp="$venv/.hwgen-setup-v1"

log() { echo "setup: $*" >&2; }

need_apt=()
command -v iverilog >/dev/null 2>&1 || need_apt+=(iverilog)
command -v sta >/dev/null 2>&1 || need_apt+=(opensta)
command -v qflow >/dev/null 2>&1 || need_apt+=(qflow)   # graywolf, qrouter, magic: hwgen asic --pnr
for pdk in osu018 osu035 osu050; do
  [ -d "/usr/share/qflow/tech/$pdk" ] || need_apt+=("qflow-tech-$pdk")
done
command -v make >/dev/null 2>&1 || need_apt+=(make)
command -v g++ >/dev/null 2>&1 || need_apt+=(g++)
python3 -c 'import venv, ensurepip' 2>/dev/null || need_apt+=(python3-venv)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ] && ! command -v sudo >/dev/null 2>&1; then
    log "missing system packages: ${need_apt[*]}; install them with: apt-get install -y ${need_apt[*]}"
    exit 2
  fi
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  log "apt-get install ${need_apt[*]}"
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >&2
fi

if [ ! -f "$stamp" ] || [ "$here/pyproject.toml" -nt "$stamp" ] || [ "$0" -nt "$stamp" ]; then
  [ -x "$venv/bin/python" ] || { log "creating $venv"; python3 -m venv "$venv"; }
  log "installing Python packages into .venv (first run takes a few minutes)"
  "$venv/bin/python" -m pip install -q --upgrade pip >&2
  # torch is pinned: an unpinned torch pulls a multi-GB CUDA build.
  "$venv/bin/python" -m pip install -q torch==2.13.0 >&2
  "$venv/bin/python" -m pip install -q -e "$here[dev]" >&2
  "$venv/bin/python" "$here/scripts/fix_verilator.py" >&2
  touch "$stamp"
fi
