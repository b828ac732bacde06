//! Quicklook pictures and detection chips: a grey overview of a streamed scene (block means,
//! never the whole scene in memory), a percentile stretch, detection outlines drawn on it, and
//! small crops ("chips") around single detections, saved as PNG.

use crate::error::{Error, Result};
use crate::sample::{key_to_value, SampleKind};
use image::{ImageFormat, Rgb, RgbImage};
use rayon::prelude::*;
use std::path::Path;

/// Colour of outlines: stands out on grey.
pub const OUTLINE: Rgb<u8> = Rgb([255, 40, 40]);
/// Colour of detections matched to an AIS vessel (`--ais`); dark ones keep [`OUTLINE`].
pub const MATCHED: Rgb<u8> = Rgb([40, 220, 40]);
/// Colour of the crosses marking AIS vessels in the footprint that no detection matched.
pub const AIS_ONLY: Rgb<u8> = Rgb([0, 200, 255]);
/// Chips are upscaled (nearest neighbour, integer factor) to at least this on the longer side.
pub const MIN_CHIP_SIDE: u32 = 64;
/// Scene columns one rayon task of [`Overview::add_rows`] covers.
const COLS_PER_TASK: usize = 2048;

/// Streaming accumulator of an overview: each output pixel is the mean of the valid samples
/// (not nodata, not NaN) of its `factor x factor` block of the scene.
pub struct Overview {
    scene_w: u32,
    scene_h: u32,
    factor: u32,
    out_w: u32,
    out_h: u32,
    /// Sums and counts of the band of output row `next_row / factor`.
    sums: Vec<f64>,
    counts: Vec<u32>,
    values: Vec<f32>,
    /// Next scene row expected.
    next_row: u32,
}

/// A finished overview: `width x height` values (NaN where a block had no valid sample), each
/// the mean of a `factor x factor` block of the scene.
#[derive(Debug, Clone, PartialEq)]
pub struct GreyOverview {
    pub width: u32,
    pub height: u32,
    pub factor: u32,
    pub values: Vec<f32>,
}

impl Overview {
    /// Overview of a `scene_w x scene_h` scene at most `max_width` pixels wide (`max_width` 0
    /// counts as 1): factor `ceil(scene_w / max_width)` (at least 1).
    pub fn new(scene_w: u32, scene_h: u32, max_width: u32) -> Overview {
        let factor = scene_w.div_ceil(max_width.max(1)).max(1);
        let (out_w, out_h) = (scene_w.div_ceil(factor), scene_h.div_ceil(factor));
        Overview {
            scene_w,
            scene_h,
            factor,
            out_w,
            out_h,
            sums: vec![0.0; out_w as usize],
            counts: vec![0; out_w as usize],
            values: vec![f32::NAN; out_w as usize * out_h as usize],
            next_row: 0,
        }
    }

    pub fn factor(&self) -> u32 {
        self.factor
    }

    /// Consume the full-width scene rows `y0..y0 + rows` (row-major `keys`). Rows must come in
    /// order; rows already consumed (an overlap) are skipped, rows skipped over (a gap) count
    /// as no data, rows past the scene's end are ignored. The result does not depend on how
    /// the scene is split into calls.
    pub fn add_rows(
        &mut self,
        kind: SampleKind,
        keys: &[u32],
        y0: u32,
        rows: u32,
        nodata: Option<u32>,
    ) {
        let w = self.scene_w as usize;
        if w == 0 {
            return;
        }
        let rows = rows.min((keys.len() / w).min(u32::MAX as usize) as u32);
        let end = y0.saturating_add(rows).min(self.scene_h);
        self.advance_to(y0.min(end));
        let f = self.factor as usize;
        while self.next_row < end {
            let y = self.next_row;
            let stop = self.band_end(y).min(end);
            let src = &keys[(y - y0) as usize * w..(stop - y0) as usize * w];
            let per_task = COLS_PER_TASK.div_ceil(f);
            self.sums
                .par_chunks_mut(per_task)
                .zip(self.counts.par_chunks_mut(per_task))
                .enumerate()
                .for_each(|(t, (sums, counts))| {
                    for row in src.chunks_exact(w) {
                        for (i, (s, c)) in sums.iter_mut().zip(counts.iter_mut()).enumerate() {
                            let x = (t * per_task + i) * f;
                            for &k in &row[x..(x + f).min(w)] {
                                let v = key_to_value(kind, k);
                                if Some(k) != nodata && !v.is_nan() {
                                    *s += v;
                                    *c += 1;
                                }
                            }
                        }
                    }
                });
            self.advance_to(stop);
        }
    }

