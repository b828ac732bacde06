//! TIFF / GeoTIFF / BigTIFF reader: the `tiff` crate parses the file; the common chunk layouts
//! (Deflate, ZSTD or none; predictor 1 or 2) are decoded here in one pass each (`Direct`:
//! one-call decompression, the predictor undone while samples become keys), the rest by the
//! crate.
//!
//! Only the first image (IFD) of the file is read; overviews and masks that follow are ignored.
//!
//! * Samples: u8, u16, i16, u32, f32 (BitsPerSample + SampleFormat). Anything else is
//!   [`Error::Unsupported`], naming the sample format.
//! * Layout: strips or tiles (edge chunks may be smaller), chunky (interleaved) or planar
//!   (`PlanarConfiguration = 2`), any number of bands. For planar files only the chunks of the
//!   band asked for are decoded.
//! * Compression: none, Deflate (tags 8 and 32946), LZW, PackBits, ZSTD; predictors 2
//!   (horizontal differencing) and 3 (floating point), which the `tiff` crate undoes while
//!   decoding a chunk. Other compressions (JPEG, CCITT, LERC, WebP, ...) are refused.
//! * Nodata: the GDAL_NODATA tag (42113, ASCII), parsed as a number ("nan" included).
//!
//! Memory: the image is decoded one chunk (strip or tile) at a time into a reused buffer, each
//! sample of the band asked for going straight to its order key; the whole multi-band image is
//! never held. A chunk larger than [`MAX_CHUNK_BYTES`] decoded (or compressed) is refused, and
//! the size of the raster is checked against [`ReadOptions::max_pixels`] before the keys are
//! allocated.
//!
//! Photometric interpretation is not applied: values are read as stored, WhiteIsZero
//! (MinIsWhite) included, as GDAL and tifffile read them (the `tiff` crate would invert
//! WhiteIsZero chunks; those it decodes go through a BlackIsZero copy, see `read_one_chunk`).
use super::{alloc_keys, check_size, Raster, ReadOptions, SharedFile};
use crate::error::{Error, Result};
use crate::sample::{key_f32, key_i16, key_u16, key_u32, key_u8, SampleKind};
use std::io::{BufReader, Read, Seek};
use std::path::{Path, PathBuf};
use tiff::decoder::{ifd::Value, ChunkType, Decoder, Limits};
use tiff::tags::Tag;
use tiff::TiffError;

/// Largest chunk (strip or tile, all its samples) we decode at once, and largest compressed chunk.
pub const MAX_CHUNK_BYTES: usize = 1 << 30;

/// Compressions we read (TIFF tag 259 values).
const COMP_NONE: u16 = 1;
const COMP_LZW: u16 = 5;
const COMP_DEFLATE: u16 = 8;
const COMP_PACKBITS: u16 = 32773;
const COMP_OLD_DEFLATE: u16 = 32946;
const COMP_ZSTD: u16 = 50000;

/// Read band `opts.band` (1-based, default 1) of the first image of a TIFF file.
pub fn read_tiff(path: &Path, opts: &ReadOptions) -> Result<Raster> {
    read_tiff_from(path, SharedFile::open(path)?, opts)
}

/// [`read_tiff`] of `file`, already open (`path` names it in errors).
pub fn read_tiff_from(path: &Path, file: SharedFile, opts: &ReadOptions) -> Result<Raster> {
    let mut band = TiffBand::open_file(path, file, opts)?;
    let h = band.header.height;
    check_size(path, band.header.width.into(), h.into(), opts.max_pixels)?;
    let keys = band.read_rows(0, h)?;
    Ok(Raster {
        keys,
        ..band.header.clone_header()
    })
}

/// One band of a TIFF, open for reading window by window ([`TiffBand::read_rows`]): only the
/// chunks (strips or tiles) that meet the rows asked for are decoded, by several decoders in
/// parallel (one per rayon thread, each with its own file handle) when the rows span several
/// rows of chunks.
pub struct TiffBand {
    path: PathBuf,
    /// The open file: every decoder reads it through its own [`SharedFile::reader`].
    file: SharedFile,
    /// Size, sample type, band, bands and nodata (`keys` empty).
    pub header: Raster,
    geom: Geom,
    /// Georeferencing from the GeoTIFF tags.
    pub geo: crate::geo::GeoStatus,
    /// Acquisition time and where it came from: the TIFF DateTime tag, or (set by
    /// `read::open_source`) a Sentinel-1 annotation's start and stop times.
    pub time: Option<(String, String)>,
    /// The ImageDescription tag.
    pub description: Option<String>,
    /// SAR viewing geometry (set by `read::open_source` from a Sentinel-1 annotation).
    pub sar: Option<crate::ais::matching::SarGeometry>,
    /// Decoders: the first is opened with the band, the others lazily, up to the thread count.
    readers: Vec<ChunkReader>,
}

/// Where the band's samples are: the chunk grid and the layout of a decoded chunk.
struct Geom {
    kind: SampleKind,
    width: u32,
    height: u32,
    cw: u64,
    ch: u64,
    across: u64,
    per_plane: u64,
    plane: u32,
    band_off: usize,
    spp: usize,
    chunk_bytes: usize,
    lzw_workaround: bool,
    tiled: bool,
    tile_spec: TileSpec,
    /// Set when chunks can be decoded without the `tiff` crate ([`Direct`]).
    direct: Option<Direct>,
    /// WhiteIsZero (PhotometricInterpretation 0): chunks the crate decodes (it inverts them)
    /// are decoded through a one-chunk BlackIsZero TIFF instead, so that values are read as
    /// stored, as GDAL reads them ([`read_one_chunk`]).
    white_is_zero: bool,
    /// Bytes in the file: no chunk is read (or buffered) past them.
    file_len: u64,
    /// Most bytes one stored byte of a chunk can decode to, by the compression
    /// ([`max_expansion`]).
    max_ratio: u64,
}

/// How a chunk of the direct path is stored.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Codec {
    None,
    Deflate,
    Zstd,
}

