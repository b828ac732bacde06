// Stage cfar, second half of the two-parameter CFAR: adds the row sums of shaders/cfar_rows.wgsl
// down each column into the guard window's and the background window's count N, sum S and sum
// of squares Q, takes the ring between them (background minus guard) and marks pixel x a target
// when
//     x N - S > k sqrt(N Q - S^2)        (x - mean > k std over the ring)
// decided exactly in integers: with L = x N - S > 0 and k = cfar_k256 / 256,
//     L^2 * 2^16 > cfar_k256^2 * (N Q - S^2)
// in 128-bit arithmetic (limbs of u32), so it equals its twin to the bit. A target must also be
// counted (valid, water), at or above the threshold key (a floor), and have at least
// cfar_min_n ring pixels. Writes the 4-bit block masks that stage mask writes otherwise.
// One invocation per 2x2 block of the tile; workgroup_id.z is the tile.
// CPU twin: src/cpu/cfar.rs.

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> tiles: array<TileDesc>;
@group(0) @binding(2) var<storage, read> samples: array<u32>;
@group(0) @binding(3) var<storage, read_write> mask: array<u32>;
@group(0) @binding(10) var<storage, read> cfar: array<CfarTile>;
@group(0) @binding(11) var<storage, read> water: array<u32>;
@group(0) @binding(12) var<storage, read> rowsums: array<u32>;

// As in cfar_rows.wgsl (it reads this module's `water` binding, so it cannot live in
// common.wgsl, which every kernel includes).
fn counted(i: u32, key: u32) -> bool {
    if (!is_valid(params, key)) {
        return false;
    }
    if ((params.flags & FLAG_WATER) != 0u && !plane_bit(water[i >> 5u], i)) {
        return false;
    }
    return true;
}

fn cfar_target(t: TileDesc, c: CfarTile, x: u32, y: u32) -> bool {
    if ((params.flags & FLAG_NONE) != 0u) {
        return false;
    }
    let i = t.pix_off + y * t.stride + x;
    let key = samples[i];
    if (!counted(i, key) || key < params.threshold_key) {
        return false;
    }
    let rg = params.cfar_rg;
    let rb = params.cfar_rb;
    let ey = c.cy + y;
    let lo = select(0u, ey - rb, ey >= rb);
    let hi = min(ey + rb + 1u, c.ext_h);
    var gn = 0u;
    var gs = 0u;
    var gq = vec2<u32>(0u, 0u);
    var bn = 0u;
    var bs = 0u;
    var bq = vec2<u32>(0u, 0u);
    for (var r = lo; r < hi; r++) {
        let e = (c.sum_off + r * t.w + x) * CFAR_ROW_WORDS;
        bn += rowsums[e + 4u];
        bs += rowsums[e + 5u];
        bq = u64_add(bq, vec2<u32>(rowsums[e + 6u], rowsums[e + 7u]));
        if (r + rg >= ey && r <= ey + rg) {
            gn += rowsums[e];
            gs += rowsums[e + 1u];
            gq = u64_add(gq, vec2<u32>(rowsums[e + 2u], rowsums[e + 3u]));
        }
    }
    let n = bn - gn;
    let s = bs - gs;
    let q = u64_sub(bq, gq);
    if (n == 0u || n < params.cfar_min_n) {
        return false;
    }
    let xn = level(params, key) * n;
    if (xn <= s) {
        return false;
    }
    let l = xn - s;
    let l2 = u32_mul_wide(l, l);
    let lhs = vec4<u32>(l2.x << 16u, (l2.x >> 16u) | (l2.y << 16u), l2.y >> 16u, 0u);
    let ss = u32_mul_wide(s, s);
    let v = u128_sub(u64_mul_u32(q, n), vec4<u32>(ss.x, ss.y, 0u, 0u));
    let rhs = u64_mul_u32(v.xy, params.cfar_k256 * params.cfar_k256);
    return u128_gt(lhs, rhs);
}

@compute @workgroup_size(16, 16, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    let t = tiles[wid.z];
    let c = cfar[wid.z];
    let bw = (t.w + 1u) / 2u;
    let bh = (t.h + 1u) / 2u;
    if (gid.x >= bw || gid.y >= bh) {
        return;
    }
    var bits = 0u;
    for (var dy = 0u; dy < 2u; dy++) {
        let y = gid.y * 2u + dy;
        for (var dx = 0u; dx < 2u; dx++) {
            let x = gid.x * 2u + dx;
            if (x < t.w && y < t.h && cfar_target(t, c, x, y)) {
                bits |= 1u << (dy * 2u + dx);
            }
        }
    }
    mask[t.blk_off + gid.y * bw + gid.x] = bits;
}
