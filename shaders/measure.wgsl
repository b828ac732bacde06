// Stage measure: accumulate every target pixel into its component's record: area, bounding
// box, first pixel (raster order, tile-local), max key, and 64-bit sums of values and of x and
// y (for the centroid) and of x*x, y*y and x*y (second moments: length, width, heading), each
// sum kept as lo/hi u32 words with carry, so totals are exact and
// independent of the order of the atomics. One invocation per 2x2 block: the block's pixels
// are combined first, so a block of one component costs one set of atomics.
// workgroup_id.z is the tile. CPU twin: src/cpu/measure.rs.

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> tiles: array<TileDesc>;
@group(0) @binding(2) var<storage, read> samples: array<u32>;
@group(0) @binding(3) var<storage, read> mask: array<u32>;
@group(0) @binding(4) var<storage, read> parent: array<u32>;
@group(0) @binding(5) var<storage, read> remap: array<u32>;
@group(0) @binding(6) var<storage, read_write> records: array<atomic<u32>>;

// Key of pixel i of `samples` (one a word, or two: FLAG_PACK16 in common.wgsl).
fn key_at(i: u32) -> u32 {
    return sample_key(params, samples[sample_word(params, i)], i);
}

// The value a pixel adds to its component's sum, as a two's-complement 64-bit (lo, hi) pair.
// Integer kinds add their value; f32 adds trunc(v * 2^s), 2^s = params.sum_scale (chosen per
// scene so no finite value reaches 2^31; infinities saturate). See src/sample.rs.
fn addend(key: u32) -> vec2<u32> {
    if (params.kind == KIND_I16) {
        let v = bitcast<i32>(key ^ 0x80000000u);
        return vec2<u32>(bitcast<u32>(v), select(0u, NONE, v < 0));
    }
    if (params.kind == KIND_F32) {
        var bits = ~key;
        if ((key & 0x80000000u) != 0u) {
            bits = key & 0x7FFFFFFFu;
        }
        // Scaling by a power of two is exact; |w| < 1 truncates to 0 whether or not the
        // device flushes denormals.
        let w = clamp(bitcast<f32>(bits) * bitcast<f32>(params.sum_scale), -2147483520.0, 2147483520.0);
        let q = i32(w); // truncates toward zero
        return vec2<u32>(bitcast<u32>(q), select(0u, NONE, q < 0));
    }
    return vec2<u32>(key, 0u);
}

fn add64(i: u32, v: vec2<u32>) {
    var carry = 0u;
    if (v.x != 0u) {
        let old = atomicAdd(&records[i], v.x);
        carry = select(0u, 1u, old + v.x < old);
    }
    let hi = v.y + carry;
    if (hi != 0u) {
        atomicAdd(&records[i + 1u], hi);
    }
}

// Partial record of one component inside one block.
struct Acc {
    cid: u32,
    area: u32,
    x0: u32,
    y0: u32,
    x1: u32,
    y1: u32,
    first: u32,
    max_key: u32,
    sum: vec2<u32>,
    sx: u32,
    sy: u32,
    sxx: vec2<u32>,
    syy: vec2<u32>,
    sxy: vec2<u32>,
}

// 64-bit (lo, hi) + u32, with carry.
fn add_wide(a: vec2<u32>, v: u32) -> vec2<u32> {
    let lo = a.x + v;
    return vec2<u32>(lo, a.y + select(0u, 1u, lo < v));
}

fn acc_new(cid: u32) -> Acc {
    let z = vec2<u32>(0u, 0u);
    return Acc(cid, 0u, NONE, NONE, 0u, 0u, NONE, 0u, z, 0u, 0u, z, z, z);
}

fn acc_flush(a: Acc) {
    // Components past the records buffer are not measured (label_compact).
    if (a.area == 0u || a.cid >= arrayLength(&records) / REC_WORDS) {
        return;
    }
    let r = a.cid * REC_WORDS;
    atomicAdd(&records[r + R_AREA], a.area);
    atomicMin(&records[r + R_X0], a.x0);
    atomicMin(&records[r + R_Y0], a.y0);
    atomicMax(&records[r + R_X1], a.x1);
    atomicMax(&records[r + R_Y1], a.y1);
    atomicMin(&records[r + R_FIRST], a.first);
    atomicMax(&records[r + R_MAX], a.max_key);
    add64(r + R_SUM_LO, a.sum);
    add64(r + R_SX_LO, vec2<u32>(a.sx, 0u));
    add64(r + R_SY_LO, vec2<u32>(a.sy, 0u));
    add64(r + R_SXX_LO, a.sxx);
    add64(r + R_SYY_LO, a.syy);
    add64(r + R_SXY_LO, a.sxy);
}

@compute @workgroup_size(16, 16, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    let t = tiles[wid.z];
    let bw = (t.w + 1u) / 2u;
    let bh = (t.h + 1u) / 2u;
    if (gid.x >= bw || gid.y >= bh) {
        return;
    }
    let b = gid.y * bw + gid.x;
    let m = mask[t.blk_off + b];
    if (m == 0u) {
        return;
    }
    var acc = acc_new(NONE);
    // Raster order inside the block: top-left, top-right, bottom-left, bottom-right.
    for (var i = 0u; i < 4u; i++) {
        if (((m >> i) & 1u) == 0u) {
            continue;
        }
        let x = gid.x * 2u + (i & 1u);
        let y = gid.y * 2u + (i >> 1u);
        var node = t.node_off + b;
        if (params.connectivity != 8u) {
            node = t.node_off + y * t.w + x;
        }
        let cid = remap[parent[node]];
        if (cid != acc.cid) {
            acc_flush(acc);
            acc = acc_new(cid);
        }
        let key = key_at(t.pix_off + y * t.stride + x);
        // Block values: at most 4 addends, each < 2^64 in magnitude; add with carry.
        let v = addend(key);
        let lo = acc.sum.x + v.x;
        acc.sum = vec2<u32>(lo, acc.sum.y + v.y + select(0u, 1u, lo < v.x));
        acc.area += 1u;
        acc.x0 = min(acc.x0, x);
        acc.y0 = min(acc.y0, y);
        acc.x1 = max(acc.x1, x);
        acc.y1 = max(acc.y1, y);
        acc.first = min(acc.first, y * t.w + x);
        acc.max_key = max(acc.max_key, key);
        acc.sx += x;
        acc.sy += y;
        // Tile sides are below 2^16 (tiling::max_tile_side), so each product fits a u32.
        acc.sxx = add_wide(acc.sxx, x * x);
        acc.syy = add_wide(acc.syy, y * y);
        acc.sxy = add_wide(acc.sxy, x * y);
    }
    acc_flush(acc);
}
