//! CPU twin of `shaders/label_compress.wgsl`: point every node at its root.

use crate::tiling::{Params, TileDesc};

pub fn label_compress(params: &Params, tiles: &[TileDesc], parent: &mut [u32]) {
    let c = super::conn(params);
    for t in tiles {
        for n in t.node_off..t.node_off + t.nodes(c) {
            let mut r = parent[n as usize];
            if r == n {
                continue;
            }
            // Nodes are visited in increasing order and roots are the smallest node of their
            // tree, so parent[r] is already a root after one step in the common case.
            loop {
                let p = parent[r as usize];
                if p == r {
                    break;
                }
                r = p;
            }
            parent[n as usize] = r;
        }
    }
}