/// The chunks of files whose layout is this simple are decoded here rather than through the
/// `tiff` crate: their compressed bytes read in one piece and decompressed in one call (Deflate
/// by libdeflate, ZSTD by one reused zstd context), then the predictor undone while the band's
/// samples become keys, in one pass. Deflate, ZSTD or no compression; predictor 1, or 2 on
/// integers; every sample of a pixel returned; no WhiteIsZero inversion. Anything this path
/// does not expect of a chunk (a short or malformed stream, a bad checksum, bytes past the
/// file's end) sends that chunk back to the crate, so the results and errors stay the crate's.
#[derive(Clone, Copy, Debug)]
struct Direct {
    codec: Codec,
    /// Horizontal differencing (predictor 2), undone per sample.
    differenced: bool,
    big_endian: bool,
    /// Samples of a pixel in a chunk (1 for planar files).
    samples: usize,
    /// Bytes of one decoded row of a chunk (its full width: tiles keep their padding).
    row_bytes: usize,
}

/// One decoder of the file with its chunk buffer.
struct ChunkReader {
    dec: Decoder<BufReader<SharedFile>>,
    buf: Vec<u8>,
    /// The file's chunk offsets and byte counts (read when first needed).
    ranges: Option<(Vec<u64>, Vec<u64>)>,
    /// Compressed bytes of the chunk being decoded by the direct path.
    packed: Vec<u8>,
    inflater: Option<libdeflater::Decompressor>,
    unzstd: Option<zstd::bulk::Decompressor<'static>>,
}

/// Chunks decoding to at most this many bytes more than their stored bytes can expand to
/// are still decoded (the decoder then says what is wrong): short chunks of small files.
const CHUNK_SLACK: u64 = 1 << 20;

/// Most bytes one stored byte can decode to, by TIFF compression: none 1, PackBits 64 (a run
/// of 128 in 2 bytes), Deflate 1032 (258 bytes in 2 bits), LZW under 2048 (strings grow by
/// one byte a code until the 4094-entry table is cleared), ZSTD 32768 (a 128 KiB RLE block in
/// 4 bytes), each rounded up.
fn max_expansion(compression: u16) -> u64 {
    match compression {
        COMP_NONE => 1,
        COMP_PACKBITS => 64,
        COMP_DEFLATE | COMP_OLD_DEFLATE => 1040,
        COMP_LZW => 2048,
        _ => 1 << 16,
    }
}

/// Decoders of the same file read at most this many rows of chunks at once.
const MAX_READERS: usize = 16;

impl TiffBand {
    /// Open `path` and check what can be checked without reading pixels (sample format,
    /// compression, band, chunk size). The scene size is not limited here: a caller that holds
    /// the whole scene checks it ([`read_tiff`]); a windowed reader holds one window.
    pub fn open(path: &Path, opts: &ReadOptions) -> Result<TiffBand> {
        TiffBand::open_file(path, SharedFile::open(path)?, opts)
    }

    /// [`TiffBand::open`] of `file`, already open (`path` names it in errors); decoders read
    /// it through their own [`SharedFile::reader`], never opening it again.
    pub fn open_file(path: &Path, mut file: SharedFile, opts: &ReadOptions) -> Result<TiffBand> {
        for (at, bytes) in first_ifd_patches(&file) {
            file.patch(at, bytes);
        }
        let (mut dec, header, geom) = open_from(path, buffered(file.reader()), opts)?;
        let geo = geo_tags(&mut dec)
            .status()
            .checked(header.width, header.height);
        // A tag that cannot be read counts as absent, as for the GeoTIFF tags.
        let time = dec
            .get_tag_ascii_string(Tag::DateTime)
            .ok()
            .map(|s| {
                (
                    s.trim_end_matches('\0').trim().to_string(),
                    "TIFF DateTime tag".to_string(),
                )
            })
            .filter(|(s, _)| !s.is_empty());
        let description = dec
            .get_tag_ascii_string(Tag::ImageDescription)
            .ok()
            .map(|s| s.trim_end_matches('\0').trim().to_string())
            .filter(|s| !s.is_empty());
        let reader = ChunkReader::new(path, dec, &geom)?;
        Ok(TiffBand {
            path: path.to_owned(),
            file,
            header,
            geom,
            geo,
            time,
            description,
            sar: None,
            readers: vec![reader],
        })
    }

    /// Whether the chunks are decoded by the direct path ([`ReadOptions::direct_decode`]) rather
    /// than through the `tiff` crate (a chunk the direct path refuses still goes to the crate).
    pub fn decodes_directly(&self) -> bool {
        self.geom.direct.is_some()
    }

    /// The keys of rows `y0..y1` (full width), row-major.
    pub fn read_rows(&mut self, y0: u32, y1: u32) -> Result<Vec<u32>> {
        let y1 = y1.min(self.header.height);
        if y0 >= y1 {
            return Ok(Vec::new());
        }
        let mut keys = alloc_keys(&self.path, self.header.width, y1 - y0)?;
        self.read_rows_into(y0, y1, &mut keys)?;
        Ok(keys)
    }

    /// Write the keys of rows `y0..y1` (`y1 <= height`) into `out` (`(y1 - y0) * width` keys).
    /// The rows of chunks they span are split into runs decoded in parallel.
    pub fn read_rows_into(&mut self, y0: u32, y1: u32, out: &mut [u32]) -> Result<()> {
        self.read_cols_into(y0, y1, 0, self.geom.width, out)
    }

