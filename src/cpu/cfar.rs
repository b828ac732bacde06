//! CPU twin of `shaders/cfar.wgsl`: the ring statistics (background window minus guard window)
//! of every pixel from the row sums of [`super::cfar_rows`], and the exact integer CFAR test
//! `L^2 * 2^16 > k256^2 * (N Q - S^2)` with `L = x N - S > 0`, into the 4-bit block masks;
//! then the blocks' foreground union-find nodes are made roots.
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

#[allow(clippy::too_many_arguments)]
pub fn cfar(
    params: &Params,
    tiles: &[TileDesc],
    samples: &[u32],
    mask: &mut [u32],
    parent: &mut [u32],
    cfar: &[CfarTile],
    water: &[u32],
    rowsums: &[u32],
) {
    let samples = &*super::keys(params, samples);
    for (t, c) in tiles.iter().zip(cfar) {
        let mut rows = Stored { t, c, rowsums };
        tile(params, t, c, samples, mask, water, &mut rows);
    }
    super::init_roots(params, tiles, mask, parent);
}

/// Row sums of a tile, row by row.
trait Rows {
    fn row(&mut self, r: u32) -> &[u32];
}

/// The twin's: all rows stored by `cfar_rows`.
struct Stored<'a> {
    t: &'a TileDesc,
    c: &'a CfarTile,
    rowsums: &'a [u32],
}

impl Rows for Stored<'_> {
    fn row(&mut self, r: u32) -> &[u32] {
        let rw = CFAR_ROW_WORDS as usize;
        let o = (self.c.sum_off + r * self.t.w) as usize * rw;
        &self.rowsums[o..o + self.t.w as usize * rw]
    }
}

/// The fused path's: a ring of the last rows, computed on demand.
struct Ring<'a> {
    params: &'a Params,
    t: &'a TileDesc,
    c: &'a CfarTile,
    samples: &'a [u32],
    water: &'a [u32],
    slots: usize,
    ring: &'a mut Vec<u32>,
    pre: &'a mut Vec<(u32, u64, u64)>,
    done: u32,
}

impl Rows for Ring<'_> {
    fn row(&mut self, r: u32) -> &[u32] {
        let n = self.t.w as usize * CFAR_ROW_WORDS as usize;
        while self.done <= r {
            let s = self.done as usize % self.slots;
            let out = &mut self.ring[s * n..(s + 1) * n];
            super::cfar_rows::row_sums(
                self.params,
                self.t,
                self.c,
                self.samples,
                self.water,
                self.done,
                out,
                self.pre,
            );
            self.done += 1;
        }
        let s = r as usize % self.slots;
        &self.ring[s * n..(s + 1) * n]
    }
}

/// [`cfar_rows`](super::cfar_rows::cfar_rows) and [`cfar`] in one pass per tile, for the CPU
/// backend: the row sums of only the `2 cfar_rb + 2` rows the sliding windows hold are kept (a
/// ring), instead of the whole extended tile's (32 bytes a pixel, far beyond the caches). The
/// same integers, so the same masks (tests/cfar.rs checks it against the twins). `water` is
/// what `cfar` reads (the pixels that may be targets), `stats` what `cfar_rows` reads (the
/// pixels that enter the rings; empty: `water`). Only the masks: where the labelling follows,
/// the caller makes the roots as `cfar` does ([`super::init_roots`]).
pub fn cfar_fused(
    params: &Params,
    tiles: &[TileDesc],
    samples: &[u32],
    mask: &mut [u32],
    cfar: &[CfarTile],
    water: &[u32],
    stats: &[u32],
) {
    let samples = &*super::keys(params, samples);
    let ring_plane = if stats.is_empty() { water } else { stats };
    let rw = CFAR_ROW_WORDS as usize;
    let slots = 2 * params.cfar_rb as usize + 2;
    let mut pre = Vec::new();
    let mut ring: Vec<u32> = Vec::new();
    for (t, c) in tiles.iter().zip(cfar) {
        ring.clear();
        ring.resize(slots * t.w as usize * rw, 0);
        // Rows are computed in order as they are asked for; a row is asked again at most
        // 2 rb + 1 rows after the newest, so `slots` hold every row still needed.
        let mut rows = Ring {
            params,
            t,
            c,
            samples,
            water: ring_plane,
            slots,
            ring: &mut ring,
            pre: &mut pre,
            done: 0,
        };
        tile(params, t, c, samples, mask, water, &mut rows);
    }
}

/// The masks of one tile, its row sums given by `rows(r)` (asked in increasing order of the
/// rows entering the windows; a row leaving is asked again at most `2 cfar_rb + 1` rows later).
fn tile(
    params: &Params,
    t: &TileDesc,
    c: &CfarTile,
    samples: &[u32],
    mask: &mut [u32],
    water: &[u32],
    rows: &mut dyn Rows,
) {
    let (rg, rb) = (params.cfar_rg, params.cfar_rb);
    let rw = CFAR_ROW_WORDS as usize;
    let w = t.w as usize;
    let bw = t.blocks_w();
    mask[t.blk_off as usize..(t.blk_off + t.blocks()) as usize].fill(0);
    if params.flags & FLAG_NONE != 0 {
        return;
    }
    // Running column sums (count, sum, sum of squares) of the guard and background windows.
    let mut g: Vec<(u32, u32, u64)> = vec![(0, 0, 0); w];
    let mut b: Vec<(u32, u32, u64)> = vec![(0, 0, 0); w];
    // add = true adds the row to the running sums, false takes it out.
    let apply = |sums: &mut Vec<(u32, u32, u64)>, row: &[u32], off: usize, add: bool| {
        for (s, e) in sums.iter_mut().zip(row.chunks_exact(rw)) {
            let q = e[off + 2] as u64 | (e[off + 3] as u64) << 32;
            if add {
                *s = (s.0 + e[off], s.1 + e[off + 1], s.2 + q);
            } else {
                *s = (s.0 - e[off], s.1 - e[off + 1], s.2 - q);
            }
        }
    };
    let cy = c.cy;
    // Rows are first asked in increasing order: the background window reaches further.
    for r in cy.saturating_sub(rb)..(cy + rb + 1).min(c.ext_h) {
        let row = rows.row(r);
        apply(&mut b, row, 4, true);
        if r + rg >= cy && r <= cy + rg {
            apply(&mut g, row, 0, true);
        }
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
                mask[(t.blk_off + (y / 2) * bw + x / 2) as usize] |= 1 << ((y & 1) * 2 + (x & 1));
            }
        }
        // Slide both windows down one row: out first, then in (rows in increasing order).
        if ey >= rb {
            apply(&mut b, rows.row(ey - rb), 4, false);
        }
        if ey >= rg {
            apply(&mut g, rows.row(ey - rg), 0, false);
        }
        if ey + rg + 1 < c.ext_h {
            apply(&mut g, rows.row(ey + rg + 1), 0, true);
        }
        if ey + rb + 1 < c.ext_h {
            apply(&mut b, rows.row(ey + rb + 1), 4, true);
        }
    }
}
