//! `--ais`: detections on a generated georeferenced SAR scene matched against generated AIS
//! tracks: vessels that broadcast (interpolated and extrapolated tracks), vessels that do not
//! (dark), an AIS vessel with no ship under it, one outside the scene, a stale track, a
//! duplicate report and a bad row; plain and gzip files, CSV and GeoJSON outputs, the errors.

mod common;
use common::{ok, run};

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use vesselscan::ais::track::{destination, distance_m};

const T: &str = "2024-02-09T02:13:00Z";
const HEADER: &str = "MMSI,BaseDateTime,LAT,LON,SOG,COG,Heading,VesselName,IMO,CallSign,VesselType,Status,Length,Width,Draft,Cargo,TransceiverClass";

/// MarineCadastre time of `T` plus `dt` seconds.
fn at(dt: i64) -> String {
    let base = 2 * 3600 + 13 * 60; // 02:13:00
    let s = base + dt;
    format!(
        "2024-02-09T{:02}:{:02}:{:02}",
        s / 3600,
        s % 3600 / 60,
        s % 60
    )
}

#[allow(clippy::too_many_arguments)]
fn row(mmsi: u64, dt: i64, lon: f64, lat: f64, sog: f64, cog: f64, name: &str, len: f64) -> String {
    format!(
        "{mmsi},{},{lat},{lon},{sog},{cog},511,\"{name}\",,,70,0,{len},20,,,A",
        at(dt)
    )
}

struct Scene {
    _dir: tempfile::TempDir,
    dir: PathBuf,
    tif: PathBuf,
    /// Truth vessels (lon, lat, length).
    truth: Vec<(f64, f64, f64)>,
    /// Detections without AIS (lon, lat).
    dets: Vec<(f64, f64)>,
}

fn scene() -> Scene {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().to_owned();
    let tif = dir.join("scene.tif");
    ok(&run(&[
        "synth",
        "--width",
        "1200",
        "--height",
        "900",
        "--vessels",
        "8",
        "--seed",
        "3",
        tif.to_str().unwrap(),
    ]));
    let truth: Value =
        serde_json::from_slice(&std::fs::read(dir.join("scene.truth.geojson")).unwrap()).unwrap();
    let truth = truth["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let p = &f["properties"];
            (
                p["lon"].as_f64().unwrap(),
                p["lat"].as_f64().unwrap(),
                p["length_m"].as_f64().unwrap(),
            )
        })
        .collect();
    let out = dir.join("plain.json");
    ok(&run(&detect_args(&tif, &out)));
    let dets = detections(&out)
        .iter()
        .map(|d| (d["lon"].as_f64().unwrap(), d["lat"].as_f64().unwrap()))
        .collect();
    Scene {
        _dir: d,
        dir,
        tif,
        truth,
        dets,
    }
}

fn detect_args(tif: &Path, out: &Path) -> Vec<&'static str> {
    let s =
        |p: &Path| -> &'static str { Box::leak(p.to_str().unwrap().to_owned().into_boxed_str()) };
    vec![
        "detect",
        s(tif),
        "--preset",
        "sar",
        "--backend",
        "cpu",
        "-o",
        s(out),
    ]
}

