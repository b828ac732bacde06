//! The CPU backend's fast path: mask + label + measure + seam export fused into one pass over
//! each tile's rows, with run-based union-find. No label image is written, not even a tile's:
//! each row becomes a bit row, the bit row becomes runs of targets, each run joins the runs of
//! the row above that touch it (union-find over provisional labels, one per run that starts a
//! component), and its area, box, value sum, maximum and coordinate moments go straight into its
//! component's accumulator (moments of a run in closed form). Only two rows of runs, the
//! accumulators and the tile's border labels are held.
//!
//! It is not a kernel twin: it produces what the twin chain `mask -> label_init -> label_merge
//! -> label_compress -> label_compact -> measure -> seam_export` (or `cfar_rows -> cfar -> ...`)
//! produces for a batch, the same records (exact integers) and border labels, up to the order
//! of component ids, which nobody depends on (ids here follow the raster order of each
//! component's first pixel). `tests/runs.rs` holds it to the twins; every CPU detection test
//! runs both (`tests/common::run_cpu`).

use super::label_merge::find_root;
use super::measure::{addend, Acc};
use super::{is_target, plane_bit, NONE};
use crate::tiling::FLAG_WATER;
use crate::tiling::{Connectivity, Params, TileDesc, FLAG_NAN, FLAG_NODATA, FLAG_NONE, REC_WORDS};

/// A run of targets `xs..=xe` of one row and the provisional label it was given.
#[derive(Clone, Copy)]
struct Run {
    xs: u32,
    xe: u32,
    label: u32,
}

/// Buffers reused from tile to tile.
#[derive(Default)]
pub struct RunScratch {
    bits: Vec<u64>,
    prev: Vec<Run>,
    cur: Vec<Run>,
    parent: Vec<u32>,
    acc: Vec<Acc>,
}

