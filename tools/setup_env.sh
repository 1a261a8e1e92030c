#!/usr/bin/env bash
# Create (or bring up to date) the project's virtual environment in .venv/.
#
# Idempotent: every step first checks whether its result is already there and
# skips itself if so; a second run takes seconds.  The slow step is building
# mmcv 2.1.0 from source with its CPU ops (~11 min on 2 cores); the built wheel
# is cached in $MMDET_CLIPJOINT_CACHE (default ~/.cache/mmdet_clipjoint) so a
# fresh clone on the same machine re-uses it.
#
# Environment knobs:
#   PYTHON            interpreter used to create the venv   (default python3.11)
#   VENV              where the venv lives                  (default .venv)
#   MAX_JOBS          parallel compile jobs for mmcv        (default nproc)
#   MMDET_CLIPJOINT_CACHE  wheel cache directory
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
PYTHON=${PYTHON:-python3.11}
VENV=${VENV:-$ROOT/.venv}
CACHE=${MMDET_CLIPJOINT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mmdet_clipjoint}
LOGDIR=$ROOT/.setup-logs
mkdir -p "$LOGDIR" "$CACHE/wheels"

# Pinned versions of the compiled stack (DESIGN.md section 4).  Everything else
# comes from pyproject.toml.
TORCH_SPEC="torch==2.14.1"
TORCHVISION_SPEC="torchvision==0.29.1"
MMCV_VERSION=2.1.0
BUILD_TOOLS=("setuptools>=77.0.3,<81" "wheel" "ninja")

STEP="start"
N_STEPS=7
on_error() {
    echo "" >&2
    echo "ERROR: make setup failed in step: $STEP" >&2
    echo "       log: $LOG" >&2
    echo "       last lines of the log:" >&2
    tail -n 25 "$LOG" 2>/dev/null | sed 's/^/         | /' >&2 || true
    echo "       Fix the cause and run 'make setup' again: finished steps are skipped." >&2
}
trap on_error ERR

step() {  # step <n> <name>
    STEP="$2"
    LOG="$LOGDIR/step$1.log"
    : > "$LOG"
    printf '==> [%s/%s] %s\n' "$1" "$N_STEPS" "$2"
}
skip() { printf '    already done: %s\n' "$1"; }

# pip prints a warning for every package missing from some configured local
# index; keep the logs but do not flood the terminal.
pip_q() { "$VENV/bin/python" -m pip "$@" >>"$LOG" 2>&1; }
py() { "$VENV/bin/python" "$@"; }

# --------------------------------------------------------------------------
step 1 "virtual environment ($VENV)"
if [ -x "$VENV/bin/python" ] && py -c 'import sys; assert sys.version_info >= (3, 9)' 2>/dev/null; then
    skip "$(py --version)"
else
    command -v "$PYTHON" >/dev/null || { echo "$PYTHON not found; set PYTHON=/path/to/python3 (3.9-3.12)" >"$LOG"; false; }
    "$PYTHON" -m venv "$VENV" >>"$LOG" 2>&1
    echo "    created with $(py --version)"
fi

# --------------------------------------------------------------------------
step 2 "torch + torchvision ($TORCH_SPEC, $TORCHVISION_SPEC)"
if py - >/dev/null 2>&1 <<'PY'
import torch, torchvision
from torchvision.ops import nms
assert torch.__version__.startswith('2.14.1'), torch.__version__
assert torchvision.__version__.startswith('0.29.1'), torchvision.__version__
nms(torch.rand(2, 4), torch.rand(2), 0.5)
PY
then
    skip "torch $(py -c 'import torch; print(torch.__version__)')"
else
    echo "    downloading/installing (about a minute; log: $LOG)"
    pip_q install "$TORCH_SPEC" "$TORCHVISION_SPEC" "${BUILD_TOOLS[@]}"
fi

# --------------------------------------------------------------------------
step 3 "build tools (${BUILD_TOOLS[*]})"
if py -c 'import setuptools, wheel, ninja, pkg_resources; v = tuple(map(int, setuptools.__version__.split(".")[:2])); assert (77, 0) <= v < (81, 0)' >/dev/null 2>&1; then
    skip "setuptools $(py -c 'import setuptools; print(setuptools.__version__)')"
else
    pip_q install "${BUILD_TOOLS[@]}"
fi

# --------------------------------------------------------------------------
step 4 "mmcv $MMCV_VERSION with CPU ops (RoIAlign, NMS)"
mmcv_ok() {
    py - >/dev/null 2>&1 <<PY
import mmcv, torch
assert mmcv.__version__ == '$MMCV_VERSION', mmcv.__version__
from mmcv.ops import nms, RoIAlign
nms(torch.rand(3, 4) * 10, torch.rand(3), 0.5)
PY
}
TORCH_TAG=$(py -c 'import sys, torch; print("cp%d%d-torch%s" % (sys.version_info[0], sys.version_info[1], torch.__version__.split("+")[0]))')
WHEEL_DIR="$CACHE/wheels/mmcv-$MMCV_VERSION-$TORCH_TAG"
if mmcv_ok; then
    skip "mmcv $(py -c 'import mmcv; print(mmcv.__version__)')"
