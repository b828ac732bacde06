//! A streaming, tiled, compressed GeoTIFF writer (single band).
//!
//! The `tiff` crate's encoder writes strips only, so the file is laid out here:
//!
//! ```text
//! header (8 bytes classic, 16 BigTIFF; first-IFD offset patched at the end)
//! tile data, tile row by tile row, left to right (TileOffsets / TileByteCounts record it)
//! IFD (one image), then its out-of-line values
//! ```
//!
//! The caller hands the image over one **tile row** at a time ([`write_geotiff`]'s `band`
//! callback: rows `y0 .. y0 + rows`, full width): the tiles of that row are cut out, padded
//! with zeros to full tiles (as TIFF requires), horizontally differenced (Predictor = 2, integer
//! samples) and Deflate-compressed in parallel (rayon), then written in order. Memory is about
//! one tile row of samples plus its compressed tiles, whatever the scene size. The output is a
//! pure function of the samples and options (the same bytes for any number of threads).
//!
//! The file is written to a temporary file in the destination folder, synced and renamed over
//! the destination at the end: a killed run never leaves a partial file.
//!
//! Tags: the baseline ones, tiles, Predictor, SampleFormat, Software, and when georeferenced
//! ModelPixelScaleTag (33550), ModelTiepointTag (33922) and GeoKeyDirectoryTag (34735) with
//! GTModelTypeGeoKey, GTRasterTypeGeoKey = RasterPixelIsArea and GeographicTypeGeoKey or
//! ProjectedCSTypeGeoKey (an EPSG code); GDAL_NODATA (42113) when a nodata value is given.
//! Classic TIFF unless the file could exceed 4 GiB (BigTIFF then, or always when asked).

use crate::error::{Error, Result};
use rayon::prelude::*;
use std::io::{Seek, SeekFrom, Write};
use std::path::Path;

/// Default tile side (pixels).
pub const DEFAULT_TILE: u32 = 512;
/// Largest tile side accepted (a u16 tile of 8192^2 is 128 MiB before compression).
pub const MAX_TILE: u32 = 8192;
/// Default Deflate level (zlib's default).
pub const DEFAULT_DEFLATE_LEVEL: u32 = 6;
/// Uncompressed tile bytes above which [`BigTiff::Auto`] writes BigTIFF: 3.9 GiB, leaving room
/// below 4 GiB for Deflate's worst-case growth (< 0.1%) and the IFD.
pub const BIGTIFF_THRESHOLD: u64 = 39 * (1 << 30) / 10;

/// How tiles are compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Stored as is (TIFF Compression = 1, no predictor).
    None,
    /// zlib Deflate (TIFF Compression = 8) at `level` 0..=9, with horizontal differencing
    /// (Predictor = 2) for integer samples.
    Deflate { level: u32 },
}

impl Default for Compression {
    fn default() -> Self {
        Compression::Deflate {
            level: DEFAULT_DEFLATE_LEVEL,
        }
    }
}

/// Classic TIFF or BigTIFF.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BigTiff {
    /// BigTIFF when the uncompressed tiles exceed [`BIGTIFF_THRESHOLD`] bytes.
    #[default]
    Auto,
    /// Always BigTIFF.
    Always,
}

/// The coordinate reference system, by EPSG code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Crs {
    /// A geographic CRS (model x = longitude, y = latitude, degrees), e.g. 4326 (WGS 84).
    Geographic(u16),
    /// A projected CRS (model units metres), e.g. 32631 (WGS 84 / UTM zone 31N).
    Projected(u16),
}

impl Crs {
    /// EPSG:4326, WGS 84 longitude / latitude.
    pub const WGS84: Crs = Crs::Geographic(4326);

    /// WGS 84 / UTM zone `zone` (1..=60), north (EPSG 326zz) or south (327zz) hemisphere.
    pub fn utm(zone: u8, north: bool) -> Result<Crs> {
        if !(1..=60).contains(&zone) {
            return Err(Error::Invalid(format!("UTM zone {zone} is not in 1..=60")));
        }
        Ok(Crs::Projected(
            if north { 32600 } else { 32700 } + zone as u16,
        ))
    }

    /// The EPSG code.
    pub fn epsg(self) -> u16 {
        match self {
            Crs::Geographic(c) | Crs::Projected(c) => c,
        }
    }
}

