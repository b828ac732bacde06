// Stage cfar_rows, first half of the two-parameter CFAR: for every row of a tile's extended
// rectangle (the tile and its halo) and every column of the tile, the count, sum and sum of
// squares of the CFAR levels of the counted pixels (valid, and set in the plane at binding 11
// when FLAG_WATER: the water, or with a censored CFAR the water minus the first pass's grown
// targets; stage cfar reads the water plane itself) in the row segment of the guard window (2 cfar_rg + 1 wide) and of the background
// window (2 cfar_rb + 1 wide) centred on the column, clipped to the rectangle. Integers only:
// a level is < 2^16, its square < 2^32, a segment's sum of squares a 64-bit (lo, hi) pair, so
// the result is exact and the same in any order. stage cfar (shaders/cfar.wgsl) adds the rows.
// One invocation per (column, extended row); workgroup_id.z is the tile.
// CPU twin: src/cpu/cfar_rows.rs.

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> tiles: array<TileDesc>;
@group(0) @binding(2) var<storage, read> samples: array<u32>;
@group(0) @binding(10) var<storage, read> cfar: array<CfarTile>;
@group(0) @binding(11) var<storage, read> water: array<u32>;
@group(0) @binding(12) var<storage, read_write> rowsums: array<u32>;

// Pixel `i` of `samples` enters CFAR statistics: valid, and set in the ring plane when bound.
fn counted(i: u32, key: u32) -> bool {
    if (!is_valid(params, key)) {
        return false;
    }
    if ((params.flags & FLAG_WATER) != 0u && !plane_bit(water[i >> 5u], i)) {
        return false;
    }
    return true;
}

@compute @workgroup_size(16, 16, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    let t = tiles[wid.z];
    let c = cfar[wid.z];
    if (gid.x >= t.w || gid.y >= c.ext_h) {
        return;
    }
    let rg = params.cfar_rg;
    let rb = params.cfar_rb;
    let xc = c.cx + gid.x;
    let lo = select(0u, xc - rb, xc >= rb);
    let hi = min(xc + rb + 1u, c.ext_w);
    var gn = 0u;
    var gs = 0u;
    var gq = vec2<u32>(0u, 0u);
    var bn = 0u;
    var bs = 0u;
    var bq = vec2<u32>(0u, 0u);
    let row = c.ext_off + gid.y * c.stride;
    for (var xx = lo; xx < hi; xx++) {
        let i = row + xx;
        let key = samples[i];
        if (!counted(i, key)) {
            continue;
        }
        let v = level(params, key);
        let q = vec2<u32>(v * v, 0u);
        bn += 1u;
        bs += v;
        bq = u64_add(bq, q);
        if (xx + rg >= xc && xx <= xc + rg) {
            gn += 1u;
            gs += v;
            gq = u64_add(gq, q);
        }
    }
    let o = (c.sum_off + gid.y * t.w + gid.x) * CFAR_ROW_WORDS;
    rowsums[o] = gn;
    rowsums[o + 1u] = gs;
    rowsums[o + 2u] = gq.x;
    rowsums[o + 3u] = gq.y;
    rowsums[o + 4u] = bn;
    rowsums[o + 5u] = bs;
    rowsums[o + 6u] = bq.x;
    rowsums[o + 7u] = bq.y;
}
