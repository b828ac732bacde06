//! Small connected components of one class (land or water), found and flipped in one pass over
//! the rows: [`WaterMask::fill_holes`] (land islands inside water become water: moored ships and
//! buoys in an automatic mask) and [`WaterMask::remove_small_water`] (dark specks on land are
//! not water bodies).
//!
//! Components are 8-connected. The pass walks the rows top to bottom, cutting each into runs of
//! the class; a run joins every run of the row above that touches it (8-connectivity: the
//! column ranges overlap or meet at a corner), through a union-find over the components still
//! open. A component closes when no run of the next row joins it; it is then flipped if it
//! qualifies (small enough, and off the scene edge where that is asked). Only the runs of open
//! components that can still qualify are kept, so memory is bounded by the open components'
//! runs (at most `max_px` runs each), never by the scene: O(width x max_px) at worst, a few
//! MiB in practice, and time is O(words + runs).

use super::{valid_bits, WaterMask};

/// An open component.
#[derive(Debug, Default)]
struct Comp {
    /// Union-find parent (itself for a root).
    parent: u32,
    /// Pixels so far.
    size: u64,
    /// It can no longer qualify (too large, or on the edge when that excludes it): runs dropped.
    dead: bool,
    /// Last row with a run of this root (to find the components that close).
    seen: u32,
    /// Runs (row, x0, x1) while it can still qualify.
    runs: Vec<(u32, u32, u32)>,
    /// Bounding box so far: columns `x_min..x_max`, first row `y_min`.
    x_min: u32,
    x_max: u32,
    y_min: u32,
}

struct Forest {
    comps: Vec<Comp>,
    free: Vec<u32>,
    max_px: u64,
}

impl Forest {
    fn find(&mut self, mut a: u32) -> u32 {
        while self.comps[a as usize].parent != a {
            let p = self.comps[a as usize].parent;
            self.comps[a as usize].parent = self.comps[p as usize].parent;
            a = p;
        }
        a
    }

    fn alloc(&mut self) -> u32 {
        let c = Comp {
            seen: u32::MAX,
            x_min: u32::MAX,
            y_min: u32::MAX,
            ..Default::default()
        };
        if let Some(i) = self.free.pop() {
            self.comps[i as usize] = Comp { parent: i, ..c };
            i
        } else {
            let i = self.comps.len() as u32;
            self.comps.push(Comp { parent: i, ..c });
            i
        }
    }

    /// Join roots `a` and `b` (distinct); returns the surviving root and the absorbed one.
    fn union(&mut self, a: u32, b: u32) -> (u32, u32) {
        let (a, b) = if self.comps[a as usize].runs.len() >= self.comps[b as usize].runs.len() {
            (a, b)
        } else {
            (b, a)
        };
        let runs = std::mem::take(&mut self.comps[b as usize].runs);
        let cb = &self.comps[b as usize];
        let (size, dead) = (cb.size, cb.dead);
        let (x_min, x_max, y_min) = (cb.x_min, cb.x_max, cb.y_min);
        self.comps[b as usize].parent = a;
        let max = self.max_px;
        let ca = &mut self.comps[a as usize];
        ca.size += size;
        ca.x_min = ca.x_min.min(x_min);
        ca.x_max = ca.x_max.max(x_max);
        ca.y_min = ca.y_min.min(y_min);
        ca.dead |= dead || ca.size > max;
        if ca.dead {
            ca.runs = Vec::new();
        } else {
            ca.runs.extend(runs);
        }
        (a, b)
    }
}

/// A run of pixels of a row: columns `x0..x1` and its component (`u32::MAX` before labelling).
type Run = (u32, u32, u32);

/// The runs `[x0, x1)` of pixels of class `water` in a row of words.
fn runs_of(row: &[u64], width: u32, water: bool, out: &mut Vec<Run>) {
    out.clear();
    let mut start: Option<u32> = None;
    for (i, &w) in row.iter().enumerate() {
        let valid = valid_bits(width, i);
        let bits = if water { w } else { !w } & valid;
        let base = i as u32 * 64;
        if bits == 0 {
            if let Some(s) = start.take() {
                out.push((s, base, u32::MAX));
            }
            continue;
        }
        if bits == valid {
            if start.is_none() {
                start = Some(base);
            }
            continue;
        }
        let mut b = 0u32;
        let n = (width - base).min(64);
        while b < n {
            let rest = bits >> b;
            if start.is_some() {
                let len = (!rest).trailing_zeros().min(n - b);
                b += len;
                if b < n {
                    out.push((start.take().expect("open run"), base + b, u32::MAX));
                }
            } else {
                if rest == 0 {
                    break;
                }
                let skip = rest.trailing_zeros();
                b += skip;
                start = Some(base + b);
            }
        }
    }
    if let Some(s) = start {
        out.push((s, width, u32::MAX));
    }
}

impl WaterMask {
    /// Land components (8-connected) that do not touch the scene edge and have at most
    /// `max_hole_px` pixels become water: small islands inside water, such as moored ships and
    /// buoys, which an automatic mask sees as bright "land". One pass, memory bounded by the
    /// open components (see [`crate::water::components`]).
    pub fn fill_holes(&mut self, max_hole_px: u64) {
        self.flip_small(false, max_hole_px, u32::MAX, true);
    }

    /// [`WaterMask::fill_holes`] for islands that also fit in a `max_side_px` square (their
    /// bounding box): vessels, not long thin breakwaters of as many pixels.
    pub fn fill_vessel_holes(&mut self, max_hole_px: u64, max_side_px: u32) {
        self.flip_small(false, max_hole_px, max_side_px, true);
    }

