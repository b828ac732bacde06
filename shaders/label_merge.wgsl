// Stage label_merge: join each foreground node with its foreground neighbours above and to the
// left (block-based union-find, BUF of Allegretti, Bolelli and Grana 2020, for 8-connectivity;
// pixel union-find for 4-connectivity). A union links the larger root under the smaller with
// atomicMin and retries when another invocation got there first: lock-free, every retry is
// caused by some other invocation's success, so no workgroup waits on another.
// One invocation per node; workgroup_id.z is the tile. CPU twin: src/cpu/label_merge.rs.

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> tiles: array<TileDesc>;
@group(0) @binding(3) var<storage, read> mask: array<u32>;
@group(0) @binding(4) var<storage, read_write> parent: array<atomic<u32>>;

fn find_root(n0: u32) -> u32 {
    var n = n0;
    loop {
        let p = atomicLoad(&parent[n]);
        if (p == n) {
            return n;
        }
        n = p;
    }
    return n;
}

fn union_nodes(a0: u32, b0: u32) {
    var a = find_root(a0);
    var b = find_root(b0);
    loop {
        if (a == b) {
            return;
        }
        // Link the larger root under the smaller.
        if (a < b) {
            let tmp = a;
            a = b;
            b = tmp;
        }
        let old = atomicMin(&parent[a], b);
        if (old == a) {
            return;
        }
        // `a` was linked elsewhere meanwhile: retry from its new parent.
        a = find_root(old);
        b = find_root(b);
    }
}

// Pixel (x, y) of tile t is a target (read from the block masks).
fn fg(t: TileDesc, bw: u32, x: u32, y: u32) -> bool {
    let m = mask[t.blk_off + (y / 2u) * bw + x / 2u];
    return ((m >> ((y & 1u) * 2u + (x & 1u))) & 1u) != 0u;
}

@compute @workgroup_size(16, 16, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    let t = tiles[wid.z];
    let bw = (t.w + 1u) / 2u;
    let bh = (t.h + 1u) / 2u;
    if (params.connectivity == 8u) {
        let bx = gid.x;
        let by = gid.y;
        if (bx >= bw || by >= bh) {
            return;
        }
        let b = by * bw + bx;
        let m = mask[t.blk_off + b];
        if (m == 0u) {
            return;
        }
        let n = t.node_off + b;
        // Bits: 1 = top-left, 2 = top-right, 4 = bottom-left, 8 = bottom-right.
        if (bx > 0u) {
            let ml = mask[t.blk_off + b - 1u];
            if ((m & 5u) != 0u && (ml & 10u) != 0u) {
                union_nodes(n, n - 1u);
            }
        }
        if (by > 0u) {
            let mu = mask[t.blk_off + b - bw];
            if ((m & 3u) != 0u && (mu & 12u) != 0u) {
                union_nodes(n, n - bw);
            }
            if (bx > 0u) {
                let mul = mask[t.blk_off + b - bw - 1u];
                if ((m & 1u) != 0u && (mul & 8u) != 0u) {
                    union_nodes(n, n - bw - 1u);
                }
            }
            if (bx + 1u < bw) {
                let mur = mask[t.blk_off + b - bw + 1u];
                if ((m & 2u) != 0u && (mur & 4u) != 0u) {
                    union_nodes(n, n - bw + 1u);
                }
            }
        }
    } else {
        let x = gid.x;
        let y = gid.y;
        if (x >= t.w || y >= t.h) {
            return;
        }
        if (!fg(t, bw, x, y)) {
            return;
        }
        let n = t.node_off + y * t.w + x;
        if (x > 0u && fg(t, bw, x - 1u, y)) {
            union_nodes(n, n - 1u);
        }
        if (y > 0u && fg(t, bw, x, y - 1u)) {
            union_nodes(n, n - t.w);
        }
    }
}