/// North-up georeferencing of a raster: pixel `(col, row)` covers model coordinates
/// `[x0 + col * px, x0 + (col + 1) * px) x (y0 - (row + 1) * py, y0 - row * py]`
/// (RasterPixelIsArea).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Georef {
    pub crs: Crs,
    /// Model x (longitude or easting) of the left edge of column 0.
    pub origin_x: f64,
    /// Model y (latitude or northing) of the top edge of row 0.
    pub origin_y: f64,
    /// Pixel width in model units (> 0).
    pub pixel_x: f64,
    /// Pixel height in model units (> 0; rows run south).
    pub pixel_y: f64,
}

impl Georef {
    /// Model coordinates of the point at continuous pixel coordinates `(x, y)` (the centre of
    /// pixel `(col, row)` is `(col + 0.5, row + 0.5)`).
    pub fn pixel_to_model(&self, x: f64, y: f64) -> (f64, f64) {
        (
            self.origin_x + x * self.pixel_x,
            self.origin_y - y * self.pixel_y,
        )
    }

    /// GDAL's geotransform: `[x0, px, 0, y0, 0, -py]`.
    pub fn geo_transform(&self) -> [f64; 6] {
        [
            self.origin_x,
            self.pixel_x,
            0.0,
            self.origin_y,
            0.0,
            -self.pixel_y,
        ]
    }
}

/// Options of [`write_geotiff`].
#[derive(Debug, Clone, PartialEq)]
pub struct GeoTiffOptions {
    /// Tile side in pixels: a positive multiple of 16 (TIFF requires it), at most
    /// [`MAX_TILE`].
    pub tile: u32,
    pub compression: Compression,
    pub bigtiff: BigTiff,
    /// Georeferencing; none: a plain tiled TIFF.
    pub georef: Option<Georef>,
    /// Written as the GDAL_NODATA tag.
    pub nodata: Option<f64>,
    /// Written as the ImageDescription tag (what the image is: `vesselscan detect --preset
    /// auto` reads its words as it reads a file name's).
    pub description: Option<String>,
}

impl Default for GeoTiffOptions {
    fn default() -> Self {
        GeoTiffOptions {
            tile: DEFAULT_TILE,
            compression: Compression::default(),
            bigtiff: BigTiff::Auto,
            georef: None,
            nodata: None,
            description: None,
        }
    }
}

/// A sample type the writer can store (one band). Implemented for `u8`, `u16`, `i16` and
/// `f32`; the TIFF description of the type lives here, the layout code is shared.
pub trait TiffSample: Copy + Default + Send + Sync + 'static {
    /// BitsPerSample.
    const BITS: u16;
    /// SampleFormat: 1 unsigned, 2 signed, 3 IEEE float.
    const FORMAT: u16;
    /// Whether Deflate uses horizontal differencing (Predictor = 2): integer types only.
    const PREDICTOR2: bool;
    /// `self - prev`, wrapping (Predictor = 2); unused when `PREDICTOR2` is false.
    fn diff(self, prev: Self) -> Self;
    /// Append the little-endian bytes.
    fn put_le(self, out: &mut Vec<u8>);
}