    /// [`Self::read_rows_into`] for columns `x0..x1` only: the chunks (tiles) holding them are
    /// decoded, into their columns of `out`'s full-width rows; other columns are left as they
    /// were.
    pub fn read_cols_into(
        &mut self,
        y0: u32,
        y1: u32,
        x0: u32,
        x1: u32,
        out: &mut [u32],
    ) -> Result<()> {
        let g = &self.geom;
        let w = g.width as usize;
        assert!(y0 <= y1 && y1 <= g.height && out.len() == (y1 - y0) as usize * w);
        let x1 = x1.min(g.width);
        if y0 == y1 || x0 >= x1 {
            return Ok(());
        }
        let (first, last) = (u64::from(y0) / g.ch, (u64::from(y1) - 1) / g.ch);
        let chunk_rows = (last - first + 1) as usize;
        let (cx0, cx1) = (
            u64::from(x0) / g.cw,
            u64::from(x1).div_ceil(g.cw).min(g.across),
        );
        let across = (cx1 - cx0) as usize;
        // Runs of chunk rows, each split into runs of chunk columns when there are fewer rows
        // of chunks than threads (tall tiles, small windows): one decoder per run.
        let threads = rayon::current_num_threads().clamp(1, MAX_READERS);
        let (nr, nc) = if chunk_rows >= 2 * threads {
            (threads, 1)
        } else {
            let nr = chunk_rows.min(threads);
            (nr, threads.div_ceil(nr).min(across))
        };
        while self.readers.len() < nr * nc {
            let (dec, _, _) = open_from(
                &self.path,
                buffered(self.file.reader()),
                &ReadOptions {
                    band: Some(self.header.band),
                    ..Default::default()
                },
            )?;
            self.readers.push(ChunkReader::new(&self.path, dec, g)?);
        }
        // Run i: chunk rows first + i*n/nr ..; run j: chunk columns j*across/nc ..
        let row_cut = |i: usize| {
            let c = first + (i * chunk_rows / nr) as u64;
            ((c * g.ch).clamp(u64::from(y0), u64::from(y1))) as u32
        };
        let col_cut = |j: usize| cx0 + (j * across / nc) as u64;
        let px_cut = |j: usize| (col_cut(j) * g.cw).min(u64::from(g.width)) as usize;
        let mut groups: Vec<Vec<&mut [u32]>> = (0..nr * nc).map(|_| Vec::new()).collect();
        let mut i = 0;
        for (k, row) in out.chunks_mut(w).enumerate() {
            let y = y0 + k as u32;
            while y >= row_cut(i + 1) {
                i += 1;
            }
            let mut rest = &mut row[px_cut(0)..px_cut(nc)];
            for j in 0..nc {
                let (piece, tail) = rest.split_at_mut(px_cut(j + 1) - px_cut(j));
                groups[i * nc + j].push(piece);
                rest = tail;
            }
        }
        let path = self.path.as_path();
        let job = |r: &mut ChunkReader, (n, rows): (usize, Vec<&mut [u32]>)| {
            let (i, j) = (n / nc, n % nc);
            let (a, b) = (row_cut(i), row_cut(i + 1));
            if a == b {
                return Ok(());
            }
            r.read(path, g, (a, b), (col_cut(j), col_cut(j + 1)), rows)
        };
        if nr * nc == 1 {
            let rows = groups.pop().expect("one group");
            return job(&mut self.readers[0], (0, rows));
        }
        use rayon::prelude::*;
        // Every run finishes, and the first error in file order is the one reported: the same
        // file always gives the same error, whichever thread meets its error first.
        let results: Vec<Result<()>> = self.readers[..nr * nc]
            .par_iter_mut()
            .zip(groups.into_par_iter().enumerate())
            .map(|(r, g)| job(r, g))
            .collect();
        results.into_iter().collect()
    }
}

/// How the first IFD is read, where it differs from the file ([`SharedFile::patch`]):
///
/// * Its next-IFD offset reads 0: only the first image is read, so what follows it does not
///   matter (a chain of IFDs that loops back, even to the first, was refused by the `tiff`
///   crate; GDAL reads such files with a warning).
/// * Tiles addressed through StripOffsets / StripByteCounts (TileWidth and TileLength set, no
///   TileOffsets / TileByteCounts), as some libtiff files have them (libtiff keeps both in one
///   field, so libtiff and GDAL read them as tiles; the crate takes them for strips and finds
///   their count inconsistent): the two entries read as TileOffsets / TileByteCounts.
///
/// Nothing for a file whose first IFD cannot be read (the crate then says what is wrong).
fn first_ifd_patches(f: &SharedFile) -> Vec<(u64, Vec<u8>)> {
    (|| -> Option<Vec<(u64, Vec<u8>)>> {
        let mut r = f.reader();
        let mut head = [0u8; 16];
        r.read_exact(&mut head[..8]).ok()?;
        let be = match &head[..2] {
            b"II" => false,
            b"MM" => true,
            _ => return None,
        };
        let uint = |b: &[u8]| {
            let f = |v: u64, x: &u8| v << 8 | u64::from(*x);
            if be {
                b.iter().fold(0, f)
            } else {
                b.iter().rev().fold(0, f)
            }
        };
        let (big, ifd) = match uint(&head[2..4]) {
            42 => (false, uint(&head[4..8])),
            43 => {
                r.read_exact(&mut head[8..16]).ok()?;
                (true, uint(&head[8..16]))
            }
            _ => return None,
        };
        let (count_len, entry_len) = if big { (8, 20) } else { (2, 12) };
        r.seek(std::io::SeekFrom::Start(ifd)).ok()?;
        r.read_exact(&mut head[..count_len]).ok()?;
        let n = uint(&head[..count_len]);
        if n > 4096 {
            return None;
        }
        let next_len = if big { 8 } else { 4 };
        let mut entries = vec![0u8; n as usize * entry_len + next_len];
        r.read_exact(&mut entries).ok()?;
        let next_at = ifd + count_len as u64 + n * entry_len as u64;
        let mut patches = vec![(next_at, vec![0u8; next_len])];
        entries.truncate(n as usize * entry_len);
        let at = |tag: u16| {
            entries
                .chunks_exact(entry_len)
                .position(|e| uint(&e[..2]) == u64::from(tag))
                .map(|i| ifd + count_len as u64 + (i * entry_len) as u64)
        };
        let has = |tag: u16| at(tag).is_some();
        if has(322) && has(323) && !has(324) && !has(325) {
            if let (Some(o), Some(c)) = (at(273), at(279)) {
                let tag = |t: u16| if be { t.to_be_bytes() } else { t.to_le_bytes() }.to_vec();
                patches.extend([(o, tag(324)), (c, tag(325))]);
            }
        }
        Some(patches)
    })()
    .unwrap_or_default()
}

fn buffered(file: SharedFile) -> BufReader<SharedFile> {
    BufReader::with_capacity(1 << 16, file)
}

impl ChunkReader {
    /// A reader of the file; its chunk buffer is allocated when a chunk is first decoded
    /// ([`ChunkReader::check_chunk`]).
    fn new(_path: &Path, dec: Decoder<BufReader<SharedFile>>, _g: &Geom) -> Result<ChunkReader> {
        Ok(ChunkReader {
            dec,
            buf: Vec::new(),
            ranges: None,
            packed: Vec::new(),
            inflater: None,
            unzstd: None,
        })
    }

