#!/usr/bin/env bash
# A string.Template: `hw4 gradescope` fills its placeholders and writes each doubled dollar sign as one.
# Gradescope runs this once, as root, while it builds the autograder image; the zip is unpacked in
# /autograder/source. It installs Python and the suite into /autograder/venv with the library versions
# the reference answers were computed with (constraints.txt, written by `hw4 gradescope`), so the
# cached references in /autograder/source/cache stay valid, then checks the cache (and, for the
# embedded model, fills in anything missing so no submission waits for it).
set -euo pipefail
SOURCE=$${HW4_SOURCE:-/autograder/source}
VENV=$${HW4_VENV:-/autograder/venv}

if ! command -v python3 >/dev/null || ! python3 -c "import venv, ensurepip" 2>/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q python3 python3-venv python3-pip python3-dev
fi
# The integrity check runs student code in a bubblewrap sandbox; without it the check says it could not run.
(apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q bubblewrap util-linux) \
  || echo "setup: could not install bubblewrap; integrity checks will report that no sandbox is available"
python3 -m venv "$$VENV"
pip() { "$$VENV/bin/python" -m pip --disable-pip-version-check "$$@"; }
pip install --quiet --upgrade pip

echo "setup: installing ${TORCH} (pinned in constraints.txt)"
pip install --quiet ${TORCH_INDEX}-c "$$SOURCE/constraints.txt" ${TORCH}
echo "setup: installing stable-audio-tools and k-diffusion without their training/UI dependencies"
pip install --quiet --no-deps -c "$$SOURCE/constraints.txt" -r "$$SOURCE/requirements-nodeps.txt"
echo "setup: installing the suite"
pip install --quiet --no-warn-conflicts -c "$$SOURCE/constraints.txt" -e "$$SOURCE"
"$$VENV/bin/python" -m hw4.requirements_check  # names what was left out on purpose; stops on a real conflict

cd "$$SOURCE"
HW4_CACHE_DIR="$$SOURCE/cache" HF_HUB_OFFLINE=${OFFLINE} TRANSFORMERS_OFFLINE=${OFFLINE} \
  "$$VENV/bin/python" -m autograder.gradescope_run --prepare
echo "setup: done"