    /// One past the last scene row of the band holding row `y`.
    fn band_end(&self, y: u32) -> u32 {
        (y / self.factor + 1)
            .saturating_mul(self.factor)
            .min(self.scene_h)
    }

    /// Move `next_row` forward to `y`, finishing every band completed on the way.
    fn advance_to(&mut self, y: u32) {
        while self.next_row < y {
            let band_end = self.band_end(self.next_row);
            self.next_row = band_end.min(y);
            if self.next_row == band_end {
                let oy = ((band_end - 1) / self.factor) as usize;
                let ow = self.out_w as usize;
                let out = &mut self.values[oy * ow..(oy + 1) * ow];
                for ((o, s), c) in out.iter_mut().zip(&mut self.sums).zip(&mut self.counts) {
                    *o = if *c > 0 {
                        (*s / *c as f64) as f32
                    } else {
                        f32::NAN
                    };
                    (*s, *c) = (0.0, 0);
                }
            }
        }
    }

    /// The overview; rows never fed count as no data.
    pub fn finish(mut self) -> GreyOverview {
        self.advance_to(self.scene_h);
        GreyOverview {
            width: self.out_w,
            height: self.out_h,
            factor: self.factor,
            values: self.values,
        }
    }
}

impl GreyOverview {
    /// The `lo` and `hi` percentiles (0..=100, linear between ranks) of the finite values, or
    /// `None` when there is none (or a percentile is NaN).
    pub fn percentiles(&self, lo: f64, hi: f64) -> Option<(f64, f64)> {
        if lo.is_nan() || hi.is_nan() {
            return None;
        }
        let mut v: Vec<f32> = self
            .values
            .iter()
            .copied()
            .filter(|v| v.is_finite())
            .collect();
        if v.is_empty() {
            return None;
        }
        v.sort_unstable_by(f32::total_cmp);
        let at = |p: f64| {
            let pos = p.clamp(0.0, 100.0) * (v.len() - 1) as f64 / 100.0;
            let (i, t) = (pos.floor() as usize, pos - pos.floor());
            let a = v[i] as f64;
            let b = v[(i + 1).min(v.len() - 1)] as f64;
            a + (b - a) * t
        };
        Some((at(lo), at(hi)))
    }

    /// Grey picture: `lo` -> 0, `hi` -> 255, linear between, clamped; NaN drawn black.
    pub fn to_rgb(&self, lo: f64, hi: f64) -> RgbImage {
        RgbImage::from_fn(self.width, self.height, |x, y| {
            let g = stretch(
                self.values[y as usize * self.width as usize + x as usize] as f64,
                lo,
                hi,
            );
            Rgb([g, g, g])
        })
    }
}

/// Grey level of `v`: `lo` -> 0, `hi` -> 255, clamped (bounds in either order). When
/// `lo == hi`, values below are 0, above 255, equal 128. NaN is 0.
pub fn stretch(v: f64, lo: f64, hi: f64) -> u8 {
    let (lo, hi) = if lo <= hi { (lo, hi) } else { (hi, lo) };
    if v.is_nan() || (v <= lo && v < hi) {
        0
    } else if v >= hi && v > lo {
        255
    } else if lo == hi {
        128
    } else {
        // Saturating cast; NaN bounds give 0.
        ((v - lo) / (hi - lo) * 255.0).round().clamp(0.0, 255.0) as u8
    }
}

/// An oriented box in scene pixel coordinates (pixel `(c, r)` covers `[c, c+1) x [r, r+1)`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Outline {
    pub id: u32,
    pub corners: [[f64; 2]; 4],
}

/// Draw each outline on an overview of reduction `factor`: 1-px lines through the pixels at
/// the box's edge, clipped to the picture; a box under 3 px on the picture gets a 3x3 ring.
pub fn draw_outlines(img: &mut RgbImage, factor: u32, outlines: &[Outline]) {
    let s = 1.0 / factor.max(1) as f64;
    for o in outlines {
        draw_mapped(img, o, OUTLINE, |[x, y]| [x * s, y * s]);
    }
}

/// [`draw_outlines`] in `colour`.
pub fn draw_outlines_in(img: &mut RgbImage, factor: u32, outlines: &[Outline], colour: Rgb<u8>) {
    let s = 1.0 / factor.max(1) as f64;
    for o in outlines {
        draw_mapped(img, o, colour, |[x, y]| [x * s, y * s]);
    }
}

