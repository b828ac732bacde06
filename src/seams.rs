//! Stage **merge seams** (host, shared by both backends): join components that touch across
//! tile seams, from the border labels each tile exported, so the result equals labelling the
//! whole scene at once. Cost is proportional to the seam length, not the scene area.
//!
//! For every pair of side-by-side tiles the facing columns are compared (rows r, and r +- 1
//! for 8-connectivity); for every pair of stacked tiles the facing rows; for 8-connectivity
//! the four tiles around each grid corner are also joined diagonally.

use crate::cpu::NONE;
use crate::tiling::{Connectivity, TileDesc};

pub use crate::union_find::UnionFind;

/// Joins the components of border labels `a` and `b`, unless either is no component.
fn link(uf: &mut UnionFind, a: u32, b: u32) {
    if a != NONE && b != NONE {
        uf.union(a, b);
    }
}

/// Seams merged as the scene streams in, window after window (whole rows of tiles): only the
/// border labels of the last row of tiles are kept between windows, so memory follows the
/// scene's width, not its area.
pub struct SeamMerger {
    tiles_x: usize,
    eight: bool,
    uf: UnionFind,
    /// The last row of tiles pushed, with its border labels (scene record indices).
    last: Vec<(TileDesc, Vec<u32>)>,
}

impl SeamMerger {
    pub fn new(tiles_x: u32, conn: Connectivity) -> SeamMerger {
        SeamMerger {
            tiles_x: tiles_x as usize,
            eight: conn == Connectivity::Eight,
            uf: UnionFind::new(0),
            last: Vec::new(),
        }
    }

    /// Add whole rows of tiles (raster order, below those pushed before) with their border
    /// labels; `records` is the scene's record count once they are added.
    pub fn push(&mut self, records: usize, tiles: &[TileDesc], borders: Vec<Vec<u32>>) {
        let uf = &mut self.uf;
        uf.grow_to(records);
        let tx = self.tiles_x;
        let prev = self.last.len();
        let mut grid: Vec<(TileDesc, Vec<u32>)> = std::mem::take(&mut self.last);
        grid.extend(tiles.iter().copied().zip(borders));
        join(uf, &grid, tx, self.eight, prev);
        let keep = grid.len() - grid.len().min(tx);
        self.last = grid.split_off(keep);
    }

    /// For every record, the index of the record that represents its whole merged component.
    pub fn finish(mut self) -> Vec<u32> {
        (0..self.uf.len() as u32).map(|i| self.uf.find(i)).collect()
    }
}

/// Join the components across the seams of `grid` (rows of `tx` tiles); the first `done`
/// tiles form a row whose seams with each other are already joined.
fn join(uf: &mut UnionFind, grid: &[(TileDesc, Vec<u32>)], tx: usize, eight: bool, done: usize) {
    let n = grid.len();
    for i in 0..n {
        let (t, b) = (&grid[i].0, &grid[i].1);
        let (w, h) = (t.w as usize, t.h as usize);
        // Right neighbour: our right column against its left column.
        if i >= done && (i % tx) + 1 < tx && i + 1 < n {
            let o = &grid[i + 1].1;
            let ow = grid[i + 1].0.w as usize;
            for r in 0..h {
                let a = b[2 * w + h + r];
                if a == NONE {
                    continue;
                }
                link(uf, a, o[2 * ow + r]);
                if eight {
                    if r > 0 {
                        link(uf, a, o[2 * ow + r - 1]);
                    }
                    if r + 1 < h {
                        link(uf, a, o[2 * ow + r + 1]);
                    }
                }
            }
        }
        // Neighbour below: our bottom row against its top row.
        if i + tx < n {
            let o = &grid[i + tx].1;
            for c in 0..w {
                let a = b[w + c];
                if a == NONE {
                    continue;
                }
                link(uf, a, o[c]);
                if eight {
                    if c > 0 {
                        link(uf, a, o[c - 1]);
                    }
                    if c + 1 < w {
                        link(uf, a, o[c + 1]);
                    }
                }
            }
            if eight && (i % tx) + 1 < tx {
                // Corner: our bottom-right pixel with the top-left of the tile below-right,
                // and the bottom-left of the tile to our right with the top-right of ours below.
                let br = &grid[i + tx + 1].1;
                link(uf, b[w + w - 1], br[0]);
                let right = &grid[i + 1];
                let rw = right.0.w as usize;
                link(uf, right.1[rw], o[w - 1]);
            }
        }
    }
}
