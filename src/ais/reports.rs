//! Reading AIS (ship transponder) position reports from CSV, plain or gzip-compressed (told by
//! the magic bytes, not the name), streamed.
//!
//! Layouts: columns are found by header name, case-insensitive, any order, extra columns
//! ignored, through aliases ([`Field::aliases`]) that cover MarineCadastre
//! (`MMSI,BaseDateTime,LAT,LON,SOG,COG,Heading,VesselName,...,Length,Width,...`) and Global
//! Fishing Watch / BigQuery exports (`ssvid,timestamp,lat,lon,speed_knots,course`, optional
//! `heading`, `length_m`, `shipname`); any other header is mapped with [`ColumnNames`]
//! (`--ais-columns mmsi=...,time=...`). Times: see [`parse_utc`]. AIS "not available"
//! sentinels (SOG 102.3, COG 360, Length 0, ...) become `None`.
//!
//! The CSV is read with the `csv` crate (RFC 4180: quoted commas, doubled quotes, line breaks
//! inside quotes; line numbers are where a row starts). Memory does not follow the file: a
//! row longer than [`MAX_ROW_BYTES`] is an error (a quote left open would otherwise swallow
//! the file), and [`AisFile::read`] keeps only the reports inside a [`Window`] plus a few
//! bytes per distinct vessel.

use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use flate2::read::MultiGzDecoder;

use crate::error::{Error, Result};

/// One AIS position report (one data row of the CSV).
#[derive(Debug, Clone, PartialEq)]
pub struct AisReport {
    /// Maritime Mobile Service Identity of the vessel.
    pub mmsi: u64,
    /// Report time, seconds since 1970-01-01 UTC.
    pub t: f64,
    /// Latitude, degrees, in [-90, 90].
    pub lat: f64,
    /// Longitude, degrees, in [-180, 180].
    pub lon: f64,
    /// Speed over ground, knots (`None`: column absent, empty, or "not available" >= 102.3).
    pub sog_kn: Option<f64>,
    /// Course over ground, degrees clockwise from north in [0, 360) (`None`: not available).
    pub cog_deg: Option<f64>,
    /// Vessel length, metres (`None`: absent or 0 or less).
    pub length_m: Option<f64>,
    /// Vessel width (beam), metres (`None`: absent or 0 or less).
    pub width_m: Option<f64>,
    /// Vessel name, trimmed (`None`: absent or empty).
    pub name: Option<String>,
    /// 1-based line number where the row starts in the file (the header is line 1 unless blank
    /// lines precede it; a quoted line break inside a row moves the rows after it down).
    pub line: usize,
}

/// What to do with a data row that cannot be used (bad MMSI, time or position, too few fields).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum BadRows {
    /// Skip the row and count it.
    #[default]
    Skip,
    /// Stop with an error naming the line.
    Error,
}

/// The longest row read, bytes: a longer one is an error (so that a quote left open, or a file
/// that claims one endless field, cannot make the reader hold the whole file).
pub const MAX_ROW_BYTES: u64 = 1 << 20;

/// A column the reader uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Mmsi,
    Time,
    Lat,
    Lon,
    Sog,
    Cog,
    Name,
    Length,
    Width,
}

impl Field {
    pub const ALL: [Field; 9] = [
        Field::Mmsi,
        Field::Time,
        Field::Lat,
        Field::Lon,
        Field::Sog,
        Field::Cog,
        Field::Name,
        Field::Length,
        Field::Width,
    ];

    /// Its key in `--ais-columns`.
    pub fn key(self) -> &'static str {
        match self {
            Field::Mmsi => "mmsi",
            Field::Time => "time",
            Field::Lat => "lat",
            Field::Lon => "lon",
            Field::Sog => "sog",
            Field::Cog => "cog",
            Field::Name => "name",
            Field::Length => "length",
            Field::Width => "width",
        }
    }

    /// Header names that find it (case-insensitive), in order of preference.
    pub fn aliases(self) -> &'static [&'static str] {
        match self {
            Field::Mmsi => &["mmsi", "ssvid"],
            Field::Time => &[
                "basedatetime",
                "base_date_time",
                "timestamp",
                "time",
                "datetime",
                "date_time",
            ],
            Field::Lat => &["lat", "latitude"],
            Field::Lon => &["lon", "longitude", "lng", "long"],
            Field::Sog => &["sog", "speed_knots", "speed"],
            Field::Cog => &["cog", "course"],
            Field::Name => &["vesselname", "vessel_name", "shipname", "ship_name", "name"],
            Field::Length => &["length", "length_m"],
            Field::Width => &["width", "width_m", "beam"],
        }
    }

    /// Whether a row is unusable without it.
    pub fn required(self) -> bool {
        matches!(self, Field::Mmsi | Field::Time | Field::Lat | Field::Lon)
    }
}

/// Header names for some [`Field`]s, given with `--ais-columns mmsi=ID,time=WHEN,...`; the
/// others are found through their aliases.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ColumnNames(pub Vec<(Field, String)>);

impl ColumnNames {
    /// Parses `key=NAME,key=NAME,...` (keys: mmsi, time, lat, lon, sog, cog, name, length,
    /// width). `Err` says what is wrong, in one line.
    pub fn parse(s: &str) -> std::result::Result<ColumnNames, String> {
        let known = || {
            Field::ALL
                .iter()
                .map(|f| f.key())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut out: Vec<(Field, String)> = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let Some((key, name)) = part.split_once('=') else {
                return Err(format!("'{part}' is not key=COLUMN (keys: {})", known()));
            };
            let key = key.trim();
            let Some(field) = Field::ALL
                .into_iter()
                .find(|f| f.key().eq_ignore_ascii_case(key))
            else {
                return Err(format!("unknown key '{key}' (keys: {})", known()));
            };
            let name = name.trim();
            if name.is_empty() {
                return Err(format!("{key}= names no column"));
            }
            if out.iter().any(|(f, _)| *f == field) {
                return Err(format!("{key} given twice"));
            }
            out.push((field, name.to_owned()));
        }
        if out.is_empty() {
            return Err(format!("no key=COLUMN pairs (keys: {})", known()));
        }
        Ok(ColumnNames(out))
    }
}

