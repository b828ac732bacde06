//! Stage 1, **read**: rasters from disk into order keys (see [`crate::sample`]).
//!
//! * [`tiff`]: TIFF / GeoTIFF / BigTIFF, parsed by the `tiff` crate (strips or tiles, chunky or
//!   planar, u8/u16/i16/u32/f32, uncompressed, Deflate, LZW, PackBits, ZSTD), read chunk by chunk
//!   into the one band asked for.
//! * [`picture`]: PNG and JPEG through `image` (grey; RGB to luminance unless a band is asked for).
//!
//! Sizes are checked before anything is allocated: a header may claim 10^6 x 10^6 pixels.

pub mod picture;
pub mod tiff;
pub mod window;

use crate::error::{Error, Result};
use crate::sample::SampleKind;
use std::path::Path;

/// Default cap on the pixels of one band held in memory (4 bytes a pixel as keys): 2^31 px = 8 GiB.
pub const DEFAULT_MAX_PIXELS: u64 = 1 << 31;

/// What to read.
#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// 1-based band, as in GDAL. `None`: band 1 for TIFF, luminance for RGB pictures.
    pub band: Option<u32>,
    /// Refuse rasters with more pixels than this (checked before any allocation).
    pub max_pixels: u64,
    /// Decode simple TIFF chunks (Deflate, ZSTD or uncompressed; predictor 1 or 2) directly:
    /// one-call decompression (libdeflate, a reused zstd context) and the predictor fused into
    /// the conversion to keys, rather than through the `tiff` crate. Same results; `false` is for comparisons and benchmarks.
    pub direct_decode: bool,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            band: None,
            max_pixels: DEFAULT_MAX_PIXELS,
            direct_decode: true,
        }
    }
}

/// One band of a scene, as order keys, row-major.
#[derive(Debug, Clone)]
pub struct Raster {
    pub width: u32,
    pub height: u32,
    pub kind: SampleKind,
    /// `width * height` order keys, row-major (see [`crate::sample`]).
    pub keys: Vec<u32>,
    /// 1-based band that was read (0 for the luminance of an RGB picture).
    pub band: u32,
    /// Bands in the file.
    pub bands: u32,
    /// Nodata value from the file (GDAL_NODATA tag 42113), if any.
    pub nodata: Option<f64>,
}

impl Raster {
    /// Everything but the samples (`keys` empty).
    pub fn clone_header(&self) -> Raster {
        Raster {
            width: self.width,
            height: self.height,
            kind: self.kind,
            keys: Vec::new(),
            band: self.band,
            bands: self.bands,
            nodata: self.nodata,
        }
    }
}

/// The reader a file needs, by its magic bytes (not its extension).
enum FileKind {
    Tiff,
    Picture,
}

/// An error unless `path` is a regular file (or a link to one): a FIFO, a socket, a device or
/// a directory gets a one-line error naming it, before anything opens it for reading (opening
/// a FIFO blocks until something writes to it). A missing file is [`Error::Io`].
pub fn check_regular_file(path: &Path) -> Result<()> {
    let meta = std::fs::metadata(path).map_err(|source| Error::Io {
        path: path.to_owned(),
        source,
    })?;
    check_file_type(path, &meta.file_type())
}

fn check_file_type(path: &Path, t: &std::fs::FileType) -> Result<()> {
    match not_regular(t) {
        None => Ok(()),
        Some(what) => Err(Error::Format {
            path: path.to_owned(),
            msg: format!("{what}, not a regular file: give an image file"),
        }),
    }
}

/// What a file that is not a regular file is (`"a FIFO (named pipe)"`, ...), or None for a
/// regular file. Such files are never opened for reading: a FIFO would block.
pub fn not_regular(t: &std::fs::FileType) -> Option<&'static str> {
    if t.is_file() {
        return None;
    }
    if t.is_dir() {
        return Some("a directory");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return Some("a FIFO (named pipe)");
        } else if t.is_socket() {
            return Some("a socket");
        } else if t.is_char_device() {
            return Some("a character device");
        } else if t.is_block_device() {
            return Some("a block device");
        }
    }
    Some("not a regular file")
}

/// A file opened once and shared by several readers, each with its own position: reads go
/// through `pread` (`read_at`), so readers of the same file never move each other's offset
/// and the file is not opened again by name.
#[derive(Debug)]
pub struct SharedFile {
    file: std::sync::Arc<std::fs::File>,
    pos: u64,
    len: u64,
    /// Bytes read differently from what the file holds: (offset, bytes), for every reader
    /// (see [`SharedFile::patch`]).
    patches: std::sync::Arc<Vec<(u64, Vec<u8>)>>,
}

