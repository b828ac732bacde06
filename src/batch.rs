//! `vesselscan batch`: detection over whole archives.
//!
//! Inputs are expanded from files, folders (recursive), glob patterns and list files, sorted
//! and de-duplicated, so every run (and every shard) sees the same list. Each input keeps its
//! path within the archive ([`Input::rel`]: relative to the folder, the glob's fixed part or
//! the list that named it), and that alone names its output and picks its shard, so a sharded
//! run writes exactly the files an unsharded one would ([`output_names`]). Outputs are written
//! atomically, each with a record of the input it came from (`.vesselscan/<output>.json`): an
//! input whose output exists and was made from it, unchanged since, is skipped (resume) unless
//! `force`. A bad file is reported and the run goes on. `summary.json` lists every file with
//! its status and is rewritten (atomically) after each file, so a run killed at any moment
//! loses nothing and restarts where it stopped; the summaries of a sharded run merge into one
//! ([`merge_shard_summaries`]).

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::read::{open_source, window_rows_for, ReadOptions};
use crate::write::{write_atomic, Format};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Component, Path, PathBuf};

/// Extensions of the rasters searched for in folders.
pub const RASTER_EXTENSIONS: &[&str] = &["tif", "tiff", "png", "jpg", "jpeg"];

/// Folder of the output records (one per output) inside the output folder.
pub const RECORDS_DIR: &str = ".vesselscan";

fn is_raster(p: &Path) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| RASTER_EXTENSIONS.iter().any(|x| x.eq_ignore_ascii_case(e)))
}

/// One input of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    /// Where to read it.
    pub path: PathBuf,
    /// Its path within the archive: relative to the folder that held it, to the fixed part of
    /// the pattern that matched it, or to the list file that named it; as given for a file
    /// named on the command line. It alone names the output and picks the shard, so the same
    /// archive mounted elsewhere gives the same names and shards.
    pub rel: PathBuf,
}

/// What [`expand_inputs`] found.
#[derive(Debug, Clone, Default)]
pub struct Expanded {
    /// The inputs, sorted by path, each once.
    pub inputs: Vec<Input>,
    /// Files with a raster's name in a folder that were left out, and why (a FIFO, socket or
    /// device, which would block or never end; a broken link).
    pub skipped: Vec<(PathBuf, String)>,
}

#[derive(Default)]
struct Expansion {
    out: BTreeMap<PathBuf, PathBuf>,
    skipped: Vec<(PathBuf, String)>,
    /// List files read (canonical paths): each once, so two lists naming each other end.
    lists: BTreeSet<PathBuf>,
}

impl Expansion {
    fn add(&mut self, path: PathBuf, rel: PathBuf) {
        self.out.entry(path).or_insert(rel);
    }
}

/// `p` without `.` components: `./a/./b` is `a/b`.
fn lexical(p: &Path) -> PathBuf {
    p.components()
        .filter(|c| !matches!(c, Component::CurDir))
        .collect()
}

/// `p` relative to `base` when it lies below it, else `p` itself.
fn relative_to(p: &Path, base: &Path) -> PathBuf {
    let (p, base) = (lexical(p), lexical(base));
    match p.strip_prefix(&base) {
        Ok(r) if !r.as_os_str().is_empty() => r.to_owned(),
        _ => p,
    }
}

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_owned(),
        source,
    }
}

