//! Memory on hostile input, measured in process: this test binary's global allocator counts
//! the bytes held (and their peak) and the largest single request, and refuses any request
//! over 512 MiB, so that a reader sizing a buffer from a forged header shows up here (as a
//! large request, or a failed read) without taking the machine's memory. Tests run one at a
//! time (a lock), each measuring from its own start.

mod common;
use common::data;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Mutex;
use vesselscan::read::{open_source, read_raster, ReadOptions};

struct Counting;

static HELD: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static LARGEST: AtomicUsize = AtomicUsize::new(0);
const REFUSE_OVER: usize = 512 << 20;

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LARGEST.fetch_max(l.size(), Relaxed);
        if l.size() > REFUSE_OVER {
            return std::ptr::null_mut();
        }
        let p = System.alloc(l);
        if !p.is_null() {
            let now = HELD.fetch_add(l.size(), Relaxed) + l.size();
            PEAK.fetch_max(now, Relaxed);
        }
        p
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        LARGEST.fetch_max(l.size(), Relaxed);
        if l.size() > REFUSE_OVER {
            return std::ptr::null_mut();
        }
        let p = System.alloc_zeroed(l);
        if !p.is_null() {
            let now = HELD.fetch_add(l.size(), Relaxed) + l.size();
            PEAK.fetch_max(now, Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        HELD.fetch_sub(l.size(), Relaxed);
        System.dealloc(p, l)
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        LARGEST.fetch_max(new, Relaxed);
        if new > REFUSE_OVER {
            return std::ptr::null_mut();
        }
        let q = System.realloc(p, l, new);
        if !q.is_null() {
            HELD.fetch_sub(l.size(), Relaxed);
            let now = HELD.fetch_add(new, Relaxed) + new;
            PEAK.fetch_max(now, Relaxed);
        }
        q
    }
}

#[global_allocator]
static A: Counting = Counting;

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Run `f`, and return what it gave with the peak of bytes held above those held at its
/// start, and the largest single request it made.
fn measure<T>(f: impl FnOnce() -> T) -> (T, usize, usize) {
    let base = HELD.load(Relaxed);
    PEAK.store(base, Relaxed);
    LARGEST.store(0, Relaxed);
    let out = f();
    (
        out,
        PEAK.load(Relaxed).saturating_sub(base),
        LARGEST.load(Relaxed),
    )
}

const MIB: usize = 1 << 20;

/// A PNG chunk: length, type, data, CRC.
fn chunk(out: &mut Vec<u8>, ty: &[u8; 4], data: &[u8]) {
    out.extend((data.len() as u32).to_be_bytes());
    let mut crc = flate2::Crc::new();
    crc.update(ty);
    crc.update(data);
    out.extend(ty);
    out.extend(data);
    out.extend(crc.sum().to_be_bytes());
}

/// A PNG of `w` x `h` declared, colour type `ct`, `depth` bits, with `idat` as its data.
fn png(w: u32, h: u32, depth: u8, ct: u8, idat: &[u8]) -> Vec<u8> {
    let mut v = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend(w.to_be_bytes());
    ihdr.extend(h.to_be_bytes());
    ihdr.extend([depth, ct, 0, 0, 0]);
    chunk(&mut v, b"IHDR", &ihdr);
    chunk(&mut v, b"IDAT", idat);
    chunk(&mut v, b"IEND", &[]);
    v
}

fn zlib(raw: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(raw).unwrap();
    e.finish().unwrap()
}

/// A tiny PNG declaring 46000 x 46000 px (grey 8 and 16 bit, RGBA 16 bit): refused from its
/// header and its length, before anything the size of the image is allocated (it was ~7.9 GiB
/// of keys before decoding failed).
#[test]
fn png_forged_sizes_are_refused_before_allocating() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    for (depth, ct) in [(8u8, 0u8), (16, 0), (16, 6)] {
        let p = dir.path().join(format!("forged_{depth}_{ct}.png"));
        let bytes = png(46000, 46000, depth, ct, &zlib(&[0; 16]));
        assert!(bytes.len() < 100, "{}", bytes.len());
        std::fs::write(&p, bytes).unwrap();
        let (r, peak, largest) = measure(|| read_raster(&p, &ReadOptions::default()));
        let e = r.expect_err("forged PNG").to_string();
        assert!(e.contains("forged_") && e.contains("46000x46000"), "{e}");
        assert!(e.contains("can hold"), "{e}");
        assert!(
            largest < MIB && peak < 4 * MIB,
            "{depth} bit: {largest} {peak}"
        );
        let (r, _, largest) = measure(|| open_source(&p, &ReadOptions::default()).map(|_| ()));
        assert!(r.is_err() && largest < MIB, "{largest}");
    }
}

