//! CPU twin of `shaders/histogram.wgsl`: `minmax` of valid finite keys into `counters[0..2]`, and the
//! `histogram` of valid keys, bin `(key - hist_min) >> hist_shift` clamped to the last bin.

use super::is_valid;
use crate::sample::{NEG_INF_KEY, POS_INF_KEY};

/// `KIND_F32` of the kernels (`SampleKind::F32.code()`).
const F32: u32 = 4;
use crate::tiling::{Params, TileDesc, FLAG_NAN, FLAG_NODATA};

pub fn minmax(params: &Params, tiles: &[TileDesc], samples: &[u32], counters: &mut [u32]) {
    let samples = &*super::keys(params, samples);
    for t in tiles {
        for &key in tile_samples(t, samples) {
            // f32: infinities are left out of the range (they go to the end bins).
            let inf = params.kind == F32 && (key == NEG_INF_KEY || key == POS_INF_KEY);
            if is_valid(params, key) && !inf {
                counters[0] = counters[0].min(key);
                counters[1] = counters[1].max(key);
            }
        }
    }
}

pub fn histogram(params: &Params, tiles: &[TileDesc], samples: &[u32], hist: &mut [u32]) {
    let samples = &*super::keys(params, samples);
    if params.flags & (FLAG_NODATA | FLAG_NAN) == 0 {
        return histogram_all_valid(params, tiles, samples, hist);
    }
    for t in tiles {
        for &key in tile_samples(t, samples) {
            if !is_valid(params, key) || key < params.hist_min {
                continue;
            }
            let bin = ((key - params.hist_min) >> params.hist_shift).min(params.hist_bins - 1);
            hist[bin as usize] += 1;
        }
    }
}

/// `histogram` when every key is valid (no nodata, no NaN: the common case). Sea clutter
/// piles into a few bins, and one counter incremented pixel after pixel waits on its own
/// previous store; four sets of counters, one per pixel of each group of four, keep four
/// increments in flight, and are added up at the end. The same counts.
fn histogram_all_valid(params: &Params, tiles: &[TileDesc], samples: &[u32], hist: &mut [u32]) {
    let (min, shift, last) = (params.hist_min, params.hist_shift, params.hist_bins - 1);
    if min == 0 && shift == 0 {
        // u8 and u16: one bin per key.
        counts(tiles, samples, hist, 0, |k: u32| k.min(last) as usize);
    } else {
        counts(tiles, samples, hist, min, |k: u32| {
            ((k - min) >> shift).min(last) as usize
        });
    }
}

/// Count `bin(key)` of every key of the tiles at or above `min` into `hist`.
#[inline(always)]
fn counts(
    tiles: &[TileDesc],
    samples: &[u32],
    hist: &mut [u32],
    min: u32,
    bin: impl Fn(u32) -> usize,
) {
    let n = hist.len();
    let mut extra = vec![0u32; 3 * n];
    let (h1, rest) = extra.split_at_mut(n);
    let (h2, h3) = rest.split_at_mut(n);
    let h0 = &mut hist[..n];
    for t in tiles {
        for y in 0..t.h as usize {
            let s = t.pix_off as usize + y * t.stride as usize;
            let row = &samples[s..s + t.w as usize];
            if min > 0 && row.iter().any(|&k| k < min) {
                // Keys below the first bin are left out (u32/f32 binnings start at the scene's
                // valid minimum, so only infinities and the like get here).
                for &k in row.iter().filter(|&&k| k >= min) {
                    h0[bin(k)] += 1;
                }
                continue;
            }
            let mut quads = row.chunks_exact(4);
            for q in &mut quads {
                h0[bin(q[0])] += 1;
                h1[bin(q[1])] += 1;
                h2[bin(q[2])] += 1;
                h3[bin(q[3])] += 1;
            }
            for &k in quads.remainder() {
                h0[bin(k)] += 1;
            }
        }
    }
    for (((a, b), c), d) in h0.iter_mut().zip(&*h1).zip(&*h2).zip(&*h3) {
        *a += b + c + d;
    }
}

/// The samples of tile `t`, row after row.
fn tile_samples<'a>(t: &'a TileDesc, samples: &'a [u32]) -> impl Iterator<Item = &'a u32> + 'a {
    (0..t.h as usize).flat_map(move |y| {
        let s = t.pix_off as usize + y * t.stride as usize;
        &samples[s..s + t.w as usize]
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tiling::{batches, tile_grid, BatchLimits, Connectivity};

    /// Bin by bin, the plain definition.
    fn naive(p: &Params, keys: &[u32]) -> Vec<u32> {
        let mut h = vec![0u32; p.hist_bins as usize];
        for &k in keys {
            if is_valid(p, k) && k >= p.hist_min {
                h[((k - p.hist_min) >> p.hist_shift).min(p.hist_bins - 1) as usize] += 1;
            }
        }
        h
    }

    #[test]
    fn four_counter_sets_count_like_the_definition() {
        let (w, h) = (37u32, 23u32);
        let mut s = 12345u64;
        let mut next = || {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (s >> 33) as u32
        };
        // Runs of equal keys (the hot-bin case), keys below the first bin, above the last.
        let keys: Vec<u32> = (0..w * h)
            .map(|i| if i % 7 < 3 { 4000 } else { next() % 70_000 })
            .collect();
        let grid = tile_grid(w, h, 8);
        let lim = BatchLimits::default();
        let all: Vec<_> = batches(&grid, Connectivity::Eight, &lim, None)
            .into_iter()
            .flat_map(|b| b.tiles)
            .map(|mut t| {
                // Tiles read in place (stride = scene width), as the CPU backend reads them.
                t.pix_off = t.y0 * w + t.x0;
                t.stride = w;
                t
            })
            .collect();
        for (min, shift, bins, flags) in [
            (0, 0, 65536, 0),
            (0, 0, 256, 0),
            (1000, 0, 50_000, 0),
            (500, 3, 4000, 0),
            (0, 2, 65536, FLAG_NODATA),
        ] {
            let p = Params {
                hist_min: min,
                hist_shift: shift,
                hist_bins: bins,
                flags,
                nodata_key: 4000,
                ..Default::default()
            };
            let mut got = vec![0u32; bins as usize];
            histogram(&p, &all, &keys, &mut got);
            assert_eq!(got, naive(&p, &keys), "min {min} shift {shift} bins {bins}");
        }
    }
}
