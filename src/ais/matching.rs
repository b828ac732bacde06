//! Detections against AIS positions at the acquisition time: an optional SAR azimuth-shift
//! correction of each AIS position (where a moving ship appears in a SAR image), then the
//! one-to-one assignment of least cost within a gate.

use super::track::{destination, distance_m, Predicted};
use serde::Serialize;

/// Knots to metres a second.
pub const KNOT_MPS: f64 = 1852.0 / 3600.0;

/// Side the radar looks to, seen along the flight direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Look {
    /// Sentinel-1, RADARSAT-2, TerraSAR-X and most SAR satellites look right.
    #[default]
    Right,
    Left,
}

/// The viewing geometry a SAR azimuth shift depends on.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SarGeometry {
    /// Flight direction over the ground, degrees clockwise from true north.
    pub heading_deg: f64,
    pub look: Look,
    /// Incidence angle at the scene, degrees.
    pub incidence_deg: f64,
    /// Slant range from the sensor to the scene, metres.
    pub slant_range_m: f64,
    /// Speed of the sensor, metres a second.
    pub platform_speed_mps: f64,
}

impl SarGeometry {
    /// The displacement (east, north), metres, of the image of a ship moving at `sog_kn` knots
    /// on course `cog_deg` from its true position.
    ///
    /// A target with a velocity component towards the radar has a Doppler shift, and the SAR
    /// processor, which places targets at zero Doppler, images it where the sensor's own
    /// motion cancels that shift: displaced along the flight direction by
    /// `slant_range / platform_speed * v_toward`, where `v_toward` is the ship's velocity
    /// towards the radar along the line of sight (its ground-range component times the sine of
    /// the incidence angle). Ships moving towards the radar appear ahead (in the flight
    /// direction), ships moving away appear behind. A ship at 10 kn heading straight at a
    /// Sentinel-1 IW radar (incidence 39 deg, slant range 850 km, 7.6 km/s) appears about
    /// 360 m ahead of where it is.
    pub fn azimuth_shift(&self, sog_kn: f64, cog_deg: f64) -> (f64, f64) {
        let v = sog_kn * KNOT_MPS;
        let (ve, vn) = (
            v * cog_deg.to_radians().sin(),
            v * cog_deg.to_radians().cos(),
        );
        // Ground direction from the sensor's track towards the scene (the look direction).
        let look = match self.look {
            Look::Right => self.heading_deg + 90.0,
            Look::Left => self.heading_deg - 90.0,
        }
        .to_radians();
        let away_ground = ve * look.sin() + vn * look.cos();
        let toward = -away_ground * self.incidence_deg.to_radians().sin();
        let shift = self.slant_range_m / self.platform_speed_mps * toward;
        let h = self.heading_deg.to_radians();
        (shift * h.sin(), shift * h.cos())
    }
}

/// Where an AIS vessel is expected in the image.
#[derive(Debug, Clone)]
pub struct Expected {
    pub vessel: Predicted,
    /// Its position in the image (the AIS position, moved by the azimuth shift when a SAR
    /// geometry is given).
    pub lon: f64,
    pub lat: f64,
    /// Length of the azimuth shift applied, metres (0 without a SAR geometry or without
    /// speed and course).
    pub shift_m: f64,
}

/// Where each vessel is expected: the azimuth shift applied when `sar` is given and the
/// vessel has speed and course.
pub fn expected(vessels: Vec<Predicted>, sar: Option<&SarGeometry>) -> Vec<Expected> {
    vessels
        .into_iter()
        .map(|v| {
            let (mut lon, mut lat, mut shift_m) = (v.lon, v.lat, 0.0);
            if let (Some(g), Some(sog), Some(cog)) = (sar, v.sog_kn, v.cog_deg) {
                let (e, n) = g.azimuth_shift(sog, cog);
                shift_m = e.hypot(n);
                if shift_m > 0.0 {
                    (lon, lat) = destination(v.lon, v.lat, e.atan2(n).to_degrees(), shift_m);
                }
            }
            Expected {
                vessel: v,
                lon,
                lat,
                shift_m,
            }
        })
        .collect()
}

