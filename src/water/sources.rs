//! Water masks from rasters: a mask file on the scene grid, the NDWI of a green and a
//! near-infrared band, and an automatic mask of one near-infrared band.
//!
//! Files are read window by window through [`crate::read::open_source`] (64 MiB of keys at a
//! time), so a mask costs its bits, not the keys of the scene.

use super::WaterMask;
use crate::error::{Error, Result};
use crate::read::window::{for_each_window, InMemory, RasterSource};
use crate::read::{open_source, window_rows_for, Raster, ReadOptions};
use crate::sample::{key_to_value, nodata_key, SampleKind, NAN_KEY, NEG_INF_KEY, POS_INF_KEY};
use std::path::{Path, PathBuf};

/// Working set of the windows a mask is read in, in MiB.
const READ_MB: u64 = 64;

/// A band of a raster file: one side of `--ndwi GREEN,NIR`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BandRef {
    pub path: PathBuf,
    /// 1-based band; `None`: the file's first band (luminance for an RGB picture).
    pub band: Option<u32>,
}

impl BandRef {
    /// `spec` is a band number of the scene file `scene` ("3") or the path of a single-band
    /// file on the scene grid ("B03.tif"). Band 0 is an error (bands count from 1, as in GDAL).
    pub fn parse(spec: &str, scene: &Path) -> Result<BandRef> {
        let spec = spec.trim();
        if spec.is_empty() {
            return Err(Error::Invalid(
                "empty band: give a band number of the input or a file".into(),
            ));
        }
        if let Ok(n) = spec.parse::<u32>() {
            if n == 0 {
                return Err(Error::Invalid(
                    "band 0: bands are numbered from 1, as in GDAL".into(),
                ));
            }
            return Ok(BandRef {
                path: scene.to_owned(),
                band: Some(n),
            });
        }
        Ok(BandRef {
            path: PathBuf::from(spec),
            band: None,
        })
    }

    /// `--ndwi GREEN,NIR`: two [`BandRef::parse`] specs separated by the last comma.
    pub fn parse_pair(spec: &str, scene: &Path) -> Result<(BandRef, BandRef)> {
        let (g, n) = spec.rsplit_once(',').ok_or_else(|| {
            Error::Invalid(format!(
                "--ndwi {spec}: expected GREEN,NIR (band numbers of the input or files)"
            ))
        })?;
        Ok((BandRef::parse(g, scene)?, BandRef::parse(n, scene)?))
    }

    fn open(&self) -> Result<Box<dyn RasterSource>> {
        open_source(
            &self.path,
            &ReadOptions {
                band: self.band,
                ..Default::default()
            },
        )
    }
}

/// An error naming `path` when its raster is not `width` x `height`.
fn check_grid(path: &Path, info: &Raster, width: u32, height: u32, what: &str) -> Result<()> {
    if (info.width, info.height) != (width, height) {
        return Err(Error::Format {
            path: path.to_owned(),
            msg: format!(
                "{what} is {}x{} pixels, the scene is {width}x{height}",
                info.width, info.height
            ),
        });
    }
    Ok(())
}

/// Keys of a band that hold no value: its nodata value, NaN, and for f32 the infinities
/// (no reflectance).
#[derive(Debug, Clone, Copy)]
struct Valid {
    kind: SampleKind,
    nodata: Option<u32>,
}

impl Valid {
    fn of(info: &Raster) -> Valid {
        Valid {
            kind: info.kind,
            nodata: info.nodata.and_then(|v| nodata_key(info.kind, v)),
        }
    }
    #[inline]
    fn ok(&self, k: u32) -> bool {
        Some(k) != self.nodata
            && !(self.kind.is_float() && (k == NAN_KEY || k <= NEG_INF_KEY || k >= POS_INF_KEY))
    }
}

