//! The georeferencing of a GeoTIFF from its tags (GeoTIFF 1.1, OGC 19-008r4).
//!
//! * ModelTiepoint (one point) + ModelPixelScale: north-up.
//! * ModelTransformation: any affine map (rotation, shear).
//! * Several ModelTiepoints without a scale: ground control points, as Sentinel-1 GRD
//!   measurement TIFFs carry their geolocation grid; interpolated over the grid ([`super::gcp`]).
//! * GTRasterTypeGeoKey: PixelIsArea (raster (0, 0) is the corner of the first pixel) or
//!   PixelIsPoint (it is the centre; like GDAL, we shift by half a pixel to the area convention).
//! * The CRS from GTModelTypeGeoKey with ProjectedCSTypeGeoKey or GeographicTypeGeoKey, as an
//!   EPSG code ([`super::crs`]). User-defined CRSs (code 32767) are not supported: the scene
//!   is then processed in pixels, with a warning.

use super::crs::Crs;
use super::gcp::{Gcp, GcpGrid};
use super::{GeoStatus, Georef, Mapping};
use std::sync::Arc;

/// The raw GeoTIFF tags of an image.
#[derive(Debug, Clone, Default)]
pub struct GeoTags {
    pub tiepoints: Option<Vec<f64>>,
    pub pixel_scale: Option<Vec<f64>>,
    pub transformation: Option<Vec<f64>>,
    pub key_directory: Option<Vec<u16>>,
    pub doubles: Option<Vec<f64>>,
    pub ascii: Option<String>,
}

/// GeoTIFF key ids and codes (OGC GeoTIFF 1.1), for the reader here and the writer
/// (`write::geotiff`).
pub mod keys {
    pub const GT_MODEL_TYPE: u16 = 1024;
    pub const GT_RASTER_TYPE: u16 = 1025;
    pub const GEOGRAPHIC_TYPE: u16 = 2048;
    pub const PROJECTED_CS_TYPE: u16 = 3072;
    pub const USER_DEFINED: u16 = 32767;
    /// GTModelTypeGeoKey values.
    pub const MODEL_PROJECTED: u16 = 1;
    pub const MODEL_GEOGRAPHIC: u16 = 2;
    /// GTRasterTypeGeoKey values.
    pub const PIXEL_IS_AREA: u16 = 1;
    pub const PIXEL_IS_POINT: u16 = 2;
}
use keys::*;

/// Short keys (stored in the directory itself, TIFFTagLocation 0) by id.
fn short_keys(dir: &[u16]) -> Result<Vec<(u16, u16)>, String> {
    if dir.len() < 4 {
        return Err("GeoKeyDirectory is shorter than its header".into());
    }
    let n = dir[3] as usize;
    if dir.len() < 4 + 4 * n {
        return Err(format!(
            "GeoKeyDirectory claims {n} keys but holds {}",
            (dir.len() - 4) / 4
        ));
    }
    Ok(dir[4..4 + 4 * n]
        .chunks_exact(4)
        .filter(|k| k[1] == 0 && k[2] == 1)
        .map(|k| (k[0], k[3]))
        .collect())
}

impl GeoTags {
    fn any(&self) -> bool {
        self.tiepoints.is_some()
            || self.pixel_scale.is_some()
            || self.transformation.is_some()
            || self.key_directory.is_some()
    }

    /// The georeferencing these tags describe.
    pub fn status(&self) -> GeoStatus {
        if !self.any() {
            return GeoStatus::None;
        }
        match self.georef() {
            Ok(g) => GeoStatus::Some(Arc::new(g)),
            Err(why) => GeoStatus::Unusable(why),
        }
    }

