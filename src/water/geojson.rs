//! [`WaterMask::from_land_geojson`]: land polygons in longitude/latitude (GeoJSON, RFC 7946)
//! rasterized on a scene grid.
//!
//! * **Input:** a FeatureCollection, a Feature, a GeometryCollection or a bare geometry;
//!   every Polygon and MultiPolygon is land (other geometries are ignored), coordinates are
//!   WGS 84 `[lon, lat]` (a third value, the height, is ignored).
//! * **Clipping:** each ring is first clipped (Sutherland-Hodgman) in lon/lat to the scene's
//!   lon/lat bounding box (its edges sampled, then widened by 10 % and 0.01 degree), so
//!   continent-sized polygons cost only their part near the scene and vertices far away never
//!   go through the projection (where it may be undefined). Clipping a ring to a convex window
//!   keeps its area within the window, so the fill below is unchanged inside the scene. A scene
//!   whose edges cross the antimeridian is not clipped.
//! * **Projection:** every vertex goes to pixel coordinates through
//!   [`crate::geo::Georef::pixel_of`]; edges are straight lines **in pixel space** between
//!   projected vertices, which is right for coastline polygons with dense vertices (tens of
//!   metres apart), not for a long edge meant as a straight line in lon/lat.
//! * **Fill:** a scanline fill at the pixel centres: a pixel is land when its centre is inside
//!   a polygon by the **even-odd rule** over the polygon's rings (outer ring and holes, so
//!   holes are water whichever way the rings turn), and the polygons are united (overlapping
//!   polygons stay land). A centre exactly on an edge counts as inside on the left and top of
//!   a span, outside on the right and bottom (half-open spans), so polygons that share an edge
//!   cover each centre once. Cost: O(edges log edges + land spans), with an active edge list.

use super::edt::clear_span;
use super::WaterMask;
use crate::error::{Error, Result};
use crate::geo::Georef;
use serde_json::Value;
use std::path::Path;

/// Largest GeoJSON file read (parsed whole): clip world-wide land polygons to the area first
/// (`ogr2ogr -clipsrc xmin ymin xmax ymax`).
pub const MAX_GEOJSON_BYTES: u64 = 1 << 30;

/// A polygon: rings of `[lon, lat]` (or pixel) points, the first the outer ring.
pub type Polygon = Vec<Vec<[f64; 2]>>;

impl WaterMask {
    /// Land polygons of the GeoJSON file `path` rasterized on a `width` x `height` scene grid
    /// georeferenced by `georef`: water everywhere except the pixels whose centre is inside a
    /// polygon (see [`crate::water::geojson`] for the rules). Errors naming the file: not
    /// JSON, no Polygon or MultiPolygon, a bad coordinate (not a number, not finite, latitude
    /// outside [-90, 90], a ring of fewer than 3 points), a vertex the georeferencing cannot
    /// place, or a scene without a position (`--pixel-size-m` only).
    pub fn from_land_geojson(
        path: &Path,
        width: u32,
        height: u32,
        georef: &Georef,
    ) -> Result<WaterMask> {
        let fail = |msg: String| Error::Format {
            path: path.to_owned(),
            msg,
        };
        if !georef.has_position() {
            return Err(Error::NoGeoref {
                path: path.to_owned(),
                msg: format!(
                    "land polygons need a georeferenced scene ({} gives no position)",
                    georef.source
                ),
            });
        }
        let meta = std::fs::metadata(path).map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })?;
        if meta.len() > MAX_GEOJSON_BYTES {
            return Err(fail(format!(
                "{} bytes is more than the {MAX_GEOJSON_BYTES} read; clip the land polygons to \
                 the scene first (ogr2ogr -clipsrc)",
                meta.len()
            )));
        }
        let text = std::fs::read(path).map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })?;
        let json: Value =
            serde_json::from_slice(&text).map_err(|e| fail(format!("not JSON: {e}")))?;
        drop(text);
        let mut polys = Vec::new();
        collect(&json, "", &mut polys).map_err(fail)?;
        if polys.is_empty() {
            return Err(fail(
                "no Polygon or MultiPolygon (land polygons expected)".into(),
            ));
        }
        let window = scene_window(georef, width, height);
        let mut m = WaterMask::filled_for(Some(path), width, height, true)?;
        let mut px: Polygon = Vec::new();
        for (where_, poly) in &polys {
            px.clear();
            for (r, ring) in poly.iter().enumerate() {
                let clipped = match window {
                    Some(win) => clip_ring(ring, win),
                    None => ring.clone(),
                };
                if clipped.len() < 3 {
                    continue;
                }
                let mut out = Vec::with_capacity(clipped.len());
                for [lon, lat] in clipped {
                    let p = georef.pixel_of(lon, lat).ok_or_else(|| {
                        fail(format!(
                            "{where_} ring {r}: vertex ({}, {}) has no position in the \
                             scene's {}",
                            num(lon),
                            num(lat),
                            georef.crs_name()
                        ))
                    })?;
                    out.push([p.0, p.1]);
                }
                px.push(out);
            }
            fill_polygon(&mut m, &px);
        }
        Ok(m)
    }

    /// Land polygons already in pixel coordinates (area convention), each filled by the
    /// even-odd rule over its rings and united, as [`WaterMask::from_land_geojson`] does after
    /// projecting: water everywhere else.
    pub fn from_pixel_polygons(width: u32, height: u32, polys: &[Polygon]) -> Result<WaterMask> {
        let mut m = WaterMask::filled(width, height, true)?;
        for p in polys {
            fill_polygon(&mut m, p);
        }
        Ok(m)
    }
}

