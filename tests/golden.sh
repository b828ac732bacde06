#!/usr/bin/env bash
# Golden outputs for refactors: record what a vesselscan binary writes on every image of
# ../shared/data, on synth scenes (with and without AIS) and on the CLI's error cases, then
# compare two recordings byte for byte (timing fields aside). Everything is written under one
# work folder with relative paths (outputs too), so no recording's own folder shows in them.
#
#   tests/golden.sh record BIN OUTDIR     # e.g. the binary of main before a refactor
#   tests/golden.sh compare OLD NEW       # exit 0 when identical, else the differences
#
# Typical use (issue: "outputs byte-identical to the pre-refactor main"):
#   git worktree add /tmp/before main && (cd /tmp/before && cargo build --release --locked)
#   tests/golden.sh record /tmp/before/target/release/vesselscan /tmp/golden-before
#   cargo build --release --locked
#   tests/golden.sh record target/release/vesselscan /tmp/golden-after
#   tests/golden.sh compare /tmp/golden-before /tmp/golden-after
#
# Inputs are read from $VESSELSCAN_SHARED_DATA or ../shared/data. Paths in outputs and
# messages are the same in both recordings (the inputs are linked into OUTDIR/../golden-in at
# the same place, and the binary runs there), so the recordings compare directly. The backend
# is the CPU's (its results equal the GPU's; set GOLDEN_BACKEND=gpu to record those), batches
# run one file at a time so their logs come in one order, and times in the logs are blanked.
set -euo pipefail

usage() {
  sed -n '2,10p' "$0" >&2
  exit 2
}

here=$(cd "$(dirname "$0")/.." && pwd)
data=${VESSELSCAN_SHARED_DATA:-$here/../shared/data}
backend=${GOLDEN_BACKEND:-cpu}

# Drops the fields that time a run (summaries' "seconds") and the modification times in
# batch's resume records (the synth inputs are made anew each time), so recordings compare.
untime() {
  find "$1" -name 'summary*.json' -print0 | xargs -0 -r sed -i '/"seconds":/d'
  find "$1" -path '*/.vesselscan/*.json' -print0 |
    xargs -0 -r sed -i 's/"mtime_ns":-\{0,1\}[0-9]*/"mtime_ns":0/'
  find "$1" -maxdepth 1 -name '*.err' -print0 |
    xargs -0 -r sed -i -E 's/ in [0-9]+(\.[0-9]+)? (s|ms)\b/ in T s/g'
}

record() {
  local bin out
  bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
  out=$2
  [ -x "$bin" ] || { echo "golden: $1 is not an executable" >&2; exit 2; }
  [ -d "$data" ] || { echo "golden: no shared data at $data" >&2; exit 2; }
  [ ! -e "$out" ] || { echo "golden: $out exists; give a new folder" >&2; exit 2; }
  mkdir -p "$out"
  out=$(cd "$out" && pwd)
  # Everything runs in a work folder whose name does not depend on OUTDIR, so the paths
  # written into the outputs are the same in every recording.
  local work=/tmp/vesselscan-golden-work
  rm -rf "$work"
  mkdir -p "$work/o"
  ln -s "$data" "$work/data"
  cd "$work"
  local vs=("$bin")
  run() { # name, args...: stdout to OUT/name.out, stderr to .err, exit code to .code
    local name=$1
    shift
    set +e
    "${vs[@]}" "$@" >"o/$name.out" 2>"o/$name.err"
    echo $? >"o/$name.code"
    set -e
    # Mesa's chatter on machines without a display is not ours.
    sed -i '/XDG_RUNTIME_DIR/d' "o/$name.err"
  }