/// Where the columns we use are in the file.
#[derive(Debug, Clone)]
struct Columns {
    /// Column index of each [`Field`] (in [`Field::ALL`] order).
    index: [Option<usize>; 9],
    /// The header's own name of each found column, for messages.
    names: [String; 9],
    /// Fields a row needs at least (one past the last required column).
    needed: usize,
    /// Fields in the header.
    header_fields: usize,
}

impl Columns {
    fn from_header(header: &[String], given: &ColumnNames) -> std::result::Result<Self, String> {
        let find = |want: &str| {
            header
                .iter()
                .position(|n| n.trim().eq_ignore_ascii_case(want.trim()))
        };
        let mut index = [None; 9];
        let mut names: [String; 9] = Default::default();
        for (k, field) in Field::ALL.into_iter().enumerate() {
            let found = match given.0.iter().find(|(f, _)| *f == field) {
                Some((_, name)) => Some(find(name).ok_or_else(|| {
                    format!(
                        "--ais-columns {}={name}: the header has no column '{name}' (it has: {})",
                        field.key(),
                        show(&header.join(","))
                    )
                })?),
                None => field.aliases().iter().find_map(|a| find(a)),
            };
            if found.is_none() && field.required() {
                return Err(format!(
                    "AIS header has no {} column (looked for {}; name it with --ais-columns {}=COLUMN)",
                    field.key().to_ascii_uppercase(),
                    field.aliases().join(", "),
                    field.key()
                ));
            }
            if let Some(i) = found {
                names[k] = header[i].trim().to_owned();
            }
            index[k] = found;
        }
        let needed = Field::ALL
            .iter()
            .zip(&index)
            .filter(|(f, _)| f.required())
            .filter_map(|(_, i)| *i)
            .max()
            .map_or(0, |i| i + 1);
        Ok(Columns {
            index,
            names,
            needed,
            header_fields: header.len(),
        })
    }

    fn at(&self, f: Field) -> Option<usize> {
        self.index[f as usize]
    }

    fn name(&self, f: Field) -> &str {
        &self.names[f as usize]
    }
}

/// A lon/lat box: the reports a scene can use lie inside it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Area {
    pub lat_min: f64,
    pub lat_max: f64,
    /// Longitudes from `lon_center + lon_lo` to `lon_center + lon_hi` (degrees, across the
    /// antimeridian when it comes to that); every longitude when `all_lons`.
    pub lon_center: f64,
    pub lon_lo: f64,
    pub lon_hi: f64,
    pub all_lons: bool,
}

impl Area {
    /// The smallest box holding the points `(lon, lat)` (longitudes taken around the first
    /// point's), grown by `margin_m` metres on every side. `None` without points.
    pub fn around(points: &[(f64, f64)], margin_m: f64) -> Option<Area> {
        let &(lon0, _) = points.iter().find(|p| p.0.is_finite() && p.1.is_finite())?;
        let (mut lat_min, mut lat_max) = (f64::INFINITY, f64::NEG_INFINITY);
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for &(lon, lat) in points.iter().filter(|p| p.0.is_finite() && p.1.is_finite()) {
            lat_min = lat_min.min(lat);
            lat_max = lat_max.max(lat);
            let d = wrap180(lon - lon0);
            lo = lo.min(d);
            hi = hi.max(d);
        }
        // Degrees of a great circle per metre on the sphere of the track module.
        let deg = (margin_m.max(0.0) / super::track::EARTH_RADIUS_M).to_degrees();
        let (lat_min, lat_max) = ((lat_min - deg).max(-90.0), (lat_max + deg).min(90.0));
        let polar = lat_min.abs().max(lat_max.abs());
        let all_lons = polar >= 89.0 || {
            let grow = deg / polar.to_radians().cos();
            lo -= grow;
            hi += grow;
            hi - lo >= 360.0
        };
        Some(Area {
            lat_min,
            lat_max,
            lon_center: lon0,
            lon_lo: lo,
            lon_hi: hi,
            all_lons,
        })
    }

    pub fn contains(&self, lon: f64, lat: f64) -> bool {
        if !(self.lat_min..=self.lat_max).contains(&lat) {
            return false;
        }
        if self.all_lons {
            return true;
        }
        let d = wrap180(lon - self.lon_center);
        // A box reaching past +-180 from its centre also holds the wrapped-around side.
        (self.lon_lo..=self.lon_hi).contains(&d)
            || (self.lon_lo..=self.lon_hi).contains(&(d + 360.0))
            || (self.lon_lo..=self.lon_hi).contains(&(d - 360.0))
    }
}

/// A longitude difference brought into [-180, 180).
fn wrap180(d: f64) -> f64 {
    (d + 180.0).rem_euclid(360.0) - 180.0
}

/// Which reports [`AisFile::read`] keeps.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Window {
    /// Acquisition time and gap limit, seconds: only reports with `|t_report - t| <= gap`
    /// (and vessels with one are counted as not stale).
    pub time: Option<(f64, f64)>,
    /// Only reports inside this box.
    pub area: Option<Area>,
}

/// The latest name and length a vessel reported anywhere in the file (at equal times, the
/// first in the file).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VesselInfo {
    pub name: Option<String>,
    pub length_m: Option<f64>,
}

/// What one pass over an AIS file gave: the reports inside the window, and counts of the
/// whole file.
#[derive(Debug, Clone, Default)]
pub struct AisReports {
    /// The file read.
    pub path: PathBuf,
    /// The usable reports inside the window, in file order.
    pub reports: Vec<AisReport>,
    /// Data rows read (not counting the header and blank lines), skipped ones included.
    pub rows: usize,
    /// Bad rows skipped (with [`BadRows::Skip`]).
    pub skipped: usize,
    /// `"line N: why"` of the first skipped row.
    pub first_skipped: Option<String>,
    /// Distinct MMSIs of the usable rows of the whole file.
    pub vessels: usize,
    /// Of those, the vessels with a report within the window's time (all without a time).
    pub in_time: usize,
    /// Latest name and length of each vessel of `reports`.
    pub info: HashMap<u64, VesselInfo>,
}

/// An AIS file whose header has been read: [`AisFile::read`] streams its rows, as often as
/// needed (once per scene).
#[derive(Debug, Clone)]
pub struct AisFile {
    /// The file.
    pub path: PathBuf,
    pub bad: BadRows,
    columns: Columns,
}