    /// Before chunk `index` is decoded to `len` bytes: an error when the bytes the file holds
    /// for it cannot decode to that many (a truncated file, or sizes forged to make a reader
    /// allocate what the file cannot hold), else the chunk buffer, allocated once.
    fn check_chunk(&mut self, path: &Path, g: &Geom, index: u32, len: usize) -> Result<()> {
        let (off, count) = self.chunk_range(g.tiled, index).unwrap_or((0, 0));
        let held = count.min(g.file_len.saturating_sub(off));
        if len as u64 > held.saturating_mul(g.max_ratio).saturating_add(CHUNK_SLACK) {
            return Err(format(
                path,
                format!(
                    "TIFF: chunk {index} holds {held} bytes in the file, too few for the {len} \
                     bytes it decodes to: the file is truncated or its sizes are wrong"
                ),
            ));
        }
        if self.buf.len() < g.chunk_bytes {
            self.buf
                .try_reserve_exact(g.chunk_bytes - self.buf.len())
                .map_err(|_| format(path, "TIFF: not enough memory for one chunk"))?;
            self.buf.resize(g.chunk_bytes, 0);
        }
        Ok(())
    }

    /// Offset and byte count of chunk `index` in the file.
    fn chunk_range(&mut self, tiled: bool, index: u32) -> Option<(u64, u64)> {
        let dec = &mut self.dec;
        let (offsets, counts) = self.ranges.get_or_insert_with(|| {
            let (o, c) = if tiled {
                (Tag::TileOffsets, Tag::TileByteCounts)
            } else {
                (Tag::StripOffsets, Tag::StripByteCounts)
            };
            (
                dec.get_tag_u64_vec(o).unwrap_or_default(),
                dec.get_tag_u64_vec(c).unwrap_or_default(),
            )
        });
        let i = index as usize;
        Some((*offsets.get(i)?, *counts.get(i)?))
    }

    /// Decode chunk `index` into `self.buf` by the direct path ([`Direct`]), rows `d.row_bytes`
    /// apart, at least its first `need` bytes. False when the chunk is not one the path expects;
    /// the caller then decodes it through the crate.
    fn read_direct(&mut self, g: &Geom, d: &Direct, index: u32, need: usize) -> bool {
        let Some((off, count)) = self.chunk_range(g.tiled, index) else {
            return false;
        };
        // Over the limit: the crate refuses it, so the chunk goes to the crate (same error).
        if count > MAX_CHUNK_BYTES as u64 {
            return false;
        }
        // Never more than the file holds past the offset: a forged byte count of 1 GiB on a
        // small file buffers the file's bytes, not 1 GiB.
        let Ok(count) = usize::try_from(count.min(g.file_len.saturating_sub(off))) else {
            return false;
        };
        let raw = d.codec == Codec::None;
        if count > MAX_CHUNK_BYTES || (raw && count < need) || need > self.buf.len() {
            return false;
        }
        let r = self.dec.inner();
        if r.seek(std::io::SeekFrom::Start(off)).is_err() {
            return false;
        }
        if raw {
            // Uncompressed: the rows are the bytes.
            return r.read_exact(&mut self.buf[..need]).is_ok();
        }
        if self.packed.len() < count {
            let more = count - self.packed.len();
            if self.packed.try_reserve_exact(more).is_err() {
                return false;
            }
            self.packed.resize(count, 0);
        }
        if r.read_exact(&mut self.packed[..count]).is_err() {
            return false;
        }
        let packed = &self.packed[..count];
        // The whole buffer is offered: a last strip may be stored short or full.
        let n = match d.codec {
            Codec::Deflate => self
                .inflater
                .get_or_insert_with(libdeflater::Decompressor::new)
                .zlib_decompress(packed, &mut self.buf)
                .ok(),
            Codec::Zstd => {
                if self.unzstd.is_none() {
                    self.unzstd = zstd::bulk::Decompressor::new().ok();
                }
                self.unzstd
                    .as_mut()
                    .and_then(|z| z.decompress_to_buffer(packed, &mut self.buf[..]).ok())
            }
            Codec::None => None,
        };
        n.is_some_and(|n| n >= need)
    }