/// Adds the rasters below `dir`, relative to `root`, and returns how many files named like
/// rasters it found (taken or skipped). Links are followed, each folder once in a walk
/// (`walked`: canonical paths, so a link to a folder above ends there), and only regular files
/// are taken.
fn walk(
    dir: &Path,
    root: &Path,
    st: &mut Expansion,
    walked: &mut BTreeSet<PathBuf>,
) -> Result<usize> {
    let canon = dir.canonicalize().map_err(io_err(dir))?;
    if !walked.insert(canon) {
        return Ok(0);
    }
    let mut found = 0;
    let mut entries = Vec::new();
    for e in std::fs::read_dir(dir).map_err(io_err(dir))? {
        entries.push(e.map_err(io_err(dir))?.path());
    }
    entries.sort();
    for p in entries {
        let meta = match std::fs::metadata(&p) {
            Ok(m) => m,
            Err(e) => {
                if is_raster(&p) {
                    found += 1;
                    st.skipped.push((p, format!("cannot be read ({e})")));
                }
                continue;
            }
        };
        if meta.is_dir() {
            found += walk(&p, root, st, walked)?;
        } else if is_raster(&p) {
            found += 1;
            match crate::read::not_regular(&meta.file_type()) {
                None => {
                    let rel = relative_to(&p, root);
                    st.add(p, rel);
                }
                Some(what) => st.skipped.push((p, format!("{what}, not a regular file"))),
            }
        }
    }
    Ok(found)
}

/// The folder part of a glob pattern before its first wildcard: what matches are relative to.
fn glob_base(pattern: &Path) -> PathBuf {
    let mut base = PathBuf::new();
    for c in pattern.components() {
        if c.as_os_str().to_string_lossy().contains(['*', '?', '[']) {
            break;
        }
        base.push(c);
    }
    base
}

/// Every input named by `args`: files as given (whatever their extension), folders searched
/// recursively for rasters, glob patterns (`*`, `?`, `[...]`) expanded, list files (`.txt` or
/// `.lst`: one path per line, `#` comments, relative paths from the list's folder) read, each
/// list once. Sorted, without duplicates. A name that matches nothing, or a folder with no
/// raster, is an error; FIFOs, sockets and devices in folders are skipped and listed.
pub fn expand_inputs(args: &[PathBuf]) -> Result<Expanded> {
    let mut st = Expansion::default();
    for a in args {
        expand_arg(a, Path::new(""), &mut st)?;
    }
    Ok(Expanded {
        inputs: st
            .out
            .into_iter()
            .map(|(path, rel)| Input { path, rel })
            .collect(),
        skipped: st.skipped,
    })
}

/// Adds what `a` names; `base` is the folder of the list file that named it (its inputs' paths
/// within the archive are relative to it), empty on the command line.
fn expand_arg(a: &Path, base: &Path, st: &mut Expansion) -> Result<()> {
    let s = a.to_string_lossy();
    let ext = a.extension().and_then(|e| e.to_str()).unwrap_or("");
    if a.is_dir() {
        // A folder with no raster in it is most likely the wrong folder: say so, as for a
        // pattern that matches nothing.
        if walk(a, a, st, &mut BTreeSet::new())? == 0 {
            return Err(Error::Invalid(format!(
                "{}: no raster in this folder or below it (looked for .{})",
                a.display(),
                RASTER_EXTENSIONS.join(", .")
            )));
        }
    } else if a.is_file() && (ext.eq_ignore_ascii_case("txt") || ext.eq_ignore_ascii_case("lst")) {
        let canon = a.canonicalize().map_err(io_err(a))?;
        if !st.lists.insert(canon) {
            // Read already: a list that names itself, or lists that name each other.
            return Ok(());
        }
        let text = std::fs::read_to_string(a).map_err(io_err(a))?;
        let dir = a.parent().unwrap_or(Path::new(""));
        for l in text.lines().map(str::trim) {
            if l.is_empty() || l.starts_with('#') {
                continue;
            }
            let p = PathBuf::from(l);
            let p = if p.is_absolute() { p } else { dir.join(p) };
            expand_arg(&p, dir, st)?;
        }
    } else if a.exists() {
        // A file named on the command line is taken whatever it is; one that cannot be read
        // fails on its own, in the summary.
        st.add(a.to_owned(), relative_to(a, base));
    } else if s.contains(['*', '?', '[']) {
        let paths = glob::glob(&s).map_err(|e| Error::Invalid(format!("{s}: bad pattern: {e}")))?;
        let root = glob_base(a);
        let before = st.out.len();
        for p in paths.flatten() {
            if p.is_dir() {
                walk(&p, &root, st, &mut BTreeSet::new())?;
            } else {
                let rel = relative_to(&p, &root);
                st.add(p, rel);
            }
        }
        if st.out.len() == before {
            return Err(Error::Invalid(format!("{s}: no file matches")));
        }
    } else {
        // Reported like a missing file anywhere else.
        return Err(Error::Io {
            path: a.to_owned(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "No such file or directory"),
        });
    }
    Ok(())
}