fn doc(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn detections(path: &Path) -> Vec<Value> {
    doc(path)["detections"].as_array().unwrap().clone()
}

/// The AIS file of a scene: truth vessels 0, 2, 4, 6 broadcast along interpolated tracks,
/// vessel 1 along a track extrapolated from 10 minutes before; vessel 3 has only a report 2 h
/// old (stale); the others are silent. Plus a vessel in open water with no ship, one 50 km
/// away, a duplicate report and a bad row. Returns the text and, per broadcasting truth
/// index, its MMSI.
fn ais_text(s: &Scene) -> (String, BTreeMap<usize, u64>) {
    let mut rows = vec![HEADER.to_string()];
    let mut mmsi_of = BTreeMap::new();
    let kn = 1852.0 / 3600.0;
    for (i, &(lon, lat, len)) in s.truth.iter().enumerate() {
        let mmsi = 244_000_000 + i as u64;
        let (sog, cog) = (8.0, 30.0 + 40.0 * i as f64);
        match i {
            0 | 2 | 4 | 6 => {
                let (lo0, la0) = destination(lon, lat, cog + 180.0, sog * kn * 240.0);
                let (lo1, la1) = destination(lon, lat, cog, sog * kn * 360.0);
                rows.push(row(
                    mmsi,
                    -240,
                    lo0,
                    la0,
                    sog,
                    cog,
                    &format!("SHIP, NO {i}"),
                    len,
                ));
                rows.push(row(
                    mmsi,
                    360,
                    lo1,
                    la1,
                    sog,
                    cog,
                    &format!("SHIP, NO {i}"),
                    len,
                ));
                mmsi_of.insert(i, mmsi);
            }
            1 => {
                let (lo0, la0) = destination(lon, lat, cog + 180.0, sog * kn * 600.0);
                rows.push(row(mmsi, -600, lo0, la0, sog, cog, "EXTRAPOLATED", len));
                // The same MMSI twice at one time: the second is dropped.
                rows.push(row(
                    mmsi,
                    -600,
                    lo0 + 0.01,
                    la0,
                    sog,
                    cog,
                    "EXTRAPOLATED",
                    len,
                ));
                mmsi_of.insert(i, mmsi);
            }
            3 => rows.push(row(mmsi, -7200, lon, lat, 0.0, 0.0, "STALE", len)),
            _ => {}
        }
    }
    // Open water with no ship: the middle of the scene's left half, away from every truth
    // vessel and detection.
    let (glon, glat) = ghost_position(s);
    rows.push(row(999_000_001, 0, glon, glat, 0.0, 0.0, "GHOST", 100.0));
    rows.push(row(
        999_000_002,
        0,
        glon + 0.7,
        glat,
        0.0,
        0.0,
        "FAR AWAY",
        100.0,
    ));
    rows.push("244999999,2024-02-09T02:13:00,abc,3.0,1,1,511,BAD,,,,,,,,,A".to_string());
    (rows.join("\n") + "\n", mmsi_of)
}

/// A point of the scene at least 2 km from every truth vessel and detection.
fn ghost_position(s: &Scene) -> (f64, f64) {
    let lons: Vec<f64> = s.truth.iter().map(|t| t.0).collect();
    let lats: Vec<f64> = s.truth.iter().map(|t| t.1).collect();
    let (lo0, lo1) = lons
        .iter()
        .fold((f64::MAX, f64::MIN), |a, &v| (a.0.min(v), a.1.max(v)));
    let (la0, la1) = lats
        .iter()
        .fold((f64::MAX, f64::MIN), |a, &v| (a.0.min(v), a.1.max(v)));
    let mut best = (0.0, 0.0, 0.0);
    for i in 0..=20 {
        for j in 0..=20 {
            let lon = lo0 + (lo1 - lo0) * i as f64 / 20.0;
            let lat = la0 + (la1 - la0) * j as f64 / 20.0;
            let near = s
                .truth
                .iter()
                .map(|t| (t.0, t.1))
                .chain(s.dets.iter().copied())
                .map(|(a, b)| distance_m(lon, lat, a, b))
                .fold(f64::MAX, f64::min);
            if near > best.2 {
                best = (lon, lat, near);
            }
        }
    }
    assert!(best.2 > 2000.0, "no open water 2 km from every vessel");
    (best.0, best.1)
}

fn write(path: &Path, text: &str, gzip: bool) {
    let f = std::fs::File::create(path).unwrap();
    if gzip {
        let mut g = flate2::write::GzEncoder::new(f, flate2::Compression::default());
        g.write_all(text.as_bytes()).unwrap();
        g.finish().unwrap();
    } else {
        let mut f = f;
        f.write_all(text.as_bytes()).unwrap();
    }
}

#[test]
fn dark_vessels_on_a_generated_scene() {
    let s = scene();
    assert!(
        s.dets.len() >= 4,
        "the SAR preset finds the synth ships: {:?}",
        s.dets
    );
    let (text, mmsi_of) = ais_text(&s);
    let ais = s.dir.join("ais.csv");
    write(&ais, &text, false);
    let out = s.dir.join("ais.json");
    let mut args = detect_args(&s.tif, &out);
    args.extend(["--ais", ais.to_str().unwrap(), "--time", T]);
    let err = ok(&run(&args));
    let j = doc(&out);
    let dets = j["detections"].as_array().unwrap();
    assert_eq!(dets.len(), s.dets.len(), "AIS changes no detection");

    // The detection of each truth vessel (within 150 m), if any.
    let det_of = |i: usize| {
        let (lon, lat, _) = s.truth[i];
        s.dets
            .iter()
            .position(|&(a, b)| distance_m(lon, lat, a, b) < 150.0)
    };
    let mut want_mmsi = BTreeMap::new();
    let mut undetected = BTreeSet::new();
    for (&i, &m) in &mmsi_of {
        match det_of(i) {
            Some(k) => {
                want_mmsi.insert(k, m);
            }
            None => {
                undetected.insert(m);
            }
        }
    }
    assert!(want_mmsi.len() >= 3, "too few broadcasting ships detected");
    for (k, d) in dets.iter().enumerate() {
        match want_mmsi.get(&k) {
            Some(&m) => {
                assert_eq!(d["ais_mmsi"].as_u64(), Some(m), "detection {k}: {d}");
                assert_eq!(d["dark"], Value::Bool(false));
                assert!(d["ais_distance_m"].as_f64().unwrap() < 150.0);
                assert!(d["ais_name"].as_str().unwrap().starts_with(['S', 'E']));
                assert!(d["ais_length_m"].as_f64().unwrap() > 0.0);
            }
            None => {
                assert_eq!(d["dark"], Value::Bool(true), "detection {k}: {d}");
                assert_eq!(d["ais_mmsi"], Value::Null);
                assert_eq!(d["ais_distance_m"], Value::Null);
            }
        }
    }
    // The stale vessel's ship (truth 3) is dark if detected; the ghost and the broadcasting
    // ships that were not detected are the AIS vessels left over; the far one is outside.
    if let Some(k) = det_of(3) {
        assert_eq!(dets[k]["dark"], Value::Bool(true));
    }
    let mut want_unmatched = undetected.clone();
    want_unmatched.insert(999_000_001);
    let got: BTreeSet<u64> = j["ais_unmatched"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["mmsi"].as_u64().unwrap())
        .collect();
    assert_eq!(got, want_unmatched);
    let a = &j["ais"];
    assert_eq!(a["time"], T);
    assert_eq!(a["time_source"], "--time");
    assert_eq!(a["skipped_rows"], 1);
    let bad_line = text.lines().position(|l| l.contains(",abc,")).unwrap() + 1;
    assert_eq!(
        a["first_skipped"].as_str().unwrap(),
        format!("line {bad_line}: bad LAT 'abc'")
    );
    assert!(err.contains("bad rows skipped (first: line"), "{err}");
    assert_eq!(a["duplicates"], 1);
    assert_eq!(a["stale"], 1);
    assert_eq!(a["vessels"], 8); // 5 broadcasting, the stale one, ghost, far away
    assert_eq!(a["matched"].as_u64().unwrap() as usize, want_mmsi.len());
    assert_eq!(
        a["dark"].as_u64().unwrap() as usize,
        dets.len() - want_mmsi.len()
    );
    assert_eq!(a["in_footprint"], 6); // the five broadcasting and the ghost
    assert!(
        err.contains("dark") && err.contains("AIS at 2024-02-09T02:13:00Z"),
        "{err}"
    );

    // The same file gzipped: the same document but for the file name.
    let gz = s.dir.join("ais.csv.gz");
    write(&gz, &text, true);
    let out_gz = s.dir.join("gz.json");
    let mut args = detect_args(&s.tif, &out_gz);
    args.extend(["--ais", gz.to_str().unwrap(), "--time", T]);
    ok(&run(&args));
    let mut jg = doc(&out_gz);
    jg["ais"]["file"] = j["ais"]["file"].clone();
    assert_eq!(jg, j);

    // CSV and GeoJSON carry the same fields.
    let csv = s.dir.join("ais.csv.out");
    let mut args = detect_args(&s.tif, &csv);
    args.extend([
        "--ais",
        ais.to_str().unwrap(),
        "--time",
        T,
        "--format",
        "csv",
    ]);
    ok(&run(&args));
    let text = std::fs::read_to_string(&csv).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert!(header.ends_with(&[
        "ais_mmsi",
        "ais_name",
        "ais_distance_m",
        "ais_length_m",
        "dark"
    ]));
    let darks = lines.filter(|l| l.ends_with(",true")).count();
    assert_eq!(darks, dets.len() - want_mmsi.len());
    assert!(text.contains("\"SHIP, NO "), "names with commas are quoted");
    let gj = s.dir.join("ais.geojson");
    let mut args = detect_args(&s.tif, &gj);
    args.extend([
        "--ais",
        ais.to_str().unwrap(),
        "--time",
        T,
        "--format",
        "geojson",
    ]);
    ok(&run(&args));
    let g = doc(&gj);
    assert_eq!(g["ais_unmatched"], j["ais_unmatched"]);
    let feats = g["features"].as_array().unwrap();
    for (f, d) in feats.iter().zip(dets) {
        for k in [
            "ais_mmsi",
            "ais_name",
            "ais_distance_m",
            "ais_length_m",
            "dark",
        ] {
            assert_eq!(f["properties"][k], d[k], "{k}");
        }
    }
    if common::have_gdal() {
        let o = Command::new("ogrinfo")
            .args(["-al", "-so"])
            .arg(&gj)
            .output()
            .unwrap();
        let info = String::from_utf8_lossy(&o.stdout);
        assert!(
            info.contains(&format!("Feature Count: {}", dets.len())),
            "{info}"
        );
        assert!(info.contains("dark: Integer(Boolean)"), "{info}");
    }
}

#[test]
fn errors_and_edge_cases() {
    let s = scene();
    let (text, _) = ais_text(&s);
    let ais = s.dir.join("ais.csv");
    write(&ais, &text, false);
    let out = s.dir.join("o.json");

    // No acquisition time: the synth TIFF has no DateTime tag.
    let mut args = detect_args(&s.tif, &out);
    args.extend(["--ais", ais.to_str().unwrap()]);
    let o = run(&args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("--time"), "{err}");
    assert_eq!(
        err.lines().filter(|l| l.starts_with("vesselscan:")).count(),
        1,
        "{err}"
    );
    assert!(!out.exists());

    // Bad rows as errors: the line number and the field.
    let mut args = detect_args(&s.tif, &out);
    args.extend([
        "--ais",
        ais.to_str().unwrap(),
        "--time",
        T,
        "--ais-bad-rows",
        "error",
    ]);
    let o = run(&args);
    let err = String::from_utf8_lossy(&o.stderr);
    let line = text.lines().position(|l| l.contains(",abc,")).unwrap() + 1;
    assert!(!o.status.success(), "{err}");
    assert!(
        err.contains(&format!("line {line}")) && err.contains("LAT"),
        "{err}"
    );
    assert!(!out.exists());

    // No AIS in the footprint: every detection is dark, nothing unmatched.
    let far = s.dir.join("far.csv");
    write(
        &far,
        &format!(
            "{HEADER}\n{}\n",
            row(1, 0, 100.0, 10.0, 0.0, 0.0, "X", 10.0)
        ),
        false,
    );
    let mut args = detect_args(&s.tif, &out);
    args.extend(["--ais", far.to_str().unwrap(), "--time", T]);
    ok(&run(&args));
    let j = doc(&out);
    let dets = j["detections"].as_array().unwrap();
    assert!(dets.iter().all(|d| d["dark"] == Value::Bool(true)));
    assert_eq!(j["ais_unmatched"].as_array().unwrap().len(), 0);
    assert_eq!(j["ais"]["in_footprint"], 0);

    // A time outside every track's gap: all stale.
    let mut args = detect_args(&s.tif, &out);
    args.extend([
        "--ais",
        ais.to_str().unwrap(),
        "--time",
        "2024-02-10T12:00:00Z",
    ]);
    ok(&run(&args));
    let j = doc(&out);
    assert_eq!(j["ais"]["stale"], j["ais"]["vessels"]);
    assert_eq!(j["ais"]["matched"], 0);

    // A missing file, a header without LAT, a bad --time: one line each, no output.
    for (file, needle) in [
        (s.dir.join("missing.csv"), "missing.csv"),
        (
            {
                let p = s.dir.join("nolat.csv");
                write(
                    &p,
                    "MMSI,BaseDateTime,LON\n1,2024-02-09T02:13:00,3\n",
                    false,
                );
                p
            },
            "LAT",
        ),
    ] {
        let mut args = detect_args(&s.tif, &out);
        args.extend(["--ais", file.to_str().unwrap(), "--time", T]);
        let o = run(&args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success() && err.contains(needle), "{err}");
    }
    let mut args = detect_args(&s.tif, &out);
    args.extend(["--ais", ais.to_str().unwrap(), "--time", "yesterday"]);
    assert!(!run(&args).status.success());

    // --azimuth-correction needs a product that gives the geometry (a SAFE annotation).
    let fresh = s.dir.join("azimuth.json");
    let mut args = detect_args(&s.tif, &fresh);
    args.extend([
        "--ais",
        ais.to_str().unwrap(),
        "--time",
        T,
        "--azimuth-correction",
    ]);
    let o = run(&args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("SAFE"), "{err}");
    assert!(!fresh.exists());

    // A scene without georeferencing.
    let png = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/ssdd_001114.jpg");
    let o = run(&[
        "detect",
        png.to_str().unwrap(),
        "--ais",
        ais.to_str().unwrap(),
        "--time",
        T,
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && err.contains("georeferencing"),
        "{err}"
    );
}

#[test]
fn batch_matches_every_scene() {
    let s = scene();
    let (text, _) = ais_text(&s);
    let ais = s.dir.join("ais.csv");
    write(&ais, &text, false);
    let outdir = s.dir.join("out");
    let o = run(&[
        "batch",
        s.tif.to_str().unwrap(),
        "-o",
        outdir.to_str().unwrap(),
        "--preset",
        "sar",
        "--backend",
        "cpu",
        "--ais",
        ais.to_str().unwrap(),
        "--time",
        T,
    ]);
    ok(&o);
    let single = s.dir.join("single.json");
    let mut args = detect_args(&s.tif, &single);
    args.extend(["--ais", ais.to_str().unwrap(), "--time", T]);
    ok(&run(&args));
    let a = doc(&outdir.join("scene.json"));
    let b = doc(&single);
    assert_eq!(a["detections"], b["detections"]);
    assert_eq!(a["ais_unmatched"], b["ais_unmatched"]);
}

#[test]
fn sen2ships_detections_and_a_sentinel1_annotation_time() {
    let Some(shared) = common::shared_data() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // Genoa's detections (CPU, default preset); AIS reports 120 m north of every other one,
    // moored (SOG 0), in the Sentinel-2 scene's frame of 2024 (the file has no DateTime tag).
    let tif = shared.join("sen2ships/genoa/genoa_B08.tif");
    let plain = dir.path().join("plain.json");
    let t = tif.to_str().unwrap();
    ok(&run(&[
        "detect",
        t,
        "--backend",
        "cpu",
        "-o",
        plain.to_str().unwrap(),
    ]));
    let dets = detections(&plain);
    assert!(dets.len() >= 4, "{} detections", dets.len());
    let mut rows = vec![HEADER.to_string()];
    for (k, d) in dets.iter().enumerate().filter(|(k, _)| k % 2 == 0) {
        let (lon, lat) = (d["lon"].as_f64().unwrap(), d["lat"].as_f64().unwrap());
        let (lon, lat) = destination(lon, lat, 0.0, 120.0);
        rows.push(row(
            237_000_000 + k as u64,
            -60,
            lon,
            lat,
            0.0,
            360.0,
            "MOORED",
            0.0,
        ));
    }
    let ais = dir.path().join("genoa.csv");
    write(&ais, &(rows.join("\n") + "\n"), false);
    let out = dir.path().join("ais.json");
    ok(&run(&[
        "detect",
        t,
        "--backend",
        "cpu",
        "--ais",
        ais.to_str().unwrap(),
        "--time",
        T,
        "-o",
        out.to_str().unwrap(),
    ]));
    let with = detections(&out);
    assert_eq!(with.len(), dets.len());
    for (k, d) in with.iter().enumerate() {
        if k % 2 == 0 {
            assert_eq!(d["ais_mmsi"].as_u64(), Some(237_000_000 + k as u64), "{d}");
            let m = d["ais_distance_m"].as_f64().unwrap();
            assert!((m - 120.0).abs() < 0.01, "{m}");
            assert_eq!(d["ais_length_m"], Value::Null, "length 0 is unknown");
        } else {
            // Every report went to its own detection, one to one: none is left for the others.
            assert_eq!(d["dark"], Value::Bool(true), "{d}");
        }
    }
    let j = doc(&out);
    assert_eq!(
        j["ais"]["matched"].as_u64().unwrap() as usize,
        dets.len().div_ceil(2)
    );
    assert_eq!(j["ais_unmatched"].as_array().unwrap().len(), 0);

    // A Sentinel-1 SAFE measurement: the time comes from its annotation. A threshold nothing
    // reaches keeps the 430 Mpx scene fast.
    let safe = shared.join("s1_grd_safe");
    let Some(m) = std::fs::read_dir(&safe)
        .ok()
        .and_then(|mut d| d.next())
        .map(|e| {
            let m = e.unwrap().path().join("measurement");
            std::fs::read_dir(m)
                .unwrap()
                .next()
                .unwrap()
                .unwrap()
                .path()
        })
    else {
        return;
    };
    let out = dir.path().join("s1.json");
    ok(&run(&[
        "detect",
        m.to_str().unwrap(),
        "--backend",
        "cpu",
        "--threshold",
        "65535",
        "--ais",
        ais.to_str().unwrap(),
        "--azimuth-correction",
        "-o",
        out.to_str().unwrap(),
    ]));
    let a = &doc(&out)["ais"];
    // The geometry of the annotation: a descending pass heading -165.7 deg, 38.9 deg mid-swath
    // incidence, slant range from the grid's two-way times (5.3-6.1 ms: 800-915 km), the
    // orbit state vector's 7.59 km/s, looking right.
    let g = &a["azimuth_correction"];
    let f = |k: &str| g[k].as_f64().unwrap();
    assert!((f("heading_deg") + 165.6512).abs() < 1e-3, "{g}");
    assert!((f("incidence_deg") - 38.9292).abs() < 1e-3, "{g}");
    assert!((800e3..915e3).contains(&f("slant_range_m")), "{g}");
    assert!((f("platform_speed_mps") - 7590.0).abs() < 10.0, "{g}");
    assert_eq!(g["look"], "right");
    // startTime 05:26:23.794457, stopTime 05:26:48.793373: the middle, to the millisecond.
    assert_eq!(a["time"], "2021-04-01T05:26:36.294Z");
    assert!(a["time_source"]
        .as_str()
        .unwrap()
        .contains("Sentinel-1 annotation"));
    assert_eq!(a["stale"], a["vessels"], "2024 reports are stale in 2021");
}

/// The rows of a MarineCadastre text (`ais_text`), as string records (the header first).
fn records(text: &str) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect()
}

/// CSV text of `rows` (fields quoted where they must be).
fn csv_text(rows: &[Vec<String>]) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    for r in rows {
        w.write_record(r).unwrap();
    }
    String::from_utf8(w.into_inner().unwrap()).unwrap()
}