  echo "golden: real data (batch, $backend)"
  run ssdd batch -j 1 data/ssdd/JPEGImages -o "o/ssdd" --backend "$backend"
  run hrsid batch -j 1 data/hrsid/images -o "o/hrsid" --backend "$backend"
  run s2 batch -j 1 "data/sen2ships/*/*_B08.tif" -o "o/s2" --backend "$backend"
  run s2-csv batch -j 1 "data/sen2ships/*/*_B08.tif" -o "o/s2-csv" --format csv --backend "$backend"
  run s2-geojson batch -j 1 "data/sen2ships/*/*_B08.tif" -o "o/s2-geojson" --format geojson \
    --geometry box --backend "$backend"
  local genoa=data/sen2ships/genoa
  run s2-ndwi detect "$genoa/genoa_B08.tif" --ndwi "$genoa/genoa_B03.tif,$genoa/genoa_B08.tif" \
    --backend "$backend" --quicklook "o/s2-ndwi.png"
  local s1
  s1=$(ls data/s1_grd_safe/*.SAFE/measurement/*.tiff | head -n 1)
  run s1 detect "$s1" --backend "$backend" --format geojson --quicklook "o/s1.png"

  echo "golden: synth scenes"
  local seed
  for seed in 1 2; do
    run "synth$seed" synth "synth$seed.tif" --width 1536 --height 1280 --vessels 40 \
      --seed "$seed" --crs utm
    run "synth$seed-json" detect "synth$seed.tif" --backend "$backend" \
      --chips "o/synth$seed-chips" --quicklook "o/synth$seed.png"
    run "synth$seed-csv" detect "synth$seed.tif" --backend "$backend" --format csv
    run "synth$seed-geojson" detect "synth$seed.tif" --backend "$backend" --format geojson
    run "synth$seed-t" detect "synth$seed.tif" --backend "$backend" --threshold 400 --min-area 3
    cp "synth$seed.truth.geojson" o/
  done
  python3 "$here/benches/ais_gen.py" synth1.truth.geojson --time 2024-02-09T02:13:00 \
    --vessels 400 --in-footprint 25 --interval-s 120 --hours 2 -o ais.csv 2>/dev/null
  run synth1-ais detect synth1.tif --backend "$backend" --ais ais.csv \
    --time 2024-02-09T02:13:00Z
  run synth1-ais-geojson detect synth1.tif --backend "$backend" --ais ais.csv \
    --time 2024-02-09T02:13:00Z --format geojson
  run synth-batch-ais batch -j 1 synth1.tif synth2.tif -o "o/synth-batch-ais" \
    --backend "$backend" --ais ais.csv --time 2024-02-09T02:13:00Z

  echo "golden: error cases"
  head -c 3000 synth1.tif >truncated.tif
  printf 'not an image' >text.tif
  mkdir -p empty
  run err-missing detect no-such-file.tif --backend cpu
  run err-truncated detect truncated.tif --backend cpu
  run err-text detect text.tif --backend cpu
  run err-band detect synth1.tif --band 5 --backend cpu
  run err-empty batch empty -o "$work/never" --backend cpu
  run err-minmax detect synth1.tif --min-area 9 --max-area 3 --backend cpu
  run err-ais-header detect synth1.tif --ais text.tif --time 2024-02-09T02:13:00Z --backend cpu
  run err-no-time detect data/ssdd/JPEGImages/000002.jpg --ais ais.csv --backend cpu
  run err-land detect synth1.tif --land text.tif --backend cpu
  run err-usage detect
  untime o
  mv o/* "$out"/
  cd /
  rm -rf "$work"
  echo "golden: recorded $(find "$out" -type f | wc -l) files in $out"
}

compare() {
  if diff -r -q "$1" "$2"; then
    echo "golden: identical ($(find "$1" -type f | wc -l) files)"
  else
    echo "golden: the recordings differ (diff -r $1 $2 shows how)" >&2
    exit 1
  fi
}

case "${1:-}" in
  record) [ $# = 3 ] || usage; record "$2" "$3" ;;
  compare) [ $# = 3 ] || usage; compare "$2" "$3" ;;
  *) usage ;;
esac