/// Stable 64-bit FNV-1a hash of a path's text, with `/` between components on every system:
/// the same file lands in the same shard on every machine and as the archive grows.
pub fn path_hash(p: &Path) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in slash(p).as_bytes() {
        h ^= *b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// The indices of the inputs of shard `i` of `n` (0 <= i < n), by the hash of each input's
/// path within the archive: disjoint shards that cover all inputs.
pub fn shard(inputs: &[Input], i: u32, n: u32) -> Vec<usize> {
    (0..inputs.len())
        .filter(|&k| path_hash(&inputs[k].rel) % n as u64 == i as u64)
        .collect()
}

/// The output file name of each input, from the whole archive's list (so the same in every
/// shard): `<stem>.<ext>`, or `<stem>-<8 hex digits>.<ext>` with a hash of the input's path
/// within the archive when two inputs anywhere in it share a stem (letter case aside, for
/// case-insensitive file systems) or the stem is `summary`. Two inputs with the same path
/// within the archive (the same name under two folders given apart) get a hash of their whole
/// path instead. No two names are equal.
pub fn output_names(inputs: &[Input], format: Format) -> Vec<String> {
    let ext = format.extension();
    let stem = |p: &Path| {
        p.file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    let mut count: HashMap<String, usize> = HashMap::new();
    for i in inputs {
        *count.entry(stem(&i.rel).to_lowercase()).or_insert(0) += 1;
    }
    let mut names: Vec<String> = inputs
        .iter()
        .map(|i| {
            let s = stem(&i.rel);
            let reserved = s.to_lowercase().starts_with("summary") || s.is_empty();
            if count[&s.to_lowercase()] > 1 || reserved {
                format!("{s}-{:08x}.{ext}", path_hash(&i.rel) >> 32)
            } else {
                format!("{s}.{ext}")
            }
        })
        .collect();
    // Names still shared: the whole path's hash, then (never seen, but certain) the index.
    for round in 0..2 {
        let mut seen: HashMap<String, usize> = HashMap::new();
        for n in &names {
            *seen.entry(n.to_lowercase()).or_insert(0) += 1;
        }
        if seen.values().all(|&c| c == 1) {
            break;
        }
        for (k, i) in inputs.iter().enumerate() {
            if seen[&names[k].to_lowercase()] > 1 {
                let s = stem(&i.rel);
                names[k] = if round == 0 {
                    format!("{s}-{:016x}.{ext}", path_hash(&i.path))
                } else {
                    format!("{s}-{:016x}-{k}.{ext}", path_hash(&i.path))
                };
            }
        }
    }
    names
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Error,
    Skipped,
}

/// One line of `summary.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FileReport {
    pub input: String,
    pub output: String,
    pub status: Status,
    /// Detections written (None when skipped or failed).
    pub detections: Option<usize>,
    /// With `--ais`: detections no AIS vessel matched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dark: Option<usize>,
    pub seconds: f64,
    pub error: Option<String>,
    /// Why an existing output was made again (it was not made from this input as it is now).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redone: Option<String>,
    /// Pixels of the scene, in millions (0 when skipped or unreadable).
    #[serde(skip)]
    pub megapixels: f64,
}

/// `summary.json`.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct Summary {
    pub ok: usize,
    pub skipped: usize,
    pub failed: usize,
    pub files: Vec<FileReport>,
}

