//! Length, width and orientation from second moments, on filled ellipses of known size and
//! angle, through both backends and tiles that cut the ellipse.

mod common;
use common::*;
use vesselscan::tiling::Connectivity::Eight;

/// A filled ellipse of full axes `l` x `w` pixels, major axis `deg` clockwise from up, centred
/// at (cx, cy), value 1000 on 0.
fn ellipse(width: u32, height: u32, cx: f64, cy: f64, l: f64, w: f64, deg: f64) -> Vec<u16> {
    let (s, c) = deg.to_radians().sin_cos();
    // Major axis direction in (x, y-down): clockwise from up = (sin, -cos).
    let (ux, uy) = (s, -c);
    let mut px = vec![0u16; (width * height) as usize];
    for y in 0..height {
        for x in 0..width {
            let (dx, dy) = (x as f64 + 0.5 - cx, y as f64 + 0.5 - cy);
            let a = dx * ux + dy * uy;
            let b = -dx * uy + dy * ux;
            if (a / (l / 2.0)).powi(2) + (b / (w / 2.0)).powi(2) <= 1.0 {
                px[(y * width + x) as usize] = 1000;
            }
        }
    }
    px
}

fn angle_diff(a: f64, b: f64) -> f64 {
    let d = (a - b).rem_euclid(180.0);
    d.min(180.0 - d)
}

#[test]
fn ellipses_of_known_size_and_angle() {
    let mut cases = 0;
    for &(l, w) in &[(60.0, 14.0), (25.0, 6.0), (120.0, 20.0), (9.0, 3.0)] {
        for deg in [0.0, 17.0, 30.0, 45.0, 90.0, 123.0, 160.0] {
            let (sw, sh) = (150, 140);
            let r = raster_u16(sw, sh, ellipse(sw, sh, 75.3, 69.8, l, w, deg));
            for tile in [16, 37, 4096] {
                let d = run_cpu(&r, &opts(500.0, Eight, tile));
                assert_eq!(d.len(), 1, "{l}x{w} at {deg}");
                let d = &d[0];
                assert!(
                    (d.length_px - l).abs() < 1.0,
                    "{l}x{w} at {deg}: length {}",
                    d.length_px
                );
                assert!(
                    (d.width_px - w).abs() < 1.0,
                    "{l}x{w} at {deg}: width {}",
                    d.width_px
                );
                // The angle of a thin, long ellipse is well defined; of a fat one less so.
                let tol = (57.3 / (l / w)).clamp(0.5, 3.0);
                assert!(
                    angle_diff(d.orientation_deg, deg) < tol,
                    "{l}x{w} at {deg}: orientation {}",
                    d.orientation_deg
                );
                assert!((0.0..180.0).contains(&d.orientation_deg));
                assert!((d.x - 75.3).abs() < 0.5 && (d.y - 69.8).abs() < 0.5);
                if let Some(g) = run_gpu(&r, &opts(500.0, Eight, tile)) {
                    assert_eq!(&g[0], d, "gpu, tile {tile}");
                }
                cases += 1;
            }
        }
    }
    assert_eq!(cases, 4 * 7 * 3);
}

#[test]
fn box_corners_span_the_ellipse() {
    let r = raster_u16(100, 100, ellipse(100, 100, 50.0, 50.0, 40.0, 10.0, 90.0));
    let d = &run_cpu(&r, &opts(500.0, Eight, 4096))[0];
    // Major axis horizontal: the box spans x 30..70 and y 45..55, within a pixel.
    let xs: Vec<f64> = d.obox.iter().map(|c| c[0]).collect();
    let ys: Vec<f64> = d.obox.iter().map(|c| c[1]).collect();
    let (x0, x1) = (
        xs.iter().cloned().fold(f64::MAX, f64::min),
        xs.iter().cloned().fold(f64::MIN, f64::max),
    );
    let (y0, y1) = (
        ys.iter().cloned().fold(f64::MAX, f64::min),
        ys.iter().cloned().fold(f64::MIN, f64::max),
    );
    assert!(
        (x0 - 30.0).abs() < 1.0 && (x1 - 70.0).abs() < 1.0,
        "{x0} {x1}"
    );
    assert!(
        (y0 - 45.0).abs() < 1.0 && (y1 - 55.0).abs() < 1.0,
        "{y0} {y1}"
    );
}

#[test]
fn single_pixel_is_a_unit_square() {
    let mut px = vec![0u16; 25];
    px[12] = 1000;
    let d = &run_cpu(&raster_u16(5, 5, px), &opts(500.0, Eight, 4096))[0];
    // Variance 1/12 each way: 4 * sqrt(1/12) = 1.1547.
    assert!((d.length_px - 4.0 / 12f64.sqrt()).abs() < 1e-12);
    assert!((d.width_px - 4.0 / 12f64.sqrt()).abs() < 1e-12);
}
