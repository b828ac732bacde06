//! GPU == CPU == an independent oracle (imageproc), on literal fixtures, edge cases and
//! proptest-random images, for many tile sizes and both connectivities.

mod common;
use common::*;
use proptest::prelude::*;
use vesselscan::detect::{detect, ThresholdMode};
use vesselscan::detections::Detection;
use vesselscan::engine::gpu::GpuEngine;
use vesselscan::read::Raster;
use vesselscan::sample::{key_f32, key_i16, SampleKind};
use vesselscan::tiling::Connectivity::{self, Eight, Four};

const TILES: &[u32] = &[1, 2, 3, 4, 5, 7, 8, 16, 31, 64, 257, 4096];

/// CPU against the oracle and GPU against the CPU, for every tile size in `tiles`.
fn check_all(
    r: &Raster,
    thr: f64,
    thr_key: u32,
    conn: Connectivity,
    tiles: &[u32],
) -> Vec<Detection> {
    let want = oracle(r, thr_key, conn, None);
    for &t in tiles {
        let o = opts(thr, conn, t);
        let c = run_cpu(r, &o);
        assert_eq!(c, want, "cpu, {conn:?}, tile {t}");
        if let Some(g) = run_gpu(r, &o) {
            assert_eq!(g, want, "gpu, {conn:?}, tile {t}");
        }
    }
    want
}

#[test]
fn four_vs_eight_connectivity() {
    let r = picture(&["#...", ".#..", "..##", "...."]);
    assert_eq!(check_all(&r, 100.0, 100, Eight, TILES).len(), 1);
    assert_eq!(check_all(&r, 100.0, 100, Four, TILES).len(), 3);
}

#[test]
fn chessboard() {
    let rows: Vec<String> = (0..30)
        .map(|y| {
            (0..30)
                .map(|x| if (x + y) % 2 == 0 { '#' } else { '.' })
                .collect()
        })
        .collect();
    let rows: Vec<&str> = rows.iter().map(|s| s.as_str()).collect();
    let r = picture(&rows);
    assert_eq!(check_all(&r, 100.0, 100, Eight, TILES).len(), 1);
    assert_eq!(check_all(&r, 100.0, 100, Four, TILES).len(), 450);
}

#[test]
fn empty_and_full() {
    let empty = raster_u16(33, 17, vec![5; 33 * 17]);
    assert!(check_all(&empty, 100.0, 100, Eight, TILES).is_empty());
    let full = raster_u16(33, 17, vec![500; 33 * 17]);
    let d = check_all(&full, 100.0, 100, Eight, TILES);
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].area, 33 * 17);
    assert_eq!(d[0].bbox, [0, 0, 33, 17]);
    assert_eq!((d[0].x, d[0].y), (16.5, 8.5));
    let d = check_all(&full, 100.0, 100, Four, TILES);
    assert_eq!(d.len(), 1);
}

#[test]
fn lone_pixel_centroid_and_exact_threshold() {
    let mut px = vec![0u16; 10 * 6];
    px[2 * 10 + 3] = 100; // exactly at the threshold: a target
    px[4 * 10 + 8] = 99; // one below: not
    let r = raster_u16(10, 6, px);
    let d = check_all(&r, 100.0, 100, Eight, TILES);
    assert_eq!(d.len(), 1);
    assert_eq!((d[0].x, d[0].y), (3.5, 2.5));
    assert_eq!(d[0].bbox, [3, 2, 4, 3]);
    // A fractional threshold rounds up for integers: 99.5 makes 100 a target, not 99.
    let d = run_cpu(&r, &opts(99.5, Eight, 4));
    assert_eq!(d.len(), 1);
}

#[test]
fn diagonal_lines_cross_every_seam() {
    // One-pixel diagonal lines in both directions: 8-connected they are single objects
    // whatever the tiles; 4-connected every pixel is alone.
    let n = 37u32;
    let mut px = vec![0u16; (n * n) as usize];
    for i in 0..n {
        px[(i * n + i) as usize] = 1000;
        px[(i * n + (n - 1 - i)) as usize] = 1000;
    }
    let r = raster_u16(n, n, px);
    let tiles: Vec<u32> = (1..=n + 1).collect();
    assert_eq!(check_all(&r, 500.0, 500, Eight, &tiles).len(), 1);
    assert_eq!(
        check_all(&r, 500.0, 500, Four, &tiles).len(),
        (2 * n - 1) as usize
    );
}

