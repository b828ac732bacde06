//! Detections to truth objects within one image: which pairs may match (the criterion), then
//! the one-to-one matching with the most pairs and, among those, the least total distance
//! ([`super::hungarian::max_matching_min_cost`]).
//!
//! The allowed pairs are found by a sweep (truth sorted along one axis, each detection looks
//! only at the slice that can reach it), and the bipartite graph they form is split into its
//! connected components, each solved on its own: the optimum of the whole is the union of the
//! components' optima, and a scene with 10^5 detections and a few hundred ships costs the sum
//! of small problems rather than one 10^5 x 10^2 matrix.
//!
//! Distances on the ground use the haversine formula on a sphere of the mean Earth radius
//! R1 = 6 371 008.8 m (IUGG). Against the WGS 84 ellipsoid's geodesic it errs by at most about
//! 0.5 % (1 m at the 200 m default tolerance), far below the position errors being judged.

use super::hungarian::max_matching_min_cost;

/// IUGG mean Earth radius R1, metres (`geo`'s).
pub use crate::geo::EARTH_RADIUS_M as EARTH_MEAN_RADIUS_M;

/// A matched pair: indexes into the detections and truth objects given, and their distance
/// (pixels, or metres for [`within_m`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pair {
    pub pred: usize,
    pub truth: usize,
    pub distance: f64,
}

/// Great-circle distance in metres between two `[lon, lat]` points (degrees): `geo`'s haversine.
pub fn haversine_m(a: [f64; 2], b: [f64; 2]) -> f64 {
    crate::geo::distance_m(a[0], a[1], b[0], b[1])
}

/// Truth indexes sorted by `coord`, with the sorted coordinates.
fn sorted_by(n: usize, coord: impl Fn(usize) -> f64) -> (Vec<usize>, Vec<f64>) {
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| coord(a).total_cmp(&coord(b)).then(a.cmp(&b)));
    let keys = order.iter().map(|&i| coord(i)).collect();
    (order, keys)
}

/// The truth indexes whose sorted coordinate lies in `[lo, hi]`.
fn window<'a>(order: &'a [usize], keys: &[f64], lo: f64, hi: f64) -> &'a [usize] {
    let a = keys.partition_point(|&k| k < lo);
    let b = keys.partition_point(|&k| k <= hi);
    &order[a..b.max(a)]
}

/// `center-in-box`: a detection may match a box that holds its centroid (half-open: `x0 <= x <
/// x1`, `y0 <= y < y1`); the cost is the centroid's distance to the box centre, in pixels.
pub fn center_in_box(preds: &[[f64; 2]], boxes: &[[f64; 4]]) -> Vec<Pair> {
    let (order, keys) = sorted_by(boxes.len(), |i| boxes[i][0]);
    let widest = boxes.iter().map(|b| b[2] - b[0]).fold(0.0, f64::max);
    let mut edges = Vec::new();
    for (p, &[x, y]) in preds.iter().enumerate() {
        for &t in window(&order, &keys, x - widest, x) {
            let b = boxes[t];
            if b[0] <= x && x < b[2] && b[1] <= y && y < b[3] {
                let d = (x - (b[0] + b[2]) / 2.0).hypot(y - (b[1] + b[3]) / 2.0);
                edges.push((p, t, d));
            }
        }
    }
    solve(preds.len(), boxes.len(), edges)
}

/// `distance` in pixels: a detection may match a truth centre within `tol` pixels.
pub fn within_px(preds: &[[f64; 2]], truths: &[[f64; 2]], tol: f64) -> Vec<Pair> {
    let (order, keys) = sorted_by(truths.len(), |i| truths[i][0]);
    let mut edges = Vec::new();
    for (p, &[x, y]) in preds.iter().enumerate() {
        for &t in window(&order, &keys, x - tol, x + tol) {
            let d = (x - truths[t][0]).hypot(y - truths[t][1]);
            if d <= tol {
                edges.push((p, t, d));
            }
        }
    }
    solve(preds.len(), truths.len(), edges)
}

/// `distance` in metres: a detection may match a truth point within `tol` metres (haversine);
/// both `[lon, lat]`.
pub fn within_m(preds: &[[f64; 2]], truths: &[[f64; 2]], tol: f64) -> Vec<Pair> {
    let (order, keys) = sorted_by(truths.len(), |i| truths[i][1]);
    // A great circle between two latitudes is at least as long as the meridian arc between
    // them, so only truth within tol / R of the detection's latitude can be near enough.
    let dlat = (tol / EARTH_MEAN_RADIUS_M).to_degrees() * (1.0 + 1e-9) + 1e-12;
    let mut edges = Vec::new();
    for (p, &ll) in preds.iter().enumerate() {
        for &t in window(&order, &keys, ll[1] - dlat, ll[1] + dlat) {
            let d = haversine_m(ll, truths[t]);
            if d <= tol {
                edges.push((p, t, d));
            }
        }
    }
    solve(preds.len(), truths.len(), edges)
}

