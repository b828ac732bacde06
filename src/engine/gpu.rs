//! GPU backend: runs the WGSL kernels of `shaders/` on batches of tiles through wgpu.
//!
//! Per batch: upload tile descriptors and samples; one compute pass of mask, label_init,
//! label_merge, label_compress, label_compact, measure and seam_export (wgpu orders the
//! dispatches, and each dispatch boundary is the device-wide barrier the union-find needs);
//! read back the component count and the border labels; then exactly `count` records. The
//! label image never leaves the GPU.

use super::{BatchLabels, Engine};
use crate::error::{Error, Result};
use crate::gpu::GpuContext;
use crate::profile::{self, Stage};
use crate::tiling::{Batch, BatchLimits, Params, CFAR_ROW_WORDS, FLAG_CFAR, REC_WORDS};
use wgpu::util::DeviceExt;

/// One dispatch: its stage (for profiling), pipeline, bind group and workgroup counts.
type Step<'p> = (Stage, &'p wgpu::ComputePipeline, wgpu::BindGroup, [u32; 3]);

pub struct GpuEngine {
    pub ctx: GpuContext,
}

impl GpuEngine {
    pub fn new(adapter: Option<&str>) -> Result<GpuEngine> {
        Ok(GpuEngine {
            ctx: GpuContext::new(adapter)?,
        })
    }

