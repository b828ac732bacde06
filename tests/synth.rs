//! `vesselscan synth` and the SAR scene model: determinism, round trips, where the vessels are,
//! the truth's georeferencing, and that the detector finds every vessel of a synthetic scene.
//!
//! GDAL checks print `skipped` without `gdalinfo`, unless `VESSELSCAN_REQUIRE_GDAL` is set.

mod common;
use common::bin;

use common::have_gdal;
use std::path::Path;
use std::process::Command;
use vesselscan::detect::{detect, DetectOptions, ThresholdMode};
use vesselscan::engine::cpu::CpuEngine;
use vesselscan::read::{read_raster, ReadOptions};
use vesselscan::synth::sar::{
    metres_per_degree, SarParams, SarScene, SceneCrs, Speckle, VesselTruth, HULL_MIN_FRACTION,
    VESSEL_MARGIN_PX,
};
use vesselscan::write::geotiff::{Compression, GeoTiffOptions};

fn params(w: u32, h: u32, seed: u64, vessels: u32, land: f64) -> SarParams {
    SarParams {
        width: w,
        height: h,
        seed,
        vessels,
        land_fraction: land,
        ..Default::default()
    }
}

/// FNV-1a over the samples, little-endian.
/// The GDAL geotransform the truth GeoJSON records (`vesselscan_synth.geo_transform`).
fn truth_geo_transform(j: &serde_json::Value) -> Vec<f64> {
    j["vesselscan_synth"]["geo_transform"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect()
}

fn fnv(px: &[u16]) -> u64 {
    px.iter()
        .flat_map(|v| v.to_le_bytes())
        .fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
        })
}

#[test]
fn cli_same_seed_same_bytes_other_seed_differs() {
    let dir = tempfile::tempdir().unwrap();
    let run = |name: &str, seed: &str| {
        let out = dir.path().join(name);
        let o = bin()
            .args([
                "synth",
                "--width",
                "600",
                "--height",
                "450",
                "--vessels",
                "12",
            ])
            .args(["--seed", seed, "--tile", "256"])
            .arg(&out)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let err = String::from_utf8(o.stderr).unwrap();
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.contains("600x450") && err.contains("12 vessels"),
            "{err}"
        );
        let truth = dir.path().join(name.replace(".tif", ".truth.geojson"));
        (std::fs::read(&out).unwrap(), std::fs::read(&truth).unwrap())
    };
    let a = run("a.tif", "7");
    let b = run("b.tif", "7");
    let c = run("c.tif", "8");
    assert!(a.0 == b.0, "same seed, different image bytes");
    assert!(a.1 == b.1, "same seed, different truth bytes");
    assert!(a.0 != c.0 && a.1 != c.1);
    // No temporary files left behind.
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "a.tif",
            "a.truth.geojson",
            "b.tif",
            "b.truth.geojson",
            "c.tif",
            "c.truth.geojson"
        ]
    );
}

#[test]
fn samples_independent_of_threads_and_bands() {
    let p = SarParams {
        speckle: Speckle::K { nu: 2.5 },
        ..params(333, 270, 3, 8, 0.3)
    };
    let s = SarScene::new(&p).unwrap();
    let whole = s.render_rows(0, 270);
    for threads in [1, 3] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let (bands, rows) = pool.install(|| {
            let bands: Vec<u16> = (0..270)
                .step_by(64)
                .flat_map(|y0| s.render_rows(y0, 64.min(270 - y0)))
                .collect();
            let rows: Vec<u16> = (0..270).flat_map(|y| s.render_rows(y, 1)).collect();
            (bands, rows)
        });
        assert!(bands == whole && rows == whole, "{threads} threads");
    }
    // The scene object itself is deterministic too.
    let again = SarScene::new(&p).unwrap();
    assert_eq!(again.truth(), s.truth());
}

/// Golden values: the samples are a pure function of the parameters, the same on every
/// platform (pure-Rust libm, no platform maths). A deliberate change to the model must update
/// these.
#[test]
fn golden_samples() {
    let s = SarScene::new(&params(256, 192, 42, 4, 0.3)).unwrap();
    let px = s.render_rows(0, 192);
    let k = SarScene::new(&SarParams {
        speckle: Speckle::K { nu: 0.7 },
        looks: 3.0,
        ..params(128, 64, 5, 1, 0.0)
    })
    .unwrap()
    .render_rows(0, 64);
    eprintln!("golden: {:#018x} {:#018x}", fnv(&px), fnv(&k));
    assert_eq!(fnv(&px), GOLDEN_GAMMA);
    assert_eq!(fnv(&k), GOLDEN_K);
}
const GOLDEN_GAMMA: u64 = 0x6d29_5b5d_f721_e361;
const GOLDEN_K: u64 = 0xbd1f_811a_a696_38d6;

