//! Two-parameter CFAR, host side: the options, window sizes in metres or pixels, k from a
//! false-alarm probability, and the CFAR levels of each sample type. The kernels are
//! `shaders/cfar_rows.wgsl` and `shaders/cfar.wgsl` (twins `src/cpu/cfar_rows.rs`,
//! `src/cpu/cfar.rs`).
//!
//! A pixel of level x is a target when `x - mean > k * std`, mean and std over the **ring**
//! between a guard window (which holds the target itself) and a background window, both
//! square and centred on the pixel; pixels that are nodata or land (a water mask) are left out
//! of the ring, and rings holding fewer than `min_ring_fraction` of their full count decide
//! nothing (the pixel is not a target).
//!
//! **Numeric contract.** Everything is integer: the level of a pixel is a 16-bit integer (its
//! value for u8/u16, value + 32768 for i16 — the test is shift-invariant —, and for u32/f32 the
//! scene's valid key range quantised to 65536 levels, which for f32 is close to a logarithmic
//! scale: about 2^(16 - log2(octaves spanned)) levels per octave); the ring's count N, sum S and
//! sum of squares Q are exact integer sums (windows are at most 255 px a side, so
//! S < 2^32 and N Q < 2^64); k is rounded to 1/256 (`k256`); and the test
//! `(x N - S)^2 * 2^16 > k256^2 * (N Q - S^2)` with `x N > S` is evaluated in 128-bit integers on
//! both backends. GPU and CPU therefore agree bit for bit, for every tile size and window
//! height (tiles read a halo of `rb` pixels; windows of rows carry `rb` halo rows).

use crate::error::{Error, Result};
use crate::sample::SampleKind;
use crate::threshold::Binning;
use crate::tiling::CFAR_MAX_RADIUS;
use crate::water::WaterMask;
use serde::Serialize;

/// A window size: metres on the ground (needs the pixel size) or pixels. The window is the
/// square of `2r + 1` pixels a side with `r = round(size / pixel / 2)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Extent {
    Px(f64),
    M(f64),
}

/// What the user asks for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CfarOptions {
    /// Target when (x - mean) > k std over the ring.
    pub k: f64,
    pub guard: Extent,
    pub background: Extent,
    /// Fewest ring pixels (valid, water) for a decision, as a fraction of the full ring.
    pub min_ring_fraction: f64,
    /// Censored CFAR: a first pass at this k finds the bright pixels, which (grown by
    /// `censor_grow_px`) leave the rings of the second pass, so ships next to ships and bright
    /// clutter do not raise their neighbours' background. `None`: one pass.
    pub censor_k: Option<f64>,
    /// Pixels by which the first pass's targets grow (a square window of 2 g + 1) before they
    /// leave the rings: ships' dim fringes and sidelobes go with them.
    pub censor_grow_px: u32,
}

/// Default growth of a censored CFAR's first-pass targets, in pixels.
pub const DEFAULT_CENSOR_GROW_PX: u32 = 2;
/// Largest growth (the halo the censoring reads stays within a window's halo).
pub const MAX_CENSOR_GROW_PX: u32 = 16;

/// Default guard and background windows in pixels (no georeferencing, no preset).
pub const DEFAULT_GUARD_PX: f64 = 15.0;
pub const DEFAULT_BACKGROUND_PX: f64 = 41.0;
/// Default k.
pub const DEFAULT_K: f64 = 5.0;
/// Default fewest ring pixels, as a fraction of the full ring.
pub const DEFAULT_MIN_RING_FRACTION: f64 = 0.25;

impl Default for CfarOptions {
    fn default() -> Self {
        CfarOptions {
            k: DEFAULT_K,
            guard: Extent::Px(DEFAULT_GUARD_PX),
            background: Extent::Px(DEFAULT_BACKGROUND_PX),
            min_ring_fraction: DEFAULT_MIN_RING_FRACTION,
            censor_k: None,
            censor_grow_px: DEFAULT_CENSOR_GROW_PX,
        }
    }
}

/// The CFAR a run uses, in the kernels' terms (reported in the output's `params`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CfarResolved {
    /// Guard and background half-widths in pixels (windows of 2r + 1 a side).
    pub guard_radius_px: u32,
    pub background_radius_px: u32,
    /// k in 1/256.
    #[serde(skip)]
    pub k256: u32,
    /// Fewest ring pixels for a decision.
    pub min_ring_pixels: u32,
    /// Censored CFAR: the first pass's k in 1/256, and the growth of its targets in pixels.
    #[serde(skip)]
    pub censor_k256: Option<u32>,
    #[serde(skip)]
    pub censor_grow_px: u32,
}

impl CfarResolved {
    /// The k the kernels use (the request rounded to 1/256).
    pub fn k(&self) -> f64 {
        self.k256 as f64 / 256.0
    }

