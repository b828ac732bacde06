// Stage seam_export: write the component id (or NONE for background) of every pixel on a
// tile's border, so the host can join components across tile seams (src/seams.rs) without
// reading back the label image. Border order: top row, bottom row, left column, right column.
// One invocation per border pixel; workgroup_id.z is the tile. CPU twin: src/cpu/seam_export.rs.

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> tiles: array<TileDesc>;
@group(0) @binding(3) var<storage, read> mask: array<u32>;
@group(0) @binding(4) var<storage, read> parent: array<u32>;
@group(0) @binding(5) var<storage, read> remap: array<u32>;
@group(0) @binding(8) var<storage, read_write> border: array<u32>;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    let t = tiles[wid.z];
    let i = gid.x;
    if (i >= 2u * (t.w + t.h)) {
        return;
    }
    var x = 0u;
    var y = 0u;
    if (i < t.w) {
        x = i;
    } else if (i < 2u * t.w) {
        x = i - t.w;
        y = t.h - 1u;
    } else if (i < 2u * t.w + t.h) {
        y = i - 2u * t.w;
    } else {
        x = t.w - 1u;
        y = i - 2u * t.w - t.h;
    }
    let bw = (t.w + 1u) / 2u;
    let m = mask[t.blk_off + (y / 2u) * bw + x / 2u];
    var label = NONE;
    if (((m >> ((y & 1u) * 2u + (x & 1u))) & 1u) != 0u) {
        var node = t.node_off + (y / 2u) * bw + x / 2u;
        if (params.connectivity != 8u) {
            node = t.node_off + y * t.w + x;
        }
        label = remap[parent[node]];
    }
    border[t.border_off + i] = label;
}
