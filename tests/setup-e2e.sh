#!/usr/bin/env bash
# Installs what the four environment-dependent end-to-end tests need, on Debian, as root:
#   - slurm-wlm and munge, for the real-Slurm test (run with GRBM_SWEEP_SLURM=1; the test starts
#     a one-node cluster with tests/slurm/cluster.sh);
#   - the notebook's Python packages (experiments/requirements.txt), for the notebook test (it
#     runs whenever they are importable; GRBM_SWEEP_NOTEBOOK=1 makes their absence a failure);
#   - Debian's chromium, for the browser test of `grbm-sweep report` (it runs whenever
#     /usr/bin/chromium exists; GRBM_SWEEP_BROWSER=1 makes its absence a failure);
#   - the Python module, as docs/python.md installs it (`pip install ./python`: a build with the
#     cargo on PATH, into this checkout's target/, without polars; 1.5 to 4 minutes on 2 cores), with pytest,
#     for the Python module's tests (they run whenever `import grbm_sweep, pytest, polars`
#     works; GRBM_SWEEP_PYTHON=1 makes their absence a failure). Under sudo, keep your PATH:
#     `sudo env PATH="$PATH" bash tests/setup-e2e.sh`.
# `cargo test --release` itself installs nothing; `.ci/run` calls this script first.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v slurmctld > /dev/null || ! command -v munged > /dev/null || ! command -v sbatch > /dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge > /dev/null
fi
echo "setup-e2e: $(sbatch --version), munge $(munged --version 2>&1 | head -n 1)"

if [ ! -x /usr/bin/chromium ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium > /dev/null
fi
echo "setup-e2e: $(/usr/bin/chromium --version 2> /dev/null)"

python3 -m pip install -q --disable-pip-version-check -r experiments/requirements.txt
python3 -c "import polars, numpy, matplotlib, nbclient, nbformat, ipykernel; print('setup-e2e: notebook packages importable (polars', polars.__version__ + ')')"

# The Python module and its test runner (polars comes with the notebook's packages above).
if ! command -v cargo > /dev/null; then
    echo "setup-e2e: cargo is not on PATH, and pip install ./python builds with it (under sudo: sudo env PATH=\"\$PATH\" bash tests/setup-e2e.sh)" >&2
    exit 1
fi
python3 -m pip install -q --disable-pip-version-check ./python pytest
python3 -c "import grbm_sweep, pytest; print('setup-e2e: grbm_sweep', grbm_sweep.__version__, 'and pytest', pytest.__version__, 'importable')"