    /// Decode rows `y0..y1` of chunk columns `cx0..cx1` into `rows`: one slice per row, each
    /// the pixels of those columns (the first at column `cx0 * cw`).
    fn read(
        &mut self,
        path: &Path,
        g: &Geom,
        (y0, y1): (u32, u32),
        (cx0, cx1): (u64, u64),
        mut rows: Vec<&mut [u32]>,
    ) -> Result<()> {
        let err = |e: TiffError| tiff_err(path, e);
        let (width, height) = (g.width, g.height);
        let (cw, ch, kind, spp, bps) = (g.cw, g.ch, g.kind, g.spp, g.kind.bytes());
        let (first_row, last_row) = (u64::from(y0) / ch, (u64::from(y1) - 1) / ch);
        for cy in first_row..=last_row {
            for cx in cx0..cx1 {
                let j = cy * g.across + cx;
                let (x0, cy0) = (cx * cw, cy * ch);
                let rw = cw.min(u64::from(width) - x0) as usize;
                let rh = ch.min(u64::from(height) - cy0) as usize;
                let xo = ((cx - cx0) * cw) as usize;
                // Rows of this chunk inside the window.
                let r_from = (u64::from(y0).max(cy0) - cy0) as usize;
                let r_to = (u64::from(y1).min(cy0 + rh as u64) - cy0) as usize;
                let out_row = |r: usize| cy0 as usize + r - y0 as usize;
                let index = u32::try_from(u64::from(g.plane) * g.per_plane + j)
                    .map_err(|_| format(path, "TIFF: too many chunks"))?;

                // The decoder's own idea of this chunk's size (it may differ from ours for
                // tiles of planes after the first, where the crate keeps the full tile size).
                let layout = self.dec.image_chunk_buffer_layout(index).map_err(err)?;
                let row_stride = layout.row_stride.map_or(0, |r| r.get());
                let len = layout.len;
                if len > g.chunk_bytes || row_stride < rw * spp * bps || len < row_stride * rh {
                    return Err(format(
                        path,
                        format!(
                            "TIFF: chunk {index} has an unexpected layout ({len} bytes, rows of \
                             {row_stride} bytes, for {rw}x{rh} px x {spp} samples)"
                        ),
                    ));
                }
                self.check_chunk(path, g, index, len)?;
                let rewrap = g.lzw_workaround && (rw as u64) < cw;
                // WhiteIsZero: the direct path reads values as stored; the crate would invert
                // them, so what it would decode goes through a BlackIsZero copy of the chunk.
                let direct_ok = |r: &mut ChunkReader| match g.direct {
                    Some(d) => {
                        let rows_c = len / row_stride;
                        let need = (rows_c - 1) * d.row_bytes + row_stride;
                        r.read_direct(g, &d, index, need)
                    }
                    None => false,
                };
                if rewrap || (g.white_is_zero && !direct_ok(self)) {
                    // See `read_one_chunk`: decode the whole chunk (a tile with its padding)
                    // through a one-chunk TIFF.
                    let Some((off, count)) = self.chunk_range(g.tiled, index) else {
                        return Err(format(path, format!("TIFF: chunk {index} has no offset")));
                    };
                    let chunk_h = if g.tiled { ch as u32 } else { rh as u32 };
                    let tile = read_one_chunk(
                        &mut self.dec,
                        path,
                        &g.tile_spec,
                        chunk_h,
                        (off, count),
                        g.file_len,
                    )?;
                    let (row_stride, tspp) = (
                        g.tile_spec.width as usize * g.tile_spec.samples * bps,
                        g.tile_spec.samples,
                    );
                    for r in r_from..r_to {
                        let src = &tile[r * row_stride..r * row_stride + rw * tspp * bps];
                        let dst = &mut rows[out_row(r)][xo..xo + rw];
                        convert_row(kind, src, tspp, g.band_off, dst);
                    }
                    continue;
                }
                if let (true, Some(d)) = (g.white_is_zero, g.direct) {
                    // Decoded above by `direct_ok`.
                    for r in r_from..r_to {
                        let src = &self.buf[r * d.row_bytes..][..rw * d.samples * bps];
                        let dst = &mut rows[out_row(r)][xo..xo + rw];
                        direct_row(kind, &d, src, g.band_off, dst);
                    }
                    continue;
                }
                if let Some(d) = g.direct {
                    // The bytes the crate would decode from this chunk's data: its rows (the
                    // last without padding), each as stored (full chunk width). The direct path
                    // takes the chunk only when the data hold as many, so that it fails where
                    // the crate fails.
                    let rows_c = len / row_stride;
                    let need = (rows_c - 1) * d.row_bytes + row_stride;
                    if self.read_direct(g, &d, index, need) {
                        for r in r_from..r_to {
                            let src = &self.buf[r * d.row_bytes..][..rw * d.samples * bps];
                            let dst = &mut rows[out_row(r)][xo..xo + rw];
                            direct_row(kind, &d, src, g.band_off, dst);
                        }
                        continue;
                    }
                }
                self.dec
                    .read_chunk_bytes(index, &mut self.buf[..len])
                    .map_err(err)?;
                for r in r_from..r_to {
                    let src = &self.buf[r * row_stride..r * row_stride + rw * spp * bps];
                    let dst = &mut rows[out_row(r)][xo..xo + rw];
                    convert_row(kind, src, spp, g.band_off, dst);
                }
            }
        }
        Ok(())
    }
}

impl crate::read::window::RasterSource for TiffBand {
    fn info(&self) -> Raster {
        self.header.clone_header()
    }
    fn read_rows_into(&mut self, y0: u32, y1: u32, out: &mut [u32]) -> Result<()> {
        TiffBand::read_rows_into(self, y0, y1, out)
    }
    fn row_granule(&self) -> u32 {
        self.geom.ch.min(u64::from(self.geom.height)).max(1) as u32
    }
    fn col_granule(&self) -> u32 {
        self.geom.cw.min(u64::from(self.geom.width)).max(1) as u32
    }
    fn read_cols_into(
        &mut self,
        y0: u32,
        y1: u32,
        x0: u32,
        x1: u32,
        out: &mut [u32],
    ) -> Result<()> {
        TiffBand::read_cols_into(self, y0, y1, x0, x1, out)
    }
    fn georef(&self) -> crate::geo::GeoStatus {
        self.geo.clone()
    }
    fn acquisition_time(&self) -> Option<(String, String)> {
        self.time.clone()
    }
    fn description(&self) -> Option<String> {
        self.description.clone()
    }
    fn sar_geometry(&self) -> Option<crate::ais::matching::SarGeometry> {
        self.sar
    }
}

/// The GeoTIFF tags of the current image; a tag that cannot be read counts as absent (the
/// georeferencing is then reported unusable or missing, never an error: pixels still work).
fn geo_tags<R: std::io::Read + std::io::Seek>(
    dec: &mut Decoder<R>,
) -> crate::geo::geotiff::GeoTags {
    let mut f64s = |t: Tag| {
        dec.find_tag(t)
            .ok()
            .flatten()
            .and_then(|v| v.into_f64_vec().ok())
    };
    let tiepoints = f64s(Tag::ModelTiepointTag);
    let pixel_scale = f64s(Tag::ModelPixelScaleTag);
    let transformation = f64s(Tag::ModelTransformationTag);
    let doubles = f64s(Tag::GeoDoubleParamsTag);
    let key_directory = dec
        .find_tag(Tag::GeoKeyDirectoryTag)
        .ok()
        .flatten()
        .and_then(|v| v.into_u16_vec().ok());
    let ascii = dec
        .find_tag(Tag::GeoAsciiParamsTag)
        .ok()
        .flatten()
        .and_then(|v| v.into_string().ok());
    crate::geo::geotiff::GeoTags {
        tiepoints,
        pixel_scale,
        transformation,
        key_directory,
        doubles,
        ascii,
    }
}

fn format(path: &Path, msg: impl Into<String>) -> Error {
    Error::Format {
        path: path.to_owned(),
        msg: msg.into(),
    }
}

fn unsupported(path: &Path, msg: impl Into<String>) -> Error {
    Error::Unsupported {
        path: path.to_owned(),
        msg: msg.into(),
    }
}

