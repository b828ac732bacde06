//! Georeferencing: from pixel coordinates to WGS 84 longitude/latitude and ground metres.
//!
//! * [`geotiff`]: the georeferencing of a GeoTIFF from its tags (ModelTiepoint +
//!   ModelPixelScale, ModelTransformation, many tiepoints as a GCP grid; PixelIsArea or
//!   PixelIsPoint; the CRS from the GeoKeys).
//! * [`crs`]: EPSG codes to WGS 84 through `proj4rs`.
//! * [`gcp`]: ground control point grids (Sentinel-1 GRD geolocation grids, from GeoTIFF
//!   tiepoints or from a SAFE product's annotation XML), interpolated bilinearly.
//!
//! Pixel coordinates follow the area convention everywhere: pixel (col, row) covers
//! [col, col+1) x [row, row+1), as GDAL's pixel/line coordinates do.
//!
//! Sizes on the ground come from the local Jacobian of the pixel -> (east, north) map at each
//! detection's centroid (finite differences of lon/lat, scaled by the WGS 84 radii of
//! curvature), so they are right for any CRS: degrees of EPSG:4326, Web Mercator's 1/cos(lat)
//! scale, UTM's scale factor, the ground range of a GCP grid.

pub mod crs;
pub mod gcp;
pub mod geotiff;

