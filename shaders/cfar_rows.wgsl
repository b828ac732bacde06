// Stage cfar_rows, first half of the two-parameter CFAR: for every row of a tile's extended
// rectangle (the tile and its halo) and every column of the tile, the count, sum and sum of
// squares of the CFAR levels of the counted pixels (valid, and set in the plane at binding 11
// when FLAG_WATER: the water, or with a censored CFAR the water minus the first pass's grown
// targets; stage cfar reads the water plane itself) in the row segment of the guard window (2 cfar_rg + 1 wide) and of the background
// window (2 cfar_rb + 1 wide) centred on the column, clipped to the rectangle. Integers only:
// a level is < 2^16, its square < 2^32, a segment's sum of squares a 64-bit (lo, hi) pair, so
// the result is exact and the same in any order. stage cfar (shaders/cfar.wgsl) adds the rows.
// One invocation per extended row and chunk of CHUNK columns: it sums the windows of the
// chunk's first column, then slides them one column at a time (the pixel entering on the right
// added, the one leaving on the left subtracted), so each pixel costs O(1), not O(window).
// Sliding is exact: the same integers as summing each window afresh (sums of squares wrap
// modulo 2^64 and end within range). workgroup_id.z is the tile.
// CPU twin: src/cpu/cfar_rows.rs (sums each window directly; same integers).

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> tiles: array<TileDesc>;
@group(0) @binding(2) var<storage, read> samples: array<u32>;
@group(0) @binding(10) var<storage, read> cfar: array<CfarTile>;
@group(0) @binding(11) var<storage, read> water: array<u32>;
@group(0) @binding(12) var<storage, read_write> rowsums: array<u32>;

// Key of pixel i of `samples` (one a word, or two: FLAG_PACK16 in common.wgsl).
fn key_at(i: u32) -> u32 {
    return sample_key(params, samples[sample_word(params, i)], i);
}

// Columns per invocation (src/engine/gpu.rs dispatches ceil(w / CHUNK) along y).
const CHUNK: u32 = 64u;

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

// Count, sum and sum of squares of the levels in one window.
struct Win {
    n: u32,
    s: u32,
    q: vec2<u32>,
}

// Add the pixel at `i` to the window (or with `add` false remove it), if counted.
fn win_step(w: ptr<function, Win>, i: u32, add: bool) {
    let key = key_at(i);
    if (!counted(i, key)) {
        return;
    }
    let v = level(params, key);
    let q = vec2<u32>(v * v, 0u);
    if (add) {
        (*w).n += 1u;
        (*w).s += v;
        (*w).q = u64_add((*w).q, q);
    } else {
        (*w).n -= 1u;
        (*w).s -= v;
        (*w).q = u64_sub((*w).q, q);
    }
}

// The window of half-width r around extended column xc, summed directly.
fn win_at(row: u32, xc: u32, r: u32, ext_w: u32) -> Win {
    var w = Win(0u, 0u, vec2<u32>(0u, 0u));
    let lo = select(0u, xc - r, xc >= r);
    let hi = min(xc + r + 1u, ext_w);
    for (var xx = lo; xx < hi; xx++) {
        win_step(&w, row + xx, true);
    }
    return w;
}

// Move the window of half-width r from extended column xc - 1 to xc.
fn win_slide(w: ptr<function, Win>, row: u32, xc: u32, r: u32, ext_w: u32) {
    if (xc + r < ext_w) {
        win_step(w, row + xc + r, true);
    }
    if (xc >= r + 1u) {
        win_step(w, row + xc - r - 1u, false);
    }
}

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    let t = tiles[wid.z];
    let c = cfar[wid.z];
    let y = gid.x;
    let x0 = gid.y * CHUNK;
    if (y >= c.ext_h || x0 >= t.w) {
        return;
    }
    let x1 = min(x0 + CHUNK, t.w);
    let rg = params.cfar_rg;
    let rb = params.cfar_rb;
    let row = c.ext_off + y * c.stride;
    var g = win_at(row, c.cx + x0, rg, c.ext_w);
    var b = win_at(row, c.cx + x0, rb, c.ext_w);
    for (var x = x0; x < x1; x++) {
        if (x > x0) {
            win_slide(&g, row, c.cx + x, rg, c.ext_w);
            win_slide(&b, row, c.cx + x, rb, c.ext_w);
        }
        let o = (c.sum_off + y * t.w + x) * CFAR_ROW_WORDS;
        rowsums[o] = g.n;
        rowsums[o + 1u] = g.s;
        rowsums[o + 2u] = g.q.x;
        rowsums[o + 3u] = g.q.y;
        rowsums[o + 4u] = b.n;
        rowsums[o + 5u] = b.s;
        rowsums[o + 6u] = b.q.x;
        rowsums[o + 7u] = b.q.y;
    }
}