/// The same tracks as a Global Fishing Watch / BigQuery export: ssvid, timestamp with " UTC",
/// lat, lon, speed_knots, course, heading, shipname, length_m (another column order).
fn gfw_text(mc: &str) -> String {
    let recs = records(mc);
    let mut rows = vec![[
        "ssvid",
        "timestamp",
        "lat",
        "lon",
        "speed_knots",
        "course",
        "heading",
        "shipname",
        "length_m",
    ]
    .map(String::from)
    .to_vec()];
    for r in &recs[1..] {
        let f = |i: usize| r.get(i).cloned().unwrap_or_default();
        rows.push(vec![
            f(0),
            format!("{} UTC", f(1).replace('T', " ")),
            f(2),
            f(3),
            f(4),
            f(5),
            f(6),
            f(7),
            f(12),
        ]);
    }
    csv_text(&rows)
}

/// Detect with `--ais file` and extra arguments: the document and stderr.
fn detect_ais(s: &Scene, out_name: &str, ais: &Path, extra: &[&str]) -> (Value, String) {
    let out = s.dir.join(out_name);
    let mut args = detect_args(&s.tif, &out);
    args.extend(["--ais", ais.to_str().unwrap()]);
    args.extend(extra);
    let err = ok(&run(&args));
    (doc(&out), err)
}

