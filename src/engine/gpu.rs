//! GPU backend: runs the WGSL kernels of `shaders/` on batches of tiles through wgpu.
//!
//! Per batch: upload tile descriptors and samples; one compute pass of mask (which also makes
//! the foreground nodes roots), label_merge, label_compact (path compression and root ids in
//! one dispatch), measure and seam_export: five dispatches (wgpu orders the
//! dispatches, and each dispatch boundary is the device-wide barrier the union-find needs);
//! read back the component count with the border labels (one round trip), then exactly
//! `count` records. The records buffer is sized for the components the batch is expected to
//! have, not the most it could have (so batches hold 16 Mpx, not one 2048^2 tile): a count
//! beyond it runs the batch again with room for all (`GpuEngine::label_tiles`). The label
//! image never leaves the GPU. Device buffers are pooled and
//! reused from batch to batch (grown to powers of two), so a scene's batches allocate nothing
//! and wgpu zero-fills nothing after the first.

use super::{BatchLabels, Engine};
use crate::error::{Error, Result};
use crate::gpu::GpuContext;
use crate::profile::{self, Stage};
use crate::tiling::{Batch, BatchLimits, Params, CFAR_ROW_WORDS, FLAG_CFAR, REC_WORDS};

/// One dispatch: its stage (for profiling), pipeline, bind group and workgroup counts.
type Step<'p> = (Stage, &'p wgpu::ComputePipeline, wgpu::BindGroup, [u32; 3]);

pub struct GpuEngine {
    pub ctx: GpuContext,
    /// Device buffers kept from batch to batch (one set per batch in flight: `batch -j`
    /// shares the engine between threads), so a scene's batches neither allocate nor have wgpu
    /// zero-fill fresh buffers: every kernel writes what it later reads, as on the CPU.
    pool: std::sync::Mutex<Vec<Buffers>>,
    /// Records a batch starts with, per 2^20 pixels: the most seen so far (see `label_tiles`).
    records_per_mpx: std::sync::atomic::AtomicU64,
    /// Bytes of records one run of the labelling may bind; more, and the tiles are split.
    records_limit: u64,
}

/// A set of reusable device buffers, each grown (never shrunk) to what a batch needs.
#[derive(Default)]
struct Buffers {
    slots: std::collections::HashMap<&'static str, wgpu::Buffer>,
}

/// Components a batch's records start with, per 2^20 pixels, until batches show more: 0.4 %
/// of the pixels (a sea scene at 1.5 % targets has about 0.1 %).
const INITIAL_RECORDS_PER_MPX: u64 = 4096;

/// `VESSELSCAN_GPU_RECORDS=worst`: records sized for the most components a batch could have,
/// and batches bounded by it, as before records were sized on demand.
fn worst_case_records() -> bool {
    static WORST: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *WORST.get_or_init(|| std::env::var("VESSELSCAN_GPU_RECORDS").is_ok_and(|v| v == "worst"))
}

/// Usage of the storage buffers the kernels read or write.
const STORAGE: wgpu::BufferUsages = wgpu::BufferUsages::STORAGE
    .union(wgpu::BufferUsages::COPY_SRC)
    .union(wgpu::BufferUsages::COPY_DST);

impl Buffers {
    /// Buffer `name` of at least `words` u32 (and 1) with `usage`, reused when big enough.
    fn get(
        &mut self,
        device: &wgpu::Device,
        name: &'static str,
        words: u64,
        usage: wgpu::BufferUsages,
    ) -> wgpu::Buffer {
        let size = words.max(1) * 4;
        if let Some(b) = self.slots.get(name) {
            if b.size() >= size && b.usage() == usage {
                return b.clone();
            }
        }
        // Drop the old one first, so the two are never held together.
        self.slots.remove(name);
        // Round up to a power of two (at least 4 KiB; never past the binding limit, which
        // batches respect): batches of one scene differ in size.
        let cap = device.limits().max_storage_buffer_binding_size.max(size);
        let size = size.next_power_of_two().max(4096).min(cap);
        let b = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(name),
            size,
            usage,
            mapped_at_creation: false,
        });
        self.slots.insert(name, b.clone());
        b
    }
}