#[test]
fn spiral() {
    // A square spiral: one long snake, the worst case for label propagation.
    let n = 41i32;
    let mut g = vec![vec![false; n as usize]; n as usize];
    let (mut x0, mut y0, mut x1, mut y1) = (0, 0, n - 1, n - 1);
    while x0 <= x1 && y0 <= y1 {
        for x in x0..=x1 {
            g[y0 as usize][x as usize] = true;
        }
        for y in y0..=y1 {
            g[y as usize][x1 as usize] = true;
        }
        for x in x0..=x1 {
            g[y1 as usize][x as usize] = true;
        }
        for y in (y0 + 2)..=y1 {
            g[y as usize][x0 as usize] = true;
        }
        if x0 + 2 <= x1 {
            g[(y0 + 2) as usize][(x0 + 1) as usize] = true;
        }
        x0 += 2;
        y0 += 2;
        x1 -= 2;
        y1 -= 2;
    }
    let px = g
        .iter()
        .flatten()
        .map(|&b| if b { 900 } else { 0 })
        .collect();
    let r = raster_u16(n as u32, n as u32, px);
    let d = check_all(&r, 1.0, 1, Four, &[1, 2, 3, 5, 8, 13, 41, 64]);
    assert!(!d.is_empty());
    check_all(&r, 1.0, 1, Eight, &[1, 2, 3, 5, 8, 13, 41, 64]);
}

#[test]
fn nodata_is_never_a_target() {
    let mut r = raster_u16(9, 5, vec![300; 45]);
    r.keys[4] = 65535;
    r.keys[22] = 65535; // centre
    let mut o = opts(100.0, Eight, 3);
    o.nodata = Some(65535.0);
    let want = oracle(&r, 100, Eight, Some(65535));
    assert_eq!(want[0].area, 43);
    assert_eq!(run_cpu(&r, &o), want);
    if let Some(g) = run_gpu(&r, &o) {
        assert_eq!(g, want);
    }
    // The file's own nodata is used too.
    r.nodata = Some(65535.0);
    o.nodata = None;
    assert_eq!(run_cpu(&r, &o), want);
}

fn typed(kind: SampleKind, w: u32, h: u32, keys: Vec<u32>) -> Raster {
    Raster {
        width: w,
        height: h,
        kind,
        keys,
        band: 1,
        bands: 1,
        nodata: None,
    }
}

#[test]
fn signed_and_float_samples() {
    // i16 with negative values and a negative threshold.
    let vals: Vec<i16> = (0..(23 * 11))
        .map(|i: i32| ((i * 7919) % 2001 - 1000) as i16)
        .collect();
    let r = typed(
        SampleKind::I16,
        23,
        11,
        vals.iter().map(|&v| key_i16(v)).collect(),
    );
    let d = check_all(&r, -20.0, key_i16(-20), Eight, &[1, 4, 7, 64]);
    assert!(!d.is_empty());
    // f32 with negatives, huge values (the 64-bit fixed-point split), infinities and NaN.
    let mut fv: Vec<f32> = (0..(19 * 13))
        .map(|i| ((i * 37) % 101) as f32 * 0.37 - 12.0)
        .collect();
    fv[5] = 3.0e12;
    fv[6] = -7.5e11;
    fv[40] = f32::INFINITY;
    fv[41] = f32::NAN;
    fv[100] = 1.0e-30;
    let r = typed(
        SampleKind::F32,
        19,
        13,
        fv.iter().map(|&v| key_f32(v)).collect(),
    );
    let mut o = opts(-5.0, Eight, 5);
    let want = oracle(&r, key_f32(-5.0), Eight, Some(vesselscan::sample::NAN_KEY));
    assert_eq!(run_cpu(&r, &o), want);
    for t in [1, 2, 6, 100] {
        o.tile_size = t;
        if let Some(g) = run_gpu(&r, &o) {
            assert_eq!(g, want, "f32 tile {t}");
        }
    }
    // u32 beyond 2^31, and u8.
    let r = typed(
        SampleKind::U32,
        15,
        9,
        (0..135u32).map(|i| i.wrapping_mul(2_654_435_761)).collect(),
    );
    check_all(&r, 2e9, 2_000_000_000, Eight, &[1, 4, 16]);
    let r = typed(
        SampleKind::U8,
        15,
        9,
        (0..135u32).map(|i| (i * 31) % 256).collect(),
    );
    check_all(&r, 128.0, 128, Four, &[1, 4, 16]);
}