/// A diagonal cross 7 px across centred on scene point (x, y), on an overview of reduction
/// `factor`, clipped to the picture.
pub fn draw_cross(img: &mut RgbImage, factor: u32, x: f64, y: f64, colour: Rgb<u8>) {
    let s = 1.0 / factor.max(1) as f64;
    let (cx, cy) = ((x * s).floor(), (y * s).floor());
    if !cx.is_finite() || !cy.is_finite() {
        return;
    }
    for k in -3..=3 {
        let k = k as f64;
        put(img, cx + k, cy + k, colour);
        put(img, cx + k, cy - k, colour);
    }
}

/// Draw `o` with `map` taking scene coordinates to picture coordinates.
fn draw_mapped(
    img: &mut RgbImage,
    o: &Outline,
    colour: Rgb<u8>,
    map: impl Fn([f64; 2]) -> [f64; 2],
) {
    let p = o.corners.map(&map);
    if p.iter().flatten().any(|v| !v.is_finite()) {
        return;
    }
    let c = [0, 1].map(|a| p.iter().map(|q| q[a]).sum::<f64>() / 4.0);
    let ext = [0, 1].map(|a| {
        let (mn, mx) = p.iter().fold((f64::MAX, f64::MIN), |(mn, mx), q| {
            (mn.min(q[a]), mx.max(q[a]))
        });
        mx - mn
    });
    if !c[0].is_finite() || !c[1].is_finite() {
        return;
    }
    if ext[0] < 3.0 && ext[1] < 3.0 {
        let (cx, cy) = (c[0].floor(), c[1].floor());
        for (dx, dy) in [
            (-1., -1.),
            (0., -1.),
            (1., -1.),
            (1., 0.),
            (1., 1.),
            (0., 1.),
            (-1., 1.),
            (-1., 0.),
        ] {
            put(img, cx + dx, cy + dy, colour);
        }
        return;
    }
    // Corners moved half a pixel toward the centre (never past it): a corner on the boundary
    // of pixels lands inside the box's edge pixels.
    let q = p.map(|q| [0, 1].map(|a| q[a] + (c[a] - q[a]).clamp(-0.5, 0.5)));
    for i in 0..4 {
        line(img, q[i], q[(i + 1) % 4], colour);
    }
}

fn put(img: &mut RgbImage, x: f64, y: f64, colour: Rgb<u8>) {
    if x >= 0.0 && y >= 0.0 && x < img.width() as f64 && y < img.height() as f64 {
        img.put_pixel(x as u32, y as u32, colour);
    }
}

/// A 1-px line through the pixels holding `a` and `b` (Bresenham), clipped to the picture.
fn line(img: &mut RgbImage, a: [f64; 2], b: [f64; 2], colour: Rgb<u8>) {
    let (w, h) = (img.width() as f64, img.height() as f64);
    // Liang-Barsky clip to [0, w) x [0, h) before stepping: coordinates may be huge.
    let d = [b[0] - a[0], b[1] - a[1]];
    if w == 0.0 || h == 0.0 || !d[0].is_finite() || !d[1].is_finite() {
        return;
    }
    let (mut t0, mut t1) = (0.0f64, 1.0f64);
    for (p, q) in [
        (-d[0], a[0]),
        (d[0], w - 1e-9 - a[0]),
        (-d[1], a[1]),
        (d[1], h - 1e-9 - a[1]),
    ] {
        if p == 0.0 {
            if q < 0.0 {
                return;
            }
        } else {
            let r = q / p;
            if p < 0.0 {
                t0 = t0.max(r);
            } else {
                t1 = t1.min(r);
            }
        }
    }
    if t0 > t1 {
        return;
    }
    let at = |t: f64, k: usize| (a[k] + t * d[k]).floor().clamp(0.0, [w, h][k] - 1.0) as i64;
    let (mut x, mut y, x1, y1) = (at(t0, 0), at(t0, 1), at(t1, 0), at(t1, 1));
    let (dx, dy) = ((x1 - x).abs(), -(y1 - y).abs());
    let (sx, sy) = ((x1 - x).signum(), (y1 - y).signum());
    let mut err = dx + dy;
    loop {
        img.put_pixel(x as u32, y as u32, colour);
        if x == x1 && y == y1 {
            break;
        }
        let e2 = 2 * err;
        if e2 >= dy {
            err += dy;
            x += sx;
        }
        if e2 <= dx {
            err += dx;
            y += sy;
        }
    }
}

