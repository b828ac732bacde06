//! `vesselscan batch`: detection over whole archives.
//!
//! Inputs are expanded from files, folders (recursive), glob patterns and list files, sorted
//! and de-duplicated, so every run (and every shard) sees the same list. Each input gets one
//! output, `<stem>.<format>` in the output folder, written atomically; an input whose output
//! exists is skipped (resume) unless `force`. A bad file is reported and the run goes on.
//! `summary.json` lists every file with its status and is rewritten (atomically) after each
//! file, so a run killed at any moment loses nothing and restarts where it stopped.

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::read::{open_source, window_rows_for, ReadOptions};
use crate::write::{write_atomic, Format};
use serde::Serialize;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Extensions of the rasters searched for in folders.
pub const RASTER_EXTENSIONS: &[&str] = &["tif", "tiff", "png", "jpg", "jpeg"];

fn is_raster(p: &Path) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| RASTER_EXTENSIONS.iter().any(|x| x.eq_ignore_ascii_case(e)))
}

fn walk(dir: &Path, out: &mut BTreeSet<PathBuf>) -> Result<()> {
    let rd = std::fs::read_dir(dir).map_err(|source| Error::Io {
        path: dir.to_owned(),
        source,
    })?;
    for e in rd {
        let p = e
            .map_err(|source| Error::Io {
                path: dir.to_owned(),
                source,
            })?
            .path();
        if p.is_dir() {
            walk(&p, out)?;
        } else if is_raster(&p) {
            out.insert(p);
        }
    }
    Ok(())
}

/// Every input named by `args`: files as given (whatever their extension), folders searched
/// recursively for rasters, glob patterns (`*`, `?`, `[...]`) expanded, list files (`.txt` or
/// `.lst`: one path per line, `#` comments, relative paths from the list's folder) read.
/// Sorted, without duplicates. A name that matches nothing, or a folder with no raster, is an
/// error.
pub fn expand_inputs(args: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut out = BTreeSet::new();
    for a in args {
        let s = a.to_string_lossy();
        let ext = a.extension().and_then(|e| e.to_str()).unwrap_or("");
        if a.is_dir() {
            // A folder with no raster in it is most likely the wrong folder: say so, as for a
            // pattern that matches nothing.
            let mut found = BTreeSet::new();
            walk(a, &mut found)?;
            if found.is_empty() {
                return Err(Error::Invalid(format!(
                    "{}: no raster in this folder or below it (looked for .{})",
                    a.display(),
                    RASTER_EXTENSIONS.join(", .")
                )));
            }
            out.extend(found);
        } else if a.is_file()
            && (ext.eq_ignore_ascii_case("txt") || ext.eq_ignore_ascii_case("lst"))
        {
            let text = std::fs::read_to_string(a).map_err(|source| Error::Io {
                path: a.clone(),
                source,
            })?;
            let base = a.parent().unwrap_or(Path::new("."));
            let listed: Vec<PathBuf> = text
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(|l| {
                    let p = PathBuf::from(l);
                    if p.is_absolute() {
                        p
                    } else {
                        base.join(p)
                    }
                })
                .collect();
            out.extend(expand_inputs(&listed)?);
        } else if a.exists() {
            out.insert(a.clone());
        } else if s.contains(['*', '?', '[']) {
            let paths =
                glob::glob(&s).map_err(|e| Error::Invalid(format!("{s}: bad pattern: {e}")))?;
            let before = out.len();
            for p in paths.flatten() {
                if p.is_dir() {
                    walk(&p, &mut out)?;
                } else {
                    out.insert(p);
                }
            }
            if out.len() == before {
                return Err(Error::Invalid(format!("{s}: no file matches")));
            }
        } else {
            // Reported like a missing file anywhere else.
            return Err(Error::Io {
                path: a.clone(),
                source: std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "No such file or directory",
                ),
            });
        }
    }
    Ok(out.into_iter().collect())
}

