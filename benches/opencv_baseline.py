#!/usr/bin/env python3
"""OpenCV baseline for vesselscan's pipeline benchmark (docs/BENCHMARKS.md).

Reads a raw little-endian u16 scene written by

    cargo run --release --example gen_scene -- sea|random SIZE OUT.u16

and times, on the same scene and threshold as vesselscan:

  (a) cv2.compare(img, T, CMP_GE) -> 8-bit mask, then
      cv2.connectedComponentsWithStats(mask, connectivity=8, ltype=CV_32S)
      (area, bounding box, centroid);
  (b) (a) plus the per-component sum of values,
      np.bincount(labels.ravel(), weights=img.ravel()) (OpenCV's stats have no sum or max;
      vesselscan also computes the max, which neither variant does);
  (c) scipy.ndimage (when installed; single-threaded): label(img >= T, 3x3 structure), then
      find_objects (bounding boxes) and per-label area and sum by np.bincount: what a
      rasterio + scipy script does.

Reading the file is not timed. Each variant runs --repeat times (after one untimed warm-up)
with cv2.setNumThreads(N) for every N of --threads; the median is reported in ms and Mpx/s.
The component count (labels - 1, background excluded) is checked against vesselscan's count
from the OUT.u16.json that gen_scene writes next to the scene (or --expect).

    python3 benches/opencv_baseline.py /tmp/scenes/sea-4096.u16 --threads 1 2
"""

import argparse
import json
import os
import statistics
import sys
import time

import cv2
import numpy as np


def variant_a(img, t):
    mask = cv2.compare(img, t, cv2.CMP_GE)
    n, labels, stats, centroids = cv2.connectedComponentsWithStats(
        mask, connectivity=8, ltype=cv2.CV_32S
    )
    return n - 1, labels, stats, centroids


def variant_b(img, t):
    n, labels, stats, centroids = variant_a(img, t)
    sums = np.bincount(labels.ravel(), weights=img.ravel(), minlength=n + 1)
    return n, labels, stats, centroids, sums


def variant_c(img, t):
    from scipy import ndimage

    labels, n = ndimage.label(img >= t, structure=np.ones((3, 3), dtype=bool))
    boxes = ndimage.find_objects(labels)
    flat = labels.ravel()
    area = np.bincount(flat, minlength=n + 1)
    sums = np.bincount(flat, weights=img.ravel(), minlength=n + 1)
    return n, labels, boxes, area, sums


def bench(fn, img, t, repeat):
    fn(img, t)  # warm-up
    times = []
    count = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn(img, t)
        times.append(time.perf_counter() - t0)
        count = out[0]
        del out  # free the label image before the next run
    return statistics.median(times), count


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("scene", help="raw little-endian u16 file from gen_scene")
    ap.add_argument("--size", type=int, help="side (default: from OUT.u16.json or sqrt)")
    ap.add_argument("--threshold", type=float, help="target when value >= T (default: json)")
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--repeat", type=int, default=10)
    ap.add_argument("--expect", type=int, help="vesselscan's count (default: json)")
    ap.add_argument("--json", help="append results as JSON lines to this file")
    args = ap.parse_args()

    meta = {}
    meta_path = args.scene + ".json"
    if os.path.exists(meta_path):
        with open(meta_path) as f:
            meta = json.load(f)
    img = np.fromfile(args.scene, dtype="<u2")
    if args.size:
        w = h = args.size
    elif meta:
        w, h = meta["width"], meta["height"]
    else:
        w = h = int(round(len(img) ** 0.5))
    if w * h != img.size:
        sys.exit(f"{args.scene}: {img.size} pixels, not {w}x{h}")
    img = img.reshape(h, w)
    threshold = args.threshold if args.threshold is not None else meta.get("threshold")
    if threshold is None:
        sys.exit("no --threshold and no json sidecar")
    # Integer scene: value >= T  <=>  value >= ceil(T).
    t = float(np.ceil(threshold))
    expect = args.expect if args.expect is not None else meta.get("vesselscan_count")
    scene = meta.get("scene", os.path.basename(args.scene))

    print(
        f"OpenCV {cv2.__version__}, numpy {np.__version__}; {scene} {w}x{h}, "
        f"value >= {t:g}, {args.repeat} runs, median"
    )
    ok = True
    variants = [("cc+stats", variant_a, args.threads), ("cc+stats+sum", variant_b, args.threads)]
    try:
        import scipy

        print(f"scipy {scipy.__version__} (ndimage, single-threaded)")
        variants.append(("scipy.ndimage", variant_c, [1]))
    except ImportError:
        print("scipy not installed: its variant skipped")
    for name, fn, threads in variants:
        for n in threads:
            cv2.setNumThreads(n)
            med, count = bench(fn, img, t, args.repeat)
            mpx = w * h / med / 1e6
            agree = "n/a" if expect is None else ("yes" if count == expect else "NO")
            ok &= agree != "NO"
            print(
                f"  {name:13s} threads={n}: {med * 1e3:9.2f} ms {mpx:8.1f} Mpx/s  "
                f"components {count} (vesselscan {expect}, agree: {agree})"
            )
            if args.json:
                with open(args.json, "a") as f:
                    f.write(
                        json.dumps(
                            {
                                "scene": scene,
                                "size": w,
                                "variant": name,
                                "threads": n,
                                "median_ms": med * 1e3,
                                "mpx_s": mpx,
                                "components": int(count),
                                "vesselscan_count": expect,
                            }
                        )
                        + "\n"
                    )
    if not ok:
        sys.exit("component counts disagree")


if __name__ == "__main__":
    main()