    fn crs(&self) -> Result<(Crs, bool), String> {
        let dir = self
            .key_directory
            .as_deref()
            .ok_or("no GeoKeyDirectory tag, so the CRS is unknown")?;
        let keys = short_keys(dir)?;
        let key = |id| keys.iter().find(|k| k.0 == id).map(|k| k.1);
        let point = key(GT_RASTER_TYPE) == Some(PIXEL_IS_POINT);
        let model = key(GT_MODEL_TYPE);
        let code = match (model, key(PROJECTED_CS_TYPE), key(GEOGRAPHIC_TYPE)) {
            (Some(MODEL_PROJECTED) | None, Some(p), _) => p,
            (Some(MODEL_GEOGRAPHIC) | None, None, Some(g)) => g,
            (Some(MODEL_GEOGRAPHIC), Some(_), Some(g)) => g,
            (Some(m), _, _) if m != MODEL_PROJECTED && m != MODEL_GEOGRAPHIC => {
                return Err(format!(
                    "GTModelTypeGeoKey {m} (only projected and geographic models are supported)"
                ))
            }
            _ => return Err("the GeoKeys name no EPSG code for the CRS".into()),
        };
        if code == USER_DEFINED {
            return Err(
                "user-defined CRS (GeoKey value 32767): only EPSG codes are supported".into(),
            );
        }
        Ok((Crs::from_epsg(code)?, point))
    }

    fn georef(&self) -> Result<Georef, String> {
        let (crs, point) = self.crs()?;
        // PixelIsPoint: raster (i, j) is the centre of pixel (i, j) = area (i + 0.5, j + 0.5).
        let shift = if point { 0.5 } else { 0.0 };
        let finite = |v: &[f64]| v.iter().all(|x| x.is_finite());
        if let Some(m) = &self.transformation {
            if m.len() != 16 || !finite(m) {
                return Err(format!(
                    "ModelTransformation has {} values (needs 16 finite)",
                    m.len()
                ));
            }
            let gt = affine_from(
                [m[3], m[0], m[1], m[7], m[4], m[5]],
                shift,
                "ModelTransformation",
            )?;
            return Ok(Georef {
                mapping: Mapping::Affine {
                    gt,
                    crs: Box::new(crs),
                },
                source: "GeoTIFF ModelTransformation".into(),
            });
        }
        let tp = self
            .tiepoints
            .as_deref()
            .ok_or("GeoKeys but no ModelTiepoint or ModelTransformation")?;
        if tp.len() < 6 || tp.len() % 6 != 0 || !finite(tp) {
            return Err(format!(
                "ModelTiepoint has {} values (needs 6 per point, finite)",
                tp.len()
            ));
        }
        if let (Some(s), 6) = (&self.pixel_scale, tp.len()) {
            if s.len() < 2 || !finite(s) || s[0] == 0.0 || s[1] == 0.0 {
                return Err(format!("bad ModelPixelScale {s:?}"));
            }
            let (i, j, x, y) = (tp[0], tp[1], tp[3], tp[4]);
            // X = x + (i' - i) sx, Y = y - (j' - j) sy, with (i', j') raster coordinates.
            let gt = affine_from(
                [x - i * s[0], s[0], 0.0, y + j * s[1], 0.0, -s[1]],
                shift,
                "ModelTiepoint",
            )?;
            return Ok(Georef {
                mapping: Mapping::Affine {
                    gt,
                    crs: Box::new(crs),
                },
                source: "GeoTIFF ModelTiepoint+ModelPixelScale".into(),
            });
        }
        if tp.len() == 6 {
            return Err("one ModelTiepoint and no ModelPixelScale".into());
        }
        // Ground control points, in model coordinates of the CRS.
        let mut gcps = Vec::with_capacity(tp.len() / 6);
        for p in tp.chunks_exact(6) {
            let (lon, lat) = crs
                .to_lonlat(p[3], p[4])
                .ok_or_else(|| format!("GCP ({}, {}) is outside its CRS", p[3], p[4]))?;
            gcps.push(Gcp {
                pixel: p[0] + shift,
                line: p[1] + shift,
                lon,
                lat,
            });
        }
        let n = gcps.len();
        let grid = GcpGrid::new(gcps).map_err(|e| format!("{n} tiepoints (GCPs): {e}"))?;
        Ok(Georef {
            mapping: Mapping::Grid(Arc::new(grid)),
            source: format!("GeoTIFF tiepoint grid ({n} GCPs)"),
        })
    }
}