macro_rules! int_sample {
    ($t:ty, $fmt:expr) => {
        impl TiffSample for $t {
            const BITS: u16 = <$t>::BITS as u16;
            const FORMAT: u16 = $fmt;
            const PREDICTOR2: bool = true;
            #[inline]
            fn diff(self, prev: Self) -> Self {
                self.wrapping_sub(prev)
            }
            #[inline]
            fn put_le(self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
        }
    };
}
int_sample!(u8, 1);
int_sample!(u16, 1);
int_sample!(i16, 2);

impl TiffSample for f32 {
    const BITS: u16 = 32;
    const FORMAT: u16 = 3;
    const PREDICTOR2: bool = false;
    fn diff(self, _prev: Self) -> Self {
        self
    }
    fn put_le(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
}

/// What [`write_geotiff`] wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GeoTiffSummary {
    /// Size of the file in bytes.
    pub bytes: u64,
    /// Whether it is a BigTIFF.
    pub bigtiff: bool,
    /// Tiles across and down.
    pub tiles_across: u32,
    pub tiles_down: u32,
}

// TIFF field types.
const ASCII: u16 = 2;
const SHORT: u16 = 3;
const LONG: u16 = 4;
const DOUBLE: u16 = 12;
const LONG8: u16 = 16;

/// The value of one IFD entry.
enum Value {
    Short(Vec<u16>),
    Long(Vec<u32>),
    Long8(Vec<u64>),
    Double(Vec<f64>),
    Ascii(String),
}

impl Value {
    fn field_type(&self) -> u16 {
        match self {
            Value::Short(_) => SHORT,
            Value::Long(_) => LONG,
            Value::Long8(_) => LONG8,
            Value::Double(_) => DOUBLE,
            Value::Ascii(_) => ASCII,
        }
    }
    fn count(&self) -> u64 {
        match self {
            Value::Short(v) => v.len() as u64,
            Value::Long(v) => v.len() as u64,
            Value::Long8(v) => v.len() as u64,
            Value::Double(v) => v.len() as u64,
            // NUL-terminated.
            Value::Ascii(s) => s.len() as u64 + 1,
        }
    }
    fn bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        match self {
            Value::Short(v) => v
                .iter()
                .for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
            Value::Long(v) => v
                .iter()
                .for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
            Value::Long8(v) => v
                .iter()
                .for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
            Value::Double(v) => v
                .iter()
                .for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
            Value::Ascii(s) => {
                out.extend_from_slice(s.as_bytes());
                out.push(0);
            }
        }
        out
    }
}

use crate::geo::geotiff::keys::{
    GEOGRAPHIC_TYPE, GT_MODEL_TYPE, GT_RASTER_TYPE, MODEL_GEOGRAPHIC, MODEL_PROJECTED,
    PIXEL_IS_AREA, PROJECTED_CS_TYPE,
};

/// The GeoKeyDirectoryTag: version 1.1.0, keys sorted by id.
fn geokeys(crs: Crs) -> Vec<u16> {
    let (model, key) = match crs {
        Crs::Geographic(_) => (MODEL_GEOGRAPHIC, GEOGRAPHIC_TYPE),
        Crs::Projected(_) => (MODEL_PROJECTED, PROJECTED_CS_TYPE),
    };
    let keys = [
        (GT_MODEL_TYPE, model),
        (GT_RASTER_TYPE, PIXEL_IS_AREA),
        (key, crs.epsg()),
    ];
    let mut v = vec![1, 1, 0, keys.len() as u16];
    for (id, value) in keys {
        // Location 0: the value is the count-1 SHORT that follows.
        v.extend_from_slice(&[id, 0, 1, value]);
    }
    v
}

/// The GDAL_NODATA text of a value ("nan" for NaN, as GDAL writes it).
fn nodata_text(v: f64) -> String {
    if v.is_nan() {
        "nan".into()
    } else {
        format!("{v}")
    }
}

fn check_options(width: u32, height: u32, opts: &GeoTiffOptions) -> Result<()> {
    if width == 0 || height == 0 {
        return Err(Error::Invalid(format!(
            "cannot write a {width}x{height} TIFF: both sides must be at least 1"
        )));
    }
    if opts.tile == 0 || opts.tile % 16 != 0 || opts.tile > MAX_TILE {
        return Err(Error::Invalid(format!(
            "tile size {} is not a positive multiple of 16 up to {MAX_TILE} (TIFF requires multiples of 16)",
            opts.tile
        )));
    }
    if let Compression::Deflate { level } = opts.compression {
        if level > 9 {
            return Err(Error::Invalid(format!(
                "Deflate level {level} is not in 0..=9"
            )));
        }
    }
    if let Some(g) = &opts.georef {
        let ok = |v: f64| v.is_finite() && v > 0.0;
        if !ok(g.pixel_x) || !ok(g.pixel_y) || !g.origin_x.is_finite() || !g.origin_y.is_finite() {
            return Err(Error::Invalid(format!(
                "bad georeferencing: origin ({}, {}), pixel size ({}, {}) (need finite values and positive sizes)",
                g.origin_x, g.origin_y, g.pixel_x, g.pixel_y
            )));
        }
    }
    Ok(())
}

