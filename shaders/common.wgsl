// Shared declarations, prepended to every kernel in this folder (see src/gpu/pipelines.rs).
// Structs here are mirrored in Rust: keep in sync with src/tiling.rs (TileDesc, Params,
// REC_WORDS) and src/sample.rs (sample kinds, NAN_KEY, NEG_INF_KEY, POS_INF_KEY).

// Keep in sync with `TileDesc` in src/tiling.rs.
struct TileDesc {
    w: u32,
    h: u32,
    pix_off: u32,
    blk_off: u32,
    node_off: u32,
    border_off: u32,
    x0: u32,
    y0: u32,
    stride: u32,
}

// Keep in sync with `Params` in src/tiling.rs.
struct Params {
    threshold_key: u32,
    nodata_key: u32,
    flags: u32,
    kind: u32,
    connectivity: u32,
    n_tiles: u32,
    hist_min: u32,
    hist_shift: u32,
    hist_bins: u32,
    sum_scale: u32,
    level_min: u32,
    level_shift: u32,
    cfar_rg: u32,
    cfar_rb: u32,
    cfar_k256: u32,
    cfar_min_n: u32,
}

// Keep in sync with `CfarTile` in src/tiling.rs: a tile's extended rectangle (the tile and its
// halo) in `samples`, the tile's position in it, and its row sums' offset (in entries).
struct CfarTile {
    ext_off: u32,
    ext_w: u32,
    ext_h: u32,
    stride: u32,
    cx: u32,
    cy: u32,
    sum_off: u32,
    _pad: u32,
}

// Words of one row-sum entry (CFAR_ROW_WORDS in src/tiling.rs): guard N, S, Q lo, Q hi, then
// background N, S, Q lo, Q hi.
const CFAR_ROW_WORDS: u32 = 8u;

const FLAG_NODATA: u32 = 1u;
const FLAG_NAN: u32 = 2u;
const FLAG_NONE: u32 = 4u;
const FLAG_CFAR: u32 = 8u;
const FLAG_WATER: u32 = 16u;
const FLAG_PACK16: u32 = 32u;
const NAN_KEY: u32 = 0xFFFFFFFFu;
const NEG_INF_KEY: u32 = 0x007FFFFFu;
const POS_INF_KEY: u32 = 0xFF800000u;
const NONE: u32 = 0xFFFFFFFFu;

const KIND_U8: u32 = 0u;
const KIND_U16: u32 = 1u;
const KIND_I16: u32 = 2u;
const KIND_U32: u32 = 3u;
const KIND_F32: u32 = 4u;

// Component record layout, REC_WORDS u32 each (keep in sync with src/tiling.rs and
// src/cpu/measure.rs).
const REC_WORDS: u32 = 20u;
const R_AREA: u32 = 0u;
const R_X0: u32 = 1u;
const R_Y0: u32 = 2u;
const R_X1: u32 = 3u;
const R_Y1: u32 = 4u;
const R_FIRST: u32 = 5u;
const R_MAX: u32 = 6u;
const R_SUM_LO: u32 = 7u;
const R_SUM_HI: u32 = 8u;
const R_SX_LO: u32 = 9u;
const R_SX_HI: u32 = 10u;
const R_SY_LO: u32 = 11u;
const R_SY_HI: u32 = 12u;
const R_TILE: u32 = 13u;
// Second moments (tile-local x*x, y*y, x*y), 64-bit lo/hi.
const R_SXX_LO: u32 = 14u;
const R_SYY_LO: u32 = 16u;
const R_SXY_LO: u32 = 18u;

// Samples of 16-bit kinds (u8, u16, i16) may come two to a word (FLAG_PACK16; pack16 in
// src/engine/mod.rs): pixel i is the low half of word i / 2 when i is even, the high half when
// odd, holding key - PACK16_I16_BASE for i16 (whose keys span 0x7FFF8000..=0x80007FFF) and the
// key itself for u8 and u16. Half the bytes to upload and to read. Each kernel that reads
// samples fetches pixel i as sample_key(params, samples[sample_word(params, i)], i).
const PACK16_I16_BASE: u32 = 0x7FFF8000u;

fn sample_word(p: Params, i: u32) -> u32 {
    if ((p.flags & FLAG_PACK16) != 0u) {
        return i >> 1u;
    }
    return i;
}

fn sample_key(p: Params, word: u32, i: u32) -> u32 {
    if ((p.flags & FLAG_PACK16) == 0u) {
        return word;
    }
    let k = (word >> ((i & 1u) * 16u)) & 0xFFFFu;
    return select(k, k + PACK16_I16_BASE, p.kind == KIND_I16);
}

