//! PNG and JPEG reader: PNG through the `png` crate, row by row; JPEG through `image`.
//!
//! * Grey (8 or 16 bit): one band, [`SampleKind::U8`] or [`SampleKind::U16`]. Grey + alpha has
//!   two bands; by default band 1 (the grey) is read.
//! * RGB / RGBA: with `opts.band == None` the **luminance** (ITU-R BT.601 weights, in integers so
//!   that it is exact and the same everywhere):
//!
//!   `Y = (299 * R + 587 * G + 114 * B + 500) / 1000` (integer division, i.e. rounded half up),
//!
//!   stored with `Raster::band == 0`. A grey picture saved as RGB (R = G = B) reads back exactly.
//!   With `Some(n)` channel n (1-based: R, G, B, then alpha) is read as it is.
//!
//! Memory: a PNG (not interlaced) is a [`RasterSource`] decoded row by row as windows ask for
//! rows ([`PngRows`]; a pass that goes back to earlier rows decodes again from the start), so
//! it costs the windows, not the scene. Interlaced PNGs and JPEGs are decoded whole, within
//! [`ReadOptions::max_pixels`]. Before anything is decoded the size the header declares is
//! checked against what the file can hold: Deflate expands at most 1032 times, and a JPEG
//! scan codes each 8 x 8 block in at least one bit, so a header that claims more pixels than
//! the file's bytes can describe is refused (a forged or truncated file), whatever the limit.
//! A JPEG without its end-of-image marker after its last scan is refused as truncated (the
//! decoder would fill the missing rows with grey).
use super::window::{Owned, RasterSource};
use super::{alloc_keys, check_size, Raster, ReadOptions, SharedFile};
use crate::error::{Error, Result};
use crate::sample::SampleKind;
use image::{ColorType, DynamicImage, ImageDecoder, ImageError};
use std::io::{BufReader, Read, Seek};
use std::path::{Path, PathBuf};

/// Luminance of one RGB pixel (ITU-R BT.601, integer, rounded half up). Exact for 8 and 16 bit.
#[inline]
pub fn luminance(r: u32, g: u32, b: u32) -> u32 {
    (299 * r + 587 * g + 114 * b + 500) / 1000
}

/// Most bytes Deflate can expand one compressed byte to (a 258-byte match in two bits).
const DEFLATE_MAX_RATIO: u64 = 1032;

/// Most pixels one byte of a JPEG can describe: every scan codes each 8 x 8 block of a
/// component in at least one bit (a one-bit Huffman code), so 64 pixels a bit.
const JPEG_MAX_PX_PER_BYTE: u64 = 64 * 8;

fn format(path: &Path, msg: impl Into<String>) -> Error {
    Error::Format {
        path: path.to_owned(),
        msg: msg.into(),
    }
}

fn image_err(path: &Path, what: &str, e: ImageError) -> Error {
    match e {
        ImageError::Unsupported(u) => Error::Unsupported {
            path: path.to_owned(),
            msg: format!("{what}: {u}"),
        },
        ImageError::Limits(l) => Error::TooLarge {
            path: path.to_owned(),
            width: 0,
            height: 0,
            msg: format!("{what}: {l}"),
        },
        e => format(path, one_line(&format!("{what}: {e}"))),
    }
}