/// A document with the file name and the first skipped row's column name made equal to
/// `like`'s, for comparing runs on two layouts of the same tracks.
fn same_but_file(mut j: Value, like: &Value) -> Value {
    j["ais"]["file"] = like["ais"]["file"].clone();
    j["ais"]["first_skipped"] = like["ais"]["first_skipped"].clone();
    j
}

#[test]
fn gfw_export_matches_like_marinecadastre() {
    let s = scene();
    let (mc, mmsi_of) = ais_text(&s);
    let mc_path = s.dir.join("mc.csv");
    write(&mc_path, &mc, false);
    let (j, _) = detect_ais(&s, "mc.json", &mc_path, &["--time", T]);
    assert!(j["ais"]["matched"].as_u64().unwrap() >= 3, "{}", j["ais"]);
    let gfw = gfw_text(&mc);
    assert!(gfw.starts_with("ssvid,timestamp,lat,lon,speed_knots,course"));
    assert!(gfw.contains(" UTC,"), "{gfw}");
    for gzip in [false, true] {
        let p = s.dir.join(if gzip { "gfw.csv.gz" } else { "gfw.csv" });
        write(&p, &gfw, gzip);
        let (g, _) = detect_ais(&s, "gfw.json", &p, &["--time", T]);
        assert_eq!(same_but_file(g.clone(), &j), j, "gzip {gzip}");
        assert_eq!(
            g["ais"]["first_skipped"].as_str().unwrap(),
            j["ais"]["first_skipped"]
                .as_str()
                .unwrap()
                .replace("LAT", "lat")
        );
    }
    // Names came through the shipname column.
    let named = j["detections"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["ais_name"].is_string())
        .count();
    assert!(named >= 3 && mmsi_of.len() >= named);
}

