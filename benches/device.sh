#!/usr/bin/env bash
# One short run of `vesselscan bench` on a lent GPU machine (see docs/BENCHMARKS.md, "On a
# real GPU"). That machine may have no Rust and no Vulkan loader, so:
#
#   here, once:    cargo build --release && mkdir -p dist && strip -o dist/vesselscan target/release/vesselscan
#                  (and the loader packages into .gl/, as the device tool's README describes)
#   there:         bash benches/device.sh            (carry: dist, .gl)
#
# Writes the bench tables and JSON under $OUT (or ./device-out): per-stage times from GPU
# timestamp queries, Mpx/s, GB/s and the share of the memory bandwidth, every adapter's
# detections checked against the CPU's. Sizes: SIZES (default "4096 16384"); each size runs
# the sea and the random scene, --repeat REPEAT (default 5); then (PACK_AB=1, the default) the
# sea scene again on the ADAPTER (default NVIDIA) with 16-bit samples sent one a word instead
# of two (VESSELSCAN_GPU_PACK16=0), to measure what the packing gives on that device; and with
# records sized for the worst case in batches of 4 Mpx (VESSELSCAN_GPU_RECORDS=worst), to
# measure what records sized on demand (batches of 16 Mpx) give; then (E2E=1, the default) a
# synth SAR GeoTIFF detected end to end on the GPU and on the CPU, and benched as a file.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-device-out}
mkdir -p "$out"
bin=${VESSELSCAN:-dist/vesselscan}
if [ -d .gl ] && ! ldconfig -p | grep -q libvulkan; then
    for f in .gl/*.deb; do dpkg -x "$f" /; done
    ldconfig
fi
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
if [ -z "${VK_DRIVER_FILES:-}" ] && [ -f "$icd" ]; then
    export VK_DRIVER_FILES=$icd
fi
nvidia-smi --query-gpu=name,memory.total,clocks.max.memory --format=csv >"$out/gpu.txt" 2>&1 || true
"$bin" adapters >"$out/adapters.json" 2>"$out/adapters.err" || true
cat "$out/gpu.txt" "$out/adapters.json"
for size in ${SIZES:-4096 16384}; do
    for scene in sea random; do
        echo "== bench --size $size --scene $scene"
        "$bin" bench --size "$size" --scene "$scene" --repeat "${REPEAT:-5}" \
            --json "$out/bench-$scene-$size.json" 2>&1 | tee "$out/bench-$scene-$size.txt" ||
            echo "(failed)"
    done
done
# A/B: the same GPU with samples one key a word (FLAG_PACK16 off), sea only, GPU adapters only.
if [ "${PACK_AB:-1}" = 1 ]; then
    for size in ${SIZES:-4096 16384}; do
        echo "== VESSELSCAN_GPU_PACK16=0 bench --size $size --scene sea"
        VESSELSCAN_GPU_PACK16=0 "$bin" bench --size "$size" --scene sea --repeat "${REPEAT:-5}" \
            --adapters "${ADAPTER:-NVIDIA}" --json "$out/bench-sea-$size-nopack.json" 2>&1 |
            tee "$out/bench-sea-$size-nopack.txt" || echo "(failed)"
        echo "== VESSELSCAN_GPU_RECORDS=worst bench --size $size --scene sea"
        VESSELSCAN_GPU_RECORDS=worst "$bin" bench --size "$size" --scene sea --repeat "${REPEAT:-5}" \
            --adapters "${ADAPTER:-NVIDIA}" --json "$out/bench-sea-$size-worst.json" 2>&1 |
            tee "$out/bench-sea-$size-worst.txt" || echo "(failed)"
    done
fi
# End to end (E2E=1, the default): a synth SAR GeoTIFF of E2E_SIZE^2 (default 16384; Deflate
# 512^2 tiles, as Sentinel-1 COGs are), read and detected whole with the default `sar` preset
# on the GPU and on the CPU backend, wall time and peak RSS each, outputs compared; then
# `bench` on the file, which times reading it apart from the pipeline on resident data.
if [ "${E2E:-1}" = 1 ]; then
    size=${E2E_SIZE:-16384}
    # Out of $OUT, so a run cut short leaves no scene of hundreds of MB to carry back.
    scene="${TMPDIR:-/tmp}/vesselscan-synth-$size.tif"
    echo "== synth $size^2"
    if ! "$bin" synth "$scene" --width "$size" --height "$size" --seed 1 --land 0 \
        --truth "$out/synth-$size.truth.geojson" 2>&1 | tee "$out/synth-$size.txt"; then
        echo "(failed: no end to end)"
        exit 0
    fi
    # Wall time and peak RSS where GNU time is installed, else bash's wall time.
    timed() {
        if [ -x /usr/bin/time ]; then
            /usr/bin/time -f "%e s wall, %M KiB peak RSS" "$@"
        else
            local TIMEFORMAT="%R s wall"
            time "$@"
        fi
    }
    for backend in gpu cpu; do
        echo "== detect --backend $backend ($size^2, sar)"
        { timed "$bin" detect "$scene" --backend "$backend" -o "$out/detect-$size-$backend.json"; } 2>&1 |
            tee "$out/detect-$size-$backend.txt" || echo "(failed)"
    done
    python3 - "$out/detect-$size-gpu.json" "$out/detect-$size-cpu.json" <<'PY' || true
import json, sys
a, b = (json.load(open(p))["detections"] for p in sys.argv[1:])
print(f"detections: gpu {len(a)}, cpu {len(b)}, identical: {a == b}")
PY
    echo "== bench --scene $scene"
    "$bin" bench --scene "$scene" --repeat "${REPEAT:-5}" --json "$out/bench-file-$size.json" 2>&1 |
        tee "$out/bench-file-$size.txt" || echo "(failed)"
    rm -f "$scene"
fi