impl Summary {
    /// The summary of `files`, counted.
    pub fn of(files: Vec<FileReport>) -> Summary {
        let count = |s: Status| files.iter().filter(|f| f.status == s).count();
        Summary {
            ok: count(Status::Ok),
            skipped: count(Status::Skipped),
            failed: count(Status::Error),
            files,
        }
    }
}

/// What an output was made from: written beside it (`.vesselscan/<output>.json` in the output
/// folder) once the output is complete, and checked before an existing output is taken as done.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputRecord {
    /// The input's path within the archive ([`Input::rel`]), `/` between components.
    pub input: String,
    /// Its size in bytes and modification time (nanoseconds since 1970) when it was read.
    pub size: u64,
    pub mtime_ns: i128,
    /// The output's file name.
    pub output: String,
}

impl OutputRecord {
    /// The record of `input` as it is now, for output file `output`.
    pub fn of(input: &Input, output: &str) -> std::io::Result<OutputRecord> {
        let m = std::fs::metadata(&input.path)?;
        let mtime_ns = match m.modified()?.duration_since(std::time::UNIX_EPOCH) {
            Ok(d) => d.as_nanos() as i128,
            Err(e) => -(e.duration().as_nanos() as i128),
        };
        Ok(OutputRecord {
            input: slash(&input.rel),
            size: m.len(),
            mtime_ns,
            output: output.to_string(),
        })
    }
}

/// `p`'s text with `/` between its components, on every system.
fn slash(p: &Path) -> String {
    p.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

/// Where the record of output `name` in `outdir` is kept.
pub fn record_path(outdir: &Path, name: &str) -> PathBuf {
    outdir.join(RECORDS_DIR).join(format!("{name}.json"))
}

/// Whether the existing output `name` was made from `input` as it is now: None when it was,
/// else why not.
fn stale_output(outdir: &Path, name: &str, input: &Input) -> Option<String> {
    let now = match OutputRecord::of(input, name) {
        Ok(r) => r,
        Err(e) => return Some(format!("the input cannot be read ({e})")),
    };
    let bytes = match std::fs::read(record_path(outdir, name)) {
        Ok(b) => b,
        Err(_) => return Some("no record of the input it was made from".into()),
    };
    match serde_json::from_slice::<OutputRecord>(&bytes) {
        Ok(r) if r == now => None,
        Ok(r) if r.input != now.input => Some(format!("it was made from {}", r.input)),
        Ok(_) => Some("the input changed since".into()),
        Err(_) => Some("its record is damaged".into()),
    }
}

/// How a batch runs.
pub struct BatchOptions {
    pub outdir: PathBuf,
    /// `(i, n)` when this run is one shard: it processes the inputs [`shard`] gives it, under
    /// the names the whole archive gives them, and its summary is
    /// `summary.shard-<i>-of-<n>.json`, so shards can share one output folder, even at once.
    pub shard: Option<(u32, u32)>,
    pub format: Format,
    /// Feature geometry of GeoJSON outputs.
    pub geometry: crate::write::Geometry,
    /// Redo files whose output exists and was made from them.
    pub force: bool,
    pub read: ReadOptions,
    /// Working-set cap of the whole run, shared by the files in flight (see [`jobs_for`] and
    /// [`crate::read::window_rows_for`]).
    pub memory_mb: u64,
    /// Files processed at once (at least 1; see [`jobs_for`]).
    pub jobs: usize,
    pub detect: crate::preset::DetectPlan,
    /// Match every scene's detections against these AIS reports (read once).
    pub ais: Option<std::sync::Arc<crate::ais::AisOptions>>,
}

/// Smallest share of `--memory-mb` a file in flight gets.
pub const MIN_MB_PER_JOB: u64 = 64;

/// Files to process at once: `requested`, or by default up to 4 (no more than the cores), so
/// that one file's reading and writing overlaps another's detection; never more than there are
/// files, nor more than leave each at least [`MIN_MB_PER_JOB`] of `memory_mb`.
pub fn jobs_for(requested: Option<usize>, files: usize, memory_mb: u64) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let by_memory = (memory_mb / MIN_MB_PER_JOB).max(1) as usize;
    requested
        .unwrap_or(cores.min(4))
        .min(files.max(1))
        .min(by_memory)
        .max(1)
}