/// Cut tile `tx` out of a band of `rows` full-width rows, pad it with zeros to `t x t`, apply
/// the predictor and compress it.
fn encode_tile<S: TiffSample>(
    band: &[S],
    width: usize,
    rows: usize,
    tx: usize,
    t: usize,
    compression: Compression,
) -> std::io::Result<Vec<u8>> {
    let x0 = tx * t;
    let cols = t.min(width - x0);
    let predict = S::PREDICTOR2 && matches!(compression, Compression::Deflate { .. });
    let bytes_per = (S::BITS / 8) as usize;
    let mut raw = Vec::with_capacity(t * t * bytes_per);
    let zero = S::default();
    for r in 0..t {
        let mut prev = zero;
        for c in 0..t {
            let v = if r < rows && c < cols {
                band[r * width + x0 + c]
            } else {
                zero
            };
            if predict {
                v.diff(prev).put_le(&mut raw);
                prev = v;
            } else {
                v.put_le(&mut raw);
            }
        }
    }
    match compression {
        Compression::None => Ok(raw),
        Compression::Deflate { level } => {
            let mut enc = flate2::write::ZlibEncoder::new(
                Vec::with_capacity(raw.len() / 2 + 64),
                flate2::Compression::new(level),
            );
            enc.write_all(&raw)?;
            enc.finish()
        }
    }
}