/// IUGG mean Earth radius R1, metres: the sphere of great-circle distances ([`distance_m`]) and
/// AIS tracks (`ais::track`).
pub const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// Great-circle (haversine) distance in metres between two points given in degrees (longitude,
/// latitude), on a sphere of radius [`EARTH_RADIUS_M`]. The one haversine of the crate: AIS
/// matching and `eval`'s distance matching both use it.
pub fn distance_m(lon1: f64, lat1: f64, lon2: f64, lat2: f64) -> f64 {
    let (phi1, phi2) = (lat1.to_radians(), lat2.to_radians());
    let dphi = phi2 - phi1;
    let dlambda = (lon2 - lon1).to_radians();
    let a = (dphi / 2.0).sin().powi(2) + phi1.cos() * phi2.cos() * (dlambda / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * a.clamp(0.0, 1.0).sqrt().asin()
}

use crate::detections::{box_corners, shape, Detection};
use std::sync::Arc;

pub use crs::Crs;

/// How pixel coordinates map to the ground.
#[derive(Debug, Clone)]
pub enum Mapping {
    /// An affine map to model coordinates of `crs`: GDAL's geotransform in the area
    /// convention, X = g0 + g1 x + g2 y, Y = g3 + g4 x + g5 y.
    Affine { gt: [f64; 6], crs: Box<Crs> },
    /// WGS 84 lon/lat interpolated over a grid of ground control points.
    Grid(Arc<gcp::GcpGrid>),
    /// No position, only a ground size: square pixels of this many metres, north up
    /// (`--pixel-size-m`, for chips without georeferencing).
    PixelSize(f64),
}

/// The georeferencing of a scene.
#[derive(Debug, Clone)]
pub struct Georef {
    pub mapping: Mapping,
    /// Where it came from, for the report ("GeoTIFF ModelTiepoint+ModelPixelScale", ...).
    pub source: String,
}

/// A scene's georeferencing as found in its file.
#[derive(Debug, Clone, Default)]
pub enum GeoStatus {
    /// The file has none.
    #[default]
    None,
    Some(Arc<Georef>),
    /// The file has some we cannot use; the reason (the scene is processed in pixels).
    Unusable(String),
}

impl GeoStatus {
    pub fn georef(&self) -> Option<&Arc<Georef>> {
        match self {
            GeoStatus::Some(g) => Some(g),
            _ => None,
        }
    }

    /// Unusable when the corners of a `width` x `height` scene have no position (placeholder
    /// georeferencing such as an identity transform in degrees).
    pub fn checked(self, width: u32, height: u32) -> GeoStatus {
        let GeoStatus::Some(g) = &self else {
            return self;
        };
        let (w, h) = (width as f64, height as f64);
        for (x, y) in [(0.0, 0.0), (w, 0.0), (0.0, h), (w, h)] {
            if g.has_position() && g.lonlat(x, y).is_none() {
                return GeoStatus::Unusable(format!(
                    "{} ({}) puts pixel ({x}, {y}) outside the Earth",
                    g.source,
                    g.crs_name()
                ));
            }
        }
        self
    }
}

/// WGS 84 ellipsoid.
const WGS84_A: f64 = 6_378_137.0;
const WGS84_F: f64 = 1.0 / 298.257_223_563;

/// Metres per degree of latitude and of longitude on the WGS 84 ellipsoid at latitude `lat`:
/// `M pi / 180` and `N cos(lat) pi / 180`, with the radii of curvature
/// `M = a (1 - e^2) / (1 - e^2 sin^2 lat)^(3/2)` and `N = a / sqrt(1 - e^2 sin^2 lat)`.
/// (`libm`'s sin and cos: the same on every platform, so generated scenes are too.)
pub fn metres_per_degree(lat: f64) -> (f64, f64) {
    let e2 = WGS84_F * (2.0 - WGS84_F);
    let phi = lat.to_radians();
    let s = libm::sin(phi);
    let w = 1.0 - e2 * s * s;
    let m = WGS84_A * (1.0 - e2) / (w * w.sqrt());
    let n = WGS84_A / w.sqrt();
    (m.to_radians(), (n * libm::cos(phi)).to_radians())
}

impl Georef {
    /// North-up square pixels of `metres` (no position).
    pub fn pixel_size(metres: f64) -> Georef {
        Georef {
            mapping: Mapping::PixelSize(metres),
            source: format!("--pixel-size-m {metres}"),
        }
    }

    /// The CRS as a short name ("EPSG:3857", "GCP grid (WGS 84)", ...).
    pub fn crs_name(&self) -> String {
        match &self.mapping {
            Mapping::Affine { crs, .. } => format!("EPSG:{}", crs.epsg),
            Mapping::Grid(_) => "EPSG:4326 (GCP grid)".into(),
            Mapping::PixelSize(_) => "none (pixel size only)".into(),
        }
    }

    /// Whether positions (lon/lat) are known, not only sizes.
    pub fn has_position(&self) -> bool {
        !matches!(self.mapping, Mapping::PixelSize(_))
    }

    /// WGS 84 (lon, lat) in degrees of pixel coordinates (x, y).
    pub fn lonlat(&self, x: f64, y: f64) -> Option<(f64, f64)> {
        match &self.mapping {
            Mapping::Affine { gt, crs } => {
                let mx = gt[0] + gt[1] * x + gt[2] * y;
                let my = gt[3] + gt[4] * x + gt[5] * y;
                crs.to_lonlat(mx, my)
            }
            Mapping::Grid(g) => Some(g.lonlat(x, y)),
            Mapping::PixelSize(_) => None,
        }
    }

    /// Pixel coordinates (x, y), area convention, of WGS 84 (lon, lat) in degrees: the inverse
    /// of [`Georef::lonlat`]. Affine: the CRS's forward projection (`proj4rs`), then the
    /// inverse of the geotransform; GCP grid: Newton's method on the interpolated map
    /// ([`gcp::GcpGrid::pixel_of`]). `None` without a position (`--pixel-size-m`), where the
    /// projection is undefined, or for a singular geotransform. Longitudes are not wrapped: a
    /// scene in EPSG:4326 whose geotransform runs past 180 degrees gets x for lon in [-180, 180].
    pub fn pixel_of(&self, lon: f64, lat: f64) -> Option<(f64, f64)> {
        match &self.mapping {
            Mapping::Affine { gt, crs } => {
                let (mx, my) = crs.from_lonlat(lon, lat)?;
                let det = gt[1] * gt[5] - gt[2] * gt[4];
                if det == 0.0 || !det.is_finite() {
                    return None;
                }
                let (dx, dy) = (mx - gt[0], my - gt[3]);
                let x = (gt[5] * dx - gt[2] * dy) / det;
                let y = (gt[1] * dy - gt[4] * dx) / det;
                (x.is_finite() && y.is_finite()).then_some((x, y))
            }
            Mapping::Grid(g) => g.pixel_of(lon, lat),
            Mapping::PixelSize(_) => None,
        }
    }

    /// Metres east and north per pixel step at (x, y): [[dE/dx, dE/dy], [dN/dx, dN/dy]].
    pub fn ground_jacobian(&self, x: f64, y: f64) -> Option<[[f64; 2]; 2]> {
        if let Mapping::PixelSize(m) = self.mapping {
            return Some([[m, 0.0], [0.0, -m]]);
        }
        const H: f64 = 0.5;
        let (_, lat) = self.lonlat(x, y)?;
        let d = |a: (f64, f64), b: (f64, f64)| -> [f64; 2] {
            // Longitude differences across the antimeridian.
            let dlon = (b.0 - a.0 + 540.0).rem_euclid(360.0) - 180.0;
            [dlon, b.1 - a.1]
        };
        let dx = d(self.lonlat(x - H, y)?, self.lonlat(x + H, y)?);
        let dy = d(self.lonlat(x, y - H)?, self.lonlat(x, y + H)?);
        let (m_lat, m_lon) = metres_per_degree(lat);
        let (kx, ky) = (m_lon / (2.0 * H), m_lat / (2.0 * H));
        let j = [[dx[0] * kx, dy[0] * kx], [dx[1] * ky, dy[1] * ky]];
        j.iter().flatten().all(|v| v.is_finite()).then_some(j)
    }

    /// Fill a detection's lon/lat, sizes in metres, heading and oriented box on the ground.
    pub fn locate(&self, d: &mut Detection) {
        if let Some((lon, lat)) = self.lonlat(d.x, d.y) {
            d.lon = Some(lon);
            d.lat = Some(lat);
        }
        let Some(j) = self.ground_jacobian(d.x, d.y) else {
            return;
        };
        let s = shape(d.cov, j);
        d.length_m = Some(s.length);
        d.width_m = Some(s.width);
        d.heading_deg = Some(s.heading_deg);
        d.obox = box_corners(d.x, d.y, &s, j);
        if self.has_position() {
            let mut ll = [[0.0; 2]; 4];
            for (o, c) in ll.iter_mut().zip(&d.obox) {
                let Some((lon, lat)) = self.lonlat(c[0], c[1]) else {
                    return;
                };
                *o = [lon, lat];
            }
            d.obox_lonlat = Some(ll);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn radii_of_curvature() {
        // At the equator M = a (1 - e^2), N = a.
        let (m, n) = metres_per_degree(0.0);
        let e2 = WGS84_F * (2.0 - WGS84_F);
        assert!((m - (WGS84_A * (1.0 - e2)).to_radians()).abs() < 1e-6);
        assert!((n - WGS84_A.to_radians()).abs() < 1e-6);
        // One degree of latitude near 45 N is about 111.13 km.
        let (m, _) = metres_per_degree(45.0);
        assert!((m - 111_132.0).abs() < 2.0);
    }

    /// `pixel_of(lonlat(p)) == p` within `tol` px over a spread of points in and around a
    /// `w` x `h` scene.
    fn round_trips(g: &Georef, w: f64, h: f64, tol: f64) {
        for i in 0..=12 {
            for j in 0..=12 {
                let (x, y) = (w * (i as f64 / 10.0 - 0.1), h * (j as f64 / 10.0 - 0.1));
                let (lon, lat) = g.lonlat(x, y).unwrap();
                let (px, py) = g.pixel_of(lon, lat).unwrap();
                assert!(
                    (px - x).abs() < tol && (py - y).abs() < tol,
                    "{}: ({x}, {y}) -> ({lon}, {lat}) -> ({px}, {py})",
                    g.crs_name()
                );
            }
        }
    }

    #[test]
    fn pixel_of_inverts_lonlat() {
        let affine = |gt: [f64; 6], epsg: u16| Georef {
            mapping: Mapping::Affine {
                gt,
                crs: Box::new(Crs::from_epsg(epsg).unwrap()),
            },
            source: String::new(),
        };
        // North up in degrees, Web Mercator, rotated UTM, Lambert-93.
        round_trips(
            &affine([10.0, 1e-4, 0.0, 55.0, 0.0, -1e-4], 4326),
            3000.0,
            2000.0,
            1e-6,
        );
        round_trips(
            &affine([-848632.56, 10.003, 0.0, 3978375.33, 0.0, -10.006], 3857),
            511.0,
            339.0,
            1e-6,
        );
        round_trips(
            &affine([500_000.0, 9.8, 1.7, 5_600_000.0, 1.7, -9.8], 32633),
            10980.0,
            10980.0,
            1e-6,
        );
        round_trips(
            &affine([650_000.0, 20.0, 0.0, 6_860_000.0, 0.0, -20.0], 2154),
            5000.0,
            5000.0,
            1e-6,
        );
        // A skewed, curved GCP grid (lon and lat not affine in pixels), across the antimeridian.
        let mut pts = Vec::new();
        for r in 0..6 {
            for c in 0..5 {
                let (px, ln) = (c as f64 * 250.0, r as f64 * 400.0);
                let lon = 179.5 + 0.001 * px + 0.0001 * ln + 1e-7 * px * ln;
                let lat = -20.0 - 0.0009 * ln + 0.0002 * px + 2e-8 * px * px;
                pts.push(gcp::Gcp {
                    pixel: px,
                    line: ln,
                    lon: (lon + 180.0).rem_euclid(360.0) - 180.0,
                    lat,
                });
            }
        }
        let grid = Georef {
            mapping: Mapping::Grid(Arc::new(gcp::GcpGrid::new(pts).unwrap())),
            source: String::new(),
        };
        round_trips(&grid, 1000.0, 2000.0, 1e-6);
        assert!(Georef::pixel_size(10.0).pixel_of(1.0, 2.0).is_none());
        // Web Mercator has no pole.
        let wm = affine([0.0, 10.0, 0.0, 0.0, 0.0, -10.0], 3857);
        assert!(wm.pixel_of(0.0, 90.0).is_none());
    }

    #[test]
    fn web_mercator_pixels_shrink_by_cos_lat() {
        let crs = Crs::from_epsg(3857).unwrap();
        // 10 m Web Mercator pixels at 60 N: about 5 m on the ground.
        let y60 = 6_378_137.0
            * (std::f64::consts::FRAC_PI_4 + 30f64.to_radians())
                .tan()
                .ln();
        let g = Georef {
            mapping: Mapping::Affine {
                gt: [0.0, 10.0, 0.0, y60, 0.0, -10.0],
                crs: Box::new(crs),
            },
            source: String::new(),
        };
        let j = g.ground_jacobian(0.0, 0.0).unwrap();
        assert!((j[0][0] - 5.0).abs() < 0.02, "{j:?}");
        assert!((j[1][1] + 5.0).abs() < 0.03, "{j:?}");
        assert!(j[0][1].abs() < 1e-9 && j[1][0].abs() < 1e-9);
    }
}
