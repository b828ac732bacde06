//! Which prediction file belongs to which truth image, by name.
//!
//! Truth and predictions name their images differently (`JPEGImages/000002.jpg` in one,
//! `/data/ssdd/000002.jpg` or `out/000002.json` in the other; COCO's `busan_rgb.tiff` for
//! the scene `busan/busan_B08.tif`), so names are compared as **keys**: the file stem, that is
//! the last path component (`/` or `\` separated) without its last extension, in lower case.
//!
//! A truth image's keys: the stem of its name, plus (COCO) the stems of its `files` list. A
//! prediction file's keys: the stem of the scene it was run on (`input`), then the stem of the
//! prediction file itself as a fallback.
//!
//! The rule, in order:
//! 1. **Exact.** A prediction file whose first key equals a key of exactly one truth image
//!    belongs to it (else its fallback key is tried the same way). Two truth images sharing
//!    the key, or two prediction files on one truth image, is an error: the pairing would be
//!    a guess.
//! 2. **Band suffix.** For what is left: strip one trailing `_<band>` from every key, where
//!    `<band>` is `rgb`, `rgba`, `tci`, `pan`, a polarisation (`vv`, `vh`, `hh`, `hv`) or a
//!    band number `b<1-2 digits>` with an optional `a` (`b08`, `b8a`); a key without such a
//!    suffix stays as it is. A prediction file matches when exactly one still-unmatched truth
//!    image has its reduced key and no other leftover prediction file reduces to that image.
//!    So `busan_B08` meets `busan_rgb`, but `casablanca_B03` and `casablanca_B08` both left
//!    over stay unmatched (each is listed).
//!
//! Whatever matches nothing is reported, never guessed.

use std::collections::HashMap;

/// The comparison key of an image or file name: its stem, in lower case.
pub fn key(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let stem = match last.rfind('.') {
        Some(i) if i > 0 => &last[..i],
        _ => last,
    };
    stem.to_lowercase()
}

/// `key` without one trailing `_<band>` suffix (see the module doc), or `key` itself.
pub fn reduced(key: &str) -> &str {
    let Some(i) = key.rfind('_') else {
        return key;
    };
    let (head, tail) = (&key[..i], &key[i + 1..]);
    if head.is_empty() {
        return key;
    }
    let band = matches!(
        tail,
        "rgb" | "rgba" | "tci" | "pan" | "vv" | "vh" | "hh" | "hv"
    ) || tail.strip_prefix('b').is_some_and(|n| {
        let n = n.strip_suffix('a').unwrap_or(n);
        (1..=2).contains(&n.len()) && n.bytes().all(|b| b.is_ascii_digit())
    });
    if band {
        head
    } else {
        key
    }
}

/// Why a pairing failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PairError {
    /// Prediction file `pred` has a key shared by several truth images.
    AmbiguousTruth { pred: usize, truths: Vec<usize> },
    /// Two prediction files match one truth image exactly.
    SharedTruth { truth: usize, preds: [usize; 2] },
}

