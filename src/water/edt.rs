//! [`WaterMask::buffer_shore`]: remove the water within a distance of land, exactly (Euclidean
//! distance between pixel centres), by the separable exact distance transform of Felzenszwalb
//! and Huttenlocher ("Distance Transforms of Sampled Functions", 2012), run in strips of rows.
//!
//! Pass 1 (columns): for each pixel, the vertical distance `g` to the nearest land pixel of its
//! column, up to `R = floor(r)` rows away (farther cannot be within `r`). Scanning down, each
//! column carries the row of its last land pixel from strip to strip; scanning up, each strip
//! looks at most `R` rows below it. Pass 2 (rows): the squared distance to land is the lower
//! envelope `D(x) = min_q (x - q)^2 + g(q)^2` over the row, built in O(width) per row (rows in
//! parallel); a water pixel becomes land when `D(x) <= r^2`, compared in integers (exact).
//!
//! A strip's rows are written only after its column pass, and later strips see the rows above
//! only through the carried "last land row" of each column, so the transform is that of the
//! mask as it was before the call.
//!
//! **Memory:** the strip's `g` values (`u32`, [`STRIP_BYTES`] = 16 MiB at most, at least one
//! row), two `u32` per column for the carried rows, and per worker thread two scratch arrays of
//! `width + 1` entries (16 bytes each): for a 30000-pixel-wide scene about 16.3 MiB plus
//! 0.5 MiB a thread, whatever the height and the distance.

use super::{valid_bits, WaterMask};
use rayon::prelude::*;

/// Cap on the column distances held for one strip, in bytes.
pub const STRIP_BYTES: usize = 16 << 20;

impl WaterMask {
    /// Remove the water within `pixels` of land: every water pixel whose centre is at a
    /// Euclidean distance `<= pixels` from the centre of a land pixel (of the mask as it was
    /// before the call) becomes land. The scene edge is not land. Nothing changes for
    /// `pixels < 1` (the nearest other pixel centre is 1 away), a NaN, or a mask without land.
    ///
    /// Exact (integer comparisons of squared distances); O(width x height) time, memory
    /// bounded whatever the size (see [`crate::water::edt`]).
    pub fn buffer_shore(&mut self, pixels: f64) {
        let rows = STRIP_BYTES / (4 * self.width as usize);
        self.buffer_shore_in_strips(pixels, rows);
    }

    /// The opposite of [`WaterMask::buffer_shore`]: every land pixel whose centre is within
    /// `pixels` (Euclidean, `<=`) of the centre of a water pixel becomes water. The same
    /// transform on the inverted mask, with the same cost.
    pub fn grow_water(&mut self, pixels: f64) {
        if pixels.is_nan() || pixels < 1.0 {
            return;
        }
        self.invert();
        self.buffer_shore(pixels);
        self.invert();
    }

    /// Grow water into land by `margin_px` ([`WaterMask::grow_water`]) so that vessels moored
    /// alongside a quay (joined to the land in an automatic mask, their centres within a half
    /// beam of the water) count as water, but keep long thin land: the parts of the land
    /// thinner than about `2 * margin_px` (not covered by its morphological opening with a disc
    /// of that radius: breakwaters, jetties, narrow piers) stay land when an 8-connected piece
    /// of them holds more than `vessel_px` pixels or does not fit in a `vessel_side_px` square.
    /// Thin pieces of vessel size (a vessel moored bow-on, a short pier) become water.
    ///
    /// Three exact distance transforms and one component pass; two extra masks in memory.
    pub fn grow_water_to_quays(&mut self, margin_px: f64, vessel_px: u64, vessel_side_px: u32) {
        if margin_px.is_nan() || margin_px < 1.0 {
            return;
        }
        // Erode the land (grow the water), then dilate it back: the opening of the land.
        let mut grown = self.clone();
        grown.grow_water(margin_px);
        let mut opened = grown.clone();
        opened.buffer_shore(margin_px);
        // Thin land: land now, water once opened; `thin` holds it as its "water" bits.
        let mut thin = opened;
        for (t, &orig) in thin.words_mut().iter_mut().zip(&self.bits) {
            *t &= !orig;
        }
        thin.flip_small(true, vessel_px, vessel_side_px, false);
        for (g, &t) in grown.words_mut().iter_mut().zip(&thin.bits) {
            *g &= !t;
        }
        *self = grown;
    }