/// The batch's `--memory-mb`, shared by the files in flight. Each file takes its share of the
/// cap, or more when its windows would otherwise be so short that the file's chunks are
/// decoded several times ([`crate::detect::memory_wanted_mb`]), and gives it back when done; a
/// file that needs more than is free waits. Grants are served in the order asked for, so a big
/// scene is not overtaken for ever by small ones, and each is at most the whole cap and held
/// by a worker that asks for nothing else meanwhile, so every wait ends.
struct MemoryPool {
    state: std::sync::Mutex<PoolState>,
    freed: std::sync::Condvar,
    /// The whole cap, and a file's fair share of it.
    total_mb: u64,
    share_mb: u64,
}

struct PoolState {
    free: u64,
    /// Tickets handed out, and the one being served.
    next: u64,
    serving: u64,
}

/// MiB taken from a [`MemoryPool`], given back on drop.
struct Grant<'a> {
    pool: &'a MemoryPool,
    mb: u64,
}

impl MemoryPool {
    /// `mb` shared by `jobs` files at a time.
    fn new(mb: u64, jobs: usize) -> MemoryPool {
        let mb = mb.max(1);
        MemoryPool {
            state: std::sync::Mutex::new(PoolState {
                free: mb,
                next: 0,
                serving: 0,
            }),
            freed: std::sync::Condvar::new(),
            total_mb: mb,
            share_mb: (mb / jobs.max(1) as u64).max(1),
        }
    }

    /// The grant of a file that wants `wanted_mb`: its share at least, the whole cap at most.
    fn take_for(&self, wanted_mb: u64) -> Grant<'_> {
        self.take(wanted_mb.max(self.share_mb).min(self.total_mb))
    }

    /// Take `mb` MiB (no more than the pool holds), waiting for those who asked first and
    /// until they are free.
    fn take(&self, mb: u64) -> Grant<'_> {
        let mut s = self.state.lock().expect("lock");
        let ticket = s.next;
        s.next += 1;
        while s.serving != ticket || s.free < mb {
            s = self.freed.wait(s).expect("lock");
        }
        s.free -= mb;
        s.serving += 1;
        drop(s);
        self.freed.notify_all();
        Grant { pool: self, mb }
    }

    #[cfg(test)]
    fn free(&self) -> u64 {
        self.state.lock().expect("lock").free
    }
}

impl Drop for Grant<'_> {
    fn drop(&mut self) {
        self.pool.state.lock().expect("lock").free += self.mb;
        self.pool.freed.notify_all();
    }
}

/// Process `inputs` (the whole archive, as [`expand_inputs`] gives it; with `opts.shard`,
/// only that shard's part of it), `opts.jobs` files at a time, each within its share of
/// `memory_mb`, calling `progress` as each file ends (from the worker threads). Errors of
/// single files are in the summary; only a failure to write the summary itself is returned as
/// an error. The summary is rewritten after every file, listing the files done so far in input
/// order.
pub fn run_batch(
    engine: &dyn Engine,
    inputs: &[Input],
    opts: &BatchOptions,
    progress: &(dyn Fn(&FileReport) + Sync),
) -> Result<Summary> {
    let names = output_names(inputs, opts.format);
    let mine: Vec<usize> = match opts.shard {
        Some((i, n)) => shard(inputs, i, n),
        None => (0..inputs.len()).collect(),
    };
    let summary_path = opts.outdir.join(summary_name(opts.shard));
    let jobs = opts.jobs.clamp(1, mine.len().max(1));
    let pool = MemoryPool::new(opts.memory_mb, jobs);
    let done: std::sync::Mutex<Vec<Option<FileReport>>> =
        std::sync::Mutex::new(vec![None; mine.len()]);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let first_err: std::sync::Mutex<Option<Error>> = std::sync::Mutex::new(None);
    let worker = || loop {
        let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if k >= mine.len() || first_err.lock().expect("lock").is_some() {
            return;
        }
        let i = mine[k];
        let rep = run_one(engine, &inputs[i], &names[i], opts, &pool);
        progress(&rep);
        let mut d = done.lock().expect("lock");
        d[k] = Some(rep);
        if let Err(e) = write_summary(&summary_path, &summarise(&d)) {
            first_err.lock().expect("lock").get_or_insert(e);
        }
    };
    std::thread::scope(|s| {
        for _ in 1..jobs {
            s.spawn(worker);
        }
        worker();
    });
    if let Some(e) = first_err.into_inner().expect("lock") {
        return Err(e);
    }
    let summary = summarise(&done.into_inner().expect("lock"));
    write_summary(&summary_path, &summary)?;
    Ok(summary)
}

