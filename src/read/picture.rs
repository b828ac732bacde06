//! PNG and JPEG reader, through the `image` crate.
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
//! The size is read from the header and checked against [`ReadOptions::max_pixels`] before
//! anything is decoded.
use super::{alloc_keys, check_size, Raster, ReadOptions};
use crate::error::{Error, Result};
use crate::sample::SampleKind;
use image::{ColorType, DynamicImage, ImageDecoder, ImageError, ImageFormat, ImageReader};
use std::path::Path;

/// Luminance of one RGB pixel (ITU-R BT.601, integer, rounded half up). Exact for 8 and 16 bit.
#[inline]
pub fn luminance(r: u32, g: u32, b: u32) -> u32 {
    (299 * r + 587 * g + 114 * b + 500) / 1000
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
        e => Error::Format {
            path: path.to_owned(),
            msg: format!("{what}: {e}"),
        },
    }
}

/// Read a PNG or JPEG file (the format is told by its magic bytes): one band or the luminance.
pub fn read_picture(path: &Path, opts: &ReadOptions) -> Result<Raster> {
    let io = |source| Error::Io {
        path: path.to_owned(),
        source,
    };
    let mut reader = ImageReader::open(path)
        .map_err(io)?
        .with_guessed_format()
        .map_err(io)?;
    let what = match reader.format() {
        Some(ImageFormat::Png) => "PNG",
        Some(ImageFormat::Jpeg) => "JPEG",
        _ => {
            return Err(Error::Format {
                path: path.to_owned(),
                msg: "not a PNG or JPEG file".into(),
            })
        }
    };
    // We check the size ourselves (before decoding), against our own limit.
    reader.no_limits();
    let decoder = reader
        .into_decoder()
        .map_err(|e| image_err(path, what, e))?;
    let (width, height) = decoder.dimensions();
    check_size(path, width.into(), height.into(), opts.max_pixels)?;

    let color = decoder.color_type();
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

    let mut keys = alloc_keys(path, width, height)?;
    let img = DynamicImage::from_decoder(decoder).map_err(|e| image_err(path, what, e))?;
    let ch = bands as usize;
    if (img.width(), img.height()) != (width, height)
        || img.as_bytes().len() != keys.len() * ch * kind.bytes()
    {
        return Err(Error::Format {
            path: path.to_owned(),
            msg: format!("{what}: decoded image does not match its header"),
        });
    }
    match kind {
        SampleKind::U8 => {
            let data: &[u8] = img.as_bytes();
            fill(&mut keys, data, ch, band, u32::from);
        }
        _ => {
            let data: &[u16] = match &img {
                DynamicImage::ImageLuma16(i) => i.as_raw(),
                DynamicImage::ImageLumaA16(i) => i.as_raw(),
                DynamicImage::ImageRgb16(i) => i.as_raw(),
                DynamicImage::ImageRgba16(i) => i.as_raw(),
                _ => {
                    return Err(Error::Unsupported {
                        path: path.to_owned(),
                        msg: format!("{what}: decoded colour type {:?}", img.color()),
                    })
                }
            };
            fill(&mut keys, data, ch, band, u32::from);
        }
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

/// Keys of channel `band` (1-based) of interleaved `data`, or the luminance when `band == 0`.
fn fill<T: Copy>(keys: &mut [u32], data: &[T], ch: usize, band: u32, f: impl Fn(T) -> u32) {
    let px = data.chunks_exact(ch);
    if band == 0 {
        keys.iter_mut()
            .zip(px)
            .for_each(|(k, p)| *k = luminance(f(p[0]), f(p[1]), f(p[2])));
    } else {
        let b = band as usize - 1;
        keys.iter_mut().zip(px).for_each(|(k, p)| *k = f(p[b]));
    }
}

#[cfg(test)]
mod tests {
    use super::luminance;

    #[test]
    fn luminance_exact() {
        for v in [0u32, 1, 127, 128, 255, 65535] {
            assert_eq!(luminance(v, v, v), v);
        }
        assert_eq!(luminance(255, 0, 0), 76); // 76.245
        assert_eq!(luminance(0, 255, 0), 150); // 149.685
        assert_eq!(luminance(0, 0, 255), 29); // 29.07
    }
}
