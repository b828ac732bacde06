//! Two-parameter CFAR: GPU == CPU == a brute-force oracle (every ring pixel visited, exact
//! integers, then imageproc's labelling), on literal cases and proptest-random images, for
//! tile sizes from 1 to the scene, window heights from 1 row, nodata, every sample type; and
//! the exact integer test against the floating-point definition.

mod common;
use common::*;
use proptest::prelude::*;
use vesselscan::cfar::{CfarOptions, Extent};
use vesselscan::detect::{detect, detect_source, DetectOptions, InMemory, ThresholdMode};
use vesselscan::detections::Detection;
use vesselscan::engine::cpu::CpuEngine;
use vesselscan::read::window::RasterSource;
use vesselscan::read::Raster;
use vesselscan::sample::{key_f32, key_i16, SampleKind, NAN_KEY};
use vesselscan::tiling::Connectivity::{self, Eight, Four};

/// The CFAR of a test, in pixels.
#[derive(Debug, Clone, Copy)]
struct Cfar {
    rg: u32,
    rb: u32,
    k: f64,
    min_frac: f64,
    /// Censored CFAR: the first pass's k and the growth of its targets.
    censor: Option<(f64, u32)>,
}

impl Cfar {
    fn options(&self) -> CfarOptions {
        CfarOptions {
            k: self.k,
            guard: Extent::Px((2 * self.rg + 1) as f64),
            background: Extent::Px((2 * self.rb + 1) as f64),
            min_ring_fraction: self.min_frac,
            censor_k: self.censor.map(|c| c.0),
            censor_grow_px: self.censor.map_or(0, |c| c.1),
        }
    }
    fn k256(&self) -> u128 {
        (self.k * 256.0).round() as u128
    }
    fn censor_k256(&self) -> Option<u128> {
        self.censor.map(|(k, _)| (k * 256.0).round() as u128)
    }
    fn min_n(&self) -> u128 {
        let ring = (2 * self.rb + 1).pow(2) - (2 * self.rg + 1).pow(2);
        ((ring as f64 * self.min_frac).ceil() as u128).clamp(1, ring as u128)
    }
}

fn options(c: Cfar, conn: Connectivity, tile: u32, nodata: Option<f64>) -> DetectOptions {
    DetectOptions {
        threshold: ThresholdMode::None,
        connectivity: conn,
        tile_size: tile,
        nodata,
        cfar: Some(c.options()),
        ..Default::default()
    }
}

/// The level of a key for the scene (`vesselscan::cfar::level_params`), computed here from
/// first principles: identity for 16-bit kinds, the valid range in 65536 levels otherwise.
fn levels(r: &Raster, nodata: Option<u32>) -> impl Fn(u32) -> u32 {
    let valid = |k: &u32| Some(*k) != nodata && *k != NAN_KEY;
    let wide = matches!(r.kind, SampleKind::F32 | SampleKind::U32);
    let fin = |k: &u32| {
        r.kind != SampleKind::F32 || vesselscan::sample::key_to_value(r.kind, *k).is_finite()
    };
    let lo = r.keys.iter().filter(|k| valid(k) && fin(k)).min().copied();
    let hi = r.keys.iter().filter(|k| valid(k) && fin(k)).max().copied();
    let kind = r.kind;
    let (min, shift) = match (wide, lo, hi) {
        // i16: value + 32768.
        (false, _, _) if kind == SampleKind::I16 => (key_i16(i16::MIN), 0),
        (false, _, _) => (0, 0),
        (true, Some(lo), Some(hi)) => {
            let mut s = 0;
            while (hi - lo) >> s > 65535 {
                s += 1;
            }
            (lo, s)
        }
        (true, _, _) => (0, 16),
    };
    move |k: u32| {
        if k < min {
            0
        } else {
            ((k - min) >> shift).min(65535)
        }
    }
}