/// A decoder's message on one line, its debug dumps of chunk types (`ChunkType { type: IHDR,
/// critical: true, ... }`) shortened to the chunk's name.
fn one_line(msg: &str) -> String {
    let mut out = String::with_capacity(msg.len());
    let mut rest = msg;
    const OPEN: &str = "ChunkType { type: ";
    while let Some(i) = rest.find(OPEN) {
        out.push_str(&rest[..i]);
        let after = &rest[i + OPEN.len()..];
        let name: String = after
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        out.push_str(&name);
        rest = match after.find('}') {
            Some(j) => &after[j + 1..],
            None => "",
        };
    }
    out.push_str(rest);
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn png_err(path: &Path, e: png::DecodingError) -> Error {
    use png::DecodingError as D;
    match e {
        D::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => format(
            path,
            "PNG: the file is truncated (it ends inside the image data)",
        ),
        D::IoError(io) => Error::Io {
            path: path.to_owned(),
            source: io,
        },
        D::LimitsExceeded => Error::TooLarge {
            path: path.to_owned(),
            width: 0,
            height: 0,
            msg: "PNG: more memory than the decoder's limit".into(),
        },
        e => {
            let msg = one_line(&e.to_string());
            if msg.contains("CRC error") {
                // "CRC error: expected 0x.. have 0x.. while decoding IHDR chunk."
                let chunk = msg
                    .split("while decoding ")
                    .nth(1)
                    .and_then(|s| s.split_whitespace().next())
                    .unwrap_or("a");
                format(
                    path,
                    format!("PNG: the checksum (CRC) of the {chunk} chunk is wrong: the file is corrupt"),
                )
            } else {
                format(path, format!("PNG: {msg}"))
            }
        }
    }
}

/// The layout of a picture's decoded pixels: sample kind, bands, and the band read (0 for the
/// luminance).
fn layout(
    path: &Path,
    what: &str,
    color: ColorType,
    opts: &ReadOptions,
) -> Result<(SampleKind, u32, u32)> {
    let bands = u32::from(color.channel_count());
    let kind = match color.bytes_per_pixel() / color.channel_count() {
        1 => SampleKind::U8,
        2 => SampleKind::U16,
        _ => {
            return Err(Error::Unsupported {
                path: path.to_owned(),
                msg: format!("{what}: colour type {color:?} is not supported"),
            })
        }
    };
    let rgb = matches!(
        color,
        ColorType::Rgb8 | ColorType::Rgba8 | ColorType::Rgb16 | ColorType::Rgba16
    );
    // 0: luminance; otherwise the 1-based channel.
    let band = match opts.band {
        None if rgb => 0,
        None => 1,
        Some(b) if b == 0 || b > bands => {
            return Err(Error::BandOutOfRange {
                path: path.to_owned(),
                band: b,
                bands,
            })
        }
        Some(b) => b,
    };
    Ok((kind, bands, band))
}

/// Read a PNG or JPEG file (the format is told by its magic bytes): one band or the luminance.
pub fn read_picture(path: &Path, opts: &ReadOptions) -> Result<Raster> {
    read_picture_from(path, SharedFile::open(path)?, opts)
}

/// [`read_picture`] of `file`, already open (`path` names it in errors): the whole picture,
/// its size checked against `opts.max_pixels` before anything is decoded.
pub fn read_picture_from(path: &Path, mut file: SharedFile, opts: &ReadOptions) -> Result<Raster> {
    if !is_png(path, &mut file)? {
        return read_jpeg(path, file, opts);
    }
    let mut png = PngRows::open(path, file, opts)?;
    let info = png.header.clone_header();
    check_size(path, info.width.into(), info.height.into(), opts.max_pixels)?;
    if png.interlaced {
        return png.read_whole();
    }
    let mut keys = alloc_keys(path, info.width, info.height)?;
    png.read_rows_into(0, info.height, &mut keys)?;
    Ok(Raster { keys, ..info })
}

/// Whether `file` starts with PNG's magic bytes (else it is taken for a JPEG); left at its
/// start.
fn is_png(path: &Path, file: &mut SharedFile) -> Result<bool> {
    let mut magic = [0u8; 4];
    file.read_exact(&mut magic)
        .and_then(|_| file.rewind())
        .map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })?;
    Ok(magic == [0x89, b'P', b'N', b'G'])
}

