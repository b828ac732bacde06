//! Detections as an RFC 7946 GeoJSON FeatureCollection in WGS 84 longitude/latitude: a Point
//! at each centroid, or the oriented box as a Polygon (exterior ring counterclockwise, as RFC
//! 7946 section 3.1.6 asks). Every attribute of a detection is a property.

use super::Geometry;
use crate::detections::Detection;
use serde::Serialize;

#[derive(Serialize)]
struct Collection<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    /// Foreign members (RFC 7946 section 6.1) with `--ais`: the matching's summary and the AIS
    /// vessels in the footprint that no detection matched.
    #[serde(skip_serializing_if = "Option::is_none")]
    ais: Option<&'a crate::ais::AisSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ais_unmatched: Option<&'a [crate::ais::Unmatched]>,
    features: Vec<Feature<'a>>,
}

#[derive(Serialize)]
struct Feature<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    id: u32,
    geometry: Geom,
    properties: &'a Detection,
}

#[derive(Serialize)]
#[serde(tag = "type", content = "coordinates")]
enum Geom {
    Point([f64; 2]),
    Polygon([Vec<[f64; 2]>; 1]),
}

/// Twice the signed area of a ring (positive: counterclockwise with x east, y north).
fn signed_area2(ring: &[[f64; 2]]) -> f64 {
    ring.iter()
        .zip(ring.iter().cycle().skip(1))
        .map(|(a, b)| a[0] * b[1] - b[0] * a[1])
        .sum()
}

fn feature(d: &Detection, geometry: Geometry) -> Option<Feature<'_>> {
    let (lon, lat) = (d.lon?, d.lat?);
    let geometry = match (geometry, d.obox_lonlat) {
        (Geometry::Box, Some(c)) => {
            let mut ring: Vec<[f64; 2]> = c.to_vec();
            if signed_area2(&ring) < 0.0 {
                ring.reverse();
            }
            ring.push(ring[0]);
            Geom::Polygon([ring])
        }
        _ => Geom::Point([lon, lat]),
    };
    Some(Feature {
        kind: "Feature",
        id: d.id,
        geometry,
        properties: d,
    })
}

/// The FeatureCollection of `dets` (those without a position are left out; a georeferenced
/// scene gives every detection one), with the AIS summary and unmatched vessels as foreign
/// members when given.
pub fn to_geojson(
    dets: &[Detection],
    geometry: Geometry,
    ais: Option<(&crate::ais::AisSummary, &[crate::ais::Unmatched])>,
) -> Vec<u8> {
    let doc = Collection {
        kind: "FeatureCollection",
        ais: ais.map(|a| a.0),
        ais_unmatched: ais.map(|a| a.1),
        features: dets.iter().filter_map(|d| feature(d, geometry)).collect(),
    };
    let mut v = serde_json::to_vec_pretty(&doc).expect("geojson serialises");
    v.push(b'\n');
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rings_are_counterclockwise() {
        let cw = [[0.0, 0.0], [0.0, 1.0], [1.0, 1.0], [1.0, 0.0]];
        assert!(signed_area2(&cw) < 0.0);
        let ccw = [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]];
        assert!(signed_area2(&ccw) > 0.0);
    }
}
