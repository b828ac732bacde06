//! CPU twin of `shaders/cfar.wgsl`: the ring statistics (background window minus guard window)
//! of every pixel from the row sums of [`super::cfar_rows`], and the exact integer CFAR test
//! `L^2 * 2^16 > k256^2 * (N Q - S^2)` with `L = x N - S > 0`, into the 4-bit block masks;
//! then the blocks' foreground union-find nodes are made roots.
//! The kernel adds each pixel's column of row sums; this twin slides running column sums down
//! the tile. Same integers, same decisions.

use super::{counted, level};
use crate::sample::NAN_KEY;
use crate::tiling::{CfarTile, Params, TileDesc, CFAR_ROW_WORDS, FLAG_NONE};
use crate::tiling::{FLAG_NAN, FLAG_NODATA, FLAG_WATER};
use std::num::Wrapping as W;
use std::ops::{Add, Range, Sub};

/// Ring count, sum and sum of squares -> target? (`cfar_target` of the kernel, after its
/// sums). `x` is the pixel's level.
#[inline]
pub fn decide(params: &Params, x: u32, n: u32, s: u32, q: u64) -> bool {
    // The kernel's u32 products: exact within the window limits (CFAR_MAX_RADIUS). Without
    // branches (whether x N > S is a coin toss on clutter): L = 0 when x N <= S, and then
    // 0 > k^2 V is false as the kernel's early return is; N Q < 2^64 and S^2 < 2^64, so V is
    // the kernel's 128-bit difference taken in 64 bits.
    let l = u64::from(x.wrapping_mul(n).saturating_sub(s));
    let lhs = u128::from(l * l) << 16;
    let v = u64::from(n)
        .wrapping_mul(q)
        .wrapping_sub(u64::from(s) * u64::from(s));
    let k2 = params.cfar_k256.wrapping_mul(params.cfar_k256);
    (n != 0) & (n >= params.cfar_min_n) & (lhs > u128::from(v) * u128::from(k2))
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
        tile(params, t, c, samples, mask, water, rowsums);
    }
    super::init_roots(params, tiles, mask, parent);
}

/// [`cfar_rows`](super::cfar_rows::cfar_rows) and [`cfar`] in one pass per tile, for the CPU
/// backend. The kernels sum along rows first (one row sum a pixel, 32 bytes, then the columns
/// of them); here the windows slide down the columns first and along the row second:
///
/// * each row of the extended rectangle is turned once into counted levels (`1 << 16 | level`
///   for a pixel that enters the rings, 0 for one that does not) and kept in a ring of the
///   `2 cfar_rb + 2` rows the windows still need;
/// * running column sums (count, sum, sum of squares; one array each) of the guard's and the
///   background's rows are updated by the row entering and the row leaving each window, loops
///   the compiler vectorises;
/// * the ring statistics of each pixel of the row are the background's column sums over the
///   window's width less the guard's, slid along the row (three running sums each).
///
/// The same integers as the kernels, so the same masks (tests/cfar.rs checks it against the
/// twins). `water` is what `cfar` reads (the pixels that may be targets), `stats` what
/// `cfar_rows` reads (the pixels that enter the rings; empty: `water`). Only the masks: where
/// the labelling follows, the caller makes the roots as `cfar` does ([`super::init_roots`]).
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
    let mut scratch = Scratch::default();
    for (t, c) in tiles.iter().zip(cfar) {
        let bw = t.blocks_w();
        mask[t.blk_off as usize..(t.blk_off + t.blocks()) as usize].fill(0);
        if params.flags & FLAG_NONE != 0 {
            continue;
        }
        let planes = (water, ring_plane);
        fused_tile(params, t, c, samples, planes, &mut scratch, &mut |y, x| {
            mask[(t.blk_off + (y / 2) * bw + x / 2) as usize] |= 1 << ((y & 1) * 2 + (x & 1));
        });
    }
}