/// Brute force: is pixel (x, y) a CFAR target? Ring = background window minus guard window,
/// clipped to the scene, nodata left out; the test in exact integers.
fn brute(
    r: &Raster,
    nodata: Option<u32>,
    c: Cfar,
    lv: &impl Fn(u32) -> u32,
    x: u32,
    y: u32,
) -> bool {
    brute_water(r, nodata, c, lv, &|_, _| true, x, y)
}

/// [`brute`] with land (`water(x, y)` false) left out of the rings and never a target.
#[allow(clippy::too_many_arguments)]
fn brute_water(
    r: &Raster,
    nodata: Option<u32>,
    c: Cfar,
    lv: &impl Fn(u32) -> u32,
    water: &dyn Fn(u32, u32) -> bool,
    x: u32,
    y: u32,
) -> bool {
    brute_planes(r, nodata, c, c.k256(), lv, water, water, x, y)
}

/// The test at `k256`: pixels where `target(x, y)` may be targets, pixels where `ring(x, y)`
/// enter the rings (both also valid).
#[allow(clippy::too_many_arguments)]
fn brute_planes(
    r: &Raster,
    nodata: Option<u32>,
    c: Cfar,
    k256: u128,
    lv: &impl Fn(u32) -> u32,
    target: &dyn Fn(u32, u32) -> bool,
    ring: &dyn Fn(u32, u32) -> bool,
    x: u32,
    y: u32,
) -> bool {
    let ok = |k: u32| Some(k) != nodata && !(r.kind == SampleKind::F32 && k == NAN_KEY);
    let key = r.keys[(y * r.width + x) as usize];
    if !(ok(key) && target(x, y)) {
        return false;
    }
    let (rg, rb) = (c.rg as i64, c.rb as i64);
    let (mut n, mut s, mut q) = (0u128, 0u128, 0u128);
    for yy in y as i64 - rb..=y as i64 + rb {
        for xx in x as i64 - rb..=x as i64 + rb {
            if yy < 0 || xx < 0 || yy >= r.height as i64 || xx >= r.width as i64 {
                continue;
            }
            if (yy - y as i64).abs() <= rg && (xx - x as i64).abs() <= rg {
                continue;
            }
            let k = r.keys[(yy as u32 * r.width + xx as u32) as usize];
            if ok(k) && ring(xx as u32, yy as u32) {
                let v = lv(k) as u128;
                n += 1;
                s += v;
                q += v * v;
            }
        }
    }
    if n == 0 || n < c.min_n() {
        return false;
    }
    let xn = lv(key) as u128 * n;
    if xn <= s {
        return false;
    }
    let l = xn - s;
    l * l * 65536 > k256 * k256 * (n * q - s * s)
}

/// The targets of `c` (censored or not) with water where `water(x, y)`, by brute force: a
/// censored CFAR's first pass at its own k, its targets grown by a square of 2 g + 1 and left
/// out of the second pass's rings.
fn brute_scene(
    r: &Raster,
    nodata: Option<u32>,
    c: Cfar,
    water: &dyn Fn(u32, u32) -> bool,
) -> Vec<bool> {
    let lv = levels(r, nodata);
    let (w, h) = (r.width, r.height);
    let grown: Vec<bool> = match c.censor {
        None => vec![false; (w * h) as usize],
        Some((_, g)) => {
            let k1 = c.censor_k256().unwrap();
            let first: Vec<bool> = (0..w * h)
                .map(|i| brute_planes(r, nodata, c, k1, &lv, water, water, i % w, i / w))
                .collect();
            (0..w * h)
                .map(|i| {
                    let (x, y) = ((i % w) as i64, (i / w) as i64);
                    let g = g as i64;
                    (y - g..=y + g).any(|yy| {
                        (x - g..=x + g).any(|xx| {
                            xx >= 0
                                && yy >= 0
                                && xx < w as i64
                                && yy < h as i64
                                && first[(yy * w as i64 + xx) as usize]
                        })
                    })
                })
                .collect()
        }
    };
    let ring = |x: u32, y: u32| water(x, y) && !grown[(y * w + x) as usize];
    (0..w * h)
        .map(|i| brute_planes(r, nodata, c, c.k256(), &lv, water, &ring, i % w, i / w))
        .collect()
}

