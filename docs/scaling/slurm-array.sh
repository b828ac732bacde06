#!/bin/bash
# Slurm job array: N tasks split one archive with `vesselscan batch --shard I/N`.
# Submit: sbatch --array=0-15 docs/scaling/slurm-array.sh /data/archive /data/results
# (the array size is N; task ids must run 0..N-1).
#SBATCH --job-name=vesselscan
#SBATCH --cpus-per-task=8
#SBATCH --mem=16G
#SBATCH --time=04:00:00
#SBATCH --output=vesselscan-%A_%a.log
# With GPUs: add `#SBATCH --gres=gpu:1` and drop `--backend cpu` below.
set -euo pipefail
ARCHIVE=${1:?usage: sbatch --array=0-N-1 slurm-array.sh ARCHIVE OUTDIR}
OUTDIR=${2:?usage: sbatch --array=0-N-1 slurm-array.sh ARCHIVE OUTDIR}
N=${SLURM_ARRAY_TASK_COUNT:?run as a job array}
I=${SLURM_ARRAY_TASK_ID:?run as a job array}
export RAYON_NUM_THREADS=${SLURM_CPUS_PER_TASK:-1}
# Every task sees the same inputs and keeps its own shard; all write into one OUTDIR, each
# with summary.shard-I-of-N.json. A requeued or re-submitted task skips finished files.
# Exit code 1 (some files failed) is kept, so `sacct` shows which tasks had bad files.
exec vesselscan batch "$ARCHIVE" -o "$OUTDIR" --shard "$I/$N" --backend "${BACKEND:-auto}"