/// Every Polygon / MultiPolygon under `v`, with where it was found ("feature 3").
fn collect(
    v: &Value,
    at: &str,
    out: &mut Vec<(String, Polygon)>,
) -> std::result::Result<(), String> {
    let here = |s: &str| {
        if at.is_empty() {
            s.to_owned()
        } else {
            format!("{at}: {s}")
        }
    };
    let ty = v
        .get("type")
        .and_then(Value::as_str)
        .ok_or_else(|| here("an object without a \"type\" (not GeoJSON)"))?;
    let coords = || {
        v.get("coordinates")
            .ok_or_else(|| here(&format!("{ty} without \"coordinates\"")))
    };
    match ty {
        "FeatureCollection" => {
            let fs = v
                .get("features")
                .and_then(Value::as_array)
                .ok_or_else(|| here("FeatureCollection without a \"features\" array"))?;
            for (i, f) in fs.iter().enumerate() {
                collect(f, &format!("feature {i}"), out)?;
            }
        }
        "Feature" => match v.get("geometry") {
            None | Some(Value::Null) => {}
            Some(g) => collect(g, at, out)?,
        },
        "GeometryCollection" => {
            let gs = v
                .get("geometries")
                .and_then(Value::as_array)
                .ok_or_else(|| here("GeometryCollection without a \"geometries\" array"))?;
            for (i, g) in gs.iter().enumerate() {
                collect(g, &here(&format!("geometry {i}")), out)?;
            }
        }
        "Polygon" => {
            let name = here("Polygon");
            out.push((name.clone(), polygon(coords()?, &name)?));
        }
        "MultiPolygon" => {
            let parts = coords()?
                .as_array()
                .ok_or_else(|| here("MultiPolygon coordinates are not an array"))?;
            for (i, p) in parts.iter().enumerate() {
                let name = here(&format!("MultiPolygon part {i}"));
                out.push((name.clone(), polygon(p, &name)?));
            }
        }
        "Point" | "MultiPoint" | "LineString" | "MultiLineString" => {}
        other => return Err(here(&format!("unknown GeoJSON type \"{other}\""))),
    }
    Ok(())
}

/// A coordinate for a message: as written when of a usual size, else in scientific notation
/// (a latitude of 1e300 printed plainly is 301 digits).
fn num(v: f64) -> String {
    if v == 0.0 || (1e-6..1e7).contains(&v.abs()) {
        format!("{v}")
    } else {
        format!("{v:.6e}")
    }
}