/// Open a PNG or JPEG file as a source of rows: a PNG that is not interlaced is decoded row
/// by row as they are asked for ([`PngRows`]); an interlaced PNG or a JPEG is decoded whole
/// here, within `opts.max_pixels`.
pub fn open_picture(
    path: &Path,
    mut file: SharedFile,
    opts: &ReadOptions,
) -> Result<Box<dyn RasterSource>> {
    if is_png(path, &mut file)? {
        let png = PngRows::open(path, file, opts)?;
        if png.interlaced {
            // Adam7 hands rows over in seven passes: decoded whole.
            let info = png.header.clone_header();
            check_size(path, info.width.into(), info.height.into(), opts.max_pixels)?;
            return Ok(Box::new(Owned(png.read_whole()?)));
        }
        Ok(Box::new(png))
    } else {
        Ok(Box::new(Owned(read_jpeg(path, file, opts)?)))
    }
}

/// A PNG (not interlaced) read row by row: rows are decoded in order as they are asked for;
/// asking for a row above the last one decoded starts the decoding again from the top.
pub struct PngRows {
    path: PathBuf,
    file: SharedFile,
    reader: png::Reader<BufReader<SharedFile>>,
    header: Raster,
    /// Samples a decoded pixel holds.
    channels: usize,
    interlaced: bool,
    /// The next row `reader` gives.
    next: u32,
}

impl PngRows {
    fn start(path: &Path, file: &SharedFile) -> Result<png::Reader<BufReader<SharedFile>>> {
        let mut d = png::Decoder::new(BufReader::with_capacity(1 << 16, file.reader()));
        // As `image` reads PNG: low bit depths to 8 bits, palettes to RGB(A), 16 bits kept.
        d.set_transformations(png::Transformations::EXPAND);
        d.read_info().map_err(|e| png_err(path, e))
    }

    fn open(path: &Path, file: SharedFile, opts: &ReadOptions) -> Result<PngRows> {
        let reader = PngRows::start(path, &file)?;
        let info = reader.info();
        let (width, height) = (info.width, info.height);
        let interlaced = info.interlaced;
        check_size(path, width.into(), height.into(), u64::MAX)?;
        // The image data, filter bytes included, before compression: Deflate expands at most
        // DEFLATE_MAX_RATIO times, so a file this small cannot hold them.
        let bits = info.bits_per_pixel() as u64;
        let raw = u64::from(height) * (1 + (u64::from(width) * bits).div_ceil(8));
        if raw > file.len().saturating_mul(DEFLATE_MAX_RATIO) {
            return Err(format(
                path,
                format!(
                    "PNG: the header declares {width}x{height} px ({raw} bytes of image data), \
                     more than a file of {} bytes can hold: the file is truncated or its header \
                     is wrong",
                    file.len()
                ),
            ));
        }
        let (ct, depth) = reader.output_color_type();
        use png::{BitDepth::*, ColorType as P};
        let color = match (ct, depth) {
            (P::Grayscale, Eight) => ColorType::L8,
            (P::Grayscale, Sixteen) => ColorType::L16,
            (P::GrayscaleAlpha, Eight) => ColorType::La8,
            (P::GrayscaleAlpha, Sixteen) => ColorType::La16,
            (P::Rgb, Eight) => ColorType::Rgb8,
            (P::Rgb, Sixteen) => ColorType::Rgb16,
            (P::Rgba, Eight) => ColorType::Rgba8,
            (P::Rgba, Sixteen) => ColorType::Rgba16,
            (ct, depth) => {
                return Err(Error::Unsupported {
                    path: path.to_owned(),
                    msg: format!("PNG: colour type {ct:?} of {depth:?} bits is not supported"),
                })
            }
        };
        let (kind, bands, band) = layout(path, "PNG", color, opts)?;
        Ok(PngRows {
            path: path.to_owned(),
            file,
            reader,
            header: Raster {
                width,
                height,
                kind,
                keys: Vec::new(),
                band,
                bands,
                nodata: None,
            },
            channels: usize::from(color.channel_count()),
            interlaced,
            next: 0,
        })
    }

