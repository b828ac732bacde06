// Stage histogram (for Otsu and mean + k sigma): `minmax` finds the lowest and highest valid,
// finite key (counters[0], counters[1]); `histogram` counts valid keys into bins (key - hist_min) >> hist_shift, the
// last bin taking everything above. One invocation per pixel; workgroup_id.z is the tile.
// CPU twin: src/cpu/histogram.rs.

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> tiles: array<TileDesc>;
@group(0) @binding(2) var<storage, read> samples: array<u32>;
@group(0) @binding(7) var<storage, read_write> counters: array<atomic<u32>>;
@group(0) @binding(9) var<storage, read_write> hist: array<atomic<u32>>;

// Key of pixel i of `samples` (one a word, or two: FLAG_PACK16 in common.wgsl).
fn key_at(i: u32) -> u32 {
    return sample_key(params, samples[sample_word(params, i)], i);
}

var<workgroup> wg_min: atomic<u32>;
var<workgroup> wg_max: atomic<u32>;

@compute @workgroup_size(16, 16, 1)
fn minmax(
    @builtin(global_invocation_id) gid: vec3<u32>,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    if (lid == 0u) {
        atomicStore(&wg_min, NONE);
        atomicStore(&wg_max, 0u);
    }
    workgroupBarrier();
    let t = tiles[wid.z];
    if (gid.x < t.w && gid.y < t.h) {
        let key = key_at(t.pix_off + gid.y * t.stride + gid.x);
        // f32: infinities are left out of the range (they go to the end bins of histograms).
        let inf = params.kind == KIND_F32 && (key == NEG_INF_KEY || key == POS_INF_KEY);
        if (is_valid(params, key) && !inf) {
            atomicMin(&wg_min, key);
            atomicMax(&wg_max, key);
        }
    }
    workgroupBarrier();
    if (lid == 0u) {
        let lo = atomicLoad(&wg_min);
        let hi = atomicLoad(&wg_max);
        if (lo <= hi) {
            atomicMin(&counters[0], lo);
            atomicMax(&counters[1], hi);
        }
    }
}

@compute @workgroup_size(16, 16, 1)
fn histogram(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    let t = tiles[wid.z];
    if (gid.x >= t.w || gid.y >= t.h) {
        return;
    }
    let key = key_at(t.pix_off + gid.y * t.stride + gid.x);
    if (!is_valid(params, key) || key < params.hist_min) {
        return;
    }
    let bin = min((key - params.hist_min) >> params.hist_shift, params.hist_bins - 1u);
    atomicAdd(&hist[bin], 1u);
}
