// Stage label_compact: give every root of a foreground node a compact component id (in the
// order invocations reach the counter, so ids differ between runs: the host sorts by first
// pixel), store it in remap[root], and initialise its record. One invocation per node;
// workgroup_id.z is the tile. CPU twin: src/cpu/label_compact.rs.

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> tiles: array<TileDesc>;
@group(0) @binding(3) var<storage, read> mask: array<u32>;
@group(0) @binding(4) var<storage, read> parent: array<u32>;
@group(0) @binding(5) var<storage, read_write> remap: array<u32>;
@group(0) @binding(6) var<storage, read_write> records: array<u32>;
@group(0) @binding(7) var<storage, read_write> counters: array<atomic<u32>>;

@compute @workgroup_size(16, 16, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    let t = tiles[wid.z];
    let bw = (t.w + 1u) / 2u;
    var nw = t.w;
    var nh = t.h;
    var is_fg = false;
    if (params.connectivity == 8u) {
        nw = bw;
        nh = (t.h + 1u) / 2u;
        if (gid.x >= nw || gid.y >= nh) {
            return;
        }
        is_fg = mask[t.blk_off + gid.y * bw + gid.x] != 0u;
    } else {
        if (gid.x >= nw || gid.y >= nh) {
            return;
        }
        let m = mask[t.blk_off + (gid.y / 2u) * bw + gid.x / 2u];
        is_fg = ((m >> ((gid.y & 1u) * 2u + (gid.x & 1u))) & 1u) != 0u;
    }
    let n = t.node_off + gid.y * nw + gid.x;
    if (!is_fg || parent[n] != n) {
        return;
    }
    let cid = atomicAdd(&counters[0], 1u);
    remap[n] = cid;
    let r = cid * REC_WORDS;
    records[r + R_AREA] = 0u;
    records[r + R_X0] = NONE;
    records[r + R_Y0] = NONE;
    records[r + R_X1] = 0u;
    records[r + R_Y1] = 0u;
    records[r + R_FIRST] = NONE;
    records[r + R_MAX] = 0u;
    records[r + R_SUM_LO] = 0u;
    records[r + R_SUM_HI] = 0u;
    records[r + R_SX_LO] = 0u;
    records[r + R_SX_HI] = 0u;
    records[r + R_SY_LO] = 0u;
    records[r + R_SY_HI] = 0u;
    records[r + R_TILE] = wid.z;
    for (var i = R_SXX_LO; i < REC_WORDS; i++) {
        records[r + i] = 0u;
    }
    records[r + 14u] = 0u;
    records[r + 15u] = 0u;
}
