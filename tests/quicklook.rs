//! Quicklook: overview accumulation, stretch, outlines, chips, PNG output.

use image::{Rgb, RgbImage};
use proptest::prelude::*;
use vesselscan::sample::{key_f32, SampleKind, SampleKind::U8};
use vesselscan::write::quicklook::*;

const RED: Rgb<u8> = OUTLINE;

fn bits(o: &GreyOverview) -> (u32, u32, u32, Vec<u32>) {
    let v = o.values.iter().map(|v| v.to_bits()).collect();
    (o.width, o.height, o.factor, v)
}

/// Feed `keys` (a `w`-wide scene) to an overview in windows of the given heights.
fn overview_in(
    kind: SampleKind,
    keys: &[u32],
    w: u32,
    h: u32,
    max_w: u32,
    nodata: Option<u32>,
    heights: &[u32],
) -> GreyOverview {
    let mut o = Overview::new(w, h, max_w);
    let mut y = 0;
    for &n in heights.iter().chain(std::iter::repeat(&h)) {
        if y >= h {
            break;
        }
        let n = n.max(1).min(h - y);
        o.add_rows(
            kind,
            &keys[(y * w) as usize..((y + n) * w) as usize],
            y,
            n,
            nodata,
        );
        y += n;
    }
    o.finish()
}

/// A 5x7 f32 scene: values 1..=35 row-major, (1,0) nodata (-1), (4,0) NaN, row 6 all nodata.
fn scene() -> Vec<u32> {
    (0..35)
        .map(|i| match i {
            1 => -1.0,
            4 => f32::NAN,
            30.. => -1.0,
            _ => (i + 1) as f32,
        })
        .map(key_f32)
        .collect()
}

#[test]
fn overview_by_hand() {
    let nd = Some(key_f32(-1.0));
    let o = overview_in(SampleKind::F32, &scene(), 5, 7, 2, nd, &[7]);
    assert_eq!((o.width, o.height, o.factor), (2, 3, 3));
    let want = [61.0 / 8.0, 52.0 / 5.0, 22.0, 24.5];
    assert_eq!(&o.values[..4], &want);
    assert!(o.values[4].is_nan() && o.values[5].is_nan());
    for split in [&[1][..], &[2], &[4], &[2, 1, 3, 1], &[5, 2], &[3, 3, 1]] {
        let p = overview_in(SampleKind::F32, &scene(), 5, 7, 2, nd, split);
        assert_eq!(bits(&p), bits(&o), "windows {split:?}");
    }
    // Without nodata the -1 samples count.
    let p = overview_in(SampleKind::F32, &scene(), 5, 7, 2, None, &[7]);
    assert_eq!(p.values[0], 60.0 / 9.0);
    assert_eq!(p.values[4], -1.0);
}

#[test]
fn overview_sizes_and_odd_feeds() {
    assert_eq!(Overview::new(30000, 30000, 2048).factor(), 15);
    let o = Overview::new(10, 7, 4).finish();
    assert_eq!((o.width, o.height, o.factor), (4, 3, 3));
    assert!(o.values.iter().all(|v| v.is_nan()), "never fed: no data");
    let o = Overview::new(10, 7, 0).finish();
    assert_eq!((o.width, o.height, o.factor), (1, 1, 10));
    let o = Overview::new(3, 2, 100).finish();
    assert_eq!((o.width, o.height, o.factor), (3, 2, 1));
    // Overlapping windows (a halo) count each row once.
    let keys: Vec<u32> = (0..20).collect();
    let mut o = Overview::new(4, 5, 2);
    o.add_rows(SampleKind::U32, &keys[..12], 0, 3, None);
    o.add_rows(SampleKind::U32, &keys[4..], 1, 4, None);
    let o = o.finish();
    assert_eq!(o.values, [2.5, 4.5, 10.5, 12.5, 16.5, 18.5]);
    // A gap counts as no data.
    let mut o = Overview::new(4, 5, 2);
    o.add_rows(SampleKind::U32, &keys[..4], 0, 1, None);
    o.add_rows(SampleKind::U32, &keys[12..], 3, 2, None);
    assert_eq!(o.finish().values[..4], [0.5, 2.5, 12.5, 14.5]);
}

/// A one-row overview.
fn row(values: Vec<f32>) -> GreyOverview {
    let width = values.len() as u32;
    GreyOverview {
        width,
        height: 1,
        factor: 1,
        values,
    }
}