// Valid data: not nodata, not NaN.
fn is_valid(p: Params, key: u32) -> bool {
    if ((p.flags & FLAG_NODATA) != 0u && key == p.nodata_key) {
        return false;
    }
    if ((p.flags & FLAG_NAN) != 0u && key == NAN_KEY) {
        return false;
    }
    return true;
}

// A target pixel: valid and at or above the threshold.
fn is_target(p: Params, key: u32) -> bool {
    if ((p.flags & FLAG_NONE) != 0u) {
        return false;
    }
    return is_valid(p, key) && key >= p.threshold_key;
}

// Union-find nodes per row and column of a tile: 2x2 blocks for 8-connectivity, pixels for 4
// (TileDesc::nodes_w / nodes_h in src/tiling.rs).
fn node_dims(p: Params, t: TileDesc) -> vec2<u32> {
    if (p.connectivity == 8u) {
        return vec2<u32>((t.w + 1u) / 2u, (t.h + 1u) / 2u);
    }
    return vec2<u32>(t.w, t.h);
}

// Union-find node of pixel (x, y) of tile t (batch-wide index).
fn node_of(p: Params, t: TileDesc, x: u32, y: u32) -> u32 {
    if (p.connectivity == 8u) {
        return t.node_off + (y / 2u) * ((t.w + 1u) / 2u) + x / 2u;
    }
    return t.node_off + y * t.w + x;
}

// Bit i of a bit plane stored 32 bits a word, LSB first (the water plane: 1 = water).
fn plane_bit(word: u32, i: u32) -> bool {
    return ((word >> (i & 31u)) & 1u) != 0u;
}

// CFAR level of a key: min((key - level_min) >> level_shift, 65535), 0 below level_min
// (`level` in src/cpu/cfar_rows.rs).
fn level(p: Params, key: u32) -> u32 {
    if (key < p.level_min) {
        return 0u;
    }
    return min((key - p.level_min) >> p.level_shift, 65535u);
}

// Exact wide integers for the CFAR test (u64 as vec2 (lo, hi), u128 as vec4, lowest word
// first). Core WGSL has only 32-bit integers.

// a * b as a 64-bit (lo, hi), from 16-bit halves.
fn u32_mul_wide(a: u32, b: u32) -> vec2<u32> {
    let a0 = a & 0xFFFFu;
    let a1 = a >> 16u;
    let b0 = b & 0xFFFFu;
    let b1 = b >> 16u;
    let p00 = a0 * b0;
    let p01 = a0 * b1;
    let p10 = a1 * b0;
    let p11 = a1 * b1;
    let mid = (p00 >> 16u) + (p01 & 0xFFFFu) + (p10 & 0xFFFFu);
    let lo = (p00 & 0xFFFFu) | (mid << 16u);
    let hi = p11 + (p01 >> 16u) + (p10 >> 16u) + (mid >> 16u);
    return vec2<u32>(lo, hi);
}

fn u64_add(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> {
    let lo = a.x + b.x;
    return vec2<u32>(lo, a.y + b.y + select(0u, 1u, lo < a.x));
}

fn u64_sub(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> {
    return vec2<u32>(a.x - b.x, a.y - b.y - select(0u, 1u, a.x < b.x));
}

// (lo, hi) * b as a u128 (< 2^96).
fn u64_mul_u32(a: vec2<u32>, b: u32) -> vec4<u32> {
    let p0 = u32_mul_wide(a.x, b);
    let p1 = u32_mul_wide(a.y, b);
    let w1 = p0.y + p1.x;
    let w2 = p1.y + select(0u, 1u, w1 < p0.y);
    return vec4<u32>(p0.x, w1, w2, 0u);
}

fn u128_sub(a: vec4<u32>, b: vec4<u32>) -> vec4<u32> {
    var out: vec4<u32>;
    var borrow = 0u;
    for (var i = 0; i < 4; i++) {
        let d = a[i] - b[i];
        let b1 = select(0u, 1u, a[i] < b[i]);
        out[i] = d - borrow;
        let b2 = select(0u, 1u, d < borrow);
        borrow = b1 + b2;
    }
    return out;
}

// a > b for u128.
fn u128_gt(a: vec4<u32>, b: vec4<u32>) -> bool {
    for (var i = 3; i >= 0; i--) {
        if (a[i] != b[i]) {
            return a[i] > b[i];
        }
    }
    return false;
}
