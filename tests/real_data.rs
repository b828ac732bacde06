//! Smoke test on the real imagery in `../shared/data` (or `$VESSELSCAN_SHARED_DATA`): every
//! HRSID tile, a spread of SSDD chips and the Sentinel-2 port scenes through both backends,
//! with the default threshold and several tile sizes: identical detections, and the
//! detections land on annotated ships.

mod common;
use std::path::PathBuf;
use vesselscan::detect::{detect, DetectOptions};
use vesselscan::engine::cpu::CpuEngine;
use vesselscan::read::{read_raster, ReadOptions};

fn files(root: &std::path::Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = Vec::new();
    let mut add = |dir: PathBuf, ext: &str, step: usize| {
        if let Ok(rd) = std::fs::read_dir(&dir) {
            let mut f: Vec<PathBuf> = rd
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == ext))
                .collect();
            f.sort();
            v.extend(f.into_iter().step_by(step));
        }
    };
    add(root.join("hrsid/images"), "png", 1);
    add(root.join("ssdd/JPEGImages"), "jpg", 20);
    for city in ["casablanca", "honolulu", "busan"] {
        add(root.join("sen2ships").join(city), "tif", 1);
    }
    v
}

#[test]
fn real_chips_agree_on_both_backends() {
    let Some(root) = common::shared_data() else {
        return;
    };
    let list = files(&root);
    assert!(
        list.len() >= 10,
        "found only {} files under {}",
        list.len(),
        root.display()
    );
    let mut total = 0;
    for f in &list {
        let r = read_raster(f, &ReadOptions::default()).unwrap_or_else(|e| panic!("{e}"));
        let base = DetectOptions {
            min_area: 3,
            ..Default::default()
        };
        let cpu = detect(&CpuEngine, &r, &base).unwrap();
        total += cpu.detections.len();
        for tile in [61, 256] {
            let o = DetectOptions {
                tile_size: tile,
                ..base.clone()
            };
            assert_eq!(
                detect(&CpuEngine, &r, &o).unwrap().detections,
                cpu.detections,
                "{f:?} cpu tile {tile}"
            );
            if let Some(g) = common::gpu() {
                let g = g.lock().unwrap();
                let gd = detect(&*g, &r, &o).unwrap();
                assert_eq!(gd.params.threshold, cpu.params.threshold, "{f:?}");
                assert_eq!(gd.detections, cpu.detections, "{f:?} gpu tile {tile}");
            }
        }
    }
    assert!(total > 0);
}

#[test]
fn detections_hit_annotated_ships_on_an_offshore_chip() {
    // The sample chip in data/ has 11 annotated ships; the default threshold with a small-area
    // filter finds most of them with few false alarms.
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/data"));
    let r = read_raster(&dir.join("ssdd_001114.jpg"), &ReadOptions::default()).unwrap();
    let xml = std::fs::read_to_string(dir.join("ssdd_001114.xml")).unwrap();
    let num = |s: &str, tag: &str| -> Vec<f64> {
        s.split(&format!("<{tag}>"))
            .skip(1)
            .map(|p| p.split('<').next().unwrap().trim().parse().unwrap())
            .collect()
    };
    let (x0, y0, x1, y1) = (
        num(&xml, "xmin"),
        num(&xml, "ymin"),
        num(&xml, "xmax"),
        num(&xml, "ymax"),
    );
    assert_eq!(x0.len(), 11);
    let d = detect(
        &CpuEngine,
        &r,
        &DetectOptions {
            min_area: 10,
            ..Default::default()
        },
    )
    .unwrap()
    .detections;
    let hits = (0..x0.len())
        .filter(|&i| {
            d.iter()
                .any(|d| d.x >= x0[i] && d.x < x1[i] && d.y >= y0[i] && d.y < y1[i])
        })
        .count();
    let inside = d
        .iter()
        .filter(|d| {
            (0..x0.len()).any(|i| d.x >= x0[i] && d.x < x1[i] && d.y >= y0[i] && d.y < y1[i])
        })
        .count();
    assert!(hits >= 9, "found {hits} of 11 ships");
    assert!(
        inside * 10 >= d.len() * 8,
        "{inside} of {} detections on ships",
        d.len()
    );
}

/// The real-data tests cannot pass silently in CI: with `VESSELSCAN_REQUIRE_DATA` set and the
/// data missing, one fails (naming what is missing); without it, it says it was skipped.
#[test]
fn missing_data_fails_when_required() {
    let run = |require: bool| {
        let mut c = std::process::Command::new(std::env::current_exe().unwrap());
        c.args([
            "real_chips_agree_on_both_backends",
            "--exact",
            "--nocapture",
        ])
        .env("VESSELSCAN_SHARED_DATA", "/nonexistent/vesselscan-data");
        if require {
            c.env("VESSELSCAN_REQUIRE_DATA", "1");
        } else {
            c.env_remove("VESSELSCAN_REQUIRE_DATA");
        }
        let o = c.output().unwrap();
        (
            o.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            ),
        )
    };
    let (ok, out) = run(true);
    assert!(!ok, "{out}");
    assert!(
        out.contains("VESSELSCAN_REQUIRE_DATA is set but no shared data at /nonexistent"),
        "{out}"
    );
    let (ok, out) = run(false);
    assert!(ok, "{out}");
    assert!(
        out.contains("skipped: no shared data at /nonexistent"),
        "{out}"
    );
}