#[test]
fn percentiles_on_known_data() {
    let mut values: Vec<f32> = (0..=100).rev().map(|v| v as f32).collect();
    values.extend([f32::NAN, f32::INFINITY, f32::NEG_INFINITY]);
    let o = row(values);
    assert_eq!(o.percentiles(2.0, 98.0), Some((2.0, 98.0)));
    assert_eq!(o.percentiles(0.0, 100.0), Some((0.0, 100.0)));
    assert_eq!(o.percentiles(-5.0, 500.0), Some((0.0, 100.0)));
    assert_eq!(o.percentiles(f64::NAN, 50.0), None);
    let o = row(vec![4.0, 1.0, 3.0, 2.0]);
    assert_eq!(o.percentiles(50.0, 25.0), Some((2.5, 1.75)));
    let o = row(vec![f32::NAN; 2]);
    assert_eq!(o.percentiles(2.0, 98.0), None);
}

#[test]
fn stretch_clamps() {
    let o = row(vec![-10.0, 0.0, 50.0, 100.0, 200.0, f32::NAN]);
    let grey = |img: RgbImage| img.pixels().map(|p| p[0]).collect::<Vec<_>>();
    assert_eq!(grey(o.to_rgb(0.0, 100.0)), [0, 0, 128, 255, 255, 0]);
    assert_eq!(grey(o.to_rgb(100.0, 0.0)), [0, 0, 128, 255, 255, 0]);
    assert_eq!(grey(o.to_rgb(50.0, 50.0)), [0, 0, 128, 255, 255, 0]);
    assert_eq!(grey(o.to_rgb(f64::NAN, 1.0))[5], 0);
    assert!(o
        .to_rgb(0.0, 100.0)
        .pixels()
        .all(|p| p[0] == p[1] && p[1] == p[2]));
}

fn red_pixels(img: &RgbImage) -> Vec<(u32, u32)> {
    let mut v: Vec<_> = img
        .enumerate_pixels()
        .filter(|(_, _, p)| **p == RED)
        .map(|(x, y, _)| (x, y))
        .collect();
    v.sort();
    v
}

fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> Outline {
    Outline {
        id: 1,
        corners: [[x0, y0], [x1, y0], [x1, y1], [x0, y1]],
    }
}

/// The edge pixels of the pixel box `x0..x1 x y0..y1` (half-open).
fn ring(x0: u32, y0: u32, x1: u32, y1: u32) -> Vec<(u32, u32)> {
    let mut v: Vec<_> = (x0..x1)
        .flat_map(|x| (y0..y1).map(move |y| (x, y)))
        .filter(|&(x, y)| x == x0 || y == y0 || x == x1 - 1 || y == y1 - 1)
        .collect();
    v.sort();
    v
}

#[test]
fn outline_colours_exactly_the_box_edge() {
    let mut img = RgbImage::new(10, 10);
    draw_outlines(&mut img, 1, &[rect(2.0, 3.0, 7.0, 6.0)]);
    assert_eq!(red_pixels(&img), ring(2, 3, 7, 6));
    assert_eq!(red_pixels(&img).len(), 12);
    // The same box on a factor-2 overview of a scene twice the size.
    let mut img = RgbImage::new(10, 10);
    draw_outlines(&mut img, 2, &[rect(4.0, 6.0, 14.0, 12.0)]);
    assert_eq!(red_pixels(&img), ring(2, 3, 7, 6));
    // A one-pixel ship: a 3x3 ring around it, the ship itself left visible.
    let mut img = RgbImage::new(10, 10);
    draw_outlines(&mut img, 1, &[rect(5.0, 5.0, 6.0, 6.0)]);
    assert_eq!(red_pixels(&img), ring(4, 4, 7, 7));
    // A tiny ship on a coarse overview, in pixel (0, 0): the marker ring, clipped.
    let mut img = RgbImage::new(10, 10);
    draw_outlines(&mut img, 8, &[rect(1.0, 1.0, 4.0, 3.0)]);
    assert_eq!(red_pixels(&img), [(0, 1), (1, 0), (1, 1)]);
}

