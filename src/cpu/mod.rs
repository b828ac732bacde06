//! CPU twins of the WGSL kernels in `shaders/`: one module per shader, same name, same inputs
//! in binding order, same integer results. They are the fallback backend when no GPU adapter
//! exists and the oracle that tests hold the GPU to.
//!
//! Each twin takes a whole batch (`tiles`, plus the batch arrays indexed through each tile's
//! offsets), exactly like its kernel; the CPU backend runs batches of one tile in parallel with
//! rayon (see [`crate::engine::cpu`]).

pub mod cfar;
pub mod cfar_rows;
pub mod histogram;
pub mod label_compact;
pub mod label_merge;
pub mod mask;
pub mod measure;
pub mod runs;
pub mod seam_export;

use crate::sample::NAN_KEY;
use crate::tiling::{
    Connectivity, Params, TileDesc, FLAG_NAN, FLAG_NODATA, FLAG_NONE, FLAG_PACK16, PACK16_I16_BASE,
};

/// Component id meaning "background" in borders and "unset" in records (`NONE` in WGSL).
pub const NONE: u32 = u32::MAX;

/// `sample_key` of `shaders/common.wgsl`: the key of pixel `i` from its word of `samples`.
#[inline]
pub fn sample_key(p: &Params, word: u32, i: u32) -> u32 {
    if p.flags & FLAG_PACK16 == 0 {
        return word;
    }
    let k = (word >> ((i & 1) * 16)) & 0xFFFF;
    if p.kind == KIND_I16 {
        k + PACK16_I16_BASE
    } else {
        k
    }
}

/// The batch's samples one key a word, as the twins index them: `samples` itself, or its keys
/// unpacked when they come two a word (`FLAG_PACK16`, as the GPU gets them). Every twin that
/// reads samples starts with this, so it takes the same inputs as its kernel.
pub fn keys<'a>(p: &Params, samples: &'a [u32]) -> std::borrow::Cow<'a, [u32]> {
    if p.flags & FLAG_PACK16 == 0 {
        return std::borrow::Cow::Borrowed(samples);
    }
    let mut out = Vec::with_capacity(samples.len() * 2);
    for (w, &word) in samples.iter().enumerate() {
        let i = 2 * w as u32;
        out.push(sample_key(p, word, i));
        out.push(sample_key(p, word, i + 1));
    }
    std::borrow::Cow::Owned(out)
}

/// `KIND_I16` of the kernels (`SampleKind::I16.code()`).
const KIND_I16: u32 = 2;

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

/// `plane_bit` of `shaders/common.wgsl`: bit `i` of a plane of 32 bits a word, LSB first.
#[inline]
pub fn plane_bit(plane: &[u32], i: u32) -> bool {
    (plane[(i >> 5) as usize] >> (i & 31)) & 1 != 0
}

/// `level` of `shaders/common.wgsl`: the CFAR level of a key.
#[inline]
pub fn level(p: &Params, key: u32) -> u32 {
    if key < p.level_min {
        0
    } else {
        ((key - p.level_min) >> p.level_shift).min(65535)
    }
}