impl GpuEngine {
    pub fn new(adapter: Option<&str>) -> Result<GpuEngine> {
        Ok(GpuEngine::of(GpuContext::new(adapter)?))
    }

    /// The engine of an opened device.
    pub fn of(ctx: GpuContext) -> GpuEngine {
        let records_limit = ctx.limits.max_storage_buffer_binding_size;
        // The worst case: one component per 2x2 block (8-connectivity) or per pixel.
        let per_mpx = if worst_case_records() {
            1 << 20
        } else {
            INITIAL_RECORDS_PER_MPX
        };
        GpuEngine {
            ctx,
            pool: Default::default(),
            records_per_mpx: per_mpx.into(),
            records_limit,
        }
    }

    /// The engine with records sized for `per_mpx` components per 2^20 pixels at first and
    /// at most `limit` bytes of records a run (for tests of the overflow paths; `limit` below
    /// one tile's count still runs that tile whole).
    pub fn with_records(mut self, per_mpx: u64, limit: u64) -> GpuEngine {
        self.records_per_mpx = per_mpx.into();
        self.records_limit = limit.min(self.records_limit);
        self
    }

    /// Run `f` with a set of reusable buffers (taken from the pool, or new), then return them.
    fn with_buffers<T>(&self, f: impl FnOnce(&mut Buffers) -> T) -> T {
        let mut b = self
            .pool
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop()
            .unwrap_or_default();
        let r = f(&mut b);
        self.pool.lock().unwrap_or_else(|e| e.into_inner()).push(b);
        r
    }

    /// Buffer `name` from `bufs` holding `data` (uploaded through the queue; at least one word).
    fn upload(
        &self,
        bufs: &mut Buffers,
        name: &'static str,
        data: &[u32],
        usage: wgpu::BufferUsages,
    ) -> wgpu::Buffer {
        let b = bufs.get(&self.ctx.device, name, data.len() as u64, usage);
        if !data.is_empty() {
            self.ctx
                .queue
                .write_buffer(&b, 0, bytemuck::cast_slice(data));
        }
        b
    }

    fn bind(
        &self,
        pipeline: &wgpu::ComputePipeline,
        entries: &[(u32, &wgpu::Buffer)],
    ) -> wgpu::BindGroup {
        let entries: Vec<wgpu::BindGroupEntry> = entries
            .iter()
            .map(|(b, buf)| wgpu::BindGroupEntry {
                binding: *b,
                resource: buf.as_entire_binding(),
            })
            .collect();
        self.ctx
            .device
            .create_bind_group(&wgpu::BindGroupDescriptor {
                label: None,
                layout: &pipeline.get_bind_group_layout(0),
                entries: &entries,
            })
    }

    /// Copy `words` u32 from `src` and wait for them (through a staging buffer of its own).
    fn read_back(&self, src: &wgpu::Buffer, words: u32) -> Result<Vec<u32>> {
        Ok(self
            .read_many(&mut Buffers::default(), &[(src, words)])?
            .remove(0))
    }