/// Map an error of the `tiff` crate to ours: "unsupported" stays unsupported, everything else
/// (corrupt or truncated data, inconsistent tags, limits) is a format error.
fn tiff_err(path: &Path, e: TiffError) -> Error {
    match e {
        TiffError::UnsupportedError(u) => unsupported(path, format!("TIFF: {u}")),
        TiffError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => format(
            path,
            format!("TIFF: {io} (the file is truncated or a chunk is corrupt)"),
        ),
        TiffError::LimitsExceeded => format(
            path,
            format!("TIFF: {e} (a chunk or tag is larger than {MAX_CHUNK_BYTES} bytes)"),
        ),
        e => format(path, format!("TIFF: {e}")),
    }
}

/// The sample kind of a file from its BitsPerSample and SampleFormat, or a clear refusal.
fn sample_kind(path: &Path, bits: u16, format_code: u16) -> Result<SampleKind> {
    let kind = match (format_code, bits) {
        (1, 8) => Some(SampleKind::U8),
        (1, 16) => Some(SampleKind::U16),
        (1, 32) => Some(SampleKind::U32),
        (2, 16) => Some(SampleKind::I16),
        (3, 32) => Some(SampleKind::F32),
        _ => None,
    };
    kind.ok_or_else(|| {
        let (short, long) = match format_code {
            1 => ("u", "unsigned integer"),
            2 => ("i", "signed integer"),
            3 => ("f", "float"),
            4 => ("void", "untyped"),
            5 => ("ci", "complex integer"),
            6 => ("cf", "complex float"),
            _ => ("?", "unknown SampleFormat"),
        };
        let name = if format_code == 4 {
            format!("void{bits} ({bits}-bit untyped)")
        } else if (1..=6).contains(&format_code) {
            format!("{short}{bits} ({bits}-bit {long})")
        } else {
            format!("SampleFormat={format_code} with {bits} bits ({long})")
        };
        unsupported(
            path,
            format!("sample format {name} is not supported; supported: u8, u16, i16, u32, f32"),
        )
    })
}

fn compression_name(code: u16) -> String {
    let name = match code {
        2 => "CCITT RLE",
        3 => "CCITT Group 3 fax",
        4 => "CCITT Group 4 fax",
        6 => "old-style JPEG",
        7 => "JPEG",
        32809 => "ThunderScan",
        34661 => "JBIG",
        34676 | 34677 => "SGI Log",
        34712 => "JPEG 2000",
        34887 => "LERC",
        34925 => "LZMA",
        50001 => "WebP",
        50002 | 52546 => "JPEG XL",
        _ => "unknown",
    };
    format!("{name} ({code})")
}

/// Parse the GDAL_NODATA string ("0", "-9999", "nan", " 1e20\0", ...).
fn parse_nodata(path: &Path, s: &str) -> Result<f64> {
    let t = s.trim_matches(|c: char| c == '\0' || c.is_whitespace());
    t.parse::<f64>()
        .map_err(|_| format(path, format!("GDAL_NODATA tag {s:?} is not a number")))
}

type Opened = (Decoder<BufReader<SharedFile>>, Raster, Geom);

