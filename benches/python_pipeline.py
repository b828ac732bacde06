#!/usr/bin/env python3
"""The Python pipeline a user would write instead of `vesselscan detect`, for the side-by-side
end-to-end benchmark in docs/BENCHMARKS.md (run by benches/end_to_end.sh):

    img = tifffile.imread(scene)                       # or rasterio: read band 1
    mask = cv2.compare(img, T, cv2.CMP_GE)             # target when value >= T
    n, labels, stats, centroids = cv2.connectedComponentsWithStats(mask, connectivity=8)
    per component: area, bbox, centroid -> CSV

This is the pipeline the issue names, and it does less than vesselscan, which also sums the
values of each component and takes their max and mean: the comparison favours Python.
Prints one JSON line: seconds per step, total, and the component count (checked against
vesselscan's). Peak memory is measured from outside (/usr/bin/time -v).

    python3 benches/python_pipeline.py scene.tif --threshold 1000 --out /tmp/py.csv
"""

import argparse
import json
import sys
import time

import cv2
import numpy as np

try:
    import tifffile
except ImportError:  # pragma: no cover
    tifffile = None


def read(path):
    if tifffile is not None:
        return tifffile.imread(path)
    import rasterio  # the other usual choice

    with rasterio.open(path) as ds:
        return ds.read(1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scene")
    ap.add_argument("--threshold", type=float, required=True)
    ap.add_argument("--out", required=True, help="CSV of components")
    ap.add_argument("--threads", type=int, default=0, help="cv2.setNumThreads (0: default)")
    a = ap.parse_args()
    if a.threads:
        cv2.setNumThreads(a.threads)

    t = {}
    t0 = time.perf_counter()
    img = read(a.scene)
    t["read"] = time.perf_counter() - t0

    t1 = time.perf_counter()
    # cv2.compare against a scalar: 255 where img >= T.
    mask = cv2.compare(img, a.threshold, cv2.CMP_GE)
    t["threshold"] = time.perf_counter() - t1

    t2 = time.perf_counter()
    n, labels, stats, cent = cv2.connectedComponentsWithStats(
        mask, connectivity=8, ltype=cv2.CV_32S
    )
    del mask, labels
    t["label"] = time.perf_counter() - t2

    t4 = time.perf_counter()
    with open(a.out, "w") as f:
        f.write("id,x,y,x0,y0,x1,y1,area\n")
        for i in range(1, n):
            x, y, w, h, area = stats[i]
            f.write(
                f"{i},{cent[i][0]:.3f},{cent[i][1]:.3f},{x},{y},{x + w},{y + h},"
                f"{area}\n"
            )
    t["write"] = time.perf_counter() - t4
    t["total"] = time.perf_counter() - t0
    print(
        json.dumps(
            {
                "scene": a.scene,
                "shape": list(img.shape),
                "components": int(n - 1),
                "seconds": {k: round(v, 3) for k, v in t.items()},
            }
        )
    )


if __name__ == "__main__":
    sys.exit(main())