/// A reader that refuses to go more than [`MAX_ROW_BYTES`] past the start of the current row,
/// and notes where the line breaks it hands out are (for line numbers).
struct Bounded<R> {
    inner: R,
    /// Bytes handed out so far.
    done: u64,
    /// Bytes it may hand out in all (moved on after every row).
    until: Rc<Cell<u64>>,
    refused: Rc<Cell<bool>>,
    /// Where each line's text starts (the first byte after a run of `\r`/`\n`) with the
    /// line breaks before it, for those handed out and not yet passed by a row start (at most
    /// the read-ahead's worth).
    starts: Rc<RefCell<VecDeque<(u64, usize)>>>,
    /// Line breaks handed out so far.
    newlines: usize,
    /// Whether the last byte handed out was a `\r` or `\n` (true at the start).
    in_run: bool,
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let left = self.until.get().saturating_sub(self.done);
        if left == 0 && !buf.is_empty() {
            self.refused.set(true);
            return Err(std::io::Error::other(format!(
                "a row longer than {} MiB",
                MAX_ROW_BYTES >> 20
            )));
        }
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        let data = &buf[..n];
        let mut starts = self.starts.borrow_mut();
        let mut i = 0;
        while i < n {
            if self.in_run {
                while i < n && matches!(data[i], b'\n' | b'\r') {
                    self.newlines += usize::from(data[i] == b'\n');
                    i += 1;
                }
                if i < n {
                    starts.push_back((self.done + i as u64, self.newlines));
                    self.in_run = false;
                }
            } else {
                match memchr::memchr2(b'\n', b'\r', &data[i..]) {
                    Some(k) => {
                        i += k;
                        self.in_run = true;
                    }
                    None => i = n,
                }
            }
        }
        self.done += n as u64;
        Ok(n)
    }
}

/// Slack over [`MAX_ROW_BYTES`] for what the CSV reader buffers ahead.
const READ_AHEAD: u64 = 1 << 16;

/// An open CSV stream over a file (gunzipped when it starts with the gzip magic bytes).
struct Stream {
    csv: csv::Reader<Bounded<Box<dyn Read>>>,
    until: Rc<Cell<u64>>,
    refused: Rc<Cell<bool>>,
    starts: Rc<RefCell<VecDeque<(u64, usize)>>>,
    /// The line of the last row start seen.
    last_line: usize,
    record: csv::ByteRecord,
}

impl Stream {
    fn open(path: &Path) -> Result<Stream> {
        let io = |source| Error::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut raw = BufReader::with_capacity(1 << 16, File::open(path).map_err(io)?);
        let gzip = {
            let head = raw.fill_buf().map_err(io)?;
            head.len() >= 2 && head[0] == 0x1f && head[1] == 0x8b
        };
        let inner: Box<dyn Read> = if gzip {
            Box::new(MultiGzDecoder::new(raw))
        } else {
            Box::new(raw)
        };
        let until = Rc::new(Cell::new(MAX_ROW_BYTES + READ_AHEAD));
        let refused = Rc::new(Cell::new(false));
        let starts = Rc::new(RefCell::new(VecDeque::new()));
        let csv = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .buffer_capacity(1 << 16)
            .from_reader(Bounded {
                inner,
                done: 0,
                until: until.clone(),
                refused: refused.clone(),
                starts: starts.clone(),
                newlines: 0,
                in_run: true,
            });
        Ok(Stream {
            csv,
            until,
            refused,
            starts,
            last_line: 1,
            record: csv::ByteRecord::new(),
        })
    }

    /// The 1-based line of the first text at or after byte `at` (the CSV reader's offset of a
    /// row, which may lie before the line breaks that precede the row's text); `at` never
    /// goes back.
    fn line_at(&mut self, at: u64) -> usize {
        let mut starts = self.starts.borrow_mut();
        while starts.front().is_some_and(|&(o, _)| o < at) {
            starts.pop_front();
        }
        if let Some(&(_, breaks)) = starts.front() {
            self.last_line = breaks + 1;
        }
        self.last_line
    }

    /// The next row that is not blank, and the line it starts on; `None` at the end.
    fn next(&mut self, path: &Path) -> Result<Option<usize>> {
        loop {
            let start = self.csv.position().byte();
            let start_line = self.line_at(start);
            match self.csv.read_byte_record(&mut self.record) {
                Ok(false) => return Ok(None),
                Ok(true) => {}
                Err(e) => {
                    if self.refused.get() {
                        return Err(Error::Format {
                            path: path.to_path_buf(),
                            msg: format!(
                                "line {start_line}: a row longer than {} MiB (a quote left open?)",
                                MAX_ROW_BYTES >> 20
                            ),
                        });
                    }
                    let source = match e.into_kind() {
                        csv::ErrorKind::Io(e) => e,
                        other => std::io::Error::other(format!("{other:?}")),
                    };
                    return Err(Error::Io {
                        path: path.to_path_buf(),
                        source,
                    });
                }
            }
            let next_row = self.csv.position().byte();
            self.until.set(next_row + MAX_ROW_BYTES + READ_AHEAD);
            // csv's own line count misses blank lines and CRLF line breaks.
            let line = match self.record.position() {
                Some(p) => self.line_at(p.byte()),
                None => start_line,
            };
            let blank = self.record.iter().all(|f| f.trim_ascii().is_empty());
            if !blank {
                return Ok(Some(line));
            }
        }
    }
}

