//! Reading AIS (ship transponder) position reports from CSV files in the MarineCadastre layout
//! (`MMSI,BaseDateTime,LAT,LON,SOG,COG,Heading,VesselName,...`), plain or gzip-compressed.
//!
//! Columns are found by header name (case-insensitive, any order, extra columns ignored). The file
//! is streamed line by line; only the parsed reports are kept in memory. AIS "not available"
//! sentinels (SOG 102.3, COG 360, Length 0, ...) become `None`.

use std::borrow::Cow;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

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
    /// 1-based line number of the row in the file (the header is line 1 unless blank lines precede it).
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

/// The reports of one AIS file, with counts of what was read and skipped.
#[derive(Debug, Clone, Default)]
pub struct AisFile {
    /// The file read.
    pub path: PathBuf,
    /// The usable reports, in file order.
    pub reports: Vec<AisReport>,
    /// Data rows read (not counting the header and blank lines), skipped ones included.
    pub rows: usize,
    /// Bad rows skipped (with [`BadRows::Skip`]).
    pub skipped: usize,
    /// `"line N: why"` of the first skipped row.
    pub first_skipped: Option<String>,
}

/// The MarineCadastre layout, as quoted in error messages.
const LAYOUT: &str = "MarineCadastre layout: MMSI,BaseDateTime,LAT,LON,...";

/// Where the columns we use are in the file.
struct Columns {
    mmsi: usize,
    time: usize,
    lat: usize,
    lon: usize,
    sog: Option<usize>,
    cog: Option<usize>,
    name: Option<usize>,
    length: Option<usize>,
    width: Option<usize>,
    /// Fields a row needs at least (one past the last required column).
    needed: usize,
    /// Fields in the header.
    header_fields: usize,
}

impl Columns {
    fn from_header(line: &str) -> std::result::Result<Self, String> {
        let names = split_csv(line).map_err(|why| format!("AIS header: {why}"))?;
        let find = |want: &str| {
            names
                .iter()
                .position(|n| n.trim().eq_ignore_ascii_case(want))
        };
        let need = |want: &str| {
            find(want).ok_or_else(|| format!("AIS header has no {want} column ({LAYOUT})"))
        };
        let (mmsi, time, lat, lon) = (
            need("MMSI")?,
            need("BaseDateTime")?,
            need("LAT")?,
            need("LON")?,
        );
        Ok(Columns {
            mmsi,
            time,
            lat,
            lon,
            sog: find("SOG"),
            cog: find("COG"),
            name: find("VesselName"),
            length: find("Length"),
            width: find("Width"),
            needed: mmsi.max(time).max(lat).max(lon) + 1,
            header_fields: names.len(),
        })
    }
}

/// Reads an AIS CSV file (MarineCadastre layout), plain text or gzip (detected by the magic bytes
/// `1f 8b`, not by the name). A UTF-8 BOM and blank lines are ignored; fields may be double-quoted.
///
/// Errors: [`Error::Io`] when the file cannot be read; [`Error::Format`] for an empty file, a header
/// without one of the required columns (MMSI, BaseDateTime, LAT, LON), text that is not UTF-8,
/// and, with [`BadRows::Error`], the first bad row (`"line N: bad LAT 'abc'"`).
pub fn read_ais(path: &Path, bad: BadRows) -> Result<AisFile> {
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let format = |msg: String| Error::Format {
        path: path.to_path_buf(),
        msg,
    };
    let mut raw = BufReader::with_capacity(1 << 16, File::open(path).map_err(io)?);
    let gzip = {
        let head = raw.fill_buf().map_err(io)?;
        head.len() >= 2 && head[0] == 0x1f && head[1] == 0x8b
    };
    let mut reader: Box<dyn BufRead> = if gzip {
        Box::new(BufReader::with_capacity(1 << 16, MultiGzDecoder::new(raw)))
    } else {
        Box::new(raw)
    };

    let mut out = AisFile {
        path: path.to_path_buf(),
        ..AisFile::default()
    };
    let mut columns: Option<Columns> = None;
    let mut buf = Vec::with_capacity(256);
    let mut line_no = 0usize;
    loop {
        buf.clear();
        if reader.read_until(b'\n', &mut buf).map_err(io)? == 0 {
            break;
        }
        line_no += 1;
        let mut bytes = buf.as_slice();
        while let [rest @ .., b'\n' | b'\r'] = bytes {
            bytes = rest;
        }
        if line_no == 1 {
            bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        }
        let text = std::str::from_utf8(bytes).map_err(|e| {
            format(format!(
                "line {line_no}: not UTF-8 text (bad byte at column {})",
                e.valid_up_to() + 1
            ))
        })?;
        if text.trim().is_empty() {
            continue;
        }
        let Some(cols) = &columns else {
            columns = Some(Columns::from_header(text).map_err(format)?);
            continue;
        };
        out.rows += 1;
        match parse_row(text, cols, line_no) {
            Ok(report) => out.reports.push(report),
            Err(why) => match bad {
                BadRows::Error => return Err(format(format!("line {line_no}: {why}"))),
                BadRows::Skip => {
                    out.skipped += 1;
                    if out.first_skipped.is_none() {
                        out.first_skipped = Some(format!("line {line_no}: {why}"));
                    }
                }
            },
        }
    }
    if columns.is_none() {
        return Err(format(format!("empty AIS file: no header ({LAYOUT})")));
    }
    Ok(out)
}