#[test]
fn ais_columns_map_an_odd_header() {
    let s = scene();
    let (mc, _) = ais_text(&s);
    let mc_path = s.dir.join("mc.csv");
    write(&mc_path, &mc, false);
    let (j, _) = detect_ais(&s, "mc.json", &mc_path, &["--time", T]);
    // Columns no alias knows, Unix-second times, another order.
    let recs = records(&mc);
    let mut rows = vec![[
        "Y",
        "X",
        "when",
        "vessel id",
        "knots",
        "hdg",
        "callsign name",
        "loa",
    ]
    .map(String::from)
    .to_vec()];
    for r in &recs[1..] {
        let f = |i: usize| r.get(i).cloned().unwrap_or_default();
        let t = vesselscan::ais::reports::parse_utc(&f(1)).unwrap();
        rows.push(vec![
            f(2),
            f(3),
            format!("{t}"),
            f(0),
            f(4),
            f(5),
            f(7),
            f(12),
        ]);
    }
    let odd = s.dir.join("odd.csv");
    write(&odd, &csv_text(&rows), false);
    let map =
        "mmsi=VESSEL ID,time=when,lat=y,lon=x,sog=knots,cog=hdg,name=callsign name,length=loa";
    let (o, _) = detect_ais(&s, "odd.json", &odd, &["--time", T, "--ais-columns", map]);
    assert_eq!(same_but_file(o.clone(), &j), j);
    assert!(o["ais"]["first_skipped"]
        .as_str()
        .unwrap()
        .contains("bad Y 'abc'"));

    // Without the map: one line naming the file and the column it could not find.
    let out = s.dir.join("none.json");
    let mut args = detect_args(&s.tif, &out);
    args.extend(["--ais", odd.to_str().unwrap(), "--time", T]);
    let o = run(&args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.contains("odd.csv") && err.contains("no MMSI column") && err.contains("--ais-columns"),
        "{err}"
    );
    assert!(!out.exists());
}

