//! Stage **merge seams** (host, shared by both backends): join components that touch across
//! tile seams, from the border labels each tile exported, so the result equals labelling the
//! whole scene at once. Cost is proportional to the seam length, not the scene area.
//!
//! For every pair of side-by-side tiles the facing columns are compared (rows r, and r +- 1
//! for 8-connectivity); for every pair of stacked tiles the facing rows; for 8-connectivity
//! the four tiles around each grid corner are also joined diagonally.

use crate::cpu::NONE;
use crate::engine::SceneLabels;
use crate::tiling::Connectivity;

/// Union-find over component indices, smaller index as root.
pub struct UnionFind {
    parent: Vec<u32>,
}

impl UnionFind {
    pub fn new(n: usize) -> UnionFind {
        UnionFind {
            parent: (0..n as u32).collect(),
        }
    }

    pub fn find(&mut self, mut a: u32) -> u32 {
        while self.parent[a as usize] != a {
            let p = self.parent[a as usize];
            self.parent[a as usize] = self.parent[p as usize];
            a = p;
        }
        a
    }

    pub fn union(&mut self, a: u32, b: u32) {
        if a == NONE || b == NONE {
            return;
        }
        let (a, b) = (self.find(a), self.find(b));
        if a != b {
            let (hi, lo) = if a > b { (a, b) } else { (b, a) };
            self.parent[hi as usize] = lo;
        }
    }
}

/// For every record, the index of the record that represents its whole merged component.
pub fn merge_seams(scene: &SceneLabels, conn: Connectivity) -> Vec<u32> {
    let mut uf = UnionFind::new(scene.records.len());
    let tx = scene.tiles_x as usize;
    let n = scene.tiles.len();
    let eight = conn == Connectivity::Eight;
    for i in 0..n {
        let t = &scene.tiles[i];
        let b = &scene.borders[i];
        let (w, h) = (t.w as usize, t.h as usize);
        // Right neighbour: our right column against its left column.
        if (i % tx) + 1 < tx && i + 1 < n {
            let o = &scene.borders[i + 1];
            let ow = scene.tiles[i + 1].w as usize;
            for r in 0..h {
                let a = b[2 * w + h + r];
                if a == NONE {
                    continue;
                }
                uf.union(a, o[2 * ow + r]);
                if eight {
                    if r > 0 {
                        uf.union(a, o[2 * ow + r - 1]);
                    }
                    if r + 1 < h {
                        uf.union(a, o[2 * ow + r + 1]);
                    }
                }
            }
        }
        // Neighbour below: our bottom row against its top row.
        if i + tx < n {
            let o = &scene.borders[i + tx];
            for c in 0..w {
                let a = b[w + c];
                if a == NONE {
                    continue;
                }
                uf.union(a, o[c]);
                if eight {
                    if c > 0 {
                        uf.union(a, o[c - 1]);
                    }
                    if c + 1 < w {
                        uf.union(a, o[c + 1]);
                    }
                }
            }
            if eight && (i % tx) + 1 < tx {
                // Corner: our bottom-right pixel with the top-left of the tile below-right,
                // and the bottom-left of the tile to our right with the top-right of ours below.
                let br = &scene.borders[i + tx + 1];
                uf.union(b[w + w - 1], br[0]);
                let right = &scene.borders[i + 1];
                let rw = scene.tiles[i + 1].w as usize;
                uf.union(right[rw], o[w - 1]);
            }
        }
    }
    (0..scene.records.len() as u32)
        .map(|i| uf.find(i))
        .collect()
}