/// Parses one data row; `Err` says why it is bad (without the line number).
fn parse_row(text: &str, cols: &Columns, line: usize) -> std::result::Result<AisReport, String> {
    let fields = split_csv(text)?;
    if fields.len() < cols.needed {
        return Err(format!(
            "too few fields ({} of {})",
            fields.len(),
            cols.header_fields
        ));
    }
    let req = |i: usize| fields[i].trim();
    let mmsi = req(cols.mmsi)
        .parse::<u64>()
        .map_err(|_| format!("bad MMSI '{}'", show(req(cols.mmsi))))?;
    let t = parse_utc(req(cols.time))
        .ok_or_else(|| format!("bad BaseDateTime '{}'", show(req(cols.time))))?;
    let coord = |i: usize, name: &str, limit: f64| {
        let s = req(i);
        match s.parse::<f64>() {
            Ok(v) if v.is_finite() && v.abs() <= limit => Ok(v),
            _ => Err(format!("bad {name} '{}'", show(s))),
        }
    };
    let lat = coord(cols.lat, "LAT", 90.0)?;
    let lon = coord(cols.lon, "LON", 180.0)?;

    let opt = |i: Option<usize>| {
        i.and_then(|i| fields.get(i))
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
    };
    let num = |i: Option<usize>| {
        opt(i)
            .and_then(|s| s.parse::<f64>().ok())
            .filter(|v| v.is_finite())
    };
    Ok(AisReport {
        mmsi,
        t,
        lat,
        lon,
        sog_kn: num(cols.sog).filter(|v| (0.0..102.3).contains(v)),
        cog_deg: num(cols.cog).filter(|v| (0.0..360.0).contains(v)),
        length_m: num(cols.length).filter(|&v| v > 0.0),
        width_m: num(cols.width).filter(|&v| v > 0.0),
        name: opt(cols.name).map(str::to_owned),
        line,
    })
}

/// A field value for an error message: at most 40 characters.
fn show(s: &str) -> Cow<'_, str> {
    match s.char_indices().nth(40) {
        Some((i, _)) => Cow::Owned(format!("{}...", &s[..i])),
        None => Cow::Borrowed(s),
    }
}

/// Splits one CSV line into fields. Fields may be double-quoted (commas inside, `""` for a quote);
/// a line without quotes borrows its fields.
fn split_csv(line: &str) -> std::result::Result<Vec<Cow<'_, str>>, String> {
    if !line.contains('"') {
        return Ok(line.split(',').map(Cow::Borrowed).collect());
    }
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut chars = line.chars().peekable();
    // In a quoted field; at the start of a field (nothing but blanks seen yet).
    let (mut quoted, mut at_start) = (false, true);
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => quoted = false,
                _ => field.push(c),
            }
            continue;
        }
        match c {
            ',' => {
                fields.push(Cow::Owned(std::mem::take(&mut field)));
                at_start = true;
            }
            // Blanks before an opening quote are dropped; text after the closing one is kept.
            '"' if at_start => {
                field.clear();
                quoted = true;
                at_start = false;
            }
            _ => {
                at_start &= c == ' ' || c == '\t';
                field.push(c);
            }
        }
    }
    if quoted {
        return Err("unterminated quote".to_owned());
    }
    fields.push(Cow::Owned(field));
    Ok(fields)
}