#[test]
fn sixteen_bit_extremes_survive_packing() {
    // The GPU takes u8/u16/i16 samples two to a word (FLAG_PACK16; i16 less 0x7FFF8000):
    // the extreme values, odd widths (a row ends mid-word) and tiles of one pixel (every
    // tile starts at an odd or even half) must read back as the same keys.
    let (w, h) = (13u32, 7u32);
    let ends = |lo: i32, hi: i32| -> Vec<i32> {
        (0..w * h)
            .map(|i| match (i * 7) % 5 {
                0 => lo,
                1 => hi,
                2 => hi - 1,
                3 => lo + 1,
                _ => (lo + hi) / 2,
            })
            .collect()
    };
    let i16s = typed(
        SampleKind::I16,
        w,
        h,
        ends(-32768, 32767)
            .iter()
            .map(|&v| key_i16(v as i16))
            .collect(),
    );
    for (thr, conn) in [(32767.0, Eight), (32766.0, Four), (-32767.0, Eight)] {
        let d = check_all(&i16s, thr, key_i16(thr as i16), conn, &[1, 2, 3, 5, 64]);
        assert!(!d.is_empty(), "i16 at {thr}");
    }
    let u16s = typed(
        SampleKind::U16,
        w,
        h,
        ends(0, 65535).iter().map(|&v| v as u32).collect(),
    );
    for (thr, conn) in [(65535.0, Eight), (1.0, Four)] {
        let d = check_all(&u16s, thr, thr as u32, conn, &[1, 2, 3, 5, 64]);
        assert!(!d.is_empty(), "u16 at {thr}");
    }
}

#[test]
fn otsu_is_identical_on_both_backends() {
    use vesselscan::engine::cpu::CpuEngine;
    let r = bimodal(200, 150);
    let mut o = opts(0.0, Eight, 64);
    o.threshold = ThresholdMode::Otsu;
    let c = detect(&CpuEngine, &r, &o).unwrap();
    assert!(c.params.threshold.is_some());
    if let Some(g) = gpu() {
        let g = g.lock().unwrap();
        let gd = detect(&*g, &r, &o).unwrap();
        assert_eq!(gd.params.threshold, c.params.threshold);
        assert_eq!(gd.detections, c.detections);
    }
    // f32 goes through minmax + key-space binning.
    let f = typed(
        SampleKind::F32,
        200,
        150,
        r.keys
            .iter()
            .map(|&k| key_f32(k as f32 * 0.01 - 3.0))
            .collect(),
    );
    let c = detect(&CpuEngine, &f, &o).unwrap();
    if let Some(g) = gpu() {
        let g = g.lock().unwrap();
        let gd = detect(&*g, &f, &o).unwrap();
        assert_eq!(gd.params.threshold, c.params.threshold);
        assert_eq!(gd.detections, c.detections);
    }
}

/// Dark noisy background with bright discs: two modes for Otsu.
fn bimodal(w: u32, h: u32) -> Raster {
    let px = (0..w * h)
        .map(|i| {
            let (x, y) = ((i % w) as i32, (i / w) as i32);
            let disc = (0..6).any(|k| {
                let (cx, cy) = (20 + k * 31, 15 + (k * 47) % 120);
                (x - cx).pow(2) + (y - cy).pow(2) < 36
            });
            (if disc { 800 } else { 100 } + (i.wrapping_mul(2_654_435_761) >> 26)) as u16
        })
        .collect();
    raster_u16(w, h, px)
}