impl AisFile {
    /// Opens `path` and reads its header: the columns named in `given`, the others found by
    /// their aliases. Errors name the file: it cannot be read, has no header, or lacks a
    /// column.
    pub fn open(path: &Path, bad: BadRows, given: &ColumnNames) -> Result<AisFile> {
        let format = |msg: String| Error::Format {
            path: path.to_path_buf(),
            msg,
        };
        let mut stream = Stream::open(path)?;
        let Some(_) = stream.next(path)? else {
            return Err(format(
                "empty AIS file: no header (MarineCadastre MMSI,BaseDateTime,LAT,LON,... or GFW ssvid,timestamp,lat,lon,...)"
                    .into(),
            ));
        };
        let header: Vec<String> = stream
            .record
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let f = if i == 0 {
                    f.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(f)
                } else {
                    f
                };
                String::from_utf8_lossy(f).into_owned()
            })
            .collect();
        let columns = Columns::from_header(&header, given).map_err(format)?;
        Ok(AisFile {
            path: path.to_path_buf(),
            bad,
            columns,
        })
    }

    /// Streams the file once and keeps the usable reports inside `window`. Time: one pass
    /// over every row (each row's MMSI, time and position are checked, so the counts of bad
    /// rows, vessels and stale vessels are those of the whole file). Memory: the reports kept,
    /// plus one entry per distinct vessel (its MMSI, whether it reported in time, its latest
    /// name and length), whatever the file's size.
    pub fn read(&self, window: &Window) -> Result<AisReports> {
        let path = &self.path;
        let mut stream = Stream::open(path)?;
        // The header again.
        stream.next(path)?;
        let mut out = AisReports {
            path: path.to_path_buf(),
            ..AisReports::default()
        };
        #[derive(Default)]
        struct Seen {
            in_time: bool,
            name: Option<(f64, String)>,
            length: Option<(f64, f64)>,
        }
        let mut seen: HashMap<u64, Seen, MmsiHash> = HashMap::default();
        let mut times = TimeCache::default();
        while let Some(line) = stream.next(path)? {
            out.rows += 1;
            let row = match parse_row(&stream.record, &self.columns, &mut times) {
                Ok(row) => row,
                Err(why) => {
                    let msg = format!("line {line}: {why}");
                    match self.bad {
                        BadRows::Error => {
                            return Err(Error::Format {
                                path: path.to_path_buf(),
                                msg,
                            })
                        }
                        BadRows::Skip => {
                            out.skipped += 1;
                            out.first_skipped.get_or_insert(msg);
                            continue;
                        }
                    }
                }
            };
            let in_time = window.time.is_none_or(|(t, gap)| (row.t - t).abs() <= gap);
            let v = seen.entry(row.mmsi).or_default();
            v.in_time |= in_time;
            if let Some(name) = &row.name {
                match &mut v.name {
                    Some((t, _)) if *t >= row.t => {}
                    Some((t, s)) => {
                        *t = row.t;
                        s.clear();
                        s.push_str(name);
                    }
                    None => v.name = Some((row.t, name.to_string())),
                }
            }
            if let Some(len) = row.length_m {
                if v.length.is_none_or(|(t, _)| t < row.t) {
                    v.length = Some((row.t, len));
                }
            }
            if in_time && window.area.is_none_or(|a| a.contains(row.lon, row.lat)) {
                out.reports.push(row.report(&self.columns, line));
            }
        }
        out.vessels = seen.len();
        out.in_time = seen.values().filter(|v| v.in_time).count();
        for r in &out.reports {
            out.info.entry(r.mmsi).or_insert_with(|| {
                let v = &seen[&r.mmsi];
                VesselInfo {
                    name: v.name.as_ref().map(|(_, s)| s.clone()),
                    length_m: v.length.map(|(_, l)| l),
                }
            });
        }
        Ok(out)
    }
}

/// Reads every usable report of the AIS file `path` (columns found by their aliases).
pub fn read_ais(path: &Path, bad: BadRows) -> Result<AisReports> {
    AisFile::open(path, bad, &ColumnNames::default())?.read(&Window::default())
}

/// A hasher for MMSIs (integers): a multiply and a shift, enough for a map of vessels.
#[derive(Default, Clone, Copy)]
struct MmsiHash;

impl std::hash::BuildHasher for MmsiHash {
    type Hasher = MmsiHasher;
    fn build_hasher(&self) -> MmsiHasher {
        MmsiHasher(0)
    }
}

struct MmsiHasher(u64);

impl std::hash::Hasher for MmsiHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0 ^ n)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .rotate_left(29);
    }
}

/// The last time text parsed and its value: rows of one moment often follow each other.
#[derive(Default)]
struct TimeCache {
    text: Vec<u8>,
    value: f64,
}

impl TimeCache {
    fn parse(&mut self, text: &[u8]) -> Option<f64> {
        if !self.text.is_empty() && self.text == text {
            return Some(self.value);
        }
        let v = parse_utc(std::str::from_utf8(text).ok()?)?;
        self.text.clear();
        self.text.extend_from_slice(text);
        self.value = v;
        Some(v)
    }
}

/// One data row, its text borrowed from the record: what every row needs parsed (the rest
/// only for the rows kept, in [`Row::report`]).
struct Row<'a> {
    rec: &'a csv::ByteRecord,
    mmsi: u64,
    t: f64,
    lat: f64,
    lon: f64,
    length_m: Option<f64>,
    name: Option<Cow<'a, str>>,
}

impl Row<'_> {
    fn report(self, cols: &Columns, line: usize) -> AisReport {
        let num = |f: Field| optional_number(self.rec, cols, f);
        AisReport {
            mmsi: self.mmsi,
            t: self.t,
            lat: self.lat,
            lon: self.lon,
            sog_kn: num(Field::Sog).filter(|v| (0.0..102.3).contains(v)),
            cog_deg: num(Field::Cog).filter(|v| (0.0..360.0).contains(v)),
            length_m: self.length_m,
            width_m: num(Field::Width).filter(|&v| v > 0.0),
            name: self.name.map(Cow::into_owned),
            line,
        }
    }
}

/// The trimmed text of field `f` (empty when the header or the row lacks it).
fn text<'a>(rec: &'a csv::ByteRecord, cols: &Columns, f: Field) -> &'a [u8] {
    cols.at(f)
        .and_then(|i| rec.get(i))
        .map(|b| b.trim_ascii())
        .unwrap_or_default()
}

/// A finite number.
fn number(b: &[u8]) -> Option<f64> {
    std::str::from_utf8(b)
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|v| v.is_finite())
}

/// An optional numeric field: `None` when absent, empty or not a finite number.
fn optional_number(rec: &csv::ByteRecord, cols: &Columns, f: Field) -> Option<f64> {
    Some(text(rec, cols, f))
        .filter(|b| !b.is_empty())
        .and_then(number)
}

