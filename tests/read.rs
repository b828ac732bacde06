//! Reader tests: the fixtures of `tests/fixtures/` (made by `make_fixtures.py`, whose pixel
//! formulas `expected` recomputes here), crafted broken files, and the real data of
//! `../shared/data` (skipped when it is missing).

mod common;
use std::path::{Path, PathBuf};
use vesselscan::error::Error;
use vesselscan::read::picture::read_picture;
use vesselscan::read::tiff::read_tiff;
use vesselscan::read::*;
use vesselscan::sample::*;

const W: u32 = 37;
const H: u32 = 23;

fn fx(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn opts(band: Option<u32>) -> ReadOptions {
    ReadOptions {
        band,
        ..Default::default()
    }
}

fn read(name: &str, band: Option<u32>) -> Raster {
    read_raster(&fx(name), &opts(band)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn read_err(name: &str, band: Option<u32>) -> Error {
    match read_raster(&fx(name), &opts(band)) {
        Ok(_) => panic!("{name}: read although it should fail"),
        Err(e) => e,
    }
}

/// The key of pixel (x, y) of band `b` (0-based) of the fixtures (see make_fixtures.py).
fn expected(kind: SampleKind, x: u64, y: u64, b: u64) -> u32 {
    match kind {
        SampleKind::U8 => key_u8(((7 * x + 13 * y + 50 * b) % 256) as u8),
        SampleKind::U16 => key_u16(((1009 * x + 2843 * y + 9001 * b) % 65536) as u16),
        SampleKind::I16 => {
            key_i16((((1009 * x + 2843 * y + 9001 * b) % 65536) as i64 - 32768) as i16)
        }
        SampleKind::U32 => {
            key_u32(((123456791 * x + 987654323 * y + 55555 * b) % (1 << 32)) as u32)
        }
        SampleKind::F32 => {
            if (3 * x + y + b) % 17 == 0 {
                NAN_KEY
            } else {
                let v = (((7 * x + 13 * y + 50 * b) % 256) as f64 - 100.0) * 0.37;
                key_f32(v as f32)
            }
        }
    }
}

/// Every pixel of `r` is the fixture formula for `kind`, band `b` (0-based).
fn check(name: &str, r: &Raster, kind: SampleKind, b: u64) {
    assert_eq!((r.width, r.height), (W, H), "{name}: size");
    assert_eq!(r.kind, kind, "{name}: kind");
    assert_eq!(r.keys.len(), (W * H) as usize, "{name}: keys");
    for y in 0..H as u64 {
        for x in 0..W as u64 {
            let got = r.keys[(y * W as u64 + x) as usize];
            let want = expected(kind, x, y, b);
            assert_eq!(
                got,
                want,
                "{name} band {}: pixel ({x}, {y}): got {} want {}",
                b + 1,
                key_to_value(kind, got),
                key_to_value(kind, want)
            );
        }
    }
}

fn check_file(name: &str, kind: SampleKind) {
    let r = read(name, None);
    check(name, &r, kind, 0);
    assert_eq!((r.band, r.bands), (1, 1), "{name}");
}

// ---------------------------------------------------------------------------------------------
// TIFF

#[test]
fn tiff_each_sample_type() {
    check_file("u8_strip.tif", SampleKind::U8);
    check_file("u16_strip.tif", SampleKind::U16);
    check_file("i16_strip.tif", SampleKind::I16);
    check_file("u32_strip.tif", SampleKind::U32);
    check_file("f32_strip.tif", SampleKind::F32);
}

#[test]
fn tiff_f32_nan_and_negatives() {
    let r = read("f32_strip.tif", None);
    let nan = r.keys.iter().filter(|&&k| k == NAN_KEY).count();
    assert!(nan > 0 && nan < r.keys.len() / 10, "{nan} NaNs");
    assert_eq!(
        key_to_value(SampleKind::F32, r.keys[1]),
        ((7.0 - 100.0) * 0.37) as f32 as f64
    );
    assert!(r
        .keys
        .iter()
        .any(|&k| k != NAN_KEY && key_to_value(SampleKind::F32, k) < 0.0));
}

#[test]
fn tiff_tiles_with_edge_tiles() {
    check_file("u16_tile16.tif", SampleKind::U16);
    check_file("u16_tile16_zstd.tif", SampleKind::U16);
    check_file("f32_tile16_be.tif", SampleKind::F32);
}

#[test]
fn tiff_compressions() {
    check_file("u16_strip_deflate8.tif", SampleKind::U16);
    check_file("u16_strip_deflate32946.tif", SampleKind::U16);
    check_file("u16_strip_lzw.tif", SampleKind::U16);
    check_file("u8_strip_packbits.tif", SampleKind::U8);
    check_file("u16_tile16_zstd.tif", SampleKind::U16);
}

#[test]
fn tiff_predictors() {
    // 2: horizontal differencing (strips and tiles, signed, 3 interleaved samples)
    check_file("u16_strip_deflate_pred2.tif", SampleKind::U16);
    check_file("i16_tile16_deflate_pred2.tif", SampleKind::I16);
    for b in 1..=3 {
        let name = "u16_3band_pixel_tile16_zstd_pred2.tif";
        check(name, &read(name, Some(b)), SampleKind::U16, (b - 1) as u64);
    }
    // 3: floating point predictor (strips and tiles with edge tiles)
    check_file("f32_tile16_zstd_pred3.tif", SampleKind::F32);
    check_file("f32_strip_lzw_pred3.tif", SampleKind::F32);
    check_file("f32_tile16_lzw_pred3.tif", SampleKind::F32);
}

/// The direct decode (src/read/tiff.rs `Direct`): which files take it, each of its variants
/// read right, and the same keys (or the same error) as the `tiff` crate's decode for every
/// fixture and band.
#[test]
fn tiff_direct_decode_variants() {
    use vesselscan::read::tiff::TiffBand;
    let direct = |name: &str| {
        TiffBand::open(&fx(name), &opts(None))
            .unwrap()
            .decodes_directly()
    };
    for (name, kind, bands) in [
        ("u8_tile16_deflate_pred2.tif", SampleKind::U8, 1),
        ("u16_strip_deflate_pred2.tif", SampleKind::U16, 1),
        ("u16_tile16_deflate_pred2_be.tif", SampleKind::U16, 1),
        ("i16_tile16_deflate_pred2.tif", SampleKind::I16, 1),
        ("u32_strip_deflate_pred2.tif", SampleKind::U32, 1),
        ("u32_tile16_deflate_pred2_be.tif", SampleKind::U32, 1),
        ("f32_tile16_deflate.tif", SampleKind::F32, 1),
        ("u16_strip_deflate32946.tif", SampleKind::U16, 1),
        ("u16_strip_bigtiff_deflate.tif", SampleKind::U16, 1),
        (
            "u16_3band_pixel_strip_deflate_pred2.tif",
            SampleKind::U16,
            3,
        ),
        (
            "u16_3band_planar_tile16_deflate_pred2.tif",
            SampleKind::U16,
            3,
        ),
        ("u16_strip.tif", SampleKind::U16, 1),
        ("f32_tile16_be.tif", SampleKind::F32, 1),
        ("u8_rgb_chunky_tile16.tif", SampleKind::U8, 3),
        ("u16_tile16_zstd.tif", SampleKind::U16, 1),
        ("u16_3band_pixel_tile16_zstd_pred2.tif", SampleKind::U16, 3),
    ] {
        assert!(direct(name), "{name} should decode directly");
        for b in 1..=bands {
            check(name, &read(name, Some(b)), kind, u64::from(b - 1));
        }
    }
    // Left to the crate: LZW, PackBits, the floating-point predictor.
    for name in [
        "u16_strip_lzw.tif",
        "f32_tile16_zstd_pred3.tif",
        "u8_strip_packbits.tif",
        "f32_strip_lzw_pred3.tif",
    ] {
        assert!(!direct(name), "{name} should decode through the crate");
    }
    // MinIsWhite is read as stored (GDAL's convention; see tiff_miniswhite_reads_as_stored),
    // by the direct path too.
    assert!(direct("u16_strip_deflate_miniswhite.tif"));
    let r = read("u16_strip_deflate_miniswhite.tif", None);
    for (i, &k) in r.keys.iter().enumerate() {
        let (x, y) = ((i % W as usize) as u64, (i / W as usize) as u64);
        let v = (1009 * x + 2843 * y) % 65536;
        assert_eq!(k, key_u16(v as u16), "MinIsWhite pixel ({x}, {y})");
    }

    // The fixtures, and the fuzz corpus (which holds files the fuzzer found the two decodes
    // disagreeing on: planar tiles whose data end before the crate's idea of a tile).
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/read_raster");
    let mut compared = 0;
    for entry in std::fs::read_dir(fx(""))
        .unwrap()
        .chain(std::fs::read_dir(corpus).unwrap())
    {
        let p = entry.unwrap().path();
        if p.extension().is_none_or(|e| e != "tif") {
            continue;
        }
        for band in 1..=3 {
            let read_with = |direct_decode| {
                let o = ReadOptions {
                    band: Some(band),
                    direct_decode,
                    max_pixels: 1 << 20,
                };
                read_raster(&p, &o)
                    .map(|r| r.keys)
                    .map_err(|e| e.to_string())
            };
            assert_eq!(
                read_with(true),
                read_with(false),
                "{} band {band}",
                p.display()
            );
            compared += 1;
        }
    }
    assert!(compared >= 120, "{compared} fixture bands compared");
}

/// Set SHORT tag `tag` of the first IFD of a classic TIFF (either byte order) to `value`.
fn set_short_tag(data: &mut [u8], tag: u16, value: u16) {
    let be = &data[..2] == b"MM";
    let u16_at = |d: &[u8], i: usize| {
        let b = [d[i], d[i + 1]];
        (if be {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        }) as usize
    };
    let u32_at = |d: &[u8], i: usize| {
        let b: [u8; 4] = d[i..i + 4].try_into().unwrap();
        (if be {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        }) as usize
    };
    let ifd = u32_at(data, 4);
    for e in 0..u16_at(data, ifd) {
        let entry = ifd + 2 + 12 * e;
        if u16_at(data, entry) == usize::from(tag) {
            assert_eq!(u16_at(data, entry + 2), 3, "tag {tag} is not a SHORT");
            let v = if be {
                value.to_be_bytes()
            } else {
                value.to_le_bytes()
            };
            data[entry + 8..entry + 10].copy_from_slice(&v);
            return;
        }
    }
    panic!("no tag {tag}");
}

/// Rename tag `from` of the first IFD of a classic TIFF (either byte order) to `to`.
fn rename_tag(data: &mut [u8], from: u16, to: u16) {
    let be = &data[..2] == b"MM";
    let u16_at = |d: &[u8], i: usize| {
        let b = [d[i], d[i + 1]];
        if be {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        }
    };
    let b: [u8; 4] = data[4..8].try_into().unwrap();
    let ifd = (if be {
        u32::from_be_bytes(b)
    } else {
        u32::from_le_bytes(b)
    }) as usize;
    for e in 0..u16_at(data, ifd) as usize {
        let entry = ifd + 2 + 12 * e;
        if u16_at(data, entry) == from {
            let v = if be {
                to.to_be_bytes()
            } else {
                to.to_le_bytes()
            };
            data[entry..entry + 2].copy_from_slice(&v);
            return;
        }
    }
    panic!("no tag {from}");
}

/// Only the first IFD is read, so a chain of IFDs that loops back (the first IFD's next offset
/// pointing at itself, or a second IFD's at the first or at itself) is accepted, as GDAL
/// accepts it (the crate refused "a cycle in the list of IFDs").
#[test]
fn tiff_looping_ifd_chains_after_the_first_are_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let base = std::fs::read(fx("u8_strip.tif")).unwrap();
    assert_eq!(&base[..4], b"II*\0");
    let ifd0 = u32::from_le_bytes(base[4..8].try_into().unwrap()) as usize;
    let n = u16::from_le_bytes([base[ifd0], base[ifd0 + 1]]) as usize;
    let next_at = ifd0 + 2 + 12 * n;
    let want = read("u8_strip.tif", None).keys;
    // 0: IFD0 -> IFD0; 1: IFD0 -> IFD1 -> IFD0; 2: IFD0 -> IFD1 -> IFD1.
    for case in 0..3 {
        let mut d = base.clone();
        let ifd1 = d.len().next_multiple_of(2);
        d.resize(ifd1, 0);
        d.extend_from_slice(&base[ifd0..next_at]);
        let (first_next, second_next) = match case {
            0 => (ifd0, 0),
            1 => (ifd1, ifd0),
            _ => (ifd1, ifd1),
        };
        d.extend((second_next as u32).to_le_bytes());
        d[next_at..next_at + 4].copy_from_slice(&(first_next as u32).to_le_bytes());
        let p = dir.path().join(format!("loop{case}.tif"));
        std::fs::write(&p, &d).unwrap();
        for direct_decode in [true, false] {
            let o = ReadOptions {
                direct_decode,
                ..opts(None)
            };
            let r = read_raster(&p, &o).unwrap_or_else(|e| panic!("case {case}: {e}"));
            assert_eq!(r.keys, want, "case {case}");
        }
    }
}

/// Tiles addressed through StripOffsets / StripByteCounts (TileWidth and TileLength set, as in
/// libtiff's `cramps-tile.tif`) read as tiles, as libtiff and GDAL read them: the crate's
/// "inconsistent sizes encountered" before.
#[test]
fn tiff_tiles_in_strip_tags_read_as_tiles() {
    let dir = tempfile::tempdir().unwrap();
    for name in [
        "u16_tile16.tif",
        "u16_tile16_lzw_be.tif",
        "u16_3band_planar_tile16_lzw.tif",
    ] {
        let mut data = std::fs::read(fx(name)).unwrap();
        rename_tag(&mut data, 324, 273);
        rename_tag(&mut data, 325, 279);
        let p = dir.path().join(name);
        std::fs::write(&p, &data).unwrap();
        for band in [None, Some(1)] {
            for direct_decode in [true, false] {
                let o = ReadOptions {
                    direct_decode,
                    ..opts(band)
                };
                let r = read_raster(&p, &o).unwrap_or_else(|e| panic!("{name}: {e}"));
                assert_eq!(r.keys, read(name, band).keys, "{name}");
            }
        }
        if common::have_gdal() {
            let o = std::process::Command::new("gdallocationinfo")
                .args(["-valonly", "-b", "1", p.to_str().unwrap(), "20", "17"])
                .output()
                .unwrap();
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            let gdal: u16 = String::from_utf8_lossy(&o.stdout).trim().parse().unwrap();
            assert_eq!(read(name, None).keys[(17 * W + 20) as usize], key_u16(gdal));
        }
    }
}

/// WhiteIsZero (MinIsWhite) is read as stored, as GDAL and tifffile read it (the `tiff` crate
/// inverts it): each fixture with its PhotometricInterpretation set to 0 reads exactly as the
/// BlackIsZero original, by the direct path and through the crate, for every codec, sample
/// type and layout; and the MinIsWhite fixture reads as GDAL reads it.
#[test]
fn tiff_miniswhite_reads_as_stored() {
    let dir = tempfile::tempdir().unwrap();
    for name in [
        "u8_strip.tif",
        "u8_strip_packbits.tif",
        "u16_strip_lzw.tif",
        "u16_tile16_lzw_be.tif",
        "u16_strip_deflate_pred2.tif",
        "i16_strip.tif",
        "i16_tile16_deflate_pred2.tif",
        "u32_strip.tif",
        "f32_strip.tif",
        "f32_strip_lzw_pred3.tif",
        "f32_tile16_zstd_pred3.tif",
        "f32_tile16_lzw_pred3.tif",
        "u16_3band_planar_tile16_lzw.tif",
    ] {
        let mut data = std::fs::read(fx(name)).unwrap();
        set_short_tag(&mut data, 262, 0);
        let p = dir.path().join(name);
        std::fs::write(&p, &data).unwrap();
        for direct_decode in [true, false] {
            let o = ReadOptions {
                direct_decode,
                ..opts(None)
            };
            let r = read_raster(&p, &o).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(
                r.keys,
                read(name, None).keys,
                "{name} direct {direct_decode}"
            );
        }
    }
    if !common::have_gdal() {
        return;
    }
    let p = fx("u16_strip_deflate_miniswhite.tif");
    let r = read("u16_strip_deflate_miniswhite.tif", None);
    for (x, y) in [(0u32, 0u32), (1, 0), (5, 3), (36, 22), (20, 11)] {
        let o = std::process::Command::new("gdallocationinfo")
            .args([
                "-valonly",
                p.to_str().unwrap(),
                &x.to_string(),
                &y.to_string(),
            ])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let gdal: u16 = String::from_utf8_lossy(&o.stdout).trim().parse().unwrap();
        assert_eq!(
            r.keys[(y * W + x) as usize],
            key_u16(gdal),
            "pixel ({x}, {y})"
        );
    }
}

/// Point strip `index` of a classic little-endian TIFF (StripOffsets and StripByteCounts held
/// as SHORT or LONG arrays of more than 4 bytes) at `offset` and `count`.
fn set_strip(data: &mut [u8], index: usize, offset: u64, count: u64) {
    let u16_at = |d: &[u8], i: usize| u16::from_le_bytes([d[i], d[i + 1]]) as usize;
    let u32_at = |d: &[u8], i: usize| u32::from_le_bytes(d[i..i + 4].try_into().unwrap()) as usize;
    assert_eq!(&data[..4], b"II*\0");
    let ifd = u32_at(data, 4);
    let mut patched = 0;
    for e in 0..u16_at(data, ifd) {
        let entry = ifd + 2 + 12 * e;
        let (tag, typ) = (u16_at(data, entry), u16_at(data, entry + 2));
        let value = match tag {
            273 => offset,
            279 => count,
            _ => continue,
        };
        let size = match typ {
            3 => 2,
            4 => 4,
            _ => panic!("tag {tag}: type {typ}"),
        };
        let slot = u32_at(data, entry + 8) + index * size;
        data[slot..slot + size].copy_from_slice(&value.to_le_bytes()[..size]);
        patched += 1;
    }
    assert_eq!(patched, 2);
}

/// Two broken strips in different runs of the parallel decode: the error reported is always
/// the first strip's, whichever thread meets its error first.
#[test]
fn tiff_parallel_decode_reports_the_first_error_in_file_order() {
    use ::tiff::tags::Tag;
    let name = "u16_strip_deflate_pred2.tif";
    let mut data = std::fs::read(fx(name)).unwrap();
    let mut dec = ::tiff::decoder::Decoder::new(std::io::Cursor::new(&data)).unwrap();
    let offsets = dec.get_tag_u64_vec(Tag::StripOffsets).unwrap();
    let counts = dec.get_tag_u64_vec(Tag::StripByteCounts).unwrap();
    let last = offsets.len() - 1;
    assert!(last >= 4);
    // Strip 0: not a zlib stream. The last strip: past the end of the file.
    let (o0, c0) = (offsets[0] as usize, counts[0] as usize);
    let len = data.len() as u64;
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bad_strips.tif");
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(4)
        .build()
        .unwrap();
    let error = |data: &[u8]| {
        std::fs::write(&p, data).unwrap();
        let e = pool.install(|| read_raster(&p, &opts(None))).unwrap_err();
        e.to_string()
    };
    let mut both = data.clone();
    both[o0..o0 + c0].fill(0xFF);
    let first = error(&both);
    set_strip(&mut data, last, len + 1000, counts[last]);
    let second = error(&data);
    set_strip(&mut both, last, len + 1000, counts[last]);
    assert_ne!(first, second);
    std::fs::write(&p, &both).unwrap();
    for _ in 0..20 {
        for direct_decode in [true, false] {
            let o = ReadOptions {
                direct_decode,
                ..Default::default()
            };
            let e = pool
                .install(|| read_raster(&p, &o))
                .unwrap_err()
                .to_string();
            assert_eq!(e, first);
        }
    }
}

/// A chunk the direct path cannot take is decoded by the crate. Here strip 1's Deflate stream
/// holds 4 KiB more than a strip (the crate reads what it needs and stops; the one-call inflate
/// has no room for it): same keys as the crate alone, and the fixture formula. A wrong checksum
/// gives the crate's error either way.
#[test]
fn tiff_direct_decode_falls_back_per_chunk() {
    use ::tiff::tags::Tag;
    use std::io::{Read, Write};
    let name = "u16_strip_deflate_pred2.tif";
    let orig = std::fs::read(fx(name)).unwrap();
    let mut dec = ::tiff::decoder::Decoder::new(std::io::Cursor::new(&orig)).unwrap();
    let offsets = dec.get_tag_u64_vec(Tag::StripOffsets).unwrap();
    let counts = dec.get_tag_u64_vec(Tag::StripByteCounts).unwrap();
    assert!(offsets.len() > 2);
    let (off, count) = (offsets[1] as usize, counts[1] as usize);

    let mut strip = Vec::new();
    flate2::read::ZlibDecoder::new(&orig[off..off + count])
        .read_to_end(&mut strip)
        .unwrap();
    strip.extend(std::iter::repeat_n(0xA5u8, 4096));
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(&strip).unwrap();
    let longer = z.finish().unwrap();
    // Append it and point strip 1's entries at it.
    let mut data = orig.clone();
    let at = data.len() as u64;
    data.extend_from_slice(&longer);
    set_strip(&mut data, 1, at, longer.len() as u64);
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("long_stream.tif");
    std::fs::write(&p, &data).unwrap();
    let with = |direct_decode| {
        let o = ReadOptions {
            direct_decode,
            ..Default::default()
        };
        read_raster(&p, &o)
            .map(|r| r.keys)
            .map_err(|e| e.to_string())
    };
    let r = Raster {
        keys: with(true).unwrap(),
        ..read(name, None)
    };
    check(name, &r, SampleKind::U16, 0);
    assert_eq!(with(true), with(false));

    // A wrong Adler-32 (the last 4 bytes of strip 1's stream): the crate's error either way.
    let mut bad = orig.clone();
    bad[off + count - 1] ^= 0x5A;
    std::fs::write(&p, &bad).unwrap();
    let e = with(true).unwrap_err();
    assert!(e.contains("TIFF: "), "{e}");
    assert_eq!(Err(e), with(false));
}

#[test]
fn tiff_lzw_tiles_with_right_edge_tiles() {
    // tiff 0.11.3 fails on these edge tiles when read row by row; the reader decodes them whole.
    check_file("u16_tile16_lzw_be.tif", SampleKind::U16);
    check_file("f32_tile16_lzw_pred3.tif", SampleKind::F32);
    let name = "u16_3band_pixel_tile16_lzw_pred2.tif";
    for b in 1..=3 {
        check(name, &read(name, Some(b)), SampleKind::U16, (b - 1) as u64);
    }
    for b in 1..=3 {
        let name = "u16_3band_planar_tile16_lzw.tif";
        check(name, &read(name, Some(b)), SampleKind::U16, (b - 1) as u64);
    }
}

#[test]
fn tiff_bigtiff_and_big_endian() {
    check_file("u16_tile16_bigtiff.tif", SampleKind::U16);
    check_file("u16_strip_bigtiff_deflate.tif", SampleKind::U16);
    check_file("u16_strip_be.tif", SampleKind::U16);
    check_file("f32_tile16_be.tif", SampleKind::F32);
}

#[test]
fn tiff_multiband_chunky_and_planar() {
    for (name, kind) in [
        ("u16_3band_chunky_strip.tif", SampleKind::U16),
        ("u16_3band_planar_strip.tif", SampleKind::U16),
        ("u16_3band_planar_tile16_lzw.tif", SampleKind::U16),
        ("u16_3band_pixel_tile16_zstd_pred2.tif", SampleKind::U16),
        ("u8_3band_planar_tile16.tif", SampleKind::U8),
        ("u8_rgb_chunky_tile16.tif", SampleKind::U8),
    ] {
        for b in 1..=3u32 {
            let r = read(name, Some(b));
            check(name, &r, kind, (b - 1) as u64);
            assert_eq!((r.band, r.bands), (b, 3), "{name}");
        }
        // default: band 1
        let r = read(name, None);
        check(name, &r, kind, 0);
        assert_eq!(r.band, 1);
        for bad in [0, 4, 99] {
            match read_err(name, Some(bad)) {
                Error::BandOutOfRange { band, bands, path } => {
                    assert_eq!((band, bands), (bad, 3));
                    assert_eq!(path, fx(name));
                }
                e => panic!("{name} band {bad}: {e:?}"),
            }
        }
    }
    let e = read_err("u16_strip.tif", Some(2)).to_string();
    assert!(
        e.contains("band 2 out of range (the file has 1 band)"),
        "{e}"
    );
}

#[test]
fn tiff_gdal_nodata() {
    assert_eq!(read("i16_strip_nodata.tif", None).nodata, Some(-9999.0));
    assert!(read("f32_strip_nodata_nan.tif", None)
        .nodata
        .unwrap()
        .is_nan());
    assert_eq!(
        read("u16_strip_bigtiff_deflate.tif", None).nodata,
        Some(0.0)
    );
    assert_eq!(read("u16_strip.tif", None).nodata, None);
    check_file("i16_strip_nodata.tif", SampleKind::I16);
}

#[test]
fn tiff_unsupported_sample_formats() {
    for (name, what) in [
        ("f64.tif", "f64 (64-bit float)"),
        ("i32.tif", "i32 (32-bit signed integer)"),
        ("i8.tif", "i8 (8-bit signed integer)"),
        ("u64.tif", "u64 (64-bit unsigned integer)"),
    ] {
        match read_err(name, None) {
            e @ Error::Unsupported { .. } => {
                let s = e.to_string();
                assert!(s.contains(what), "{s}");
                assert!(s.contains("supported: u8, u16, i16, u32, f32"), "{s}");
                assert!(s.contains(name), "{s}");
            }
            e => panic!("{name}: {e:?}"),
        }
    }
}

#[test]
fn tiff_unsupported_compression() {
    match read_err("u8_jpeg_compressed.tif", None) {
        e @ Error::Unsupported { .. } => assert!(e.to_string().contains("JPEG (7)"), "{e}"),
        e => panic!("{e:?}"),
    }
}

#[test]
fn tiff_truncated_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    for name in [
        "u16_strip.tif",
        "u16_tile16.tif",
        "u16_3band_planar_strip.tif",
        "u16_strip_bigtiff_deflate.tif",
        "f32_tile16_zstd_pred3.tif",
        "u16_strip_lzw.tif",
    ] {
        let data = std::fs::read(fx(name)).unwrap();
        let n = data.len();
        for cut in [0, 2, 4, 7, 8, 12, 30, 100, n / 3, n / 2, n - 100, n - 1] {
            let p = dir.path().join(format!("cut_{cut}_{name}"));
            std::fs::write(&p, &data[..cut]).unwrap();
            let res = read_raster(&p, &opts(None));
            // Uncompressed: every cut loses pixels. Compressed: the last bytes may be a checksum
            // the decoder does not need; it must not panic, and fail as a format error if it fails.
            // (Uncompressed tiles end with padding the decoder does not need either.)
            // (Planar files: a cut in band 2 or 3 leaves band 1 whole.)
            let must_fail = cut <= 100 || name == "u16_strip.tif";
            match res {
                Err(Error::Format { path, msg }) => {
                    assert_eq!(path, p);
                    assert!(cut < 8 || msg.starts_with("TIFF: "), "{msg}");
                }
                Err(e) => panic!("{name} cut at {cut}: {e:?}"),
                Ok(_) => assert!(!must_fail, "{name} cut at {cut} read"),
            }
        }
    }
    let p = dir.path().join("cut_half.tif");
    let data = std::fs::read(fx("u16_strip.tif")).unwrap();
    std::fs::write(&p, &data[..data.len() / 2]).unwrap();
    let e = read_tiff(&p, &opts(None)).unwrap_err().to_string();
    assert!(e.starts_with(&format!("{}: TIFF: ", p.display())), "{e}");
}

#[test]
fn tiff_corrupt_bytes_never_panic() {
    let dir = tempfile::tempdir().unwrap();
    for name in [
        "u16_strip_deflate_pred2.tif",
        "i16_tile16_deflate_pred2.tif",
        "u8_strip_packbits.tif",
        "u16_3band_planar_tile16_lzw.tif",
        "u8_3band_planar_tile16.tif",
    ]
    .iter()
    .filter(|n| fx(n).exists())
    {
        let data = std::fs::read(fx(name)).unwrap();
        // Every byte of the header and IFD, then a sample of the data.
        for i in (0..data.len()).filter(|&i| i < 400 || i % 13 == 0) {
            for x in [0xFFu8, 0x01, 0x80] {
                let mut d = data.clone();
                d[i] ^= x;
                let p = dir.path().join("corrupt.tif");
                std::fs::write(&p, &d).unwrap();
                let small = ReadOptions {
                    band: None,
                    max_pixels: 1 << 16,
                    ..Default::default()
                };
                if let Err(e) = read_tiff(&p, &small) {
                    assert!(
                        matches!(
                            e,
                            Error::Format { .. }
                                | Error::Unsupported { .. }
                                | Error::TooLarge { .. }
                                | Error::BandOutOfRange { .. }
                        ),
                        "{name} byte {i}: {e:?}"
                    );
                }
            }
        }
    }
}

/// A classic little-endian TIFF header claiming `w` x `h` u8 pixels in one strip.
fn huge_header(w: u32, h: u32) -> Vec<u8> {
    let entries: [(u16, u16, u32); 9] = [
        (256, 4, w),    // ImageWidth
        (257, 4, h),    // ImageLength
        (258, 3, 8),    // BitsPerSample
        (259, 3, 1),    // Compression: none
        (262, 3, 1),    // Photometric: BlackIsZero
        (273, 4, 200),  // StripOffsets
        (277, 3, 1),    // SamplesPerPixel
        (278, 4, h),    // RowsPerStrip
        (279, 4, 1000), // StripByteCounts
    ];
    let mut v = b"II*\0".to_vec();
    v.extend(8u32.to_le_bytes());
    v.extend((entries.len() as u16).to_le_bytes());
    for (tag, typ, val) in entries {
        v.extend(tag.to_le_bytes());
        v.extend(typ.to_le_bytes());
        v.extend(1u32.to_le_bytes());
        if typ == 3 {
            v.extend((val as u16).to_le_bytes());
            v.extend([0, 0]);
        } else {
            v.extend(val.to_le_bytes());
        }
    }
    v.extend(0u32.to_le_bytes());
    v.resize(1200, 7);
    v
}

#[test]
fn tiff_huge_header_is_refused_before_allocating() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("huge.tif");
    std::fs::write(&p, huge_header(1_000_000, 1_000_000)).unwrap();
    match read_raster(&p, &opts(None)) {
        Err(Error::TooLarge {
            width,
            height,
            path,
            ..
        }) => {
            assert_eq!((width, height, path), (1_000_000, 1_000_000, p.clone()));
        }
        r => panic!("{:?}", r.map(|r| (r.width, r.height))),
    }
    // Even with no pixel limit, the single 10^12-byte strip is refused, not allocated.
    let unlimited = ReadOptions {
        band: None,
        max_pixels: u64::MAX,
        ..Default::default()
    };
    assert!(matches!(
        read_raster(&p, &unlimited),
        Err(Error::TooLarge { .. })
    ));
    // The same header at a sane size reads (the strip is the 7s written after the IFD).
    std::fs::write(&p, huge_header(40, 25)).unwrap();
    let r = read_raster(&p, &opts(None)).unwrap();
    assert_eq!((r.width, r.height, r.kind), (40, 25, SampleKind::U8));
    assert!(r.keys.iter().all(|&k| k == 7));
}