#[test]
fn round_trip_through_reader() {
    let dir = tempfile::tempdir().unwrap();
    let s = SarScene::new(&params(700, 389, 11, 10, 0.2)).unwrap();
    let want = s.render();
    for (tile, compression) in [
        (512, Compression::Deflate { level: 6 }),
        (16, Compression::None),
        (128, Compression::Deflate { level: 1 }),
    ] {
        let p = dir.path().join(format!("t{tile}.tif"));
        let opts = GeoTiffOptions {
            tile,
            compression,
            ..Default::default()
        };
        let w = s.write_geotiff(&p, &opts).unwrap();
        assert_eq!(w.bytes, std::fs::metadata(&p).unwrap().len());
        let r = read_raster(&p, &ReadOptions::default()).unwrap();
        assert_eq!((r.width, r.height), (700, 389));
        assert!(r.keys == want.keys, "tile {tile}: samples differ");
    }
}

/// Every pixel of `t`'s bounding box grown by the margin is inside the scene and water.
fn check_vessel_placement(s: &SarScene, t: &VesselTruth) {
    let p = s.params();
    let [x0, y0, x1, y1] = t.bbox;
    assert!(
        x0 < x1 && y0 < y1 && x1 <= p.width && y1 <= p.height,
        "{t:?}"
    );
    assert!(t.pixels > 0 && t.pixels <= (x1 - x0) * (y1 - y0), "{t:?}");
    let m = VESSEL_MARGIN_PX as u32;
    assert!(
        x0 >= m && y0 >= m && x1 + m <= p.width && y1 + m <= p.height,
        "{t:?}"
    );
    for y in y0 - m..y1 + m {
        for x in x0 - m..x1 + m {
            assert!(
                !s.is_land(x, y),
                "vessel {} touches land at ({x}, {y})",
                t.id
            );
        }
    }
    // The centre lies in its box (the pixel holding it is a hull pixel).
    assert!(t.x >= x0 as f64 && t.x < x1 as f64 && t.y >= y0 as f64 && t.y < y1 as f64);
    let [px, py] = t.peak_px;
    assert!(px >= x0 && px < x1 && py >= y0 && py < y1, "{t:?}");
    let (lmin, lmax) = p.length_m;
    assert!(t.length_m >= lmin && t.length_m <= lmax, "{t:?}");
    let ratio = t.length_m / t.width_m;
    assert!((5.0..=8.0).contains(&ratio), "{t:?}");
    assert!((0.0..180.0).contains(&t.heading_deg), "{t:?}");
}

#[test]
fn vessels_on_water_inside_apart() {
    for (land, vessels, seed) in [(0.3, 150, 1), (0.6, 60, 2), (0.0, 300, 3)] {
        let s = SarScene::new(&params(1024, 900, seed, vessels, land)).unwrap();
        let truth = s.truth();
        assert_eq!(truth.len(), vessels as usize);
        for (i, t) in truth.iter().enumerate() {
            assert_eq!(t.id as usize, i + 1);
            check_vessel_placement(&s, t);
        }
        // Boxes never overlap.
        for (i, a) in truth.iter().enumerate() {
            for b in &truth[i + 1..] {
                let apart = a.bbox[2] <= b.bbox[0]
                    || b.bbox[2] <= a.bbox[0]
                    || a.bbox[3] <= b.bbox[1]
                    || b.bbox[3] <= a.bbox[1];
                assert!(apart, "vessels {} and {} overlap", a.id, b.id);
            }
        }
        // The peak pixel carries the peak; hull pixels are at least the hull minimum.
        let img = s.render();
        let w = s.params().width as usize;
        for t in truth {
            let [px, py] = t.peak_px;
            assert!(img.keys[py as usize * w + px as usize] >= t.peak as u32);
            let floor = (HULL_MIN_FRACTION * t.peak as f64).floor() as u32;
            let [x0, y0, x1, y1] = t.bbox;
            let bright = (y0..y1)
                .flat_map(|y| (x0..x1).map(move |x| (x, y)))
                .filter(|&(x, y)| img.keys[y as usize * w + x as usize] >= floor)
                .count();
            assert!(bright >= t.pixels as usize, "{t:?}");
        }
    }
}