fn summarise(done: &[Option<FileReport>]) -> Summary {
    Summary::of(done.iter().flatten().cloned().collect())
}

/// One input: skipped if its output exists and was made from it as it is now (unless
/// `force`), else detected and written, then its record.
fn run_one(
    engine: &dyn Engine,
    input: &Input,
    name: &str,
    opts: &BatchOptions,
    memory: &MemoryPool,
) -> FileReport {
    let t0 = std::time::Instant::now();
    let mut waited = std::time::Duration::ZERO;
    let output = opts.outdir.join(name);
    let mut rep = FileReport {
        input: input.path.display().to_string(),
        output: output.display().to_string(),
        status: Status::Ok,
        detections: None,
        dark: None,
        seconds: 0.0,
        error: None,
        redone: None,
        megapixels: 0.0,
    };
    if output.exists() && !opts.force {
        match stale_output(&opts.outdir, name, input) {
            None => {
                rep.status = Status::Skipped;
                return rep;
            }
            Some(why) => rep.redone = Some(why),
        }
    }
    let r = (|| {
        let path = &input.path;
        if crate::write::same_file(path, &output) {
            return Err(Error::Invalid(format!(
                "{}: the output {} would overwrite it",
                path.display(),
                output.display()
            )));
        }
        let record = OutputRecord::of(input, name).map_err(io_err(path))?;
        let mut src = open_source(path, &opts.read)?;
        let info = src.info();
        rep.megapixels = info.width as f64 * info.height as f64 / 1e6;
        let detect = opts.detect.options_for(path, src.as_mut())?;
        let wanted = crate::detect::memory_wanted_mb(src.as_ref(), &detect)?;
        let asked = std::time::Instant::now();
        let grant = memory.take_for(wanted);
        waited = asked.elapsed();
        let rows = window_rows_for(info.width, grant.mb);
        let run = crate::write::run_scene(
            engine,
            path,
            src.as_mut(),
            Some(rows),
            &detect,
            &crate::write::Outputs {
                format: opts.format,
                geometry: opts.geometry,
                ais: opts.ais.clone(),
                ..Default::default()
            },
        )?;
        drop(grant);
        // The record goes once the output is whole: an output without one is made again.
        let rec_path = record_path(&opts.outdir, name);
        match std::fs::remove_file(&rec_path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(Error::Write {
                    path: rec_path,
                    source: e,
                })
            }
            _ => {}
        }
        write_atomic(&output, &run.bytes)?;
        let dir = opts.outdir.join(RECORDS_DIR);
        std::fs::create_dir_all(&dir).map_err(|source| Error::Write {
            path: dir.clone(),
            source,
        })?;
        let mut rec = serde_json::to_vec(&record).expect("record serialises");
        rec.push(b'\n');
        write_atomic(&rec_path, &rec)?;
        Ok((run.detections, run.dark))
    })();
    match r {
        Ok((n, dark)) => {
            rep.detections = Some(n);
            rep.dark = dark;
        }
        Err(e) => {
            rep.status = Status::Error;
            rep.error = Some(e.to_string());
        }
    }
    // The file's own time: not the wait for memory.
    rep.seconds = t0.elapsed().saturating_sub(waited).as_secs_f64();
    rep
}