/// The optimal matching over `edges` (pred, truth, cost), component by component; sorted by
/// detection.
fn solve(n_pred: usize, n_truth: usize, edges: Vec<(usize, usize, f64)>) -> Vec<Pair> {
    // Union-find over detections 0..n_pred and truth n_pred..n_pred + n_truth.
    let mut uf = crate::union_find::UnionFind::new(n_pred + n_truth);
    for &(p, t, _) in &edges {
        uf.union(p as u32, (n_pred + t) as u32);
    }
    let mut groups: std::collections::BTreeMap<usize, Vec<(usize, usize, f64)>> =
        std::collections::BTreeMap::new();
    for e in edges {
        let r = uf.find(e.0 as u32) as usize;
        groups.entry(r).or_default().push(e);
    }
    let mut pairs = Vec::new();
    for edges in groups.into_values() {
        if let [(p, t, d)] = edges[..] {
            pairs.push(Pair {
                pred: p,
                truth: t,
                distance: d,
            });
            continue;
        }
        // Local indexes, in order of first appearance.
        let mut preds: Vec<usize> = Vec::new();
        let mut truths: Vec<usize> = Vec::new();
        let mut local = Vec::with_capacity(edges.len());
        let mut p_of = std::collections::HashMap::new();
        let mut t_of = std::collections::HashMap::new();
        for &(p, t, d) in &edges {
            let lp = *p_of.entry(p).or_insert_with(|| {
                preds.push(p);
                preds.len() - 1
            });
            let lt = *t_of.entry(t).or_insert_with(|| {
                truths.push(t);
                truths.len() - 1
            });
            local.push((lp, lt, d));
        }
        let cost: std::collections::HashMap<(usize, usize), f64> =
            local.iter().map(|&(p, t, d)| ((p, t), d)).collect();
        for (lp, lt) in max_matching_min_cost(preds.len(), truths.len(), &local) {
            pairs.push(Pair {
                pred: preds[lp],
                truth: truths[lt],
                distance: cost[&(lp, lt)],
            });
        }
    }
    pairs.sort_by_key(|p| p.pred);
    pairs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn haversine_known_distances() {
        // One degree of latitude on the mean sphere.
        let d = haversine_m([0.0, 0.0], [0.0, 1.0]);
        assert!((d - EARTH_MEAN_RADIUS_M * std::f64::consts::PI / 180.0).abs() < 1e-6);
        // Across the antimeridian.
        let d = haversine_m([179.9999, 10.0], [-179.9999, 10.0]);
        assert!(
            (d - 0.0002f64.to_radians() * EARTH_MEAN_RADIUS_M * 10f64.to_radians().cos()).abs()
                < 1e-3,
            "{d}"
        );
        assert_eq!(haversine_m([3.0, 52.0], [3.0, 52.0]), 0.0);
    }

    #[test]
    fn center_in_box_is_half_open() {
        let boxes = [[10.0, 10.0, 20.0, 20.0]];
        assert_eq!(center_in_box(&[[20.0, 15.0]], &boxes), vec![]);
        assert_eq!(center_in_box(&[[15.0, 20.0]], &boxes), vec![]);
        let m = center_in_box(&[[10.0, 10.0]], &boxes);
        assert_eq!(m.len(), 1);
        assert!((m[0].distance - 50f64.sqrt()).abs() < 1e-12);
    }

    #[test]
    fn one_detection_in_two_overlapping_boxes() {
        // Detection 0 lies in both boxes (closer to box 0's centre), detection 1 only in box 0:
        // the optimum matches 0 -> 1 and 1 -> 0, two pairs rather than the greedy one.
        let boxes = [[0.0, 0.0, 10.0, 10.0], [6.0, 0.0, 30.0, 10.0]];
        let preds = [[7.0, 5.0], [2.0, 5.0]];
        let m = center_in_box(&preds, &boxes);
        assert_eq!(
            m.iter().map(|p| (p.pred, p.truth)).collect::<Vec<_>>(),
            vec![(0, 1), (1, 0)]
        );
    }

    #[test]
    fn nearest_pairs_win_among_maximum_matchings() {
        let truths = [[0.0, 0.0], [10.0, 0.0]];
        let preds = [[9.0, 0.0], [1.0, 0.0], [5.0, 0.0]];
        let m = within_px(&preds, &truths, 6.0);
        assert_eq!(
            m.iter().map(|p| (p.pred, p.truth)).collect::<Vec<_>>(),
            vec![(0, 1), (1, 0)]
        );
        assert_eq!(m[0].distance, 1.0);
    }

    #[test]
    fn within_m_uses_the_tolerance() {
        // 0.001 deg of latitude = 111.2 m.
        let truths = [[3.0, 52.0]];
        assert_eq!(within_m(&[[3.0, 52.001]], &truths, 200.0).len(), 1);
        assert_eq!(within_m(&[[3.0, 52.001]], &truths, 100.0).len(), 0);
        // 0.002 deg of longitude at 52 N = 137 m.
        let m = within_m(&[[3.002, 52.0]], &truths, 200.0);
        assert_eq!(m.len(), 1);
        assert!((m[0].distance - 136.9).abs() < 0.2, "{}", m[0].distance);
    }

    #[test]
    fn components_are_solved_apart_and_agree_with_one_problem() {
        // Many small clusters far apart, each with a tie-breaking choice.
        let mut truths = Vec::new();
        let mut preds = Vec::new();
        for k in 0..50 {
            let x = k as f64 * 100.0;
            truths.push([x, 0.0]);
            truths.push([x + 4.0, 0.0]);
            preds.push([x + 3.0, 0.0]);
            preds.push([x + 1.0, 0.0]);
            preds.push([x + 50.0, 0.0]);
        }
        let m = within_px(&preds, &truths, 5.0);
        assert_eq!(m.len(), 100);
        let total: f64 = m.iter().map(|p| p.distance).sum();
        assert_eq!(total, 100.0);
    }
}
