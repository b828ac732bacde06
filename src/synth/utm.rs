//! WGS 84 <-> UTM (transverse Mercator), Krüger's series to sixth order in the third flattening
//! `n` (Karney 2011: well under a millimetre within a zone, and beyond).
//! The transcendental functions come from `libm` (the same results on every platform).

use std::f64::consts::PI;

const A: f64 = 6_378_137.0;
const F: f64 = 1.0 / 298.257_223_563;
const K0: f64 = 0.9996;
const FALSE_EASTING: f64 = 500_000.0;
const FALSE_NORTHING_SOUTH: f64 = 10_000_000.0;

/// A UTM zone: number 1..=60 and hemisphere.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UtmZone {
    pub zone: u8,
    pub north: bool,
}

impl UtmZone {
    /// The standard zone of a point (no Norway / Svalbard exceptions).
    pub fn containing(lon: f64, lat: f64) -> UtmZone {
        let z = ((lon + 180.0) / 6.0).floor() as i64 + 1;
        UtmZone {
            zone: z.clamp(1, 60) as u8,
            north: lat >= 0.0,
        }
    }
    /// The EPSG code of WGS 84 / UTM: 326zz north, 327zz south.
    pub fn epsg(self) -> u16 {
        let base: u16 = if self.north { 32600 } else { 32700 };
        base + self.zone as u16
    }
    fn central_meridian(self) -> f64 {
        (self.zone as f64 - 1.0) * 6.0 - 180.0 + 3.0
    }
    fn false_northing(self) -> f64 {
        if self.north {
            0.0
        } else {
            FALSE_NORTHING_SOUTH
        }
    }
}

struct Series {
    n: f64,
    a_rect: f64,
    alpha: [f64; 6],
    beta: [f64; 6],
    delta: [f64; 6],
}

fn series() -> Series {
    let n = F / (2.0 - F);
    let (n2, n3) = (n * n, n * n * n);
    let (n4, n5, n6) = (n3 * n, n3 * n2, n3 * n3);
    Series {
        n,
        a_rect: A / (1.0 + n) * (1.0 + n2 / 4.0 + n4 / 64.0 + n6 / 256.0),
        alpha: [
            n / 2.0 - 2.0 * n2 / 3.0 + 5.0 * n3 / 16.0 + 41.0 * n4 / 180.0 - 127.0 * n5 / 288.0
                + 7891.0 * n6 / 37800.0,
            13.0 * n2 / 48.0 - 3.0 * n3 / 5.0 + 557.0 * n4 / 1440.0 + 281.0 * n5 / 630.0
                - 1983433.0 * n6 / 1935360.0,
            61.0 * n3 / 240.0 - 103.0 * n4 / 140.0
                + 15061.0 * n5 / 26880.0
                + 167603.0 * n6 / 181440.0,
            49561.0 * n4 / 161280.0 - 179.0 * n5 / 168.0 + 6601661.0 * n6 / 7257600.0,
            34729.0 * n5 / 80640.0 - 3418889.0 * n6 / 1995840.0,
            212378941.0 * n6 / 319334400.0,
        ],
        beta: [
            n / 2.0 - 2.0 * n2 / 3.0 + 37.0 * n3 / 96.0 - n4 / 360.0 - 81.0 * n5 / 512.0
                + 96199.0 * n6 / 604800.0,
            n2 / 48.0 + n3 / 15.0 - 437.0 * n4 / 1440.0 + 46.0 * n5 / 105.0
                - 1118711.0 * n6 / 3870720.0,
            17.0 * n3 / 480.0 - 37.0 * n4 / 840.0 - 209.0 * n5 / 4480.0 + 5569.0 * n6 / 90720.0,
            4397.0 * n4 / 161280.0 - 11.0 * n5 / 504.0 - 830251.0 * n6 / 7257600.0,
            4583.0 * n5 / 161280.0 - 108847.0 * n6 / 3991680.0,
            20648693.0 * n6 / 638668800.0,
        ],
        delta: [
            2.0 * n - 2.0 * n2 / 3.0 - 2.0 * n3 + 116.0 * n4 / 45.0 + 26.0 * n5 / 45.0
                - 2854.0 * n6 / 675.0,
            7.0 * n2 / 3.0 - 8.0 * n3 / 5.0 - 227.0 * n4 / 45.0
                + 2704.0 * n5 / 315.0
                + 2323.0 * n6 / 945.0,
            56.0 * n3 / 15.0 - 136.0 * n4 / 35.0 - 1262.0 * n5 / 105.0 + 73814.0 * n6 / 2835.0,
            4279.0 * n4 / 630.0 - 332.0 * n5 / 35.0 - 399572.0 * n6 / 14175.0,
            4174.0 * n5 / 315.0 - 144838.0 * n6 / 6237.0,
            601676.0 * n6 / 22275.0,
        ],
    }
}