/// Working memory of [`cfar_fused`], kept across tiles.
#[derive(Default)]
struct Scratch {
    /// Counted levels of the last `2 rb + 2` extended rows.
    levels: Vec<u32>,
    /// Column sums of the background's and the guard's rows.
    b: Columns,
    g: Columns,
    /// Steps of the ring's sums along a row (see [`ring_steps`]).
    dn: Vec<u32>,
    ds: Vec<u32>,
    dq: Vec<u64>,
    /// The row's pixels that may be targets: `1 << 16 | level`, else 0.
    targets: Vec<u32>,
}

/// The ring's sums of the row's first pixel (the background window over padded columns
/// `cx..=cx + 2 rb` less the guard's over `cx + rb - rg..=cx + rb + rg`), then for each next
/// pixel the change: a column in and a column out of each window. Loops without a carried
/// dependency, which the compiler vectorises.
fn ring_steps(s: &mut Scratch, cx: usize, rb: usize, rg: usize, w: usize) {
    fn steps<T: Copy + Default>(
        col_b: &[T],
        col_g: &[T],
        out: &mut Vec<T>,
        (cx, rb, rg, w): (usize, usize, usize, usize),
    ) where
        W<T>: Add<Output = W<T>> + Sub<Output = W<T>>,
    {
        let whole = |v: &[T]| v.iter().fold(W(T::default()), |x, &y| x + W(y));
        out.clear();
        out.push(
            (whole(&col_b[cx..cx + 2 * rb + 1]) - whole(&col_g[cx + rb - rg..cx + rb + rg + 1])).0,
        );
        let b_in = &col_b[cx + 2 * rb + 1..cx + 2 * rb + w];
        let b_out = &col_b[cx..cx + w - 1];
        let g_in = &col_g[cx + rb + rg + 1..cx + rb + rg + w];
        let g_out = &col_g[cx + rb - rg..cx + rb - rg + w - 1];
        out.resize(w, T::default());
        let o = &mut out[1..w];
        for k in 0..w - 1 {
            o[k] = (W(b_in[k]) - W(b_out[k]) + (W(g_out[k]) - W(g_in[k]))).0;
        }
    }
    let dims = (cx, rb, rg, w);
    steps(&s.b.n, &s.g.n, &mut s.dn, dims);
    steps(&s.b.s, &s.g.s, &mut s.ds, dims);
    steps(&s.b.q, &s.g.q, &mut s.dq, dims);
}

/// `out[j]` = `1 << 16 | level` of key `keys[j]` (pixel `first + j`) when the pixel is
/// [`counted`] on `plane` and its key is at least `min_key`, else 0. Without branches, so the
/// compiler vectorises it; the same decisions as `counted` and `level`.
#[inline(never)]
fn counted_levels(
    p: &Params,
    keys: &[u32],
    plane: &[u32],
    first: u32,
    min_key: u32,
    out: &mut [u32],
) {
    let nodata = p.flags & FLAG_NODATA != 0;
    let nan = p.flags & FLAG_NAN != 0;
    let (nd, min, shift) = (p.nodata_key, p.level_min, p.level_shift);
    let enc = |key: u32, water: bool| {
        let invalid = (nodata & (key == nd)) | (nan & (key == NAN_KEY));
        let lv = (key.saturating_sub(min) >> shift).min(65535);
        if water & !invalid & (key >= min_key) {
            1 << 16 | lv
        } else {
            0
        }
    };
    let keys = &keys[..out.len()];
    if p.flags & FLAG_WATER == 0 {
        for (o, &k) in out.iter_mut().zip(keys) {
            *o = enc(k, true);
        }
        return;
    }
    // By the plane's words: a word of all ones (water, or no censored pixel) or all zeros
    // takes the plain loop; only words that mix go pixel by pixel.
    let mut j = 0;
    while j < out.len() {
        let i = first + j as u32;
        let take = (32 - (i & 31) as usize).min(out.len() - j);
        let all = if take == 32 {
            u32::MAX
        } else {
            (1u32 << take) - 1
        };
        let bits = (plane[(i >> 5) as usize] >> (i & 31)) & all;
        let (o, k) = (&mut out[j..j + take], &keys[j..j + take]);
        if bits == all {
            for (o, &k) in o.iter_mut().zip(k) {
                *o = enc(k, true);
            }
        } else if bits == 0 {
            o.fill(0);
        } else {
            for (t, (o, &k)) in o.iter_mut().zip(k).enumerate() {
                *o = enc(k, bits >> t & 1 != 0);
            }
        }
        j += take;
    }
}

