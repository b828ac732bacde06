// Stage cfar, second half of the two-parameter CFAR: adds the row sums of shaders/cfar_rows.wgsl
// down each column into the guard window's and the background window's count N, sum S and sum
// of squares Q, takes the ring between them (background minus guard) and marks pixel x a target
// when
//     x N - S > k sqrt(N Q - S^2)        (x - mean > k std over the ring)
// decided exactly in integers: with L = x N - S > 0 and k = cfar_k256 / 256,
//     L^2 * 2^16 > cfar_k256^2 * (N Q - S^2)
// in 128-bit arithmetic (limbs of u32), so it equals its twin to the bit. A target must also be
// counted (valid, water), at or above the threshold key (a floor), and have at least
// cfar_min_n ring pixels. Writes the 4-bit block masks, and makes the blocks' foreground
// union-find nodes roots, as stage mask does otherwise.
// One invocation per block column (two pixel columns) and chunk of CHUNK block rows: it adds
// the row sums of the windows of the chunk's first row, then slides them down one row at a
// time (the entering row added, the leaving one subtracted), so each pixel costs O(1), not
// O(window); sliding is exact (the same integers as adding each window afresh).
// workgroup_id.z is the tile.
// CPU twin: src/cpu/cfar.rs (adds each window directly; same integers).

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> tiles: array<TileDesc>;
@group(0) @binding(2) var<storage, read> samples: array<u32>;
@group(0) @binding(3) var<storage, read_write> mask: array<u32>;
@group(0) @binding(4) var<storage, read_write> parent: array<u32>;
@group(0) @binding(10) var<storage, read> cfar: array<CfarTile>;
@group(0) @binding(11) var<storage, read> water: array<u32>;
@group(0) @binding(12) var<storage, read> rowsums: array<u32>;

// Key of pixel i of `samples` (one a word, or two: FLAG_PACK16 in common.wgsl).
fn key_at(i: u32) -> u32 {
    return sample_key(params, samples[sample_word(params, i)], i);
}

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

// Block rows per invocation (src/engine/gpu.rs dispatches ceil(blocks_h / CHUNK) along y).
const CHUNK: u32 = 32u;

// Guard and background sums of one pixel's windows: count, sum, sum of squares.
struct Sums {
    gn: u32,
    gs: u32,
    gq: vec2<u32>,
    bn: u32,
    bs: u32,
    bq: vec2<u32>,
}

// Add row-sum entry `e` (its guard part when `guard`, its background part when `back`) to
// `p`, or with `add` false subtract it.
fn sums_step(p: ptr<function, Sums>, e: u32, guard: bool, back: bool, add: bool) {
    if (guard) {
        let q = vec2<u32>(rowsums[e + 2u], rowsums[e + 3u]);
        if (add) {
            (*p).gn += rowsums[e];
            (*p).gs += rowsums[e + 1u];
            (*p).gq = u64_add((*p).gq, q);
        } else {
            (*p).gn -= rowsums[e];
            (*p).gs -= rowsums[e + 1u];
            (*p).gq = u64_sub((*p).gq, q);
        }
    }
    if (back) {
        let q = vec2<u32>(rowsums[e + 6u], rowsums[e + 7u]);
        if (add) {
            (*p).bn += rowsums[e + 4u];
            (*p).bs += rowsums[e + 5u];
            (*p).bq = u64_add((*p).bq, q);
        } else {
            (*p).bn -= rowsums[e + 4u];
            (*p).bs -= rowsums[e + 5u];
            (*p).bq = u64_sub((*p).bq, q);
        }
    }
}

// Row-sum entry of extended row r, tile column x.
fn entry(t: TileDesc, c: CfarTile, r: u32, x: u32) -> u32 {
    return (c.sum_off + r * t.w + x) * CFAR_ROW_WORDS;
}