/// Parses one data row; `Err` says why it is bad (without the line number).
fn parse_row<'a>(
    rec: &'a csv::ByteRecord,
    cols: &Columns,
    times: &mut TimeCache,
) -> std::result::Result<Row<'a>, String> {
    if rec.len() < cols.needed {
        return Err(format!(
            "too few fields ({} of {})",
            rec.len(),
            cols.header_fields
        ));
    }
    let field = |f: Field| text(rec, cols, f);
    let bad = |f: Field| {
        let text = String::from_utf8_lossy(field(f));
        format!("bad {} '{}'", cols.name(f), show(&text))
    };
    let mmsi = std::str::from_utf8(field(Field::Mmsi))
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .ok_or_else(|| bad(Field::Mmsi))?;
    let t = times
        .parse(field(Field::Time))
        .ok_or_else(|| bad(Field::Time))?;
    let coord = |f: Field, limit: f64| {
        number(field(f))
            .filter(|v| v.abs() <= limit)
            .ok_or_else(|| bad(f))
    };
    let lat = coord(Field::Lat, 90.0)?;
    let lon = coord(Field::Lon, 180.0)?;
    Ok(Row {
        rec,
        mmsi,
        t,
        lat,
        lon,
        length_m: optional_number(rec, cols, Field::Length).filter(|&v| v > 0.0),
        name: Some(field(Field::Name))
            .filter(|b| !b.is_empty())
            .map(String::from_utf8_lossy),
    })
}

/// A field value for an error message: at most 40 characters.
fn show(s: &str) -> Cow<'_, str> {
    match s.char_indices().nth(40) {
        Some((i, _)) => Cow::Owned(format!("{}...", &s[..i])),
        None => Cow::Borrowed(s),
    }
}

/// Parses a date and time to seconds since 1970-01-01 UTC (with the `jiff` crate). Accepted:
///
/// * ISO 8601 / RFC 3339 with a `T` or a space between date and time, minutes or seconds,
///   fractional seconds: `2024-02-09T02:13:00Z`, `2024-02-09 02:13:00.250Z`, `…T02:13Z`;
/// * an offset, converted to UTC: `+02:00`, `-05:00`, `+0530`, `+05`;
/// * a ` UTC` suffix (BigQuery / Global Fishing Watch): `2024-02-09 02:10:00 UTC`;
/// * no offset at all: taken as UTC (MarineCadastre's `2024-02-09T02:13:00`);
/// * the TIFF DateTime form `2024:02:09 02:13:00` (UTC);
/// * Unix seconds, a plain number: `1707444780`, `1707444780.25`.
///
/// Ranges are checked (the day against the month, leap years included); a leap second `:60` is
/// read as `:59`.
pub fn parse_utc(s: &str) -> Option<f64> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    let b = s.as_bytes();
    // Unix seconds: digits, an optional sign and fraction, nothing else.
    let digits = b
        .strip_prefix(b"-")
        .or_else(|| b.strip_prefix(b"+"))
        .unwrap_or(b);
    if !digits.is_empty()
        && digits.iter().all(|&c| c.is_ascii_digit() || c == b'.')
        && digits.iter().filter(|&&c| c == b'.').count() <= 1
        && digits.iter().any(u8::is_ascii_digit)
    {
        return s.parse::<f64>().ok().filter(|v| v.is_finite());
    }
    let mut text: Cow<'_, str> = Cow::Borrowed(s);
    // " UTC": the same as Z.
    if s.len() > 3 && b[b.len() - 3..].eq_ignore_ascii_case(b"UTC") {
        let rest = s[..s.len() - 3].trim_end();
        text = Cow::Owned(format!("{rest}Z"));
    }
    // The TIFF form: colons in the date.
    if text.len() >= 10 && text.as_bytes()[4] == b':' && text.as_bytes()[7] == b':' {
        let mut t = text.into_owned();
        t.replace_range(4..5, "-");
        t.replace_range(7..8, "-");
        text = Cow::Owned(t);
    }
    // A date alone is not a time.
    if text.len() < 16 {
        return None;
    }
    // With an offset (or Z): a timestamp. Without one: a civil date and time, taken as UTC
    // (parsed as such directly, and only then, since a civil parse drops an offset).
    let ts = if text
        .get(10..)
        .is_some_and(|t| t.contains(['+', '-', 'Z', 'z', '[']))
    {
        text.parse::<jiff::Timestamp>().ok()?
    } else {
        let dt = text.parse::<jiff::civil::DateTime>().ok()?;
        jiff::tz::Offset::UTC.to_timestamp(dt).ok()?
    };
    Some(ts.as_second() as f64 + f64::from(ts.subsec_nanosecond()) * 1e-9)
}