/// The rings of a Polygon's coordinates, checked.
fn polygon(c: &Value, name: &str) -> std::result::Result<Polygon, String> {
    let rings = c
        .as_array()
        .ok_or_else(|| format!("{name}: coordinates are not an array of rings"))?;
    if rings.is_empty() {
        return Err(format!("{name}: no rings"));
    }
    let mut out = Vec::with_capacity(rings.len());
    for (r, ring) in rings.iter().enumerate() {
        let pts = ring
            .as_array()
            .ok_or_else(|| format!("{name} ring {r}: not an array of positions"))?;
        let mut v: Vec<[f64; 2]> = Vec::with_capacity(pts.len());
        for (i, p) in pts.iter().enumerate() {
            let bad = |why: &str| format!("{name} ring {r} position {i}: {why}");
            let a = p.as_array().ok_or_else(|| bad("not an array [lon, lat]"))?;
            if a.len() < 2 {
                return Err(bad("fewer than 2 numbers"));
            }
            let lon = a[0]
                .as_f64()
                .ok_or_else(|| bad("longitude is not a number"))?;
            let lat = a[1]
                .as_f64()
                .ok_or_else(|| bad("latitude is not a number"))?;
            if !lon.is_finite() || !lat.is_finite() {
                return Err(bad("not finite"));
            }
            if lat.abs() > 90.0 {
                return Err(bad(&format!("latitude {} outside [-90, 90]", num(lat))));
            }
            v.push([lon, lat]);
        }
        // RFC 7946 rings repeat the first position last; the fill closes rings itself.
        if v.len() > 1 && v.first() == v.last() {
            v.pop();
        }
        if v.len() < 3 {
            return Err(format!(
                "{name} ring {r}: {} distinct positions, a ring needs at least 3",
                v.len()
            ));
        }
        out.push(v);
    }
    Ok(out)
}

/// The scene's lon/lat bounding box, widened: `[lon0, lat0, lon1, lat1]`; `None` when its edges
/// cross the antimeridian or cannot all be placed (then nothing is clipped).
fn scene_window(g: &Georef, width: u32, height: u32) -> Option<[f64; 4]> {
    const N: u32 = 32;
    let (w, h) = (width as f64, height as f64);
    let mut pts = Vec::with_capacity(4 * N as usize);
    for i in 0..N {
        let t = i as f64 / N as f64;
        pts.push((w * t, 0.0));
        pts.push((w, h * t));
        pts.push((w * (1.0 - t), h));
        pts.push((0.0, h * (1.0 - t)));
    }
    let mut b = [f64::MAX, f64::MAX, f64::MIN, f64::MIN];
    let mut prev: Option<f64> = None;
    for (x, y) in pts {
        let (lon, lat) = g.lonlat(x, y)?;
        if let Some(p) = prev {
            if (lon - p).abs() > 180.0 {
                return None;
            }
        }
        prev = Some(lon);
        b = [b[0].min(lon), b[1].min(lat), b[2].max(lon), b[3].max(lat)];
    }
    let (mx, my) = (0.1 * (b[2] - b[0]) + 0.01, 0.1 * (b[3] - b[1]) + 0.01);
    Some([
        b[0] - mx,
        (b[1] - my).max(-90.0),
        b[2] + mx,
        (b[3] + my).min(90.0),
    ])
}

/// Sutherland-Hodgman clipping of a closed ring to the box `[x0, y0, x1, y1]`.
fn clip_ring(ring: &[[f64; 2]], b: [f64; 4]) -> Vec<[f64; 2]> {
    // Quick accept: the ring is inside the box.
    if ring
        .iter()
        .all(|p| p[0] >= b[0] && p[0] <= b[2] && p[1] >= b[1] && p[1] <= b[3])
    {
        return ring.to_vec();
    }
    let mut cur = ring.to_vec();
    // Each side: (axis, bound, keep the side >= bound).
    for (axis, bound, keep_ge) in [
        (0, b[0], true),
        (0, b[2], false),
        (1, b[1], true),
        (1, b[3], false),
    ] {
        if cur.is_empty() {
            break;
        }
        let inside = |p: &[f64; 2]| {
            if keep_ge {
                p[axis] >= bound
            } else {
                p[axis] <= bound
            }
        };
        let mut out = Vec::with_capacity(cur.len() + 4);
        for i in 0..cur.len() {
            let (a, c) = (cur[(i + cur.len() - 1) % cur.len()], cur[i]);
            let (ia, ic) = (inside(&a), inside(&c));
            if ia != ic {
                let t = (bound - a[axis]) / (c[axis] - a[axis]);
                let mut p = [a[0] + t * (c[0] - a[0]), a[1] + t * (c[1] - a[1])];
                p[axis] = bound;
                out.push(p);
            }
            if ic {
                out.push(c);
            }
        }
        cur = out;
    }
    cur
}

/// An edge of a polygon for the scanline fill: it crosses the centres of rows `r0..r1`.
#[derive(Debug, Clone, Copy)]
struct Edge {
    r0: u32,
    r1: u32,
    /// x at y = y0, and dx/dy.
    x0: f64,
    y0: f64,
    slope: f64,
}