#[test]
fn rotated_outline_is_closed() {
    let mut img = RgbImage::new(12, 12);
    let diamond = Outline {
        id: 7,
        corners: [[6.0, 1.0], [11.0, 6.0], [6.0, 11.0], [1.0, 6.0]],
    };
    draw_outlines(&mut img, 1, &[diamond]);
    let red = red_pixels(&img);
    assert!(red.contains(&(6, 1)) && red.contains(&(10, 6)));
    assert!(red.contains(&(6, 10)) && red.contains(&(1, 6)));
    assert!(!red.contains(&(6, 6)), "interior left alone");
    // 8-connected: every red pixel has a red neighbour on both sides of the loop.
    for &(x, y) in &red {
        let n = red
            .iter()
            .filter(|&&(a, b)| (a, b) != (x, y) && a.abs_diff(x) <= 1 && b.abs_diff(y) <= 1)
            .count();
        assert!(n >= 2, "({x},{y}) has {n} neighbours");
    }
}

#[test]
fn wild_coordinates_do_not_panic() {
    let wild = [
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::MAX,
        -f64::MAX,
        1e300,
        -1e300,
        1e12,
        -7.5,
        0.0,
    ];
    let mut img = RgbImage::new(16, 9);
    let mut empty = RgbImage::new(0, 0);
    for &a in &wild {
        for &b in &wild {
            let o = [
                rect(a, b, 5.0, 5.0),
                rect(-3.0, a, b, 4.0),
                rect(a, a, b, b),
            ];
            draw_outlines(&mut img, 1, &o);
            draw_outlines(&mut img, 0, &o);
            draw_outlines(&mut empty, 3, &o);
        }
    }
    // A box far larger than the picture: its bottom edge crosses the whole picture.
    let mut img = RgbImage::new(16, 9);
    draw_outlines(&mut img, 1, &[rect(-1e12, -1e12, 1e12, 5.0)]);
    assert_eq!(
        red_pixels(&img),
        (0..16).map(|x| (x, 4)).collect::<Vec<_>>()
    );
}

/// A `w x h` u8 scene whose value at `(x, y)` is `10 x + y`.
fn u8_scene(w: u32, h: u32) -> Vec<u32> {
    (0..h)
        .flat_map(|y| (0..w).map(move |x| (10 * x + y) % 256))
        .collect()
}

fn grey(img: &RgbImage, x: u32, y: u32) -> u8 {
    img.get_pixel(x, y)[0]
}

#[test]
fn chip_crop_cap_and_upscale() {
    let k = u8_scene(20, 20);
    let chip20 = |keys: &[u32], y0, rows, bbox, margin, max_side| {
        chip(
            U8, keys, 20, y0, rows, bbox, margin, max_side, 0.0, 255.0, None,
        )
    };
    // bbox 8..10 x 8..11 + 2 px: 6..12 x 6..13, 6x7, upscaled x10.
    let c = chip20(&k, 0, 20, [8, 8, 10, 11], 2, 100).unwrap();
    assert_eq!(c.dimensions(), (60, 70));
    assert_eq!(grey(&c, 0, 0), 66);
    assert_eq!(grey(&c, 9, 9), 66);
    assert_eq!(grey(&c, 10, 0), 76);
    assert_eq!(grey(&c, 59, 69), 122);
    // Capped to 8 columns around the centre (x 10): 6..14; rows 0..7 fit.
    let c = chip20(&k, 0, 20, [2, 2, 18, 4], 3, 8).unwrap();
    assert_eq!(c.dimensions(), (64, 56));
    assert_eq!(grey(&c, 0, 0), 60);
    assert_eq!(grey(&c, 63, 55), 136);
    // Clipped at the scene's corner.
    let c = chip20(&k, 0, 20, [0, 0, 1, 1], 2, 100).unwrap();
    assert_eq!(c.dimensions(), (66, 66));
    assert_eq!(grey(&c, 65, 65), 22);
    // Rows 5..15 given: bbox rows 3..6 missing; margin rows clipped to what is there.
    let part = &k[5 * 20..15 * 20];
    assert!(chip20(part, 5, 10, [4, 3, 6, 6], 1, 100).is_none());
    assert!(chip20(part, 5, 10, [4, 13, 6, 16], 1, 100).is_none());
    let c = chip20(part, 5, 10, [4, 6, 6, 8], 3, 100).unwrap();
    assert_eq!(c.dimensions(), (8 * 8, 6 * 8));
    assert_eq!(grey(&c, 0, 0), 15);
    // More rows claimed than keys hold: only the keys count.
    assert!(chip20(&k[..40], 0, 20, [0, 0, 2, 3], 0, 100).is_none());
    // Empty box, box right of the scene.
    assert!(chip20(&k, 0, 20, [5, 5, 5, 9], 2, 100).is_none());
    assert!(chip20(&k, 0, 20, [25, 5, 30, 9], 2, 100).is_none());
    // Large enough: no upscaling; nodata black.
    let big = u8_scene(100, 70);
    let nodata = Some(big[18 * 100 + 18]);
    let c = chip(
        U8,
        &big,
        100,
        0,
        70,
        [0, 0, 100, 70],
        0,
        64,
        0.0,
        255.0,
        nodata,
    )
    .unwrap();
    assert_eq!(c.dimensions(), (64, 64));
    assert_eq!(grey(&c, 0, 0), (18 * 10 + 3) as u8);
    assert_eq!(grey(&c, 0, 15), 0, "nodata black");
}

