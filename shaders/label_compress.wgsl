// Stage label_compress: after all unions (a dispatch boundary), point every node straight at
// its root, so later stages find a root in one read. One invocation per node; workgroup_id.z
// is the tile. CPU twin: src/cpu/label_compress.rs.

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> tiles: array<TileDesc>;
@group(0) @binding(4) var<storage, read_write> parent: array<atomic<u32>>;

@compute @workgroup_size(16, 16, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    let t = tiles[wid.z];
    let nd = node_dims(params, t);
    let nw = nd.x;
    if (gid.x >= nw || gid.y >= nd.y) {
        return;
    }
    let n0 = t.node_off + gid.y * nw + gid.x;
    var r = atomicLoad(&parent[n0]);
    if (r == n0) {
        return;
    }
    // Trees are final here; other invocations only shorten paths (atomically), never change
    // roots, so any parent read is still on the path to the same root.
    loop {
        let p = atomicLoad(&parent[r]);
        if (p == r) {
            break;
        }
        r = p;
    }
    atomicStore(&parent[n0], r);
}
