#!/usr/bin/env python3
"""Generate an AIS day for the `--ais` benchmark (docs/BENCHMARKS.md, "AIS").

Vessels of a `vesselscan synth` scene's truth GeoJSON get tracks through their positions at
the acquisition time (the vessels "in the footprint"); the others sail a region around the
scene, outside its footprint. Every vessel reports every --interval-s seconds (each with its
own phase) over --hours hours from midnight, MarineCadastre columns, rows in time order.

  python3 benches/ais_gen.py scene.truth.geojson --time 2024-02-09T02:13:00 \
      --vessels 20000 --in-footprint 600 --interval-s 600 -o ais.csv[.gz]
"""
import argparse, gzip, json, math, random, sys
from datetime import datetime, timedelta, timezone

p = argparse.ArgumentParser()
p.add_argument("truth")
p.add_argument("--time", required=True, help="acquisition time, UTC, e.g. 2024-02-09T02:13:00")
p.add_argument("--vessels", type=int, default=20000)
p.add_argument("--in-footprint", type=int, default=600)
p.add_argument("--interval-s", type=float, default=600)
p.add_argument("--hours", type=float, default=24)
p.add_argument("--region-deg", type=float, default=2.5, help="side of the region, degrees")
p.add_argument("--seed", type=int, default=1)
p.add_argument("-o", "--output", required=True)
a = p.parse_args()

rnd = random.Random(a.seed)
truth = [f["properties"] for f in json.load(open(a.truth))["features"]]
lons = [t["lon"] for t in truth]
lats = [t["lat"] for t in truth]
lo0, lo1, la0, la1 = min(lons), max(lons), min(lats), max(lats)
clon, clat = (lo0 + lo1) / 2, (la0 + la1) / 2
t_acq = datetime.fromisoformat(a.time).replace(tzinfo=timezone.utc)
midnight = t_acq.replace(hour=0, minute=0, second=0)
T = (t_acq - midnight).total_seconds()
M_PER_DEG = 111195.0
KN = 1852.0 / 3600.0

vessels = []  # (mmsi, lon at T, lat at T, sog, cog, length, phase)
for i in range(a.vessels):
    sog = rnd.uniform(0, 18)
    cog = rnd.uniform(0, 360)
    if i < min(a.in_footprint, len(truth)):
        t = truth[i]
        lon, lat, length = t["lon"], t["lat"], t["length_m"]
    else:
        while True:
            lon = clon + rnd.uniform(-a.region_deg / 2, a.region_deg / 2)
            lat = clat + rnd.uniform(-a.region_deg / 2, a.region_deg / 2)
            if not (lo0 - 0.02 <= lon <= lo1 + 0.02 and la0 - 0.02 <= lat <= la1 + 0.02):
                break
        length = rnd.uniform(15, 300)
    vessels.append((366000000 + i, lon, lat, sog, cog, length, rnd.uniform(0, a.interval_s)))

out = gzip.open(a.output, "wt", compresslevel=1) if a.output.endswith(".gz") else open(a.output, "w")
out.write("MMSI,BaseDateTime,LAT,LON,SOG,COG,Heading,VesselName,IMO,CallSign,VesselType,Status,Length,Width,Draft,Cargo,TransceiverClass\n")
rows = 0
steps = int(a.hours * 3600 / a.interval_s)
for k in range(steps):
    lines = []
    for (mmsi, lon, lat, sog, cog, length, phase) in vessels:
        s = k * a.interval_s + phase
        dt = s - T
        d = sog * KN * dt
        la = lat + d * math.cos(math.radians(cog)) / M_PER_DEG
        lo = lon + d * math.sin(math.radians(cog)) / (M_PER_DEG * math.cos(math.radians(lat)))
        when = (midnight + timedelta(seconds=int(s))).strftime("%Y-%m-%dT%H:%M:%S")
        lines.append(f"{mmsi},{when},{la:.5f},{lo:.5f},{sog:.1f},{cog:.1f},511,VESSEL {mmsi},,,70,0,{length:.0f},20,,,A\n")
    out.write("".join(lines))
    rows += len(lines)
out.close()
print(f"{a.output}: {rows} rows, {a.vessels} vessels ({min(a.in_footprint, len(truth))} through the footprint at {a.time})", file=sys.stderr)