/// Parse the first IFD and check the band: the decoder, the band's header and its geometry.
fn open_from(path: &Path, reader: BufReader<SharedFile>, opts: &ReadOptions) -> Result<Opened> {
    let err = |e: TiffError| tiff_err(path, e);
    let file_len = reader.get_ref().len();
    // The first IFD is parsed with the crate's default limits (tag values up to 256 MiB); chunks
    // are then bounded by ours.
    let mut limits = Limits::unlimited();
    limits.decoding_buffer_size = MAX_CHUNK_BYTES;
    limits.intermediate_buffer_size = MAX_CHUNK_BYTES;
    limits.ifd_value_size = MAX_CHUNK_BYTES;
    let mut dec = Decoder::new(reader).map_err(err)?.with_limits(limits);

    let (width, height) = dec.dimensions().map_err(err)?;

    // --- sample type -------------------------------------------------------------------------
    let bits = dec
        .find_tag_unsigned_vec::<u16>(Tag::BitsPerSample)
        .map_err(err)?
        .unwrap_or_else(|| vec![1]);
    let formats = dec
        .find_tag_unsigned_vec::<u16>(Tag::SampleFormat)
        .map_err(err)?
        .unwrap_or_else(|| vec![1]);
    let bits0 = *bits
        .first()
        .ok_or_else(|| format(path, "TIFF: empty BitsPerSample"))?;
    let format0 = *formats
        .first()
        .ok_or_else(|| format(path, "TIFF: empty SampleFormat"))?;
    if bits.iter().any(|&b| b != bits0) || formats.iter().any(|&f| f != format0) {
        return Err(unsupported(
            path,
            format!(
                "bands of different sample formats (BitsPerSample {bits:?}, SampleFormat {formats:?})"
            ),
        ));
    }
    let kind = sample_kind(path, bits0, format0)?;

    // --- compression -------------------------------------------------------------------------
    let compression = dec
        .find_tag_unsigned::<u16>(Tag::Compression)
        .map_err(err)?
        .unwrap_or(COMP_NONE);
    if !matches!(
        compression,
        COMP_NONE | COMP_LZW | COMP_DEFLATE | COMP_OLD_DEFLATE | COMP_PACKBITS | COMP_ZSTD
    ) {
        return Err(unsupported(
            path,
            format!(
                "compression {} is not supported; supported: none, LZW, Deflate, PackBits, ZSTD",
                compression_name(compression)
            ),
        ));
    }

    // --- bands -------------------------------------------------------------------------------
    let samples: u32 = dec
        .find_tag_unsigned::<u16>(Tag::SamplesPerPixel)
        .map_err(err)?
        .unwrap_or(1)
        .into();
    let planar = dec
        .find_tag_unsigned::<u16>(Tag::PlanarConfiguration)
        .map_err(err)?
        .unwrap_or(1)
        == 2
        && samples > 1;
    let band = opts.band.unwrap_or(1);
    if band == 0 || band > samples {
        return Err(Error::BandOutOfRange {
            path: path.to_owned(),
            band,
            bands: samples,
        });
    }
    // Samples a decoded chunky pixel holds (the crate drops unspecified extra samples of RGB).
    let out_samples: u32 = if planar {
        1
    } else {
        dec.colortype().map_err(err)?.num_samples().into()
    };
    if !planar && band > out_samples {
        return Err(unsupported(
            path,
            format!(
                "band {band} is an extra sample the TIFF decoder does not return \
                 ({out_samples} of {samples} samples are readable)"
            ),
        ));
    }

    // --- nodata ------------------------------------------------------------------------------
    let nodata = match dec.find_tag(Tag::GdalNodata).map_err(err)? {
        None => None,
        Some(Value::Ascii(s)) => Some(parse_nodata(path, &s)?),
        Some(v) => {
            return Err(format(
                path,
                format!("TIFF: GDAL_NODATA tag is not an ASCII string ({v:?})"),
            ))
        }
    };

    // --- geometry of the chunks --------------------------------------------------------------
    let chunk_type = dec.get_chunk_type();
    let (cw, ch) = dec.chunk_dimensions();
    let (cw, ch) = (u64::from(cw), u64::from(ch));
    // Strips: RowsPerStrip may be 2^32 - 1; tiles are stored whole, padding included.
    let ch = if chunk_type == ChunkType::Strip {
        ch.min(height.into())
    } else {
        ch
    };
    let (across, down) = (
        u64::from(width).div_ceil(cw),
        u64::from(height).div_ceil(ch),
    );
    let per_plane = across * down;
    let chunk_bytes = (cw * ch).saturating_mul(u64::from(out_samples) * kind.bytes() as u64);
    if chunk_bytes > MAX_CHUNK_BYTES as u64 {
        return Err(Error::TooLarge {
            path: path.to_owned(),
            width: width.into(),
            height: height.into(),
            msg: format!(
                "one {} of {cw}x{ch} px x {out_samples} samples is {chunk_bytes} bytes, \
                 more than the limit of {MAX_CHUNK_BYTES}",
                if chunk_type == ChunkType::Tile {
                    "tile"
                } else {
                    "strip"
                }
            ),
        });
    }

    let plane = if planar { band - 1 } else { 0 };
    let band_off = if planar { 0 } else { (band - 1) as usize };
    // tiff 0.11.3 fails on some LZW tiles narrower than the tile width (right edge): it reads
    // them row by row, and its LZW reader reports "no lzw end code found". Such tiles are
    // decoded whole instead (see `read_one_chunk`).
    let lzw_workaround = compression == COMP_LZW && chunk_type == ChunkType::Tile;
    let predictor = dec
        .find_tag_unsigned::<u16>(Tag::Predictor)
        .map_err(err)?
        .unwrap_or(1);
    // See `Direct`. The tag is read as the crate reads it: absent means BlackIsZero.
    let white_is_zero = dec
        .find_tag_unsigned::<u16>(Tag::PhotometricInterpretation)
        .map_err(err)?
        == Some(0);
    let chunk_samples = if planar { 1 } else { samples as usize };
    let direct = (opts.direct_decode
        && matches!(
            compression,
            COMP_NONE | COMP_DEFLATE | COMP_OLD_DEFLATE | COMP_ZSTD
        )
        && (predictor == 1 || (predictor == 2 && kind != SampleKind::F32))
        && out_samples as usize == chunk_samples)
        .then(|| Direct {
            codec: match compression {
                COMP_NONE => Codec::None,
                COMP_ZSTD => Codec::Zstd,
                _ => Codec::Deflate,
            },
            differenced: predictor == 2,
            big_endian: dec.byte_order() == tiff::tags::ByteOrder::BigEndian,
            samples: chunk_samples,
            row_bytes: cw as usize * chunk_samples * kind.bytes(),
        });
    let tile_spec = TileSpec {
        width: cw as u32,
        bits: bits0,
        samples: if planar { 1 } else { samples as usize },
        predictor,
        sample_format: format0,
        big_endian: dec.byte_order() == tiff::tags::ByteOrder::BigEndian,
        compression,
    };
    if width == 0 || height == 0 {
        check_size(path, width.into(), height.into(), u64::MAX)?;
    }
    let header = Raster {
        width,
        height,
        kind,
        keys: Vec::new(),
        band,
        bands: samples,
        nodata,
    };
    let geom = Geom {
        kind,
        width,
        height,
        cw,
        ch,
        across,
        per_plane,
        plane,
        band_off,
        spp: out_samples as usize,
        chunk_bytes: chunk_bytes as usize,
        lzw_workaround,
        tiled: chunk_type == ChunkType::Tile,
        tile_spec,
        direct,
        white_is_zero,
        file_len,
        max_ratio: max_expansion(compression),
    };
    Ok((dec, header, geom))
}

/// What a one-tile TIFF needs to decode a tile of the file.
struct TileSpec {
    width: u32,
    bits: u16,
    samples: usize,
    predictor: u16,
    sample_format: u16,
    big_endian: bool,
    compression: u16,
}

