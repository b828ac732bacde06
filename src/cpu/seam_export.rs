//! CPU twin of `shaders/seam_export.wgsl`: component id of every border pixel of each tile
//! (top row, bottom row, left column, right column), `NONE` for background.

use super::{fg, node_of, NONE};
use crate::tiling::{Params, TileDesc};

pub fn border_pixel(t: &TileDesc, i: u32) -> (u32, u32) {
    if i < t.w {
        (i, 0)
    } else if i < 2 * t.w {
        (i - t.w, t.h - 1)
    } else if i < 2 * t.w + t.h {
        (0, i - 2 * t.w)
    } else {
        (t.w - 1, i - 2 * t.w - t.h)
    }
}

pub fn seam_export(
    params: &Params,
    tiles: &[TileDesc],
    mask: &[u32],
    parent: &[u32],
    remap: &[u32],
    border: &mut [u32],
) {
    let c = super::conn(params);
    for t in tiles {
        for i in 0..t.border_len() {
            let (x, y) = border_pixel(t, i);
            border[(t.border_off + i) as usize] = if fg(t, mask, x, y) {
                remap[parent[node_of(t, c, x, y) as usize] as usize]
            } else {
                NONE
            };
        }
    }
}