    /// Water components (8-connected, touching the scene edge or not) of at most `max_px`
    /// pixels become land: dark specks (shadows, dark roofs) are not water bodies.
    pub fn remove_small_water(&mut self, max_px: u64) {
        self.flip_small(true, max_px, u32::MAX, false);
    }

    /// Flip the components of class `water` with at most `max_px` pixels, a bounding box of at
    /// most `max_side` x `max_side` and, when `interior_only`, not touching the scene edge, to
    /// the other class.
    pub(crate) fn flip_small(
        &mut self,
        water: bool,
        max_px: u64,
        max_side: u32,
        interior_only: bool,
    ) {
        if max_px == 0 || max_side == 0 {
            return;
        }
        let (width, height) = (self.width, self.height);
        let mut f = Forest {
            comps: Vec::new(),
            free: Vec::new(),
            max_px,
        };
        let mut prev: Vec<Run> = Vec::new();
        let mut cur: Vec<Run> = Vec::new();
        let mut absorbed: Vec<u32> = Vec::new();
        for y in 0..=height {
            if y < height {
                runs_of(self.row_words(y), width, water, &mut cur);
            } else {
                cur.clear();
            }
            // Join each run to the runs above it that touch it (two pointers: both sorted).
            let mut j0 = 0;
            for run in cur.iter_mut() {
                let (x0, x1, _) = *run;
                while j0 < prev.len() && prev[j0].1 < x0 {
                    j0 += 1;
                }
                let mut label: Option<u32> = None;
                let mut j = j0;
                // Touch under 8-connectivity: [px0, px1) meets [x0 - 1, x1 + 1).
                while j < prev.len() && prev[j].0 <= x1 {
                    let r = f.find(prev[j].2);
                    label = Some(match label {
                        None => r,
                        Some(l) if l == r => l,
                        Some(l) => {
                            let (root, gone) = f.union(l, r);
                            absorbed.push(gone);
                            root
                        }
                    });
                    j += 1;
                }
                let l = match label {
                    Some(l) => l,
                    None => f.alloc(),
                };
                let c = &mut f.comps[l as usize];
                c.size += (x1 - x0) as u64;
                c.seen = y;
                c.x_min = c.x_min.min(x0);
                c.x_max = c.x_max.max(x1);
                c.y_min = c.y_min.min(y);
                let edge = y == 0 || y + 1 == height || x0 == 0 || x1 == width;
                let long = c.x_max - c.x_min > max_side || y - c.y_min >= max_side;
                if c.size > max_px || long || (interior_only && edge) {
                    c.dead = true;
                    c.runs = Vec::new();
                }
                if !c.dead {
                    c.runs.push((y, x0, x1));
                }
                run.2 = l;
            }
            // Components of the row above that no run of this row joined are complete.
            for &(_, _, label) in &prev {
                let r = f.find(label);
                let c = &mut f.comps[r as usize];
                if c.seen == y {
                    continue;
                }
                c.seen = y;
                let runs = std::mem::take(&mut c.runs);
                if !c.dead {
                    for (ry, a, b) in runs {
                        self.flip_run(ry, a, b);
                    }
                }
                f.free.push(r);
            }
            for run in cur.iter_mut() {
                run.2 = f.find(run.2);
            }
            f.free.append(&mut absorbed);
            std::mem::swap(&mut prev, &mut cur);
        }
    }

    /// Flip pixels `x0..x1` of row `y`.
    fn flip_run(&mut self, y: u32, x0: u32, x1: u32) {
        let row = self.row_words_mut(y);
        let mut x = x0;
        while x < x1 {
            let i = x as usize / 64;
            let b = x % 64;
            let n = (x1 - x).min(64 - b);
            let m = if n == 64 {
                u64::MAX
            } else {
                ((1u64 << n) - 1) << b
            };
            row[i] ^= m;
            x += n;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_of_rows() {
        let m = WaterMask::from_fn(150, 1, |x, _| {
            (3..10).contains(&x) || (60..140).contains(&x) || x == 149
        })
        .unwrap();
        let mut r = Vec::new();
        runs_of(m.row_words(0), 150, true, &mut r);
        let r: Vec<(u32, u32)> = r.iter().map(|&(a, b, _)| (a, b)).collect();
        assert_eq!(r, vec![(3, 10), (60, 140), (149, 150)]);
        let mut l = Vec::new();
        runs_of(m.row_words(0), 150, false, &mut l);
        let l: Vec<(u32, u32)> = l.iter().map(|&(a, b, _)| (a, b)).collect();
        assert_eq!(l, vec![(0, 3), (10, 60), (140, 149)]);
        let full = WaterMask::filled(128, 1, true).unwrap();
        let mut f = Vec::new();
        runs_of(full.row_words(0), 128, true, &mut f);
        assert_eq!(f, vec![(0, 128, u32::MAX)]);
    }

    #[test]
    fn islands_fill_and_specks_go() {
        let rows = [
            "##########",
            "#........#",
            "#.##.....#",
            "#.##..#..#",
            "#......#.#",
            "#........#",
            "##########",
        ];
        // '.' water, '#' land.
        let m = WaterMask::from_fn(10, 7, |x, y| {
            rows[y as usize].as_bytes()[x as usize] == b'.'
        })
        .unwrap();
        let mut a = m.clone();
        a.fill_holes(4);
        // Both islands (4 px, and 2 px joined diagonally) go; the frame touches the edge.
        assert_eq!(a.count_water(), m.count_water() + 6);
        let mut b = m.clone();
        b.fill_holes(3);
        assert_eq!(b.count_water(), m.count_water() + 2);
        let mut c = m.clone();
        c.remove_small_water(m.count_water() - 1);
        assert_eq!(c, m);
        c.remove_small_water(m.count_water());
        assert_eq!(c.count_water(), 0);
    }
}