/// The area-convention geotransform of raster-space geotransform `g`, shifted by `shift`
/// pixels, checked to be invertible.
fn affine_from(g: [f64; 6], shift: f64, what: &str) -> Result<[f64; 6], String> {
    let det = g[1] * g[5] - g[2] * g[4];
    if !(det.is_finite() && det != 0.0) {
        return Err(format!("{what} maps pixels to a line (not invertible)"));
    }
    Ok([
        g[0] - shift * (g[1] + g[2]),
        g[1],
        g[2],
        g[3] - shift * (g[4] + g[5]),
        g[4],
        g[5],
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(model: u16, raster: u16, code_key: u16, code: u16) -> Vec<u16> {
        vec![
            1,
            1,
            0,
            3,
            GT_MODEL_TYPE,
            0,
            1,
            model,
            GT_RASTER_TYPE,
            0,
            1,
            raster,
            code_key,
            0,
            1,
            code,
        ]
    }

    #[test]
    fn tiepoint_and_scale_area_and_point() {
        let mut t = GeoTags {
            tiepoints: Some(vec![0.0, 0.0, 0.0, 10.0, 50.0, 0.0]),
            pixel_scale: Some(vec![0.01, 0.02, 0.0]),
            key_directory: Some(keys(2, 1, GEOGRAPHIC_TYPE, 4326)),
            ..Default::default()
        };
        let g = t.georef().unwrap();
        let (lon, lat) = g.lonlat(1.0, 2.0).unwrap();
        assert!((lon - 10.01).abs() < 1e-12 && (lat - 49.96).abs() < 1e-12);
        // PixelIsPoint: the tiepoint is the centre of pixel (0, 0).
        t.key_directory = Some(keys(2, 2, GEOGRAPHIC_TYPE, 4326));
        let (lon, lat) = t.georef().unwrap().lonlat(0.5, 0.5).unwrap();
        assert!((lon - 10.0).abs() < 1e-12 && (lat - 50.0).abs() < 1e-12);
    }

    #[test]
    fn longitudes_outside_the_earth_are_unusable() {
        for lon in [1e300, -361.0, 1e10] {
            let t = GeoTags {
                tiepoints: Some(vec![0.0, 0.0, 0.0, lon, 50.0, 0.0]),
                pixel_scale: Some(vec![0.01, 0.01, 0.0]),
                key_directory: Some(keys(2, 1, GEOGRAPHIC_TYPE, 4326)),
                ..Default::default()
            };
            match t.status().checked(64, 64) {
                GeoStatus::Unusable(why) => assert!(why.contains("outside the Earth"), "{why}"),
                s => panic!("lon {lon}: {s:?}"),
            }
        }
        // 0..360 scenes stay usable.
        let t = GeoTags {
            tiepoints: Some(vec![0.0, 0.0, 0.0, 350.0, 50.0, 0.0]),
            pixel_scale: Some(vec![0.01, 0.01, 0.0]),
            key_directory: Some(keys(2, 1, GEOGRAPHIC_TYPE, 4326)),
            ..Default::default()
        };
        assert!(matches!(t.status().checked(64, 64), GeoStatus::Some(_)));
    }

    #[test]
    fn unusable_tags_say_why() {
        let t = GeoTags {
            tiepoints: Some(vec![0.0; 6]),
            pixel_scale: Some(vec![1.0, 1.0, 0.0]),
            key_directory: Some(keys(1, 1, PROJECTED_CS_TYPE, USER_DEFINED)),
            ..Default::default()
        };
        match t.status() {
            GeoStatus::Unusable(why) => assert!(why.contains("user-defined"), "{why}"),
            s => panic!("{s:?}"),
        }
        let t = GeoTags {
            tiepoints: Some(vec![0.0; 6]),
            ..Default::default()
        };
        assert!(matches!(t.status(), GeoStatus::Unusable(_)));
        assert!(matches!(GeoTags::default().status(), GeoStatus::None));
        let t = GeoTags {
            key_directory: Some(vec![1, 1, 0, 9]),
            ..Default::default()
        };
        assert!(matches!(t.status(), GeoStatus::Unusable(_)));
    }
}