/// Days from 1970-01-01 to the given proleptic Gregorian date (H. Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date `(year, month, day)` of a day count since 1970-01-01 (inverse of [`days_from_civil`]).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        4 | 6 | 9 | 11 => 30,
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        _ => 31,
    }
}

/// Parses a date and time to seconds since 1970-01-01 UTC. Accepted: `2024-02-09T02:13:00Z`,
/// `2024-02-09T02:13:00` (UTC), `2024-02-09 02:13:00`, the TIFF form `2024:02:09 02:13:00`,
/// fractional seconds (`02:13:00.250Z`) and offsets `+00:00`, `-05:00`, `+0530`, `+05` (converted
/// to UTC). Ranges are checked (the day against the month, leap years included; second < 61).
pub fn parse_utc(s: &str) -> Option<f64> {
    let s = s.trim();
    let b = s.as_bytes();
    if b.len() < 19 {
        return None;
    }
    let num = |from: usize, to: usize| -> Option<i64> {
        b.get(from..to)?.iter().try_fold(0i64, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0'))
        })
    };
    let sep = b[4];
    if !matches!(sep, b'-' | b':') || b[7] != sep || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (year, month, day) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    let (hour, minute, second) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
    if !(1..=12).contains(&month)
        || !(1..=days_in_month(year, month)).contains(&day)
        || hour >= 24
        || minute >= 60
        || second >= 61
    {
        return None;
    }
    let mut i = 19;
    let mut fraction = 0.0;
    if b.get(i) == Some(&b'.') {
        let start = i;
        i += 1;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == start + 1 {
            return None;
        }
        fraction = s[start..i].parse::<f64>().ok()?;
    }
    let offset_s = match b.get(i) {
        None => 0,
        Some(b'Z' | b'z') if i + 1 == b.len() => 0,
        Some(&c @ (b'+' | b'-')) => {
            let rest = &b[i + 1..];
            let (oh, om) = match rest.len() {
                2 => (num(i + 1, i + 3)?, 0),
                4 => (num(i + 1, i + 3)?, num(i + 3, i + 5)?),
                5 if rest[2] == b':' => (num(i + 1, i + 3)?, num(i + 4, i + 6)?),
                _ => return None,
            };
            if oh >= 24 || om >= 60 {
                return None;
            }
            let off = oh * 3600 + om * 60;
            if c == b'-' {
                -off
            } else {
                off
            }
        }
        _ => return None,
    };
    let secs =
        days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second - offset_s;
    Some(secs as f64 + fraction)
}