#[test]
fn max_pixels_is_enforced() {
    let small = ReadOptions {
        band: None,
        max_pixels: 100,
        ..Default::default()
    };
    for name in ["u16_strip.tif", "grey8.png", "rgb8.png", "grey_smooth.jpg"] {
        assert!(
            matches!(read_raster(&fx(name), &small), Err(Error::TooLarge { .. })),
            "{name}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// PNG / JPEG

/// A JPEG cut anywhere inside or after its scan (its end-of-image marker missing) is refused
/// as truncated: the decoder filled the missing rows with grey, silently.
#[test]
fn jpeg_truncated_is_refused() {
    let data_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("data");
    let full = std::fs::read(data_dir.join("ssdd_001114.jpg")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("cut.jpg");
    std::fs::write(&p, &full).unwrap();
    let whole = read_raster(&p, &opts(None)).unwrap();
    assert_eq!((whole.width, whole.height), (501, 279));
    for cut in [700, full.len() / 2, full.len() - 2] {
        std::fs::write(&p, &full[..cut]).unwrap();
        let e = read_raster(&p, &opts(None))
            .expect_err("a cut JPEG")
            .to_string();
        assert!(
            e.contains("cut.jpg") && e.contains("truncated"),
            "{cut}: {e}"
        );
        assert_eq!(e.lines().count(), 1);
        assert!(open_source(&p, &opts(None)).is_err());
    }
}

/// An interlaced (Adam7) PNG, which is decoded whole rather than row by row, reads as the same
/// picture not interlaced, through `read_raster` and `open_source`.
#[test]
fn png_interlaced_reads_whole() {
    let want = read("grey8.png", None);
    let px = |x: u32, y: u32| want.keys[(y * W + x) as usize] as u8;
    let mut raw = Vec::new();
    for (x0, y0, dx, dy) in [
        (0, 0, 8, 8),
        (4, 0, 8, 8),
        (0, 4, 4, 8),
        (2, 0, 4, 4),
        (0, 2, 2, 4),
        (1, 0, 2, 2),
        (0, 1, 1, 2),
    ] {
        if x0 >= W || y0 >= H {
            continue;
        }
        for y in (y0..H).step_by(dy) {
            raw.push(0); // filter: none
            raw.extend((x0..W).step_by(dx).map(|x| px(x, y)));
        }
    }
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut z, &raw).unwrap();
    let idat = z.finish().unwrap();
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut chunk = |ty: &[u8; 4], data: &[u8]| {
        png.extend((data.len() as u32).to_be_bytes());
        let mut crc = flate2::Crc::new();
        crc.update(ty);
        crc.update(data);
        png.extend(ty);
        png.extend(data);
        png.extend(crc.sum().to_be_bytes());
    };
    let mut ihdr = Vec::new();
    ihdr.extend(W.to_be_bytes());
    ihdr.extend(H.to_be_bytes());
    ihdr.extend([8, 0, 0, 0, 1]); // 8-bit grey, Adam7
    chunk(b"IHDR", &ihdr);
    chunk(b"IDAT", &idat);
    chunk(b"IEND", &[]);
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("adam7.png");
    std::fs::write(&p, &png).unwrap();
    let r = read_raster(&p, &opts(None)).unwrap();
    assert_eq!((r.width, r.height, r.kind), (W, H, SampleKind::U8));
    assert_eq!(r.keys, want.keys);
    let mut src = open_source(&p, &opts(None)).unwrap();
    let mut keys = vec![0; (W * H) as usize];
    src.read_rows_into(0, H, &mut keys).unwrap();
    assert_eq!(keys, want.keys);
}

/// A PNG with a bad checksum gets a readable line, not the decoder's debug dump of the chunk
/// type (`ChunkType { type: IHDR, critical: true, ... }`); a PNG cut short is refused too.
#[test]
fn png_corrupt_and_truncated_errors_are_one_readable_line() {
    let full = std::fs::read(fx("grey8.png")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bad.png");
    let mut bad = full.clone();
    bad[17] ^= 0x40; // in IHDR's width
    std::fs::write(&p, &bad).unwrap();
    let e = read_raster(&p, &opts(None)).unwrap_err().to_string();
    assert!(!e.contains("ChunkType") && !e.contains('{'), "{e}");
    assert!(
        e.contains("bad.png") && e.contains("CRC") && e.contains("IHDR"),
        "{e}"
    );
    assert_eq!(e.lines().count(), 1);
    std::fs::write(&p, &full[..full.len() * 2 / 3]).unwrap();
    for e in [
        read_raster(&p, &opts(None)).map(|_| ()).unwrap_err(),
        open_source(&p, &opts(None))
            .and_then(|mut s| {
                let mut keys = vec![0; (W * H) as usize];
                s.read_rows_into(0, H, &mut keys)
            })
            .unwrap_err(),
    ] {
        let e = e.to_string();
        assert!(e.contains("bad.png") && !e.contains('{'), "{e}");
        assert_eq!(e.lines().count(), 1);
    }
}

#[test]
fn png_grey() {
    check_file("grey8.png", SampleKind::U8);
    check_file("grey16.png", SampleKind::U16);
    assert!(matches!(
        read_err("grey8.png", Some(2)),
        Error::BandOutOfRange {
            band: 2,
            bands: 1,
            ..
        }
    ));
}

fn check_luminance(name: &str, kind: SampleKind) {
    let r = read(name, None);
    assert_eq!((r.width, r.height, r.kind, r.band), (W, H, kind, 0));
    for y in 0..H as u64 {
        for x in 0..W as u64 {
            let c = |b| expected(kind, x, y, b);
            let want = (299 * c(0) + 587 * c(1) + 114 * c(2) + 500) / 1000;
            assert_eq!(
                r.keys[(y * W as u64 + x) as usize],
                want,
                "{name} ({x}, {y})"
            );
        }
    }
}

#[test]
fn png_rgb_luminance_and_bands() {
    check_luminance("rgb8.png", SampleKind::U8);
    check_luminance("rgb16.png", SampleKind::U16);
    check_luminance("rgba8.png", SampleKind::U8);
    for (name, kind, bands) in [
        ("rgb8.png", SampleKind::U8, 3),
        ("rgb16.png", SampleKind::U16, 3),
        ("rgba8.png", SampleKind::U8, 4), // alpha is band 4
    ] {
        for b in 1..=bands {
            let r = read(name, Some(b));
            check(name, &r, kind, (b - 1) as u64);
            assert_eq!((r.band, r.bands), (b, bands));
        }
        assert!(matches!(
            read_err(name, Some(bands + 1)),
            Error::BandOutOfRange { .. }
        ));
    }
}

#[test]
fn jpeg_grey() {
    // Lossy: 64 + 2x + 3y within a small error.
    let r = read("grey_smooth.jpg", None);
    assert_eq!(
        (r.width, r.height, r.kind, r.bands),
        (W, H, SampleKind::U8, 1)
    );
    let mut worst = 0i64;
    for y in 0..H as i64 {
        for x in 0..W as i64 {
            let got = r.keys[(y * W as i64 + x) as usize] as i64;
            worst = worst.max((got - (64 + 2 * x + 3 * y)).abs());
        }
    }
    assert!(worst <= 4, "JPEG error {worst}");
}

#[test]
fn missing_file_is_io_error_naming_it() {
    let p = fx("no_such_file.tif");
    for res in [
        read_raster(&p, &opts(None)),
        read_tiff(&p, &opts(None)),
        read_picture(&p, &opts(None)),
    ] {
        match res {
            Err(e @ Error::Io { .. }) => assert!(e.to_string().contains("no_such_file.tif"), "{e}"),
            r => panic!("{:?}", r.map(|_| ())),
        }
    }
}

#[test]
fn text_file_is_format_error() {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in [
        ("notes.tif", "just some text\n"),
        ("notes.png", "just some text\n"),
        ("empty.tif", ""),
        ("ii.tif", "II this is not a TIFF"),
        ("mm.tif", "MM\0*\0\0\0\x08"),
    ] {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        match read_raster(&p, &opts(None)) {
            Err(e @ Error::Format { .. }) => assert!(e.to_string().contains(name), "{e}"),
            r => panic!("{name}: {:?}", r.map(|_| ())),
        }
    }
    let p = dir.path().join("notes.png");
    assert!(matches!(
        read_picture(&p, &opts(None)),
        Err(Error::Format { .. })
    ));
    assert!(matches!(
        read_tiff(&p, &opts(None)),
        Err(Error::Format { .. })
    ));
}

// ---------------------------------------------------------------------------------------------
// Real data (../shared/data, or $VESSELSCAN_SHARED_DATA)

fn sum(r: &Raster) -> u64 {
    r.keys.iter().map(|&k| k as u64).sum()
}

#[test]
fn real_sen2ships_b08() {
    let Some(data) = common::shared_data() else {
        return;
    };
    // (scene, width, height, sum of all pixels, (x, y, value) samples): from tifffile.
    for (scene, w, h, total, px) in [
        (
            "algiers",
            1351,
            1126,
            8_501_086_191u64,
            [(0, 0, 3519), (200, 100, 3722), (1350, 1125, 16305)],
        ),
        (
            "busan",
            1042,
            699,
            9_477_977_894,
            [(0, 0, 28724), (200, 100, 16725), (1041, 698, 4220)],
        ),
        (
            "cartagena",
            747,
            1226,
            11_108_810_204,
            [(0, 0, 10433), (200, 100, 8402), (746, 1225, 18913)],
        ),
    ] {
        let p = data.join(format!("sen2ships/{scene}/{scene}_B08.tif"));
        let r = read_raster(&p, &opts(None)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (r.width, r.height, r.kind),
            (w, h, SampleKind::U16),
            "{scene}"
        );
        assert_eq!((r.band, r.bands, r.nodata), (1, 1, None));
        for (x, y, v) in px {
            assert_eq!(r.keys[y * w as usize + x], v, "{scene} ({x}, {y})");
        }
        assert_eq!(sum(&r), total, "{scene}");
    }
}

#[test]
fn real_hrsid_png() {
    let Some(data) = common::shared_data() else {
        return;
    };
    let p = data.join("hrsid/images/P0094_0_800_3000_3800.png");
    // RGB with equal channels: luminance and every band are the grey values (sum from GDAL).
    for band in [None, Some(1), Some(3)] {
        let r = read_raster(&p, &opts(band)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (r.width, r.height, r.kind, r.bands),
            (800, 800, SampleKind::U8, 3)
        );
        assert_eq!(sum(&r), 31_104_810, "{band:?}");
    }
}

#[test]
fn real_ssdd_jpeg() {
    let Some(data) = common::shared_data() else {
        return;
    };
    let p = data.join("ssdd/JPEGImages/000002.jpg");
    let r = read_raster(&p, &opts(None)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((r.width, r.height, r.kind), (501, 355, SampleKind::U8));
    // libjpeg (GDAL) gives a sum of 8002475 per channel; JPEG decoders may differ by rounding.
    let s = sum(&r) as f64;
    assert!((s / 8_002_475.0 - 1.0).abs() < 0.002, "sum {s}");
}

/// The full-size Sentinel-1 GRD measurement: 0.43 Gpx u16, ZSTD, one-row strips, every pixel 1.
/// Needs 1.7 GB for the keys; reads in about 1.4 s (release build, 2 cores).
#[test]
fn real_s1_grd_full_scene() {
    let Some(data) = common::shared_data() else {
        return;
    };
    let dir = data.join(
        "s1_grd_safe/S1B_IW_GRDH_1SDV_20210401T052623_20210401T052648_026269_032297_ECC8.SAFE/measurement",
    );
    let p = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "tiff"))
        .unwrap();
    let t = std::time::Instant::now();
    let r = read_raster(&p, &opts(None)).unwrap_or_else(|e| panic!("{e}"));
    println!("{}x{} read in {:?}", r.width, r.height, t.elapsed());
    assert_eq!((r.width, r.height, r.kind), (25788, 16685, SampleKind::U16));
    assert!(r.keys.iter().all(|&k| k == 1));
}
