//! Where each vessel is at the image acquisition time: its AIS track interpolated along the great
//! circle between the reports around that time, or extrapolated from the nearest one with its speed
//! and course. All geometry is on a sphere of radius [`EARTH_RADIUS_M`].

use std::collections::BTreeMap;

use super::reports::AisReport;

/// The sphere of [`destination`], [`distance_m`], [`interpolate`]; the haversine is `geo`'s.
pub use crate::geo::{distance_m, EARTH_RADIUS_M};

/// Metres per second in one knot.
const KNOT_M_S: f64 = 1852.0 / 3600.0;

/// How a predicted position was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// A report at exactly the time asked for.
    Exact,
    /// Along the great circle between the reports just before and just after.
    Interpolated,
    /// From the nearest report, moved with its speed and course (or as is when it has neither).
    Extrapolated,
}

/// One vessel's position at the time asked for.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Predicted {
    /// The vessel's MMSI.
    pub mmsi: u64,
    /// Name, from the latest report that has one.
    pub name: Option<String>,
    /// Longitude, degrees, in [-180, 180).
    pub lon: f64,
    /// Latitude, degrees.
    pub lat: f64,
    /// Speed over ground of the nearest report used, knots.
    pub sog_kn: Option<f64>,
    /// Course over ground of the nearest report used, degrees.
    pub cog_deg: Option<f64>,
    /// Length, from the latest report that has one, metres.
    pub length_m: Option<f64>,
    /// How the position was obtained.
    pub method: Method,
    /// Seconds between the time asked for and the nearest report used (0 for [`Method::Exact`]).
    pub gap_s: f64,
}

/// Counts of [`positions_at`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct TrackStats {
    /// Distinct MMSIs in the input.
    pub vessels: usize,
    /// Vessels with a predicted position.
    pub predicted: usize,
    /// Vessels without a report within the gap limit (no position predicted).
    pub stale: usize,
    /// Reports dropped because another report of the same MMSI has exactly the same time.
    pub duplicates: usize,
}

/// Positions of all vessels at time `t` (seconds since 1970-01-01 UTC), sorted by MMSI.
///
/// Each MMSI's reports are sorted by time; of several at exactly the same time the first in the
/// file (smallest `line`) is kept and the others are counted as duplicates. A report exactly at
/// `t` is used as is ([`Method::Exact`]). When reports bracket `t` and both are within
/// `max_gap_s` of it, the position is interpolated along the great circle
/// ([`Method::Interpolated`]). Otherwise the nearest report within `max_gap_s` is moved with its
/// SOG along its COG (backwards for a report after `t`), or used as is without SOG or COG
/// ([`Method::Extrapolated`]). A vessel with no report within `max_gap_s` is stale and left out.
pub fn positions_at(reports: &[AisReport], t: f64, max_gap_s: f64) -> (Vec<Predicted>, TrackStats) {
    let mut by_mmsi: BTreeMap<u64, Vec<&AisReport>> = BTreeMap::new();
    for r in reports {
        by_mmsi.entry(r.mmsi).or_default().push(r);
    }
    let mut stats = TrackStats {
        vessels: by_mmsi.len(),
        ..TrackStats::default()
    };
    let mut out = Vec::with_capacity(by_mmsi.len());
    for (mmsi, mut track) in by_mmsi {
        track.sort_by(|a, b| a.t.total_cmp(&b.t).then(a.line.cmp(&b.line)));
        let all = track.len();
        // `dedup_by` keeps the first of each run: the smallest line at each time.
        track.dedup_by(|later, kept| later.t == kept.t);
        stats.duplicates += all - track.len();
        let Some((lon, lat, method, gap_s, nearest)) = predict(&track, t, max_gap_s) else {
            stats.stale += 1;
            continue;
        };
        let latest =
            |get: &dyn Fn(&AisReport) -> bool| track.iter().rev().find(|r| get(r)).copied();
        out.push(Predicted {
            mmsi,
            name: latest(&|r| r.name.is_some()).and_then(|r| r.name.clone()),
            lon: normalize_lon(lon),
            lat,
            sog_kn: nearest.sog_kn,
            cog_deg: nearest.cog_deg,
            length_m: latest(&|r| r.length_m.is_some()).and_then(|r| r.length_m),
            method,
            gap_s,
        });
    }
    stats.predicted = out.len();
    (out, stats)
}