else
    if ! ls "$WHEEL_DIR"/mmcv-*.whl >/dev/null 2>&1; then
        echo "    building from source: ~11 min on 2 cores (log: $LOG)"
        SRC=$(mktemp -d)
        pip_q download --no-deps --no-binary :all: --no-build-isolation "mmcv==$MMCV_VERSION" -d "$SRC"
        tar -xzf "$SRC"/mmcv-$MMCV_VERSION.tar.gz -C "$SRC"
        # mmcv's setup.py hard-codes an old C++ standard; torch >= 2.10 headers need C++20.
        sed -i -E "s/-std=c\+\+1[147]/-std=c++20/g" "$SRC/mmcv-$MMCV_VERSION/setup.py"
        grep -q -- '-std=c++20' "$SRC/mmcv-$MMCV_VERSION/setup.py"
        (
            export MMCV_WITH_OPS=1 FORCE_CUDA=0 MAX_JOBS=${MAX_JOBS:-$(nproc)}
            # keep the build CPU-only even if a CUDA toolkit is installed
            export CUDA_VISIBLE_DEVICES=""
            py -m pip wheel -v --no-deps --no-build-isolation "$SRC/mmcv-$MMCV_VERSION" -w "$SRC/dist" 2>&1 \
                | tee -a "$LOG" \
                | grep --line-buffered -E '^\s*\[[0-9]+/[0-9]+\]' \
                | awk '{ split($1, a, /[\[\/\]]/); printf "    compiling %s/%s\n", a[2], a[3]; fflush() }' || true
        )
        ls "$SRC"/dist/mmcv-*.whl >/dev/null
        mkdir -p "$WHEEL_DIR"
        cp "$SRC"/dist/mmcv-*.whl "$WHEEL_DIR"/
        rm -rf "$SRC"
    else
        echo "    using cached wheel from $WHEEL_DIR"
    fi
    pip_q install --no-deps --force-reinstall "$WHEEL_DIR"/mmcv-*.whl
    pip_q install "mmengine>=0.10,<1" addict yapf packaging opencv-python pyyaml regex
    mmcv_ok || { echo "mmcv installed but 'from mmcv.ops import nms' fails" >>"$LOG"; false; }
    echo "    mmcv $MMCV_VERSION installed"
fi

# --------------------------------------------------------------------------
step 5 "mmdet_clipjoint and its dependencies (pyproject.toml, extra [dev])"
STAMP="$VENV/.mmdet_clipjoint-installed"
HASH=$(cat pyproject.toml tools/setup_env.sh | sha256sum | cut -d' ' -f1)
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$HASH" ] && py -c 'import mmdet_clipjoint, mmdet, open_clip, pycocotools, mim' >/dev/null 2>&1; then
    skip "pyproject.toml unchanged since the last install"
else
    pip_q install -e ".[dev]"
    echo "$HASH" > "$STAMP"
    echo "    installed $(py -c 'import mmdet_clipjoint, mmdet; print("mmdet_clipjoint", mmdet_clipjoint.__version__, "/ mmdet", mmdet.__version__)')"
fi

# --------------------------------------------------------------------------
step 6 "emoji font (fonts-noto-color-emoji: the semantic benchmark's pictures)"
font_found() {
    [ -n "${MMDET_CLIPJOINT_EMOJI_FONT:-}" ] && [ -f "$MMDET_CLIPJOINT_EMOJI_FONT" ] && return 0
    for f in /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf /usr/share/fonts/noto/NotoColorEmoji.ttf \
             /usr/share/fonts/google-noto-emoji/NotoColorEmoji.ttf /usr/share/fonts/noto-emoji/NotoColorEmoji.ttf; do
        [ -f "$f" ] && return 0
    done
    return 1
}
if font_found; then
    skip "Noto Color Emoji"
elif [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "    installing with apt-get (log: $LOG)"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-noto-color-emoji; } >>"$LOG" 2>&1 \
        || echo "    WARNING: apt-get could not install fonts-noto-color-emoji (see $LOG)"
fi
if ! font_found; then
    echo "    WARNING: Noto Color Emoji is not installed, so the semantic benchmark (and its"
    echo "    tests) cannot draw its images. Install it as root: apt-get install fonts-noto-color-emoji"
    echo "    (Fedora: google-noto-emoji-color-fonts), or set MMDET_CLIPJOINT_EMOJI_FONT=/path/to/NotoColorEmoji.ttf."
fi

# --------------------------------------------------------------------------
step 7 "pip check"
py -m pip check 2>&1 | tee -a "$LOG" | sed 's/^/    /'
echo "setup complete: activate with 'source .venv/bin/activate'"