/// Where a tile's target bits come from.
pub enum Targets<'a> {
    /// Test each sample (`mask.wgsl`'s rule, water plane included).
    Samples { water: &'a [u32] },
    /// The 4-bit block masks a CFAR pass wrote (`batch.blocks` words).
    Blocks(&'a [u32]),
}

/// Sum of x^2 for x in 0..m.
#[inline(always)]
fn squares_below(m: u64) -> u64 {
    if m == 0 {
        0
    } else {
        (m - 1) * m * (2 * m - 1) / 6
    }
}

/// Records and border labels of every tile of a batch, as the twin chain computes them.
/// `records` gets `REC_WORDS` words a component (batch-local tile index in `R_TILE`), `border`
/// must hold `batch.border` words.
pub fn label_batch(
    params: &Params,
    tiles: &[TileDesc],
    samples: &[u32],
    targets: &Targets,
    scratch: &mut RunScratch,
    records: &mut Vec<u32>,
    border: &mut [u32],
) {
    let samples = &*super::keys(params, samples);
    match params.kind {
        2 => label_kind(
            params,
            tiles,
            samples,
            targets,
            scratch,
            records,
            border,
            |k| addend(2, 0, k),
        ),
        4 => {
            let scale = params.sum_scale;
            label_kind(
                params,
                tiles,
                samples,
                targets,
                scratch,
                records,
                border,
                |k| addend(4, scale, k),
            )
        }
        _ => label_kind(
            params,
            tiles,
            samples,
            targets,
            scratch,
            records,
            border,
            |k| k as i64,
        ),
    }
}

/// Bits of row `y` of tile `t` into `bits` (bit x of word x / 64; bits past `t.w` clear).
#[inline(always)]
fn row_bits(
    params: &Params,
    t: &TileDesc,
    samples: &[u32],
    targets: &Targets,
    y: u32,
    bits: &mut [u64],
) {
    let w = t.w as usize;
    let row0 = (t.pix_off + y * t.stride) as usize;
    let row = &samples[row0..row0 + w];
    match targets {
        Targets::Blocks(mask) => {
            let bw = t.blocks_w() as usize;
            let blk = &mask[(t.blk_off + (y / 2) * t.blocks_w()) as usize..][..bw];
            let s = (y & 1) * 2;
            bits.fill(0);
            for (bx, &m) in blk.iter().enumerate() {
                let two = ((m >> s) & 3) as u64;
                let x = bx * 2;
                bits[x / 64] |= two << (x % 64);
            }
            if w % 64 != 0 {
                bits[w / 64] &= (1u64 << (w % 64)) - 1;
            }
        }
        Targets::Samples { water } => {
            let f = params.flags;
            if f & FLAG_NONE != 0 {
                bits.fill(0);
            } else if f & FLAG_WATER != 0 {
                bits.fill(0);
                for (x, &k) in row.iter().enumerate() {
                    let i = row0 as u32 + x as u32;
                    if plane_bit(water, i) && is_target(params, k) {
                        bits[x / 64] |= 1 << (x % 64);
                    }
                }
            } else if f & (FLAG_NODATA | FLAG_NAN) == 0 {
                let thr = params.threshold_key;
                pack_row(row, bits, |k| k >= thr);
            } else {
                pack_row(row, bits, |k| is_target(params, k));
            }
        }
    }
}

/// One bit a sample, 64 a word; branch-free so it vectorises.
#[inline(always)]
fn pack_row(row: &[u32], bits: &mut [u64], hit: impl Fn(u32) -> bool) {
    let mut chunks = row.chunks_exact(64);
    for (b, c) in bits.iter_mut().zip(&mut chunks) {
        let mut word = 0u64;
        for (i, &k) in c.iter().enumerate() {
            word |= (hit(k) as u64) << i;
        }
        *b = word;
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut word = 0u64;
        for (i, &k) in rest.iter().enumerate() {
            word |= (hit(k) as u64) << i;
        }
        bits[row.len() / 64] = word;
    }
}

#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn label_kind(
    params: &Params,
    tiles: &[TileDesc],
    samples: &[u32],
    targets: &Targets,
    s: &mut RunScratch,
    records: &mut Vec<u32>,
    border: &mut [u32],
    add: impl Fn(u32) -> i64,
) {
    let eight = super::conn(params) == Connectivity::Eight;
    for (ti, t) in tiles.iter().enumerate() {
        let (w, h) = (t.w, t.h);
        let words = (w as usize).div_ceil(64);
        s.bits.clear();
        s.bits.resize(words, 0);
        s.prev.clear();
        s.parent.clear();
        s.acc.clear();
        let b = &mut border[t.border_off as usize..(t.border_off + t.border_len()) as usize];
        b.fill(NONE);
        let (top, rest) = b.split_at_mut(w as usize);
        let (bottom, rest) = rest.split_at_mut(w as usize);
        let (left, right) = rest.split_at_mut(h as usize);
        for y in 0..h {
            row_bits(params, t, samples, targets, y, &mut s.bits);
            let px = &samples[(t.pix_off + y * t.stride) as usize..][..w as usize];
            s.cur.clear();
            let mut j = 0usize; // first run of the row above that may touch the next run
            let mut x = 0u32;
            while x < w {
                // Next set bit at or after x.
                let mut wi = (x / 64) as usize;
                let mut word = s.bits[wi] & (!0u64 << (x % 64));
                while word == 0 {
                    wi += 1;
                    if wi == words {
                        break;
                    }
                    word = s.bits[wi];
                }
                if wi == words {
                    break;
                }
                let xs = wi as u32 * 64 + word.trailing_zeros();
                // Next clear bit after xs (bits past w are clear).
                let mut word = !s.bits[wi] & (!0u64 << (xs % 64));
                while word == 0 {
                    wi += 1;
                    if wi == words {
                        break;
                    }
                    word = !s.bits[wi];
                }
                let end = if wi == words {
                    w
                } else {
                    (wi as u32 * 64 + word.trailing_zeros()).min(w)
                };
                let xe = end - 1;
                x = end;

                // The runs above that touch xs..=xe (8-connectivity: diagonals too).
                let (lo, hi) = if eight {
                    (xs.saturating_sub(1), xe + 1)
                } else {
                    (xs, xe)
                };
                while j < s.prev.len() && s.prev[j].xe < lo {
                    j += 1;
                }
                let mut root = NONE;
                let mut k = j;
                while k < s.prev.len() && s.prev[k].xs <= hi {
                    let r = find_root(&mut s.parent, s.prev[k].label);
                    if root == NONE {
                        root = r;
                    } else if r != root {
                        // Two components meet: the younger joins the older (the smaller label,
                        // so roots stay the first label of their component).
                        let (a, b) = if r < root { (r, root) } else { (root, r) };
                        s.parent[b as usize] = a;
                        let o = s.acc[b as usize];
                        s.acc[a as usize].absorb(&o);
                        root = a;
                    }
                    k += 1;
                }
                if root == NONE {
                    root = s.parent.len() as u32;
                    s.parent.push(root);
                    s.acc.push(Acc::new(root));
                }

                // The run's share of the record.
                let run = &px[xs as usize..=xe as usize];
                let mut sum = 0i64;
                let mut max_key = 0u32;
                for &v in run {
                    sum = sum.wrapping_add(add(v));
                    max_key = max_key.max(v);
                }
                let n = (xe - xs + 1) as u64;
                let (yy, x0) = (y as u64, xs as u64);
                let sx = (x0 + xe as u64) * n / 2;
                let a = &mut s.acc[root as usize];
                if a.area == 0 {
                    a.first = y * w + xs;
                    a.y0 = y;
                }
                a.area += n as u32;
                a.x0 = a.x0.min(xs);
                a.x1 = a.x1.max(xe);
                a.y1 = y;
                a.max_key = a.max_key.max(max_key);
                a.sum = a.sum.wrapping_add(sum);
                a.sx += sx;
                a.sy += n * yy;
                a.sxx += squares_below(xe as u64 + 1) - squares_below(x0);
                a.syy += n * yy * yy;
                a.sxy += yy * sx;
                s.cur.push(Run {
                    xs,
                    xe,
                    label: root,
                });

                if xs == 0 {
                    left[y as usize] = root;
                }
                if xe == w - 1 {
                    right[y as usize] = root;
                }
            }
            if y == 0 || y == h - 1 {
                for r in &s.cur {
                    if y == 0 {
                        top[r.xs as usize..=r.xe as usize].fill(r.label);
                    }
                    if y == h - 1 {
                        bottom[r.xs as usize..=r.xe as usize].fill(r.label);
                    }
                }
            }
            std::mem::swap(&mut s.prev, &mut s.cur);
        }

        // Roots get compact ids in label order (the raster order of first pixels). Every parent
        // is smaller than its child, so one forward pass turns parent[] into compact ids: when
        // label l comes, a non-root's parent p < l already holds its root's id.
        for l in 0..s.parent.len() {
            let p = s.parent[l];
            if p as usize == l {
                let cid = (records.len() / REC_WORDS as usize) as u32;
                let r = records.len();
                records.resize(r + REC_WORDS as usize, 0);
                super::label_compact::init_record(&mut records[r..], ti as u32);
                let mut a = s.acc[l];
                a.cid = cid;
                a.flush(records);
                s.parent[l] = cid;
            } else {
                s.parent[l] = s.parent[p as usize];
            }
        }
        for v in b.iter_mut() {
            if *v != NONE {
                *v = s.parent[*v as usize];
            }
        }
    }
}
