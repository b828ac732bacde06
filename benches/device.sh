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
# the sea and the random scene, --repeat REPEAT (default 5).
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
            --json "$out/bench-$scene-$size.json" 2>&1 | tee "$out/bench-$scene-$size.txt"
    done
done
