//! CPU twin of `shaders/mask.wgsl`: sample keys -> one 4-bit target mask per 2x2 block.

use super::is_target;
use crate::tiling::{Params, TileDesc};

pub fn mask(params: &Params, tiles: &[TileDesc], samples: &[u32], mask: &mut [u32]) {
    for t in tiles {
        let bw = t.blocks_w() as usize;
        let w = t.w as usize;
        let h = t.h as usize;
        let px = &samples[t.pix_off as usize..t.pix_off as usize + w * h];
        let out = &mut mask[t.blk_off as usize..t.blk_off as usize + t.blocks() as usize];
        for (by, row_out) in out.chunks_exact_mut(bw).enumerate() {
            let y = by * 2;
            let r0 = &px[y * w..y * w + w];
            let r1 = if y + 1 < h {
                Some(&px[(y + 1) * w..(y + 2) * w])
            } else {
                None
            };
            for (bx, o) in row_out.iter_mut().enumerate() {
                let x = bx * 2;
                let mut bits = is_target(params, r0[x]) as u32;
                if x + 1 < w {
                    bits |= (is_target(params, r0[x + 1]) as u32) << 1;
                }
                if let Some(r1) = r1 {
                    bits |= (is_target(params, r1[x]) as u32) << 2;
                    if x + 1 < w {
                        bits |= (is_target(params, r1[x + 1]) as u32) << 3;
                    }
                }
                *o = bits;
            }
        }
    }
}