    /// [`WaterMask::buffer_shore`] in strips of `strip_rows` rows (at least 1, at most the
    /// height): the result never depends on it (tests use it to cross many strip seams).
    pub fn buffer_shore_in_strips(&mut self, pixels: f64, strip_rows: usize) {
        if pixels.is_nan() || pixels < 1.0 {
            return;
        }
        let (w, h) = (self.width as usize, self.height as usize);
        if self.count_water() == (w * h) as u64 {
            return;
        }
        // Largest vertical reach, and r^2 rounded down (D <= r^2 iff D <= floor(r^2) for an
        // integer D); both capped past the scene's diagonal (and at 2^30, so that rows and
        // distances fit the u32 arithmetic below: exact for every distance up to 2^30 px).
        let reach = pixels.min((w + h) as f64).min(MAX_REACH as f64).floor() as u32;
        let r2 = (pixels * pixels)
            .min(reach as f64 * reach as f64 + 2.0 * reach as f64)
            .floor() as u64;
        let far = reach + 1;
        let rows = strip_rows.clamp(1, h);
        let stride = self.stride;
        let width = self.width;
        // Columns' last land row above, plus `far + 1` (0: none, so that the distance comes
        // out >= far), carried across strips; next land row below (u32::MAX: none).
        let lift = far + 1;
        let mut above = vec![0u32; w];
        let mut below = vec![u32::MAX; w];
        let mut g = vec![far; rows * w];
        let mut y0 = 0;
        while y0 < h {
            let y1 = (y0 + rows).min(h);
            // Down: distance to the last land pixel at or above (>= far: none within reach).
            for y in y0..y1 {
                let ly = (y as u32).wrapping_add(lift);
                mark(
                    &mut above,
                    &self.bits[y * stride..(y + 1) * stride],
                    width,
                    ly,
                );
                let gr = &mut g[(y - y0) * w..(y - y0 + 1) * w];
                for (gx, &a) in gr.iter_mut().zip(&above) {
                    *gx = ly.wrapping_sub(a);
                }
            }
            // Up: distance to the next land pixel at or below, looking `reach` rows past the
            // strip (rows not yet changed).
            let bottom = (y1 + reach as usize).min(h);
            below.fill(u32::MAX);
            for y in (y0..bottom).rev() {
                mark(
                    &mut below,
                    &self.bits[y * stride..(y + 1) * stride],
                    width,
                    y as u32,
                );
                if y < y1 {
                    let gr = &mut g[(y - y0) * w..(y - y0 + 1) * w];
                    for (gx, &b) in gr.iter_mut().zip(&below) {
                        *gx = (*gx).min(b - y as u32);
                    }
                }
            }
            // Rows: lower envelope of the parabolas (x - q)^2 + g(q)^2.
            let g = &g;
            self.bits[y0 * stride..y1 * stride]
                .par_chunks_mut(stride)
                .enumerate()
                .for_each_init(
                    || (vec![0usize; w + 1], vec![0f64; w + 1]),
                    |(v, z), (k, row)| buffer_row(row, &g[k * w..(k + 1) * w], far, r2, v, z),
                );
            y0 = y1;
        }
        self.index = std::sync::OnceLock::new();
    }
}

/// Largest distance [`WaterMask::buffer_shore`] looks at, in pixels.
const MAX_REACH: u32 = 1 << 30;

/// Set `at[x] = v` for the land pixels `x` of a row of words.
fn mark(at: &mut [u32], row: &[u64], width: u32, v: u32) {
    let w = at.len();
    for (i, &word) in row.iter().enumerate() {
        let valid = valid_bits(width, i);
        let mut land = !word & valid;
        if land == valid {
            let x0 = i * 64;
            at[x0..(x0 + 64).min(w)].fill(v);
            continue;
        }
        while land != 0 {
            let b = land.trailing_zeros() as usize;
            land &= land - 1;
            at[i * 64 + b] = v;
        }
    }
}

/// Largest `s` with `s * s <= m`.
fn isqrt(m: u64) -> u64 {
    let mut s = (m as f64).sqrt() as u64;
    while s * s > m {
        s -= 1;
    }
    while (s + 1) * (s + 1) <= m {
        s += 1;
    }
    s
}

