//! Choosing the threshold: a fixed value (`--threshold V`, target when value >= V) or Otsu's
//! method on the scene histogram (`--otsu`), built by the `histogram` kernel of the backend in
//! use. The choice itself is host arithmetic on the integer histogram, identical for both
//! backends.
//!
//! Binning: u8, u16 and i16 scenes get one bin per possible value. u32 and f32 scenes are first
//! scanned for their lowest and highest valid key (`minmax`); the key range is then cut into at
//! most 65536 bins of 2^shift keys (for f32 keys this is finer near zero, like the values).

use crate::sample::{key_i16, key_to_value, SampleKind};
use crate::tiling::Params;

/// Histogram binning: bin = (key - min) >> shift, `bins` bins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Binning {
    pub min: u32,
    pub shift: u32,
    pub bins: u32,
}

impl Binning {
    /// Binning for keys in [lo, hi].
    pub fn for_range(lo: u32, hi: u32) -> Binning {
        let range = hi - lo;
        let bits = 32 - range.leading_zeros();
        let shift = bits.saturating_sub(16);
        Binning {
            min: lo,
            shift,
            bins: (range >> shift) + 1,
        }
    }

    /// `base` with this binning in its `hist_*` fields.
    pub fn params(&self, base: &Params) -> Params {
        Params {
            hist_min: self.min,
            hist_shift: self.shift,
            hist_bins: self.bins,
            ..*base
        }
    }

    /// Lowest key of bin `i`.
    pub fn key_of(&self, i: u32) -> u64 {
        self.min as u64 + ((i as u64) << self.shift)
    }
}

/// Fixed binning of the small integer kinds, or `None` for u32/f32 (which need `minmax`).
pub fn fixed_binning(kind: SampleKind) -> Option<Binning> {
    match kind {
        SampleKind::U8 => Some(Binning {
            min: 0,
            shift: 0,
            bins: 256,
        }),
        SampleKind::U16 => Some(Binning {
            min: 0,
            shift: 0,
            bins: 65536,
        }),
        SampleKind::I16 => Some(Binning {
            min: key_i16(i16::MIN),
            shift: 0,
            bins: 65536,
        }),
        SampleKind::U32 | SampleKind::F32 => None,
    }
}

/// Otsu's split of a histogram: the bin `t` maximising the between-class variance of
/// bins `0..=t` against `t+1..`; `None` when fewer than two bins are populated.
/// `value(i)` is the sample value of bin `i`.
pub fn otsu(hist: &[u64], value: impl Fn(usize) -> f64) -> Option<usize> {
    let total: u64 = hist.iter().sum();
    if hist.iter().filter(|&&c| c > 0).count() < 2 {
        return None;
    }
    let vals: Vec<f64> = (0..hist.len()).map(&value).collect();
    let sum_all: f64 = hist.iter().zip(&vals).map(|(&c, v)| c as f64 * v).sum();
    let (mut w0, mut sum0) = (0u64, 0f64);
    let mut best = (f64::MIN, 0usize);
    for t in 0..hist.len() - 1 {
        w0 += hist[t];
        sum0 += hist[t] as f64 * vals[t];
        if w0 == 0 {
            continue;
        }
        let w1 = total - w0;
        if w1 == 0 {
            break;
        }
        let m0 = sum0 / w0 as f64;
        let m1 = (sum_all - sum0) / w1 as f64;
        let between = w0 as f64 * w1 as f64 * (m0 - m1) * (m0 - m1);
        if between > best.0 {
            best = (between, t);
        }
    }
    Some(best.1)
}

/// Binning of a scene's histogram: fixed for u8/u16/i16; for u32 and f32 over `range`, the
/// lowest and highest valid finite key ([`crate::engine::minmax_scene`]), `None` without one.
/// f32 infinities fall in the end bins (-inf below the first, left out; +inf in the last).
pub fn binning(kind: SampleKind, range: Option<(u32, u32)>) -> Option<Binning> {
    match (fixed_binning(kind), range) {
        (Some(b), _) => Some(b),
        (None, Some((lo, hi))) => Some(Binning::for_range(lo, hi)),
        (None, None) => None,
    }
}

/// Otsu's threshold as a key (target when key >= it); `None` when the scene has fewer than two
/// distinct values (nothing to separate).
pub fn otsu_key(kind: SampleKind, bin: &Binning, hist: &[u64]) -> Option<u32> {
    let t = otsu(hist, |i| key_to_value(kind, bin.key_of(i as u32) as u32))?;
    Some(bin.key_of(t as u32 + 1) as u32)
}

/// Mean and standard deviation of the valid values (each bin counted at its lowest value;
/// exact for u8, u16 and i16).
pub fn mean_std(kind: SampleKind, bin: &Binning, hist: &[u64]) -> (f64, f64) {
    let n: u64 = hist.iter().sum();
    let vals: Vec<f64> = (0..hist.len())
        .map(|i| key_to_value(kind, bin.key_of(i as u32) as u32))
        .collect();
    let mean = hist
        .iter()
        .zip(&vals)
        .map(|(&c, v)| c as f64 * v)
        .sum::<f64>()
        / n as f64;
    let var = hist
        .iter()
        .zip(&vals)
        .map(|(&c, v)| c as f64 * (v - mean) * (v - mean))
        .sum::<f64>()
        / n as f64;
    (mean, var.sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn otsu_splits_two_modes() {
        let mut h = vec![0u64; 256];
        h[10] = 100;
        h[11] = 50;
        h[200] = 30;
        let t = otsu(&h, |i| i as f64).unwrap();
        assert!((11..200).contains(&t));
        assert_eq!(otsu(&[0, 5, 0], |i| i as f64), None);
    }

    #[test]
    fn binning_covers_range() {
        let b = Binning::for_range(100, 100);
        assert_eq!(b.bins, 1);
        let b = Binning::for_range(0, u32::MAX);
        assert_eq!(b.bins, 65536);
        assert_eq!(b.shift, 16);
        let b = Binning::for_range(5, 5 + 70000);
        assert!(b.bins <= 65536 && b.key_of(b.bins - 1) <= 70005);
    }
}
