#!/usr/bin/env bash
# End-to-end benchmark for docs/BENCHMARKS.md: `vesselscan detect` on generated u16 Deflate
# GeoTIFFs (`vesselscan synth`) of growing size, peak memory and wall time, and side by side
# with the Python pipeline a user would write (benches/python_pipeline.py: tifffile + OpenCV
# threshold + connectedComponentsWithStats), same scene, same threshold, same machine.
#
#   bash benches/end_to_end.sh                 # sizes 4096 16384 32768, Python at 4096 16384
#   SIZES="4096" PY_SIZES="4096" bash benches/end_to_end.sh
#
# Environment: SIZES, PY_SIZES, MEMORY_MB (default 1024), THRESHOLD (default 400: the synth
# scene's vessels are above it, its clutter almost never), SCRATCH (default /tmp/vesselscan-e2e),
# BACKEND (default cpu), KEEP=1 to keep the scenes. Peak RSS and wall come from /usr/bin/time.
set -euo pipefail
cd "$(dirname "$0")/.."

SIZES=${SIZES:-"4096 16384 32768"}
PY_SIZES=${PY_SIZES:-"4096 16384"}
MEMORY_MB=${MEMORY_MB:-1024}
THRESHOLD=${THRESHOLD:-400}
SCRATCH=${SCRATCH:-/tmp/vesselscan-e2e}
BACKEND=${BACKEND:-cpu}
mkdir -p "$SCRATCH"

cargo build --release --quiet
bin=target/release/vesselscan

measure() { # label, then the command; prints "label | peak MB | wall s"
  local label=$1
  shift
  local t
  t=$(mktemp)
  /usr/bin/time -f "%M %e" -o "$t" "$@" >/dev/null 2>"$t.err" || {
    cat "$t.err" >&2
    return 1
  }
  read -r kb secs <"$t"
  awk -v l="$label" -v kb="$kb" -v s="$secs" 'BEGIN { printf "| %s | %.0f MB | %.2f s |\n", l, kb / 1024, s }'
  rm -f "$t" "$t.err"
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/ {print $2}') GiB"
echo "commit: $(git rev-parse --short HEAD)"
for n in $SIZES; do
  scene="$SCRATCH/synth-$n.tif"
  if [ ! -e "$scene" ]; then
    "$bin" synth "$scene" --width "$n" --height "$n" --seed 1 --land 0 >/dev/null
  fi
  size=$(du -m "$scene" | cut -f1)
  echo "## $n x $n u16 Deflate GeoTIFF ($size MB on disk)"
  measure "vesselscan detect --backend $BACKEND --threshold $THRESHOLD --memory-mb $MEMORY_MB" \
    "$bin" detect "$scene" --backend "$BACKEND" --threshold "$THRESHOLD" \
    --memory-mb "$MEMORY_MB" --format csv -o "$SCRATCH/vs-$n.csv"
  vs=$(($(wc -l <"$SCRATCH/vs-$n.csv") - 1))
  if [[ " $PY_SIZES " == *" $n "* ]]; then
    measure "python3 benches/python_pipeline.py --threshold $THRESHOLD (tifffile + OpenCV)" \
      python3 benches/python_pipeline.py "$scene" --threshold "$THRESHOLD" --out "$SCRATCH/py-$n.csv"
    py=$(($(wc -l <"$SCRATCH/py-$n.csv") - 1))
    echo "components: vesselscan $vs, python $py"
    [ "$vs" = "$py" ] || echo "WARNING: component counts differ" >&2
  else
    echo "components: vesselscan $vs"
  fi
  [ -n "${KEEP:-}" ] || rm -f "$scene"
done
