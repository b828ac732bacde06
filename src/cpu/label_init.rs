//! CPU twin of `shaders/label_init.wgsl`: every node its own root.

use crate::tiling::{Params, TileDesc};

pub fn label_init(params: &Params, tiles: &[TileDesc], parent: &mut [u32]) {
    let c = super::conn(params);
    for t in tiles {
        let n0 = t.node_off;
        for (i, p) in parent[n0 as usize..(n0 + t.nodes(c)) as usize]
            .iter_mut()
            .enumerate()
        {
            *p = n0 + i as u32;
        }
    }
}