impl WaterMask {
    /// The mask raster `path` (`--mask FILE`) on a `width` x `height` scene grid: water where
    /// the value of its first band (luminance for an RGB picture) is nonzero, land where it is
    /// zero, nodata or NaN. Any raster the readers take (GeoTIFF, BigTIFF, PNG, JPEG), read in
    /// windows. A raster of another size is an error naming the file and both sizes.
    pub fn from_raster(path: &Path, width: u32, height: u32) -> Result<WaterMask> {
        let mut src = open_source(path, &ReadOptions::default())?;
        let info = src.info();
        check_grid(path, &info, width, height, "the mask")?;
        let mut m = WaterMask::filled_for(Some(path), width, height, false)?;
        let valid = Valid::of(&info);
        let kind = info.kind;
        let rows = window_rows_for(width, READ_MB);
        for_each_window(src.as_mut(), rows, 0, &mut |win| {
            for (k, keys) in win.core().chunks_exact(width as usize).enumerate() {
                let row = m.row_words_mut(win.y0 + k as u32);
                for (x, &key) in keys.iter().enumerate() {
                    if valid.ok(key) && key_to_value(kind, key) != 0.0 {
                        row[x / 64] |= 1 << (x % 64);
                    }
                }
            }
            Ok(())
        })?;
        Ok(m)
    }

    /// Water where the normalised difference water index of two bands on a `width` x `height`
    /// scene grid, `NDWI = (G - NIR) / (G + NIR)`, is above `threshold` (McFeeters 1996; 0 is
    /// the usual split, raise it for turbid water). Not water where either band is nodata or
    /// NaN, or where the index is undefined (`G + NIR = 0`). Each band is a band of the scene
    /// file or a single-band file on the same grid (Sentinel-2: B03 and B08); a band of
    /// another size is an error naming its file. Read in windows.
    pub fn from_ndwi_sources(
        green: &BandRef,
        nir: &BandRef,
        width: u32,
        height: u32,
        threshold: f64,
    ) -> Result<WaterMask> {
        let mut g = green.open()?;
        let mut n = nir.open()?;
        check_grid(&green.path, &g.info(), width, height, "the green band")?;
        check_grid(
            &nir.path,
            &n.info(),
            width,
            height,
            "the near-infrared band",
        )?;
        ndwi(g.as_mut(), n.as_mut(), width, height, threshold)
    }

    /// [`WaterMask::from_ndwi_sources`] of two bands in memory (of the same size).
    pub fn from_ndwi(green: &Raster, nir: &Raster, threshold: f64) -> Result<WaterMask> {
        if (green.width, green.height) != (nir.width, nir.height) {
            return Err(Error::Invalid(format!(
                "NDWI: the green band is {}x{} pixels, the near-infrared band {}x{}",
                green.width, green.height, nir.width, nir.height
            )));
        }
        ndwi(
            &mut InMemory(green),
            &mut InMemory(nir),
            green.width,
            green.height,
            threshold,
        )
    }
}

fn ndwi(
    g: &mut dyn RasterSource,
    n: &mut dyn RasterSource,
    width: u32,
    height: u32,
    threshold: f64,
) -> Result<WaterMask> {
    if threshold.is_nan() {
        return Err(Error::Invalid("NDWI threshold is NaN".into()));
    }
    let (gi, ni) = (g.info(), n.info());
    let (gv, nv) = (Valid::of(&gi), Valid::of(&ni));
    let mut m = WaterMask::filled(width, height, false)?;
    // Both bands' windows: half the budget each.
    let rows = window_rows_for(width, READ_MB / 2) as usize;
    let w = width as usize;
    let mut gb = crate::read::window::alloc_zeroed(rows.min(height as usize) * w)?;
    let mut nb = crate::read::window::alloc_zeroed(rows.min(height as usize) * w)?;
    for (y0, y1) in crate::read::window::window_ranges(height, rows as u32) {
        let len = (y1 - y0) as usize * w;
        g.read_rows_into(y0, y1, &mut gb[..len])?;
        n.read_rows_into(y0, y1, &mut nb[..len])?;
        for k in 0..(y1 - y0) as usize {
            let row = m.row_words_mut(y0 + k as u32);
            let (gr, nr) = (&gb[k * w..(k + 1) * w], &nb[k * w..(k + 1) * w]);
            for (x, (&a, &b)) in gr.iter().zip(nr).enumerate() {
                if !gv.ok(a) || !nv.ok(b) {
                    continue;
                }
                let (gval, nval) = (key_to_value(gi.kind, a), key_to_value(ni.kind, b));
                let index = (gval - nval) / (gval + nval);
                if index > threshold {
                    row[x / 64] |= 1 << (x % 64);
                }
            }
        }
    }
    Ok(m)
}