    /// The first pass's k of a censored CFAR, as the kernels use it.
    pub fn censor_k(&self) -> Option<f64> {
        self.censor_k256.map(|k| k as f64 / 256.0)
    }
}

/// Largest k (k256 must stay below 2^16 so k256^2 fits a u32).
pub const MAX_K: f64 = 255.0;

impl CfarOptions {
    /// Window radii and k for a scene whose pixels are `pixel_m` metres on the ground (needed
    /// when a size is in metres). Background windows wider than 255 px are clamped to it (a
    /// note is returned for stderr).
    pub fn resolve(&self, pixel_m: Option<f64>) -> Result<(CfarResolved, Option<String>)> {
        if !(self.k.is_finite() && self.k > 0.0 && self.k <= MAX_K) {
            return Err(Error::Invalid(format!(
                "--cfar {}: k must be in (0, {MAX_K}]",
                self.k
            )));
        }
        if !(0.0..=1.0).contains(&self.min_ring_fraction) {
            return Err(Error::Invalid(format!(
                "--cfar-min-ring {}: a fraction in [0, 1]",
                self.min_ring_fraction
            )));
        }
        let radius = |e: Extent, what: &str| -> Result<f64> {
            let px = match e {
                Extent::Px(p) => p,
                Extent::M(m) => {
                    let Some(pm) = pixel_m else {
                        return Err(Error::Invalid(format!(
                            "--{what}-m needs the size of a pixel on the ground, and the scene has no usable georeferencing; give --pixel-size-m or --{what}-px"
                        )));
                    };
                    m / pm
                }
            };
            if !(px.is_finite() && px >= 1.0) {
                return Err(Error::Invalid(format!(
                    "--{what}: {px} px is not a window size (at least 1 pixel)"
                )));
            }
            Ok(((px - 1.0) / 2.0).round())
        };
        let rg = radius(self.guard, "guard")?;
        let rb = radius(self.background, "background")?;
        let mut note = None;
        let rb = if rb > CFAR_MAX_RADIUS as f64 {
            note = Some(format!(
                "CFAR background window of {} px clamped to {} px (the largest the exact integer sums allow)",
                2.0 * rb + 1.0,
                2 * CFAR_MAX_RADIUS + 1
            ));
            CFAR_MAX_RADIUS
        } else {
            rb as u32
        };
        let rg = rg as u32;
        if rg >= rb {
            return Err(Error::Invalid(format!(
                "CFAR guard window ({} px) must be smaller than the background window ({} px)",
                2 * rg + 1,
                2 * rb + 1
            )));
        }
        if let Some(c) = self.censor_k {
            if !(c.is_finite() && c > 0.0 && c <= MAX_K) {
                return Err(Error::Invalid(format!(
                    "--cfar-censor {c}: k must be in (0, {MAX_K}]"
                )));
            }
        }
        if self.censor_grow_px > MAX_CENSOR_GROW_PX {
            return Err(Error::Invalid(format!(
                "--censor-grow-px {}: at most {MAX_CENSOR_GROW_PX}",
                self.censor_grow_px
            )));
        }
        let ring = (2 * rb + 1).pow(2) - (2 * rg + 1).pow(2);
        let min_n = ((ring as f64 * self.min_ring_fraction).ceil() as u32).clamp(1, ring);
        let k256 = |k: f64| (k * 256.0).round().max(1.0) as u32;
        Ok((
            CfarResolved {
                guard_radius_px: rg,
                background_radius_px: rb,
                k256: k256(self.k),
                min_ring_pixels: min_n,
                censor_k256: self.censor_k.map(k256),
                censor_grow_px: self.censor_grow_px,
            },
            note,
        ))
    }
}

/// The ring plane of a censored CFAR's second pass: the pixels of `targets` (the first pass's,
/// a scene-sized mask) grown by `grow` pixels (square window of 2 grow + 1), taken out of
/// `water` (all pixels when `None`). Bit operations on whole rows; the same for both backends.
pub fn censored_rings(
    targets: &WaterMask,
    grow: u32,
    water: Option<&WaterMask>,
) -> Result<WaterMask> {
    let mut out = WaterMask::filled(targets.width(), targets.height(), false)?;
    censored_rings_rows((targets, 0), grow, water, &mut out, 0, targets.height());
    Ok(out)
}