    /// The whole picture (any interlacing), decoded in one piece.
    fn read_whole(mut self) -> Result<Raster> {
        let h = &self.header;
        let mut keys = alloc_keys(&self.path, h.width, h.height)?;
        let size = self
            .reader
            .output_buffer_size()
            .ok_or_else(|| format(&self.path, "PNG: the image is too large to decode"))?;
        let mut buf = Vec::new();
        buf.try_reserve_exact(size).map_err(|_| Error::TooLarge {
            path: self.path.clone(),
            width: h.width.into(),
            height: h.height.into(),
            msg: "not enough memory".into(),
        })?;
        buf.resize(size, 0);
        let out = self
            .reader
            .next_frame(&mut buf)
            .map_err(|e| png_err(&self.path, e))?;
        let w = h.width as usize;
        let (kind, ch, band) = (h.kind, self.channels, h.band);
        for (row, k) in buf
            .chunks_exact(out.line_size)
            .zip(keys.chunks_exact_mut(w))
        {
            fill_row(k, row, kind, ch, band);
        }
        Ok(Raster {
            keys,
            ..self.header.clone_header()
        })
    }
}

impl RasterSource for PngRows {
    fn info(&self) -> Raster {
        self.header.clone_header()
    }

    fn read_rows_into(&mut self, y0: u32, y1: u32, out: &mut [u32]) -> Result<()> {
        if y0 < self.next {
            self.reader = PngRows::start(&self.path, &self.file)?;
            self.next = 0;
        }
        let path = &self.path;
        let (kind, ch, band) = (self.header.kind, self.channels, self.header.band);
        let w = self.header.width as usize;
        let short = || format(path, "PNG: the image data end before its last row");
        while self.next < y0 {
            self.reader
                .next_row()
                .map_err(|e| png_err(path, e))?
                .ok_or_else(short)?;
            self.next += 1;
        }
        for k in out.chunks_exact_mut(w).take((y1 - y0) as usize) {
            let row = self
                .reader
                .next_row()
                .map_err(|e| png_err(path, e))?
                .ok_or_else(short)?;
            fill_row(k, row.data(), kind, ch, band);
            self.next += 1;
        }
        Ok(())
    }
}

/// The keys of one decoded row (`ch` samples a pixel, 16-bit samples big-endian as PNG stores
/// them): channel `band` (1-based), or the luminance when `band == 0`.
fn fill_row(keys: &mut [u32], data: &[u8], kind: SampleKind, ch: usize, band: u32) {
    match kind {
        SampleKind::U8 => fill(keys, data.chunks_exact(ch), band, |p, i| u32::from(p[i])),
        _ => fill(keys, data.chunks_exact(2 * ch), band, |p, i| {
            u32::from(u16::from_be_bytes([p[2 * i], p[2 * i + 1]]))
        }),
    }
}

/// Keys of channel `band` (1-based) of the pixels `px` (`get(p, i)`: sample i of pixel p), or
/// the luminance when `band == 0`.
fn fill<'a>(
    keys: &mut [u32],
    px: impl Iterator<Item = &'a [u8]>,
    band: u32,
    get: impl Fn(&[u8], usize) -> u32,
) {
    if band == 0 {
        keys.iter_mut()
            .zip(px)
            .for_each(|(k, p)| *k = luminance(get(p, 0), get(p, 1), get(p, 2)));
    } else {
        let b = band as usize - 1;
        keys.iter_mut().zip(px).for_each(|(k, p)| *k = get(p, b));
    }
}

/// Whether a JPEG's bytes end its last scan with an end-of-image marker (FF D9): entropy-coded
/// data stuff every FF byte, so an FF D9 after the last start-of-scan (FF DA) is the real end;
/// a file cut inside or after a scan has none.
fn jpeg_has_end(data: &[u8]) -> bool {
    let last = |m: u8| data.windows(2).rposition(|w| w == [0xFF, m]);
    matches!((last(0xDA), last(0xD9)), (Some(sos), Some(eoi)) if eoi > sos)
}