/// Clear the bits of `row` (make land) whose squared distance to land,
/// `D(x) = min_q (x - q)^2 + g(q)^2` over the sites `q` with `g(q) < far`, is at most `r2`.
/// `v`, `z`: scratch of `w + 1`.
fn buffer_row(row: &mut [u64], g: &[u32], far: u32, r2: u64, v: &mut [usize], z: &mut [f64]) {
    let f = |q: usize| (g[q] as u64 * g[q] as u64) as f64;
    // Lower envelope (Felzenszwalb-Huttenlocher) of the sites: parabola v[j] is lowest on
    // [z[j], z[j + 1]].
    let mut k: usize = 0;
    let mut any = false;
    let n = g.len();
    let mut q = 0;
    while q < n {
        // Skip 8 columns at a time where none is a site: far from land, or inside a run of
        // land (the common cases).
        if q + 8 <= n {
            let c = &g[q..q + 8];
            if c.iter().all(|&d| d >= far)
                || (q > 0
                    && q + 8 < n
                    && g[q - 1] == 0
                    && g[q + 8] == 0
                    && c.iter().all(|&d| d == 0))
            {
                q += 8;
                continue;
            }
        }
        let d = g[q];
        // Sites inside a run of land (g = 0 on both sides) are never the nearest to a water
        // pixel: the end of the run on the pixel's side is nearer.
        if d >= far || (d == 0 && q > 0 && q + 1 < n && g[q - 1] == 0 && g[q + 1] == 0) {
            q += 1;
            continue;
        }
        if !any {
            any = true;
            v[0] = q;
            z[0] = f64::NEG_INFINITY;
            z[1] = f64::INFINITY;
            q += 1;
            continue;
        }
        let qf = q as f64;
        // z[0] = -inf, so the loop stops at k = 0 at the latest.
        let s = loop {
            let p = v[k] as f64;
            let s = ((f(q) + qf * qf) - (f(v[k]) + p * p)) / (2.0 * qf - 2.0 * p);
            if s <= z[k] {
                k -= 1;
            } else {
                break s;
            }
        };
        k += 1;
        v[k] = q;
        z[k] = s;
        z[k + 1] = f64::INFINITY;
        q += 1;
    }
    if !any {
        return;
    }
    // On its interval parabola v[j] is the minimum, so D(x) <= r2 there for the x within
    // sqrt(r2 - g^2) of v[j]: clear that span (land bits are already clear). Where two
    // parabolas cross, rounding in z may give a pixel to either: at an integer x both give
    // the same integer distance, so the result stays exact.
    let last = n as f64 - 1.0;
    for j in 0..=k {
        let q = v[j];
        let gq = g[q] as u64;
        let Some(rest) = r2.checked_sub(gq * gq) else {
            continue;
        };
        let dx = isqrt(rest) as f64;
        let lo = z[j].ceil().max(q as f64 - dx).max(0.0);
        let hi = z[j + 1].floor().min(q as f64 + dx).min(last);
        if lo <= hi {
            clear_span(row, lo as usize, hi as usize + 1);
        }
    }
}

/// Clear bits `a..b` of a row of words.
pub(crate) fn clear_span(row: &mut [u64], a: usize, b: usize) {
    let mut x = a;
    while x < b {
        let i = x / 64;
        let bit = x % 64;
        let n = (b - x).min(64 - bit);
        let mask = if n == 64 {
            u64::MAX
        } else {
            ((1u64 << n) - 1) << bit
        };
        row[i] &= !mask;
        x += n;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Brute force: water pixels within `r` of a land pixel (centres), of the original mask.
    fn brute(m: &WaterMask, r: f64) -> WaterMask {
        let land: Vec<(i64, i64)> = (0..m.height())
            .flat_map(|y| (0..m.width()).map(move |x| (x, y)))
            .filter(|&(x, y)| !m.is_water(x, y))
            .map(|(x, y)| (x as i64, y as i64))
            .collect();
        WaterMask::from_fn(m.width(), m.height(), |x, y| {
            m.is_water(x, y)
                && !land.iter().any(|&(a, b)| {
                    let d = (a - x as i64).pow(2) + (b - y as i64).pow(2);
                    d as f64 <= r * r
                })
        })
        .unwrap()
    }

    #[test]
    fn single_land_pixel_grows_a_disc() {
        let mut m = WaterMask::filled(41, 37, true).unwrap();
        m.set(20, 18, false);
        let want = brute(&m, 7.5);
        m.buffer_shore(7.5);
        assert_eq!(m, want);
        // A disc of radius 7.5 holds 177 lattice points.
        assert_eq!(41 * 37 - m.count_water(), 177);
    }

    #[test]
    fn every_strip_height_gives_the_brute_force() {
        let m = WaterMask::from_fn(67, 90, |x, y| {
            !((x * 7 + y * 13) % 97 == 3 || y == 89 && x < 5)
        })
        .unwrap();
        for r in [1.0, 1.5, 2.0, 4.99, 10.0, 60.0, 1e9] {
            let want = brute(&m, r);
            for strip in [1, 2, 3, 7, 64, 1000] {
                let mut a = m.clone();
                a.buffer_shore_in_strips(r, strip);
                assert_eq!(a, want, "r {r} strip {strip}");
            }
        }
        let mut a = m.clone();
        a.buffer_shore(0.9);
        assert_eq!(a, m);
        a.buffer_shore(f64::NAN);
        assert_eq!(a, m);
    }
}