    fn storage(&self, label: &str, words: u32) -> wgpu::Buffer {
        self.ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: (words.max(1) as u64) * 4,
            usage: wgpu::BufferUsages::STORAGE
                | wgpu::BufferUsages::COPY_SRC
                | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        })
    }

    fn init(&self, label: &str, data: &[u32], usage: wgpu::BufferUsages) -> wgpu::Buffer {
        let one = [0u32];
        let contents: &[u32] = if data.is_empty() { &one } else { data };
        self.ctx
            .device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some(label),
                contents: bytemuck::cast_slice(contents),
                usage,
            })
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

    /// Copy `words` u32 from `src` and wait for them.
    fn read_back(&self, src: &wgpu::Buffer, words: u32) -> Result<Vec<u32>> {
        if words == 0 {
            return Ok(Vec::new());
        }
        let size = words as u64 * 4;
        let staging = self.ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("vesselscan.readback"),
            size,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let mut enc = self.ctx.device.create_command_encoder(&Default::default());
        enc.copy_buffer_to_buffer(src, 0, &staging, 0, size);
        self.ctx.queue.submit([enc.finish()]);
        let slice = staging.slice(..);
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
            bytemuck::cast_slice::<u8, u32>(&view).to_vec()
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
        params: &Params,
        batch: &Batch,
        samples: &[u32],
    ) -> (wgpu::Buffer, wgpu::Buffer, wgpu::Buffer) {
        let u = wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST;
        let s = wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST;
        let pbuf = self.init(
            "vesselscan.params",
            bytemuck::cast_slice(std::slice::from_ref(params)),
            u,
        );
        let tbuf = self.init("vesselscan.tiles", bytemuck::cast_slice(&batch.tiles), s);
        let sbuf = self.init("vesselscan.samples", samples, s);
        (pbuf, tbuf, sbuf)
    }

    /// The two CFAR dispatches of a batch, writing the block masks: cfar_rows (the rings read
    /// `ring`, the pixels that enter the statistics) and cfar (targets among `water`).
    /// Buffers: params, tiles, samples, mask, water, ring.
    fn cfar_steps<'p>(
        &'p self,
        batch: &Batch,
        [pbuf, tbuf, sbuf, mask, wbuf, ring]: [&wgpu::Buffer; 6],
    ) -> Vec<Step<'p>> {
        let pl = &self.ctx.pipelines;
        let s = wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST;
        let cbuf = self.init("vesselscan.cfar", bytemuck::cast_slice(&batch.cfar), s);
        let rowsums = self.storage("vesselscan.rowsums", batch.rowsums * CFAR_ROW_WORDS);
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
                [groups(tw, 16), groups(eh, 16), nt],
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
                        (10, &cbuf),
                        (11, wbuf),
                        (12, &rowsums),
                    ],
                ),
                [groups(bw, 16), groups(bh, 16), nt],
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
            ..BatchLimits::default()
        }
    }
    fn parallel(&self) -> bool {
        false
    }

    fn minmax(&self, params: &Params, batch: &Batch, samples: &[u32]) -> Result<[u32; 2]> {
        self.scoped("minmax", || {
            let (pbuf, tbuf, sbuf) = self.common(params, batch, samples);
            let counters = self.init(
                "vesselscan.counters",
                &[u32::MAX, 0, 0, 0],
                wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
            );
            let p = &self.ctx.pipelines.minmax;
            let bg = self.bind(p, &[(0, &pbuf), (1, &tbuf), (2, &sbuf), (7, &counters)]);
            let (mw, mh) = max_dims(batch);
            let mut enc = self.ctx.device.create_command_encoder(&Default::default());
            {
                let mut pass = enc.begin_compute_pass(&Default::default());
                pass.set_pipeline(p);
                pass.set_bind_group(0, &bg, &[]);
                pass.dispatch_workgroups(groups(mw, 16), groups(mh, 16), batch.tiles.len() as u32);
            }
            self.ctx.queue.submit([enc.finish()]);
            let c = self.read_back(&counters, 2)?;
            Ok([c[0], c[1]])
        })
    }

    fn histogram(&self, params: &Params, batch: &Batch, samples: &[u32]) -> Result<Vec<u32>> {
        self.scoped("histogram", || {
            let (pbuf, tbuf, sbuf) = self.common(params, batch, samples);
            let hist = self.storage("vesselscan.hist", params.hist_bins);
            let p = &self.ctx.pipelines.histogram;
            let bg = self.bind(p, &[(0, &pbuf), (1, &tbuf), (2, &sbuf), (9, &hist)]);
            let (mw, mh) = max_dims(batch);
            let mut enc = self.ctx.device.create_command_encoder(&Default::default());
            enc.clear_buffer(&hist, 0, None);
            {
                let mut pass = enc.begin_compute_pass(&Default::default());
                pass.set_pipeline(p);
                pass.set_bind_group(0, &bg, &[]);
                pass.dispatch_workgroups(groups(mw, 16), groups(mh, 16), batch.tiles.len() as u32);
            }
            self.ctx.queue.submit([enc.finish()]);
            self.read_back(&hist, params.hist_bins)
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
            let pl = &self.ctx.pipelines;
            let s = wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST;
            let (pbuf, tbuf, sbuf, wbuf, rbuf) = profile::time(Stage::Upload, || {
                let (p, t, sm) = self.common(params, batch, samples);
                let w = self.init("vesselscan.water", water, s);
                let r = (!stats.is_empty()).then(|| self.init("vesselscan.stats", stats, s));
                (p, t, sm, w, r)
            });
            let mask = self.storage("vesselscan.mask", batch.blocks);
            let parent = self.storage("vesselscan.parent", batch.nodes);
            let remap = self.storage("vesselscan.remap", batch.nodes);
            let records = self.storage("vesselscan.records", batch.max_components * REC_WORDS);
            let counters = self.storage("vesselscan.counters", 4);
            let border = self.storage("vesselscan.border", batch.border);

            let conn = crate::cpu::conn(params);
            let nt = batch.tiles.len() as u32;
            let bw = batch.tiles.iter().map(|t| t.blocks_w()).max().unwrap_or(1);
            let bh = batch.tiles.iter().map(|t| t.blocks_h()).max().unwrap_or(1);
            let nw = batch
                .tiles
                .iter()
                .map(|t| t.nodes_w(conn))
                .max()
                .unwrap_or(1);
            let nh = batch
                .tiles
                .iter()
                .map(|t| t.nodes_h(conn))
                .max()
                .unwrap_or(1);
            let bl = batch
                .tiles
                .iter()
                .map(|t| t.border_len())
                .max()
                .unwrap_or(1);

            let cfar = params.flags & FLAG_CFAR != 0;
            let mut steps: Vec<Step> = Vec::new();
            if cfar {
                let ring = rbuf.as_ref().unwrap_or(&wbuf);
                steps.extend(self.cfar_steps(batch, [&pbuf, &tbuf, &sbuf, &mask, &wbuf, ring]));
            } else {
                steps.push((
                    Stage::Mask,
                    &pl.mask,
                    self.bind(
                        &pl.mask,
                        &[(0, &pbuf), (1, &tbuf), (2, &sbuf), (3, &mask), (11, &wbuf)],
                    ),
                    [groups(bw, 16), groups(bh, 16), nt],
                ));
            }
            steps.extend([
                (
                    Stage::Label,
                    &pl.label_init,
                    self.bind(&pl.label_init, &[(0, &pbuf), (1, &tbuf), (4, &parent)]),
                    [groups(nw, 16), groups(nh, 16), nt],
                ),
                (
                    Stage::Label,
                    &pl.label_merge,
                    self.bind(
                        &pl.label_merge,
                        &[(0, &pbuf), (1, &tbuf), (3, &mask), (4, &parent)],
                    ),
                    [groups(nw, 16), groups(nh, 16), nt],
                ),
                (
                    Stage::Label,
                    &pl.label_compress,
                    self.bind(&pl.label_compress, &[(0, &pbuf), (1, &tbuf), (4, &parent)]),
                    [groups(nw, 16), groups(nh, 16), nt],
                ),
                (
                    Stage::Label,
                    &pl.label_compact,
                    self.bind(
                        &pl.label_compact,
                        &[
                            (0, &pbuf),
                            (1, &tbuf),
                            (3, &mask),
                            (4, &parent),
                            (5, &remap),
                            (6, &records),
                            (7, &counters),
                        ],
                    ),
                    [groups(nw, 16), groups(nh, 16), nt],
                ),
                (
                    Stage::Measure,
                    &pl.measure,
                    self.bind(
                        &pl.measure,
                        &[
                            (0, &pbuf),
                            (1, &tbuf),
                            (2, &sbuf),
                            (3, &mask),
                            (4, &parent),
                            (5, &remap),
                            (6, &records),
                        ],
                    ),
                    [groups(bw, 16), groups(bh, 16), nt],
                ),
                (
                    Stage::SeamExport,
                    &pl.seam_export,
                    self.bind(
                        &pl.seam_export,
                        &[
                            (0, &pbuf),
                            (1, &tbuf),
                            (3, &mask),
                            (4, &parent),
                            (5, &remap),
                            (8, &border),
                        ],
                    ),
                    [groups(bl, 64), 1, nt],
                ),
            ]);
            self.submit("vesselscan.label", Some(&counters), &steps)?;
            let (border, records) = profile::time(Stage::Readback, || -> Result<_> {
                let count = self.read_back(&counters, 1)?[0];
                let border = self.read_back(&border, batch.border)?;
                Ok((border, self.read_back(&records, count * REC_WORDS)?))
            })?;
            Ok(BatchLabels { records, border })
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
            let s = wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST;
            let (pbuf, tbuf, sbuf, wbuf) = profile::time(Stage::Upload, || {
                let (p, t, sm) = self.common(params, batch, samples);
                (p, t, sm, self.init("vesselscan.water", water, s))
            });
            let mask = self.storage("vesselscan.mask", batch.blocks);
            let steps = self.cfar_steps(batch, [&pbuf, &tbuf, &sbuf, &mask, &wbuf, &wbuf]);
            self.submit("vesselscan.cfar", None, &steps)?;
            profile::time(Stage::Readback, || self.read_back(&mask, batch.blocks))
        })
    }
}

fn max_dims(batch: &Batch) -> (u32, u32) {
    (
        batch.tiles.iter().map(|t| t.w).max().unwrap_or(1),
        batch.tiles.iter().map(|t| t.h).max().unwrap_or(1),
    )
}