/// Write a `width x height` single-band image to `path` as a tiled GeoTIFF, atomically.
///
/// `band(y0, rows)` is called for each tile row in order (`y0 = 0, t, 2t, ...`; `rows = t`
/// except at the bottom edge) and must return `rows * width` samples, row-major. Its errors are
/// passed on (and nothing is left at `path`).
pub fn write_geotiff<S, F>(
    path: &Path,
    width: u32,
    height: u32,
    opts: &GeoTiffOptions,
    mut band: F,
) -> Result<GeoTiffSummary>
where
    S: TiffSample,
    F: FnMut(u32, u32) -> Result<Vec<S>>,
{
    check_options(width, height, opts)?;
    let err = |source| Error::Write {
        path: path.to_owned(),
        source,
    };
    // A device or pipe would be replaced by the rename, and a GeoTIFF needs seeking anyway.
    if std::fs::metadata(path).is_ok_and(|m| !m.is_file()) {
        return Err(err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a regular file (a GeoTIFF is written to a file, then renamed into place)",
        )));
    }
    let t = opts.tile as usize;
    let (w, h) = (width as usize, height as usize);
    let across = w.div_ceil(t);
    let down = h.div_ceil(t);
    let n_tiles = across * down;
    let tile_bytes = (t * t) as u64 * (S::BITS / 8) as u64;
    let big = match opts.bigtiff {
        BigTiff::Always => true,
        BigTiff::Auto => n_tiles as u64 * tile_bytes > BIGTIFF_THRESHOLD,
    };

    let mut tmp = super::temp_beside(path).map_err(err)?;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, tmp.as_file_mut());

    // Header, first-IFD offset patched at the end.
    let header_len: u64 = if big { 16 } else { 8 };
    if big {
        out.write_all(b"II\x2B\x00\x08\x00\x00\x00")
            .and_then(|_| out.write_all(&0u64.to_le_bytes()))
    } else {
        out.write_all(b"II\x2A\x00")
            .and_then(|_| out.write_all(&0u32.to_le_bytes()))
    }
    .map_err(err)?;
    let mut pos = header_len;

    let mut offsets: Vec<u64> = Vec::with_capacity(n_tiles);
    let mut counts: Vec<u64> = Vec::with_capacity(n_tiles);
    for ty in 0..down {
        let y0 = ty * t;
        let rows = t.min(h - y0);
        let samples = band(y0 as u32, rows as u32)?;
        if samples.len() != rows * w {
            return Err(Error::Invalid(format!(
                "{}: the image source gave {} samples for rows {y0}..{} of width {w} (expected {})",
                path.display(),
                samples.len(),
                y0 + rows,
                rows * w
            )));
        }
        let tiles: Vec<Vec<u8>> = (0..across)
            .into_par_iter()
            .map(|tx| encode_tile(&samples, w, rows, tx, t, opts.compression))
            .collect::<std::io::Result<_>>()
            .map_err(err)?;
        drop(samples);
        for tile in tiles {
            offsets.push(pos);
            counts.push(tile.len() as u64);
            out.write_all(&tile).map_err(err)?;
            pos += tile.len() as u64;
        }
    }

    // The IFD, word-aligned (8 bytes, for the doubles that follow it).
    let pad = pos.next_multiple_of(8) - pos;
    out.write_all(&[0u8; 8][..pad as usize]).map_err(err)?;
    pos += pad;
    let ifd_offset = pos;

    let too_big = |what: &str| {
        Error::Invalid(format!(
            "{}: {what} exceeds 4 GiB, the limit of classic TIFF; write a BigTIFF",
            path.display()
        ))
    };
    let mut entries: Vec<(u16, Value)> = vec![
        (256, Value::Long(vec![width])),
        (257, Value::Long(vec![height])),
        (258, Value::Short(vec![S::BITS])),
        (
            259,
            Value::Short(vec![match opts.compression {
                Compression::None => 1,
                Compression::Deflate { .. } => 8,
            }]),
        ),
        // BlackIsZero.
        (262, Value::Short(vec![1])),
    ];
    if let Some(d) = &opts.description {
        entries.push((270, Value::Ascii(d.clone())));
    }
    entries.extend([
        (277, Value::Short(vec![1])),
        (284, Value::Short(vec![1])),
        (
            305,
            Value::Ascii(format!("vesselscan {}", env!("CARGO_PKG_VERSION"))),
        ),
    ]);
    if S::PREDICTOR2 && matches!(opts.compression, Compression::Deflate { .. }) {
        entries.push((317, Value::Short(vec![2])));
    }
    entries.push((322, Value::Long(vec![opts.tile])));
    entries.push((323, Value::Long(vec![opts.tile])));
    if big {
        entries.push((324, Value::Long8(offsets)));
        entries.push((325, Value::Long8(counts)));
    } else {
        let to32 = |v: Vec<u64>, what: &str| {
            v.into_iter()
                .map(|x| u32::try_from(x).map_err(|_| too_big(what)))
                .collect::<Result<Vec<u32>>>()
        };
        entries.push((324, Value::Long(to32(offsets, "a tile offset")?)));
        entries.push((325, Value::Long(to32(counts, "a tile")?)));
    }
    entries.push((339, Value::Short(vec![S::FORMAT])));
    if let Some(g) = &opts.georef {
        entries.push((33550, Value::Double(vec![g.pixel_x, g.pixel_y, 0.0])));
        entries.push((
            33922,
            Value::Double(vec![0.0, 0.0, 0.0, g.origin_x, g.origin_y, 0.0]),
        ));
        entries.push((34735, Value::Short(geokeys(g.crs))));
    }
    if let Some(v) = opts.nodata {
        entries.push((42113, Value::Ascii(nodata_text(v))));
    }
    debug_assert!(entries.windows(2).all(|e| e[0].0 < e[1].0));

    // Entries, then the values that do not fit in an entry, each 8-byte aligned.
    let (inline, ifd_len) = if big {
        (8usize, 8 + 20 * entries.len() as u64 + 8)
    } else {
        (4usize, 2 + 12 * entries.len() as u64 + 4)
    };
    let mut ifd: Vec<u8> = Vec::with_capacity(ifd_len as usize);
    let mut extra: Vec<u8> = Vec::new();
    let extra_start = ifd_offset + ifd_len;
    if big {
        ifd.extend_from_slice(&(entries.len() as u64).to_le_bytes());
    } else {
        ifd.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    }
    for (tag, value) in &entries {
        ifd.extend_from_slice(&tag.to_le_bytes());
        ifd.extend_from_slice(&value.field_type().to_le_bytes());
        let count = value.count();
        let mut bytes = value.bytes();
        if big {
            ifd.extend_from_slice(&count.to_le_bytes());
        } else {
            let c = u32::try_from(count).map_err(|_| too_big("a tag"))?;
            ifd.extend_from_slice(&c.to_le_bytes());
        }
        if bytes.len() <= inline {
            bytes.resize(inline, 0);
            ifd.extend_from_slice(&bytes);
        } else {
            let at = extra_start + extra.len() as u64;
            if big {
                ifd.extend_from_slice(&at.to_le_bytes());
            } else {
                let a = u32::try_from(at).map_err(|_| too_big("the file"))?;
                ifd.extend_from_slice(&a.to_le_bytes());
            }
            extra.extend_from_slice(&bytes);
            extra.resize(extra.len().next_multiple_of(8), 0);
        }
    }
    // No next IFD.
    ifd.extend_from_slice(&if big { vec![0u8; 8] } else { vec![0u8; 4] });
    debug_assert_eq!(ifd.len() as u64, ifd_len);
    if !big && extra_start + extra.len() as u64 > u32::MAX as u64 {
        return Err(too_big("the file"));
    }
    out.write_all(&ifd).map_err(err)?;
    out.write_all(&extra).map_err(err)?;
    let total = extra_start + extra.len() as u64;
    out.flush().map_err(err)?;
    drop(out);

    // Patch the first-IFD offset.
    let file = tmp.as_file_mut();
    if big {
        file.seek(SeekFrom::Start(8))
            .and_then(|_| file.write_all(&ifd_offset.to_le_bytes()))
    } else {
        file.seek(SeekFrom::Start(4))
            .and_then(|_| file.write_all(&(ifd_offset as u32).to_le_bytes()))
    }
    .map_err(err)?;
    file.sync_all().map_err(err)?;
    tmp.persist(path).map_err(|e| err(e.error))?;
    Ok(GeoTiffSummary {
        bytes: total,
        bigtiff: big,
        tiles_across: across as u32,
        tiles_down: down as u32,
    })
}