/// A 3.9 KB cut of a JPEG whose header was made to declare 46000 x 46000 px: refused (it was
/// accepted as a 2.1 Gpx grey scene, 10 GB at the peak).
#[test]
fn jpeg_forged_size_is_refused() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut j = std::fs::read(data("ssdd_001114.jpg")).unwrap();
    // SOF0 at 158: FF C0, length, precision, height, width.
    assert_eq!(&j[158..160], &[0xFF, 0xC0]);
    j[163..165].copy_from_slice(&46000u16.to_be_bytes());
    j[165..167].copy_from_slice(&46000u16.to_be_bytes());
    j.truncate(3900);
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("forged.jpg");
    std::fs::write(&p, &j).unwrap();
    let (r, peak, largest) = measure(|| read_raster(&p, &ReadOptions::default()));
    let e = r.expect_err("forged JPEG").to_string();
    assert!(e.contains("forged.jpg") && e.contains("46000x46000"), "{e}");
    assert!(largest < MIB && peak < 4 * MIB, "{largest} {peak}");
    // With an end marker appended, the size is still more than 3.9 KB can describe.
    j.extend([0xFF, 0xD9]);
    std::fs::write(&p, &j).unwrap();
    let (r, _, largest) = measure(|| read_raster(&p, &ReadOptions::default()));
    let e = r.expect_err("forged JPEG").to_string();
    assert!(e.contains("can describe"), "{e}");
    assert!(largest < MIB, "{largest}");
}

/// A little-endian 64 x 64 u8 TIFF of 8 Deflate strips of 8 rows, each strip's byte count
/// forged to 1 GiB (its offset real): values `(x + 3y) % 256`.
fn tiff_forged_counts() -> Vec<u8> {
    let (w, h, rps) = (64u32, 64u32, 8u32);
    let strips: Vec<Vec<u8>> = (0..h / rps)
        .map(|s| {
            let raw: Vec<u8> = (s * rps..(s + 1) * rps)
                .flat_map(|y| (0..w).map(move |x| ((x + 3 * y) % 256) as u8))
                .collect();
            zlib(&raw)
        })
        .collect();
    let n = strips.len() as u32;
    let entries: Vec<(u16, u16, u32, u32)> = vec![
        (256, 4, 1, w),
        (257, 4, 1, h),
        (258, 3, 1, 8),
        (259, 3, 1, 8),
        (262, 3, 1, 1),
        (273, 4, n, 0), // offsets: patched below
        (277, 3, 1, 1),
        (278, 4, 1, rps),
        (279, 4, n, 0), // counts: patched below
    ];
    let ifd = 8u32;
    let ifd_len = 2 + 12 * entries.len() as u32 + 4;
    let offsets_at = ifd + ifd_len;
    let counts_at = offsets_at + 4 * n;
    let mut data_at = counts_at + 4 * n;
    let mut offsets = Vec::new();
    for s in &strips {
        offsets.push(data_at);
        data_at += s.len() as u32;
    }
    let mut v = b"II*\0".to_vec();
    v.extend(ifd.to_le_bytes());
    v.extend((entries.len() as u16).to_le_bytes());
    for (tag, ty, count, value) in entries {
        v.extend(tag.to_le_bytes());
        v.extend(ty.to_le_bytes());
        v.extend(count.to_le_bytes());
        let value = match tag {
            273 => offsets_at,
            279 => counts_at,
            _ => value,
        };
        if ty == 3 {
            v.extend((value as u16).to_le_bytes());
            v.extend([0, 0]);
        } else {
            v.extend(value.to_le_bytes());
        }
    }
    v.extend(0u32.to_le_bytes());
    for o in &offsets {
        v.extend(o.to_le_bytes());
    }
    for _ in &strips {
        v.extend((1u32 << 30).to_le_bytes());
    }
    for s in &strips {
        v.extend(s);
    }
    v
}

