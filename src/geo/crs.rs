//! Coordinate reference systems by EPSG code, to WGS 84 longitude/latitude.
//!
//! EPSG:4326 is the identity. Every other code goes through `proj4rs` (a Rust port of PROJ's
//! projections) with the PROJ string of `crs-definitions`: Web Mercator (3857), UTM
//! (326zz/327zz) and any other projected or geographic code the table knows. Agreement with
//! PROJ (`gdaltransform`) is tested to 1e-9 degrees in `tests/geo.rs`.

use proj4rs::proj::Proj;

/// Largest longitude (degrees, either sign) a geographic CRS's model coordinates may hold:
/// scenes in 0..360 or running past the antimeridian stay within it; beyond, the position is
/// outside the Earth, as a latitude beyond 90 is.
pub const MAX_LON: f64 = 360.0;

/// A CRS we can take to WGS 84.
#[derive(Clone)]
pub struct Crs {
    pub epsg: u16,
    /// Model coordinates are degrees (longitude, latitude), not metres.
    pub geographic: bool,
    /// None for EPSG:4326 (no transformation).
    proj: Option<Proj>,
}

impl std::fmt::Debug for Crs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "EPSG:{}", self.epsg)
    }
}

/// WGS 84 longitude/latitude, the target of every transformation.
fn wgs84() -> &'static Proj {
    static P: std::sync::OnceLock<Proj> = std::sync::OnceLock::new();
    P.get_or_init(|| {
        Proj::from_proj_string("+proj=longlat +datum=WGS84 +no_defs").expect("WGS 84 definition")
    })
}

impl Crs {
    /// EPSG:4326.
    pub fn wgs84() -> Crs {
        Crs {
            epsg: 4326,
            geographic: true,
            proj: None,
        }
    }

    /// The CRS of EPSG code `epsg`, or why it cannot be used.
    pub fn from_epsg(epsg: u16) -> Result<Crs, String> {
        if epsg == 4326 {
            return Ok(Crs::wgs84());
        }
        let def = crs_definitions::from_code(epsg)
            .ok_or_else(|| format!("EPSG:{epsg} is not a CRS this build knows"))?;
        let proj = Proj::from_proj_string(def.proj4)
            .map_err(|e| format!("EPSG:{epsg} ({}): {e}", def.proj4))?;
        if proj.is_geocent() {
            return Err(format!("EPSG:{epsg} is geocentric, not a map CRS"));
        }
        Ok(Crs {
            epsg,
            geographic: proj.is_latlong(),
            proj: Some(proj),
        })
    }

    /// WGS 84 (longitude, latitude) in degrees of model coordinates (x, y), or None where the
    /// projection is undefined.
    pub fn to_lonlat(&self, x: f64, y: f64) -> Option<(f64, f64)> {
        let Some(proj) = &self.proj else {
            return (x.abs() <= MAX_LON && y.abs() <= 90.0).then_some((x, y));
        };
        if self.geographic && (x.is_nan() || x.abs() > MAX_LON) {
            return None;
        }
        let mut p = if self.geographic {
            (x.to_radians(), y.to_radians(), 0.0)
        } else {
            (x, y, 0.0)
        };
        proj4rs::transform::transform(proj, wgs84(), &mut p).ok()?;
        let (lon, lat) = (p.0.to_degrees(), p.1.to_degrees());
        (lon.is_finite() && lat.abs() <= 90.0).then_some((lon, lat))
    }

    /// Model coordinates of WGS 84 (lon, lat) in degrees, or None where undefined.
    pub fn from_lonlat(&self, lon: f64, lat: f64) -> Option<(f64, f64)> {
        let Some(proj) = &self.proj else {
            return (lon.is_finite() && lat.is_finite()).then_some((lon, lat));
        };
        let mut p = (lon.to_radians(), lat.to_radians(), 0.0);
        proj4rs::transform::transform(wgs84(), proj, &mut p).ok()?;
        let (x, y) = if self.geographic {
            (p.0.to_degrees(), p.1.to_degrees())
        } else {
            (p.0, p.1)
        };
        (x.is_finite() && y.is_finite()).then_some((x, y))
    }

    /// WGS 84 / UTM: the standard zone of (lon, lat) (no Norway or Svalbard exceptions), EPSG
    /// 326zz north of the equator, 327zz south.
    pub fn utm_containing(lon: f64, lat: f64) -> Crs {
        let zone = (((lon + 180.0) / 6.0).floor() as i64 + 1).clamp(1, 60) as u16;
        let base = if lat >= 0.0 { 32600 } else { 32700 };
        Crs::from_epsg(base + zone).expect("every UTM zone is known")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_codes() {
        assert!(Crs::from_epsg(4326).unwrap().geographic);
        assert!(Crs::from_epsg(4269).unwrap().geographic);
        for c in [3857, 32631, 32760, 2154, 3035] {
            assert!(!Crs::from_epsg(c).unwrap().geographic, "{c}");
        }
        assert!(Crs::from_epsg(1).is_err());
    }

    #[test]
    fn web_mercator_origin_and_utm_central_meridian() {
        let (lon, lat) = Crs::from_epsg(3857).unwrap().to_lonlat(0.0, 0.0).unwrap();
        assert!(lon.abs() < 1e-12 && lat.abs() < 1e-12);
        // UTM 31N: easting 500 km is the central meridian, 3 degrees east.
        let (lon, lat) = Crs::from_epsg(32631)
            .unwrap()
            .to_lonlat(500_000.0, 0.0)
            .unwrap();
        assert!((lon - 3.0).abs() < 1e-12 && lat.abs() < 1e-12);
        assert_eq!(Crs::utm_containing(151.3, -33.9).epsg, 32756);
        assert_eq!(Crs::utm_containing(-180.0, 10.0).epsg, 32601);
        assert_eq!(Crs::utm_containing(180.0, 10.0).epsg, 32660);
        // There and back.
        let utm = Crs::utm_containing(13.76, 50.66);
        let (e, n) = utm.from_lonlat(13.76, 50.66).unwrap();
        let (lon, lat) = utm.to_lonlat(e, n).unwrap();
        assert!((lon - 13.76).abs() < 1e-10 && (lat - 50.66).abs() < 1e-10);
    }
}
