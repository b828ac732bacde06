//! Union-find (disjoint sets) over `0..n`, with path halving and the smaller index always the
//! root, so the forest is the same whatever the order of the unions. The host's one
//! union-find: the seam merge of tile labels (`seams`), eval's matching by components
//! (`eval::matching`) and the assignment by components (`eval::hungarian`). The CPU labelling
//! twin (`cpu::label_merge`) keeps its own, written as its WGSL kernel is, and the water mask's
//! forest (`water::components`) carries each component's runs and box.

/// Disjoint sets of `0..len()`.
#[derive(Debug, Clone, Default)]
pub struct UnionFind {
    parent: Vec<u32>,
}

impl UnionFind {
    /// `n` singletons (`n` below 2^32).
    pub fn new(n: usize) -> UnionFind {
        let mut uf = UnionFind::default();
        uf.grow_to(n);
        uf
    }

    /// Elements so far.
    pub fn len(&self) -> usize {
        self.parent.len()
    }

    pub fn is_empty(&self) -> bool {
        self.parent.is_empty()
    }

    /// Adds singletons up to `n` elements (no change when there are as many already).
    pub fn grow_to(&mut self, n: usize) {
        let n = u32::try_from(n).expect("union-find of fewer than 2^32 elements");
        let n0 = self.parent.len() as u32;
        self.parent.extend(n0..n.max(n0));
    }

    /// The root of `a`'s set (halving the path on the way).
    pub fn find(&mut self, mut a: u32) -> u32 {
        while self.parent[a as usize] != a {
            let p = self.parent[a as usize];
            self.parent[a as usize] = self.parent[p as usize];
            a = p;
        }
        a
    }

    /// Joins the sets of `a` and `b`, the smaller root becoming the root of both; false when
    /// they were one set already.
    pub fn union(&mut self, a: u32, b: u32) -> bool {
        let (a, b) = (self.find(a), self.find(b));
        if a == b {
            return false;
        }
        let (lo, hi) = (a.min(b), a.max(b));
        self.parent[hi as usize] = lo;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smaller_root_whatever_the_order() {
        for order in [[(3, 1), (1, 5), (7, 5)], [(7, 5), (1, 5), (3, 1)]] {
            let mut uf = UnionFind::new(8);
            for (a, b) in order {
                assert!(uf.union(a, b));
            }
            assert!(!uf.union(3, 7));
            let roots: Vec<u32> = (0..8).map(|i| uf.find(i)).collect();
            assert_eq!(roots, [0, 1, 2, 1, 4, 1, 6, 1]);
        }
        let mut uf = UnionFind::new(2);
        uf.grow_to(4);
        uf.grow_to(3);
        assert_eq!(uf.len(), 4);
        assert!(uf.union(3, 2));
        assert_eq!(uf.find(3), 2);
    }
}