/// `summary.json`, or `summary.shard-<i>-of-<n>.json` for one shard of a sharded run.
pub fn summary_name(shard: Option<(u32, u32)>) -> String {
    match shard {
        Some((i, n)) => format!("summary.shard-{i}-of-{n}.json"),
        None => "summary.json".into(),
    }
}

fn write_summary(path: &Path, s: &Summary) -> Result<()> {
    let mut v = serde_json::to_vec_pretty(s).expect("summary serialises");
    v.push(b'\n');
    write_atomic(path, &v)
}

/// `(i, n)` of a shard summary's file name, `summary.shard-<i>-of-<n>.json`.
fn shard_of_name(name: &str) -> Option<(u32, u32)> {
    let rest = name.strip_prefix("summary.shard-")?.strip_suffix(".json")?;
    let (i, n) = rest.split_once("-of-")?;
    let (i, n) = (i.parse().ok()?, n.parse().ok()?);
    (i < n).then_some((i, n))
}

/// Merge the shard summaries in `outdir` (`summary.shard-<i>-of-<n>.json`) into
/// `summary.json`, the files in input order, and return it with the shard count. Errors, naming
/// the folder, when there are none, when shards of different counts are mixed, or when one is
/// missing (nothing is written then).
pub fn merge_shard_summaries(outdir: &Path) -> Result<(Summary, u32)> {
    let mut found: BTreeMap<u32, BTreeMap<u32, PathBuf>> = BTreeMap::new();
    for e in std::fs::read_dir(outdir).map_err(io_err(outdir))? {
        let e = e.map_err(io_err(outdir))?;
        if let Some((i, n)) = shard_of_name(&e.file_name().to_string_lossy()) {
            found.entry(n).or_default().insert(i, e.path());
        }
    }
    let invalid = |msg: String| Error::Invalid(format!("{}: {msg}", outdir.display()));
    let (n, shards) = match found.len() {
        0 => {
            return Err(invalid(
                "no shard summaries (summary.shard-I-of-N.json) in this folder".into(),
            ))
        }
        1 => found.into_iter().next().expect("one"),
        _ => {
            let counts: Vec<String> = found.keys().map(|n| n.to_string()).collect();
            return Err(invalid(format!(
                "shard summaries of runs in {} shards are mixed here; remove the stale ones",
                counts.join(" and ")
            )));
        }
    };
    let missing: Vec<String> = (0..n)
        .filter(|i| !shards.contains_key(i))
        .map(|i| i.to_string())
        .collect();
    if !missing.is_empty() {
        return Err(invalid(format!(
            "shard{} {} of {n} not found (summary.shard-I-of-{n}.json): run {} first",
            if missing.len() == 1 { "" } else { "s" },
            missing.join(", "),
            if missing.len() == 1 { "it" } else { "them" },
        )));
    }
    let mut files = Vec::new();
    for p in shards.values() {
        let bytes = std::fs::read(p).map_err(io_err(p))?;
        let s: Summary = serde_json::from_slice(&bytes).map_err(|e| Error::Format {
            path: p.clone(),
            msg: format!("not a vesselscan batch summary: {e}"),
        })?;
        files.extend(s.files);
    }
    files.sort_by(|a, b| Path::new(&a.input).cmp(Path::new(&b.input)));
    let summary = Summary::of(files);
    write_summary(&outdir.join(summary_name(None)), &summary)?;
    Ok((summary, n))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs(rels: &[&str]) -> Vec<Input> {
        rels.iter()
            .map(|r| Input {
                path: Path::new("/archive").join(r),
                rel: PathBuf::from(r),
            })
            .collect()
    }

    #[test]
    fn shards_partition_the_inputs() {
        let rels: Vec<String> = (0..200).map(|i| format!("a/scene_{i}.tif")).collect();
        let inputs = inputs(&rels.iter().map(String::as_str).collect::<Vec<_>>());
        let mut all: Vec<usize> = (0..7).flat_map(|i| shard(&inputs, i, 7)).collect();
        all.sort();
        assert_eq!(all, (0..200).collect::<Vec<_>>());
        assert!((0..7).all(|i| !shard(&inputs, i, 7).is_empty()));
    }

    #[test]
    fn shards_and_names_follow_the_path_within_the_archive() {
        // The same archive mounted in two places: same shards, same names.
        let a = inputs(&["i0/B08.tif", "i1/B08.tif", "x.tif"]);
        let b: Vec<Input> = a
            .iter()
            .map(|i| Input {
                path: Path::new("elsewhere/deeper").join(&i.rel),
                rel: i.rel.clone(),
            })
            .collect();
        for n in 1..5 {
            for i in 0..n {
                assert_eq!(shard(&a, i, n), shard(&b, i, n));
            }
        }
        assert_eq!(
            output_names(&a, Format::Json),
            output_names(&b, Format::Json)
        );
    }

    #[test]
    fn grants_wait_until_free_and_in_the_order_asked_for() {
        use std::sync::Mutex;
        let pool = MemoryPool::new(10, 2);
        let first = pool.take(6);
        let order = Mutex::new(Vec::new());
        let tickets = || pool.state.lock().unwrap().next;
        std::thread::scope(|s| {
            let take = |name: &'static str, mb: u64| {
                let pool = &pool;
                let order = &order;
                move || {
                    let g = pool.take(mb);
                    order.lock().unwrap().push((name, g.mb));
                    drop(g);
                }
            };
            s.spawn(take("big", 6));
            while tickets() < 2 {
                std::thread::yield_now();
            }
            // 1 MiB is free, but asked for after the big one: it waits too.
            s.spawn(take("small", 1));
            while tickets() < 3 {
                std::thread::yield_now();
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
            assert!(order.lock().unwrap().is_empty(), "6 + 6 > 10");
            drop(first);
        });
        // (That the small one waited behind the big one is the check above.) Both got theirs,
        // and gave it back.
        let mut order = order.into_inner().unwrap();
        order.sort();
        assert_eq!(order, [("big", 6), ("small", 1)]);
        assert_eq!(pool.free(), 10);
        // Free and first in line: no wait.
        drop(pool.take(10));
    }

    #[test]
    fn colliding_stems_get_distinct_outputs() {
        let i = inputs(&["a/x.tif", "b/x.tif", "c/y.png", "d/X.TIF", "summary.tif"]);
        let o = output_names(&i, Format::Csv);
        assert_eq!(o[2], "y.csv");
        for k in [0, 1, 3] {
            assert!(o[k].to_lowercase().starts_with("x-"), "{o:?}");
        }
        assert!(o[4].starts_with("summary-"), "{o:?}");
        let set: BTreeSet<String> = o.iter().map(|n| n.to_lowercase()).collect();
        assert_eq!(set.len(), o.len(), "{o:?}");
    }

    #[test]
    fn the_same_path_within_two_folders_gets_distinct_outputs() {
        let i = vec![
            Input {
                path: "s1/B08.tif".into(),
                rel: "B08.tif".into(),
            },
            Input {
                path: "s2/B08.tif".into(),
                rel: "B08.tif".into(),
            },
        ];
        let o = output_names(&i, Format::Json);
        assert_ne!(o[0], o[1]);
        assert!(o.iter().all(|n| n.starts_with("B08-")), "{o:?}");
    }

    #[test]
    fn shard_summary_names() {
        assert_eq!(shard_of_name("summary.shard-2-of-5.json"), Some((2, 5)));
        assert_eq!(shard_of_name(&summary_name(Some((0, 1)))), Some((0, 1)));
        assert_eq!(shard_of_name("summary.shard-5-of-5.json"), None);
        assert_eq!(shard_of_name("summary.json"), None);
    }
}