fn random_raster() -> impl Strategy<Value = (Raster, u32)> {
    (1u32..70, 1u32..70, 0u32..=100, any::<u64>()).prop_map(|(w, h, density, seed)| {
        // splitmix64 per pixel: values 0..1000, target when >= threshold.
        let mut s = seed;
        let keys = (0..w * h)
            .map(|_| {
                s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
                let mut z = s;
                z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
                ((z ^ (z >> 31)) % 1000) as u32
            })
            .collect();
        (
            raster_u16(w, h, vec![0; (w * h) as usize]).with_keys(keys),
            1000 - density * 10,
        )
    })
}

trait WithKeys {
    fn with_keys(self, keys: Vec<u32>) -> Self;
}
impl WithKeys for Raster {
    fn with_keys(mut self, keys: Vec<u32>) -> Self {
        self.keys = keys;
        self
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 48,
        rng_seed: proptest::test_runner::RngSeed::Fixed(0x5eed_ba11),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_images_match(
        (r, thr) in random_raster(),
        tile in prop::sample::select(vec![1u32, 2, 3, 5, 8, 13, 32, 100]),
        four in any::<bool>(),
    ) {
        let conn = if four { Four } else { Eight };
        let want = oracle(&r, thr, conn, None);
        let o = opts(thr as f64, conn, tile);
        prop_assert_eq!(&run_cpu(&r, &o), &want);
        if let Some(g) = run_gpu(&r, &o) {
            prop_assert_eq!(&g, &want);
        }
    }
}

#[test]
fn many_batches_and_clamped_tiles() {
    // Tile size 1 on 300x230 px: 69000 tiles, more than one dispatch can address (65535), so
    // the GPU runs several batches; tile 4096 is clamped to the largest tile the limits allow.
    let (w, h) = (300u32, 230u32);
    let keys: Vec<u32> = (0..w * h)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 22) % 1000)
        .collect();
    let r = raster_u16(w, h, vec![0; (w * h) as usize]).with_keys(keys);
    let want = oracle(&r, 700, Eight, None);
    for t in [1, 4096] {
        let o = opts(700.0, Eight, t);
        assert_eq!(run_cpu(&r, &o), want, "cpu tile {t}");
        if let Some(g) = run_gpu(&r, &o) {
            assert_eq!(g, want, "gpu tile {t}");
        }
    }
    // A scene wider than the largest tile: the clamped tile has a seam at x = 2048.
    let (w, h) = (2100u32, 9u32);
    let mut keys = vec![0u32; (w * h) as usize];
    for x in 2040..2060 {
        keys[(4 * w + x) as usize] = 900;
    }
    let r = raster_u16(w, h, vec![0; (w * h) as usize]).with_keys(keys);
    let o = opts(500.0, Eight, 100_000);
    let c = run_cpu(&r, &o);
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].area, 20);
    if let Some(g) = run_gpu(&r, &o) {
        assert_eq!(g, c);
    }
}

/// Records sized on demand (src/engine/gpu.rs `label_tiles`): a batch that has more components
/// than its records buffer was sized for runs again with room for all of them, and one whose
/// components would not fit the records limit runs in halves, down to single tiles (which run
/// whole, whatever the limit). Each way gives the CPU's detections.
#[test]
fn gpu_records_on_demand_rerun_and_split() {
    if gpu().is_none() {
        return;
    }
    let (w, h) = (300u32, 230u32);
    let keys: Vec<u32> = (0..u64::from(w * h))
        .map(|i| ((i.wrapping_mul(6_364_136_223_846_793_005) >> 33) % 1000) as u32)
        .collect();
    let r = raster_u16(w, h, vec![0; (w * h) as usize]).with_keys(keys);
    let rec = 20 * 4; // bytes of one record (REC_WORDS u32)
    for conn in [Four, Eight] {
        let o = opts(750.0, conn, 64);
        let want = run_cpu(&r, &o);
        assert!(want.len() > 2000, "{} components", want.len());
        // Sized for none at first: one rerun. A limit of 50 records: halves down to tiles.
        for (per_mpx, limit) in [(0, u64::MAX), (0, 50 * rec), (1 << 20, 50 * rec)] {
            let g = GpuEngine::new(None)
                .expect("GPU")
                .with_records(per_mpx, limit);
            let got = detect(&g, &r, &o).expect("gpu detect").detections;
            assert_eq!(
                got, want,
                "{conn:?}, {per_mpx} records per Mpx, limit {limit} B"
            );
        }
    }
}

