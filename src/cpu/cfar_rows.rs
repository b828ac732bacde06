//! CPU twin of `shaders/cfar_rows.wgsl`: for every row of each tile's extended rectangle and
//! every column of the tile, the count, sum and sum of squares of the CFAR levels of counted
//! pixels in the guard and background row segments centred on the column. The kernel loops
//! over each segment; this twin takes differences of prefix sums along the row. Both are exact
//! integer sums, so they agree to the bit.

use super::{counted, level};
use crate::tiling::{CfarTile, Params, TileDesc, CFAR_ROW_WORDS};

pub fn cfar_rows(
    params: &Params,
    tiles: &[TileDesc],
    samples: &[u32],
    cfar: &[CfarTile],
    water: &[u32],
    rowsums: &mut [u32],
) {
    let samples = &*super::keys(params, samples);
    let mut pre = Vec::new();
    let rw = CFAR_ROW_WORDS as usize;
    for (t, c) in tiles.iter().zip(cfar) {
        for ey in 0..c.ext_h {
            let o = (c.sum_off + ey * t.w) as usize * rw;
            let out = &mut rowsums[o..o + t.w as usize * rw];
            row_sums(params, t, c, samples, water, ey, out, &mut pre);
        }
    }
}

/// The row sums of extended row `ey` of tile `t` into `out` (`t.w` entries); `pre` is scratch.
#[allow(clippy::too_many_arguments)]
pub fn row_sums(
    params: &Params,
    t: &TileDesc,
    c: &CfarTile,
    samples: &[u32],
    water: &[u32],
    ey: u32,
    out: &mut [u32],
    pre: &mut Vec<(u32, u64, u64)>,
) {
    let (rg, rb) = (params.cfar_rg as usize, params.cfar_rb as usize);
    let ew = c.ext_w as usize;
    // Prefix sums of (count, sum, sum of squares) along the row.
    let row = c.ext_off + ey * c.stride;
    pre.clear();
    pre.push((0, 0, 0));
    let mut acc = (0u32, 0u64, 0u64);
    for xx in 0..c.ext_w {
        let i = row + xx;
        let key = samples[i as usize];
        if counted(params, water, i, key) {
            let v = level(params, key) as u64;
            acc = (acc.0 + 1, acc.1 + v, acc.2 + v * v);
        }
        pre.push(acc);
    }
    let seg = |xc: usize, r: usize| {
        let (a, b) = (pre[xc.saturating_sub(r)], pre[(xc + r + 1).min(ew)]);
        (b.0 - a.0, b.1 - a.1, b.2 - a.2)
    };
    for (x, o) in out[..t.w as usize * CFAR_ROW_WORDS as usize]
        .chunks_exact_mut(CFAR_ROW_WORDS as usize)
        .enumerate()
    {
        let xc = c.cx as usize + x;
        let (gn, gs, gq) = seg(xc, rg);
        let (bn, bs, bq) = seg(xc, rb);
        o.copy_from_slice(&[
            gn,
            gs as u32,
            gq as u32,
            (gq >> 32) as u32,
            bn,
            bs as u32,
            bq as u32,
            (bq >> 32) as u32,
        ]);
    }
}