fn want(r: &Raster, nodata: Option<u32>, c: Cfar, conn: Connectivity) -> Vec<Detection> {
    let t = brute_scene(r, nodata, c, &|_, _| true);
    oracle_of(r, conn, nodata, |x, y| t[(y * r.width + x) as usize])
}

/// A source that is not in memory, so windows go through the read-ahead thread.
struct Streamed<'a>(&'a Raster);
impl RasterSource for Streamed<'_> {
    fn info(&self) -> Raster {
        self.0.clone_header()
    }
    fn read_rows_into(&mut self, y0: u32, y1: u32, out: &mut [u32]) -> vesselscan::Result<()> {
        InMemory(self.0).read_rows_into(y0, y1, out)
    }
}

/// CPU == oracle and GPU == oracle for every tile size, and for windows of `rows` rows.
fn check(
    r: &Raster,
    nodata: Option<f64>,
    nodata_key: Option<u32>,
    c: Cfar,
    conn: Connectivity,
    tiles: &[u32],
    rows: &[u32],
) -> Vec<Detection> {
    let want = want(r, nodata_key, c, conn);
    for &t in tiles {
        let o = options(c, conn, t, nodata);
        assert_eq!(run_cpu(r, &o), want, "cpu, tile {t}, {c:?}");
        if let Some(g) = run_gpu(r, &o) {
            assert_eq!(g, want, "gpu, tile {t}, {c:?}");
        }
        for &h in rows {
            let d = detect_source(&CpuEngine, &mut Streamed(r), &o, Some(h)).unwrap();
            assert_eq!(d.detections, want, "cpu, tile {t}, rows {h}, {c:?}");
            if let Some(g) = gpu() {
                let g = g.lock().unwrap_or_else(|e| e.into_inner());
                let d = detect_source(&*g, &mut Streamed(r), &o, Some(h)).unwrap();
                assert_eq!(d.detections, want, "gpu, tile {t}, rows {h}, {c:?}");
            }
        }
    }
    want
}

const C: Cfar = Cfar {
    rg: 1,
    rb: 4,
    k: 3.0,
    min_frac: 0.25,
    censor: None,
};

/// A sea of speckle-like values with bright objects, one crossing every seam of small tiles.
fn sea(w: u32, h: u32, seed: u64) -> Vec<u16> {
    let mut s = seed;
    (0..w * h)
        .map(|i| {
            s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = s;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            let noise = ((z ^ (z >> 31)) % 200) as u16;
            let (x, y) = (i % w, i / w);
            let ship = (x + 2 * y) % 23 < 2 && (x * 7 + y) % 31 < 9;
            100 + noise + if ship { 900 } else { 0 }
        })
        .collect()
}

#[test]
fn bright_objects_on_a_sea_every_tile_size_and_window_height() {
    let (w, h) = (61u32, 47u32);
    let r = raster_u16(w, h, sea(w, h, 7));
    let tiles = [1u32, 2, 3, 5, 8, 16, 31, 64, 4096];
    let d = check(&r, None, None, C, Eight, &tiles, &[1, 3, 10, 47]);
    assert!(d.len() >= 5, "{} detections", d.len());
    check(&r, None, None, C, Four, &[1, 7, 61], &[5]);
}

#[test]
fn censored_cfar_every_tile_size_and_window_height() {
    let (w, h) = (61u32, 47u32);
    let r = raster_u16(w, h, sea(w, h, 7));
    let tiles = [1u32, 2, 3, 5, 8, 16, 31, 64, 4096];
    for (k1, g) in [(3.0, 2u32), (1.5, 0), (2.0, 5)] {
        let c = Cfar {
            censor: Some((k1, g)),
            ..C
        };
        check(&r, None, None, c, Eight, &tiles, &[1, 3, 10, 47]);
        check(&r, Some(150.0), Some(150), c, Four, &[1, 7, 61], &[5]);
    }
}

