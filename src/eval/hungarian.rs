//! Optimal one-to-one assignment: the Hungarian algorithm (Kuhn-Munkres, in the O(n^2 m)
//! shortest-augmenting-path form with row and column potentials), written here rather than
//! taken from a crate so `vesselscan eval` has no dependency for its core and its behaviour
//! on ties is fixed.
//!
//! [`min_cost_assignment`] solves the classic problem on a dense, possibly rectangular matrix:
//! every row of the smaller side is assigned, at the least total cost.
//! [`max_matching_min_cost`] solves what evaluation needs: only some (row, column) pairs are
//! allowed (a detection may match a truth object); among the matchings with the most pairs,
//! the cheapest. It runs the classic algorithm with every forbidden pair given a cost `BIG`
//! so large that one more allowed pair always pays for itself (see the function), then drops
//! the forbidden pairs.

/// The least-cost assignment of a `rows` x `cols` matrix (row-major `cost`, finite values).
/// Returns, for each row, its column: when `rows <= cols` every row gets one, otherwise every
/// column is used once and `rows - cols` rows get `None`. Ties are broken deterministically.
pub fn min_cost_assignment(cost: &[f64], rows: usize, cols: usize) -> Vec<Option<usize>> {
    assert_eq!(cost.len(), rows * cols, "cost matrix is rows x cols");
    assert!(
        cost.iter().all(|c| c.is_finite()),
        "costs must be finite numbers"
    );
    if rows == 0 || cols == 0 {
        return vec![None; rows];
    }
    if rows > cols {
        // Solve the transpose (the algorithm wants rows <= columns), then invert.
        let t: Vec<f64> = (0..cols)
            .flat_map(|c| (0..rows).map(move |r| (r, c)))
            .map(|(r, c)| cost[r * cols + c])
            .collect();
        let by_col = solve(&t, cols, rows);
        let mut out = vec![None; rows];
        for (c, r) in by_col.into_iter().enumerate() {
            out[r] = Some(c);
        }
        return out;
    }
    solve(cost, rows, cols).into_iter().map(Some).collect()
}

/// The potentials algorithm for `n <= m`: row i (0-based) -> its column.
fn solve(a: &[f64], n: usize, m: usize) -> Vec<usize> {
    debug_assert!(n <= m);
    // 1-based as in the textbook form: index 0 is the virtual row/column the augmenting
    // path starts from.
    let mut u = vec![0.0f64; n + 1];
    let mut v = vec![0.0f64; m + 1];
    let mut p = vec![0usize; m + 1]; // p[j]: row assigned to column j (0: none)
    let mut way = vec![0usize; m + 1];
    let mut minv = vec![0.0f64; m + 1];
    let mut used = vec![false; m + 1];
    for i in 1..=n {
        p[0] = i;
        let mut j0 = 0usize;
        minv.fill(f64::INFINITY);
        used.fill(false);
        // Grow a tree of tight edges from row i until it reaches a free column; each pass
        // adds one column, so this ends after at most m passes whatever the rounding.
        loop {
            used[j0] = true;
            let i0 = p[j0];
            let mut delta = f64::INFINITY;
            let mut j1 = 0usize;
            for j in 1..=m {
                if used[j] {
                    continue;
                }
                let cur = a[(i0 - 1) * m + (j - 1)] - u[i0] - v[j];
                if cur < minv[j] {
                    minv[j] = cur;
                    way[j] = j0;
                }
                if minv[j] < delta {
                    delta = minv[j];
                    j1 = j;
                }
            }
            debug_assert!(j1 != 0, "an unused column always exists while n <= m");
            for j in 0..=m {
                if used[j] {
                    u[p[j]] += delta;
                    v[j] -= delta;
                } else {
                    minv[j] -= delta;
                }
            }
            j0 = j1;
            if p[j0] == 0 {
                break;
            }
        }
        // Flip the augmenting path.
        loop {
            let j1 = way[j0];
            p[j0] = p[j1];
            j0 = j1;
            if j0 == 0 {
                break;
            }
        }
    }
    let mut row_to_col = vec![0usize; n];
    for j in 1..=m {
        if p[j] != 0 {
            row_to_col[p[j] - 1] = j - 1;
        }
    }
    row_to_col
}