/// A chip of one detection: `bbox` (`[x0, y0, x1, y1]`, scene px, half-open) grown by `margin`
/// px each side, clipped to the scene, capped to `max_side` px per side around the bbox centre,
/// stretched with `lo`/`hi` (nodata and NaN black) and upscaled (nearest neighbour, integer
/// factor) to at least [`MIN_CHIP_SIDE`] px on its longer side. `keys` holds `rows` full-width
/// rows from scene row `y0`. `None` when the rows of the bbox are not all there (or the box is
/// empty); margin rows missing from `keys` are left out, so feed windows with a halo of at
/// least `margin` rows.
#[allow(clippy::too_many_arguments)]
pub fn chip(
    kind: SampleKind,
    keys: &[u32],
    width: u32,
    y0: u32,
    rows: u32,
    bbox: [u64; 4],
    margin: u32,
    max_side: u32,
    lo: f64,
    hi: f64,
    nodata: Option<u32>,
) -> Option<RgbImage> {
    chip_outlined(
        kind, keys, width, y0, rows, bbox, margin, max_side, lo, hi, nodata, None,
    )
}

/// [`chip`] with `outline` (scene coordinates) drawn on it.
#[allow(clippy::too_many_arguments)]
pub fn chip_outlined(
    kind: SampleKind,
    keys: &[u32],
    width: u32,
    y0: u32,
    rows: u32,
    bbox: [u64; 4],
    margin: u32,
    max_side: u32,
    lo: f64,
    hi: f64,
    nodata: Option<u32>,
    outline: Option<&Outline>,
) -> Option<RgbImage> {
    let w = width as u64;
    let rows = (rows as u64).min(keys.len() as u64 / w.max(1));
    let (ry0, ry1) = (y0 as u64, y0 as u64 + rows);
    let (m, cap) = (margin as u64, max_side.max(1) as u64);
    // Grown, clipped and capped range along one axis: [lo, hi).
    let span = |b0: u64, b1: u64, limit: u64| {
        let (g0, g1) = (b0.saturating_sub(m), b1.saturating_add(m).min(limit));
        if g1 - g0 <= cap {
            return (g0, g1);
        }
        let s = ((b0 + b1) / 2).saturating_sub(cap / 2).clamp(g0, g1 - cap);
        (s, s + cap)
    };
    let [bx0, by0, bx1, by1] = bbox;
    let (bx1, by1) = (bx1.min(w), by1.min(u64::MAX / 2));
    if bx0 >= bx1 || by0 >= by1 {
        return None;
    }
    let (cx0, cx1) = span(bx0, bx1, w);
    let (cy0, cy1) = span(by0, by1, u64::MAX / 2);
    // The bbox rows inside the crop must all be there.
    if by0.max(cy0) < ry0 || by1.min(cy1) > ry1 {
        return None;
    }
    let (cy0, cy1) = (cy0.max(ry0), cy1.min(ry1));
    let (cw, ch) = ((cx1 - cx0) as u32, (cy1 - cy0) as u32);
    let k = MIN_CHIP_SIDE.div_ceil(cw.max(ch)).max(1);
    let mut img = RgbImage::from_fn(cw * k, ch * k, |x, y| {
        let (sx, sy) = (cx0 + (x / k) as u64, cy0 + (y / k) as u64);
        let key = keys[((sy - ry0) * w + sx) as usize];
        let g = if Some(key) == nodata {
            0
        } else {
            stretch(key_to_value(kind, key), lo, hi)
        };
        Rgb([g, g, g])
    });
    if let Some(o) = outline {
        let (ox, oy, kf) = (cx0 as f64, cy0 as f64, k as f64);
        draw_mapped(&mut img, o, OUTLINE, |[x, y]| {
            [(x - ox) * kf, (y - oy) * kf]
        });
    }
    Some(img)
}

/// Write `img` to `path` as PNG, atomically (temp file beside it, then rename).
pub fn save_png(path: &Path, img: &RgbImage) -> Result<()> {
    let mut bytes = std::io::Cursor::new(Vec::new());
    img.write_to(&mut bytes, ImageFormat::Png)
        .map_err(|e| Error::Write {
            path: path.to_owned(),
            source: std::io::Error::other(e),
        })?;
    crate::write::write_atomic(path, &bytes.into_inner())
}
