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
    _pad1: u32,
    _pad2: u32,
}

const FLAG_NODATA: u32 = 1u;
const FLAG_NAN: u32 = 2u;
const FLAG_NONE: u32 = 4u;
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