/// Running sums of counted levels down the columns of a window (count, sum, sum of squares;
/// one array each), over the extended columns padded by `rb` zero columns on each side.
#[derive(Default)]
struct Columns {
    n: Vec<u32>,
    s: Vec<u32>,
    q: Vec<u64>,
}

impl Columns {
    /// `len` zero columns.
    fn reset(&mut self, len: usize) {
        for v in [&mut self.n, &mut self.s] {
            v.clear();
            v.resize(len, 0);
        }
        self.q.clear();
        self.q.resize(len, 0);
    }

    /// Over columns `cols`, add the row `add` and take out the row `out` (rows of counted
    /// levels; `None`: no row), in one pass.
    fn slide(&mut self, cols: Range<usize>, add: Option<&[u32]>, out: Option<&[u32]>) {
        let (n, s, q) = (
            &mut self.n[cols.clone()],
            &mut self.s[cols.clone()],
            &mut self.q[cols],
        );
        slide_columns(n, s, q, add, out);
    }
}

/// [`Columns::slide`]'s loops, one per case. One loop with const-generic cases (an absent row
/// adding zeros) was tried: `stages/cfar_fused/sea` 48.5 ms against 33.3 ms.
// Not inlined: inlined, LLVM recomputed the rows' addresses (a division) in the loop.
#[inline(never)]
fn slide_columns(
    n: &mut [u32],
    s: &mut [u32],
    q: &mut [u64],
    add: Option<&[u32]>,
    out: Option<&[u32]>,
) {
    let len = n.len();
    let (s, q) = (&mut s[..len], &mut q[..len]);
    let split = |e: u32| (e >> 16, e & 0xFFFF, u64::from((e & 0xFFFF) * (e & 0xFFFF)));
    match (add, out) {
        (Some(a), Some(o)) => {
            let (a, o) = (&a[..len], &o[..len]);
            for i in 0..len {
                let ((an, av, aq), (on, ov, oq)) = (split(a[i]), split(o[i]));
                n[i] = n[i].wrapping_add(an).wrapping_sub(on);
                s[i] = s[i].wrapping_add(av).wrapping_sub(ov);
                q[i] = q[i].wrapping_add(aq).wrapping_sub(oq);
            }
        }
        (Some(a), None) => {
            let a = &a[..len];
            for i in 0..len {
                let (an, av, aq) = split(a[i]);
                n[i] = n[i].wrapping_add(an);
                s[i] = s[i].wrapping_add(av);
                q[i] = q[i].wrapping_add(aq);
            }
        }
        (None, Some(o)) => {
            let o = &o[..len];
            for i in 0..len {
                let (on, ov, oq) = split(o[i]);
                n[i] = n[i].wrapping_sub(on);
                s[i] = s[i].wrapping_sub(ov);
                q[i] = q[i].wrapping_sub(oq);
            }
        }
        (None, None) => {}
    }
}