/// Random samples of every kind, with a random nodata value and a random threshold picked
/// from the image itself (so pixels exactly at the threshold occur).
fn random_typed() -> impl Strategy<Value = (Raster, f64, Option<f64>)> {
    (0usize..5, 1u32..40, 1u32..40, any::<u64>(), any::<bool>()).prop_map(|(k, w, h, seed, nd)| {
        let kind = [
            SampleKind::U8,
            SampleKind::U16,
            SampleKind::I16,
            SampleKind::U32,
            SampleKind::F32,
        ][k];
        let mut s = seed;
        let mut next = || {
            s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = s;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        // Few distinct values, so ties with the threshold and nodata are common.
        let vals: Vec<f64> = (0..w * h)
            .map(|_| {
                let v = (next() % 16) as f64;
                match kind {
                    SampleKind::I16 => v * 997.0 - 8000.0,
                    SampleKind::U32 => v * 268_435_456.0,
                    SampleKind::F32 => v * 1.37e5 - 1.0e6,
                    _ => v * 13.0,
                }
            })
            .collect();
        let keys = vals
            .iter()
            .map(|&v| match kind {
                SampleKind::I16 => key_i16(v as i16),
                SampleKind::F32 => key_f32(v as f32),
                _ => v as u32,
            })
            .collect();
        let thr = vals[(next() % vals.len() as u64) as usize];
        let nodata = nd.then(|| vals[(next() % vals.len() as u64) as usize]);
        (typed(kind, w, h, keys), thr, nodata)
    })
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 40,
        rng_seed: proptest::test_runner::RngSeed::Fixed(0x7e57_0fda),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_typed_images_match(
        (r, thr, nodata) in random_typed(),
        tile in prop::sample::select(vec![1u32, 2, 3, 7, 16, 64]),
        four in any::<bool>(),
    ) {
        let conn = if four { Four } else { Eight };
        let tk = vesselscan::sample::threshold_key(r.kind, thr).unwrap();
        let nk = nodata.and_then(|v| vesselscan::sample::nodata_key(r.kind, v));
        let want = oracle(&r, tk, conn, nk);
        let mut o = opts(thr, conn, tile);
        o.nodata = nodata;
        prop_assert_eq!(&run_cpu(&r, &o), &want);
        if let Some(g) = run_gpu(&r, &o) {
            prop_assert_eq!(&g, &want);
        }
    }
}

fn f32_raster(w: u32, h: u32, vals: &[f32]) -> Raster {
    typed(
        SampleKind::F32,
        w,
        h,
        vals.iter().map(|&v| key_f32(v)).collect(),
    )
}

/// Both backends, the same answer, returned.
fn both(r: &Raster, o: &vesselscan::detect::DetectOptions) -> Vec<Detection> {
    let c = run_cpu(r, o);
    if let Some(g) = run_gpu(r, o) {
        assert_eq!(g, c);
    }
    c
}

#[test]
fn f32_nodata_is_rounded_to_f32() {
    // GDAL writes f32 nodata as decimals that are not exactly f32 values.
    for nd in [-3.4028235e38f64, -9999.9] {
        let mut vals = vec![nd as f32; 400];
        for v in vals.iter_mut().skip(200).take(198) {
            *v = 10.0;
        }
        vals[398] = 50.0;
        vals[399] = 50.0;
        let mut r = f32_raster(20, 20, &vals);
        r.nodata = Some(nd);
        let d = detect(
            &vesselscan::engine::cpu::CpuEngine,
            &r,
            &vesselscan::detect::DetectOptions::default(),
        )
        .unwrap();
        // Without the nodata, mean + 5 sigma would be dragged far below 10.
        let t = d.params.threshold.unwrap();
        assert!(t > 10.0 && t <= 50.0, "nodata {nd}: threshold {t}");
        assert_eq!(d.detections.len(), 1);
        assert_eq!(d.detections[0].area, 2);
    }
}

#[test]
fn f32_sums_do_not_overflow() {
    let o = opts(1.0, Eight, 4);
    let d = both(&f32_raster(2, 1, &[1e14, 1e14]), &o);
    let s = d[0].sum.as_f64();
    assert!((s - 2e14).abs() / 2e14 < 1e-6, "{s}");
    let d = both(&f32_raster(16, 1, &[1e13; 16]), &o);
    assert!((d[0].sum.as_f64() - 1.6e14).abs() / 1.6e14 < 1e-6);
    assert!(d[0].mean > 0.0);
    // Small values keep fine resolution: 0.1 + 0.2 in one component.
    let d = both(&f32_raster(2, 1, &[0.1, 0.2]), &opts(0.05, Eight, 1));
    assert!((d[0].sum.as_f64() - 0.3).abs() < 1e-8, "{:?}", d[0].sum);
}

#[test]
fn infinities_do_not_break_automatic_thresholds() {
    // A dB scene with log(0) = -inf: Otsu and mean + k sigma ignore it.
    let mut vals = vec![10.0f32; 100];
    for y in 0..10 {
        vals[y * 10 + 7] = 200.0;
    }
    vals[0] = f32::NEG_INFINITY;
    let r = f32_raster(10, 10, &vals);
    for mode in [ThresholdMode::Otsu, ThresholdMode::MeanStd(2.0)] {
        let mut o = opts(0.0, Eight, 3);
        o.threshold = mode;
        let d = both(&r, &o);
        assert_eq!(d.len(), 1, "{mode:?}");
        assert_eq!(d[0].area, 10, "{mode:?}");
        assert_eq!(d[0].bbox, [7, 0, 8, 10]);
    }
}

#[test]
fn negative_zero_equals_zero() {
    let r = f32_raster(3, 1, &[-0.0, -1.0, 0.0]);
    let d = both(&r, &opts(0.0, Four, 2));
    assert_eq!(d.iter().map(|d| d.area).sum::<u64>(), 2);
    let mut o = opts(-5.0, Eight, 2);
    o.nodata = Some(0.0);
    let d = both(&r, &o);
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].area, 1); // only -1.0: both zeros are nodata
}