/// Pair prediction files with truth images by their keys (`truth_keys[t]`, `pred_keys[p]`:
/// the keys in order of preference, see the module doc). Returns, for each prediction file,
/// its truth image.
pub fn pair(
    truth_keys: &[Vec<String>],
    pred_keys: &[Vec<String>],
) -> Result<Vec<Option<usize>>, PairError> {
    let mut exact: HashMap<&str, Vec<usize>> = HashMap::new();
    for (t, keys) in truth_keys.iter().enumerate() {
        for k in keys {
            let v = exact.entry(k.as_str()).or_default();
            if v.last() != Some(&t) {
                v.push(t);
            }
        }
    }
    let mut out: Vec<Option<usize>> = vec![None; pred_keys.len()];
    let mut owner: Vec<Option<usize>> = vec![None; truth_keys.len()];
    for (p, keys) in pred_keys.iter().enumerate() {
        for k in keys {
            match exact.get(k.as_str()).map(Vec::as_slice) {
                None | Some([]) => continue,
                Some([t]) => {
                    if let Some(q) = owner[*t] {
                        return Err(PairError::SharedTruth {
                            truth: *t,
                            preds: [q, p],
                        });
                    }
                    owner[*t] = Some(p);
                    out[p] = Some(*t);
                }
                Some(ts) => {
                    return Err(PairError::AmbiguousTruth {
                        pred: p,
                        truths: ts.to_vec(),
                    })
                }
            }
            break;
        }
    }
    // Band-suffix fallback among the leftovers, only where unambiguous both ways.
    let mut reduced_map: HashMap<&str, Vec<usize>> = HashMap::new();
    for (t, keys) in truth_keys.iter().enumerate() {
        if owner[t].is_some() {
            continue;
        }
        for k in keys {
            let v = reduced_map.entry(reduced(k)).or_default();
            if v.last() != Some(&t) {
                v.push(t);
            }
        }
    }
    let mut claims: HashMap<usize, Vec<usize>> = HashMap::new();
    for (p, keys) in pred_keys.iter().enumerate() {
        if out[p].is_some() {
            continue;
        }
        for k in keys {
            match reduced_map.get(reduced(k)).map(Vec::as_slice) {
                None | Some([]) => continue,
                Some([t]) => claims.entry(*t).or_default().push(p),
                Some(_) => {}
            }
            break;
        }
    }
    for (t, ps) in claims {
        if let [p] = ps[..] {
            out[p] = Some(t);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(v: &[&[&str]]) -> Vec<Vec<String>> {
        v.iter()
            .map(|ks| ks.iter().map(|k| key(k)).collect())
            .collect()
    }

    #[test]
    fn keys_are_lower_case_stems() {
        assert_eq!(key("JPEGImages/000002.jpg"), "000002");
        assert_eq!(key(r"C:\data\Scene.TIF"), "scene");
        assert_eq!(
            key("images/P0094_0_800_3000_3800.png"),
            "p0094_0_800_3000_3800"
        );
        assert_eq!(key("a.truth.geojson"), "a.truth");
        assert_eq!(key(".hidden"), ".hidden");
        assert_eq!(key("noext"), "noext");
    }

    #[test]
    fn band_suffixes() {
        assert_eq!(reduced("busan_rgb"), "busan");
        assert_eq!(reduced("busan_b08"), "busan");
        assert_eq!(reduced("s2_b8a"), "s2");
        assert_eq!(reduced("s1_vv"), "s1");
        assert_eq!(reduced("los_angeles_b11"), "los_angeles");
        assert_eq!(reduced("los_angeles"), "los_angeles");
        assert_eq!(reduced("p0094_0_800"), "p0094_0_800");
        assert_eq!(reduced("scene_b123"), "scene_b123");
        assert_eq!(reduced("_rgb"), "_rgb");
        assert_eq!(reduced("rgb"), "rgb");
    }

    #[test]
    fn exact_matches_first_then_fallback_key() {
        let t = keys(&[&["000002.jpg"], &["000007.jpg"]]);
        let p = keys(&[
            &["/x/000007.jpg", "a.json"],
            &["nothing.tif", "000002.json"],
        ]);
        assert_eq!(pair(&t, &p).unwrap(), vec![Some(1), Some(0)]);
    }

    #[test]
    fn coco_files_list_matches_exactly() {
        let t = keys(&[
            &["busan_rgb.tiff", "busan/busan_B08.tif"],
            &["genoa_rgb.tiff", "genoa/genoa_B08.tif"],
        ]);
        let p = keys(&[&["sen2ships/genoa/genoa_B08.tif", "genoa_B08.json"]]);
        assert_eq!(pair(&t, &p).unwrap(), vec![Some(1)]);
    }

    #[test]
    fn band_suffix_fallback_when_unique() {
        let t = keys(&[&["busan_rgb.tiff"], &["genoa_rgb.tiff"]]);
        let p = keys(&[&["busan_B08.tif"], &["genoa_B08.tif"], &["oslo_B08.tif"]]);
        assert_eq!(pair(&t, &p).unwrap(), vec![Some(0), Some(1), None]);
    }

    #[test]
    fn band_suffix_fallback_refuses_two_claimants() {
        let t = keys(&[&["casablanca_rgb.tiff"]]);
        let p = keys(&[&["casablanca_B03.tif"], &["casablanca_B08.tif"]]);
        assert_eq!(pair(&t, &p).unwrap(), vec![None, None]);
    }

    #[test]
    fn exact_match_wins_over_fallback() {
        let t = keys(&[&["casablanca_rgb.tiff", "casablanca/casablanca_B08.tif"]]);
        let p = keys(&[&["casablanca_B03.tif"], &["casablanca_B08.tif"]]);
        assert_eq!(pair(&t, &p).unwrap(), vec![None, Some(0)]);
    }

    #[test]
    fn two_truth_images_with_one_stem_is_an_error() {
        let t = keys(&[&["a.jpg"], &["a.png"]]);
        let p = keys(&[&["a.tif"]]);
        assert_eq!(
            pair(&t, &p),
            Err(PairError::AmbiguousTruth {
                pred: 0,
                truths: vec![0, 1]
            })
        );
    }

    #[test]
    fn two_prediction_files_on_one_image_is_an_error() {
        let t = keys(&[&["a.jpg"]]);
        let p = keys(&[&["a.jpg", "a.json"], &["a.jpg", "a.geojson"]]);
        assert_eq!(
            pair(&t, &p),
            Err(PairError::SharedTruth {
                truth: 0,
                preds: [0, 1]
            })
        );
    }
}
