//! Windowed reading: a TIFF read window by window gives the same keys as read whole, for
//! strips, tiles, planar and chunky layouts and every compression of the fixtures; and the
//! pipeline over a streamed TIFF gives the same detections as over the whole raster.

use std::path::PathBuf;
use vesselscan::detect::{detect, detect_source, DetectOptions, ThresholdMode};
use vesselscan::engine::cpu::CpuEngine;
use vesselscan::read::tiff::TiffBand;
use vesselscan::read::window::{for_each_window, InMemory, RasterSource, Window};
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
    // The in-memory raster carries no georeferencing; give it the file's.
    let georef = TiffBand::open(&f, &ReadOptions::default())
        .unwrap()
        .geo
        .georef()
        .cloned();
    assert!(georef.is_some());
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
        let want = detect(
            &CpuEngine,
            &whole,
            &DetectOptions {
                georef: georef.clone(),
                ..o.clone()
            },
        )
        .unwrap();
        assert!(want.detections.iter().all(|d| d.lon.is_some()));
        assert!(!want.detections.is_empty());
        for rows in [32u32, 96, 200] {
            let mut t = TiffBand::open(&f, &ReadOptions::default()).unwrap();
            let got = detect_source(&CpuEngine, &mut t, &o, Some(rows)).unwrap();
            assert_eq!(got.params.threshold, want.params.threshold);
            assert_eq!(got.detections, want.detections, "{mode:?} rows {rows}");
        }
        // A memory cap below one row of default (2048 px) tiles shrinks the tiles instead.
        let big = DetectOptions {
            tile_size: 2048,
            ..o.clone()
        };
        for rows in [70u32, 130] {
            let mut t = TiffBand::open(&f, &ReadOptions::default()).unwrap();
            // Tiles shrink to whole strips of the file where they fit, else to the window.
            let g = RasterSource::row_granule(&t);
            let want_tile = if rows >= g { rows / g * g } else { rows }.max(64);
            let got = detect_source(&CpuEngine, &mut t, &big, Some(rows)).unwrap();
            assert_eq!(
                got.tile_size, want_tile,
                "tiles shrink to the window (strips of {g})"
            );
            assert_eq!(
                got.detections, want.detections,
                "{mode:?} tile 2048 rows {rows}"
            );
        }
    }
}

/// A neighbourhood stage as later stages (CFAR, morphology) will use windows: the maximum over
/// the (2r+1)^2 square around each core pixel, clipped at the scene's edges, from the window's
/// rows and its halo only.
fn square_max(win: &Window, r: u32, height: u32) -> Vec<u32> {
    let w = win.width;
    let mut out = Vec::with_capacity(win.core().len());
    for y in win.y0..win.y1 {
        let (a, b) = (y.saturating_sub(r), (y + r + 1).min(height));
        assert!(a >= win.top && b <= win.bottom(), "halo too small");
        for x in 0..w {
            let (l, rr) = (x.saturating_sub(r), (x + r + 1).min(w));
            let m = (a..b)
                .flat_map(|yy| {
                    win.rows(yy, yy + 1)[l as usize..rr as usize]
                        .iter()
                        .copied()
                })
                .max()
                .unwrap();
            out.push(m);
        }
    }
    out
}

#[test]
fn halo_windows_give_neighbourhood_results_identical_to_the_whole_scene() {
    let f = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/data/sen2ships_casablanca_B08.tif"
    ));
    let opts = ReadOptions::default();
    let whole = read_raster(&f, &opts).unwrap();
    let h = whole.height;
    for r in [1u32, 4] {
        let mut want = Vec::new();
        for_each_window(&mut InMemory(&whole), h, r, &mut |win| {
            want = square_max(win, r, h);
            Ok(())
        })
        .unwrap();
        assert_eq!(want.len(), whole.keys.len());
        for rows in [1u32, 3, 17, 64, h] {
            let mut t = TiffBand::open(&f, &opts).unwrap();
            let mut got = Vec::new();
            for_each_window(&mut t, rows, r, &mut |win| {
                got.extend(square_max(win, r, h));
                Ok(())
            })
            .unwrap();
            assert!(got == want, "halo {r} rows {rows}");
        }
    }
}

