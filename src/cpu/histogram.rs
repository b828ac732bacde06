//! CPU twin of `shaders/histogram.wgsl`: `minmax` of valid finite keys into `counters[0..2]`, and the
//! `histogram` of valid keys, bin `(key - hist_min) >> hist_shift` clamped to the last bin.

use crate::sample::{NAN_KEY, NEG_INF_KEY, POS_INF_KEY};
use crate::tiling::{Params, TileDesc, FLAG_NAN, FLAG_NODATA};

/// `KIND_F32` of the kernels (`SampleKind::F32.code()`).
const F32: u32 = 4;

/// The keys that are never valid (nodata, NaN), without repeats.
fn invalid_keys(params: &Params) -> Vec<u32> {
    let mut v = Vec::new();
    if params.flags & FLAG_NODATA != 0 {
        v.push(params.nodata_key);
    }
    if params.flags & FLAG_NAN != 0 && !v.contains(&NAN_KEY) {
        v.push(NAN_KEY);
    }
    v
}

/// u32 order as i32 order, and back.
#[inline(always)]
fn flip(k: u32) -> i32 {
    (k ^ 0x8000_0000) as i32
}

#[inline(always)]
fn unflip(k: i32) -> u32 {
    k as u32 ^ 0x8000_0000
}

/// The rows of tile `t` in `samples`.
fn rows<'a>(t: &'a TileDesc, samples: &'a [u32]) -> impl Iterator<Item = &'a [u32]> + 'a {
    (0..t.h as usize).map(move |y| {
        let s = t.pix_off as usize + y * t.stride as usize;
        &samples[s..s + t.w as usize]
    })
}

/// Up to four keys `out` (not empty), padded with the first: four compares test them all.
fn four(out: &[u32]) -> [u32; 4] {
    [0, 1, 2, 3].map(|i| out[i.min(out.len() - 1)])
}

pub fn minmax(params: &Params, tiles: &[TileDesc], samples: &[u32], counters: &mut [u32]) {
    let samples = &*super::keys(params, samples);
    // Keys left out: the invalid ones, and f32 infinities (they go to the end bins).
    let mut out = invalid_keys(params);
    if params.kind == F32 {
        out.extend([NEG_INF_KEY, POS_INF_KEY]);
    }
    let (mut lo, mut hi) = (counters[0], counters[1]);
    for row in tiles.iter().flat_map(|t| rows(t, samples)) {
        if out.is_empty() {
            for &k in row {
                lo = lo.min(k);
                hi = hi.max(k);
            }
            continue;
        }
        // A left-out key becomes the neutral element of min and of max, so the loop has no
        // branch. In i32 order (the sign bit flipped), eight lanes: plain x86-64 (SSE2) has
        // signed compares, not unsigned ones, and then vectorises this.
        let e = four(&out).map(flip);
        let (mut lo8, mut hi8) = ([i32::MAX; 8], [i32::MIN; 8]);
        let mut lanes = row.chunks_exact(8);
        for c in &mut lanes {
            for l in 0..8 {
                let k = flip(c[l]);
                let skip = (k == e[0]) | (k == e[1]) | (k == e[2]) | (k == e[3]);
                lo8[l] = lo8[l].min(if skip { i32::MAX } else { k });
                hi8[l] = hi8[l].max(if skip { i32::MIN } else { k });
            }
        }
        for &k in lanes.remainder() {
            let k = flip(k);
            let skip = (k == e[0]) | (k == e[1]) | (k == e[2]) | (k == e[3]);
            lo8[0] = lo8[0].min(if skip { i32::MAX } else { k });
            hi8[0] = hi8[0].max(if skip { i32::MIN } else { k });
        }
        lo = lo.min(unflip(lo8.into_iter().min().unwrap_or(i32::MAX)));
        hi = hi.max(unflip(hi8.into_iter().max().unwrap_or(i32::MIN)));
    }
    counters[0] = lo;
    counters[1] = hi;
}