#[test]
fn bad_ais_columns_are_one_line_errors() {
    let s = scene();
    let (mc, _) = ais_text(&s);
    let mc_path = s.dir.join("mc.csv");
    write(&mc_path, &mc, false);
    for (map, needles) in [
        ("mmsi=MMSI,speed=SOG", &["unknown key 'speed'", "sog"][..]),
        ("mmsi", &["'mmsi' is not key=COLUMN"][..]),
        ("time=", &["time= names no column"][..]),
        ("lat=LAT,lat=LAT", &["lat given twice"][..]),
        (
            "time=when",
            &["time=when", "no column 'when'", "BaseDateTime"][..],
        ),
        ("length=LOA", &["no column 'LOA'"][..]),
    ] {
        let out = s.dir.join("bad.json");
        let mut args = detect_args(&s.tif, &out);
        args.extend([
            "--ais",
            mc_path.to_str().unwrap(),
            "--time",
            T,
            "--ais-columns",
            map,
        ]);
        let o = run(&args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{map}");
        assert_eq!(err.trim().lines().count(), 1, "{map}: {err}");
        assert!(err.contains("mc.csv"), "{map}: {err}");
        for n in needles {
            assert!(err.contains(n), "{map}: {err}");
        }
        assert!(!out.exists());
    }
}

#[test]
fn quoted_names_with_commas_quotes_and_line_breaks() {
    let s = scene();
    let (mc, _) = ais_text(&s);
    let plain = s.dir.join("plain.csv");
    write(&plain, &mc, false);
    let (j, _) = detect_ais(&s, "plain.json", &plain, &["--time", T]);
    // Every broadcasting vessel's name gets a comma, doubled quotes and a line break.
    let quoted = mc.replace("\"SHIP, NO ", "\"SHIP, \"\"NO\"\"\nNUMBER ");
    let breaks = quoted.matches("\"\"\nNUMBER").count();
    assert!(breaks >= 8, "{breaks}");
    let p = s.dir.join("quoted.csv");
    write(&p, &quoted, false);
    let (q, _) = detect_ais(&s, "quoted.json", &p, &["--time", T]);
    let a = &q["ais"];
    // As many rows as the plain file, the bad one alone skipped, on its line moved down.
    assert_eq!(a["rows"], j["ais"]["rows"]);
    assert_eq!(a["rows"].as_u64().unwrap() as usize, mc.lines().count() - 1);
    assert_eq!(a["skipped_rows"], 1);
    let bad_line = quoted.lines().position(|l| l.contains(",abc,")).unwrap() + 1;
    assert_eq!(
        a["first_skipped"].as_str().unwrap(),
        format!("line {bad_line}: bad LAT 'abc'")
    );
    for k in [
        "matched",
        "dark",
        "vessels",
        "stale",
        "in_footprint",
        "unmatched_ais",
    ] {
        assert_eq!(a[k], j["ais"][k], "{k}");
    }
    let dq = q["detections"].as_array().unwrap();
    let dj = j["detections"].as_array().unwrap();
    let mut renamed = 0;
    for (x, y) in dq.iter().zip(dj) {
        assert_eq!(x["ais_mmsi"], y["ais_mmsi"]);
        assert_eq!(x["ais_distance_m"], y["ais_distance_m"]);
        if let Some(n) = y["ais_name"]
            .as_str()
            .filter(|n| n.starts_with("SHIP, NO "))
        {
            let want = n.replace("SHIP, NO ", "SHIP, \"NO\"\nNUMBER ");
            assert_eq!(x["ais_name"].as_str(), Some(want.as_str()));
            renamed += 1;
        }
    }
    assert!(renamed >= 2, "{renamed}");
}

#[test]
fn time_forms_on_the_command_line() {
    let s = scene();
    let (mc, _) = ais_text(&s);
    let p = s.dir.join("mc.csv");
    write(&p, &mc, false);
    let (j, _) = detect_ais(&s, "z.json", &p, &["--time", T]);
    for form in [
        "2024-02-09T02:13:00Z",
        "2024-02-09 02:13:00 UTC",
        "2024-02-09T02:13Z",
        "2024-02-09T02:13:00.000Z",
        "2024-02-09T04:13:00+02:00",
        "2024-02-08T21:13:00-05:00",
        "2024-02-09 02:13:00",
        "1707444780",
    ] {
        let (k, _) = detect_ais(&s, "form.json", &p, &["--time", form]);
        assert_eq!(k["ais"]["time"], T, "{form}");
        assert_eq!(k["detections"], j["detections"], "{form}");
    }
    for bad in [
        "2024-02-09",
        "2024-02-09T02:13:00+5",
        "2024-02-30T00:00:00Z",
        "soon",
    ] {
        let out = s.dir.join("bad.json");
        let mut args = detect_args(&s.tif, &out);
        args.extend(["--ais", p.to_str().unwrap(), "--time", bad]);
        let o = run(&args);
        assert!(!o.status.success(), "{bad}");
        assert!(String::from_utf8_lossy(&o.stderr).contains("not a date and time"));
    }
}

#[test]
fn a_larger_file_keeps_only_what_reaches_the_scene() {
    let s = scene();
    let (mc, _) = ais_text(&s);
    let (j, _) = detect_ais(
        &s,
        "small.json",
        &{
            let p = s.dir.join("small.csv");
            write(&p, &mc, false);
            p
        },
        &["--time", T],
    );
    // The scene's rows, then 3,000 more vessels reporting every 10 minutes over a day (gzip):
    // a third 1 to 3 degrees of latitude away (beyond what 50 kn covers in 30 minutes), the
    // others in the scene but hours away from its time. None of them can reach the scene.
    let (lon0, lat0, _) = s.truth[0];
    let mut text = mc.clone();
    let (mut extra_rows, mut in_time_far) = (0usize, BTreeSet::new());
    let base = 2 * 3600 + 13 * 60;
    for v in 0..3000u64 {
        let mmsi = 500_000_000 + v;
        let far = v % 3 == 0;
        for k in 0..144i64 {
            let dt = k * 600 - base; // from midnight
            if !far && dt.abs() <= 3 * 3600 {
                continue;
            }
            let (lon, lat) = if far {
                (
                    lon0 + (v % 7) as f64 * 0.01,
                    lat0 + 1.0 + (v % 200) as f64 * 0.01,
                )
            } else {
                (lon0, lat0)
            };
            if dt.abs() <= 1800 {
                in_time_far.insert(mmsi);
            }
            text.push_str(&row(mmsi, dt, lon, lat, 10.0, 0.0, "X", 50.0));
            text.push('\n');
            extra_rows += 1;
        }
    }
    let p = s.dir.join("big.csv.gz");
    write(&p, &text, true);
    let (b, _) = detect_ais(&s, "big.json", &p, &["--time", T]);
    let (a, sa) = (&b["ais"], &j["ais"]);
    assert_eq!(
        a["rows"].as_u64().unwrap() as usize,
        sa["rows"].as_u64().unwrap() as usize + extra_rows
    );
    assert_eq!(
        a["vessels"].as_u64().unwrap(),
        sa["vessels"].as_u64().unwrap() + 3000
    );
    // The far vessels reported within the gap limit are not stale; the others are.
    assert_eq!(
        a["stale"].as_u64().unwrap() as usize,
        sa["stale"].as_u64().unwrap() as usize + 3000 - in_time_far.len()
    );
    assert_eq!(in_time_far.len(), 1000);
    // Only the scene's own reports were kept, and the matches are the small file's.
    assert_eq!(a["reports_near"], sa["reports_near"]);
    assert_eq!(b["detections"], j["detections"]);
    assert_eq!(b["ais_unmatched"], j["ais_unmatched"]);
}