    /// Copy the first `words` u32 of each buffer into one staging buffer of `bufs` and wait
    /// once for all of them.
    fn read_many(
        &self,
        bufs: &mut Buffers,
        parts: &[(&wgpu::Buffer, u32)],
    ) -> Result<Vec<Vec<u32>>> {
        let total: u64 = parts.iter().map(|p| p.1 as u64).sum();
        if total == 0 {
            return Ok(parts.iter().map(|_| Vec::new()).collect());
        }
        let usage = wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST;
        let staging = bufs.get(&self.ctx.device, "vesselscan.readback", total, usage);
        let mut enc = self.ctx.device.create_command_encoder(&Default::default());
        let mut off = 0u64;
        for (src, words) in parts {
            if *words > 0 {
                enc.copy_buffer_to_buffer(src, 0, &staging, off * 4, *words as u64 * 4);
            }
            off += *words as u64;
        }
        self.ctx.queue.submit([enc.finish()]);
        let slice = staging.slice(..total * 4);
        let (tx, rx) = std::sync::mpsc::channel();
        slice.map_async(wgpu::MapMode::Read, move |r| {
            let _ = tx.send(r);
        });
        self.ctx
            .device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| Error::Gpu(format!("poll: {e}")))?;
        rx.recv()
            .map_err(|_| Error::Gpu("readback channel closed".into()))?
            .map_err(|e| Error::Gpu(format!("map: {e}")))?;
        let out = {
            let view = slice
                .get_mapped_range()
                .map_err(|e| Error::Gpu(format!("mapped range: {e}")))?;
            let all = bytemuck::cast_slice::<u8, u32>(&view);
            let mut at = 0usize;
            parts
                .iter()
                .map(|&(_, w)| {
                    let v = all[at..at + w as usize].to_vec();
                    at += w as usize;
                    v
                })
                .collect()
        };
        staging.unmap();
        Ok(out)
    }

    /// Run `f` inside an error scope and turn any wgpu error into [`Error::Gpu`].
    fn scoped<T>(&self, what: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
        let oom = self
            .ctx
            .device
            .push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let val = self
            .ctx
            .device
            .push_error_scope(wgpu::ErrorFilter::Validation);
        let r = f();
        let e1 = pollster::block_on(val.pop());
        let e2 = pollster::block_on(oom.pop());
        if let Some(e) = e1.or(e2) {
            return Err(Error::Gpu(format!("{what}: {e}")));
        }
        r
    }

    fn common(
        &self,
        bufs: &mut Buffers,
        params: &Params,
        batch: &Batch,
        samples: &[u32],
    ) -> (wgpu::Buffer, wgpu::Buffer, wgpu::Buffer) {
        let (pbuf, sbuf) = self.params_and_samples(bufs, params, samples);
        (pbuf, self.upload_tiles(bufs, &batch.tiles), sbuf)
    }

    /// The params (uniform) and the samples of a batch.
    fn params_and_samples(
        &self,
        bufs: &mut Buffers,
        params: &Params,
        samples: &[u32],
    ) -> (wgpu::Buffer, wgpu::Buffer) {
        let u = wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST;
        let p = bytemuck::cast_slice(std::slice::from_ref(params));
        let pbuf = self.upload(bufs, "vesselscan.params", p, u);
        let sbuf = self.upload(bufs, "vesselscan.samples", samples, STORAGE);
        (pbuf, sbuf)
    }

    /// The tile descriptors a dispatch's `workgroup_id.z` indexes.
    fn upload_tiles(&self, bufs: &mut Buffers, tiles: &[crate::tiling::TileDesc]) -> wgpu::Buffer {
        self.upload(
            bufs,
            "vesselscan.tiles",
            bytemuck::cast_slice(tiles),
            STORAGE,
        )
    }

    /// The two CFAR dispatches of a batch, writing the block masks: cfar_rows (the rings read
    /// `ring`, the pixels that enter the statistics) and cfar (targets among `water`).
    /// Buffers: params, tiles, samples, mask, parent (cfar makes the foreground nodes roots),
    /// water, ring.
    fn cfar_steps<'p>(
        &'p self,
        bufs: &mut Buffers,
        batch: &Batch,
        [pbuf, tbuf, sbuf, mask, parent, wbuf, ring]: [&wgpu::Buffer; 7],
    ) -> Vec<Step<'p>> {
        let pl = &self.ctx.pipelines;
        let c = bytemuck::cast_slice(&batch.cfar);
        let cbuf = self.upload(bufs, "vesselscan.cfar", c, STORAGE);
        let rowsums = bufs.get(
            &self.ctx.device,
            "vesselscan.rowsums",
            batch.rowsums as u64 * CFAR_ROW_WORDS as u64,
            STORAGE,
        );
        let nt = batch.tiles.len() as u32;
        let eh = batch.cfar.iter().map(|c| c.ext_h).max().unwrap_or(1);
        let tw = batch.tiles.iter().map(|t| t.w).max().unwrap_or(1);
        let bw = batch.tiles.iter().map(|t| t.blocks_w()).max().unwrap_or(1);
        let bh = batch.tiles.iter().map(|t| t.blocks_h()).max().unwrap_or(1);
        vec![
            (
                Stage::Mask,
                &pl.cfar_rows,
                self.bind(
                    &pl.cfar_rows,
                    &[
                        (0, pbuf),
                        (1, tbuf),
                        (2, sbuf),
                        (10, &cbuf),
                        (11, ring),
                        (12, &rowsums),
                    ],
                ),
                // An invocation per extended row and chunk of 64 columns (cfar_rows.wgsl).
                [groups(eh, 64), groups(tw, 64), nt],
            ),
            (
                Stage::Mask,
                &pl.cfar,
                self.bind(
                    &pl.cfar,
                    &[
                        (0, pbuf),
                        (1, tbuf),
                        (2, sbuf),
                        (3, mask),
                        (4, parent),
                        (10, &cbuf),
                        (11, wbuf),
                        (12, &rowsums),
                    ],
                ),
                // An invocation per block column and chunk of 32 block rows (cfar.wgsl).
                [groups(bw, 64), groups(bh, 32), nt],
            ),
        ]
    }

    /// Record `steps` in one compute pass and submit them. When profiling, each step gets its
    /// own pass, timed by timestamp queries where the device has them (else one submission per
    /// step, waited for), and the times go to the steps' stages.
    fn submit(&self, label: &str, clear: Option<&wgpu::Buffer>, steps: &[Step]) -> Result<()> {
        let encoder = || {
            let mut enc = self
                .ctx
                .device
                .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some(label) });
            if let Some(c) = clear {
                enc.clear_buffer(c, 0, None);
            }
            enc
        };
        let pass = |enc: &mut wgpu::CommandEncoder,
                    steps: &[Step],
                    ts: Option<wgpu::ComputePassTimestampWrites>| {
            let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some(label),
                timestamp_writes: ts,
            });
            for (_, p, bg, [x, y, z]) in steps {
                pass.set_pipeline(p);
                pass.set_bind_group(0, bg, &[]);
                pass.dispatch_workgroups(*x, *y, *z);
            }
        };
        if !profile::enabled() || steps.is_empty() {
            let mut enc = encoder();
            pass(&mut enc, steps, None);
            self.ctx.queue.submit([enc.finish()]);
            return Ok(());
        }
        if self.ctx.timestamps {
            let n = 2 * steps.len() as u32;
            let qs = self.ctx.device.create_query_set(&wgpu::QuerySetDescriptor {
                label: Some("vesselscan.timestamps"),
                ty: wgpu::QueryType::Timestamp,
                count: n,
            });
            let resolved = self.ctx.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("vesselscan.timestamps"),
                size: n as u64 * 8,
                usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
                mapped_at_creation: false,
            });
            let mut enc = encoder();
            for (i, step) in steps.iter().enumerate() {
                let i = i as u32;
                let ts = wgpu::ComputePassTimestampWrites {
                    query_set: &qs,
                    beginning_of_pass_write_index: Some(2 * i),
                    end_of_pass_write_index: Some(2 * i + 1),
                };
                pass(&mut enc, std::slice::from_ref(step), Some(ts));
            }
            enc.resolve_query_set(&qs, 0..n, &resolved, 0);
            self.ctx.queue.submit([enc.finish()]);
            let words = self.read_back(&resolved, 2 * n)?;
            let period = self.ctx.queue.get_timestamp_period() as f64;
            for (i, (stage, ..)) in steps.iter().enumerate() {
                let t = |k: usize| words[2 * k] as u64 | (words[2 * k + 1] as u64) << 32;
                let ns = t(2 * i + 1).saturating_sub(t(2 * i)) as f64 * period;
                profile::add(*stage, std::time::Duration::from_nanos(ns as u64));
            }
            profile::mark_timestamps();
        } else {
            for (i, step) in steps.iter().enumerate() {
                let t0 = std::time::Instant::now();
                let mut enc = if i == 0 {
                    encoder()
                } else {
                    self.ctx.device.create_command_encoder(&Default::default())
                };
                pass(&mut enc, std::slice::from_ref(step), None);
                self.ctx.queue.submit([enc.finish()]);
                self.ctx
                    .device
                    .poll(wgpu::PollType::wait_indefinitely())
                    .map_err(|e| Error::Gpu(format!("poll: {e}")))?;
                profile::add(step.0, t0.elapsed());
            }
        }
        Ok(())
    }

    /// Submit one dispatch of `p` with one invocation per pixel of the batch's largest tile
    /// (16 x 16 workgroups, `workgroup_id.z` the tile), after clearing `clear` if given.
    fn dispatch_pixels(
        &self,
        p: &wgpu::ComputePipeline,
        bg: &wgpu::BindGroup,
        batch: &Batch,
        clear: Option<&wgpu::Buffer>,
    ) {
        let (mw, mh) = max_dims(batch);
        let mut enc = self.ctx.device.create_command_encoder(&Default::default());
        if let Some(c) = clear {
            enc.clear_buffer(c, 0, None);
        }
        {
            let mut pass = enc.begin_compute_pass(&Default::default());
            pass.set_pipeline(p);
            pass.set_bind_group(0, bg, &[]);
            pass.dispatch_workgroups(groups(mw, 16), groups(mh, 16), batch.tiles.len() as u32);
        }
        self.ctx.queue.submit([enc.finish()]);
    }
}

