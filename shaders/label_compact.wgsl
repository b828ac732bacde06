// Stage label_compact: after all unions (a dispatch boundary), point every foreground node
// straight at its root (path compression), so later stages find a root in one read; give every
// root a compact component id (in the order invocations reach the counter, so ids differ
// between runs: the host sorts by first pixel), store it in remap[root], and initialise its
// record (when the records buffer has room for it: the count tells the host whether it had).
// Background nodes are never touched (nor read by any stage). One invocation per node;
// workgroup_id.z is the tile. CPU twin: src/cpu/label_compact.rs.

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> tiles: array<TileDesc>;
@group(0) @binding(3) var<storage, read> mask: array<u32>;
@group(0) @binding(4) var<storage, read_write> parent: array<atomic<u32>>;
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
    if (!is_fg) {
        return;
    }
    let n = t.node_off + gid.y * nw + gid.x;
    var r = atomicLoad(&parent[n]);
    if (r != n) {
        // Trees are final here: roots never change, other invocations only shorten paths
        // (atomically), so any parent read is still on the path to the same root.
        loop {
            let p = atomicLoad(&parent[r]);
            if (p == r) {
                break;
            }
            r = p;
        }
        atomicStore(&parent[n], r);
        return;
    }
    let cid = atomicAdd(&counters[0], 1u);
    remap[n] = cid;
    // The records are sized for the components a batch is expected to have; past them, the
    // count still grows and the host runs the batch again with room for all.
    if (cid >= arrayLength(&records) / REC_WORDS) {
        return;
    }
    let rec = cid * REC_WORDS;
    records[rec + R_AREA] = 0u;
    records[rec + R_X0] = NONE;
    records[rec + R_Y0] = NONE;
    records[rec + R_X1] = 0u;
    records[rec + R_Y1] = 0u;
    records[rec + R_FIRST] = NONE;
    records[rec + R_MAX] = 0u;
    records[rec + R_SUM_LO] = 0u;
    records[rec + R_SUM_HI] = 0u;
    records[rec + R_SX_LO] = 0u;
    records[rec + R_SX_HI] = 0u;
    records[rec + R_SY_LO] = 0u;
    records[rec + R_SY_HI] = 0u;
    records[rec + R_TILE] = wid.z;
    for (var i = R_SXX_LO; i < REC_WORDS; i++) {
        records[rec + i] = 0u;
    }
}
