//! Confidence of detections (`scr`, `contrast`, `score`): against a brute-force computation of
//! each object's local background, the same for both backends and for any window height, and
//! `min_score` keeps exactly the detections scoring at least it.

mod common;
use common::*;
use vesselscan::confidence::{score_of, BackgroundFrame};
use vesselscan::detect::{detect, detect_source, DetectOptions, InMemory, ThresholdMode};
use vesselscan::engine::cpu::CpuEngine;
use vesselscan::read::Raster;

/// Sea of values 100..199 with objects of different brightness, some close together.
fn scene() -> Raster {
    let (w, h) = (90u32, 70u32);
    let mut px: Vec<u16> = (0..w * h)
        .map(|i| 100 + ((i.wrapping_mul(2_654_435_761) >> 20) % 100) as u16)
        .collect();
    for (cx, cy, r, v) in [
        (10u32, 10u32, 2u32, 2000u16),
        (40, 12, 3, 420),
        (46, 14, 1, 900),
        (70, 50, 4, 260),
        (20, 60, 2, 1500),
        (88, 68, 1, 3000),
    ] {
        for y in cy.saturating_sub(r)..(cy + r + 1).min(h) {
            for x in cx.saturating_sub(r)..(cx + r + 1).min(w) {
                px[(y * w + x) as usize] = v;
            }
        }
    }
    raster_u16(w, h, px)
}

fn options() -> DetectOptions {
    DetectOptions {
        threshold: ThresholdMode::Fixed(250.0),
        tile_size: 16,
        confidence: true,
        ..Default::default()
    }
}

#[test]
fn scr_and_score_match_a_brute_force_background() {
    let r = scene();
    let d = detect(&CpuEngine, &r, &options()).unwrap().detections;
    assert_eq!(d.len(), 6);
    let f = BackgroundFrame::default();
    let (w, h) = (r.width as i64, r.height as i64);
    for det in &d {
        let g = f.guard_px as i64;
        let o = g + f.width_px as i64;
        let b = det.bbox.map(|v| v as i64);
        let (mut n, mut s, mut q) = (0f64, 0f64, 0f64);
        for y in (b[1] - o).max(0)..(b[3] + o).min(h) {
            for x in (b[0] - o).max(0)..(b[2] + o).min(w) {
                let inner = x >= b[0] - g && x < b[2] + g && y >= b[1] - g && y < b[3] + g;
                let in_any = d.iter().any(|e| {
                    let e = e.bbox.map(|v| v as i64);
                    x >= e[0] && x < e[2] && y >= e[1] && y < e[3]
                });
                if !inner && !in_any {
                    let v = r.keys[(y * w + x) as usize] as f64;
                    n += 1.0;
                    s += v;
                    q += v * v;
                }
            }
        }
        let m = s / n;
        let sd = (q / n - m * m).sqrt();
        let scr = 10.0 * (det.mean / m).log10();
        let contrast = (det.max.as_f64() - m) / sd;
        let significance = (det.mean - m) / sd * (det.area as f64).sqrt();
        assert!((det.scr.unwrap() - scr).abs() < 1e-9, "{det:?}");
        assert!((det.contrast.unwrap() - contrast).abs() < 1e-9);
        assert!((det.significance.unwrap() - significance).abs() < 1e-9);
        assert!((det.score.unwrap() - score_of(significance)).abs() < 1e-12);
    }
    // Brighter objects score higher.
    let by_max = |v: i128| {
        d.iter()
            .find(|e| e.max.as_f64() == v as f64)
            .unwrap()
            .score
            .unwrap()
    };
    assert!(by_max(3000) > by_max(900) && by_max(900) > by_max(260));
}