#[test]
fn land_fraction_and_extremes() {
    for f in [0.1, 0.25, 0.5] {
        let s = SarScene::new(&params(800, 600, 4, 10, f)).unwrap();
        let land = (0..600)
            .flat_map(|y| (0..800).map(move |x| (x, y)))
            .filter(|&(x, y)| s.is_land(x, y))
            .count() as f64
            / (800.0 * 600.0);
        assert!((land - f).abs() < 0.03, "asked {f}, got {land}");
    }
    let none = SarScene::new(&params(200, 100, 4, 10, 0.0)).unwrap();
    assert!((0..100).all(|y| (0..200).all(|x| !none.is_land(x, y))));
    let all = SarScene::new(&params(200, 100, 4, 0, 1.0)).unwrap();
    assert!((0..100).all(|y| (0..200).all(|x| all.is_land(x, y))));
    let e = SarScene::new(&params(200, 100, 4, 1, 1.0)).unwrap_err();
    assert!(e.to_string().contains("could place only 0 of 1"), "{e}");
}

#[test]
fn clutter_levels() {
    // Sea only, no vessels: the mean amplitude is the sea mean, for both speckle models.
    for speckle in [
        Speckle::Gamma,
        Speckle::K { nu: 2.0 },
        Speckle::K { nu: 0.5 },
    ] {
        for looks in [1.0, 4.4, 8.0] {
            let p = SarParams {
                speckle,
                looks,
                sea_mean: 150.0,
                ..params(512, 512, 6, 0, 0.0)
            };
            let img = SarScene::new(&p).unwrap().render();
            let mean = img.keys.iter().map(|&k| k as f64).sum::<f64>() / img.keys.len() as f64;
            assert!(
                (mean / 150.0 - 1.0).abs() < 0.02,
                "{speckle:?} L={looks}: mean {mean}"
            );
        }
    }
    // Land is brighter than the sea.
    let s = SarScene::new(&params(512, 512, 6, 0, 0.5)).unwrap();
    let img = s.render();
    let (mut sea, mut land) = (Vec::new(), Vec::new());
    for y in 0..512 {
        for x in 0..512 {
            let v = img.keys[(y * 512 + x) as usize] as f64;
            if s.is_land(x, y) {
                land.push(v)
            } else {
                sea.push(v)
            }
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (ms, ml) = (median(&mut sea), median(&mut land));
    assert!(ml > 2.0 * ms, "land median {ml}, sea median {ms}");
}

#[test]
fn truth_georeferencing() {
    let s = SarScene::new(&SarParams {
        lon: -70.25,
        lat: -33.5,
        pixel_size_m: 20.0,
        ..params(1000, 800, 9, 25, 0.1)
    })
    .unwrap();
    let g = s.georef();
    assert_eq!(g.crs.epsg(), 4326);
    // The centre of the scene is the requested point; the pixel is 20 m there.
    let (lon, lat) = g.pixel_to_model(500.0, 400.0);
    assert!(
        (lon + 70.25).abs() < 1e-9 && (lat + 33.5).abs() < 1e-9,
        "{lon} {lat}"
    );
    let (m_lat, m_lon) = metres_per_degree(-33.5);
    assert!((g.pixel_x * m_lon - 20.0).abs() < 1e-9 && (g.pixel_y * m_lat - 20.0).abs() < 1e-9);
    for t in s.truth() {
        let (lon, lat) = g.pixel_to_model(t.x, t.y);
        assert_eq!((t.lon, t.lat), (lon, lat));
        assert_eq!((t.lon, t.lat), s.pixel_to_lonlat(t.x, t.y));
    }
    // The GeoJSON: a FeatureCollection of Points at (lon, lat) with the truth as properties.
    let j: serde_json::Value = serde_json::from_str(&s.truth_geojson()).unwrap();
    assert_eq!(j["type"], "FeatureCollection");
    let f = j["features"].as_array().unwrap();
    assert_eq!(f.len(), 25);
    // serde_json's default parser may be 1 ulp off (the text is the shortest exact form).
    let near = |v: &serde_json::Value, want: f64| {
        let v = v.as_f64().unwrap();
        assert!(
            (v - want).abs() <= 1e-12 * want.abs().max(1.0),
            "{v} != {want}"
        );
    };
    for (f, t) in f.iter().zip(s.truth()) {
        assert_eq!(f["type"], "Feature");
        assert_eq!(f["geometry"]["type"], "Point");
        let c = f["geometry"]["coordinates"].as_array().unwrap();
        near(&c[0], t.lon);
        near(&c[1], t.lat);
        let pr = &f["properties"];
        assert_eq!(pr["id"], t.id);
        near(&pr["x"], t.x);
        near(&pr["y"], t.y);
        near(&pr["lon"], t.lon);
        near(&pr["length_m"], t.length_m);
        near(&pr["width_m"], t.width_m);
        near(&pr["heading_deg"], t.heading_deg);
        assert_eq!(pr["peak"], t.peak);
        assert_eq!(pr["bbox"][2], t.bbox[2]);
    }
    let gt = truth_geo_transform(&j);
    for (a, b) in gt.iter().zip(g.geo_transform()) {
        near(&serde_json::json!(a), b);
    }
}

#[test]
fn utm_scene() {
    let s = SarScene::new(&SarParams {
        crs: SceneCrs::Utm,
        lon: 151.3,
        lat: -33.9,
        ..params(1200, 1000, 13, 20, 0.2)
    })
    .unwrap();
    let g = s.georef();
    assert_eq!(g.crs.epsg(), 32756);
    assert_eq!((g.pixel_x, g.pixel_y), (10.0, 10.0));
    let (e, n) = vesselscan::geo::Crs::utm_containing(151.3, -33.9)
        .from_lonlat(151.3, -33.9)
        .unwrap();
    assert_eq!(g.pixel_to_model(600.0, 500.0), (e, n));
    let (lon, lat) = s.pixel_to_lonlat(600.0, 500.0);
    assert!((lon - 151.3).abs() < 1e-9 && (lat + 33.9).abs() < 1e-9);
    for t in s.truth() {
        assert_eq!((t.lon, t.lat), s.pixel_to_lonlat(t.x, t.y));
    }
    let j: serde_json::Value = serde_json::from_str(&s.truth_geojson()).unwrap();
    assert_eq!(j["vesselscan_synth"]["crs"], "EPSG:32756");
    let e = SarScene::new(&SarParams {
        crs: SceneCrs::Utm,
        lat: 85.0,
        ..params(100, 100, 1, 0, 0.0)
    })
    .unwrap_err();
    assert!(e.to_string().contains("UTM"), "{e}");
}

#[test]
fn gdal_agrees_with_truth() {
    if !have_gdal() {
        return;
    }
    for (crs, epsg, centre) in [
        (
            "wgs84",
            "ID[\"EPSG\",4326]",
            "Center      (  -4.5000000,  48.2500000)",
        ),
        ("utm", "ID[\"EPSG\",32630]", "WGS 84 / UTM zone 30N"),
    ] {
        gdal_check(crs, epsg, centre);
    }
}

fn gdal_check(crs: &str, epsg: &str, centre: &str) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("scene.tif");
    let truth = dir.path().join("t.geojson");
    let o = bin()
        .args([
            "synth",
            "--width",
            "1100",
            "--height",
            "700",
            "--vessels",
            "6",
        ])
        .args(["--lon", "-4.5", "--lat", "48.25", "--crs", crs, "--truth"])
        .arg(&truth)
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let info = Command::new("gdalinfo").arg(&out).output().unwrap();
    let text = String::from_utf8(info.stdout).unwrap();
    assert!(text.contains("Size is 1100, 700"), "{text}");
    assert!(text.contains("Block=512x512 Type=UInt16"), "{text}");
    assert!(text.contains("COMPRESSION=DEFLATE"), "{text}");
    assert!(text.contains(epsg), "{text}");
    assert!(text.contains(centre), "{text}");
    // Each vessel's lon/lat falls in its centre pixel, as GDAL computes it.
    let j: serde_json::Value = serde_json::from_slice(&std::fs::read(&truth).unwrap()).unwrap();
    for f in j["features"].as_array().unwrap() {
        let p = &f["properties"];
        let (lon, lat) = (p["lon"].as_f64().unwrap(), p["lat"].as_f64().unwrap());
        let o = Command::new("gdallocationinfo")
            .args(["-xml", "-wgs84"])
            .arg(&out)
            .arg(format!("{lon:.12}"))
            .arg(format!("{lat:.12}"))
            .output()
            .unwrap();
        let xml = String::from_utf8(o.stdout).unwrap();
        let (x, y) = (p["x"].as_f64().unwrap(), p["y"].as_f64().unwrap());
        let want = format!("pixel=\"{}\" line=\"{}\"", x.floor(), y.floor());
        assert!(xml.contains(&want), "{want} not in {xml}");
    }
    // UTM: PROJ takes each truth lon/lat back to the model coordinates of (x, y), within 1 mm.
    if crs == "utm" {
        use std::io::Write;
        let gt = truth_geo_transform(&j);
        let mut child = Command::new("gdaltransform")
            .args(["-s_srs", "EPSG:4326", "-t_srs", "EPSG:32630", "-output_xy"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let feats = j["features"].as_array().unwrap();
        {
            let mut stdin = child.stdin.take().unwrap();
            for f in feats {
                let p = &f["properties"];
                writeln!(stdin, "{} {}", p["lon"], p["lat"]).unwrap();
            }
        }
        let out = child.wait_with_output().unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        assert_eq!(text.lines().count(), feats.len(), "{text}");
        for (line, f) in text.lines().zip(feats) {
            let v: Vec<f64> = line
                .split_whitespace()
                .map(|t| t.parse().unwrap())
                .collect();
            let p = &f["properties"];
            let (x, y) = (p["x"].as_f64().unwrap(), p["y"].as_f64().unwrap());
            let (e, n) = (gt[0] + x * gt[1], gt[3] + y * gt[5]);
            assert!(
                (v[0] - e).abs() < 1e-3 && (v[1] - n).abs() < 1e-3,
                "PROJ {line} vs ({e}, {n})"
            );
        }
    }
}

/// The detector on a land-free synthetic scene finds every vessel: every hull pixel is at least
/// 0.3 x the smallest peak (1500), so a fixed threshold of 400 keeps each hull whole, and the
/// sea (mean 150) essentially never reaches it.
#[test]
fn detection_finds_every_vessel() {
    for speckle in [Speckle::Gamma, Speckle::K { nu: 4.0 }] {
        let p = SarParams {
            speckle,
            ..params(1024, 1024, 21, 80, 0.0)
        };
        let threshold = 400.0;
        assert!(HULL_MIN_FRACTION * p.peak.0 > threshold);
        let s = SarScene::new(&p).unwrap();
        let raster = s.render();
        let out = detect(
            &CpuEngine,
            &raster,
            &DetectOptions {
                threshold: ThresholdMode::Fixed(threshold),
                ..Default::default()
            },
        )
        .unwrap();
        let dets = &out.detections;
        let inside = |b: &[u64; 4], x: f64, y: f64| {
            x >= b[0] as f64 && x < b[2] as f64 && y >= b[1] as f64 && y < b[3] as f64
        };
        for t in s.truth() {
            let hit = dets.iter().find(|d| inside(&d.bbox, t.x, t.y));
            let d = hit.unwrap_or_else(|| panic!("{speckle:?}: vessel {t:?} not detected"));
            // The whole hull is one object.
            let [x0, y0, x1, y1] = t.bbox.map(u64::from);
            assert!(
                d.bbox[0] <= x0 && d.bbox[1] <= y0 && d.bbox[2] >= x1 && d.bbox[3] >= y1,
                "{speckle:?}: vessel {} box {:?} not within detection box {:?}",
                t.id,
                t.bbox,
                d.bbox
            );
            assert!(d.area >= t.pixels as u64);
        }
        let alarms = dets
            .iter()
            .filter(|d| !s.truth().iter().any(|t| inside(&d.bbox, t.x, t.y)))
            .count();
        eprintln!(
            "{speckle:?}: {} detections for {} vessels, {alarms} others (sidelobe fragments, clutter)",
            dets.len(),
            s.truth().len()
        );
    }
}

#[test]
fn cli_errors_are_one_line_and_leave_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.tif");
    for args in [
        vec!["--tile", "100"],
        vec!["--tile", "16384"],
        vec!["--land", "1.5"],
        vec!["--looks", "0.5"],
        vec!["--vessels", "5000"],
        vec!["--lat", "89.9"],
        vec!["--min-length-m", "50", "--max-length-m", "40"],
    ] {
        let o = bin()
            .args(["synth", "--width", "100", "--height", "100"])
            .args(&args)
            .arg(&out)
            .output()
            .unwrap();
        assert!(!o.status.success(), "{args:?}");
        let err = String::from_utf8(o.stderr).unwrap();
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with("vesselscan: "), "{err}");
    }
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    // A missing output folder names the file.
    let o = bin()
        .args(["synth", "--width", "16", "--height", "16"])
        .arg(dir.path().join("no/such/x.tif"))
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("no/such/x.tif"));
}

#[test]
fn tiny_scenes() {
    let dir = tempfile::tempdir().unwrap();
    for (w, h) in [(1, 1), (1, 40), (33, 1), (17, 17)] {
        let s = SarScene::new(&params(w, h, 1, 0, 0.5)).unwrap();
        let p = dir.path().join(format!("{w}x{h}.tif"));
        s.write_geotiff(&p, &GeoTiffOptions::default()).unwrap();
        let r = read_raster(&p, &ReadOptions::default()).unwrap();
        assert_eq!(r.keys, s.render().keys);
    }
    assert!(Path::new(dir.path()).is_dir());
}