impl SharedFile {
    /// Open `path` for reading, refused before it is opened unless it is a regular file
    /// ([`check_regular_file`]).
    pub fn open(path: &Path) -> Result<SharedFile> {
        let io = |source| Error::Io {
            path: path.to_owned(),
            source,
        };
        check_regular_file(path)?;
        let file = std::fs::File::open(path).map_err(io)?;
        // What was opened, in case the path changed since it was checked.
        let meta = file.metadata().map_err(io)?;
        check_file_type(path, &meta.file_type())?;
        Ok(SharedFile {
            file: std::sync::Arc::new(file),
            pos: 0,
            len: meta.len(),
            patches: Default::default(),
        })
    }
    /// A second reader of the same open file, at its start.
    pub fn reader(&self) -> SharedFile {
        SharedFile {
            file: self.file.clone(),
            pos: 0,
            len: self.len,
            patches: self.patches.clone(),
        }
    }
    /// Read `bytes` at `offset` in place of what the file holds there (for this reader and the
    /// readers made from it afterwards); the file itself is not written.
    pub fn patch(&mut self, offset: u64, bytes: Vec<u8>) {
        std::sync::Arc::make_mut(&mut self.patches).push((offset, bytes));
    }
    /// The file's length when it was opened.
    pub fn len(&self) -> u64 {
        self.len
    }
    /// Whether the file was empty when opened.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl std::io::Read for SharedFile {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        use std::os::unix::fs::FileExt;
        let n = self.file.read_at(buf, self.pos)?;
        for (at, bytes) in self.patches.iter() {
            let (a, b) = (self.pos, self.pos + n as u64);
            let (from, to) = ((*at).max(a), (at + bytes.len() as u64).min(b));
            if from < to {
                buf[(from - a) as usize..(to - a) as usize]
                    .copy_from_slice(&bytes[(from - at) as usize..(to - at) as usize]);
            }
        }
        self.pos += n as u64;
        Ok(n)
    }
}

impl std::io::Seek for SharedFile {
    fn seek(&mut self, to: std::io::SeekFrom) -> std::io::Result<u64> {
        let pos = match to {
            std::io::SeekFrom::Start(p) => Some(p),
            std::io::SeekFrom::End(d) => self.len.checked_add_signed(d),
            std::io::SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        self.pos = pos.ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "seek before the start of the file",
            )
        })?;
        Ok(self.pos)
    }
}