#[test]
fn column_reads_give_the_columns_of_the_whole() {
    let mut checked = 0;
    for f in fixtures() {
        let opts = ReadOptions::default();
        let Ok(whole) = read_raster(&f, &opts) else {
            continue;
        };
        let (w, h) = (whole.width, whole.height);
        let mut t = TiffBand::open(&f, &opts).unwrap();
        let cw = RasterSource::col_granule(&t);
        for (x0, x1, y0, y1) in [
            (0, 1, 0, 1),
            (0, w, 0, h),
            (w / 3, w / 3 + 1, h / 4, h / 2 + 1),
            (w - 1, w, h - 3, h),
            (5.min(w - 1), (cw + 7).min(w), 2.min(h - 1), h),
        ] {
            const UNSET: u32 = 0xDEAD_BEEF;
            let mut out = vec![UNSET; ((y1 - y0) * w) as usize];
            t.read_cols_into(y0, y1, x0, x1, &mut out).unwrap();
            // Whole chunks are decoded: the columns of the chunks holding x0..x1, no others.
            let (c0, c1) = (x0 / cw * cw, (x1.div_ceil(cw) * cw).min(w));
            for y in y0..y1 {
                for x in 0..w {
                    let got = out[((y - y0) * w + x) as usize];
                    if (c0..c1).contains(&x) {
                        assert_eq!(got, whole.keys[(y * w + x) as usize], "{f:?} ({x},{y})");
                    } else {
                        assert_eq!(got, UNSET, "{f:?} ({x},{y}) written outside the chunks");
                    }
                }
            }
        }
        checked += 1;
    }
    assert!(checked >= 20, "only {checked} fixtures read");
}

#[test]
fn confidence_from_a_tiled_tiff_reads_what_the_whole_scene_gives() {
    use vesselscan::cfar::{CfarOptions, Extent};
    use vesselscan::synth::sar::{SarParams, SarScene};
    use vesselscan::write::geotiff::GeoTiffOptions;
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("s.tif");
    let scene = SarScene::new(&SarParams {
        width: 700,
        height: 530,
        seed: 11,
        vessels: 25,
        land_fraction: 0.0,
        ..SarParams::default()
    })
    .unwrap();
    scene
        .write_geotiff(
            &f,
            &GeoTiffOptions {
                tile: 48,
                ..GeoTiffOptions::default()
            },
        )
        .unwrap();
    let whole = read_raster(&f, &ReadOptions::default()).unwrap();
    let o = DetectOptions {
        threshold: ThresholdMode::None,
        cfar: Some(CfarOptions {
            k: 4.0,
            guard: Extent::Px(9.0),
            background: Extent::Px(31.0),
            censor_k: Some(3.0),
            censor_grow_px: 2,
            ..CfarOptions::default()
        }),
        tile_size: 128,
        confidence: true,
        ..Default::default()
    };
    let want = detect(&CpuEngine, &whole, &o).unwrap().detections;
    assert!(want.len() >= 10, "{} detections", want.len());
    assert!(want.iter().all(|d| d.score.is_some()));
    for rows in [48u32, 100, 200, 530] {
        let mut t = TiffBand::open(&f, &ReadOptions::default()).unwrap();
        let got = detect_source(&CpuEngine, &mut t, &o, Some(rows)).unwrap();
        assert_eq!(got.detections.len(), want.len(), "rows {rows}");
        for (g, w) in got.detections.iter().zip(&want) {
            assert_eq!(
                (g.x, g.y, g.area, g.scr, g.contrast, g.score),
                (w.x, w.y, w.area, w.scr, w.contrast, w.score),
                "rows {rows}"
            );
        }
    }
}
