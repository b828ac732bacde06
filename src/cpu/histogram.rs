//! CPU twin of `shaders/histogram.wgsl`: `minmax` of valid finite keys into `counters[0..2]`, and the
//! `histogram` of valid keys, bin `(key - hist_min) >> hist_shift` clamped to the last bin.

use super::is_valid;
use crate::sample::{NEG_INF_KEY, POS_INF_KEY};

/// `KIND_F32` of the kernels (`SampleKind::F32.code()`).
const F32: u32 = 4;
use crate::tiling::{Params, TileDesc};

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

/// The samples of tile `t`, row after row.
fn tile_samples<'a>(t: &'a TileDesc, samples: &'a [u32]) -> impl Iterator<Item = &'a u32> + 'a {
    (0..t.h as usize).flat_map(move |y| {
        let s = t.pix_off as usize + y * t.stride as usize;
        &samples[s..s + t.w as usize]
    })
}