/// Write a whole in-memory image (`width * height` samples, row-major) with [`write_geotiff`].
pub fn write_geotiff_image<S: TiffSample>(
    path: &Path,
    width: u32,
    height: u32,
    samples: &[S],
    opts: &GeoTiffOptions,
) -> Result<GeoTiffSummary> {
    if samples.len() as u64 != width as u64 * height as u64 {
        return Err(Error::Invalid(format!(
            "{}: {} samples for a {width}x{height} image",
            path.display(),
            samples.len()
        )));
    }
    let w = width as usize;
    write_geotiff(path, width, height, opts, |y0, rows| {
        let (a, b) = (y0 as usize * w, (y0 + rows) as usize * w);
        Ok(samples[a..b].to_vec())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geokey_directory() {
        assert_eq!(
            geokeys(Crs::WGS84),
            vec![1, 1, 0, 3, 1024, 0, 1, 2, 1025, 0, 1, 1, 2048, 0, 1, 4326]
        );
        assert_eq!(
            geokeys(Crs::utm(31, true).unwrap()),
            vec![1, 1, 0, 3, 1024, 0, 1, 1, 1025, 0, 1, 1, 3072, 0, 1, 32631]
        );
        assert_eq!(Crs::utm(60, false).unwrap().epsg(), 32760);
        assert!(Crs::utm(0, true).is_err());
    }

    #[test]
    fn predictor_and_padding() {
        // A 3x2 band in a 16x16 tile: differences along each row, zeros after the image.
        let band: Vec<u16> = vec![5, 7, 4, 1, 1, 65535];
        let raw = encode_tile(&band, 3, 2, 0, 16, Compression::None).unwrap();
        assert_eq!(raw.len(), 16 * 16 * 2);
        let px: Vec<u16> = raw
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        assert_eq!(&px[..4], &[5, 7, 4, 0]);
        assert_eq!(&px[16..20], &[1, 1, 65535, 0]);
        assert!(px[32..].iter().all(|&v| v == 0));
        let z = encode_tile(&band, 3, 2, 0, 16, Compression::Deflate { level: 6 }).unwrap();
        let mut dec = flate2::read::ZlibDecoder::new(&z[..]);
        let mut back = Vec::new();
        std::io::Read::read_to_end(&mut dec, &mut back).unwrap();
        let d: Vec<u16> = back
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        // 5, 7-5, 4-7 (wrapping), then the padding's 0 - 4.
        assert_eq!(&d[..4], &[5, 2, 65533, 65532]);
        assert_eq!(&d[16..19], &[1, 0, 65534]);
    }

    #[test]
    fn bad_options() {
        let p = Path::new("/nonexistent/x.tif");
        let mut o = GeoTiffOptions {
            tile: 500,
            ..Default::default()
        };
        assert!(write_geotiff_image::<u16>(p, 1, 1, &[0], &o).is_err());
        o.tile = 512;
        assert!(write_geotiff_image::<u16>(p, 0, 1, &[], &o).is_err());
        o.compression = Compression::Deflate { level: 10 };
        assert!(write_geotiff_image::<u16>(p, 1, 1, &[0], &o).is_err());
    }
}