/// A whole JPEG, decoded by `image` (zune-jpeg) from its bytes, after the checks of the
/// module's documentation.
fn read_jpeg(path: &Path, mut file: SharedFile, opts: &ReadOptions) -> Result<Raster> {
    let io = |source| Error::Io {
        path: path.to_owned(),
        source,
    };
    let mut data = Vec::new();
    data.try_reserve_exact(file.len() as usize)
        .map_err(|_| Error::TooLarge {
            path: path.to_owned(),
            width: 0,
            height: 0,
            msg: format!("not enough memory for a JPEG of {} bytes", file.len()),
        })?;
    file.read_to_end(&mut data).map_err(io)?;
    let decoder = image::codecs::jpeg::JpegDecoder::new(std::io::Cursor::new(&data[..]))
        .map_err(|e| image_err(path, "JPEG", e))?;
    let (width, height) = decoder.dimensions();
    check_size(path, width.into(), height.into(), opts.max_pixels)?;
    let px = u64::from(width) * u64::from(height);
    let most = (data.len() as u64).saturating_mul(JPEG_MAX_PX_PER_BYTE);
    if px > most {
        return Err(format(
            path,
            format!(
                "JPEG: the header declares {width}x{height} px, more than a file of {} bytes \
                 can describe: the file is truncated or its header is wrong",
                data.len()
            ),
        ));
    }
    if !jpeg_has_end(&data) {
        return Err(format(
            path,
            "JPEG: no end-of-image marker after the last scan: the file is truncated",
        ));
    }
    let (kind, bands, band) = layout(path, "JPEG", decoder.color_type(), opts)?;
    let mut keys = alloc_keys(path, width, height)?;
    let img = DynamicImage::from_decoder(decoder).map_err(|e| image_err(path, "JPEG", e))?;
    drop(data);
    let ch = bands as usize;
    if (img.width(), img.height()) != (width, height)
        || img.as_bytes().len() != keys.len() * ch * kind.bytes()
        || kind != SampleKind::U8
    {
        return Err(format(
            path,
            "JPEG: decoded image does not match its header",
        ));
    }
    let w = width as usize;
    for (row, k) in img
        .as_bytes()
        .chunks_exact(w * ch)
        .zip(keys.chunks_exact_mut(w))
    {
        fill_row(k, row, kind, ch, band);
    }
    Ok(Raster {
        width,
        height,
        kind,
        keys,
        band,
        bands,
        nodata: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luminance_exact() {
        for v in [0u32, 1, 127, 128, 255, 65535] {
            assert_eq!(luminance(v, v, v), v);
        }
        assert_eq!(luminance(255, 0, 0), 76); // 76.245
        assert_eq!(luminance(0, 255, 0), 150); // 149.685
        assert_eq!(luminance(0, 0, 255), 29); // 29.07
    }

    #[test]
    fn messages_on_one_line() {
        assert_eq!(
            one_line(
                "CRC error: expected 0x1 have 0x2 while decoding ChunkType { type: IHDR, \
                 critical: true, private: false, reserved: false, safecopy: false } chunk."
            ),
            "CRC error: expected 0x1 have 0x2 while decoding IHDR chunk."
        );
        assert_eq!(one_line("a\nb  c"), "a b c");
    }

    #[test]
    fn jpeg_end_marker() {
        assert!(jpeg_has_end(&[0xFF, 0xD8, 0xFF, 0xDA, 1, 2, 0xFF, 0xD9]));
        assert!(!jpeg_has_end(&[0xFF, 0xD8, 0xFF, 0xDA, 1, 2]));
        // A thumbnail's end does not end the main image.
        assert!(!jpeg_has_end(&[0xFF, 0xDA, 0xFF, 0xD9, 0xFF, 0xDA, 3]));
    }
}