/// The size rules of [`WaterMask::auto_from_nir_with`], in pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AutoParams {
    /// Dark components of at most this many pixels are not water bodies (shadows, dark roofs),
    /// unless they lie within `2 * quay_margin_px` of one (marina slips cut off by piers).
    pub max_speck_px: u64,
    /// Bright islands inside water of at most this many pixels that fit in a square of
    /// `max_vessel_side_px` are water (vessels, buoys); so is thin land of at most this many
    /// pixels at the quays (see [`WaterMask::grow_water_to_quays`]).
    pub max_vessel_px: u64,
    pub max_vessel_side_px: u32,
    /// Water grown into land by this distance, except into long thin land (breakwaters):
    /// vessels moored alongside a quay merge with it in the dark/bright split, their centres
    /// within a half beam of the water. 0: the strict dark/bright coastline.
    pub quay_margin_px: f64,
    /// Thin land pieces of at most `max_vessel_px` pixels stay land all the same when they do
    /// not fit in a square of this side ([`WaterMask::grow_water_to_quays`]). `u32::MAX`
    /// (the default): size alone decides. `max_vessel_side_px` keeps more breakwater
    /// segments as land, and loses vessels moored along thin jetties: on sen2ships 281
    /// instead of 283 of 286 ship centres in water (Algiers: two ships on a 1-px jetty).
    pub thin_land_side_px: u32,
}

/// Smallest water body kept, in m^2, when the pixel size is known (a small harbour basin).
pub const MIN_WATER_BODY_M2: f64 = 50_000.0;
/// Largest vessel filled as water, in m^2: 500 m x 200 m (the largest ships, twice as wide
/// for the wake and the bright halo around them, or a few rafted together).
pub const MAX_VESSEL_M2: f64 = 100_000.0;
/// Knee of the log stretch of [`WaterMask::auto_from_nir_with`], as a fraction of the value range.
const LOG_KNEE: f64 = 0.02;

/// Longest vessel filled as water, in metres (the largest ships are 400 m long).
pub const MAX_VESSEL_LENGTH_M: f64 = 500.0;

/// Water grown into land, in metres, when the pixel size is known: the half beam of the
/// widest vessels (30 m) plus a pixel of the coastline's uncertainty.
pub const QUAY_MARGIN_M: f64 = 40.0;

impl AutoParams {
    /// The rules for a `width` x `height` scene. With the ground size of a pixel known (metres):
    /// water bodies from [`MIN_WATER_BODY_M2`] (but never more than 1 % of the scene), vessels
    /// up to [`MAX_VESSEL_M2`] within [`MAX_VESSEL_LENGTH_M`], a quay margin of
    /// [`QUAY_MARGIN_M`]. Without: water bodies from 1 % of the scene's pixels (at least 64),
    /// vessels up to 0.1 % of them (at least 1000 pixels) of any extent, no quay margin (the
    /// strict coastline: pass the pixel size to get moored vessels).
    pub fn for_scene(width: u32, height: u32, pixel_size_m: Option<f64>) -> AutoParams {
        let n = width as f64 * height as f64;
        let one_percent = (n * 0.01).ceil();
        match pixel_size_m.filter(|p| p.is_finite() && *p > 0.0) {
            Some(p) => {
                let a = p * p;
                AutoParams {
                    max_speck_px: ((MIN_WATER_BODY_M2 / a).ceil().min(one_percent) as u64)
                        .saturating_sub(1),
                    max_vessel_px: (MAX_VESSEL_M2 / a).ceil() as u64,
                    max_vessel_side_px: (MAX_VESSEL_LENGTH_M / p).ceil().min(u32::MAX as f64)
                        as u32,
                    quay_margin_px: QUAY_MARGIN_M / p,
                    thin_land_side_px: u32::MAX,
                }
            }
            None => AutoParams {
                max_speck_px: one_percent.max(64.0) as u64 - 1,
                max_vessel_px: (n * 0.001).max(1000.0) as u64,
                max_vessel_side_px: u32::MAX,
                quay_margin_px: 0.0,
                thin_land_side_px: u32::MAX,
            },
        }
    }
}