impl GpuEngine {
    /// Records the engine starts a batch with, per 2^20 pixels: the most any batch of the
    /// engine has had so far, a quarter more.
    fn records_for(&self, pixels: u64) -> u64 {
        let per_mpx = self
            .records_per_mpx
            .load(std::sync::atomic::Ordering::Relaxed);
        ((pixels * per_mpx) >> 20) * 5 / 4 + 64
    }

    /// Label tiles `range` of `batch` (whose samples, water and ring planes are uploaded:
    /// `[params, samples, water, ring]`) into `out`: their records appended (`R_TILE` the
    /// batch's tile index), their border labels in place (ids into `out.records`).
    ///
    /// Records sized on demand: the records buffer holds what the tiles are expected to have
    /// ([`Self::records_for`]); the kernels count every component but write only those that
    /// fit. When the count comes back larger, the tiles run again with room for all of them, or,
    /// when all of them would not fit `records_limit`, in two halves.
    fn label_tiles(
        &self,
        bufs: &mut Buffers,
        params: &Params,
        batch: &Batch,
        range: std::ops::Range<usize>,
        [pbuf, sbuf, wbuf, ring]: [&wgpu::Buffer; 4],
        out: &mut BatchLabels,
    ) -> Result<()> {
        let conn = crate::cpu::conn(params);
        let sub = Batch {
            tiles: batch.tiles[range.clone()].to_vec(),
            cfar: batch.cfar.get(range.clone()).unwrap_or_default().to_vec(),
            // The tiles' offsets are the batch's: the buffers keep its sizes.
            ..*batch
        };
        let pixels: u64 = sub.tiles.iter().map(|t| u64::from(t.pixels())).sum();
        let most: u64 = sub
            .tiles
            .iter()
            .map(|t| u64::from(t.max_components(conn)))
            .sum();
        let rec_bytes = u64::from(REC_WORDS) * 4;
        let fit = (self.records_limit / rec_bytes).max(1);
        let mut want = self.records_for(pixels).clamp(1, most.max(1)).min(fit);
        let tbuf = profile::time(Stage::Upload, || self.upload_tiles(bufs, &sub.tiles));
        loop {
            let records = bufs.get(
                &self.ctx.device,
                "vesselscan.records",
                want * u64::from(REC_WORDS),
                STORAGE,
            );
            // The kernels fill what the buffer holds (it may be larger than asked for).
            let room = records.size() / rec_bytes;
            let bound = [pbuf, &tbuf, sbuf, wbuf, ring];
            let (count, border) = self.label_pass(bufs, params, &sub, bound, &records)?;
            if u64::from(count) > room {
                if u64::from(count) > fit && range.len() > 1 {
                    // Back to the pool: the halves take it again, grown if they must.
                    drop(records);
                    let mid = range.start + range.len() / 2;
                    let up = [pbuf, sbuf, wbuf, ring];
                    self.label_tiles(bufs, params, batch, range.start..mid, up, out)?;
                    return self.label_tiles(bufs, params, batch, mid..range.end, up, out);
                }
                want = u64::from(count);
                continue;
            }
            let per_mpx = (u64::from(count) << 20).div_ceil(pixels.max(1));
            self.records_per_mpx
                .fetch_max(per_mpx, std::sync::atomic::Ordering::Relaxed);
            let recs = profile::time(Stage::Readback, || {
                self.read_many(bufs, &[(&records, count * REC_WORDS)])
            })?
            .remove(0);
            let base = (out.records.len() / REC_WORDS as usize) as u32;
            for rec in recs.chunks_exact(REC_WORDS as usize) {
                let at = out.records.len();
                out.records.extend_from_slice(rec);
                out.records[at + crate::cpu::measure::R_TILE] += range.start as u32;
            }
            for t in &sub.tiles {
                let s = t.border_off as usize..(t.border_off + t.border_len()) as usize;
                for (o, &c) in out.border[s.clone()].iter_mut().zip(&border[s]) {
                    *o = if c == crate::cpu::NONE { c } else { base + c };
                }
            }
            return Ok(());
        }
    }