#[test]
fn censoring_finds_ships_at_anchor_that_one_pass_misses() {
    // An anchorage: bright 2x2 ships every 5 pixels in rows and columns, over speckle. Each
    // ship's ring holds its neighbours, whose brightness inflates the ring's std; left out of
    // the rings (censored), the sea alone is the background.
    let (w, h) = (40u32, 40u32);
    let mut px = sea(w, h, 3);
    for (i, p) in px.iter_mut().enumerate() {
        let (x, y) = (i as u32 % w, i as u32 / w);
        *p = if x % 5 < 2 && y % 5 < 2 && x > 8 && y > 8 && x < 31 && y < 31 {
            600
        } else {
            100 + *p % 100
        };
    }
    let r = raster_u16(w, h, px);
    let one = Cfar { k: 5.0, ..C };
    let two = Cfar {
        censor: Some((1.5, 0)),
        ..one
    };
    let (a, b) = (want(&r, None, one, Eight), want(&r, None, two, Eight));
    assert!(
        b.len() > a.len() + 5,
        "one pass {}, censored {}",
        a.len(),
        b.len()
    );
    for c in [one, two] {
        let o = options(c, Eight, 16, None);
        assert_eq!(run_cpu(&r, &o), want(&r, None, c, Eight), "{c:?}");
        if let Some(g) = run_gpu(&r, &o) {
            assert_eq!(g, want(&r, None, c, Eight), "gpu {c:?}");
        }
    }
}

#[test]
fn a_flat_scene_has_no_target_and_a_lone_bright_pixel_is_one() {
    // Zero ring variance: a pixel above the mean is a target, at the mean it is not.
    let mut px = vec![50u16; 25 * 25];
    let flat = raster_u16(25, 25, px.clone());
    assert!(check(&flat, None, None, C, Eight, &[1, 4, 25], &[2]).is_empty());
    px[12 * 25 + 12] = 51;
    let one = raster_u16(25, 25, px);
    let d = check(&one, None, None, C, Eight, &[1, 4, 25], &[2]);
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].bbox, [12, 12, 13, 13]);
}

#[test]
fn a_pixel_exactly_at_k_sigma_is_not_a_target_and_just_above_is() {
    // Ring of a pixel at the centre of a 9x9 scene, guard 3x3 (rg 1), background 9x9 (rb 4):
    // 72 ring pixels, half 100, half 120 -> mean 110, std 10. With k = 2, x = 130 sits exactly
    // at mean + k std (not a target: the test is strict), 131 is above.
    let c = Cfar {
        rg: 1,
        rb: 4,
        k: 2.0,
        min_frac: 0.0,
        censor: None,
    };
    for (centre, hit) in [(130u16, false), (131, true)] {
        let mut px = vec![0u16; 81];
        let mut i = 0;
        for y in 0..9 {
            for x in 0..9 {
                let p = y * 9 + x;
                if (3..6).contains(&x) && (3..6).contains(&y) {
                    px[p] = 0; // guard: not counted; only the centre can be a target
                } else {
                    px[p] = if i % 2 == 0 { 100 } else { 120 };
                    i += 1;
                }
            }
        }
        px[40] = centre;
        let r = raster_u16(9, 9, px);
        let lv = levels(&r, None);
        assert_eq!(brute(&r, None, c, &lv, 4, 4), hit, "centre {centre}");
        let d = check(&r, None, None, c, Eight, &[1, 2, 9], &[1, 4]);
        assert_eq!(
            d.iter().any(|d| d.bbox == [4, 4, 5, 5]),
            hit,
            "centre {centre}"
        );
    }
}