/// What [`WaterMask::auto_from_nir_with`] chose.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AutoInfo {
    /// Pixels below this value were dark (Otsu's split of the valid values).
    pub threshold: f64,
    pub params: AutoParams,
}

impl WaterMask {
    /// An automatic water mask of one near-infrared band (Sentinel-2 B08, Landsat B5, ...),
    /// where water is dark and land and vessels are bright, with the rules of
    /// [`AutoParams::for_scene`] (`pixel_size_m`: the ground size of a pixel, if known).
    /// See [`WaterMask::auto_from_nir_with`].
    pub fn auto_from_nir(raster: &Raster, pixel_size_m: Option<f64>) -> Result<WaterMask> {
        let p = AutoParams::for_scene(raster.width, raster.height, pixel_size_m);
        Ok(WaterMask::auto_from_nir_with(raster, &p)?.0)
    }

    /// An automatic water mask of one near-infrared band:
    ///
    /// 1. **Split.** Dark = valid pixels below Otsu's split of the histogram of the valid
    ///    values (one bin a value for u8/u16/i16, 65536 bins over the range for u32/f32),
    ///    computed on `ln(1 + (v - p0.5) / c)` of the values clamped to their 0.5 and 99.5
    ///    percentiles, `c` = 2 % of that range: on raw values the long bright tail of land
    ///    (vegetation, roofs, saturation) drags the split into the land (Busan: a third of
    ///    the city called water), on plain logs the near-zero values of clear water spread
    ///    into a class of their own (Honolulu, Los Angeles: a split at 8 to 14).
    /// 2. **Bodies.** Dark components (8-connected) of more than `max_speck_px` pixels are
    ///    water, and so are the dark pixels within `2 * quay_margin_px` of them (marina slips
    ///    and docks cut off by piers); other dark specks (shadows, dark roofs) are land.
    /// 3. **Vessels.** Bright islands inside water (8-connected land off the scene edge) of at
    ///    most `max_vessel_px` pixels within a `max_vessel_side_px` square become water
    ///    ([`WaterMask::fill_vessel_holes`]).
    /// 4. **Quays.** Water grows by `quay_margin_px` into land, but not into long thin land
    ///    such as breakwaters ([`WaterMask::grow_water_to_quays`]): vessels moored alongside
    ///    are bright and merge with the quay in step 1, their centres within a half beam of
    ///    the water. The cost: a band of quay (40 m) counts as water, and thin land pieces up
    ///    to `max_vessel_px` (short piers) become water.
    ///
    /// Nodata, NaN and infinite pixels are never water. A band of fewer than two distinct
    /// valid values (blank, all nodata) has nothing to split: no water (threshold NaN). Measured on the 12 Sentinel-2 port
    /// scenes of sen2ships (10 m pixels, EPSG:3857; pixel size from the georeferencing): 283
    /// of the 286 annotated ship centres in the water (the three misses 0.5 to 0.7 px from
    /// it), water 27 % to 81 % of the scenes; with `quay_margin_px = 0`, 119 of 286 (most
    /// annotated ships are moored, and land). 63 ms on the largest (2020 x 1378). Memory:
    /// the raster's keys plus about five masks (1 bit a pixel) at the peak.
    pub fn auto_from_nir_with(raster: &Raster, p: &AutoParams) -> Result<(WaterMask, AutoInfo)> {
        let (w, h) = (raster.width, raster.height);
        if raster.keys.len() as u64 != w as u64 * h as u64 {
            return Err(Error::Invalid(format!(
                "auto water mask: a {w}x{h} raster with {} samples",
                raster.keys.len()
            )));
        }
        WaterMask::auto_from_nir_source(&mut InMemory(raster), p)
    }

