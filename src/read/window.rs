//! Windows: how every stage sees a scene. A scene is handed over as full-width bands of rows
//! ("windows"), each with the **halo** of neighbouring rows the stage asks for (a CFAR
//! background ring, a morphology radius), so a neighbourhood operation computed on the core
//! rows of each window gives the same result as on the whole scene, for any window height.
//!
//! [`for_each_window`] reads ahead: a producer thread decodes window `k + 1` (itself in parallel,
//! see [`crate::read::tiff::TiffBand`]) while the stage works on window `k`, so two windows are
//! in flight. Rows shared by consecutive windows (the halos) are carried over, not decoded
//! again. Scenes already in memory ([`RasterSource::in_memory`]) are lent as slices, no copy.

use super::Raster;
use crate::error::{Error, Result};
use std::sync::mpsc;

/// A scene that can be read window by window.
pub trait RasterSource: Send {
    /// Size, sample type, band and nodata of the scene (its `keys` are empty).
    fn info(&self) -> Raster;
    /// Write the keys of rows `y0..y1` (full width, row-major; `y0 < y1 <= height`) into `out`,
    /// which holds exactly `(y1 - y0) * width` keys.
    fn read_rows_into(&mut self, y0: u32, y1: u32, out: &mut [u32]) -> Result<()>;
    /// [`Self::read_rows_into`] for columns `x0..x1` of those rows at least (`out` still holds
    /// full-width rows): a source that decodes in tiles decodes only the tiles holding them,
    /// and may leave the other columns as they were. By default, the whole rows.
    fn read_cols_into(
        &mut self,
        y0: u32,
        y1: u32,
        _x0: u32,
        _x1: u32,
        out: &mut [u32],
    ) -> Result<()> {
        self.read_rows_into(y0, y1, out)
    }
    /// Columns the source decodes together (a TIFF's tile width; its width for strips).
    fn col_granule(&self) -> u32 {
        self.info().width.max(1)
    }
    /// The whole scene's keys when they are already in memory: windows are then slices of it.
    fn in_memory(&self) -> Option<&[u32]> {
        None
    }
    /// Rows the source decodes together (a TIFF's rows per strip or tile): windows that start
    /// and end on multiples of it decode each chunk once.
    fn row_granule(&self) -> u32 {
        1
    }
    /// The scene's georeferencing, as found in its file.
    fn georef(&self) -> crate::geo::GeoStatus {
        crate::geo::GeoStatus::None
    }
    /// When the scene was taken, as found in its file (a date string, and where it came from).
    fn acquisition_time(&self) -> Option<(String, String)> {
        None
    }
    /// What the file says the image is (a TIFF's ImageDescription tag).
    fn description(&self) -> Option<String> {
        None
    }
    /// The SAR viewing geometry, when the product gives it (a Sentinel-1 SAFE annotation).
    fn sar_geometry(&self) -> Option<crate::ais::matching::SarGeometry> {
        None
    }
}

/// An in-memory raster as a source.
pub struct InMemory<'a>(pub &'a Raster);

impl RasterSource for InMemory<'_> {
    fn info(&self) -> Raster {
        self.0.clone_header()
    }
    fn read_rows_into(&mut self, y0: u32, y1: u32, out: &mut [u32]) -> Result<()> {
        let w = self.0.width as usize;
        out.copy_from_slice(&self.0.keys[y0 as usize * w..y1 as usize * w]);
        Ok(())
    }
    fn in_memory(&self) -> Option<&[u32]> {
        Some(&self.0.keys)
    }
}

/// An owned in-memory raster as a source.
pub struct Owned(pub Raster);

impl RasterSource for Owned {
    fn info(&self) -> Raster {
        self.0.clone_header()
    }
    fn read_rows_into(&mut self, y0: u32, y1: u32, out: &mut [u32]) -> Result<()> {
        InMemory(&self.0).read_rows_into(y0, y1, out)
    }
    fn in_memory(&self) -> Option<&[u32]> {
        Some(&self.0.keys)
    }
}

/// Rows of a scene handed to a stage: the core rows `y0..y1` and up to `halo` rows above and
/// below them (fewer at the scene's top and bottom edges).
#[derive(Debug, Clone, Copy)]
pub struct Window<'a> {
    pub width: u32,
    /// First and one-past-last core row (scene rows).
    pub y0: u32,
    pub y1: u32,
    /// Scene row of the first row of `keys` (`y0 - halo`, clipped at 0).
    pub top: u32,
    /// Rows `top..bottom()`, row-major.
    pub keys: &'a [u32],
}

impl<'a> Window<'a> {
    /// One past the last row of `keys` (scene row).
    pub fn bottom(&self) -> u32 {
        self.top + (self.keys.len() / self.width.max(1) as usize) as u32
    }
    /// The core rows.
    pub fn core(&self) -> &'a [u32] {
        self.rows(self.y0, self.y1)
    }
    /// Scene rows `a..b`, which must lie within `top..bottom()`.
    pub fn rows(&self, a: u32, b: u32) -> &'a [u32] {
        let w = self.width as usize;
        &self.keys[(a - self.top) as usize * w..(b - self.top) as usize * w]
    }
}