/// `counted` of the CFAR kernels: pixel `i` enters CFAR statistics (valid, and water when a
/// plane is bound).
#[inline]
pub fn counted(p: &Params, water: &[u32], i: u32, key: u32) -> bool {
    is_valid(p, key) && (p.flags & crate::tiling::FLAG_WATER == 0 || plane_bit(water, i))
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

/// `init_nodes` of `shaders/mask.wgsl` and `shaders/cfar.wgsl`: the foreground nodes of every
/// block of the tiles made roots (`parent[n] = n`) from the block masks, where label_merge
/// starts. Background nodes are left as they are: no stage reads them.
pub fn init_roots(params: &Params, tiles: &[TileDesc], mask: &[u32], parent: &mut [u32]) {
    let c = conn(params);
    for t in tiles {
        let bw = t.blocks_w();
        let m = &mask[t.blk_off as usize..(t.blk_off + t.blocks()) as usize];
        for (b, &bits) in (0..).zip(m) {
            if bits == 0 {
                continue;
            }
            let (bx, by) = (b % bw, b / bw);
            match c {
                Connectivity::Eight => parent[(t.node_off + b) as usize] = t.node_off + b,
                Connectivity::Four => {
                    for i in 0..4 {
                        if (bits >> i) & 1 != 0 {
                            let n = node_of(t, c, bx * 2 + (i & 1), by * 2 + (i >> 1));
                            parent[n as usize] = n;
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{pack, pack16, Plane};
    use crate::sample::{key_i16, key_u16, key_u8, SampleKind};
    use crate::tiling::{batches, tile_grid, BatchLimits};

    #[test]
    fn packed_keys_unpack_to_the_keys() {
        let (w, h) = (5u32, 3u32);
        let vals = [0i32, 1, 127, 255, 32767, 65535, -32768, -1];
        for kind in [SampleKind::U8, SampleKind::U16, SampleKind::I16] {
            let want: Vec<u32> = (0..w * h)
                .map(|i| {
                    let v = vals[i as usize % vals.len()];
                    match kind {
                        SampleKind::U8 => key_u8(v.rem_euclid(256) as u8),
                        SampleKind::U16 => key_u16(v.rem_euclid(65536) as u16),
                        _ => key_i16(v.clamp(-32768, 32767) as i16),
                    }
                })
                .collect();
            let plane = Plane::rows(w, &want);
            // Tiles of 2 x 2: rows of odd length end mid-word.
            let grid = tile_grid(w, h, 2);
            for b in batches(&grid, Connectivity::Eight, &BatchLimits::default(), None) {
                let p = Params {
                    kind: kind.code(),
                    flags: FLAG_PACK16,
                    ..Default::default()
                };
                let plain = pack(&plane, &b).0;
                let packed = pack16(&plane, &b, kind.code());
                assert_eq!(packed.len(), plain.len().div_ceil(2));
                assert_eq!(
                    &super::keys(&p, &packed)[..plain.len()],
                    &plain[..],
                    "{kind:?}"
                );
            }
        }
    }

    /// The twins of label_compact and measure, like the kernels, write only the records that
    /// fit the buffer and still count every component (the GPU engine sizes records on demand
    /// and runs a batch again when the count says it overflowed).
    #[test]
    fn records_past_the_buffer_are_counted_not_written() {
        use crate::tiling::REC_WORDS;
        // Three components along row 1 of an 8 x 3 scene (200 = target, 10 = not).
        let row = [200, 200, 10, 200, 10, 10, 200, 200];
        let keys: Vec<u32> = (0..3)
            .flat_map(|y| row.map(|v| if y == 1 { v } else { 10 }))
            .collect();
        let plane = Plane::rows(8, &keys);
        for conn in [Connectivity::Four, Connectivity::Eight] {
            let grid = tile_grid(8, 3, 8);
            let b = &batches(&grid, conn, &BatchLimits::default(), None)[0];
            let p = Params {
                threshold_key: 100,
                kind: SampleKind::U16.code(),
                connectivity: conn.code(),
                ..Default::default()
            };
            let (samples, water) = pack(&plane, b);
            let run = |room: usize| {
                let mut m = vec![0; b.blocks as usize];
                let mut parent = vec![0; b.nodes as usize];
                let mut remap = vec![0; b.nodes as usize];
                let mut records = vec![0; room * REC_WORDS as usize];
                let mut counters = [0u32; 4];
                mask::mask(&p, &b.tiles, &samples, &mut m, &mut parent, &water);
                label_merge::label_merge(&p, &b.tiles, &m, &mut parent);
                let t = &b.tiles;
                label_compact::label_compact(
                    &p,
                    t,
                    &m,
                    &mut parent,
                    &mut remap,
                    &mut records,
                    &mut counters,
                );
                measure::measure(&p, t, &samples, &m, &parent, &remap, &mut records);
                (counters[0], records)
            };
            let (n, all) = run(3);
            assert_eq!(n, 3, "{conn:?}");
            let areas: Vec<u32> = all
                .chunks(REC_WORDS as usize)
                .map(|r| r[measure::R_AREA])
                .collect();
            assert_eq!(areas, [2, 1, 2], "{conn:?}");
            for room in [0, 1, 2] {
                let (n, some) = run(room);
                assert_eq!(n, 3, "{conn:?}, room for {room}");
                assert_eq!(
                    some[..],
                    all[..room * REC_WORDS as usize],
                    "{conn:?}, room for {room}"
                );
            }
        }
    }
}