/// The maximum matching of least total cost over the allowed pairs `edges` = (row, column,
/// cost) of a `rows` x `cols` bipartite graph: first as many pairs as possible, then, among
/// those matchings, the least sum of costs. Costs must be finite and >= 0; a pair listed twice
/// keeps its lower cost. Returns (row, column) pairs sorted by row.
///
/// Why it is exact: every forbidden pair costs `BIG = (k + 1) (c_max + 1)`, k = min(rows,
/// cols), c_max the largest allowed cost. A full assignment (k pairs) using f forbidden pairs
/// costs between f BIG and f BIG + k c_max, and k c_max < BIG, so one with fewer forbidden
/// pairs (more allowed ones, which is a larger matching) is always cheaper, and among those
/// with the same number the allowed costs decide. Any matching extends to a full assignment
/// with forbidden pairs, so the optimum's allowed pairs are a maximum matching of least cost.
pub fn max_matching_min_cost(
    rows: usize,
    cols: usize,
    edges: &[(usize, usize, f64)],
) -> Vec<(usize, usize)> {
    if rows == 0 || cols == 0 || edges.is_empty() {
        return Vec::new();
    }
    let mut allowed = vec![false; rows * cols];
    let mut cost = vec![0.0f64; rows * cols];
    let mut c_max = 0.0f64;
    for &(r, c, w) in edges {
        assert!(
            r < rows && c < cols,
            "edge ({r}, {c}) outside {rows} x {cols}"
        );
        assert!(
            w.is_finite() && w >= 0.0,
            "edge cost {w} must be finite and >= 0"
        );
        let k = r * cols + c;
        if !allowed[k] || w < cost[k] {
            cost[k] = w;
        }
        allowed[k] = true;
        c_max = c_max.max(w);
    }
    let big = (rows.min(cols) as f64 + 1.0) * (c_max + 1.0);
    for (c, &ok) in cost.iter_mut().zip(&allowed) {
        if !ok {
            *c = big;
        }
    }
    min_cost_assignment(&cost, rows, cols)
        .into_iter()
        .enumerate()
        .filter_map(|(r, c)| c.map(|c| (r, c)))
        .filter(|&(r, c)| allowed[r * cols + c])
        .collect()
}