    /// [`WaterMask::auto_from_nir_with`] of a scene read window by window (64 MiB of keys at a
    /// time, three passes: value range, histogram, dark pixels), so that a large TIFF costs
    /// the mask's bits, not its keys; the same result.
    pub fn auto_from_nir_source(
        src: &mut dyn RasterSource,
        p: &AutoParams,
    ) -> Result<(WaterMask, AutoInfo)> {
        let info = src.info();
        let (w, h) = (info.width, info.height);
        let valid = Valid::of(&info);
        let kind = info.kind;
        let rows = window_rows_for(w, READ_MB);
        let (mut lo, mut hi) = (u32::MAX, 0u32);
        for_each_window(src, rows, 0, &mut |win| {
            for &k in win.core() {
                if valid.ok(k) {
                    lo = lo.min(k);
                    hi = hi.max(k);
                }
            }
            Ok(())
        })?;
        // No valid pixel, or one value: nothing dark to tell from bright, so no water (and no
        // target: a blank scene gives no detection, not an error).
        let no_water = || -> Result<(WaterMask, AutoInfo)> {
            Ok((
                WaterMask::filled(w, h, false)?,
                AutoInfo {
                    threshold: f64::NAN,
                    params: *p,
                },
            ))
        };
        if lo >= hi {
            return no_water();
        }
        let bin = crate::threshold::Binning::for_range(lo, hi);
        let mut hist = vec![0u64; bin.bins as usize];
        for_each_window(src, rows, 0, &mut |win| {
            for &k in win.core() {
                if valid.ok(k) {
                    hist[((k - bin.min) >> bin.shift) as usize] += 1;
                }
            }
            Ok(())
        })?;
        // Otsu on log values: land's bright tail (vegetation, roofs, saturation) is long and
        // would drag a linear split into the land. The values are taken from their 0.5
        // percentile and clamped at their 99.5 percentile, then to ln(1 + v / c) with c = 2 %
        // of that range: logarithmic above c (land and bright water apart), linear below (the
        // darkest water's near-zero values do not spread over a wide log range of their own).
        let value = |i: usize| key_to_value(kind, bin.key_of(i as u32) as u32);
        let total: u64 = hist.iter().sum();
        let rank = |q: f64| {
            let want = ((total as f64 * q).ceil() as u64).max(1);
            let mut acc = 0;
            hist.iter()
                .position(|&c| {
                    acc += c;
                    acc >= want
                })
                .unwrap_or(hist.len() - 1)
        };
        let (vlo, vhi) = (value(rank(0.005)), value(rank(0.995)));
        let split = if vhi > vlo {
            let c = LOG_KNEE * (vhi - vlo);
            crate::threshold::otsu(&hist, |i| ((value(i).clamp(vlo, vhi) - vlo) / c).ln_1p())
        } else {
            // Nearly every pixel has one value: split the raw values.
            crate::threshold::otsu(&hist, value)
        };
        let Some(split) = split else {
            return no_water();
        };
        let t = bin.key_of(split as u32 + 1) as u32;
        let mut m = WaterMask::filled(w, h, false)?;
        for_each_window(src, rows, 0, &mut |win| {
            for (k, keys) in win.core().chunks_exact(w as usize).enumerate() {
                let row = m.row_words_mut(win.y0 + k as u32);
                for (x, &key) in keys.iter().enumerate() {
                    if key < t && valid.ok(key) {
                        row[x / 64] |= 1 << (x % 64);
                    }
                }
            }
            Ok(())
        })?;
        // Large dark bodies, and the dark pixels near them (marina slips and docks cut off
        // by piers are small dark pieces next to the basin).
        let mut big = m.clone();
        big.remove_small_water(p.max_speck_px);
        if p.quay_margin_px >= 1.0 {
            let mut near = big.clone();
            near.grow_water(2.0 * p.quay_margin_px);
            for ((d, &b), &n) in m.words_mut().iter_mut().zip(&big.bits).zip(&near.bits) {
                *d = b | (*d & n);
            }
        } else {
            m = big;
        }
        m.fill_vessel_holes(p.max_vessel_px, p.max_vessel_side_px);
        m.grow_water_to_quays(p.quay_margin_px, p.max_vessel_px, p.thin_land_side_px);
        Ok((
            m,
            AutoInfo {
                threshold: key_to_value(kind, t),
                params: *p,
            },
        ))
    }
}
