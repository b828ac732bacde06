//! Presets: bundles of detection defaults chosen on `../shared/data` (docs/QUALITY.md), and the
//! automatic choice between them for an input.
//!
//! The choice looks first at the file name (Sentinel-2 band names, Sentinel-1 product names,
//! polarisation tokens), then at the sample type: 8-bit images are SAR (the SAR chip sets
//! SSDD and HRSID are 8-bit pictures, while optical products carry 12-16 bit reflectances; an
//! 8-bit optical picture needs `--preset optical`), then at the pixels: SAR speckle makes the
//! sea grainy (the standard deviation of a small block of sea is a large share of its mean,
//! about 0.5 for amplitude), while calm water in a near-infrared band is smooth (a few
//! percent). The statistic is the median coefficient of variation of the darkest quarter of
//! 8 x 8 blocks, read from a few strips of the scene (0, the fill value of Sentinel products,
//! left out).

use crate::detect::DetectOptions;
use crate::error::Result;
use crate::read::window::RasterSource;
use crate::sample::key_to_value;
use serde::Serialize;
use std::path::Path;

/// A bundle of defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Preset {
    /// SAR intensity or amplitude: ships brighter than the sea clutter around them.
    Sar,
    /// One near-infrared optical band (Sentinel-2 B08): ships bright on dark water, land masked.
    Optical,
}

impl Preset {
    pub fn name(self) -> &'static str {
        match self {
            Preset::Sar => "sar",
            Preset::Optical => "optical",
        }
    }
}

/// Coefficient of variation above which the sea is taken for SAR speckle (measured on
/// `../shared/data`: SAR chips 0.4 and more, Sentinel-2 B08 water 0.15 and less; see
/// docs/QUALITY.md).
pub const SPECKLE_CV: f64 = 0.3;

/// The preset for an input, and why: `"name"` or `"speckle"` with the statistic.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Choice {
    pub preset: Preset,
    /// How: `--preset` (asked for), or chosen automatically by `auto: file name`, `auto: 8-bit
    /// samples` or `auto: speckle`.
    pub by: &'static str,
    /// The median coefficient of variation of the darkest 8 x 8 blocks, when measured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sea_cv: Option<f64>,
}

/// The preset a file name names, if any: Sentinel-2 near-infrared bands (`B08`, `B8A`, `nir`)
/// are optical; Sentinel-1 products (`s1a`..`s1d`, `grd`, `slc`), polarisations (`vv`, `vh`,
/// `hh`, `hv`) and `sar` are SAR. Tokens are the name's alphanumeric runs, any case.
pub fn by_name(path: &Path) -> Option<Preset> {
    by_words(&path.file_name()?.to_string_lossy())
}

/// The preset a text names, by the tokens [`by_name`] looks for (a file name, or a TIFF's
/// ImageDescription).
pub fn by_words(text: &str) -> Option<Preset> {
    let name = text.to_ascii_lowercase();
    let mut sar = false;
    let mut optical = false;
    for t in name.split(|c: char| !c.is_ascii_alphanumeric()) {
        match t {
            "b08" | "b8" | "b8a" | "nir" => optical = true,
            "s1a" | "s1b" | "s1c" | "s1d" | "grd" | "grdh" | "grdm" | "slc" | "vv" | "vh"
            | "hh" | "hv" | "sar" | "sigma0" => sar = true,
            _ => {}
        }
    }
    match (sar, optical) {
        (true, false) => Some(Preset::Sar),
        (false, true) => Some(Preset::Optical),
        _ => None,
    }
}

/// Rows read for the statistic: up to this many strips of [`STRIP_ROWS`] rows, spread evenly.
const STRIPS: u32 = 8;
const STRIP_ROWS: u32 = 64;
const BLOCK: u32 = 8;

/// The median coefficient of variation (std / mean) of the darkest quarter of the 8 x 8 blocks
/// with a positive mean (nodata blocks left out), over a few strips of the scene; `None` when
/// no block qualifies (a scene under 8 px, or all nodata).
pub fn sea_cv(src: &mut dyn RasterSource, nodata: Option<f64>) -> Result<Option<f64>> {
    let info = src.info();
    let (w, h) = (info.width, info.height);
    if w < BLOCK || h < BLOCK {
        return Ok(None);
    }
    let rows = STRIP_ROWS.min(h) / BLOCK * BLOCK;
    let strips = STRIPS.min(h / rows).max(1);
    let mut blocks: Vec<(f64, f64)> = Vec::new();
    let mut buf = vec![0u32; (rows * w) as usize];
    for s in 0..strips {
        // Evenly spread strips, the last ending at the bottom.
        let y0 = if strips == 1 {
            (h - rows) / 2
        } else {
            ((h - rows) as u64 * s as u64 / (strips - 1) as u64) as u32
        };
        src.read_rows_into(y0, y0 + rows, &mut buf)?;
        for by in 0..rows / BLOCK {
            for bx in 0..w / BLOCK {
                let (mut n, mut sum, mut sq) = (0u32, 0.0f64, 0.0f64);
                for y in by * BLOCK..(by + 1) * BLOCK {
                    for x in bx * BLOCK..(bx + 1) * BLOCK {
                        let v = key_to_value(info.kind, buf[(y * w + x) as usize]);
                        // 0 is the fill of Sentinel-1 and Sentinel-2 products.
                        if !v.is_finite() || Some(v) == nodata || v == 0.0 {
                            continue;
                        }
                        n += 1;
                        sum += v;
                        sq += v * v;
                    }
                }
                if n < BLOCK * BLOCK / 2 {
                    continue;
                }
                let mean = sum / n as f64;
                if mean > 0.0 {
                    let var = (sq / n as f64 - mean * mean).max(0.0);
                    blocks.push((mean, var.sqrt() / mean));
                }
            }
        }
    }
    if blocks.is_empty() {
        return Ok(None);
    }
    blocks.sort_by(|a, b| a.0.total_cmp(&b.0));
    let q = blocks.len().div_ceil(4);
    let dark = &mut blocks[..q];
    dark.sort_by(|a, b| a.1.total_cmp(&b.1));
    Ok(Some(dark[dark.len() / 2].1))
}