/// The position of one vessel (reports sorted by time, no two at the same time) at `t`:
/// `(lon, lat, method, gap_s, nearest report used)`, or `None` when stale.
fn predict<'a>(
    track: &[&'a AisReport],
    t: f64,
    max_gap_s: f64,
) -> Option<(f64, f64, Method, f64, &'a AisReport)> {
    // False for NaN gaps (t or the limit NaN): stale.
    let within = |gap: f64| gap <= max_gap_s;
    let i = track.partition_point(|r| r.t < t);
    let next = track.get(i).copied();
    if let Some(r) = next.filter(|r| r.t == t) {
        return Some((r.lon, r.lat, Method::Exact, 0.0, r));
    }
    let prev = i.checked_sub(1).map(|j| track[j]);
    // Extrapolate report `r` to `t` with its speed and course.
    let extrapolate = |r: &'a AisReport| {
        let dt = t - r.t;
        if !within(dt.abs()) {
            return None;
        }
        let (lon, lat) = match (r.sog_kn, r.cog_deg) {
            (Some(sog), Some(cog)) => {
                let bearing = if dt >= 0.0 { cog } else { cog + 180.0 };
                destination(r.lon, r.lat, bearing, sog * KNOT_M_S * dt.abs())
            }
            _ => (r.lon, r.lat),
        };
        Some((lon, lat, Method::Extrapolated, dt.abs(), r))
    };
    match (prev, next) {
        (Some(a), Some(b)) => {
            let (gap_a, gap_b) = (t - a.t, b.t - t);
            let (nearest, gap) = if gap_a <= gap_b {
                (a, gap_a)
            } else {
                (b, gap_b)
            };
            if !within(gap_a) || !within(gap_b) {
                // One side of the bracket is too far away to blend with (a report a minute
                // before and the next hours later): the nearer report alone, extrapolated.
                return extrapolate(nearest);
            }
            let f = gap_a / (b.t - a.t);
            let (lon, lat) = interpolate(a.lon, a.lat, b.lon, b.lat, f);
            Some((lon, lat, Method::Interpolated, gap, nearest))
        }
        (Some(r), None) | (None, Some(r)) => extrapolate(r),
        (None, None) => None,
    }
}

/// A longitude in degrees brought into [-180, 180).
fn normalize_lon(lon: f64) -> f64 {
    let l = (lon + 180.0).rem_euclid(360.0) - 180.0;
    // `rem_euclid` can round up to 360 for tiny negative inputs.
    if l >= 180.0 {
        l - 360.0
    } else {
        l
    }
}

/// The point `dist_m` metres from (`lon`, `lat`) along the great circle leaving at `bearing_deg`
/// (clockwise from north), on a sphere of radius [`EARTH_RADIUS_M`]. Returns `(lon, lat)` in
/// degrees, the longitude in [-180, 180).
pub fn destination(lon: f64, lat: f64, bearing_deg: f64, dist_m: f64) -> (f64, f64) {
    let (phi1, lambda1, theta) = (lat.to_radians(), lon.to_radians(), bearing_deg.to_radians());
    let delta = dist_m / EARTH_RADIUS_M;
    let sin_phi2 =
        (phi1.sin() * delta.cos() + phi1.cos() * delta.sin() * theta.cos()).clamp(-1.0, 1.0);
    let phi2 = sin_phi2.asin();
    let lambda2 = lambda1
        + (theta.sin() * delta.sin() * phi1.cos()).atan2(delta.cos() - phi1.sin() * sin_phi2);
    (normalize_lon(lambda2.to_degrees()), phi2.to_degrees())
}

/// Unit vector of a point given in degrees.
fn unit(lon: f64, lat: f64) -> [f64; 3] {
    let (phi, lambda) = (lat.to_radians(), lon.to_radians());
    [
        phi.cos() * lambda.cos(),
        phi.cos() * lambda.sin(),
        phi.sin(),
    ]
}

