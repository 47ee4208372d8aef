#!/usr/bin/env bash
# One sweep point per Slurm array task (docs/sweeps.md). List the points first to size the array:
#   aeqlab sweep docs/examples/sweeps/mnist-compliance-nudging.json --out sweeps/cn --check
# then submit with --array=0-<points - 1>:
#   sbatch --array=0-15 docs/examples/sweeps/slurm-array.sh
#SBATCH --job-name=aeqlab-sweep
#SBATCH --cpus-per-task=1
#SBATCH --time=02:00:00
set -euo pipefail
exec aeqlab sweep docs/examples/sweeps/mnist-compliance-nudging.json --out sweeps/cn \
  --index "$SLURM_ARRAY_TASK_ID"