/// Open `path` for reading, once: refused unless it is a regular file
/// ([`check_regular_file`]), then its magic bytes tell the reader (read through the same
/// handle, which is handed on at its start).
fn open_input(path: &Path) -> Result<(SharedFile, FileKind)> {
    use std::io::Read;
    let io = |source| Error::Io {
        path: path.to_owned(),
        source,
    };
    let mut f = SharedFile::open(path)?;
    let mut magic = [0u8; 8];
    let mut n = 0;
    while n < magic.len() {
        match f.read(&mut magic[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(io(e)),
        }
    }
    let magic = &magic[..n];
    let kind = if magic.starts_with(b"II") || magic.starts_with(b"MM") {
        FileKind::Tiff
    } else if magic.starts_with(&[0x89, b'P', b'N', b'G']) || magic.starts_with(&[0xFF, 0xD8, 0xFF])
    {
        FileKind::Picture
    } else {
        return Err(Error::Format {
            path: path.to_owned(),
            msg: if n == 0 {
                "empty file"
            } else {
                "not a TIFF, PNG or JPEG file"
            }
            .into(),
        });
    };
    Ok((f.reader(), kind))
}

/// Read one band of `path`, choosing the reader by the file's magic bytes (not its extension).
pub fn read_raster(path: &Path, opts: &ReadOptions) -> Result<Raster> {
    match open_input(path)? {
        (f, FileKind::Tiff) => tiff::read_tiff_from(path, f, opts),
        (f, FileKind::Picture) => picture::read_picture_from(path, f, opts),
    }
}

/// Default cap on the working set of one scene, in MiB (`--memory-mb`).
pub const DEFAULT_MEMORY_MB: u64 = 512;

/// Bytes a pixel of a window row costs against `--memory-mb` ([`window_rows_for`]).
pub const WINDOW_BYTES_PER_PX: u64 = 12;

/// Rows of a window that keep one scene's working set within `memory_mb`: a window row of
/// `width` pixels costs 12 bytes a pixel, as two windows are in flight (one read ahead, 4 B a
/// key each, see [`window::for_each_window`]) and the one being worked on may be copied once
/// more (GPU upload batches). Labels, decode buffers and the process itself come on top (see
/// docs/BENCHMARKS.md for measured peaks).
pub fn window_rows_for(width: u32, memory_mb: u64) -> u32 {
    let per_row = (width.max(1) as u64) * WINDOW_BYTES_PER_PX;
    ((memory_mb << 20) / per_row).clamp(1, u32::MAX as u64) as u32
}

/// Open `path` as a source of windows: TIFFs are read window by window ([`tiff::TiffBand`]),
/// PNG row by row ([`picture::open_picture`]; interlaced PNG and JPEG are decoded whole, within
/// `opts.max_pixels`). The file is opened once, and refused before it is opened when it is
/// not a regular file ([`check_regular_file`]).
///
/// A Sentinel-1 measurement TIFF inside a SAFE product (`X.SAFE/measurement/<name>.tiff`) is
/// georeferenced by the geolocation grid of its annotation (`X.SAFE/annotation/<name>.xml`),
/// in place of the TIFF's own tags.
pub fn open_source(path: &Path, opts: &ReadOptions) -> Result<Box<dyn window::RasterSource>> {
    Ok(match open_input(path)? {
        (f, FileKind::Tiff) => {
            let mut band = tiff::TiffBand::open_file(path, f, opts)?;
            if let Some(xml) = crate::geo::gcp::find_s1_annotation(path) {
                let a = crate::geo::gcp::read_s1_annotation(&xml)?;
                if a.time.is_some() {
                    band.time = a.time.clone();
                }
                band.sar = a.sar;
                band.geo = safe_georef(&xml, a, band.header.width, band.header.height)?;
            }
            Box::new(band)
        }
        (f, FileKind::Picture) => picture::open_picture(path, f, opts)?,
    })
}

/// The georeferencing of the geolocation grid of annotation `a` (read from `xml`) for a
/// `width` x `height` measurement image (unusable, with the reason, when the sizes disagree).
fn safe_georef(
    xml: &Path,
    a: crate::geo::gcp::S1Annotation,
    width: u32,
    height: u32,
) -> Result<crate::geo::GeoStatus> {
    use crate::geo::{GeoStatus, Georef, Mapping};
    if (a.width, a.height) != (width, height) {
        return Ok(GeoStatus::Unusable(format!(
            "{} describes a {}x{} image, not {width}x{height}",
            xml.display(),
            a.width,
            a.height
        )));
    }
    let n = a.gcps.len();
    let grid = crate::geo::gcp::GcpGrid::new(a.gcps).map_err(|msg| Error::Format {
        path: xml.to_owned(),
        msg: format!("geolocation grid: {msg}"),
    })?;
    let name = xml.file_name().unwrap_or_default().to_string_lossy();
    Ok(GeoStatus::Some(std::sync::Arc::new(Georef {
        mapping: Mapping::Grid(std::sync::Arc::new(grid)),
        source: format!("Sentinel-1 annotation {name} ({n} GCPs)"),
    }))
    .checked(width, height))
}

/// Check a claimed size before allocating for it.
pub fn check_size(path: &Path, width: u64, height: u64, max_pixels: u64) -> Result<()> {
    if width == 0 || height == 0 {
        return Err(Error::Format {
            path: path.to_owned(),
            msg: format!("image has zero size ({width}x{height})"),
        });
    }
    let px = width.saturating_mul(height);
    if px > max_pixels {
        return Err(Error::TooLarge {
            path: path.to_owned(),
            width,
            height,
            msg: format!("more than the limit of {max_pixels} pixels"),
        });
    }
    Ok(())
}

/// Allocate `n` keys or fail with a clear error instead of aborting.
pub fn alloc_keys(path: &Path, width: u32, height: u32) -> Result<Vec<u32>> {
    let n = width as usize * height as usize;
    let mut v: Vec<u32> = Vec::new();
    v.try_reserve_exact(n).map_err(|_| Error::TooLarge {
        path: path.to_owned(),
        width: width as u64,
        height: height as u64,
        msg: "not enough memory".into(),
    })?;
    v.resize(n, 0);
    Ok(v)
}