/// One tile of [`cfar_fused`]: `hit(y, x)` for each target pixel of the tile. `planes` are the
/// targets' plane and the rings'.
fn fused_tile(
    params: &Params,
    t: &TileDesc,
    c: &CfarTile,
    samples: &[u32],
    (water, ring_plane): (&[u32], &[u32]),
    s: &mut Scratch,
    hit: &mut dyn FnMut(u32, u32),
) {
    let (rg, rb) = (params.cfar_rg as usize, params.cfar_rb as usize);
    let (ew, eh) = (c.ext_w as usize, c.ext_h as usize);
    let (cx, cy) = (c.cx as usize, c.cy as usize);
    let slots = 2 * rb + 2;
    s.levels.clear();
    s.levels.resize(slots * ew, 0);
    s.b.reset(ew + 2 * rb);
    s.g.reset(ew + 2 * rb);
    // Counted levels of extended row `r` into its slot (rows are encoded in increasing order,
    // when they enter the background window, and read again at most 2 rb + 1 rows later).
    let encode = |levels: &mut [u32], r: usize| {
        let row = c.ext_off as usize + r * c.stride as usize;
        let out = &mut levels[(r % slots) * ew..(r % slots + 1) * ew];
        counted_levels(
            params,
            &samples[row..row + ew],
            ring_plane,
            row as u32,
            0,
            out,
        );
    };
    let slot = |r: usize| (r % slots) * ew..(r % slots + 1) * ew;
    // Column sums: extended column xc at index xc + rb.
    let cols = rb..rb + ew;
    for r in cy.saturating_sub(rb)..(cy + rb + 1).min(eh) {
        encode(&mut s.levels, r);
        let row = &s.levels[slot(r)];
        s.b.slide(cols.clone(), Some(row), None);
        if r + rg >= cy && r <= cy + rg {
            s.g.slide(cols.clone(), Some(row), None);
        }
    }
    for y in 0..t.h as usize {
        let ey = cy + y;
        // The ring's count, sum and sum of squares at each pixel of the row, as steps from
        // the pixel to its left (the first pixel's step is its whole ring), then summed along.
        ring_steps(s, cx, rb, rg, t.w as usize);
        // The pixels that may be targets (counted on the targets' plane, at least the
        // threshold), with their levels.
        let row = (t.pix_off + y as u32 * t.stride) as usize;
        let (tw, thr) = (t.w as usize, params.threshold_key);
        s.targets.resize(tw, 0);
        counted_levels(
            params,
            &samples[row..row + tw],
            water,
            row as u32,
            thr,
            &mut s.targets,
        );
        let (mut n, mut sm, mut q) = (0u32, 0u32, 0u64);
        let steps = s.dn.iter().zip(&s.ds).zip(&s.dq).zip(&s.targets);
        for (x, (((&dn, &ds), &dq), &e)) in steps.enumerate() {
            (n, sm, q) = (n.wrapping_add(dn), sm.wrapping_add(ds), q.wrapping_add(dq));
            if (e >> 16 != 0) & decide(params, e & 0xFFFF, n, sm, q) {
                hit(y as u32, x as u32);
            }
        }
        // Slide both windows down one row. The row entering the background is encoded first:
        // its slot held the row that left it one step before.
        if ey + rb + 1 < eh {
            encode(&mut s.levels, ey + rb + 1);
        }
        let row = |r: usize, ok: bool| ok.then(|| &s.levels[slot(r)]);
        s.b.slide(
            cols.clone(),
            row(ey + rb + 1, ey + rb + 1 < eh),
            row(ey.wrapping_sub(rb), ey >= rb),
        );
        s.g.slide(
            cols.clone(),
            row(ey + rg + 1, ey + rg + 1 < eh),
            row(ey.wrapping_sub(rg), ey >= rg),
        );
    }
}

/// The masks of one tile from its stored row sums (the twin of the kernel's `cfar`).
fn tile(
    params: &Params,
    t: &TileDesc,
    c: &CfarTile,
    samples: &[u32],
    mask: &mut [u32],
    water: &[u32],
    rowsums: &[u32],
) {
    let (rg, rb) = (params.cfar_rg, params.cfar_rb);
    let rw = CFAR_ROW_WORDS as usize;
    let w = t.w as usize;
    // Extended row `r`'s sums, as `cfar_rows` stored them.
    let row = |r: u32| {
        let o = (c.sum_off + r * t.w) as usize * rw;
        &rowsums[o..o + w * rw]
    };
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
        let row = row(r);
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
            apply(&mut b, row(ey - rb), 4, false);
        }
        if ey >= rg {
            apply(&mut g, row(ey - rg), 0, false);
        }
        if ey + rg + 1 < c.ext_h {
            apply(&mut g, row(ey + rg + 1), 0, true);
        }
        if ey + rb + 1 < c.ext_h {
            apply(&mut b, row(ey + rb + 1), 4, true);
        }
    }
}