#[test]
fn nodata_is_left_out_of_the_ring_and_is_never_a_target() {
    let (w, h) = (40u32, 33u32);
    // Sea only (no bright objects, which would widen the rings' spread).
    let mut px: Vec<u16> = sea(w, h, 3).into_iter().map(|v| v.min(300)).collect();
    for (i, p) in px.iter_mut().enumerate() {
        if (i as u32 % w) < 12 || i % 17 == 0 {
            *p = 0; // a nodata border and scattered holes
        }
    }
    // Faint objects beside the nodata border: targets over the sea's ring, not when the zeros
    // enter it (they lower the mean and raise the spread).
    for y in (2..h - 2).step_by(6) {
        px[(y * w + 13) as usize] = 420;
    }
    let r = raster_u16(w, h, px);
    let strict = Cfar { min_frac: 0.9, ..C };
    let faint = |d: &[Detection]| {
        d.iter()
            .filter(|d| d.bbox[0] == 13 && d.bbox[2] == 14)
            .count()
    };
    let with = check(&r, Some(0.0), Some(0), C, Eight, &[1, 5, 40], &[4]);
    let without = check(&r, None, None, C, Eight, &[5], &[]);
    assert!(
        faint(&with) >= 3 && faint(&without) == 0,
        "{} {}",
        faint(&with),
        faint(&without)
    );
    // Rings mostly nodata decide nothing.
    let strict = check(&r, Some(0.0), Some(0), strict, Eight, &[1, 5, 40], &[4]);
    assert_eq!(faint(&strict), 0);
    assert!(strict.len() < with.len());
}

#[test]
fn full_chessboard_and_empty_scenes() {
    let cb: Vec<u16> = (0..30 * 30)
        .map(|i| if (i % 30 + i / 30) % 2 == 0 { 900 } else { 100 })
        .collect();
    let r = raster_u16(30, 30, cb);
    for k in [0.5, 1.0, 1.01] {
        let c = Cfar { k, ..C };
        check(&r, None, None, c, Eight, &[1, 3, 30], &[7]);
        check(&r, None, None, c, Four, &[2, 30], &[]);
    }
    let one = raster_u16(1, 1, vec![7]);
    assert!(check(&one, None, None, C, Eight, &[1], &[1]).is_empty());
}

#[test]
fn every_sample_type() {
    let (w, h) = (37u32, 29u32);
    let base = sea(w, h, 11);
    let i16s: Vec<u32> = base.iter().map(|&v| key_i16(v as i16 - 600)).collect();
    let f32s: Vec<u32> = base
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            if i % 97 == 0 {
                NAN_KEY
            } else {
                // Intensity-like (positive): levels are close to logarithmic for f32.
                key_f32(v as f32 * 0.013 + 0.1)
            }
        })
        .collect();
    let u8s: Vec<u32> = base.iter().map(|&v| (v / 5).min(255) as u32).collect();
    let u32s: Vec<u32> = base.iter().map(|&v| v as u32 * 70_001).collect();
    for (kind, keys) in [
        (SampleKind::I16, i16s),
        (SampleKind::F32, f32s),
        (SampleKind::U8, u8s),
        (SampleKind::U32, u32s),
    ] {
        let r = Raster {
            kind,
            keys,
            ..raster_u16(w, h, vec![0; (w * h) as usize])
        };
        let d = check(&r, None, None, C, Eight, &[1, 6, 64], &[5]);
        assert!(!d.is_empty(), "{kind:?}");
    }
}

