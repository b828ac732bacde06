//! CPU twin of `shaders/label_compact.wgsl`: every foreground node pointed at its root, and
//! compact ids for roots, records initialised. Ids here follow node order; the GPU's follow its
//! atomics; the host never depends on either.

use super::{fg, NONE};
use crate::tiling::{Connectivity, Params, TileDesc, REC_WORDS};

/// Initial record of a component found in tile `tile` (batch-local index).
pub fn init_record(rec: &mut [u32], tile: u32) {
    rec.copy_from_slice(&[
        0, NONE, NONE, 0, 0, NONE, 0, 0, 0, 0, 0, 0, 0, tile, 0, 0, 0, 0, 0, 0,
    ]);
}

pub fn label_compact(
    params: &Params,
    tiles: &[TileDesc],
    mask: &[u32],
    parent: &mut [u32],
    remap: &mut [u32],
    records: &mut [u32],
    counters: &mut [u32],
) {
    let c = super::conn(params);
    for (ti, t) in tiles.iter().enumerate() {
        let nw = t.nodes_w(c);
        for ny in 0..t.nodes_h(c) {
            for nx in 0..nw {
                let is_fg = match c {
                    Connectivity::Eight => mask[(t.blk_off + ny * nw + nx) as usize] != 0,
                    Connectivity::Four => fg(t, mask, nx, ny),
                };
                if !is_fg {
                    continue;
                }
                let n = t.node_off + ny * nw + nx;
                let r = super::label_merge::find_root(parent, n);
                if r != n {
                    parent[n as usize] = r;
                    continue;
                }
                let cid = counters[0];
                counters[0] += 1;
                remap[n as usize] = cid;
                let r = (cid * REC_WORDS) as usize;
                // As the kernel: no record past the buffer (the count says it overflowed).
                if let Some(rec) = records.get_mut(r..r + REC_WORDS as usize) {
                    init_record(rec, ti as u32);
                }
            }
        }
    }
}