#[test]
fn min_score_keeps_exactly_the_confident_ones_on_both_backends() {
    let r = scene();
    let all = detect(&CpuEngine, &r, &options()).unwrap().detections;
    let cut = 0.999;
    let want: Vec<_> = all
        .iter()
        .filter(|d| d.score.unwrap() >= cut)
        .map(|d| (d.bbox, d.score))
        .collect();
    assert!(!want.is_empty() && want.len() < all.len());
    let o = DetectOptions {
        min_score: Some(cut),
        ..options()
    };
    let kept = detect(&CpuEngine, &r, &o).unwrap().detections;
    let got: Vec<_> = kept.iter().map(|d| (d.bbox, d.score)).collect();
    assert_eq!(got, want);
    assert!(kept.iter().enumerate().all(|(i, d)| d.id == i as u32 + 1));
    for rows in [1u32, 7, 30] {
        let s = detect_source(&CpuEngine, &mut InMemory(&r), &o, Some(rows)).unwrap();
        assert_eq!(s.detections, kept, "rows {rows}");
    }
    if let Some(g) = gpu() {
        let g = g.lock().unwrap_or_else(|e| e.into_inner());
        assert_eq!(detect(&*g, &r, &o).unwrap().detections, kept);
    }
}

/// `suppress_inside`: a piece of under a quarter of a larger detection's area whose centroid
/// falls in its box (grown by the margin) goes; objects of similar size side by side, pieces
/// beyond the margin and objects alone stay.
#[test]
fn suppress_inside_drops_pieces_of_larger_objects() {
    let (w, h) = (120u32, 60u32);
    let mut px = vec![100u16; (w * h) as usize];
    let mut rect = |x0: u32, y0: u32, x1: u32, y1: u32| {
        for y in y0..y1 {
            for x in x0..x1 {
                px[(y * w + x) as usize] = 1000;
            }
        }
    };
    rect(10, 10, 40, 16); // a 30 x 6 ship: box [10, 10, 40, 16], longer side 30
    rect(42, 12, 44, 14); // a 2 x 2 piece 2 px past its end: within a 0.1 margin (3 px)
    rect(47, 12, 49, 14); // another 7 px past it: beyond 3 px, kept
    rect(80, 10, 84, 14); // a 4 x 4 and a 4 x 3 object side by side (3/4 the area): both kept
    rect(85, 10, 89, 13);
    rect(60, 40, 62, 42); // alone
    let r = raster_u16(w, h, px);
    let o = DetectOptions {
        threshold: ThresholdMode::Fixed(500.0),
        connectivity: vesselscan::tiling::Connectivity::Four,
        ..Default::default()
    };
    let all = detect(&CpuEngine, &r, &o).unwrap().detections;
    assert_eq!(all.len(), 6);
    let kept = detect(
        &CpuEngine,
        &r,
        &DetectOptions {
            suppress_inside: Some(0.1),
            ..o.clone()
        },
    )
    .unwrap()
    .detections;
    let boxes: Vec<[u64; 4]> = kept.iter().map(|d| d.bbox).collect();
    assert_eq!(
        boxes,
        [
            [10, 10, 40, 16],
            [80, 10, 84, 14],
            [85, 10, 89, 13],
            [47, 12, 49, 14],
            [60, 40, 62, 42]
        ]
    );
    assert_eq!(
        kept.iter().map(|d| d.id).collect::<Vec<_>>(),
        [1, 2, 3, 4, 5]
    );
    // Margin 0: only centroids inside the box itself; the piece 2 px out stays.
    let none = detect(
        &CpuEngine,
        &r,
        &DetectOptions {
            suppress_inside: Some(0.0),
            ..o.clone()
        },
    )
    .unwrap()
    .detections;
    assert_eq!(none.len(), 6);
    // A huge margin (every box covers the scene many times over) finishes at once: its cells
    // are not counted in i64, where their product wrapped and the buckets grew without bound.
    let huge = detect(
        &CpuEngine,
        &r,
        &DetectOptions {
            suppress_inside: Some(1e12),
            ..o
        },
    )
    .unwrap()
    .detections;
    let boxes: Vec<[u64; 4]> = huge.iter().map(|d| d.bbox).collect();
    assert_eq!(boxes, [[10, 10, 40, 16]]);
}