#[test]
fn the_integer_test_is_the_floating_point_definition() {
    // Away from ties, (x - mean) > k std over the ring, in f64, decides the same.
    let (w, h) = (45u32, 38u32);
    let r = raster_u16(w, h, sea(w, h, 5));
    let lv = levels(&r, None);
    let c = Cfar {
        rg: 2,
        rb: 6,
        k: 2.5,
        min_frac: 0.0,
        censor: None,
    };
    let mut hits = 0;
    for y in 0..h {
        for x in 0..w {
            let (mut vals, key) = (Vec::new(), r.keys[(y * w + x) as usize]);
            for yy in y.saturating_sub(6)..(y + 7).min(h) {
                for xx in x.saturating_sub(6)..(x + 7).min(w) {
                    if yy.abs_diff(y) > 2 || xx.abs_diff(x) > 2 {
                        vals.push(r.keys[(yy * w + xx) as usize] as f64);
                    }
                }
            }
            let n = vals.len() as f64;
            let mean = vals.iter().sum::<f64>() / n;
            let std = (vals.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt();
            let margin = key as f64 - mean - c.k * std;
            if margin.abs() > 1e-6 {
                assert_eq!(brute(&r, None, c, &lv, x, y), margin > 0.0, "({x}, {y})");
                hits += (margin > 0.0) as u32;
            }
        }
    }
    assert!(hits > 10);
    check(&r, None, None, c, Eight, &[4, 45], &[9]);
}

#[test]
fn bad_windows_are_clear_errors() {
    let r = raster_u16(8, 8, vec![1; 64]);
    let mut o = options(C, Eight, 8, None);
    o.cfar = Some(CfarOptions {
        guard: Extent::Px(9.0),
        background: Extent::Px(9.0),
        ..C.options()
    });
    let e = detect(&CpuEngine, &r, &o).unwrap_err().to_string();
    assert!(e.contains("guard window"), "{e}");
    o.cfar = Some(CfarOptions {
        background: Extent::M(500.0),
        ..C.options()
    });
    let e = detect(&CpuEngine, &r, &o).unwrap_err().to_string();
    assert!(
        e.contains("--background-m") && e.contains("--pixel-size-m"),
        "{e}"
    );
    o.pixel_size_m = Some(10.0);
    let d = detect(&CpuEngine, &r, &o).unwrap();
    assert_eq!(d.params.cfar.unwrap().background_px, 51);
}

fn random_scene() -> impl Strategy<Value = (Raster, Option<u16>)> {
    (1u32..48, 1u32..48, any::<u64>(), 0u32..4).prop_map(|(w, h, seed, nd)| {
        let mut px = sea(w, h, seed);
        // Sometimes a value is nodata (and some pixels hold it).
        let nodata = (nd == 0).then_some(150u16);
        if nodata.is_some() {
            for (i, p) in px.iter_mut().enumerate() {
                if (i as u64 ^ seed) % 7 == 0 {
                    *p = 150;
                }
            }
        }
        (raster_u16(w, h, px), nodata)
    })
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 40,
        rng_seed: proptest::test_runner::RngSeed::Fixed(0xcfa7_5eed),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_scenes_match(
        (r, nodata) in random_scene(),
        rg in 0u32..4,
        extra in 1u32..7,
        k in prop::sample::select(vec![0.25f64, 1.0, 1.7, 3.0, 6.0]),
        min_frac in prop::sample::select(vec![0.0f64, 0.3, 0.95]),
        tile in prop::sample::select(vec![1u32, 2, 3, 5, 8, 13, 32, 100]),
        rows in 1u32..20,
        four in any::<bool>(),
        censor in prop::option::of((prop::sample::select(vec![0.5f64, 1.0, 2.0]), 0u32..4)),
    ) {
        let c = Cfar { rg, rb: rg + extra, k, min_frac, censor };
        let conn = if four { Four } else { Eight };
        check(
            &r,
            nodata.map(f64::from),
            nodata.map(u32::from),
            c,
            conn,
            &[tile],
            &[rows],
        );
    }
}

#[test]
fn land_is_never_a_target_and_stays_out_of_the_rings() {
    use std::sync::Arc;
    use vesselscan::detect::{WaterSource, WaterSpec};
    use vesselscan::water::WaterMask;
    let (w, h) = (70u32, 53u32);
    let r = raster_u16(w, h, sea(w, h, 21));
    // Land: a bright coast on the left with a jagged edge, and an island.
    let land = |x: u32, y: u32| x < 12 + (y * 7) % 5 || (x.abs_diff(50) < 4 && y.abs_diff(30) < 6);
    let mask = Arc::new(WaterMask::from_fn(w, h, |x, y| !land(x, y)).unwrap());
    for (c, conn) in [
        (C, Eight),
        (
            Cfar {
                rg: 2,
                rb: 9,
                k: 2.0,
                min_frac: 0.5,
                censor: None,
            },
            Four,
        ),
        (
            Cfar {
                censor: Some((2.0, 2)),
                ..C
            },
            Eight,
        ),
    ] {
        let t = brute_scene(&r, None, c, &|x, y| !land(x, y));
        let want = oracle_of(&r, conn, None, |x, y| t[(y * w + x) as usize]);
        let t = brute_scene(&r, None, c, &|_, _| true);
        let plain = oracle_of(&r, conn, None, |x, y| t[(y * w + x) as usize]);
        assert_ne!(want, plain, "the mask must matter here");
        for tile in [1u32, 4, 9, 64] {
            let mut o = options(c, conn, tile, None);
            o.water = Some(WaterSpec {
                source: WaterSource::Given(mask.clone()),
                shore_buffer_m: None,
            });
            let cpu = detect(&CpuEngine, &r, &o).unwrap();
            assert_eq!(cpu.detections, want, "cpu tile {tile} {c:?}");
            assert!(cpu
                .detections
                .iter()
                .all(|d| !land(d.bbox[0] as u32, d.bbox[1] as u32)));
            for rows in [3u32, 17] {
                let d = detect_source(&CpuEngine, &mut Streamed(&r), &o, Some(rows)).unwrap();
                assert_eq!(d.detections, want, "cpu tile {tile} rows {rows}");
            }
            if let Some(g) = gpu() {
                let g = g.lock().unwrap_or_else(|e| e.into_inner());
                assert_eq!(
                    detect(&*g, &r, &o).unwrap().detections,
                    want,
                    "gpu tile {tile}"
                );
                let d = detect_source(&*g, &mut Streamed(&r), &o, Some(5)).unwrap();
                assert_eq!(d.detections, want, "gpu tile {tile} rows 5");
            }
            // A plain threshold honours the mask too.
            let mut t = o.clone();
            t.cfar = None;
            t.threshold = ThresholdMode::Fixed(900.0);
            let want_t = oracle_of(&r, conn, None, |x, y| {
                !land(x, y) && r.keys[(y * w + x) as usize] >= 900
            });
            assert_eq!(detect(&CpuEngine, &r, &t).unwrap().detections, want_t);
            if let Some(g) = gpu() {
                let g = g.lock().unwrap_or_else(|e| e.into_inner());
                assert_eq!(
                    detect(&*g, &r, &t).unwrap().detections,
                    want_t,
                    "gpu threshold"
                );
            }
        }
    }
    // Distance to land in metres, with a pixel size: the island's edge is near (50, 30).
    let mut o = options(C, Eight, 64, None);
    o.pixel_size_m = Some(10.0);
    o.water = Some(WaterSpec {
        source: WaterSource::Given(mask),
        shore_buffer_m: None,
    });
    let d = detect(&CpuEngine, &r, &o).unwrap().detections;
    assert!(!d.is_empty());
    for det in &d {
        let m = det.distance_to_land_m.expect("distance");
        // Brute force over land pixel centres.
        let mut best = f64::MAX;
        for y in 0..h {
            for x in 0..w {
                if land(x, y) {
                    let (dx, dy) = (x as f64 + 0.5 - det.x, y as f64 + 0.5 - det.y);
                    best = best.min((dx * dx + dy * dy).sqrt());
                }
            }
        }
        assert!((m - 10.0 * best).abs() < 1e-6, "{m} vs {}", 10.0 * best);
    }
}

#[test]
fn the_fused_cpu_path_equals_the_twins_of_the_kernels() {
    use vesselscan::cpu::{cfar::cfar, cfar::cfar_fused, cfar_rows::cfar_rows};
    use vesselscan::engine::{pack, pack_bits, Plane};
    use vesselscan::tiling::{
        batches, tile_grid, BatchLimits, Halo, Params, CFAR_ROW_WORDS, FLAG_CFAR, FLAG_NODATA,
        FLAG_WATER,
    };
    let (w, h) = (53u32, 41u32);
    let r = raster_u16(w, h, sea(w, h, 9));
    // Planes for the censored case: water (where targets may be) and the ring pixels (water
    // minus some censored pixels), as bits over the scene.
    let bits = |f: &dyn Fn(u32) -> bool| {
        let mut b = vec![0u32; (w * h).div_ceil(32) as usize];
        for i in (0..w * h).filter(|&i| f(i)) {
            b[(i / 32) as usize] |= 1 << (i % 32);
        }
        b
    };
    let water = bits(&|i| i.wrapping_mul(2654435761) >> 28 != 0);
    let ring = bits(&|i| i.wrapping_mul(2654435761) >> 28 != 0 && i.wrapping_mul(40503) >> 29 != 0);
    for (rg, rb, k256, tile, nodata, planes) in [
        (1u32, 4u32, 768u32, 16u32, false, false),
        (0, 1, 100, 7, true, false),
        (3, 20, 1280, 53, false, false),
        (2, 9, 256, 1, true, false),
        (1, 4, 768, 16, false, true),
        (2, 9, 256, 5, true, true),
    ] {
        let p = Params {
            flags: FLAG_CFAR
                | if nodata { FLAG_NODATA } else { 0 }
                | if planes { FLAG_WATER } else { 0 },
            nodata_key: 150,
            connectivity: 8,
            cfar_rg: rg,
            cfar_rb: rb,
            cfar_k256: k256,
            cfar_min_n: 5,
            ..Default::default()
        };
        let halo = Halo {
            r: rb,
            width: w,
            rows: h,
            top: 0,
        };
        let mut plane = Plane::of(&r);
        if planes {
            plane.water = Some(&water);
            plane.stats = Some(&ring);
        }
        let grid = tile_grid(w, h, tile);
        for b in batches(
            &grid,
            vesselscan::tiling::Connectivity::Eight,
            &BatchLimits::default(),
            Some(&halo),
        ) {
            let (samples, wb) = pack(&plane, &b);
            let rb_bits = plane.stats.map_or(Vec::new(), |s| pack_bits(&plane, &b, s));
            let mut rowsums = vec![0u32; (b.rowsums * CFAR_ROW_WORDS) as usize];
            let mut twins = vec![0u32; b.blocks as usize];
            let mut fused = vec![1u32; b.blocks as usize];
            // The kernels: cfar_rows reads the ring plane, cfar the water plane.
            let rows_plane = if planes { &rb_bits } else { &wb };
            cfar_rows(&p, &b.tiles, &samples, &b.cfar, rows_plane, &mut rowsums);
            let mut parent = vec![u32::MAX; b.nodes as usize];
            cfar(
                &p,
                &b.tiles,
                &samples,
                &mut twins,
                &mut parent,
                &b.cfar,
                &wb,
                &rowsums,
            );
            cfar_fused(&p, &b.tiles, &samples, &mut fused, &b.cfar, &wb, &rb_bits);
            assert_eq!(twins, fused, "rg {rg} rb {rb} tile {tile} planes {planes}");
            // cfar made the foreground nodes (blocks) roots and left the others alone.
            for (n, (&m, &pa)) in twins.iter().zip(&parent).enumerate() {
                assert_eq!(pa, if m != 0 { n as u32 } else { u32::MAX });
            }
            if planes {
                // The ring plane matters: reading water in both differs somewhere.
                let mut plain = vec![0u32; b.blocks as usize];
                cfar_fused(&p, &b.tiles, &samples, &mut plain, &b.cfar, &wb, &[]);
                if tile == 16 {
                    assert_ne!(plain, fused, "rg {rg} rb {rb} tile {tile}");
                }
            }
        }
    }
}