/// Stable 64-bit FNV-1a hash of a path's text: the same file lands in the same shard on every
/// machine and as the archive grows.
pub fn path_hash(p: &Path) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in p.to_string_lossy().as_bytes() {
        h ^= *b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// The inputs of shard `i` of `n` (0 <= i < n): disjoint shards that cover all inputs.
pub fn shard(inputs: Vec<PathBuf>, i: u32, n: u32) -> Vec<PathBuf> {
    inputs
        .into_iter()
        .filter(|p| path_hash(p) % n as u64 == i as u64)
        .collect()
}

/// Output path of each input: `<stem>.<ext>` in `outdir`; inputs that share a stem get the
/// first 8 hex digits of their path hash appended, so no two inputs write the same file.
pub fn output_paths(inputs: &[PathBuf], outdir: &Path, format: Format) -> Vec<PathBuf> {
    let ext = format.extension();
    let stem = |p: &PathBuf| {
        p.file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    let mut count = std::collections::HashMap::new();
    for p in inputs {
        *count.entry(stem(p)).or_insert(0) += 1;
    }
    inputs
        .iter()
        .map(|p| {
            let s = stem(p);
            let name = if count[&s] > 1 || s == "summary" {
                format!("{s}-{:08x}.{ext}", path_hash(p) >> 32)
            } else {
                format!("{s}.{ext}")
            };
            outdir.join(name)
        })
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Error,
    Skipped,
}

/// One line of `summary.json`.
#[derive(Debug, Clone, Serialize)]
pub struct FileReport {
    pub input: String,
    pub output: String,
    pub status: Status,
    /// Detections written (None when skipped or failed).
    pub detections: Option<usize>,
    /// With `--ais`: detections no AIS vessel matched.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dark: Option<usize>,
    pub seconds: f64,
    pub error: Option<String>,
    /// Pixels of the scene, in millions (0 when skipped or unreadable).
    #[serde(skip)]
    pub megapixels: f64,
}

/// `summary.json`.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Summary {
    pub ok: usize,
    pub skipped: usize,
    pub failed: usize,
    pub files: Vec<FileReport>,
}

pub struct BatchOptions {
    pub outdir: PathBuf,
    /// `(i, n)` when this run is one shard: its summary is `summary.shard-<i>-of-<n>.json`, so
    /// shards can share one output folder.
    pub shard: Option<(u32, u32)>,
    pub format: Format,
    /// Feature geometry of GeoJSON outputs.
    pub geometry: crate::write::Geometry,
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

/// Process `inputs`, `opts.jobs` files at a time, each within its share of `memory_mb`, calling
/// `progress` as each file ends (from the worker threads). Errors of single files are in the
/// summary; only a failure to write the summary itself is returned as an error. The summary
/// is rewritten after every file, listing the files done so far in input order.
pub fn run_batch(
    engine: &dyn Engine,
    inputs: &[PathBuf],
    opts: &BatchOptions,
    progress: &(dyn Fn(&FileReport) + Sync),
) -> Result<Summary> {
    let outputs = output_paths(inputs, &opts.outdir, opts.format);
    let summary_path = opts.outdir.join(summary_name(opts.shard));
    let jobs = opts.jobs.clamp(1, inputs.len().max(1));
    let pool = MemoryPool::new(opts.memory_mb, jobs);
    let done: std::sync::Mutex<Vec<Option<FileReport>>> =
        std::sync::Mutex::new(vec![None; inputs.len()]);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let first_err: std::sync::Mutex<Option<Error>> = std::sync::Mutex::new(None);
    let worker = || loop {
        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if i >= inputs.len() || first_err.lock().expect("lock").is_some() {
            return;
        }
        let rep = run_one(engine, &inputs[i], &outputs[i], opts, &pool);
        progress(&rep);
        let mut d = done.lock().expect("lock");
        d[i] = Some(rep);
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
    let files: Vec<FileReport> = done.iter().flatten().cloned().collect();
    let count = |s: Status| files.iter().filter(|f| f.status == s).count();
    Summary {
        ok: count(Status::Ok),
        skipped: count(Status::Skipped),
        failed: count(Status::Error),
        files,
    }
}

/// One input: skipped if its output exists (unless `force`), else detected and written.
fn run_one(
    engine: &dyn Engine,
    input: &Path,
    output: &Path,
    opts: &BatchOptions,
    memory: &MemoryPool,
) -> FileReport {
    let t0 = std::time::Instant::now();
    let mut waited = std::time::Duration::ZERO;
    let mut rep = FileReport {
        input: input.display().to_string(),
        output: output.display().to_string(),
        status: Status::Ok,
        detections: None,
        dark: None,
        seconds: 0.0,
        error: None,
        megapixels: 0.0,
    };
    if output.exists() && !opts.force {
        rep.status = Status::Skipped;
    } else {
        let r = open_source(input, &opts.read).and_then(|mut src| {
            let info = src.info();
            rep.megapixels = info.width as f64 * info.height as f64 / 1e6;
            let detect = opts.detect.options_for(input, src.as_mut())?;
            let wanted = crate::detect::memory_wanted_mb(src.as_ref(), &detect)?;
            let asked = std::time::Instant::now();
            let grant = memory.take_for(wanted);
            waited = asked.elapsed();
            let rows = window_rows_for(info.width, grant.mb);
            let run = crate::write::run_scene(
                engine,
                input,
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
            write_atomic(output, &run.bytes)?;
            Ok((run.detections, run.dark))
        });
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_partition_the_inputs() {
        let inputs: Vec<PathBuf> = (0..200)
            .map(|i| PathBuf::from(format!("a/scene_{i}.tif")))
            .collect();
        let mut all: Vec<PathBuf> = (0..7).flat_map(|i| shard(inputs.clone(), i, 7)).collect();
        all.sort();
        let mut want = inputs.clone();
        want.sort();
        assert_eq!(all, want);
        assert!((0..7).all(|i| !shard(inputs.clone(), i, 7).is_empty()));
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
        let inputs = vec![
            PathBuf::from("a/x.tif"),
            PathBuf::from("b/x.tif"),
            PathBuf::from("c/y.png"),
        ];
        let o = output_paths(&inputs, Path::new("out"), Format::Csv);
        assert_eq!(o[2], PathBuf::from("out/y.csv"));
        assert_ne!(o[0], o[1]);
        assert!(o[0].to_string_lossy().starts_with("out/x-"));
    }
}
