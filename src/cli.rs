//! The command line: `vesselscan detect` and `vesselscan adapters` (clap derive).

use crate::detect::{DetectOptions, ThresholdMode, DEFAULT_SIGMAS, DEFAULT_TILE_SIZE};
use crate::engine::{cpu::CpuEngine, gpu::GpuEngine, Engine};
use crate::error::{Error, Result};
use crate::read::{
    open_source, window_rows_for, ReadOptions, DEFAULT_MAX_PIXELS, DEFAULT_MEMORY_MB,
};
use crate::tiling::Connectivity;
use crate::write::{write_atomic, Format};
use clap::{Parser, Subcommand, ValueEnum};
use std::io::Write;
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "vesselscan",
    version,
    about = "Find ships in satellite images, on any GPU or the CPU"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Detect bright objects (vessels) in a raster and write one record per object.
    Detect(DetectArgs),
    /// Detect in many rasters: folders, globs, list files; resumable, shardable.
    Batch(BatchArgs),
    /// List the GPU adapters wgpu finds, as JSON.
    Adapters,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BackendChoice {
    /// The GPU when an adapter exists, else the CPU.
    Auto,
    Gpu,
    Cpu,
}

#[derive(Debug, clap::Args)]
pub struct DetectArgs {
    /// Input raster: GeoTIFF/TIFF/BigTIFF, PNG or JPEG.
    pub input: PathBuf,
    /// Output file (written atomically); stdout when absent.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Output format (default: from the output's extension, else json).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    #[command(flatten)]
    pub flags: DetectFlags,
}

#[derive(Debug, clap::Args)]
pub struct BatchArgs {
    /// Inputs: files, folders (searched recursively for .tif/.tiff/.png/.jpg/.jpeg), glob
    /// patterns (quoted, e.g. 'scenes/*.tif'), or list files (.txt/.lst, one path per line).
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    /// Output folder: one `<stem>.<format>` per input, and `summary.json`.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Output format of the per-file results.
    #[arg(long, value_enum, default_value_t = Format::Json)]
    pub format: Format,
    /// Redo files whose output already exists (by default they are skipped: resume).
    #[arg(long)]
    pub force: bool,
    /// Process only shard I of N (0 <= I < N), by a stable hash of each input path: run one
    /// process per shard (Slurm array task, Kubernetes indexed job) over the same inputs. Shards
    /// may share OUTDIR: each writes its own `summary.shard-I-of-N.json`.
    #[arg(long, value_name = "I/N", value_parser = parse_shard)]
    pub shard: Option<(u32, u32)>,
    /// Files processed at once, sharing --memory-mb (default: up to 4, no more than the cores,
    /// and at least 64 MiB each).
    #[arg(short, long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub jobs: Option<u64>,
    #[command(flatten)]
    pub flags: DetectFlags,
}

fn parse_shard(s: &str) -> std::result::Result<(u32, u32), String> {
    let (i, n) = s.split_once('/').ok_or("expected I/N, e.g. 0/4")?;
    let i: u32 = i
        .trim()
        .parse()
        .map_err(|_| format!("bad shard index {i:?}"))?;
    let n: u32 = n
        .trim()
        .parse()
        .map_err(|_| format!("bad shard count {n:?}"))?;
    if n == 0 || i >= n {
        return Err(format!("shard {i}/{n}: need 0 <= I < N"));
    }
    Ok((i, n))
}