/// The point a fraction `f` (0: the first point, 1: the second) of the way along the shorter great
/// circle between two points in degrees (spherical linear interpolation of unit vectors), so that
/// crossing the antimeridian goes through 180, not through 0. Returns `(lon, lat)`, the longitude in
/// [-180, 180). For antipodal points, where the great circle is undefined, returns the nearer end.
pub fn interpolate(lon1: f64, lat1: f64, lon2: f64, lat2: f64, f: f64) -> (f64, f64) {
    let (a, b) = (unit(lon1, lat1), unit(lon2, lat2));
    let cross = [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ];
    let sin_w = (cross[0] * cross[0] + cross[1] * cross[1] + cross[2] * cross[2]).sqrt();
    let cos_w = a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
    let (ka, kb) = if sin_w > 1e-12 {
        let w = sin_w.atan2(cos_w);
        (((1.0 - f) * w).sin() / sin_w, (f * w).sin() / sin_w)
    } else if cos_w > 0.0 {
        // (Nearly) the same point: a linear blend, normalised below.
        (1.0 - f, f)
    } else if f < 0.5 {
        (1.0, 0.0)
    } else {
        (0.0, 1.0)
    };
    let p = [0, 1, 2].map(|k| ka * a[k] + kb * b[k]);
    let lat = p[2].atan2(p[0].hypot(p[1])).to_degrees();
    let lon = if p[0] == 0.0 && p[1] == 0.0 {
        // At a pole the longitude is arbitrary: keep the first point's.
        lon1
    } else {
        p[1].atan2(p[0]).to_degrees()
    };
    (normalize_lon(lon), lat)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(mmsi: u64, t: f64, lon: f64, lat: f64, line: usize) -> AisReport {
        AisReport {
            mmsi,
            t,
            lat,
            lon,
            sog_kn: None,
            cog_deg: None,
            length_m: None,
            width_m: None,
            name: None,
            line,
        }
    }

    fn moving(mmsi: u64, t: f64, lon: f64, lat: f64, sog: f64, cog: f64) -> AisReport {
        AisReport {
            sog_kn: Some(sog),
            cog_deg: Some(cog),
            ..report(mmsi, t, lon, lat, 0)
        }
    }

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn interpolation_midpoints() {
        let (lon, lat) = interpolate(10.0, 0.0, 10.0, 20.0, 0.5);
        assert!(
            close(lon, 10.0, 1e-9) && close(lat, 10.0, 1e-9),
            "{lon} {lat}"
        );
        let (lon, lat) = interpolate(0.0, 0.0, 20.0, 0.0, 0.5);
        assert!(
            close(lon, 10.0, 1e-9) && close(lat, 0.0, 1e-9),
            "{lon} {lat}"
        );
        let (lon, lat) = interpolate(0.0, 0.0, 20.0, 0.0, 0.25);
        assert!(
            close(lon, 5.0, 1e-9) && close(lat, 0.0, 1e-9),
            "{lon} {lat}"
        );
        assert_eq!(interpolate(3.0, 4.0, 30.0, 40.0, 0.0), (3.0, 4.0));
        let (lon, lat) = interpolate(3.0, 4.0, 30.0, 40.0, 1.0);
        assert!(close(lon, 30.0, 1e-9) && close(lat, 40.0, 1e-9));
        // The same point twice.
        let (lon, lat) = interpolate(5.0, 6.0, 5.0, 6.0, 0.3);
        assert!(close(lon, 5.0, 1e-9) && close(lat, 6.0, 1e-9));
    }

    #[test]
    fn interpolation_across_antimeridian() {
        let (lon, lat) = interpolate(179.9, 0.0, -179.9, 0.0, 0.5);
        assert!((-180.0..180.0).contains(&lon));
        assert!(
            close(lon.abs(), 180.0, 1e-9) && close(lat, 0.0, 1e-9),
            "{lon} {lat}"
        );
        let (lon, _) = interpolate(179.9, 10.0, -179.9, 10.0, 0.25);
        assert!(close(lon, 179.95, 1e-3), "{lon}");
        let (lon, _) = interpolate(179.9, 10.0, -179.9, 10.0, 0.75);
        assert!(close(lon, -179.95, 1e-3), "{lon}");
        // Through positions_at too.
        let reports = [
            report(1, 0.0, 179.9, 0.0, 2),
            report(1, 100.0, -179.9, 0.0, 3),
        ];
        let (p, _) = positions_at(&reports, 50.0, 600.0);
        assert_eq!(p[0].method, Method::Interpolated);
        assert!(close(p[0].lon.abs(), 180.0, 1e-9), "{}", p[0].lon);
        assert!(distance_m(p[0].lon, p[0].lat, 180.0, 0.0) < 1e-3);
    }

    #[test]
    fn interpolated_track() {
        let reports = [
            report(7, 100.0, 0.0, 0.0, 2),
            AisReport {
                sog_kn: Some(12.0),
                cog_deg: Some(90.0),
                ..report(7, 200.0, 1.0, 0.0, 3)
            },
        ];
        let (p, stats) = positions_at(&reports, 175.0, 100.0);
        assert_eq!(
            stats,
            TrackStats {
                vessels: 1,
                predicted: 1,
                stale: 0,
                duplicates: 0
            }
        );
        let p = &p[0];
        assert_eq!(p.method, Method::Interpolated);
        assert!(close(p.lon, 0.75, 1e-9) && close(p.lat, 0.0, 1e-9));
        assert_eq!(
            (p.gap_s, p.sog_kn, p.cog_deg),
            (25.0, Some(12.0), Some(90.0))
        );
        // The farther report is 75 s away: beyond a 60 s limit it is not blended with; the
        // nearer one (no SOG/COG) is used as is.
        let (p, stats) = positions_at(&reports, 125.0, 60.0);
        assert_eq!((p[0].gap_s, p[0].sog_kn), (25.0, None));
        assert_eq!(p[0].method, Method::Extrapolated);
        assert_eq!((p[0].lon, p[0].lat), (0.0, 0.0));
        assert_eq!(stats.predicted, 1);
        let (p, stats) = positions_at(&reports, 150.0, 40.0);
        assert!(p.is_empty());
        assert_eq!(stats.stale, 1);
    }

    #[test]
    fn extrapolation_forward_north() {
        let r = moving(5, 1000.0, 10.0, 50.0, 10.0, 0.0);
        let (p, stats) = positions_at(&[r], 1000.0 + 1800.0, 3600.0);
        assert_eq!(stats.predicted, 1);
        let p = &p[0];
        assert_eq!(p.method, Method::Extrapolated);
        assert_eq!(p.gap_s, 1800.0);
        let d = distance_m(10.0, 50.0, p.lon, p.lat);
        assert!(close(d / 9260.0, 1.0, 1e-6), "{d}");
        assert!(close(p.lon, 10.0, 1e-9) && p.lat > 50.0);
        assert!(close(
            p.lat - 50.0,
            (9260.0 / EARTH_RADIUS_M).to_degrees(),
            1e-9
        ));
    }

    #[test]
    fn extrapolation_backward() {
        // A report 30 min after t, heading east at 10 kn: the vessel was 9260 m west of it.
        let r = moving(5, 1800.0, 0.0, 0.0, 10.0, 90.0);
        let (p, _) = positions_at(&[r], 0.0, 3600.0);
        let p = &p[0];
        assert_eq!((p.method, p.gap_s), (Method::Extrapolated, 1800.0));
        assert!(
            p.lon < 0.0 && close(p.lat, 0.0, 1e-9),
            "{} {}",
            p.lon,
            p.lat
        );
        assert!(close(
            distance_m(0.0, 0.0, p.lon, p.lat) / 9260.0,
            1.0,
            1e-6
        ));
        // Without SOG/COG: the report's position as is.
        let r = report(6, 1800.0, 2.0, 3.0, 2);
        let (p, _) = positions_at(&[r], 1000.0, 3600.0);
        assert_eq!(
            (p[0].lon, p[0].lat, p[0].method),
            (2.0, 3.0, Method::Extrapolated)
        );
        assert_eq!(p[0].gap_s, 800.0);
    }

    #[test]
    fn stale_tracks_dropped() {
        let reports = [
            report(1, 0.0, 0.0, 0.0, 2),
            report(2, 5000.0, 1.0, 1.0, 3),
            report(3, 10_000.0, 2.0, 2.0, 4),
        ];
        let (p, stats) = positions_at(&reports, 5100.0, 600.0);
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].mmsi, 2);
        assert_eq!(
            stats,
            TrackStats {
                vessels: 3,
                predicted: 1,
                stale: 2,
                duplicates: 0
            }
        );
        let (p, stats) = positions_at(&reports, f64::NAN, 600.0);
        assert!(p.is_empty());
        assert_eq!(stats.stale, 3);
    }

    #[test]
    fn duplicates_dropped_and_counted() {
        let reports = [
            report(9, 100.0, 5.0, 5.0, 7),
            report(9, 100.0, 1.0, 1.0, 3),
            report(9, 100.0, 6.0, 6.0, 9),
            report(4, 50.0, 0.0, 0.0, 2),
            report(4, 50.0, 0.0, 0.0, 4),
        ];
        let (p, stats) = positions_at(&reports, 100.0, 600.0);
        assert_eq!(
            stats,
            TrackStats {
                vessels: 2,
                predicted: 2,
                stale: 0,
                duplicates: 3
            }
        );
        assert_eq!(
            p.iter().map(|p| p.mmsi).collect::<Vec<_>>(),
            [4, 9],
            "sorted by MMSI"
        );
        assert_eq!(
            (p[1].lon, p[1].lat, p[1].method),
            (1.0, 1.0, Method::Exact),
            "smallest line kept"
        );
        assert_eq!(p[0].method, Method::Extrapolated);
    }

    #[test]
    fn exact_time_and_latest_name() {
        let reports = [
            AisReport {
                name: Some("LATE".into()),
                ..report(3, 300.0, 9.0, 9.0, 4)
            },
            AisReport {
                name: Some("EARLY".into()),
                length_m: Some(80.0),
                ..moving(3, 100.0, 1.0, 2.0, 4.0, 45.0)
            },
            report(3, 200.0, 181.0, 2.0, 3),
        ];
        let (p, _) = positions_at(&reports, 100.0, 10.0);
        let p = &p[0];
        assert_eq!(p.method, Method::Exact);
        assert_eq!((p.lon, p.lat, p.gap_s), (1.0, 2.0, 0.0));
        assert_eq!((p.sog_kn, p.cog_deg), (Some(4.0), Some(45.0)));
        assert_eq!(p.name.as_deref(), Some("LATE"), "latest report with a name");
        assert_eq!(p.length_m, Some(80.0), "latest report with a length");
        let (p, _) = positions_at(&reports, 200.0, 10.0);
        assert_eq!(p[0].lon, -179.0, "longitude normalised");
    }

    #[test]
    fn destination_distance_round_trip() {
        for &(lon, lat, bearing, dist) in &[
            (0.0, 0.0, 45.0, 100_000.0),
            (-70.0, 40.0, 200.0, 12_345.6),
            (179.5, -30.0, 90.0, 200_000.0),
            (10.0, 80.0, 0.0, 2_000_000.0),
        ] {
            let (lon2, lat2) = destination(lon, lat, bearing, dist);
            assert!((-180.0..180.0).contains(&lon2));
            let d = distance_m(lon, lat, lon2, lat2);
            assert!(close(d / dist, 1.0, 1e-9), "{lon} {lat} {bearing}: {d}");
            // Halfway along the great circle is where destination puts half the distance.
            let (mlon, mlat) = interpolate(lon, lat, lon2, lat2, 0.5);
            let (hlon, hlat) = destination(lon, lat, bearing, dist / 2.0);
            assert!(
                distance_m(mlon, mlat, hlon, hlat) < 1e-3,
                "{mlon} {mlat} vs {hlon} {hlat}"
            );
        }
        // One degree of arc on this sphere.
        let deg = EARTH_RADIUS_M * std::f64::consts::PI / 180.0;
        assert!(close(distance_m(0.0, 0.0, 1.0, 0.0), deg, 1e-6));
        assert!(close(distance_m(179.5, 0.0, -179.5, 0.0), deg, 1e-6));
        assert_eq!(distance_m(3.0, 4.0, 3.0, 4.0), 0.0);
        assert_eq!(destination(3.0, 4.0, 77.0, 0.0), (3.0, 4.0));
    }

    #[test]
    fn lon_normalisation() {
        assert_eq!(normalize_lon(180.0), -180.0);
        assert_eq!(normalize_lon(-180.0), -180.0);
        assert_eq!(normalize_lon(190.0), -170.0);
        assert_eq!(normalize_lon(-190.0), 170.0);
        assert_eq!(normalize_lon(0.0), 0.0);
        let tiny = normalize_lon(-1e-20);
        assert!((-180.0..180.0).contains(&tiny));
    }

    #[test]
    fn a_far_side_of_the_bracket_is_not_blended() {
        // 60 s before t heading north at 10 kn; the next report 5 h later far away: the
        // position is the recent report extrapolated, not a blend over 5 hours.
        let a = moving(1, -60.0, 0.0, 0.0, 10.0, 0.0);
        let b = moving(1, 18_000.0, 1.0, 0.0, 10.0, 90.0);
        let (p, _) = positions_at(&[a, b], 0.0, 1800.0);
        assert_eq!(p[0].method, Method::Extrapolated);
        assert_eq!(p[0].gap_s, 60.0);
        let moved = distance_m(0.0, 0.0, p[0].lon, p[0].lat);
        assert!((moved - 10.0 * KNOT_M_S * 60.0).abs() < 1e-6, "{moved}");
        assert!(p[0].lat > 0.0 && p[0].lon.abs() < 1e-12);
    }
}