#[test]
fn chip_with_outline() {
    let k = u8_scene(20, 20);
    let o = rect(8.0, 8.0, 10.0, 11.0);
    let bbox = [8, 8, 10, 11];
    let args = |o| chip_outlined(U8, &k, 20, 0, 20, bbox, 2, 100, 0.0, 255.0, None, o).unwrap();
    let plain = args(None);
    let drawn = args(Some(&o));
    // Chip origin (6, 6), x10: the box covers chip pixels 20..40 x 20..50.
    assert_eq!(red_pixels(&drawn), ring(20, 20, 40, 50));
    assert!(red_pixels(&plain).is_empty());
    assert_eq!(drawn.get_pixel(30, 30), plain.get_pixel(30, 30));
}

#[test]
fn save_png_roundtrip() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("quick.png");
    let img = RgbImage::from_fn(7, 5, |x, y| Rgb([x as u8 * 30, y as u8 * 50, 9]));
    save_png(&path, &img).unwrap();
    assert_eq!(image::open(&path).unwrap().to_rgb8(), img);
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["quick.png"]);
    let bad = dir.path().join("missing").join("q.png");
    let err = save_png(&bad, &img).unwrap_err().to_string();
    assert!(err.contains(&*bad.to_string_lossy()), "{err}");
}

/// Block means computed directly, in the same order as the accumulator adds them.
fn reference(keys: &[u32], w: u32, h: u32, max_w: u32, nodata: Option<u32>) -> GreyOverview {
    let f = w.div_ceil(max_w.max(1)).max(1);
    let (ow, oh) = (w.div_ceil(f), h.div_ceil(f));
    let mut values = Vec::new();
    for oy in 0..oh {
        for ox in 0..ow {
            let (mut s, mut n) = (0.0f64, 0u32);
            for y in oy * f..((oy + 1) * f).min(h) {
                for x in ox * f..((ox + 1) * f).min(w) {
                    let k = keys[(y * w + x) as usize];
                    if Some(k) != nodata {
                        s += k as f64;
                        n += 1;
                    }
                }
            }
            values.push(if n > 0 {
                (s / n as f64) as f32
            } else {
                f32::NAN
            });
        }
    }
    GreyOverview {
        width: ow,
        height: oh,
        factor: f,
        values,
    }
}

proptest! {
    #[test]
    fn windows_do_not_change_the_overview(
        w in 1u32..40,
        h in 1u32..40,
        max_w in 1u32..20,
        seed in any::<u64>(),
        heights in prop::collection::vec(1u32..9, 1..12),
        nodata in prop::option::of(0u32..8),
    ) {
        let mut s = seed | 1;
        let keys: Vec<u32> = (0..w * h)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                (s % 8) as u32 * 1000 + (s >> 40) as u32 % 1000
            })
            .collect();
        let nodata = nodata.map(|i| keys[(i * 7919 % (w * h)) as usize]);
        let one = overview_in(SampleKind::U32, &keys, w, h, max_w, nodata, &[h]);
        let split = overview_in(SampleKind::U32, &keys, w, h, max_w, nodata, &heights);
        prop_assert_eq!(bits(&split), bits(&one));
        prop_assert_eq!(bits(&one), bits(&reference(&keys, w, h, max_w, nodata)));
    }
}