/// Longitude / latitude (degrees) to easting / northing (metres) in `zone`.
pub fn to_utm(lon: f64, lat: f64, zone: UtmZone) -> (f64, f64) {
    let s = series();
    let phi = lat * PI / 180.0;
    let dl = (lon - zone.central_meridian()) * PI / 180.0;
    let c = 2.0 * s.n.sqrt() / (1.0 + s.n);
    let sp = libm::sin(phi);
    let t = libm::sinh(libm::atanh(sp) - c * libm::atanh(c * sp));
    let xi_p = libm::atan2(t, libm::cos(dl));
    let eta_p = libm::atanh(libm::sin(dl) / (1.0 + t * t).sqrt());
    let (mut xi, mut eta) = (xi_p, eta_p);
    for (j, a) in s.alpha.iter().enumerate() {
        let k = 2.0 * (j + 1) as f64;
        xi += a * libm::sin(k * xi_p) * libm::cosh(k * eta_p);
        eta += a * libm::cos(k * xi_p) * libm::sinh(k * eta_p);
    }
    (
        FALSE_EASTING + K0 * s.a_rect * eta,
        zone.false_northing() + K0 * s.a_rect * xi,
    )
}

/// Easting / northing (metres) in `zone` to longitude / latitude (degrees).
pub fn from_utm(e: f64, n: f64, zone: UtmZone) -> (f64, f64) {
    let s = series();
    let xi = (n - zone.false_northing()) / (K0 * s.a_rect);
    let eta = (e - FALSE_EASTING) / (K0 * s.a_rect);
    let (mut xi_p, mut eta_p) = (xi, eta);
    for (j, b) in s.beta.iter().enumerate() {
        let k = 2.0 * (j + 1) as f64;
        xi_p -= b * libm::sin(k * xi) * libm::cosh(k * eta);
        eta_p -= b * libm::cos(k * xi) * libm::sinh(k * eta);
    }
    let chi = libm::asin(libm::sin(xi_p) / libm::cosh(eta_p));
    let mut phi = chi;
    for (j, d) in s.delta.iter().enumerate() {
        phi += d * libm::sin(2.0 * (j + 1) as f64 * chi);
    }
    let lon =
        zone.central_meridian() + libm::atan2(libm::sinh(eta_p), libm::cos(xi_p)) * 180.0 / PI;
    (lon, phi * 180.0 / PI)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_points() {
        let z = UtmZone::containing(3.0, 52.0);
        assert_eq!((z.zone, z.north, z.epsg()), (31, true, 32631));
        assert_eq!(UtmZone::containing(-70.3, -33.5).epsg(), 32719);
        assert_eq!(UtmZone::containing(179.9, 0.0).zone, 60);
        // PROJ 9 (gdaltransform -s_srs EPSG:4326 -t_srs EPSG:326zz / 327zz): within 0.1 mm.
        for (lon, lat, e, n) in [
            (3.0, 52.0, 500_000.000_000_001, 5_761_038.212_590_42),
            (0.5, 1.0, 221_765.836_540_159, 110_636.148_382_486),
            (5.9, 60.0, 661_720.750_891_876, 6_654_956.719_943_62),
            (151.2, -33.9, 333_568.941_011_552, 6_247_473.336_844_02),
        ] {
            let z = UtmZone::containing(lon, lat);
            let (ge, gn) = to_utm(lon, lat, z);
            assert!(
                (ge - e).abs() < 1e-4 && (gn - n).abs() < 1e-4,
                "{lon} {lat}: {ge} {gn}"
            );
            let (lo, la) = from_utm(e, n, z);
            // 1e-9 degrees: about 0.1 mm.
            assert!(
                (lo - lon).abs() < 1e-9 && (la - lat).abs() < 1e-9,
                "{lon} {lat}: {lo} {la}"
            );
        }
    }
}