/// Strips that each claim 1 GiB in a file of a few KB: no buffer is sized from the claim (the
/// direct decode sized its compressed-bytes buffer from it, in each parallel reader: 2.1 GB),
/// and the image still reads, by both decodes.
#[test]
fn tiff_forged_byte_counts_are_bounded_by_the_file() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("forged_counts.tif");
    let bytes = tiff_forged_counts();
    assert!(bytes.len() < 4096);
    std::fs::write(&p, bytes).unwrap();
    for direct_decode in [true, false] {
        let o = ReadOptions {
            direct_decode,
            ..Default::default()
        };
        let (r, peak, largest) = measure(|| read_raster(&p, &o));
        let r = r.unwrap_or_else(|e| panic!("direct {direct_decode}: {e}"));
        for (i, &k) in r.keys.iter().enumerate() {
            let (x, y) = (i % 64, i / 64);
            assert_eq!(k, ((x + 3 * y) % 256) as u32);
        }
        assert!(
            largest < 4 * MIB && peak < 16 * MIB,
            "direct {direct_decode}: largest request {largest}, peak {peak}"
        );
    }
}

/// A valid 4096 x 4096 PNG (16 Mpx, a few KB) read in windows of 64 rows holds about a
/// window, not the scene: it was decoded whole (64 MiB of keys and 16 MiB of pixels).
#[test]
fn png_is_decoded_row_by_row() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let (w, h) = (4096u32, 4096u32);
    let mut raw = Vec::with_capacity(((w + 1) * h) as usize);
    for y in 0..h {
        raw.push(0); // filter: none
        raw.extend((0..w).map(|x| if (x + y) % 997 == 0 { 200 } else { 10 }));
    }
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("big.png");
    std::fs::write(&p, png(w, h, 8, 0, &zlib(&raw))).unwrap();
    drop(raw);
    let rows = 64u32;
    let mut buf = vec![0u32; (w * rows) as usize];
    let ((), peak, _) = measure(|| {
        let mut src = open_source(&p, &ReadOptions::default()).unwrap();
        for y0 in (0..h).step_by(rows as usize) {
            src.read_rows_into(y0, y0 + rows, &mut buf).unwrap();
            for (i, &k) in buf.iter().enumerate().step_by(613) {
                let (x, y) = (i as u32 % w, y0 + i as u32 / w);
                assert_eq!(k, if (x + y) % 997 == 0 { 200 } else { 10 }, "({x}, {y})");
            }
        }
        // Back to the top: decoded again from the start.
        src.read_rows_into(0, rows, &mut buf).unwrap();
        assert_eq!(buf[0], 200);
    });
    assert!(peak < 4 * MIB, "peak {peak}");
}

/// A 16384 x 16384 u8 TIFF of one Deflate tile whose stored bytes are 20: refused before a
/// chunk buffer is sized from the tile (256 MiB in each parallel reader, whatever the file
/// held).
#[test]
fn tiff_forged_tile_size_is_bounded_by_the_file() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let side = 16384u32;
    let tile = zlib(&[0u8; 64]);
    let entries: Vec<(u16, u16, u32)> = vec![
        (256, 4, side),
        (257, 4, side),
        (258, 3, 8),
        (259, 3, 8),
        (262, 3, 1),
        (277, 3, 1),
        (322, 4, side),
        (323, 4, side),
        (324, 4, 0), // offset: patched below
        (325, 4, tile.len() as u32),
    ];
    let data_at = 8 + 2 + 12 * entries.len() as u32 + 4;
    let mut v = b"II*\0".to_vec();
    v.extend(8u32.to_le_bytes());
    v.extend((entries.len() as u16).to_le_bytes());
    for (tag, ty, value) in entries {
        v.extend(tag.to_le_bytes());
        v.extend(ty.to_le_bytes());
        v.extend(1u32.to_le_bytes());
        let value = if tag == 324 { data_at } else { value };
        if ty == 3 {
            v.extend((value as u16).to_le_bytes());
            v.extend([0, 0]);
        } else {
            v.extend(value.to_le_bytes());
        }
    }
    v.extend(0u32.to_le_bytes());
    v.extend(&tile);
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("forged_tile.tif");
    std::fs::write(&p, &v).unwrap();
    for direct_decode in [true, false] {
        let o = ReadOptions {
            direct_decode,
            max_pixels: u64::MAX,
            ..Default::default()
        };
        let (r, peak, largest) = measure(|| {
            let mut src = open_source(&p, &o)?;
            let mut rows = vec![0u32; side as usize * 4];
            src.read_rows_into(0, 4, &mut rows)
        });
        let e = r.expect_err("a forged tile").to_string();
        assert!(
            e.contains("forged_tile.tif") && e.contains("too few"),
            "{e}"
        );
        assert!(
            largest < 4 * MIB && peak < 8 * MIB,
            "direct {direct_decode}: largest request {largest}, peak {peak}"
        );
    }
}