/// Clear (make land) the pixels of `m` whose centre is inside polygon `rings` (pixel
/// coordinates) by the even-odd rule.
fn fill_polygon(m: &mut WaterMask, rings: &[Vec<[f64; 2]>]) {
    let (w, h) = (m.width(), m.height());
    let mut edges: Vec<Edge> = Vec::new();
    for ring in rings {
        for i in 0..ring.len() {
            let (a, b) = (ring[i], ring[(i + 1) % ring.len()]);
            let (lo, hi) = if a[1] <= b[1] { (a, b) } else { (b, a) };
            if lo[1] == hi[1] || !(lo[1].is_finite() && hi[1].is_finite()) {
                continue;
            }
            // Rows whose centre y + 0.5 lies in [lo, hi): first ceil(lo - 0.5), end ceil(hi - 0.5).
            let first = (lo[1] - 0.5).ceil().max(0.0);
            let end = (hi[1] - 0.5).ceil().min(h as f64);
            if first >= end {
                continue;
            }
            edges.push(Edge {
                r0: first as u32,
                r1: end as u32,
                x0: lo[0],
                y0: lo[1],
                slope: (hi[0] - lo[0]) / (hi[1] - lo[1]),
            });
        }
    }
    if edges.is_empty() {
        return;
    }
    edges.sort_by_key(|e| e.r0);
    let mut active: Vec<Edge> = Vec::new();
    let mut xs: Vec<f64> = Vec::new();
    let mut next = 0;
    let mut y = edges[0].r0;
    while y < h && (next < edges.len() || !active.is_empty()) {
        if active.is_empty() && next < edges.len() && edges[next].r0 > y {
            y = edges[next].r0;
        }
        while next < edges.len() && edges[next].r0 <= y {
            active.push(edges[next]);
            next += 1;
        }
        active.retain(|e| e.r1 > y);
        let yc = y as f64 + 0.5;
        xs.clear();
        xs.extend(active.iter().map(|e| e.x0 + (yc - e.y0) * e.slope));
        xs.sort_by(f64::total_cmp);
        let row = m.row_words_mut(y);
        for pair in xs.chunks_exact(2) {
            // Columns whose centre x + 0.5 lies in [a, b).
            let a = (pair[0] - 0.5).ceil().clamp(0.0, w as f64) as u32;
            let b = (pair[1] - 0.5).ceil().clamp(0.0, w as f64) as u32;
            clear_span(row, a as usize, b as usize);
        }
        y += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huge_coordinates_are_printed_short() {
        let c: Value = serde_json::from_str("[[[0, 1e300], [1, 0], [0, 1]]]").unwrap();
        let e = polygon(&c, "feature 0").unwrap_err();
        assert_eq!(
            e,
            "feature 0 ring 0 position 0: latitude 1.000000e300 outside [-90, 90]"
        );
        assert_eq!(num(-91.5), "-91.5");
        assert_eq!(num(1e-300), "1.000000e-300");
    }

    #[test]
    fn clipping_keeps_the_area_inside() {
        let sq = vec![[-5.0, -5.0], [5.0, -5.0], [5.0, 5.0], [-5.0, 5.0]];
        let c = clip_ring(&sq, [0.0, 0.0, 10.0, 10.0]);
        let area = |r: &[[f64; 2]]| {
            (0..r.len())
                .map(|i| {
                    let (a, b) = (r[i], r[(i + 1) % r.len()]);
                    a[0] * b[1] - a[1] * b[0]
                })
                .sum::<f64>()
                .abs()
                / 2.0
        };
        assert!((area(&c) - 25.0).abs() < 1e-12, "{c:?}");
        assert!(clip_ring(&sq, [20.0, 20.0, 30.0, 30.0]).is_empty());
        assert_eq!(clip_ring(&sq, [-10.0, -10.0, 10.0, 10.0]), sq);
    }

    #[test]
    fn spans_and_rows() {
        let mut row = vec![u64::MAX; 3];
        clear_span(&mut row, 3, 130);
        assert_eq!(row[0], 0b111);
        assert_eq!(row[1], 0);
        assert_eq!(row[2], !0b11);
        // A square from (2, 3) to (7, 9): 5 x 6 centres.
        let m = WaterMask::from_pixel_polygons(
            10,
            12,
            &[vec![vec![[2.0, 3.0], [7.0, 3.0], [7.0, 9.0], [2.0, 9.0]]]],
        )
        .unwrap();
        assert_eq!(m.count_water(), 120 - 30);
        assert!(!m.is_water(2, 3) && !m.is_water(6, 8) && m.is_water(7, 8) && m.is_water(6, 9));
    }
}