#[test]
fn windows_of_any_height_give_identical_results() {
    use vesselscan::detect::{detect_source, InMemory};
    let (w, h) = (150u32, 123u32);
    let vals: Vec<f32> = (0..w * h)
        .map(|i| {
            let (x, y) = ((i % w) as f32, (i / w) as f32);
            let blob = ((x * 0.21).sin() * (y * 0.17).cos()).max(0.0) * 900.0;
            blob + ((i.wrapping_mul(2_654_435_761) >> 24) as f32) * 0.5 - 40.0
        })
        .collect();
    let f = f32_raster(w, h, &vals);
    let u = raster_u16(w, h, vals.iter().map(|&v| v.max(0.0) as u16).collect());
    for r in [&u, &f] {
        for mode in [
            ThresholdMode::Fixed(300.0),
            ThresholdMode::Otsu,
            ThresholdMode::MeanStd(1.5),
        ] {
            for tile in [7u32, 64] {
                let mut o = opts(0.0, Eight, tile);
                o.threshold = mode;
                let whole = detect(&vesselscan::engine::cpu::CpuEngine, r, &o).unwrap();
                assert!(!whole.detections.is_empty());
                for rows in [1u32, 7, 13, 64, 100, 1000] {
                    let cpu = detect_source(
                        &vesselscan::engine::cpu::CpuEngine,
                        &mut InMemory(r),
                        &o,
                        Some(rows),
                    )
                    .unwrap();
                    assert_eq!(
                        cpu.params.threshold, whole.params.threshold,
                        "{mode:?} tile {tile} rows {rows}"
                    );
                    assert_eq!(
                        cpu.detections, whole.detections,
                        "{:?} {mode:?} tile {tile} rows {rows}",
                        r.kind
                    );
                    if let Some(g) = gpu() {
                        let g = g.lock().unwrap();
                        let gd = detect_source(&*g, &mut InMemory(r), &o, Some(rows)).unwrap();
                        assert_eq!(
                            gd.detections, whole.detections,
                            "gpu {mode:?} tile {tile} rows {rows}"
                        );
                    }
                }
            }
        }
    }
}