/// Rows `r0..r1` of [`censored_rings`] into `out` (a mask of the scene's size): they read
/// the rows of the targets within `grow` of them only, so a stream of windows can build the
/// plane as the first pass's targets arrive. `(targets, top)`: the targets of scene rows
/// `top..top + targets.height()`, which must hold those rows (a band that moves down the
/// scene with the windows).
pub fn censored_rings_rows(
    (targets, top): (&WaterMask, u32),
    grow: u32,
    water: Option<&WaterMask>,
    out: &mut WaterMask,
    r0: u32,
    r1: u32,
) {
    let (w, h) = (out.width(), out.height());
    let r1 = r1.min(h);
    if r0 >= r1 {
        return;
    }
    let n = targets.words_per_row();
    let last_bits = if w % 64 == 0 {
        u64::MAX
    } else {
        (1u64 << (w % 64)) - 1
    };
    // Grow along rows: `grow` one-pixel steps, carrying bits across words.
    let (a, b) = (r0.saturating_sub(grow), (r1 + grow).min(h));
    let mut grown = vec![0u64; (b - a) as usize * n];
    let mut next = vec![0u64; n];
    assert!(
        a >= top && b - top <= targets.height(),
        "rows {a}..{b} not in the band"
    );
    debug_assert_eq!(targets.width(), w);
    for (y, r) in (a..b).zip(grown.chunks_exact_mut(n)) {
        r.copy_from_slice(targets.row_words(y - top));
        for _ in 0..grow {
            for i in 0..n {
                let left = if i > 0 { r[i - 1] >> 63 } else { 0 };
                let right = if i + 1 < n { r[i + 1] << 63 } else { 0 };
                next[i] = r[i] | r[i] << 1 | left | r[i] >> 1 | right;
            }
            next[n - 1] &= last_bits;
            r.copy_from_slice(&next);
        }
    }
    // Grow along columns and take out of the water.
    let mut acc = vec![0u64; n];
    for y in r0..r1 {
        acc.fill(0);
        for yy in y.saturating_sub(grow)..(y + grow + 1).min(h) {
            let g = &grown[(yy - a) as usize * n..(yy - a + 1) as usize * n];
            for (x, b) in acc.iter_mut().zip(g) {
                *x |= b;
            }
        }
        let o = out.row_words_mut(y);
        match water {
            Some(m) => o.copy_from_slice(m.row_words(y)),
            None => {
                o.fill(u64::MAX);
                o[n - 1] = last_bits;
            }
        }
        for (o, x) in o.iter_mut().zip(&acc) {
            *o &= !x;
        }
    }
}

/// k of the two-parameter CFAR for a false-alarm probability `pfa` under a Gaussian clutter
/// model (k = the standard normal quantile of 1 - pfa). Real sea clutter (gamma, K) has heavier
/// tails: the measured false-alarm rate is higher than `pfa`.
pub fn k_for_pfa(pfa: f64) -> Result<f64> {
    if !(pfa > 0.0 && pfa < 0.5) {
        return Err(Error::Invalid(format!(
            "--pfa {pfa}: a probability in (0, 0.5)"
        )));
    }
    Ok(normal_quantile(1.0 - pfa))
}

/// The standard normal quantile (Acklam's rational approximation refined by one Halley step;
/// relative error below 1e-12 over (0, 1)).
pub fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969683028665376e1,
        2.209460984245205e2,
        -2.759285104469687e2,
        1.383_577_518_672_69e2,
        -3.066479806614716e1,
        2.506628277459239,
    ];
    const B: [f64; 5] = [
        -5.447609879822406e1,
        1.615858368580409e2,
        -1.556989798598866e2,
        6.680131188771972e1,
        -1.328068155288572e1,
    ];
    const C: [f64; 6] = [
        -7.784894002430293e-3,
        -3.223964580411365e-1,
        -2.400758277161838,
        -2.549732539343734,
        4.374664141464968,
        2.938163982698783,
    ];
    const D: [f64; 4] = [
        7.784695709041462e-3,
        3.224671290700398e-1,
        2.445134137142996,
        3.754408661907416,
    ];
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    let x = if p < 0.02425 {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - 0.02425 {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    };
    // One Halley step on the exact CDF.
    let e = 0.5 * libm::erfc(-x / std::f64::consts::SQRT_2) - p;
    let u = e * (2.0 * std::f64::consts::PI).sqrt() * (x * x / 2.0).exp();
    x - u / (1.0 + x * u / 2.0)
}