/// Sea clutter piles into a few bins, and one counter incremented pixel after pixel waits on
/// its own previous store; four sets of counters, one per pixel of each group of four, keep four
/// increments in flight, and are added up at the end. Every key is counted (a key below the
/// first bin in a slot past the bins, which is dropped), then the invalid ones (at most two key
/// values) are counted with a vectorised compare and taken back out: faster than testing each
/// key in the counting loop (f32 4096^2 bench: 32-45 ms against 44-52 ms). The same counts.
pub fn histogram(params: &Params, tiles: &[TileDesc], samples: &[u32], hist: &mut [u32]) {
    let samples = &*super::keys(params, samples);
    let (min, shift, last) = (params.hist_min, params.hist_shift, params.hist_bins - 1);
    let none = hist.len();
    if min == 0 && shift == 0 {
        // u8 and u16: one bin per key.
        counts(tiles, samples, hist, |k: u32| k.min(last) as usize);
    } else {
        // A key below the first bin wraps to a difference above u32::MAX - min, which no key
        // at or above it reaches.
        counts(tiles, samples, hist, |k: u32| {
            let d = k.wrapping_sub(min);
            if d > u32::MAX - min {
                none
            } else {
                (d >> shift).min(last) as usize
            }
        });
    }
    for v in invalid_keys(params) {
        if v < min {
            continue;
        }
        let n: usize = tiles
            .iter()
            .flat_map(|t| rows(t, samples))
            .map(|row| row.iter().filter(|&&k| k == v).count())
            .sum();
        hist[((v - min) >> shift).min(last) as usize] -= n as u32;
    }
}

/// Count `bin(key)` (a bin of `hist`, or `hist.len()`: none) of every key of the tiles.
#[inline(always)]
fn counts(tiles: &[TileDesc], samples: &[u32], hist: &mut [u32], bin: impl Fn(u32) -> usize) {
    let n = hist.len() + 1;
    let mut sets = vec![0u32; 4 * n];
    let (h0, rest) = sets.split_at_mut(n);
    let (h1, rest) = rest.split_at_mut(n);
    let (h2, h3) = rest.split_at_mut(n);
    for row in tiles.iter().flat_map(|t| rows(t, samples)) {
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
    for ((((h, a), b), c), d) in hist.iter_mut().zip(&*h0).zip(&*h1).zip(&*h2).zip(&*h3) {
        *h += a + b + c + d;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::is_valid;
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
        let mut keys = keys;
        // NaN keys (f32), and f32 infinities for minmax.
        for i in (5..keys.len()).step_by(29) {
            keys[i] = NAN_KEY;
        }
        keys[3] = NEG_INF_KEY;
        keys[4] = POS_INF_KEY;
        for (min, shift, bins, flags) in [
            (0, 0, 65536, 0),
            (0, 0, 256, 0),
            (1000, 0, 50_000, 0),
            (500, 3, 4000, 0),
            (0, 2, 65536, FLAG_NODATA),
            (3000, 1, 30_000, FLAG_NODATA),
            (0, 16, 65536, FLAG_NAN),
            (700, 0, 65536, FLAG_NAN | FLAG_NODATA),
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
        // minmax: valid keys only, and f32 infinities left out.
        for (kind, flags) in [(1, 0), (3, FLAG_NODATA), (F32, FLAG_NAN), (F32, 0)] {
            let p = Params {
                kind,
                flags,
                nodata_key: 4000,
                ..Default::default()
            };
            let inf = |k: u32| kind == F32 && (k == NEG_INF_KEY || k == POS_INF_KEY);
            let valid = keys.iter().filter(|&&k| is_valid(&p, k) && !inf(k));
            let want = [*valid.clone().min().unwrap(), *valid.max().unwrap()];
            let mut got = [u32::MAX, 0];
            minmax(&p, &all, &keys, &mut got);
            assert_eq!(got, want, "kind {kind} flags {flags}");
        }
    }
}
