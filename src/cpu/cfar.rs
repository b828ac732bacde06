//! CPU twin of `shaders/cfar.wgsl`: the ring statistics (background window minus guard window)
//! of every pixel from the row sums of [`super::cfar_rows`], and the exact integer CFAR test
//! `L^2 * 2^16 > k256^2 * (N Q - S^2)` with `L = x N - S > 0`, into the 4-bit block masks.
//! The kernel adds each pixel's column of row sums; this twin slides running column sums down
//! the tile. Same integers, same decisions.

use super::{counted, level};
use crate::tiling::{CfarTile, Params, TileDesc, CFAR_ROW_WORDS, FLAG_NONE};

/// Ring count, sum and sum of squares -> target? (`cfar_target` of the kernel, after its
/// sums). `x` is the pixel's level.
#[inline]
pub fn decide(params: &Params, x: u32, n: u32, s: u32, q: u64) -> bool {
    if n == 0 || n < params.cfar_min_n {
        return false;
    }
    // The kernel's u32 products: exact within the window limits (CFAR_MAX_RADIUS).
    let xn = x.wrapping_mul(n);
    if xn <= s {
        return false;
    }
    let l = (xn - s) as u128;
    let lhs = (l * l) << 16;
    let v = (n as u128 * q as u128).wrapping_sub(s as u128 * s as u128) as u64;
    let k2 = params.cfar_k256.wrapping_mul(params.cfar_k256);
    lhs > v as u128 * k2 as u128
}

pub fn cfar(
    params: &Params,
    tiles: &[TileDesc],
    samples: &[u32],
    mask: &mut [u32],
    cfar: &[CfarTile],
    water: &[u32],
    rowsums: &[u32],
) {
    let (rg, rb) = (params.cfar_rg, params.cfar_rb);
    let rw = CFAR_ROW_WORDS as usize;
    // Running column sums (count, sum, sum of squares) of the guard and background windows.
    let mut g: Vec<(u32, u32, u64)> = Vec::new();
    let mut b: Vec<(u32, u32, u64)> = Vec::new();
    for (t, c) in tiles.iter().zip(cfar) {
        let w = t.w as usize;
        let bw = t.blocks_w();
        mask[t.blk_off as usize..(t.blk_off + t.blocks()) as usize].fill(0);
        if params.flags & FLAG_NONE != 0 {
            continue;
        }
        let row = |r: u32| {
            let o = (c.sum_off + r * t.w) as usize * rw;
            &rowsums[o..o + w * rw]
        };
        // add = true adds row r to the running sums, false takes it out.
        let apply = |sums: &mut Vec<(u32, u32, u64)>, r: u32, off: usize, add: bool| {
            for (s, e) in sums.iter_mut().zip(row(r).chunks_exact(rw)) {
                let q = e[off + 2] as u64 | (e[off + 3] as u64) << 32;
                if add {
                    *s = (s.0 + e[off], s.1 + e[off + 1], s.2 + q);
                } else {
                    *s = (s.0 - e[off], s.1 - e[off + 1], s.2 - q);
                }
            }
        };
        g.clear();
        g.resize(w, (0, 0, 0));
        b.clear();
        b.resize(w, (0, 0, 0));
        let cy = c.cy;
        for r in cy.saturating_sub(rg)..(cy + rg + 1).min(c.ext_h) {
            apply(&mut g, r, 0, true);
        }
        for r in cy.saturating_sub(rb)..(cy + rb + 1).min(c.ext_h) {
            apply(&mut b, r, 4, true);
        }
        for y in 0..t.h {
            let ey = cy + y;
            for x in 0..t.w {
                let i = t.pix_off + y * t.stride + x;
                let key = samples[i as usize];
                if !counted(params, water, i, key) || key < params.threshold_key {
                    continue;
                }
                let (gs, bs) = (g[x as usize], b[x as usize]);
                let hit = decide(
                    params,
                    level(params, key),
                    bs.0 - gs.0,
                    bs.1 - gs.1,
                    bs.2 - gs.2,
                );
                if hit {
                    mask[(t.blk_off + (y / 2) * bw + x / 2) as usize] |=
                        1 << ((y & 1) * 2 + (x & 1));
                }
            }
            // Slide both windows down one row.
            if ey >= rg {
                apply(&mut g, ey - rg, 0, false);
            }
            if ey + rg + 1 < c.ext_h {
                apply(&mut g, ey + rg + 1, 0, true);
            }
            if ey >= rb {
                apply(&mut b, ey - rb, 4, false);
            }
            if ey + rb + 1 < c.ext_h {
                apply(&mut b, ey + rb + 1, 4, true);
            }
        }
    }
}