    /// One run of the labelling dispatches over `sub`'s tiles with `records`; the component
    /// count and the border labels come back in one round trip.
    fn label_pass(
        &self,
        bufs: &mut Buffers,
        params: &Params,
        batch: &Batch,
        [pbuf, tbuf, sbuf, wbuf, ring]: [&wgpu::Buffer; 5],
        records: &wgpu::Buffer,
    ) -> Result<(u32, Vec<u32>)> {
        let pl = &self.ctx.pipelines;
        let d = &self.ctx.device;
        let mask = bufs.get(d, "vesselscan.mask", batch.blocks as u64, STORAGE);
        let parent = bufs.get(d, "vesselscan.parent", batch.nodes as u64, STORAGE);
        let remap = bufs.get(d, "vesselscan.remap", batch.nodes as u64, STORAGE);
        let counters = bufs.get(d, "vesselscan.counters", 4, STORAGE);
        let border = bufs.get(d, "vesselscan.border", batch.border as u64, STORAGE);

        let conn = crate::cpu::conn(params);
        let nt = batch.tiles.len() as u32;
        let most = |f: &dyn Fn(&crate::tiling::TileDesc) -> u32| {
            batch.tiles.iter().map(f).max().unwrap_or(1)
        };
        let (bw, bh) = (most(&|t| t.blocks_w()), most(&|t| t.blocks_h()));
        let (nw, nh) = (most(&|t| t.nodes_w(conn)), most(&|t| t.nodes_h(conn)));
        let bl = most(&|t| t.border_len());

        let mut steps: Vec<Step> = Vec::new();
        if params.flags & FLAG_CFAR != 0 {
            let b = [pbuf, tbuf, sbuf, &mask, &parent, wbuf, ring];
            steps.extend(self.cfar_steps(bufs, batch, b));
        } else {
            let bg = self.bind(
                &pl.mask,
                &[
                    (0, pbuf),
                    (1, tbuf),
                    (2, sbuf),
                    (3, &mask),
                    (4, &parent),
                    (11, wbuf),
                ],
            );
            steps.push((
                Stage::Mask,
                &pl.mask,
                bg,
                [groups(bw, 16), groups(bh, 16), nt],
            ));
        }
        let merge = self.bind(
            &pl.label_merge,
            &[(0, pbuf), (1, tbuf), (3, &mask), (4, &parent)],
        );
        let compact = self.bind(
            &pl.label_compact,
            &[
                (0, pbuf),
                (1, tbuf),
                (3, &mask),
                (4, &parent),
                (5, &remap),
                (6, records),
                (7, &counters),
            ],
        );
        let measure = self.bind(
            &pl.measure,
            &[
                (0, pbuf),
                (1, tbuf),
                (2, sbuf),
                (3, &mask),
                (4, &parent),
                (5, &remap),
                (6, records),
            ],
        );
        let seams = self.bind(
            &pl.seam_export,
            &[
                (0, pbuf),
                (1, tbuf),
                (3, &mask),
                (4, &parent),
                (5, &remap),
                (8, &border),
            ],
        );
        let nodes = [groups(nw, 16), groups(nh, 16), nt];
        steps.extend([
            (Stage::Label, &pl.label_merge, merge, nodes),
            (Stage::Label, &pl.label_compact, compact, nodes),
            (
                Stage::Measure,
                &pl.measure,
                measure,
                [groups(bw, 16), groups(bh, 16), nt],
            ),
            (
                Stage::SeamExport,
                &pl.seam_export,
                seams,
                [groups(bl, 64), 1, nt],
            ),
        ]);
        self.submit("vesselscan.label", Some(&counters), &steps)?;
        profile::time(Stage::Readback, || {
            let mut got = self.read_many(bufs, &[(&counters, 1), (&border, batch.border)])?;
            let border = got.pop().unwrap_or_default();
            Ok((got[0][0], border))
        })
    }
}