// The windows of tile pixel (x, y), added directly.
fn sums_at(t: TileDesc, c: CfarTile, x: u32, y: u32) -> Sums {
    var p = Sums(0u, 0u, vec2<u32>(0u, 0u), 0u, 0u, vec2<u32>(0u, 0u));
    let rg = params.cfar_rg;
    let rb = params.cfar_rb;
    let ey = c.cy + y;
    let lo = select(0u, ey - rb, ey >= rb);
    let hi = min(ey + rb + 1u, c.ext_h);
    for (var r = lo; r < hi; r++) {
        sums_step(&p, entry(t, c, r, x), r + rg >= ey && r <= ey + rg, true, true);
    }
    return p;
}

// Move the windows of column x from tile row y - 1 to y.
fn sums_slide(p: ptr<function, Sums>, t: TileDesc, c: CfarTile, x: u32, y: u32) {
    let ey = c.cy + y;
    for (var k = 0u; k < 2u; k++) {
        let r = select(params.cfar_rb, params.cfar_rg, k == 0u);
        let guard = k == 0u;
        if (ey + r < c.ext_h) {
            sums_step(p, entry(t, c, ey + r, x), guard, !guard, true);
        }
        if (ey >= r + 1u) {
            sums_step(p, entry(t, c, ey - r - 1u, x), guard, !guard, false);
        }
    }
}

fn cfar_target(t: TileDesc, c: CfarTile, x: u32, y: u32, w: Sums) -> bool {
    if ((params.flags & FLAG_NONE) != 0u) {
        return false;
    }
    let i = t.pix_off + y * t.stride + x;
    let key = key_at(i);
    if (!counted(i, key) || key < params.threshold_key) {
        return false;
    }
    let n = w.bn - w.gn;
    let s = w.bs - w.gs;
    let q = u64_sub(w.bq, w.gq);
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

// Make the foreground nodes of block (bx, by) of tile t roots (parent[n] = n), where
// label_merge starts from; background nodes are never read, so they are left as they are.
// The same function as in mask.wgsl (it writes this module's `parent` binding, so it cannot
// live in common.wgsl, which every kernel includes).
fn init_nodes(t: TileDesc, bx: u32, by: u32, bits: u32) {
    if (params.connectivity == 8u) {
        if (bits != 0u) {
            let n = node_of(params, t, bx * 2u, by * 2u);
            parent[n] = n;
        }
        return;
    }
    for (var i = 0u; i < 4u; i++) {
        if (((bits >> i) & 1u) != 0u) {
            let n = node_of(params, t, bx * 2u + (i & 1u), by * 2u + (i >> 1u));
            parent[n] = n;
        }
    }
}

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    let t = tiles[wid.z];
    let c = cfar[wid.z];
    let bw = (t.w + 1u) / 2u;
    let bh = (t.h + 1u) / 2u;
    let bx = gid.x;
    let by0 = gid.y * CHUNK;
    if (bx >= bw || by0 >= bh) {
        return;
    }
    let by1 = min(by0 + CHUNK, bh);
    let x0 = bx * 2u;
    let two = x0 + 1u < t.w;
    var w0 = sums_at(t, c, x0, by0 * 2u);
    var w1 = w0;
    if (two) {
        w1 = sums_at(t, c, x0 + 1u, by0 * 2u);
    }
    for (var by = by0; by < by1; by++) {
        var bits = 0u;
        for (var dy = 0u; dy < 2u; dy++) {
            let y = by * 2u + dy;
            if (y >= t.h) {
                break;
            }
            if (y > by0 * 2u) {
                sums_slide(&w0, t, c, x0, y);
                if (two) {
                    sums_slide(&w1, t, c, x0 + 1u, y);
                }
            }
            if (cfar_target(t, c, x0, y, w0)) {
                bits |= 1u << (dy * 2u);
            }
            if (two && cfar_target(t, c, x0 + 1u, y, w1)) {
                bits |= 1u << (dy * 2u + 1u);
            }
        }
        mask[t.blk_off + by * bw + bx] = bits;
        init_nodes(t, bx, by, bits);
    }
}