/// Core rows of each window: `rows` at a time (at least one), the last one shorter.
pub fn window_ranges(height: u32, rows: u32) -> Vec<(u32, u32)> {
    let rows = rows.max(1);
    (0..height)
        .step_by(rows as usize)
        .map(|y0| (y0, y0.saturating_add(rows).min(height)))
        .collect()
}

fn alloc(n: usize) -> Result<Vec<u32>> {
    let mut v = Vec::new();
    v.try_reserve_exact(n).map_err(|_| {
        Error::Invalid(format!(
            "not enough memory for a window of {n} samples (lower --memory-mb)"
        ))
    })?;
    Ok(v)
}

/// `n` zero keys, or a clear error instead of an abort when memory is short.
pub fn alloc_zeroed(n: usize) -> Result<Vec<u32>> {
    let mut v = alloc(n)?;
    v.resize(n, 0);
    Ok(v)
}

/// Call `f` on every window of `src` in order: core rows `rows` at a time, each with `halo`
/// rows of context above and below. While `f` runs on one window the next is read on another
/// thread. The first error (of reading or of `f`) stops the walk and is returned.
pub fn for_each_window(
    src: &mut dyn RasterSource,
    rows: u32,
    halo: u32,
    f: &mut dyn FnMut(&Window) -> Result<()>,
) -> Result<()> {
    let info = src.info();
    let (width, height) = (info.width, info.height);
    let w = width as usize;
    let ranges = window_ranges(height, rows);
    let span =
        move |(y0, y1): (u32, u32)| (y0.saturating_sub(halo), y1.saturating_add(halo).min(height));
    fn window(width: u32, (y0, y1): (u32, u32), top: u32, keys: &[u32]) -> Window<'_> {
        Window {
            width,
            y0,
            y1,
            top,
            keys,
        }
    }
    if src.in_memory().is_some() {
        let all = src.in_memory().expect("in memory");
        for &r in &ranges {
            let (top, bot) = span(r);
            f(&window(
                width,
                r,
                top,
                &all[top as usize * w..bot as usize * w],
            ))?;
        }
        return Ok(());
    }
    if ranges.len() == 1 {
        // Nothing to read ahead.
        let (top, bot) = span(ranges[0]);
        let mut buf = alloc_zeroed((bot - top) as usize * w)?;
        src.read_rows_into(top, bot, &mut buf)?;
        return f(&window(width, ranges[0], top, &buf));
    }
    // Reads end on a boundary of the source's chunks (a TIFF's strips or rows of tiles) when
    // the chunk is at most half a window: the rows past the window's halo are carried to
    // the next window, so a chunk row that straddles two windows is decoded once, not twice.
    let granule = src.row_granule().max(1);
    let aligned = granule > 1 && granule.saturating_mul(2) <= rows;
    let read_end = move |bot: u32| {
        if aligned && bot < height {
            bot.div_ceil(granule).saturating_mul(granule).min(height)
        } else {
            bot
        }
    };
    let ranges = &ranges;
    std::thread::scope(|s| {
        // Rendezvous channel: the producer hands a window over only when the stage takes it,
        // so at most two windows exist (one being read, one being worked on), plus the rows
        // carried from one window to the next.
        let (tx, rx) = mpsc::sync_channel::<Result<Vec<u32>>>(0);
        let (back_tx, back_rx) = mpsc::channel::<Vec<u32>>();
        let producer = s.spawn(move || {
            // Rows `carry_top..` already read, needed by the next window.
            let mut carry: Vec<u32> = Vec::new();
            let mut carry_top = 0u32;
            for (i, &r) in ranges.iter().enumerate() {
                let (top, bot) = span(r);
                let end = read_end(bot);
                let mut read = || -> Result<Vec<u32>> {
                    let n = (end - top) as usize * w;
                    let mut buf = back_rx.try_recv().unwrap_or_default();
                    buf.clear();
                    if buf.capacity() < n {
                        buf = alloc(n)?;
                    }
                    let carry_bot = carry_top + (carry.len() / w.max(1)) as u32;
                    let from = if !carry.is_empty() && top >= carry_top && top < carry_bot {
                        let upto = carry_bot.min(end);
                        buf.extend_from_slice(
                            &carry[(top - carry_top) as usize * w..(upto - carry_top) as usize * w],
                        );
                        upto
                    } else {
                        top
                    };
                    let start = buf.len();
                    buf.resize(n, 0);
                    if from < end {
                        src.read_rows_into(from, end, &mut buf[start..])?;
                    }
                    carry.clear();
                    if let Some(&next) = ranges.get(i + 1) {
                        let next_top = span(next).0.max(top);
                        if next_top < end {
                            carry.extend_from_slice(&buf[(next_top - top) as usize * w..]);
                            carry_top = next_top;
                        }
                    }
                    Ok(buf)
                };
                let res = read();
                let failed = res.is_err();
                if tx.send(res).is_err() || failed {
                    return;
                }
            }
        });
        let mut out = Ok(());
        for &r in ranges {
            match rx.recv() {
                Ok(Ok(buf)) => {
                    let (top, bot) = span(r);
                    let res = f(&window(width, r, top, &buf[..(bot - top) as usize * w]));
                    let _ = back_tx.send(buf);
                    if let Err(e) = res {
                        out = Err(e);
                        break;
                    }
                }
                Ok(Err(e)) => {
                    out = Err(e);
                    break;
                }
                // The producer stopped without a word: it panicked; join re-raises it.
                Err(_) => break,
            }
        }
        drop(rx);
        if let Err(p) = producer.join() {
            std::panic::resume_unwind(p);
        }
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::SampleKind;

    /// A source that counts the rows it decodes.
    struct Counting(Raster, u64);
    impl RasterSource for Counting {
        fn info(&self) -> Raster {
            self.0.clone_header()
        }
        fn read_rows_into(&mut self, y0: u32, y1: u32, out: &mut [u32]) -> Result<()> {
            self.1 += u64::from(y1 - y0);
            InMemory(&self.0).read_rows_into(y0, y1, out)
        }
    }

    fn raster(w: u32, h: u32) -> Raster {
        Raster {
            width: w,
            height: h,
            kind: SampleKind::U32,
            keys: (0..w * h).collect(),
            band: 1,
            bands: 1,
            nodata: None,
        }
    }

    #[test]
    fn windows_cover_the_scene_with_their_halos_and_read_each_row_once() {
        let (w, h) = (5u32, 23u32);
        let r = raster(w, h);
        for rows in [1u32, 2, 4, 7, 23, 40] {
            for halo in [0u32, 1, 3, 10, 30] {
                let mut src = Counting(r.clone(), 0);
                let mut seen = Vec::new();
                for_each_window(&mut src, rows, halo, &mut |win| {
                    assert_eq!(win.top, win.y0.saturating_sub(halo));
                    assert_eq!(win.bottom(), (win.y1 + halo).min(h));
                    let want: Vec<u32> = (win.top * w..win.bottom() * w).collect();
                    assert_eq!(win.keys, &want[..], "rows {rows} halo {halo}");
                    seen.extend_from_slice(win.core());
                    Ok(())
                })
                .unwrap();
                assert_eq!(seen, r.keys, "rows {rows} halo {halo}");
                if rows < h {
                    assert_eq!(src.1, u64::from(h), "rows {rows} halo {halo}: rows decoded");
                }
                // In memory: the same windows, lent.
                let mut again = Vec::new();
                for_each_window(&mut InMemory(&r), rows, halo, &mut |win| {
                    again.extend_from_slice(win.core());
                    Ok(())
                })
                .unwrap();
                assert_eq!(again, r.keys);
            }
        }
    }

    /// A source decoding chunks of `granule` rows, counting the chunks it decodes.
    struct Chunked(Raster, u32, u64);
    impl RasterSource for Chunked {
        fn info(&self) -> Raster {
            self.0.clone_header()
        }
        fn read_rows_into(&mut self, y0: u32, y1: u32, out: &mut [u32]) -> Result<()> {
            self.2 += u64::from((y1 - 1) / self.1 - y0 / self.1 + 1);
            InMemory(&self.0).read_rows_into(y0, y1, out)
        }
        fn row_granule(&self) -> u32 {
            self.1
        }
    }

    #[test]
    fn chunks_straddling_two_windows_are_decoded_once() {
        let (w, h) = (3u32, 101u32);
        let r = raster(w, h);
        for granule in [2u32, 4, 5, 8] {
            for rows in [granule * 2, granule * 4 + 3, 40, 101] {
                for halo in [0u32, 1, 3, 7, 20] {
                    let mut src = Chunked(r.clone(), granule, 0);
                    let mut seen = Vec::new();
                    for_each_window(&mut src, rows, halo, &mut |win| {
                        assert_eq!(win.top, win.y0.saturating_sub(halo));
                        assert_eq!(win.bottom(), (win.y1 + halo).min(h));
                        let want: Vec<u32> = (win.top * w..win.bottom() * w).collect();
                        assert_eq!(win.keys, &want[..]);
                        seen.extend_from_slice(win.core());
                        Ok(())
                    })
                    .unwrap();
                    assert_eq!(seen, r.keys);
                    assert_eq!(
                        src.2,
                        u64::from(h.div_ceil(granule)),
                        "granule {granule} rows {rows} halo {halo}: chunks decoded"
                    );
                }
            }
        }
    }

    #[test]
    fn an_error_stops_the_walk() {
        let r = raster(3, 10);
        let mut calls = 0;
        let e = for_each_window(&mut Counting(r, 0), 2, 1, &mut |win| {
            calls += 1;
            if win.y0 >= 4 {
                return Err(Error::Invalid("stop".into()));
            }
            Ok(())
        })
        .unwrap_err();
        assert_eq!(e.to_string(), "stop");
        assert_eq!(calls, 3);
    }
}