/// The options shared by `detect` and `batch`.
#[derive(Debug, clap::Args)]
pub struct DetectFlags {
    /// Band to read, 1-based as in GDAL (default: 1; RGB pictures: luminance).
    #[arg(long)]
    pub band: Option<u32>,
    /// Nodata value (never a target); overrides the file's GDAL_NODATA tag.
    #[arg(long, allow_negative_numbers = true)]
    pub nodata: Option<f64>,
    /// A pixel is a target when its value >= V.
    #[arg(
        long,
        value_name = "V",
        allow_negative_numbers = true,
        conflicts_with = "otsu"
    )]
    pub threshold: Option<f64>,
    /// Threshold by Otsu's method on the scene histogram.
    #[arg(long)]
    pub otsu: bool,
    /// Threshold at mean + K standard deviations of the scene (the default, K = 5, when
    /// neither --threshold nor --otsu is given).
    #[arg(long, value_name = "K", conflicts_with_all = ["threshold", "otsu"])]
    pub sigma: Option<f64>,
    /// Pixel connectivity of objects.
    #[arg(long, default_value = "8", value_parser = ["4", "8"])]
    pub connectivity: String,
    /// Tile side in pixels; results are identical for every tile size.
    #[arg(long, value_name = "PX", default_value_t = DEFAULT_TILE_SIZE, value_parser = clap::value_parser!(u32).range(1..))]
    pub tile_size: u32,
    /// Drop objects smaller than this many pixels.
    #[arg(long, value_name = "PX", default_value_t = 1)]
    pub min_area: u64,
    /// Drop objects larger than this many pixels.
    #[arg(long, value_name = "PX")]
    pub max_area: Option<u64>,
    /// Compute backend.
    #[arg(long, value_enum, default_value_t = BackendChoice::Auto)]
    pub backend: BackendChoice,
    /// Use the first GPU adapter whose name contains this (case-insensitive).
    #[arg(long, value_name = "SUBSTRING")]
    pub adapter: Option<String>,
    /// Refuse rasters with more pixels than this.
    #[arg(long, default_value_t = DEFAULT_MAX_PIXELS, hide = true)]
    pub max_pixels: u64,
    /// Working-set cap per scene in MiB: TIFF scenes are read in windows of whole tile rows
    /// that fit it (results never depend on it).
    #[arg(long, value_name = "MB", default_value_t = DEFAULT_MEMORY_MB, value_parser = clap::value_parser!(u64).range(1..))]
    pub memory_mb: u64,
}

impl DetectFlags {
    pub fn read_options(&self) -> ReadOptions {
        ReadOptions {
            band: self.band,
            max_pixels: self.max_pixels,
        }
    }

    pub fn detect_options(&self) -> DetectOptions {
        DetectOptions {
            threshold: match (self.threshold, self.otsu) {
                (Some(v), _) => ThresholdMode::Fixed(v),
                (None, true) => ThresholdMode::Otsu,
                (None, false) => ThresholdMode::MeanStd(self.sigma.unwrap_or(DEFAULT_SIGMAS)),
            },
            nodata: self.nodata,
            connectivity: if self.connectivity == "4" {
                Connectivity::Four
            } else {
                Connectivity::Eight
            },
            tile_size: self.tile_size,
            min_area: self.min_area,
            max_area: self.max_area.unwrap_or(u64::MAX),
        }
    }
}

/// Open the backend asked for; `auto` falls back to the CPU when no adapter exists.
pub fn open_engine(choice: BackendChoice, adapter: Option<&str>) -> Result<Box<dyn Engine>> {
    match choice {
        BackendChoice::Cpu => Ok(Box::new(CpuEngine)),
        BackendChoice::Gpu => Ok(Box::new(GpuEngine::new(adapter)?)),
        BackendChoice::Auto => match GpuEngine::new(adapter) {
            Ok(g) => Ok(Box::new(g)),
            Err(e) if adapter.is_some() => Err(e),
            Err(e) => {
                eprintln!("vesselscan: {e}; using the CPU backend");
                Ok(Box::new(CpuEngine))
            }
        },
    }
}

fn check_output_folder(out: &std::path::Path) -> Result<()> {
    let dir = match out.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => std::path::Path::new("."),
    };
    if dir.is_dir() {
        return Ok(());
    }
    Err(Error::Write {
        path: out.to_owned(),
        source: std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("output folder {} does not exist", dir.display()),
        ),
    })
}

