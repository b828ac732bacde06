// Stage mask: sample order keys -> one 4-bit mask per 2x2 block (bit dy*2+dx set when pixel
// (2bx+dx, 2by+dy) is a target: at or above the threshold, valid, and water when a water plane
// is bound), and the block's foreground union-find nodes made roots (the start of labelling:
// no separate pass writes every node). One invocation per block; workgroup_id.z is the tile.
// (With CFAR, stage cfar writes the masks and roots instead.)
// CPU twin: src/cpu/mask.rs.

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> tiles: array<TileDesc>;
@group(0) @binding(2) var<storage, read> samples: array<u32>;
@group(0) @binding(3) var<storage, read_write> mask: array<u32>;
@group(0) @binding(4) var<storage, read_write> parent: array<u32>;
@group(0) @binding(11) var<storage, read> water: array<u32>;

// Key of pixel i of `samples` (one a word, or two: FLAG_PACK16 in common.wgsl).
fn key_at(i: u32) -> u32 {
    return sample_key(params, samples[sample_word(params, i)], i);
}

// Make the foreground nodes of block (bx, by) of tile t roots (parent[n] = n), where
// label_merge starts from; background nodes are never read, so they are left as they are.
// The same function as in cfar.wgsl (it writes this module's `parent` binding, so it cannot
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

@compute @workgroup_size(16, 16, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    let t = tiles[wid.z];
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
            if (x < t.w && y < t.h) {
                let i = t.pix_off + y * t.stride + x;
                let land = (params.flags & FLAG_WATER) != 0u && !plane_bit(water[i >> 5u], i);
                if (!land && is_target(params, key_at(i))) {
                    bits |= 1u << (dy * 2u + dx);
                }
            }
        }
    }
    mask[t.blk_off + gid.y * bw + gid.x] = bits;
    init_nodes(t, gid.x, gid.y, bits);
}
