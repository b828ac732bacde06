//! `vesselscan eval`: score detections against ground truth, so a threshold, a filter or a
//! detector change can be judged by numbers rather than by eye.
//!
//! The steps, a module each:
//! 1. [`truth`] reads the annotations (PASCAL VOC XML, COCO JSON, boxes JSON, GeoJSON points),
//!    [`pred`] reads vesselscan's JSON or GeoJSON outputs (a file or a folder);
//! 2. [`names`] pairs prediction files with truth images by file stem (documented there);
//! 3. [`matching`] finds, in each image, the allowed (detection, truth) pairs and the
//!    one-to-one matching with the most pairs and then the least total distance
//!    ([`hungarian`], our own O(n^3) Kuhn-Munkres);
//! 4. this module counts true positives (matched detections), false positives (unmatched
//!    detections) and false negatives (unmatched truth objects) per image and overall.
//!
//! Metric conventions, for the empty cases: precision = TP / (TP + FP), and 1 when there are
//! no detections (nothing false was claimed); recall = TP / (TP + FN), and 1 when there is no
//! truth (nothing was missed); F1 = 2 P R / (P + R), and 0 when P + R = 0. So an image with
//! neither truth nor detections scores 1, 1, 1; one with truth and no detections 1, 0, 0; one
//! with detections and no truth 0, 1, 0. `overall` sums the counts of every evaluated image
//! (micro average); `mean_image_f1` is the plain mean of the images' F1 (macro).
//!
//! Truth images without a prediction file are listed in `unmatched_truth_images` and left out
//! of every total, unless `--all-images` counts them (every object a miss). Prediction files
//! whose image is not in the truth are listed in `unmatched_pred_files`; when no file matches,
//! it is an error.

pub mod hungarian;
pub mod matching;
pub mod names;
pub mod pred;
pub mod truth;

use crate::error::{Error, Result};
use pred::{PredDet, PredFile};
use serde::Serialize;
use std::path::Path;
use truth::{Truth, TruthFormat, TruthImage};

/// The xView3 convention: a detection within 200 m of a vessel finds it.
pub const DEFAULT_TOLERANCE_M: f64 = 200.0;

/// When a detection may match a truth object.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MatchRule {
    /// The detection's centroid lies in the truth box (half-open); cost: the centroid's
    /// distance to the box centre, pixels.
    CenterInBox,
    /// Detection and truth lon/lat within this many metres (haversine, mean Earth radius).
    DistanceM(f64),
    /// Detection centroid and truth centre within this many pixels.
    DistancePx(f64),
}