/// [`max_matching_min_cost`] solved one connected component of the graph of allowed pairs at a
/// time: the same maximum matching of least cost (the objective adds up over components, and no
/// pair joins two of them), at the cost of the components alone instead of one dense
/// `rows x cols` problem. Sparse gates (detections against AIS vessels, a few candidates each)
/// make components of a handful of nodes, so the cost is about linear in the edges.
///
/// Ties are broken deterministically: each component is solved with its rows and columns in
/// their original order. Where several matchings are optimal, the one chosen may differ from
/// the dense solver's choice, never its size or total cost. Returns (row, column) pairs sorted
/// by row.
pub fn max_matching_min_cost_by_components(
    rows: usize,
    cols: usize,
    edges: &[(usize, usize, f64)],
) -> Vec<(usize, usize)> {
    // Union-find over rows 0..rows and columns rows..rows+cols (the smaller root wins: the
    // same forest whatever the edge order).
    let mut uf = crate::union_find::UnionFind::new(rows + cols);
    for &(r, c, _) in edges {
        assert!(
            r < rows && c < cols,
            "edge ({r}, {c}) outside {rows} x {cols}"
        );
        uf.union(r as u32, (rows + c) as u32);
    }
    // Edges grouped by component root, each component's nodes in their original order.
    let mut by_root: std::collections::BTreeMap<usize, Vec<(usize, usize, f64)>> =
        std::collections::BTreeMap::new();
    for &(r, c, w) in edges {
        let root = uf.find(r as u32) as usize;
        by_root.entry(root).or_default().push((r, c, w));
    }
    let mut out = Vec::new();
    let mut local_row = vec![usize::MAX; rows];
    let mut local_col = vec![usize::MAX; cols];
    for comp in by_root.values() {
        let mut rs: Vec<usize> = comp.iter().map(|e| e.0).collect();
        let mut cs: Vec<usize> = comp.iter().map(|e| e.1).collect();
        rs.sort_unstable();
        rs.dedup();
        cs.sort_unstable();
        cs.dedup();
        for (k, &r) in rs.iter().enumerate() {
            local_row[r] = k;
        }
        for (k, &c) in cs.iter().enumerate() {
            local_col[c] = k;
        }
        let local: Vec<(usize, usize, f64)> = comp
            .iter()
            .map(|&(r, c, w)| (local_row[r], local_col[c], w))
            .collect();
        out.extend(
            max_matching_min_cost(rs.len(), cs.len(), &local)
                .into_iter()
                .map(|(r, c)| (rs[r], cs[c])),
        );
    }
    out.sort_unstable();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn total(cost: &[f64], cols: usize, a: &[Option<usize>]) -> f64 {
        a.iter()
            .enumerate()
            .filter_map(|(r, c)| c.map(|c| cost[r * cols + c]))
            .sum()
    }

    /// Every assignment of the smaller side, by brute force: the least total.
    fn brute_min(cost: &[f64], rows: usize, cols: usize) -> f64 {
        fn go(
            cost: &[f64],
            rows: usize,
            cols: usize,
            r: usize,
            used: &mut Vec<bool>,
            left: usize,
        ) -> f64 {
            // `left`: rows that may still go unassigned (rows > cols).
            if r == rows {
                return 0.0;
            }
            let mut best = f64::INFINITY;
            if left > 0 {
                best = go(cost, rows, cols, r + 1, used, left - 1);
            }
            for c in 0..cols {
                if !used[c] {
                    used[c] = true;
                    best = best.min(cost[r * cols + c] + go(cost, rows, cols, r + 1, used, left));
                    used[c] = false;
                }
            }
            best
        }
        go(
            cost,
            rows,
            cols,
            0,
            &mut vec![false; cols],
            rows.saturating_sub(cols),
        )
    }

    /// Every matching over the allowed pairs: (most pairs, least cost among them).
    fn brute_matching(rows: usize, cols: usize, allowed: &[Option<f64>]) -> (usize, f64) {
        fn go(
            rows: usize,
            cols: usize,
            allowed: &[Option<f64>],
            r: usize,
            used: &mut Vec<bool>,
        ) -> (usize, f64) {
            if r == rows {
                return (0, 0.0);
            }
            let mut best = go(rows, cols, allowed, r + 1, used);
            for c in 0..cols {
                if let (false, Some(w)) = (used[c], allowed[r * cols + c]) {
                    used[c] = true;
                    let (n, s) = go(rows, cols, allowed, r + 1, used);
                    used[c] = false;
                    let cand = (n + 1, s + w);
                    if cand.0 > best.0 || (cand.0 == best.0 && cand.1 < best.1) {
                        best = cand;
                    }
                }
            }
            best
        }
        go(rows, cols, allowed, 0, &mut vec![false; cols])
    }

    fn check_valid(a: &[Option<usize>], rows: usize, cols: usize) {
        assert_eq!(a.len(), rows);
        let mut seen = vec![false; cols];
        for c in a.iter().flatten() {
            assert!(!seen[*c], "column {c} used twice");
            seen[*c] = true;
        }
        assert_eq!(a.iter().flatten().count(), rows.min(cols));
    }

    #[test]
    fn square_textbook_example() {
        // The classic 3x3: optimum 5 (row 0 -> col 1, row 1 -> col 0, row 2 -> col 2).
        let cost = [4.0, 1.0, 3.0, 2.0, 0.0, 5.0, 3.0, 2.0, 2.0];
        let a = min_cost_assignment(&cost, 3, 3);
        check_valid(&a, 3, 3);
        assert_eq!(a, vec![Some(1), Some(0), Some(2)]);
        assert_eq!(total(&cost, 3, &a), 5.0);
    }

    #[test]
    fn wide_matrix_leaves_columns_free() {
        // 2 rows, 4 columns: row 0 -> col 3 (1), row 1 -> col 1 (2).
        let cost = [9.0, 9.0, 5.0, 1.0, 7.0, 2.0, 3.0, 1.5];
        let a = min_cost_assignment(&cost, 2, 4);
        check_valid(&a, 2, 4);
        assert_eq!(a, vec![Some(3), Some(1)]);
    }

    #[test]
    fn tall_matrix_leaves_rows_free() {
        // 4 rows, 2 columns: col 0 <- row 2 (1), col 1 <- row 0 (0.5).
        let cost = [3.0, 0.5, 4.0, 4.0, 1.0, 2.0, 8.0, 9.0];
        let a = min_cost_assignment(&cost, 4, 2);
        check_valid(&a, 4, 2);
        assert_eq!(a, vec![Some(1), None, Some(0), None]);
        assert_eq!(total(&cost, 2, &a), 1.5);
    }

    #[test]
    fn empty_sides() {
        assert_eq!(min_cost_assignment(&[], 0, 3), Vec::<Option<usize>>::new());
        assert_eq!(min_cost_assignment(&[], 2, 0), vec![None, None]);
        assert!(max_matching_min_cost(0, 5, &[]).is_empty());
        assert!(max_matching_min_cost(3, 3, &[]).is_empty());
    }

    #[test]
    fn more_matches_beat_lower_cost() {
        // Row 0 may take col 0 (cost 0) or col 1 (cost 100); row 1 only col 0 (cost 100).
        // The cheapest single pair is (0, 0), but two pairs are possible: (0, 1), (1, 0).
        let m = max_matching_min_cost(2, 2, &[(0, 0, 0.0), (0, 1, 100.0), (1, 0, 100.0)]);
        assert_eq!(m, vec![(0, 1), (1, 0)]);
    }

    #[test]
    fn forbidden_pairs_are_never_returned() {
        let m = max_matching_min_cost(3, 2, &[(2, 1, 4.0)]);
        assert_eq!(m, vec![(2, 1)]);
    }

    #[test]
    fn duplicate_edges_keep_the_lower_cost() {
        let m = max_matching_min_cost(
            2,
            2,
            &[
                (0, 0, 5.0),
                (0, 0, 1.0),
                (0, 1, 3.0),
                (1, 1, 3.0),
                (1, 0, 3.0),
            ],
        );
        // (0,0)+(1,1) = 1 + 3 = 4 beats (0,1)+(1,0) = 6.
        assert_eq!(m, vec![(0, 0), (1, 1)]);
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: 400,
            failure_persistence: None,
            ..ProptestConfig::default()
        })]
        /// The classic problem: the algorithm's total equals the brute-force optimum, on
        /// square, wide and tall matrices (integer costs: exact sums).
        #[test]
        fn assignment_is_optimal(
            (rows, cols, cost) in (1usize..=6, 1usize..=6).prop_flat_map(|(r, c)| {
                (Just(r), Just(c), prop::collection::vec(0u32..20, r * c))
            })
        ) {
            let cost: Vec<f64> = cost.into_iter().map(f64::from).collect();
            let a = min_cost_assignment(&cost, rows, cols);
            check_valid(&a, rows, cols);
            prop_assert_eq!(total(&cost, cols, &a), brute_min(&cost, rows, cols));
        }

        /// Evaluation's problem: as many pairs as any matching, at the least cost among those.
        #[test]
        fn matching_is_maximum_then_cheapest(
            (rows, cols, cells) in (0usize..=6, 0usize..=6).prop_flat_map(|(r, c)| {
                (Just(r), Just(c), prop::collection::vec(prop::option::weighted(0.4, 0u32..50), r * c))
            })
        ) {
            let allowed: Vec<Option<f64>> = cells.iter().map(|c| c.map(f64::from)).collect();
            let edges: Vec<(usize, usize, f64)> = allowed
                .iter()
                .enumerate()
                .filter_map(|(k, w)| w.map(|w| (k / cols, k % cols, w)))
                .collect();
            let m = max_matching_min_cost(rows, cols, &edges);
            let mut rs = std::collections::HashSet::new();
            let mut cs = std::collections::HashSet::new();
            let mut sum = 0.0;
            for &(r, c) in &m {
                prop_assert!(rs.insert(r) && cs.insert(c), "one-to-one");
                let w = allowed[r * cols + c];
                prop_assert!(w.is_some(), "only allowed pairs");
                sum += w.unwrap();
            }
            let (n, best) = brute_matching(rows, cols, &allowed);
            prop_assert_eq!(m.len(), n);
            prop_assert_eq!(sum, best);
        }
    }

    #[test]
    fn fractional_costs_are_optimal() {
        // Distances as evaluation gives them; a nearly tied case.
        let edges = [
            (0, 0, 1.0000001),
            (0, 1, 1.0),
            (1, 0, 1.0),
            (1, 1, 1.0000001),
        ];
        assert_eq!(max_matching_min_cost(2, 2, &edges), vec![(0, 1), (1, 0)]);
    }
    /// Random sparse instances: the component-wise solver finds matchings of the same size and
    /// total cost as the dense one, the very same pairs where the optimum is unique (continuous
    /// random costs), and the same answer however often it runs.
    #[test]
    fn components_equal_the_dense_solver() {
        // A small deterministic generator (xorshift): seeded, reproducible.
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for case in 0..600 {
            let rows = (next() % 40) as usize;
            let cols = (next() % 40) as usize;
            let ties = case % 2 == 1;
            let density = 1 + next() % 8; // in 100ths
            let mut edges = Vec::new();
            for r in 0..rows {
                for c in 0..cols {
                    if next() % 100 < density {
                        let w = if ties {
                            // A few integer costs: many equally good matchings.
                            (next() % 3) as f64
                        } else {
                            (next() % 1_000_000) as f64 / 500_000.0
                        };
                        edges.push((r, c, w));
                    }
                }
            }
            let dense = max_matching_min_cost(rows, cols, &edges);
            let comp = max_matching_min_cost_by_components(rows, cols, &edges);
            let cost = |m: &[(usize, usize)]| -> f64 {
                m.iter()
                    .map(|&(r, c)| {
                        edges
                            .iter()
                            .filter(|e| e.0 == r && e.1 == c)
                            .map(|e| e.2)
                            .fold(f64::INFINITY, f64::min)
                    })
                    .sum()
            };
            assert_eq!(comp.len(), dense.len(), "case {case}: matching size");
            assert!(
                (cost(&comp) - cost(&dense)).abs() < 1e-9,
                "case {case}: {} vs {}",
                cost(&comp),
                cost(&dense)
            );
            let mut rs = std::collections::HashSet::new();
            let mut cs = std::collections::HashSet::new();
            for &(r, c) in &comp {
                assert!(rs.insert(r) && cs.insert(c), "case {case}: one-to-one");
            }
            if ties {
                // Deterministic: the same answer again, and with the edges listed backwards.
                assert_eq!(
                    comp,
                    max_matching_min_cost_by_components(rows, cols, &edges)
                );
                let mut rev = edges.clone();
                rev.reverse();
                assert_eq!(comp, max_matching_min_cost_by_components(rows, cols, &rev));
            } else {
                assert_eq!(comp, dense, "case {case}: a unique optimum");
            }
        }
    }
}