/// The preset for `path` read through `src`: by name when the name says, SAR for 8-bit
/// images, else by the speckle statistic (SAR from [`SPECKLE_CV`] up, and when nothing can be
/// measured).
pub fn choose(path: &Path, src: &mut dyn RasterSource, nodata: Option<f64>) -> Result<Choice> {
    if let Some(p) = by_name(path) {
        return Ok(Choice {
            preset: p,
            by: "auto: file name",
            sea_cv: None,
        });
    }
    if let Some(p) = src.description().as_deref().and_then(by_words) {
        return Ok(Choice {
            preset: p,
            by: "auto: image description",
            sea_cv: None,
        });
    }
    let info = src.info();
    if info.kind == crate::sample::SampleKind::U8 {
        return Ok(Choice {
            preset: Preset::Sar,
            by: "auto: 8-bit samples",
            sea_cv: None,
        });
    }
    let cv = sea_cv(src, nodata.or(info.nodata))?;
    Ok(Choice {
        preset: match cv {
            Some(c) if c < SPECKLE_CV => Preset::Optical,
            _ => Preset::Sar,
        },
        by: "auto: speckle",
        sea_cv: cv,
    })
}

/// The detection options of a run: the same for every input, or a preset per input.
#[derive(Debug, Clone)]
pub enum DetectPlan {
    Fixed(Box<DetectOptions>),
    Auto {
        sar: Box<DetectOptions>,
        optical: Box<DetectOptions>,
    },
}

impl DetectPlan {
    /// The options for the input at `path`, read through `src` when the preset is chosen from
    /// its pixels.
    pub fn options_for(&self, path: &Path, src: &mut dyn RasterSource) -> Result<DetectOptions> {
        match self {
            DetectPlan::Fixed(o) => Ok((**o).clone()),
            DetectPlan::Auto { sar, optical } => {
                let c = choose(path, src, sar.nodata)?;
                let mut o = match c.preset {
                    Preset::Sar => (**sar).clone(),
                    Preset::Optical => (**optical).clone(),
                };
                o.preset = Some(c);
                Ok(o)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::window::InMemory;
    use crate::read::Raster;
    use crate::sample::SampleKind;

    #[test]
    fn names_decide_when_they_say() {
        let p = |s: &str| by_name(Path::new(s));
        assert_eq!(p("dir/busan_B08.tif"), Some(Preset::Optical));
        assert_eq!(p("T31TFJ_20240101_B8A.jp2"), Some(Preset::Optical));
        assert_eq!(
            p("s1b-iw-grd-vv-20210401t052623-20210401t052648-026269-032297-001.tiff"),
            Some(Preset::Sar)
        );
        assert_eq!(p("scene_VH.tif"), Some(Preset::Sar));
        // Substrings are not tokens; both kinds at once decide nothing.
        assert_eq!(p("vvx_b081.tif"), None);
        assert_eq!(p("000060.jpg"), None);
        assert_eq!(p("sar_B08.tif"), None);
    }

    /// A u16 scene: `f(x, y)` per pixel.
    fn scene(w: u32, h: u32, f: impl Fn(u32, u32) -> u16) -> Raster {
        Raster {
            width: w,
            height: h,
            kind: SampleKind::U16,
            keys: (0..w * h).map(|i| f(i % w, i / w) as u32).collect(),
            band: 1,
            bands: 1,
            nodata: None,
        }
    }

    fn hash(x: u32, y: u32) -> f64 {
        let mut z = (x as u64) << 32 | y as u64;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }

    #[test]
    fn speckle_is_sar_and_smooth_water_is_optical() {
        // Single-look intensity speckle: exponential, coefficient of variation 1.
        let sar = scene(300, 200, |x, y| {
            (-(1.0 - hash(x, y)).ln() * 300.0) as u16 + 1
        });
        // Near-infrared: smooth dark water (left) and bright land (right).
        let nir = scene(300, 200, |x, y| {
            if x < 150 {
                500 + (hash(x, y) * 40.0) as u16
            } else {
                4000 + (hash(x, y) * 3000.0) as u16
            }
        });
        let choose_for = |r: &Raster| choose(Path::new("scene.tif"), &mut InMemory(r), None);
        let c = choose_for(&sar).unwrap();
        assert_eq!((c.preset, c.by), (Preset::Sar, "auto: speckle"));
        assert!(c.sea_cv.unwrap() > 0.6, "{c:?}");
        let c = choose_for(&nir).unwrap();
        assert_eq!((c.preset, c.by), (Preset::Optical, "auto: speckle"));
        assert!(c.sea_cv.unwrap() < 0.05, "{c:?}");
        // 8-bit: SAR, unread; too small or all fill to measure: SAR.
        let mut u8s = nir.clone();
        u8s.kind = SampleKind::U8;
        u8s.keys.iter_mut().for_each(|k| *k = (*k).min(255));
        let c = choose_for(&u8s).unwrap();
        assert_eq!(
            (c.preset, c.by, c.sea_cv),
            (Preset::Sar, "auto: 8-bit samples", None)
        );
        let tiny = scene(5, 5, |_, _| 100);
        assert_eq!(choose_for(&tiny).unwrap().preset, Preset::Sar);
        let fill = scene(64, 64, |_, _| 0);
        assert_eq!(choose_for(&fill).unwrap().sea_cv, None);
    }
}
