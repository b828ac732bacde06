//! CPU twins of the WGSL kernels in `shaders/`: one module per shader, same name, same inputs
//! in binding order, same integer results. They are the fallback backend when no GPU adapter
//! exists and the oracle that tests hold the GPU to.
//!
//! Each twin takes a whole batch (`tiles`, plus the batch arrays indexed through each tile's
//! offsets), exactly like its kernel; the CPU backend runs batches of one tile in parallel with
//! rayon (see [`crate::backend::cpu`]).

pub mod histogram;
pub mod label_compact;
pub mod label_compress;
pub mod label_init;
pub mod label_merge;
pub mod mask;
pub mod measure;
pub mod seam_export;

use crate::sample::NAN_KEY;
use crate::tiling::{Connectivity, Params, TileDesc, FLAG_NAN, FLAG_NODATA, FLAG_NONE};

/// Component id meaning "background" in borders and "unset" in records (`NONE` in WGSL).
pub const NONE: u32 = u32::MAX;

/// `is_valid` of `shaders/common.wgsl`.
#[inline]
pub fn is_valid(p: &Params, key: u32) -> bool {
    !((p.flags & FLAG_NODATA != 0 && key == p.nodata_key)
        || (p.flags & FLAG_NAN != 0 && key == NAN_KEY))
}

/// `is_target` of `shaders/common.wgsl`.
#[inline]
pub fn is_target(p: &Params, key: u32) -> bool {
    p.flags & FLAG_NONE == 0 && is_valid(p, key) && key >= p.threshold_key
}

pub(crate) fn conn(p: &Params) -> Connectivity {
    if p.connectivity == 8 {
        Connectivity::Eight
    } else {
        Connectivity::Four
    }
}

/// Pixel (x, y) of tile `t` is a target, read from the block masks (`fg` in the kernels).
#[inline]
pub(crate) fn fg(t: &TileDesc, mask: &[u32], x: u32, y: u32) -> bool {
    let bw = t.blocks_w();
    let m = mask[(t.blk_off + (y / 2) * bw + x / 2) as usize];
    (m >> ((y & 1) * 2 + (x & 1))) & 1 != 0
}

/// Union-find node of pixel (x, y) of tile `t`.
#[inline]
pub(crate) fn node_of(t: &TileDesc, c: Connectivity, x: u32, y: u32) -> u32 {
    match c {
        Connectivity::Eight => t.node_off + (y / 2) * t.blocks_w() + x / 2,
        Connectivity::Four => t.node_off + y * t.w + x,
    }
}