/// How detections and AIS positions are paired.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MatchRules {
    /// Largest distance between a detection's centroid and an AIS position that may pair.
    pub gate_m: f64,
    /// Weight of length disagreement in the cost when both lengths are known: the cost of a
    /// pair is `distance / gate + length_weight * min(1, |L_det - L_ais| / max(L_det, L_ais))`.
    pub length_weight: f64,
}

impl Default for MatchRules {
    fn default() -> Self {
        MatchRules {
            gate_m: 500.0,
            length_weight: 0.5,
        }
    }
}

/// A detection's position and length, for matching.
#[derive(Debug, Clone, Copy)]
pub struct Candidate {
    pub lon: f64,
    pub lat: f64,
    pub length_m: Option<f64>,
}

/// One-to-one pairs (detection index, expected index, distance in metres): as many pairs
/// within the gate as possible, and among those the least total cost (Hungarian method).
///
/// The pairs within the gate are found through the vessels sorted by latitude (a binary search
/// per detection), and the assignment is solved per connected component of the gate graph
/// ([`max_matching_min_cost_by_components`](crate::eval::hungarian::max_matching_min_cost_by_components)):
/// the result of one dense detections x vessels assignment at the cost of the small
/// components, about linear in detections + vessels + pairs within the gate.
pub fn match_pairs(
    dets: &[Candidate],
    ais: &[Expected],
    rules: &MatchRules,
) -> Vec<(usize, usize, f64)> {
    let (edges, dist) = gate_edges(dets, ais, rules);
    crate::eval::hungarian::max_matching_min_cost_by_components(dets.len(), ais.len(), &edges)
        .into_iter()
        .map(|(i, j)| (i, j, dist[&(i, j)]))
        .collect()
}

