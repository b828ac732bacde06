//! CPU twin of `shaders/label_merge.wgsl`: union of each foreground node with its foreground
//! neighbours above and to the left, linking the larger root under the smaller.

use super::fg;
use crate::tiling::{Connectivity, Params, TileDesc};

/// Root of `n`, halving the path on the way (sequential, so this is safe; roots, the smallest
/// node of each tree, are the same as the kernel's).
#[inline(always)]
pub(crate) fn find_root(parent: &mut [u32], mut n: u32) -> u32 {
    loop {
        let p = parent[n as usize];
        if p == n {
            return n;
        }
        let g = parent[p as usize];
        parent[n as usize] = g;
        n = g;
    }
}

/// The kernel's `union_nodes`, sequential: the atomicMin always succeeds first time.
#[inline]
fn union_nodes(parent: &mut [u32], a: u32, b: u32) {
    let a = find_root(parent, a);
    let b = find_root(parent, b);
    if a != b {
        let (hi, lo) = if a > b { (a, b) } else { (b, a) };
        parent[hi as usize] = lo;
    }
}

pub fn label_merge(params: &Params, tiles: &[TileDesc], mask: &[u32], parent: &mut [u32]) {
    for t in tiles {
        match super::conn(params) {
            Connectivity::Eight => {
                let bw = t.blocks_w();
                let bh = t.blocks_h();
                let m = &mask[t.blk_off as usize..(t.blk_off + t.blocks()) as usize];
                for by in 0..bh {
                    for bx in 0..bw {
                        let b = by * bw + bx;
                        let mb = m[b as usize];
                        if mb == 0 {
                            continue;
                        }
                        let n = t.node_off + b;
                        if bx > 0 && mb & 5 != 0 && m[(b - 1) as usize] & 10 != 0 {
                            union_nodes(parent, n, n - 1);
                        }
                        if by > 0 {
                            if mb & 3 != 0 && m[(b - bw) as usize] & 12 != 0 {
                                union_nodes(parent, n, n - bw);
                            }
                            if bx > 0 && mb & 1 != 0 && m[(b - bw - 1) as usize] & 8 != 0 {
                                union_nodes(parent, n, n - bw - 1);
                            }
                            if bx + 1 < bw && mb & 2 != 0 && m[(b - bw + 1) as usize] & 4 != 0 {
                                union_nodes(parent, n, n - bw + 1);
                            }
                        }
                    }
                }
            }
            Connectivity::Four => {
                for y in 0..t.h {
                    for x in 0..t.w {
                        if !fg(t, mask, x, y) {
                            continue;
                        }
                        let n = t.node_off + y * t.w + x;
                        if x > 0 && fg(t, mask, x - 1, y) {
                            union_nodes(parent, n, n - 1);
                        }
                        if y > 0 && fg(t, mask, x, y - 1) {
                            union_nodes(parent, n, n - t.w);
                        }
                    }
                }
            }
        }
    }
}
