// Stage label_init: every union-find node starts as its own root (parent[n] = n, in batch-wide
// node indices). A node is a 2x2 block for 8-connectivity and a pixel for 4-connectivity.
// One invocation per node; workgroup_id.z is the tile. CPU twin: src/cpu/label_init.rs.

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> tiles: array<TileDesc>;
@group(0) @binding(4) var<storage, read_write> parent: array<u32>;

@compute @workgroup_size(16, 16, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    let t = tiles[wid.z];
    let nd = node_dims(params, t);
    let nw = nd.x;
    if (gid.x >= nw || gid.y >= nd.y) {
        return;
    }
    let n = t.node_off + gid.y * nw + gid.x;
    parent[n] = n;
}