fn run_detect(a: &DetectArgs) -> Result<()> {
    let format = a.format.unwrap_or_else(|| match &a.output {
        Some(p) if p.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv")) => Format::Csv,
        _ => Format::Json,
    });
    // A bad output path fails before the work, not after.
    if let Some(out) = &a.output {
        check_output_folder(out)?;
    }
    let f = &a.flags;
    let mut src = open_source(&a.input, &f.read_options())?;
    let width = src.info().width;
    let engine = open_engine(f.backend, f.adapter.as_deref())?;
    let scene = crate::write::run_scene(
        engine.as_ref(),
        &a.input,
        src.as_mut(),
        Some(window_rows_for(width, f.memory_mb)),
        &f.detect_options(),
        format,
    )?;
    eprintln!("vesselscan: {}", scene.summary);
    match &a.output {
        Some(p) => write_atomic(p, &scene.bytes)?,
        None => {
            let mut so = std::io::stdout().lock();
            if let Err(e) = so.write_all(&scene.bytes).and_then(|_| so.flush()) {
                // A closed pipe (`| head`) is not an error.
                if e.kind() != std::io::ErrorKind::BrokenPipe {
                    return Err(Error::Write {
                        path: "<stdout>".into(),
                        source: e,
                    });
                }
            }
        }
    }
    Ok(())
}

fn run_batch(a: &BatchArgs) -> Result<bool> {
    use std::io::IsTerminal;
    let f = &a.flags;
    let inputs = crate::batch::expand_inputs(&a.inputs)?;
    let inputs = match a.shard {
        Some((i, n)) => crate::batch::shard(inputs, i, n),
        None => inputs,
    };
    std::fs::create_dir_all(&a.output).map_err(|source| Error::Write {
        path: a.output.clone(),
        source,
    })?;
    let engine = open_engine(f.backend, f.adapter.as_deref())?;
    let opts = crate::batch::BatchOptions {
        outdir: a.output.clone(),
        shard: a.shard,
        format: a.format,
        force: a.force,
        read: f.read_options(),
        memory_mb: f.memory_mb,
        jobs: crate::batch::jobs_for(a.jobs.map(|j| j as usize), inputs.len(), f.memory_mb),
        detect: f.detect_options(),
    };
    eprintln!(
        "vesselscan: {} files, {} at a time, {} MiB each",
        inputs.len(),
        opts.jobs,
        (f.memory_mb / opts.jobs as u64).max(1)
    );
    let bar = if std::io::stderr().is_terminal() {
        let b = indicatif::ProgressBar::new(inputs.len() as u64);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:30} {pos}/{len} files, {msg} [{elapsed_precise}, ETA {eta}]",
            )
            .expect("valid template"),
        );
        Some(b)
    } else {
        None
    };
    let t0 = std::time::Instant::now();
    let mpx = std::sync::Mutex::new(0.0f64);
    let summary = crate::batch::run_batch(engine.as_ref(), &inputs, &opts, &|r| {
        let rate = {
            let mut m = mpx.lock().expect("lock");
            *m += r.megapixels;
            *m / t0.elapsed().as_secs_f64().max(1e-9)
        };
        let line = match r.status {
            crate::batch::Status::Ok => {
                format!("{}: {} detections", r.input, r.detections.unwrap_or(0))
            }
            crate::batch::Status::Skipped => format!("{}: skipped (output exists)", r.input),
            // The error names the file already.
            crate::batch::Status::Error => r.error.clone().unwrap_or_default(),
        };
        match &bar {
            Some(b) => {
                b.set_message(format!("{rate:.1} Mpx/s"));
                if r.status == crate::batch::Status::Error {
                    b.println(format!("vesselscan: {line}"));
                }
                b.inc(1);
            }
            None => eprintln!("vesselscan: {line}"),
        }
    })?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    eprintln!(
        "vesselscan: {} files: {} ok, {} skipped, {} failed; summary in {}",
        summary.files.len(),
        summary.ok,
        summary.skipped,
        summary.failed,
        a.output.join(crate::batch::summary_name(a.shard)).display()
    );
    Ok(summary.failed == 0)
}

/// Run the parsed command line. `Ok(false)`: it ran, but some files failed (batch).
pub fn run(cli: &Cli) -> Result<bool> {
    match &cli.command {
        Command::Detect(a) => run_detect(a).map(|_| true),
        Command::Batch(a) => run_batch(a),
        Command::Adapters => {
            let list = crate::gpu::list_adapters();
            let mut s = serde_json::to_string_pretty(&list).expect("adapters serialise");
            s.push('\n');
            print!("{s}");
            Ok(true)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }
}
