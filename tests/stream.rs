//! Windowed reading: a TIFF read window by window gives the same keys as read whole, for
//! strips, tiles, planar and chunky layouts and every compression of the fixtures; and the
//! pipeline over a streamed TIFF gives the same detections as over the whole raster.

use std::path::PathBuf;
use vesselscan::detect::{detect, detect_source, DetectOptions, ThresholdMode};
use vesselscan::engine::cpu::CpuEngine;
use vesselscan::read::tiff::TiffBand;
use vesselscan::read::{read_raster, ReadOptions};

fn fixtures() -> Vec<PathBuf> {
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures"));
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "tif"))
        .collect();
    v.sort();
    v
}

#[test]
fn windows_read_the_same_keys_as_the_whole() {
    let mut checked = 0;
    for f in fixtures() {
        for band in [None, Some(2), Some(3)] {
            let opts = ReadOptions {
                band,
                ..Default::default()
            };
            let Ok(whole) = read_raster(&f, &opts) else {
                continue;
            };
            for rows in [1u32, 3, 7, 16, 1000] {
                let mut t = TiffBand::open(&f, &opts).unwrap();
                let mut keys = Vec::new();
                let mut y = 0;
                while y < whole.height {
                    keys.extend(t.read_rows(y, y + rows).unwrap());
                    y += rows;
                }
                assert_eq!(keys, whole.keys, "{f:?} band {band:?} rows {rows}");
            }
            checked += 1;
        }
    }
    assert!(checked >= 25, "only {checked} fixture bands read");
}

#[test]
fn streamed_tiff_gives_the_same_detections() {
    let f = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/data/sen2ships_casablanca_B08.tif"
    ));
    let whole = read_raster(&f, &ReadOptions::default()).unwrap();
    for mode in [
        ThresholdMode::Fixed(2000.0),
        ThresholdMode::MeanStd(3.0),
        ThresholdMode::Otsu,
    ] {
        let o = DetectOptions {
            threshold: mode,
            tile_size: 32,
            ..Default::default()
        };
        let want = detect(&CpuEngine, &whole, &o).unwrap();
        assert!(!want.detections.is_empty());
        for rows in [32u32, 96, 200] {
            let mut t = TiffBand::open(&f, &ReadOptions::default()).unwrap();
            let got = detect_source(&CpuEngine, &mut t, &o, Some(rows)).unwrap();
            assert_eq!(got.params.threshold, want.params.threshold);
            assert_eq!(got.detections, want.detections, "{mode:?} rows {rows}");
        }
    }
}
