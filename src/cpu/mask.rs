//! CPU twin of `shaders/mask.wgsl`: sample keys -> one 4-bit target mask per 2x2 block
//! (bit dy*2+dx set when pixel (2bx+dx, 2by+dy) is a target; land pixels of the water plane
//! never are), and the foreground union-find nodes made roots.

use super::{is_target, plane_bit};
use crate::tiling::{Params, TileDesc, FLAG_NAN, FLAG_NODATA, FLAG_NONE, FLAG_WATER};

pub fn mask(
    params: &Params,
    tiles: &[TileDesc],
    samples: &[u32],
    mask: &mut [u32],
    parent: &mut [u32],
    water: &[u32],
) {
    masks(params, tiles, samples, mask, water);
    super::init_roots(params, tiles, mask, parent);
}

/// The block masks alone.
fn masks(params: &Params, tiles: &[TileDesc], samples: &[u32], mask: &mut [u32], water: &[u32]) {
    let samples = &*super::keys(params, samples);
    if params.flags & FLAG_WATER != 0 && params.flags & FLAG_NONE == 0 {
        // Rare (a land mask): the plain per-pixel form.
        for t in tiles {
            let bw = t.blocks_w();
            for by in 0..t.blocks_h() {
                for bx in 0..bw {
                    let mut bits = 0;
                    for dy in 0..2 {
                        for dx in 0..2 {
                            let (x, y) = (bx * 2 + dx, by * 2 + dy);
                            if x < t.w && y < t.h {
                                let i = t.pix_off + y * t.stride + x;
                                if plane_bit(water, i) && is_target(params, samples[i as usize]) {
                                    bits |= 1 << (dy * 2 + dx);
                                }
                            }
                        }
                    }
                    mask[(t.blk_off + by * bw + bx) as usize] = bits;
                }
            }
        }
        return;
    }
    // The common case (no nodata, no NaN) is a bare comparison: pick the test once so the
    // block loop stays branch-free and vectorises.
    if params.flags & FLAG_NONE != 0 {
        for t in tiles {
            mask[t.blk_off as usize..(t.blk_off + t.blocks()) as usize].fill(0);
        }
    } else if params.flags & (FLAG_NODATA | FLAG_NAN) == 0 {
        let thr = params.threshold_key;
        mask_with(tiles, samples, mask, |k| k >= thr);
    } else {
        mask_with(tiles, samples, mask, |k| is_target(params, k));
    }
}

#[inline(always)]
fn mask_with(tiles: &[TileDesc], samples: &[u32], mask: &mut [u32], hit: impl Fn(u32) -> bool) {
    for t in tiles {
        let bw = t.blocks_w() as usize;
        let w = t.w as usize;
        let h = t.h as usize;
        let st = t.stride as usize;
        let px = &samples[t.pix_off as usize..];
        let out = &mut mask[t.blk_off as usize..t.blk_off as usize + t.blocks() as usize];
        for (by, row_out) in out.chunks_exact_mut(bw).enumerate() {
            let y = by * 2;
            let r0 = &px[y * st..y * st + w];
            // A missing bottom row (odd height) reads as background.
            let r1 = if y + 1 < h {
                &px[(y + 1) * st..(y + 1) * st + w]
            } else {
                &[][..]
            };
            let pairs = w / 2;
            if r1.is_empty() {
                for (o, a) in row_out.iter_mut().zip(r0.chunks_exact(2)) {
                    *o = hit(a[0]) as u32 | (hit(a[1]) as u32) << 1;
                }
            } else {
                for ((o, a), b) in row_out
                    .iter_mut()
                    .zip(r0.chunks_exact(2))
                    .zip(r1.chunks_exact(2))
                {
                    *o = hit(a[0]) as u32
                        | (hit(a[1]) as u32) << 1
                        | (hit(b[0]) as u32) << 2
                        | (hit(b[1]) as u32) << 3;
                }
            }
            if w % 2 == 1 {
                let x = w - 1;
                let mut bits = hit(r0[x]) as u32;
                if !r1.is_empty() {
                    bits |= (hit(r1[x]) as u32) << 2;
                }
                row_out[pairs] = bits;
            }
        }
    }
}