/// Pairs (detection, vessel, cost) within the gate, sorted by detection then vessel, and
/// their distances in metres.
#[allow(clippy::type_complexity)]
fn gate_edges(
    dets: &[Candidate],
    ais: &[Expected],
    rules: &MatchRules,
) -> (
    Vec<(usize, usize, f64)>,
    std::collections::HashMap<(usize, usize), f64>,
) {
    let mut edges = Vec::new();
    let mut dist = std::collections::HashMap::new();
    // Degrees of latitude the gate spans, to skip far pairs cheaply.
    let gate_deg = rules.gate_m / 111_000.0 * 1.01 + 1e-9;
    // Vessels by latitude (NaN positions cannot match and are left out).
    let mut by_lat: Vec<(f64, usize)> = ais
        .iter()
        .enumerate()
        .filter(|(_, a)| a.lat.is_finite())
        .map(|(j, a)| (a.lat, j))
        .collect();
    by_lat.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let mut near = Vec::new();
    for (i, d) in dets.iter().enumerate() {
        if !d.lat.is_finite() {
            continue;
        }
        let from = by_lat.partition_point(|&(lat, _)| lat < d.lat - gate_deg);
        near.clear();
        near.extend(
            by_lat[from..]
                .iter()
                .take_while(|&&(lat, _)| lat <= d.lat + gate_deg)
                .map(|&(_, j)| j),
        );
        near.sort_unstable();
        for &j in &near {
            let a = &ais[j];
            let m = distance_m(d.lon, d.lat, a.lon, a.lat);
            if m > rules.gate_m || !m.is_finite() {
                continue;
            }
            let mut cost = m / rules.gate_m.max(f64::MIN_POSITIVE);
            if let (Some(ld), Some(la)) = (d.length_m, a.vessel.length_m) {
                let big = ld.max(la);
                if big > 0.0 {
                    cost += rules.length_weight * ((ld - la).abs() / big).min(1.0);
                }
            }
            edges.push((i, j, cost));
            dist.insert((i, j), m);
        }
    }
    (edges, dist)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ais::track::Method;

    fn vessel(mmsi: u64, lon: f64, lat: f64, len: Option<f64>) -> Predicted {
        Predicted {
            mmsi,
            name: None,
            lon,
            lat,
            sog_kn: None,
            cog_deg: None,
            length_m: len,
            method: Method::Exact,
            gap_s: 0.0,
        }
    }

    fn s1(heading: f64) -> SarGeometry {
        SarGeometry {
            heading_deg: heading,
            look: Look::Right,
            incidence_deg: 39.0,
            slant_range_m: 850_000.0,
            platform_speed_mps: 7600.0,
        }
    }

    #[test]
    fn shift_is_along_track_towards_the_radar_ahead() {
        // Flying north, looking east: the radar is to the west of the scene.
        let g = s1(0.0);
        let (e, n) = g.azimuth_shift(10.0, 270.0); // heading west: towards the radar
        let want = 850_000.0 / 7600.0 * 10.0 * KNOT_MPS * 39f64.to_radians().sin();
        assert!(e.abs() < 1e-9 && (n - want).abs() < 1e-9, "{e} {n} {want}");
        assert!((want - 362.0).abs() < 5.0);
        let (_, n) = g.azimuth_shift(10.0, 90.0); // away: behind
        assert!((n + want).abs() < 1e-9);
        // Moving along track: no radial velocity, no shift.
        let (e, n) = g.azimuth_shift(10.0, 0.0);
        assert!(e.abs() < 1e-9 && n.abs() < 1e-9);
        // Left-looking flips the sign; a descending pass (heading 190) shifts southwards.
        let l = SarGeometry {
            look: Look::Left,
            ..g
        };
        assert!(l.azimuth_shift(10.0, 270.0).1 < 0.0);
        let d = s1(190.0);
        // Flying south-southwest looking west-northwest, so the sensor is east of the scene: a
        // ship heading east (100) moves straight towards it and appears ahead, to the south.
        let (e, n) = d.azimuth_shift(10.0, 100.0);
        let shift = 850_000.0 / 7600.0 * 10.0 * KNOT_MPS * 39f64.to_radians().sin();
        assert!((e.hypot(n) - shift).abs() < 1e-6);
        assert!(n < 0.0, "ahead of a southbound sensor is south: {n}");
    }

    #[test]
    fn expected_positions_move_by_the_shift() {
        let mut v = vessel(1, 10.0, 50.0, None);
        v.sog_kn = Some(10.0);
        v.cog_deg = Some(270.0);
        let e = expected(vec![v.clone()], Some(&s1(0.0)));
        let d = distance_m(v.lon, v.lat, e[0].lon, e[0].lat);
        assert!((d - e[0].shift_m).abs() < 1e-3 && e[0].shift_m > 300.0);
        assert!(e[0].lat > v.lat);
        let e = expected(vec![v.clone()], None);
        assert_eq!((e[0].lon, e[0].lat, e[0].shift_m), (v.lon, v.lat, 0.0));
    }

    #[test]
    fn matching_is_one_to_one_within_the_gate() {
        // Two detections 100 m apart, two vessels: the crossing pairing is worse.
        let dlat = 100.0 / 111_195.0;
        let dets = [
            Candidate {
                lon: 0.0,
                lat: 0.0,
                length_m: None,
            },
            Candidate {
                lon: 0.0,
                lat: dlat,
                length_m: None,
            },
        ];
        let ais = expected(
            vec![
                vessel(1, 0.0, dlat * 1.1, None),
                vessel(2, 0.0, -dlat * 0.1, None),
                vessel(3, 0.0, 0.01, None), // 1.1 km away: outside the gate
            ],
            None,
        );
        let p = match_pairs(&dets, &ais, &MatchRules::default());
        assert_eq!(
            p.iter().map(|&(i, j, _)| (i, j)).collect::<Vec<_>>(),
            [(0, 1), (1, 0)]
        );
        assert!(p.iter().all(|&(_, _, m)| (m - 10.0).abs() < 0.1));
        // One vessel between two detections goes to one of them only.
        let p = match_pairs(&dets, &ais[..1], &MatchRules::default());
        assert_eq!(p.len(), 1);
        assert!(match_pairs(&dets, &[], &MatchRules::default()).is_empty());
    }

    #[test]
    fn length_agreement_breaks_near_ties() {
        let dlat = 100.0 / 111_195.0;
        let dets = [Candidate {
            lon: 0.0,
            lat: 0.0,
            length_m: Some(200.0),
        }];
        // A 30 m boat 80 m away and a 190 m ship 120 m away: the ship is the better match.
        let ais = expected(
            vec![
                vessel(1, 0.0, dlat * 0.8, Some(30.0)),
                vessel(2, 0.0, -dlat * 1.2, Some(190.0)),
            ],
            None,
        );
        let p = match_pairs(&dets, &ais, &MatchRules::default());
        assert_eq!(
            p.iter().map(|&(i, j, _)| (i, j)).collect::<Vec<_>>(),
            [(0, 1)]
        );
        // Without the length term the nearer boat wins.
        let r = MatchRules {
            length_weight: 0.0,
            ..MatchRules::default()
        };
        assert_eq!(match_pairs(&dets, &ais, &r)[0].1, 0);
    }
    /// The old way: every detection against every vessel, one dense assignment.
    fn dense_pairs(
        dets: &[Candidate],
        ais: &[Expected],
        rules: &MatchRules,
    ) -> Vec<(usize, usize, f64)> {
        let mut edges = Vec::new();
        for (i, d) in dets.iter().enumerate() {
            for (j, a) in ais.iter().enumerate() {
                let m = distance_m(d.lon, d.lat, a.lon, a.lat);
                if m > rules.gate_m || !m.is_finite() {
                    continue;
                }
                let mut cost = m / rules.gate_m;
                if let (Some(ld), Some(la)) = (d.length_m, a.vessel.length_m) {
                    cost += rules.length_weight * ((ld - la).abs() / ld.max(la)).min(1.0);
                }
                edges.push((i, j, cost));
            }
        }
        crate::eval::hungarian::max_matching_min_cost(dets.len(), ais.len(), &edges)
            .into_iter()
            .map(|(i, j)| {
                (
                    i,
                    j,
                    distance_m(dets[i].lon, dets[i].lat, ais[j].lon, ais[j].lat),
                )
            })
            .collect()
    }

    #[test]
    fn component_matching_equals_the_dense_assignment() {
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let mut uniform = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        let rules = MatchRules::default();
        for case in 0..300 {
            // Crowded scenes: up to 60 detections and vessels in a few kilometres, so gates
            // overlap and components have several nodes; every other case on a 50 m grid with
            // lengths from a short list (equal costs: ties).
            let ties = case % 2 == 1;
            let (n, m) = ((uniform() * 60.0) as usize, (uniform() * 60.0) as usize);
            let span = 0.01 + uniform() * 0.05;
            let mut pos = |lat0: f64| {
                let (mut x, mut y) = (uniform() * span, lat0 + uniform() * span);
                if ties {
                    let g = 50.0 / 111_000.0;
                    (x, y) = ((x / g).round() * g, (y / g).round() * g);
                }
                (x, y)
            };
            let lens = [Some(50.0), Some(100.0), None];
            let dets: Vec<Candidate> = (0..n)
                .map(|k| {
                    let (lon, lat) = pos(40.0);
                    Candidate {
                        lon,
                        lat,
                        length_m: lens[k % 3],
                    }
                })
                .collect();
            let ais = expected(
                (0..m)
                    .map(|k| {
                        let (lon, lat) = pos(40.0);
                        vessel(k as u64, lon, lat, lens[(k / 2) % 3])
                    })
                    .collect(),
                None,
            );
            let got = match_pairs(&dets, &ais, &rules);
            let want = dense_pairs(&dets, &ais, &rules);
            let total = |p: &[(usize, usize, f64)]| -> f64 {
                p.iter()
                    .map(|&(i, j, d)| {
                        let mut c = d / rules.gate_m;
                        if let (Some(ld), Some(la)) = (dets[i].length_m, ais[j].vessel.length_m) {
                            c += rules.length_weight * ((ld - la).abs() / ld.max(la)).min(1.0);
                        }
                        c
                    })
                    .sum()
            };
            assert_eq!(got.len(), want.len(), "case {case}");
            assert!((total(&got) - total(&want)).abs() < 1e-9, "case {case}");
            if ties {
                assert_eq!(
                    got,
                    match_pairs(&dets, &ais, &rules),
                    "case {case}: deterministic"
                );
            } else {
                assert_eq!(got, want, "case {case}");
            }
        }
    }
}