/// Formats seconds since 1970-01-01 UTC as `2024-02-09T02:13:00Z`, rounded to the millisecond; a
/// fraction (`02:13:00.5Z`, `02:13:00.25Z`) is written only when the time is not whole seconds.
/// A non-finite `t`, or one outside the years -9999..=9999, is written as Rust prints it
/// (`NaN`, `inf`, `1e300`).
pub fn format_utc(t: f64) -> String {
    if !t.is_finite() || t.abs() > 4e11 {
        return t.to_string();
    }
    let ms = (t * 1000.0).round() as i64;
    let (secs, milli) = (ms.div_euclid(1000), ms.rem_euclid(1000));
    let Ok(ts) = jiff::Timestamp::from_second(secs) else {
        return t.to_string();
    };
    let mut out = ts.strftime("%Y-%m-%dT%H:%M:%S").to_string();
    if milli != 0 {
        let frac = format!("{milli:03}");
        out.push('.');
        out.push_str(frac.trim_end_matches('0'));
    }
    out.push('Z');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    const HEADER: &str = "MMSI,BaseDateTime,LAT,LON,SOG,COG,Heading,VesselName,IMO,CallSign,VesselType,Status,Length,Width,Draft,Cargo,TransceiverClass";

    fn sample() -> String {
        format!(
            "{HEADER}\n\
             367000001,2024-02-09T02:13:00,29.5,-94.5,10.2,90.0,88,\"ALPHA, THE \"\"FIRST\"\"\",IMO1,CS1,70,0,100,20,5,70,A\n\
             \n\
             367000002,2024-02-09T02:14:30,29.6,-94.6,102.3,360.0,511,BRAVO,,,,,0,0,,,B\n\
             367000003,2024-02-09T02:15:00,-10,179.5,,,,,,,,,abc,12.5,,,A\n"
        )
    }

    fn write_temp(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> PathBuf {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    fn check_sample(f: &AisReports) {
        assert_eq!(f.rows, 3);
        assert_eq!(f.skipped, 0);
        assert_eq!(f.reports.len(), 3);
        let a = &f.reports[0];
        assert_eq!(a.mmsi, 367000001);
        assert_eq!(a.t, parse_utc("2024-02-09T02:13:00Z").unwrap());
        assert_eq!((a.lat, a.lon), (29.5, -94.5));
        assert_eq!((a.sog_kn, a.cog_deg), (Some(10.2), Some(90.0)));
        assert_eq!((a.length_m, a.width_m), (Some(100.0), Some(20.0)));
        assert_eq!(a.name.as_deref(), Some("ALPHA, THE \"FIRST\""));
        assert_eq!(a.line, 2);
        let b = &f.reports[1];
        assert_eq!(b.line, 4, "the blank line 3 still counts");
        assert_eq!(
            (b.sog_kn, b.cog_deg),
            (None, None),
            "SOG 102.3 / COG 360 are sentinels"
        );
        assert_eq!(
            (b.length_m, b.width_m),
            (None, None),
            "Length/Width 0 are sentinels"
        );
        assert_eq!(b.name.as_deref(), Some("BRAVO"));
        let c = &f.reports[2];
        assert_eq!((c.lat, c.lon), (-10.0, 179.5));
        assert_eq!((c.sog_kn, c.cog_deg, c.name.as_deref()), (None, None, None));
        assert_eq!(
            (c.length_m, c.width_m),
            (None, Some(12.5)),
            "unparseable optional is None"
        );
    }

    #[test]
    fn reads_plain_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_temp(&dir, "ais.csv", sample().as_bytes());
        let f = read_ais(&path, BadRows::Error).unwrap();
        assert_eq!(f.path, path);
        check_sample(&f);
    }

    #[test]
    fn reads_gzip_by_magic_not_name() {
        let dir = tempfile::tempdir().unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(sample().as_bytes()).unwrap();
        let bytes = gz.finish().unwrap();
        // A name without ".gz": detection is by content.
        let path = write_temp(&dir, "ais.csv", &bytes);
        check_sample(&read_ais(&path, BadRows::Error).unwrap());
        let path = write_temp(&dir, "ais.csv.gz", &bytes);
        check_sample(&read_ais(&path, BadRows::Error).unwrap());
    }

    #[test]
    fn header_any_order_case_bom_crlf() {
        let dir = tempfile::tempdir().unwrap();
        let text = "\u{feff}lon,Extra,lat,basedatetime,mmsi\r\n\
                    -70.25,x,40.5,2024-02-09 02:13:00,123456789\r\n\r\n";
        let path = write_temp(&dir, "a.csv", text.as_bytes());
        let f = read_ais(&path, BadRows::Error).unwrap();
        assert_eq!(f.rows, 1);
        let r = &f.reports[0];
        assert_eq!((r.mmsi, r.lat, r.lon, r.line), (123456789, 40.5, -70.25, 2));
        assert_eq!(
            (r.sog_kn, r.cog_deg, r.length_m, r.name.clone()),
            (None, None, None, None)
        );
    }

    #[test]
    fn bad_rows_skipped_or_error() {
        let dir = tempfile::tempdir().unwrap();
        let text = format!(
            "{HEADER}\n\
             1,2024-02-09T02:13:00,abc,-94.5\n\
             x1,2024-02-09T02:13:00,1,2\n\
             3,2023-02-29T00:00:00,1,2\n\
             4,2024-02-09T02:13:00,91,2\n\
             5,2024-02-09T02:13:00,1,181\n\
             6,2024-02-09T02:13:00,NaN,2\n\
             7,2024-02-09T02:13:00\n\
             9,2024-02-09T02:13:00,1,2\n"
        );
        let path = write_temp(&dir, "bad.csv", text.as_bytes());
        let f = read_ais(&path, BadRows::Skip).unwrap();
        assert_eq!(f.rows, 8);
        assert_eq!(f.skipped, 7);
        assert_eq!(f.reports.len(), 1);
        assert_eq!((f.reports[0].mmsi, f.reports[0].line), (9, 9));
        assert_eq!(f.first_skipped.as_deref(), Some("line 2: bad LAT 'abc'"));

        match read_ais(&path, BadRows::Error) {
            Err(Error::Format { path: p, msg }) => {
                assert_eq!(p, path);
                assert_eq!(msg, "line 2: bad LAT 'abc'");
            }
            other => panic!("{other:?}"),
        }
        // Each kind of bad row, alone, in Error mode.
        let cases = [
            ("x1,2024-02-09T02:13:00,1,2", "line 2: bad MMSI 'x1'"),
            (
                "3,2023-02-29T00:00:00,1,2",
                "line 2: bad BaseDateTime '2023-02-29T00:00:00'",
            ),
            ("4,2024-02-09T02:13:00,91,2", "line 2: bad LAT '91'"),
            ("5,2024-02-09T02:13:00,1,181", "line 2: bad LON '181'"),
            ("6,2024-02-09T02:13:00,1,inf", "line 2: bad LON 'inf'"),
            ("7,2024-02-09T02:13:00", "line 2: too few fields (2 of 17)"),
            // A quote left open runs to the end of the file (RFC 4180): one bad field.
            (
                "8,2024-02-09T02:13:00,\"1,2",
                "line 2: too few fields (3 of 17)",
            ),
        ];
        for (row, want) in cases {
            let path = write_temp(&dir, "one.csv", format!("{HEADER}\n{row}\n").as_bytes());
            match read_ais(&path, BadRows::Error) {
                Err(Error::Format { msg, .. }) => assert_eq!(msg, want),
                other => panic!("{row}: {other:?}"),
            }
        }
    }

    #[test]
    fn header_and_file_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_temp(
            &dir,
            "h.csv",
            b"MMSI,BaseDateTime,LON\n1,2024-02-09T02:13:00,2\n",
        );
        match read_ais(&path, BadRows::Skip) {
            Err(Error::Format { msg, .. }) => assert_eq!(
                msg,
                "AIS header has no LAT column (looked for lat, latitude; name it with --ais-columns lat=COLUMN)"
            ),
            other => panic!("{other:?}"),
        }
        let path = write_temp(&dir, "empty.csv", b"\n\n");
        assert!(matches!(
            read_ais(&path, BadRows::Skip),
            Err(Error::Format { .. })
        ));
        let path = write_temp(&dir, "empty2.csv", b"");
        assert!(matches!(
            read_ais(&path, BadRows::Skip),
            Err(Error::Format { .. })
        ));
        let missing = dir.path().join("nope.csv");
        assert!(
            matches!(read_ais(&missing, BadRows::Skip), Err(Error::Io { path, .. }) if path == missing)
        );
        // A Latin-1 name: the row reads, the name with replacement characters.
        let mut bytes = format!("{HEADER}\n1,2024-02-09T02:13:00,1,2,,,,").into_bytes();
        bytes.extend_from_slice(b"\xff\xfeNAME\n");
        let path = write_temp(&dir, "latin1.csv", &bytes);
        let f = read_ais(&path, BadRows::Error).unwrap();
        assert_eq!(f.reports[0].name.as_deref(), Some("\u{fffd}\u{fffd}NAME"));
        // A header only: no rows, no error.
        let path = write_temp(&dir, "header.csv", HEADER.as_bytes());
        let f = read_ais(&path, BadRows::Error).unwrap();
        assert_eq!((f.rows, f.reports.len()), (0, 0));
    }

    #[test]
    fn rfc4180_quotes_commas_and_line_breaks() {
        let dir = tempfile::tempdir().unwrap();
        // A name with a comma, doubled quotes and a line break, then ordinary rows.
        let text = format!(
            "{HEADER}\n\
             1,2024-02-09T02:13:00,1,2,,,,\"A, \"\"B\"\"\nC\",,,,,10,,,,\n\
             2,2024-02-09T02:13:00,1,2\n\
             3,2024-02-09T02:13:00,x,2\n\
             4,2024-02-09T02:13:00,1,2,,,,\"D \"\"E\"\"\",,,,,,,,,\n"
        );
        let path = write_temp(&dir, "q.csv", text.as_bytes());
        let f = read_ais(&path, BadRows::Skip).unwrap();
        assert_eq!((f.rows, f.skipped), (4, 1));
        let got: Vec<_> = f
            .reports
            .iter()
            .map(|r| (r.mmsi, r.line, r.name.clone()))
            .collect();
        assert_eq!(
            got,
            [
                (1, 2, Some("A, \"B\"\nC".to_string())),
                (2, 4, None),
                (4, 6, Some("D \"E\"".to_string())),
            ]
        );
        assert_eq!(f.reports[0].length_m, Some(10.0));
        assert_eq!(f.first_skipped.as_deref(), Some("line 5: bad LAT 'x'"));
    }

    #[test]
    fn parse_utc_forms() {
        let base = 1_707_444_780.0; // 2024-02-09T02:13:00Z
        for good in [
            "2024-02-09T02:13:00Z",
            "2024-02-09T02:13:00z",
            "2024-02-09t02:13:00Z",
            "2024-02-09T02:13:00",
            "2024-02-09 02:13:00",
            "2024-02-09 02:13:00Z",
            "2024-02-09T02:13Z",
            "2024-02-09T02:13",
            " 2024:02:09 02:13:00 ",
            "2024-02-09 02:13:00 UTC",
            "2024-02-09T02:13:00UTC",
            "2024-02-09 02:13:00 utc",
            "2024-02-09T02:13:00+00:00",
            "2024-02-09T02:13:00-00:00",
            "2024-02-08T21:13:00-05:00",
            "2024-02-09T07:43:00+0530",
            "2024-02-09T07:13:00+05",
            "2024-02-09T04:13:00+02:00",
            "2024-02-09T02:13:00.000Z",
            "1707444780",
            "1707444780.0",
            "+1707444780",
        ] {
            assert_eq!(parse_utc(good), Some(base), "{good}");
        }
        assert_eq!(parse_utc("2024-02-09T02:13:00.250Z"), Some(base + 0.25));
        assert_eq!(parse_utc("2024-02-09 02:13:00.5 UTC"), Some(base + 0.5));
        assert_eq!(parse_utc("2024-02-09T02:13:00.75"), Some(base + 0.75));
        assert_eq!(parse_utc("1707444780.25"), Some(base + 0.25));
        assert_eq!(parse_utc("-1.5"), Some(-1.5));
        assert_eq!(parse_utc("1970-01-01T00:00:00Z"), Some(0.0));
        assert_eq!(parse_utc("1969-12-31T23:59:59Z"), Some(-1.0));
        assert_eq!(parse_utc("1969-12-31T23:59:59.5Z"), Some(-0.5));
        assert_eq!(parse_utc("2000-03-01T00:00:00Z"), Some(951_868_800.0));
        assert_eq!(parse_utc("2024-02-29T00:00:00Z"), Some(1_709_164_800.0));
        for bad in [
            "2023-02-29T00:00:00Z",
            "1900-02-29T00:00:00Z",
            "2024-13-01T00:00:00Z",
            "2024-00-01T00:00:00Z",
            "2024-04-31T00:00:00Z",
            "2024-02-09T24:00:00Z",
            "2024-02-09T02:60:00Z",
            "2024-02-09T02:13:61Z",
            "2024-02-09T02:13:00.Z",
            "2024-02-09T02:13:00+5",
            "2024-02-09T02:13:00ZZ",
            "2024-02-09T02:13:00+01:00 UTC",
            "2024-02-09",
            "2024/02/09 02:13:00",
            "2024-02:09 02:13:00",
            "2024-02-09x02:13:00",
            "2024-02-09T02:13:00 junk",
            "",
            "UTC",
            "1.2.3",
            ".",
            "-",
            "2024-02-09T02:1é:00Z",
            "yesterday",
            // Multi-byte characters where the forms are looked for (found by fuzzing).
            "%\u{24b} ",
            "\u{24b}UTC",
            "2024-02-09T02:1\u{24b}",
            "2024\u{24b}02-09T02:13:00",
        ] {
            assert_eq!(parse_utc(bad), None, "{bad}");
        }
        assert_eq!(parse_utc("2000-02-29T00:00:00Z"), Some(951_782_400.0));
        assert!(parse_utc("2016-12-31T23:59:60Z").is_some(), "leap second");
    }

    #[test]
    fn format_utc_round_trip() {
        assert_eq!(format_utc(1_707_444_780.0), "2024-02-09T02:13:00Z");
        assert_eq!(format_utc(1_707_444_780.5), "2024-02-09T02:13:00.5Z");
        assert_eq!(format_utc(1_707_444_780.25), "2024-02-09T02:13:00.25Z");
        assert_eq!(format_utc(1_707_444_780.000_4), "2024-02-09T02:13:00Z");
        assert_eq!(format_utc(0.0), "1970-01-01T00:00:00Z");
        assert_eq!(format_utc(-0.5), "1969-12-31T23:59:59.5Z");
        assert_eq!(format_utc(1_709_164_800.0), "2024-02-29T00:00:00Z");
        for s in [
            "2024-02-09T02:13:00Z",
            "2024-02-29T23:59:59.999Z",
            "1999-12-31T00:00:00.1Z",
            "2100-03-01T12:00:00Z",
            "1600-02-29T00:00:00Z",
        ] {
            assert_eq!(format_utc(parse_utc(s).unwrap()), s);
        }
        // Every day over 1968..2101 round-trips, and days are 86400 s apart.
        for days in -800i64..48_000 {
            let s = format_utc(days as f64 * 86_400.0 + 3661.0);
            assert!(s.ends_with("T01:01:01Z"), "{s}");
            assert_eq!(parse_utc(&s), Some(days as f64 * 86_400.0 + 3661.0), "{s}");
        }
        assert_eq!(format_utc(f64::NAN), "NaN");
        assert_eq!(format_utc(f64::INFINITY), "inf");
    }

    #[test]
    fn rows_are_capped_not_the_file() {
        let dir = tempfile::tempdir().unwrap();
        // A quote left open with 1.5 MiB after it: an error naming the row's line, not a
        // field as long as the file.
        let mut text = format!("{HEADER}\n1,2024-02-09T02:13:00,1,2\n2,2024-02-09T02:13:00,\"");
        text.push_str(&"x,".repeat(3 << 19));
        let path = write_temp(&dir, "open.csv", text.as_bytes());
        match read_ais(&path, BadRows::Skip) {
            Err(Error::Format { msg, .. }) => {
                assert_eq!(msg, "line 3: a row longer than 1 MiB (a quote left open?)")
            }
            other => panic!("{other:?}"),
        }
        // Just under the cap reads (one bad row).
        let mut text = format!("{HEADER}\n1,2024-02-09T02:13:00,\"");
        text.push_str(&"x".repeat((1 << 20) - 100));
        text.push_str("\",2\n3,2024-02-09T02:13:00,1,2\n");
        let path = write_temp(&dir, "long.csv", text.as_bytes());
        let f = read_ais(&path, BadRows::Skip).unwrap();
        assert_eq!((f.rows, f.skipped, f.reports[0].line), (2, 1, 3));
    }

    #[test]
    fn areas_across_the_antimeridian_and_near_a_pole() {
        let a = Area::around(&[(179.9, 10.0), (-179.9, 10.2)], 1000.0).unwrap();
        assert!(!a.all_lons);
        for (lon, lat) in [
            (180.0, 10.1),
            (-180.0, 10.1),
            (179.95, 10.0),
            (-179.91, 10.2),
        ] {
            assert!(a.contains(lon, lat), "{lon} {lat}");
        }
        for (lon, lat) in [(0.0, 10.1), (179.0, 10.1), (-179.0, 10.1), (180.0, 10.5)] {
            assert!(!a.contains(lon, lat), "{lon} {lat}");
        }
        // Grown by 10 km: about 0.09 degrees of latitude, more of longitude at 60 N.
        let b = Area::around(&[(10.0, 60.0)], 10_000.0).unwrap();
        assert!(b.contains(10.0, 60.08) && !b.contains(10.0, 60.1));
        assert!(b.contains(10.17, 60.0) && !b.contains(10.2, 60.0));
        let p = Area::around(&[(0.0, 89.5)], 1000.0).unwrap();
        assert!(p.all_lons && p.contains(-120.0, 89.5));
        assert!(Area::around(&[], 1.0).is_none());
        assert!(Area::around(&[(f64::NAN, 1.0)], 1.0).is_none());
    }

    #[test]
    fn a_window_keeps_what_reaches_it_and_counts_the_file() {
        let dir = tempfile::tempdir().unwrap();
        // Vessel 1: in the box, one report in time and one 2 h before with its name.
        // Vessel 2: in time, outside the box. Vessel 3: in the box, hours away (stale).
        let text = format!(
            "{HEADER}\n\
             1,2024-02-09T00:13:00,50.0,10.0,,,,FIRST NAME,,,,,120\n\
             2,2024-02-09T02:10:00,55.0,10.0\n\
             1,2024-02-09T02:20:00,50.01,10.01\n\
             3,2024-02-09T06:13:00,50.0,10.0,,,,THREE\n\
             1,2024-02-09T02:20:00,50.02,10.02,,,,SAME TIME\n"
        );
        let path = write_temp(&dir, "w.csv", text.as_bytes());
        let file = AisFile::open(&path, BadRows::Error, &ColumnNames::default()).unwrap();
        let t = parse_utc("2024-02-09T02:13:00Z").unwrap();
        let window = Window {
            time: Some((t, 1800.0)),
            area: Area::around(&[(10.0, 50.0)], 20_000.0),
        };
        let r = file.read(&window).unwrap();
        assert_eq!((r.rows, r.skipped, r.vessels, r.in_time), (5, 0, 3, 2));
        let kept: Vec<_> = r.reports.iter().map(|r| (r.mmsi, r.line)).collect();
        assert_eq!(kept, [(1, 4), (1, 6)]);
        // The latest name and length of the whole file, not only of the reports kept.
        assert_eq!(
            r.info[&1],
            VesselInfo {
                name: Some("SAME TIME".into()),
                length_m: Some(120.0)
            }
        );
        assert_eq!(r.info.len(), 1);
        // No window: everything.
        let all = file.read(&Window::default()).unwrap();
        assert_eq!((all.reports.len(), all.in_time, all.info.len()), (5, 3, 3));
    }

    #[test]
    fn long_values_truncated_in_messages() {
        assert_eq!(show("abc"), "abc");
        let long = "x".repeat(100);
        assert_eq!(show(&long), format!("{}...", "x".repeat(40)));
    }
}