/// Workgroups of `size` covering `n`.
fn groups(n: u32, size: u32) -> u32 {
    n.div_ceil(size).max(1)
}

impl Engine for GpuEngine {
    fn backend(&self) -> &'static str {
        "gpu"
    }
    fn adapter(&self) -> Option<String> {
        Some(self.ctx.adapter.name.clone())
    }
    fn batch_limits(&self) -> BatchLimits {
        BatchLimits {
            max_binding: self.ctx.limits.max_storage_buffer_binding_size,
            max_tiles: self.ctx.limits.max_compute_workgroups_per_dimension,
            // Records are sized on demand (`label_tiles`), so a batch holds 16 Mpx: four
            // 2048^2 tiles (64 MB of packed samples, two batches in flight).
            // VESSELSCAN_GPU_RECORDS=worst sizes them for the worst case again, in batches of
            // 4 Mpx (for A/B benches on a device).
            max_pixels: if worst_case_records() {
                1 << 22
            } else {
                1 << 24
            },
            records_on_demand: !worst_case_records(),
        }
    }
    fn parallel(&self) -> bool {
        false
    }
    fn packs_16bit(&self) -> bool {
        // VESSELSCAN_GPU_PACK16=0 sends one key a word (for A/B benches on a device).
        static PACK: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        *PACK.get_or_init(|| std::env::var("VESSELSCAN_GPU_PACK16").map_or(true, |v| v != "0"))
    }

    fn minmax(&self, params: &Params, batch: &Batch, samples: &[u32]) -> Result<[u32; 2]> {
        self.scoped("minmax", || {
            self.with_buffers(|bufs| {
                let (pbuf, tbuf, sbuf) = self.common(bufs, params, batch, samples);
                let counters =
                    self.upload(bufs, "vesselscan.counters", &[u32::MAX, 0, 0, 0], STORAGE);
                let p = &self.ctx.pipelines.minmax;
                let bg = self.bind(p, &[(0, &pbuf), (1, &tbuf), (2, &sbuf), (7, &counters)]);
                self.dispatch_pixels(p, &bg, batch, None);
                let c = self.read_many(bufs, &[(&counters, 2)])?.remove(0);
                Ok([c[0], c[1]])
            })
        })
    }

    fn histogram(&self, params: &Params, batch: &Batch, samples: &[u32]) -> Result<Vec<u32>> {
        self.scoped("histogram", || {
            self.with_buffers(|bufs| {
                let (pbuf, tbuf, sbuf) = self.common(bufs, params, batch, samples);
                let hist = bufs.get(
                    &self.ctx.device,
                    "vesselscan.hist",
                    params.hist_bins as u64,
                    STORAGE,
                );
                let p = &self.ctx.pipelines.histogram;
                let bg = self.bind(p, &[(0, &pbuf), (1, &tbuf), (2, &sbuf), (9, &hist)]);
                self.dispatch_pixels(p, &bg, batch, Some(&hist));
                Ok(self
                    .read_many(bufs, &[(&hist, params.hist_bins)])?
                    .remove(0))
            })
        })
    }

    fn label(
        &self,
        params: &Params,
        batch: &Batch,
        samples: &[u32],
        water: &[u32],
        stats: &[u32],
    ) -> Result<BatchLabels> {
        self.scoped("label", || {
            self.with_buffers(|bufs| {
                let (pbuf, sbuf, wbuf, rbuf) = profile::time(Stage::Upload, || {
                    let (p, sm) = self.params_and_samples(bufs, params, samples);
                    let w = self.upload(bufs, "vesselscan.water", water, STORAGE);
                    let r = (!stats.is_empty())
                        .then(|| self.upload(bufs, "vesselscan.stats", stats, STORAGE));
                    (p, sm, w, r)
                });
                let mut out = BatchLabels {
                    records: Vec::new(),
                    border: vec![crate::cpu::NONE; batch.border as usize],
                };
                let uploaded = [&pbuf, &sbuf, &wbuf, rbuf.as_ref().unwrap_or(&wbuf)];
                self.label_tiles(
                    bufs,
                    params,
                    batch,
                    0..batch.tiles.len(),
                    uploaded,
                    &mut out,
                )?;
                Ok(out)
            })
        })
    }

    fn cfar_mask(
        &self,
        params: &Params,
        batch: &Batch,
        samples: &[u32],
        water: &[u32],
    ) -> Result<Vec<u32>> {
        self.scoped("cfar", || {
            self.with_buffers(|bufs| {
                let (pbuf, tbuf, sbuf, wbuf) = profile::time(Stage::Upload, || {
                    let (p, t, sm) = self.common(bufs, params, batch, samples);
                    (
                        p,
                        t,
                        sm,
                        self.upload(bufs, "vesselscan.water", water, STORAGE),
                    )
                });
                let mask = bufs.get(
                    &self.ctx.device,
                    "vesselscan.mask",
                    batch.blocks as u64,
                    STORAGE,
                );
                // Bound because cfar also makes roots; the labelling pass reuses it.
                let parent = bufs.get(
                    &self.ctx.device,
                    "vesselscan.parent",
                    batch.nodes as u64,
                    STORAGE,
                );
                let b = [&pbuf, &tbuf, &sbuf, &mask, &parent, &wbuf, &wbuf];
                let steps = self.cfar_steps(bufs, batch, b);
                self.submit("vesselscan.cfar", None, &steps)?;
                profile::time(Stage::Readback, || {
                    Ok(self.read_many(bufs, &[(&mask, batch.blocks)])?.remove(0))
                })
            })
        })
    }
}

fn max_dims(batch: &Batch) -> (u32, u32) {
    (
        batch.tiles.iter().map(|t| t.w).max().unwrap_or(1),
        batch.tiles.iter().map(|t| t.h).max().unwrap_or(1),
    )
}