/// `(level_min, level_shift)` of [`crate::tiling::Params`]: the value for u8/u16, value + 32768
/// for i16, and for u32 and f32 the valid finite key range `range` in 65536 levels.
pub fn level_params(kind: SampleKind, range: Option<(u32, u32)>) -> (u32, u32) {
    match kind {
        SampleKind::U8 | SampleKind::U16 => (0, 0),
        // i16 keys are the value + 2^31: levels are value + 32768.
        SampleKind::I16 => (crate::sample::key_i16(i16::MIN), 0),
        SampleKind::U32 | SampleKind::F32 => match range {
            Some((lo, hi)) => {
                let b = Binning::for_range(lo, hi);
                (b.min, b.shift)
            }
            None => (0, 16),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles() {
        assert!((normal_quantile(0.975) - 1.959963984540054).abs() < 1e-12);
        assert!((normal_quantile(0.5)).abs() < 1e-15);
        assert!((normal_quantile(1.0 - 1e-6) - 4.753424308822899).abs() < 1e-9);
        assert!((k_for_pfa(1e-3).unwrap() - 3.090232306167813).abs() < 1e-10);
        assert!(k_for_pfa(0.0).is_err() && k_for_pfa(0.7).is_err());
    }

    #[test]
    fn censored_rings_grow_the_targets_and_take_them_out_of_the_water() {
        // Widths around the 64-bit word boundaries; targets at the edges and inside.
        for (w, h) in [(1u32, 1u32), (63, 5), (64, 7), (65, 3), (130, 9)] {
            let target = |x: u32, y: u32| (x * 7 + y * 13) % 29 == 0 || x == w - 1 || x == 63;
            let water = |x: u32, y: u32| (x + y) % 11 != 0;
            let t = WaterMask::from_fn(w, h, target).unwrap();
            let wm = WaterMask::from_fn(w, h, water).unwrap();
            for g in [0u32, 1, 2, 5] {
                let near = |x: u32, y: u32| {
                    (y.saturating_sub(g)..(y + g + 1).min(h)).any(|yy| {
                        (x.saturating_sub(g)..(x + g + 1).min(w)).any(|xx| target(xx, yy))
                    })
                };
                let with = censored_rings(&t, g, Some(&wm)).unwrap();
                let all = censored_rings(&t, g, None).unwrap();
                // Built a few rows at a time, as windows arrive: the same plane.
                for step in [1u32, 2, 3, 7] {
                    let mut parts = WaterMask::filled(w, h, true).unwrap();
                    for r0 in (0..h).step_by(step as usize) {
                        censored_rings_rows((&t, 0), g, Some(&wm), &mut parts, r0, r0 + step);
                    }
                    for y in 0..h {
                        assert_eq!(
                            parts.row_words(y),
                            with.row_words(y),
                            "{w}x{h} g{g} step {step}"
                        );
                    }
                    // And from a band of the targets that moves down with them, as
                    // `detect` keeps them: the rows within `g` of the rows built, no more.
                    let mut band = WaterMask::filled(w, step + 2 * g, false).unwrap();
                    let (mut top, mut filled) = (0u32, 0u32);
                    let mut parts = WaterMask::filled(w, h, true).unwrap();
                    for r0 in (0..h).step_by(step as usize) {
                        let keep = r0.saturating_sub(g);
                        band.shift_up(keep - top);
                        top = keep;
                        let end = (r0 + step + g).min(h);
                        for y in filled.max(top)..end {
                            band.row_words_mut(y - top).copy_from_slice(t.row_words(y));
                        }
                        filled = end;
                        censored_rings_rows((&band, top), g, Some(&wm), &mut parts, r0, r0 + step);
                    }
                    for y in 0..h {
                        assert_eq!(parts.row_words(y), with.row_words(y), "band, step {step}");
                    }
                }
                for y in 0..h {
                    for x in 0..w {
                        let n = near(x, y);
                        assert_eq!(
                            with.is_water(x, y),
                            water(x, y) && !n,
                            "{w}x{h} g{g} ({x},{y})"
                        );
                        assert_eq!(all.is_water(x, y), !n, "{w}x{h} g{g} ({x},{y})");
                    }
                }
                // Bits past the width stay 0.
                let k = (w as usize).div_ceil(64) - 1;
                let rest = w as usize - 64 * k;
                if rest < 64 {
                    for y in 0..h {
                        assert_eq!(all.row_words(y)[k] >> rest, 0);
                    }
                }
            }
        }
    }

    #[test]
    fn windows_resolve() {
        let o = CfarOptions {
            k: 3.0,
            guard: Extent::M(150.0),
            background: Extent::M(500.0),
            min_ring_fraction: 0.5,
            ..Default::default()
        };
        let (r, note) = o.resolve(Some(10.0)).unwrap();
        assert_eq!((r.guard_radius_px, r.background_radius_px), (7, 25));
        assert_eq!(r.k256, 768);
        assert_eq!(r.min_ring_pixels, (51 * 51 - 15 * 15) / 2);
        assert!(note.is_none());
        assert!(o.resolve(None).is_err());
        let (r, note) = o.resolve(Some(1.0)).unwrap();
        assert_eq!(r.background_radius_px, CFAR_MAX_RADIUS);
        assert!(note.is_some());
        let bad = CfarOptions {
            guard: Extent::Px(41.0),
            ..CfarOptions::default()
        };
        assert!(bad.resolve(None).is_err());
        assert!(CfarOptions {
            k: 300.0,
            ..CfarOptions::default()
        }
        .resolve(None)
        .is_err());
    }
}