/// Decode one whole chunk (a tile with its padding, or a strip of `height` rows) at
/// `off`/`count` of the file, by wrapping its compressed bytes in a minimal one-strip TIFF of
/// the same byte order, sample type, compression and predictor, BlackIsZero, which the `tiff`
/// crate then reads in one piece. Used for LZW tiles narrower than the tile width (tiff 0.11.3
/// fails on some of them read row by row) and for WhiteIsZero files (the crate would invert
/// them). Returns the samples, native endian, `spec.samples` a pixel, `spec.width` pixels a row.
/// At most the bytes the file holds past `off` are read.
fn read_one_chunk<R: Read + Seek>(
    dec: &mut Decoder<R>,
    path: &Path,
    spec: &TileSpec,
    height: u32,
    (off, count): (u64, u64),
    file_len: u64,
) -> Result<Vec<u8>> {
    let count = count.min(file_len.saturating_sub(off));
    if count > MAX_CHUNK_BYTES as u64 {
        return Err(format(path, format!("TIFF: a chunk of {count} bytes")));
    }
    let mut data = vec![0u8; count as usize];
    let r = dec.inner();
    r.seek(std::io::SeekFrom::Start(off))
        .and_then(|_| r.read_exact(&mut data))
        .map_err(|e| tiff_err(path, TiffError::IoError(e)))?;

    let be = spec.big_endian;
    let u16b = |v: u16| if be { v.to_be_bytes() } else { v.to_le_bytes() };
    let u32b = |v: u32| if be { v.to_be_bytes() } else { v.to_le_bytes() };
    // (tag, type, value): SHORT = 3, LONG = 4; sorted by tag.
    let n_entries = 12u16;
    let data_off = 8 + 2 + 12 * u32::from(n_entries) + 4;
    let entries: [(u16, u16, u32); 12] = [
        (256, 4, spec.width),
        (257, 4, height),
        (258, 3, spec.bits.into()),
        (259, 3, spec.compression.into()),
        (262, 3, 1),
        (273, 4, data_off),
        (277, 3, spec.samples as u32),
        (278, 4, height),
        (279, 4, count as u32),
        (284, 3, 1),
        (317, 3, spec.predictor.into()),
        (339, 3, spec.sample_format.into()),
    ];
    let mut t: Vec<u8> = Vec::with_capacity(data_off as usize + data.len());
    t.extend_from_slice(if be { b"MM" } else { b"II" });
    t.extend(u16b(42));
    t.extend(u32b(8));
    t.extend(u16b(n_entries));
    for (tag, typ, v) in entries {
        t.extend(u16b(tag));
        t.extend(u16b(typ));
        t.extend(u32b(1));
        if typ == 3 {
            t.extend(u16b(v as u16));
            t.extend([0, 0]);
        } else {
            t.extend(u32b(v));
        }
    }
    t.extend(u32b(0));
    t.extend_from_slice(&data);
    drop(data);

    let err = |e: TiffError| tiff_err(path, e);
    let mut limits = Limits::unlimited();
    limits.decoding_buffer_size = MAX_CHUNK_BYTES;
    limits.intermediate_buffer_size = MAX_CHUNK_BYTES;
    let mut one = Decoder::new(std::io::Cursor::new(t))
        .map_err(err)?
        .with_limits(limits);
    let layout = one.image_chunk_buffer_layout(0).map_err(err)?;
    let want = spec.width as usize * height as usize * spec.samples * (spec.bits as usize / 8);
    if layout.len != want {
        return Err(format(path, "TIFF: unexpected layout of a chunk"));
    }
    let mut out = vec![0u8; want];
    one.read_chunk_bytes(0, &mut out).map_err(err)?;
    Ok(out)
}

/// Convert one row of decoded samples (native endian, `spp` samples a pixel) to the order keys
/// of sample `off` of each pixel.
fn convert_row(kind: SampleKind, src: &[u8], spp: usize, off: usize, dst: &mut [u32]) {
    row_keys::<{ cfg!(target_endian = "big") }, false>(kind, src, spp, off, dst)
}

/// [`convert_row`] for the direct path: `src` holds the samples as stored (file byte order,
/// maybe differenced), `d.samples` a pixel; sample `off` of each pixel becomes a key.
fn direct_row(kind: SampleKind, d: &Direct, src: &[u8], off: usize, dst: &mut [u32]) {
    match (d.big_endian, d.differenced) {
        (false, false) => row_keys::<false, false>(kind, src, d.samples, off, dst),
        (false, true) => row_keys::<false, true>(kind, src, d.samples, off, dst),
        (true, false) => row_keys::<true, false>(kind, src, d.samples, off, dst),
        (true, true) => row_keys::<true, true>(kind, src, d.samples, off, dst),
    }
}

/// Sample `off` of each pixel of `src` (`spp` samples a pixel, big-endian when `BE`,
/// horizontally differenced when `DIFF`) to the order keys of `kind`: the one conversion of
/// both decode paths.
fn row_keys<const BE: bool, const DIFF: bool>(
    kind: SampleKind,
    src: &[u8],
    spp: usize,
    off: usize,
    dst: &mut [u32],
) {
    match kind {
        SampleKind::U8 => direct_ints::<1, BE, DIFF>(src, spp, off, dst, |v| key_u8(v as u8)),
        SampleKind::U16 => direct_ints::<2, BE, DIFF>(src, spp, off, dst, |v| key_u16(v as u16)),
        SampleKind::I16 => {
            direct_ints::<2, BE, DIFF>(src, spp, off, dst, |v| key_i16(v as u16 as i16))
        }
        SampleKind::U32 => direct_ints::<4, BE, DIFF>(src, spp, off, dst, key_u32),
        SampleKind::F32 => {
            direct_ints::<4, BE, DIFF>(src, spp, off, dst, |v| key_f32(f32::from_bits(v)))
        }
    }
}

/// Samples of `N` bytes: read in the file's byte order, summed along the row when
/// differenced (wrapping at `N` bytes, as TIFF's horizontal predictor does: `key` narrows),
/// then keyed.
#[inline(always)]
fn direct_ints<const N: usize, const BE: bool, const DIFF: bool>(
    src: &[u8],
    spp: usize,
    off: usize,
    dst: &mut [u32],
    key: impl Fn(u32) -> u32,
) {
    let mut acc = 0u32;
    for (d, p) in dst.iter_mut().zip(src.chunks_exact(spp * N)) {
        let b = &p[off * N..off * N + N];
        let v = match (N, BE) {
            (1, _) => u32::from(b[0]),
            (2, false) => u32::from(u16::from_le_bytes([b[0], b[1]])),
            (2, true) => u32::from(u16::from_be_bytes([b[0], b[1]])),
            (_, false) => u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
            (_, true) => u32::from_be_bytes([b[0], b[1], b[2], b[3]]),
        };
        // Bits above the sample's width are dropped by `key`'s narrowing.
        let v = if DIFF {
            acc = acc.wrapping_add(v);
            acc
        } else {
            v
        };
        *d = key(v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_kind_names() {
        let p = Path::new("x.tif");
        assert_eq!(sample_kind(p, 16, 2).unwrap(), SampleKind::I16);
        let e = sample_kind(p, 64, 3).unwrap_err().to_string();
        assert!(e.contains("f64 (64-bit float)"), "{e}");
        assert!(e.contains("supported: u8, u16, i16, u32, f32"), "{e}");
        let e = sample_kind(p, 1, 1).unwrap_err().to_string();
        assert!(e.contains("u1 (1-bit unsigned integer)"), "{e}");
    }

    #[test]
    fn nodata_strings() {
        let p = Path::new("x.tif");
        assert_eq!(parse_nodata(p, "0").unwrap(), 0.0);
        assert_eq!(parse_nodata(p, "-9999\0").unwrap(), -9999.0);
        assert!(parse_nodata(p, "nan").unwrap().is_nan());
        assert!(parse_nodata(p, "NaN").unwrap().is_nan());
        assert!(parse_nodata(p, "none").is_err());
    }
}