/// Formats seconds since 1970-01-01 UTC as `2024-02-09T02:13:00Z`, rounded to the millisecond; a
/// fraction (`02:13:00.5Z`, `02:13:00.25Z`) is written only when the time is not whole seconds.
/// A non-finite `t` is written as Rust prints it (`NaN`, `inf`).
pub fn format_utc(t: f64) -> String {
    if !t.is_finite() {
        return t.to_string();
    }
    let ms = (t * 1000.0).round() as i64;
    let (secs, milli) = (ms.div_euclid(1000), ms.rem_euclid(1000));
    let (days, sod) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    let (hh, mm, ss) = (sod / 3600, sod / 60 % 60, sod % 60);
    let mut out = format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}");
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

    fn check_sample(f: &AisFile) {
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
             8,2024-02-09T02:13:00,\"1,2\n\
             9,2024-02-09T02:13:00,1,2\n"
        );
        let path = write_temp(&dir, "bad.csv", text.as_bytes());
        let f = read_ais(&path, BadRows::Skip).unwrap();
        assert_eq!(f.rows, 9);
        assert_eq!(f.skipped, 8);
        assert_eq!(f.reports.len(), 1);
        assert_eq!((f.reports[0].mmsi, f.reports[0].line), (9, 10));
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
            ("8,2024-02-09T02:13:00,\"1,2", "line 2: unterminated quote"),
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
                "AIS header has no LAT column (MarineCadastre layout: MMSI,BaseDateTime,LAT,LON,...)"
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
        let mut bytes = format!("{HEADER}\n1,2024-02-09T02:13:00,1,2,,,,").into_bytes();
        bytes.extend_from_slice(b"\xff\xfeNAME\n");
        let path = write_temp(&dir, "latin1.csv", &bytes);
        match read_ais(&path, BadRows::Skip) {
            Err(Error::Format { msg, .. }) => {
                assert!(msg.starts_with("line 2: not UTF-8"), "{msg}")
            }
            other => panic!("{other:?}"),
        }
        // A header only: no rows, no error.
        let path = write_temp(&dir, "header.csv", HEADER.as_bytes());
        let f = read_ais(&path, BadRows::Error).unwrap();
        assert_eq!((f.rows, f.reports.len()), (0, 0));
    }

    #[test]
    fn csv_splitting() {
        let s = |line: &str| -> Vec<String> {
            split_csv(line)
                .unwrap()
                .into_iter()
                .map(|c| c.into_owned())
                .collect()
        };
        assert_eq!(s("a,b,,c"), ["a", "b", "", "c"]);
        assert_eq!(s("\"a,b\",c"), ["a,b", "c"]);
        assert_eq!(s("a,\"b\"\"q\"\"\""), ["a", "b\"q\""]);
        assert_eq!(s("\"\",x"), ["", "x"]);
        assert_eq!(s("x,\"\""), ["x", ""]);
        assert_eq!(s("x,\"y\","), ["x", "y", ""]);
        assert_eq!(s("\"a\",\"a\""), ["a", "a"]);
        assert_eq!(s("1, \"n, m\" ,2"), ["1", "n, m ", "2"]);
        assert!(split_csv("\"abc").is_err());
    }

    #[test]
    fn parse_utc_forms() {
        let base = 1_707_444_780.0; // 2024-02-09T02:13:00Z
        assert_eq!(parse_utc("2024-02-09T02:13:00Z"), Some(base));
        assert_eq!(parse_utc("2024-02-09T02:13:00"), Some(base));
        assert_eq!(parse_utc("2024-02-09 02:13:00"), Some(base));
        assert_eq!(parse_utc(" 2024:02:09 02:13:00 "), Some(base));
        assert_eq!(parse_utc("2024-02-09T02:13:00.250Z"), Some(base + 0.25));
        assert_eq!(parse_utc("2024-02-09T02:13:00+00:00"), Some(base));
        assert_eq!(parse_utc("2024-02-08T21:13:00-05:00"), Some(base));
        assert_eq!(parse_utc("2024-02-09T07:43:00+0530"), Some(base));
        assert_eq!(parse_utc("2024-02-09T07:13:00+05"), Some(base));
        assert_eq!(parse_utc("1970-01-01T00:00:00Z"), Some(0.0));
        assert_eq!(parse_utc("1969-12-31T23:59:59Z"), Some(-1.0));
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
            "2024-02-09T02:13:00+24:00",
            "2024-02-09T02:13:00ZZ",
            "2024-02-09T02:13",
            "2024/02/09 02:13:00",
            "2024-02:09 02:13:00",
            "2024-02-09x02:13:00",
            "2024-02-09T02:13:00 junk",
            "",
            "2024-02-09T02:1é:00Z",
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
        // Every day over 1968..2101 round-trips through the civil conversions.
        for days in -800..48_000 {
            let (y, m, d) = civil_from_days(days);
            assert!((1..=days_in_month(y, m)).contains(&d));
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(format_utc(f64::NAN), "NaN");
    }

    #[test]
    fn long_values_truncated_in_messages() {
        assert_eq!(show("abc"), "abc");
        let long = "x".repeat(100);
        assert_eq!(show(&long), format!("{}...", "x".repeat(40)));
    }
}