impl MatchRule {
    /// The default for a truth set: `center-in-box` for boxes, 200 m for GeoJSON points.
    pub fn default_for(format: TruthFormat) -> MatchRule {
        match format {
            TruthFormat::GeoJson => MatchRule::DistanceM(DEFAULT_TOLERANCE_M),
            _ => MatchRule::CenterInBox,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct EvalOptions {
    /// `None`: [`MatchRule::default_for`] the truth.
    pub rule: Option<MatchRule>,
    /// Count truth images without a prediction file (all their objects missed).
    pub all_images: bool,
    /// Drop detections whose `score` is below this; detections without a score are kept.
    pub min_score: Option<f64>,
}

/// Counts and scores.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Scores {
    pub tp: usize,
    pub fp: usize,
    #[serde(rename = "fn")]
    pub fn_: usize,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
}

impl Scores {
    /// Scores from counts, with the conventions of the module doc for empty cases.
    pub fn new(tp: usize, fp: usize, fn_: usize) -> Scores {
        let precision = if tp + fp == 0 {
            1.0
        } else {
            tp as f64 / (tp + fp) as f64
        };
        let recall = if tp + fn_ == 0 {
            1.0
        } else {
            tp as f64 / (tp + fn_) as f64
        };
        let f1 = if precision + recall == 0.0 {
            0.0
        } else {
            2.0 * precision * recall / (precision + recall)
        };
        Scores {
            tp,
            fp,
            fn_,
            precision,
            recall,
            f1,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MatchReport {
    /// `center-in-box` or `distance`.
    pub criterion: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tolerance_m: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tolerance_px: Option<f64>,
}

/// One matched pair.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MatchRecord {
    /// The detection's `id` in its file.
    pub pred_id: u64,
    /// 0-based position of the object in the image's truth, in file order.
    pub truth_index: usize,
    /// Centroid to box centre (`center-in-box`) or to the truth centre (`--tolerance-px`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distance_px: Option<f64>,
    /// Ground distance (`--tolerance-m`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distance_m: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImageReport {
    /// The image's name in the truth (for GeoJSON truth without names: the scene of the
    /// prediction file).
    pub image: String,
    /// The prediction file (null: none, counted under `--all-images`).
    pub pred_file: Option<String>,
    /// Truth objects.
    pub truth: usize,
    /// Detections (after `--min-score`).
    pub pred: usize,
    #[serde(flatten)]
    pub scores: Scores,
    pub matches: Vec<MatchRecord>,
    /// Ids of the unmatched detections.
    pub false_positive_ids: Vec<u64>,
    /// Truth indexes of the unmatched objects.
    pub missed_truth_indexes: Vec<usize>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Overall {
    /// Images evaluated.
    pub images: usize,
    pub truth: usize,
    pub pred: usize,
    #[serde(flatten)]
    pub scores: Scores,
}

/// The result of an evaluation: what `vesselscan eval` writes as JSON.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub truth: String,
    pub truth_format: &'static str,
    pub pred: String,
    #[serde(rename = "match")]
    pub rule: MatchReport,
    pub min_score: Option<f64>,
    pub all_images: bool,
    pub overall: Overall,
    /// Mean of the images' F1 (null when no image was evaluated).
    pub mean_image_f1: Option<f64>,
    /// Sorted by image name.
    pub images: Vec<ImageReport>,
    /// Truth images without a prediction file (counted only under `--all-images`).
    pub unmatched_truth_images: Vec<String>,
    /// Prediction files that match no truth image.
    pub unmatched_pred_files: Vec<String>,
    /// Remarks for stderr (skipped files, images left out, ...), one line each.
    #[serde(skip)]
    pub notes: Vec<String>,
}

impl Report {
    /// Pretty JSON with a final newline.
    pub fn to_json(&self) -> Vec<u8> {
        let mut v = serde_json::to_vec_pretty(self).expect("report serialises");
        v.push(b'\n');
        v
    }

    /// `eval: N images, TP .. FP .. FN .., precision .., recall .., F1 ..`
    pub fn summary(&self) -> String {
        let s = &self.overall.scores;
        format!(
            "eval: {} image{}, TP {} FP {} FN {}, precision {:.4}, recall {:.4}, F1 {:.4}",
            self.overall.images,
            if self.overall.images == 1 { "" } else { "s" },
            s.tp,
            s.fp,
            s.fn_,
            s.precision,
            s.recall,
            s.f1
        )
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// A short list for a message: the first few, then how many more.
fn some_of<T: AsRef<str>>(names: &[T]) -> String {
    let mut s = names
        .iter()
        .take(3)
        .map(|n| n.as_ref())
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > 3 {
        s.push_str(&format!(", ... ({} more)", names.len() - 3));
    }
    s
}

fn invalid(path: &Path, msg: impl Into<String>) -> Error {
    Error::Format {
        path: path.to_owned(),
        msg: msg.into(),
    }
}

/// Evaluate the predictions at `pred_path` (a file or a folder) against the truth at
/// `truth_path`.
pub fn evaluate(truth_path: &Path, pred_path: &Path, opts: &EvalOptions) -> Result<Report> {
    let truth = truth::read_truth(truth_path)?;
    let preds = pred::read_preds(pred_path, Some(truth_path))?;
    let rule = opts.rule.unwrap_or(MatchRule::default_for(truth.format));
    if let (MatchRule::DistanceM(_), false) = (rule, truth.format == TruthFormat::GeoJson) {
        return Err(invalid(
            truth_path,
            format!(
                "{} boxes are in pixels, with no lon/lat: use --match center-in-box or \
                 --tolerance-px",
                match truth.format {
                    TruthFormat::PascalVoc => "PASCAL VOC",
                    TruthFormat::Coco => "COCO",
                    _ => "boxes JSON",
                }
            ),
        ));
    }
    let mut notes = Vec::new();
    if !preds.skipped.is_empty() {
        let names: Vec<String> = preds
            .skipped
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        notes.push(format!(
            "skipped {} that {}: {}",
            plural(names.len(), "JSON file", "JSON files"),
            if names.len() == 1 {
                "is not a detection output"
            } else {
                "are not detection outputs"
            },
            some_of(&names)
        ));
    }
    let mut files = preds.files;
    if let Some(min) = opts.min_score {
        let (mut dropped, mut unscored) = (0, 0);
        for f in &mut files {
            unscored += f.dets.iter().filter(|d| d.score.is_none()).count();
            let before = f.dets.len();
            f.dets.retain(|d| d.score.is_none_or(|s| s >= min));
            dropped += before - f.dets.len();
        }
        notes.push(format!(
            "--min-score {min}: dropped {}{}",
            plural(dropped, "detection", "detections"),
            if unscored > 0 {
                format!(
                    "; kept {} without a score",
                    plural(unscored, "detection", "detections")
                )
            } else {
                String::new()
            }
        ));
    }

    // Which file goes with which image.
    let owner = pair_files(&truth, truth_path, &files)?;
    let mut by_truth: Vec<Option<usize>> = vec![None; truth.images.len()];
    let mut unmatched_pred_files = Vec::new();
    for (p, t) in owner.iter().enumerate() {
        match t {
            Some(t) => by_truth[*t] = Some(p),
            None => unmatched_pred_files.push(files[p].path.display().to_string()),
        }
    }
    if by_truth.iter().all(Option::is_none) {
        return Err(invalid(
            pred_path,
            format!(
                "no prediction file matches a truth image by name ({}, e.g. {}; truth {}, e.g. {}); \
                 names are compared by file stem, see `vesselscan eval` in the README",
                plural(files.len(), "prediction file", "prediction files"),
                some_of(&files.iter().map(|f| f.keys()[0].clone()).collect::<Vec<_>>()),
                plural(truth.images.len(), "image", "images"),
                some_of(&truth.images.iter().map(|i| i.name.clone()).collect::<Vec<_>>()),
            ),
        ));
    }

    let mut images = Vec::new();
    let mut unmatched_truth_images = Vec::new();
    let mut left_out_objects = 0;
    for (t, im) in truth.images.iter().enumerate() {
        let file = by_truth[t].map(|p| &files[p]);
        if file.is_none() {
            unmatched_truth_images.push(im.name.clone());
            left_out_objects += im.objects.len();
            if !opts.all_images {
                continue;
            }
        }
        images.push(evaluate_image(im, file, rule, truth.any_image)?);
    }
    images.sort_by(|a, b| a.image.cmp(&b.image));
    if !unmatched_truth_images.is_empty() {
        let n = unmatched_truth_images.len();
        notes.push(if opts.all_images {
            format!(
                "{} no prediction file: {} count as misses (--all-images)",
                plural(n, "truth image has", "truth images have"),
                plural(left_out_objects, "object", "objects")
            )
        } else {
            format!(
                "{} no prediction file and {} left out of the totals ({} not counted; \
                 --all-images counts them as misses)",
                plural(n, "truth image has", "truth images have"),
                if n == 1 { "is" } else { "are" },
                plural(left_out_objects, "object", "objects")
            )
        });
    }
    if !unmatched_pred_files.is_empty() {
        notes.push(format!(
            "{} no truth image: {}",
            plural(
                unmatched_pred_files.len(),
                "prediction file matches",
                "prediction files match"
            ),
            some_of(&unmatched_pred_files)
        ));
    }

    let (tp, fp, fn_) = images.iter().fold((0, 0, 0), |a, i| {
        (a.0 + i.scores.tp, a.1 + i.scores.fp, a.2 + i.scores.fn_)
    });
    let mean_image_f1 = if images.is_empty() {
        None
    } else {
        Some(images.iter().map(|i| i.scores.f1).sum::<f64>() / images.len() as f64)
    };
    Ok(Report {
        truth: truth_path.display().to_string(),
        truth_format: truth.format.name(),
        pred: pred_path.display().to_string(),
        rule: match rule {
            MatchRule::CenterInBox => MatchReport {
                criterion: "center-in-box",
                tolerance_m: None,
                tolerance_px: None,
            },
            MatchRule::DistanceM(m) => MatchReport {
                criterion: "distance",
                tolerance_m: Some(m),
                tolerance_px: None,
            },
            MatchRule::DistancePx(p) => MatchReport {
                criterion: "distance",
                tolerance_m: None,
                tolerance_px: Some(p),
            },
        },
        min_score: opts.min_score,
        all_images: opts.all_images,
        overall: Overall {
            images: images.len(),
            truth: images.iter().map(|i| i.truth).sum(),
            pred: images.iter().map(|i| i.pred).sum(),
            scores: Scores::new(tp, fp, fn_),
        },
        mean_image_f1,
        images,
        unmatched_truth_images,
        unmatched_pred_files,
        notes,
    })
}

/// For each prediction file, its truth image (see [`names`]).
fn pair_files(truth: &Truth, truth_path: &Path, files: &[PredFile]) -> Result<Vec<Option<usize>>> {
    if truth.any_image {
        if files.len() != 1 {
            return Err(invalid(
                truth_path,
                format!(
                    "the points name no image (property image or input), so --pred must be one \
                     detection file, not a folder of {}",
                    files.len()
                ),
            ));
        }
        return Ok(vec![Some(0)]);
    }
    let truth_keys: Vec<Vec<String>> = truth.images.iter().map(TruthImage::keys).collect();
    let pred_keys: Vec<Vec<String>> = files.iter().map(PredFile::keys).collect();
    names::pair(&truth_keys, &pred_keys).map_err(|e| match e {
        names::PairError::AmbiguousTruth { pred, truths } => invalid(
            &files[pred].path,
            format!(
                "matches several truth images by name: {}",
                some_of(
                    &truths
                        .iter()
                        .map(|&t| truth.images[t].name.clone())
                        .collect::<Vec<_>>()
                )
            ),
        ),
        names::PairError::SharedTruth { truth: t, preds } => invalid(
            &files[preds[1]].path,
            format!(
                "matches truth image {:?}, as does {}; give one prediction file per image",
                truth.images[t].name,
                files[preds[0]].path.display()
            ),
        ),
    })
}

/// The position of each detection the rule needs, or an error naming the file.
fn det_points(file: &PredFile, rule: MatchRule) -> Result<Vec<[f64; 2]>> {
    let need_ll = matches!(rule, MatchRule::DistanceM(_));
    file.dets
        .iter()
        .map(|d: &PredDet| {
            if need_ll {
                d.lonlat.ok_or_else(|| {
                    invalid(
                        &file.path,
                        format!(
                            "detection {} has no lon/lat (the scene is not georeferenced); \
                             use --tolerance-px or --match center-in-box",
                            d.id
                        ),
                    )
                })
            } else {
                d.xy.ok_or_else(|| {
                    invalid(
                        &file.path,
                        format!(
                            "detection {} has no pixel position (x, y); use --tolerance-m",
                            d.id
                        ),
                    )
                })
            }
        })
        .collect()
}

fn evaluate_image(
    im: &TruthImage,
    file: Option<&PredFile>,
    rule: MatchRule,
    any_image: bool,
) -> Result<ImageReport> {
    let missing = |i: usize, what: &str, hint: &str| {
        invalid(
            &im.source,
            format!(
                "{}object {} has no {what}; {hint}",
                if im.name.is_empty() {
                    String::new()
                } else {
                    format!("image {:?}: ", im.name)
                },
                i
            ),
        )
    };
    let dets = file.map(|f| f.dets.as_slice()).unwrap_or(&[]);
    // The truth is checked first: a criterion the truth cannot serve is the root problem.
    let points = || match file {
        Some(f) => det_points(f, rule),
        None => Ok(Vec::new()),
    };
    let pairs = match rule {
        MatchRule::CenterInBox => {
            let boxes = im
                .objects
                .iter()
                .enumerate()
                .map(|(i, o)| {
                    o.bbox.ok_or_else(|| {
                        missing(
                            i,
                            "box (the truth is points)",
                            "use --match distance (--tolerance-m or --tolerance-px)",
                        )
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            matching::center_in_box(&points()?, &boxes)
        }
        MatchRule::DistancePx(tol) => {
            let centres = im
                .objects
                .iter()
                .enumerate()
                .map(|(i, o)| {
                    o.centre_px
                        .ok_or_else(|| missing(i, "pixel position", "use --tolerance-m"))
                })
                .collect::<Result<Vec<_>>>()?;
            matching::within_px(&points()?, &centres, tol)
        }
        MatchRule::DistanceM(tol) => {
            let lls = im
                .objects
                .iter()
                .enumerate()
                .map(|(i, o)| {
                    o.lonlat.ok_or_else(|| {
                        missing(
                            i,
                            "lon/lat (boxes are in pixels)",
                            "use --match center-in-box or --tolerance-px",
                        )
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            matching::within_m(&points()?, &lls, tol)
        }
    };
    let mut pred_matched = vec![false; dets.len()];
    let mut truth_matched = vec![false; im.objects.len()];
    let matches: Vec<MatchRecord> = pairs
        .iter()
        .map(|p| {
            pred_matched[p.pred] = true;
            truth_matched[p.truth] = true;
            let metres = matches!(rule, MatchRule::DistanceM(_));
            MatchRecord {
                pred_id: dets[p.pred].id,
                truth_index: p.truth,
                distance_px: (!metres).then_some(p.distance),
                distance_m: metres.then_some(p.distance),
            }
        })
        .collect();
    let tp = matches.len();
    let image = if any_image {
        file.map(|f| {
            f.input.clone().unwrap_or_else(|| {
                f.path
                    .file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into()
            })
        })
        .unwrap_or_default()
    } else {
        im.name.clone()
    };
    Ok(ImageReport {
        image,
        pred_file: file.map(|f| f.path.display().to_string()),
        truth: im.objects.len(),
        pred: dets.len(),
        scores: Scores::new(tp, dets.len() - tp, im.objects.len() - tp),
        matches,
        false_positive_ids: dets
            .iter()
            .zip(&pred_matched)
            .filter(|(_, m)| !**m)
            .map(|(d, _)| d.id)
            .collect(),
        missed_truth_indexes: truth_matched
            .iter()
            .enumerate()
            .filter(|(_, m)| !**m)
            .map(|(i, _)| i)
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_case_conventions() {
        let s = Scores::new(0, 0, 0);
        assert_eq!((s.precision, s.recall, s.f1), (1.0, 1.0, 1.0));
        let s = Scores::new(0, 0, 3);
        assert_eq!((s.precision, s.recall, s.f1), (1.0, 0.0, 0.0));
        let s = Scores::new(0, 2, 0);
        assert_eq!((s.precision, s.recall, s.f1), (0.0, 1.0, 0.0));
        let s = Scores::new(0, 2, 3);
        assert_eq!((s.precision, s.recall, s.f1), (0.0, 0.0, 0.0));
        let s = Scores::new(3, 1, 2);
        assert_eq!(s.precision, 0.75);
        assert_eq!(s.recall, 0.6);
        assert!((s.f1 - 2.0 * 3.0 / (2.0 * 3.0 + 1.0 + 2.0)).abs() < 1e-15);
    }

    #[test]
    fn scores_serialise_with_fn() {
        let v = serde_json::to_value(Scores::new(1, 0, 0)).unwrap();
        assert_eq!(v["fn"], 0);
        assert_eq!(v["tp"], 1);
    }

    #[test]
    fn default_rules() {
        assert_eq!(
            MatchRule::default_for(TruthFormat::PascalVoc),
            MatchRule::CenterInBox
        );
        assert_eq!(
            MatchRule::default_for(TruthFormat::GeoJson),
            MatchRule::DistanceM(200.0)
        );
    }
}
