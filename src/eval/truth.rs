//! Ground truth readers: PASCAL VOC XML (a file or a folder of them), COCO JSON, "boxes JSON"
//! and GeoJSON points (any FeatureCollection of Points, `vesselscan synth` truth included),
//! picked by content: a folder or a file starting with `<` is VOC; a JSON document is told
//! apart by its members. Each reader turns its convention into one: boxes half-open in pixel
//! coordinates, `[x0, y0, x1, y1]` covering `[x0, x1) x [y0, y1)` (pixel (col, row) covers
//! `[col, col+1) x [row, row+1)`, as vesselscan's detections do).
//!
//! | format | recognised by | boxes |
//! | --- | --- | --- |
//! | PASCAL VOC | `<annotation>` root; a folder: every `*.xml` in it, recursively | `<bndbox>` as corners: `[xmin, xmax) x [ymin, ymax)` |
//! | COCO | `images` and `annotations` arrays | `bbox` `[x, y, w, h]`: `[x, x+w) x [y, y+h)` |
//! | boxes JSON | `images` object: `{"name": [[x0, y0, x1, y1], ...]}` | inclusive pixels: `[x0, x1+1) x [y0, y1+1)` |
//! | GeoJSON | `"type": "FeatureCollection"` of Point features | none (points in lon/lat) |
//!
//! Every object counts as a ship whatever its class (VOC `<name>`, COCO `category_id`), and
//! VOC `difficult` / COCO `iscrowd` objects count like the others.
//!
//! GeoJSON points are `[lon, lat]` in WGS 84. A feature's `image` (or `input`) property names
//! its image; when no feature has one, the points are one image that goes with the only
//! prediction file. Properties `x`, `y` (numbers) are taken as the pixel centre, as vesselscan
//! writes them, and in a `vesselscan synth` truth file (it carries a `vesselscan_synth` member)
//! `bbox` is the vessel's half-open pixel box.

use super::names::key;
use crate::error::{Error, Result};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One annotated object. What a matching criterion needs must be present: a box for
/// `center-in-box`, a pixel centre for `--tolerance-px`, lon/lat for `--tolerance-m`.
#[derive(Debug, Clone, PartialEq)]
pub struct TruthObject {
    /// `[x0, y0, x1, y1]`, half-open pixel coordinates.
    pub bbox: Option<[f64; 4]>,
    /// Centre in pixel coordinates (the box centre for boxes).
    pub centre_px: Option<[f64; 2]>,
    /// `[lon, lat]`, WGS 84 degrees.
    pub lonlat: Option<[f64; 2]>,
}

impl TruthObject {
    fn from_box(b: [f64; 4]) -> TruthObject {
        TruthObject {
            bbox: Some(b),
            centre_px: Some([(b[0] + b[2]) / 2.0, (b[1] + b[3]) / 2.0]),
            lonlat: None,
        }
    }
}

/// One annotated image.
#[derive(Debug, Clone, PartialEq)]
pub struct TruthImage {
    /// The image's name as the truth gives it (VOC `<filename>`, COCO `file_name`, the boxes
    /// JSON key, the GeoJSON `image` property).
    pub name: String,
    /// Names it may go by: `name`, then COCO's `files`. Compared as [`key`]s.
    pub aliases: Vec<String>,
    /// The file that defines it (a VOC folder holds one per image).
    pub source: PathBuf,
    pub objects: Vec<TruthObject>,
}

impl TruthImage {
    /// Matching keys, see [`super::names`].
    pub fn keys(&self) -> Vec<String> {
        let mut v: Vec<String> = Vec::new();
        for k in std::iter::once(&self.name)
            .chain(&self.aliases)
            .map(|n| key(n))
        {
            if !v.contains(&k) {
                v.push(k);
            }
        }
        v
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TruthFormat {
    PascalVoc,
    Coco,
    BoxesJson,
    GeoJson,
}

impl TruthFormat {
    pub fn name(self) -> &'static str {
        match self {
            TruthFormat::PascalVoc => "pascal-voc",
            TruthFormat::Coco => "coco",
            TruthFormat::BoxesJson => "boxes-json",
            TruthFormat::GeoJson => "geojson",
        }
    }
}

/// A whole truth set.
#[derive(Debug, Clone, PartialEq)]
pub struct Truth {
    pub format: TruthFormat,
    /// Sorted by name; names unique.
    pub images: Vec<TruthImage>,
    /// GeoJSON without image names: the one image (`images[0]`, named "") goes with the
    /// only prediction file, whatever its name.
    pub any_image: bool,
}

fn format_err(path: &Path, msg: impl Into<String>) -> Error {
    Error::Format {
        path: path.to_owned(),
        msg: msg.into(),
    }
}

fn read_bytes(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|source| Error::Io {
        path: path.to_owned(),
        source,
    })
}

/// Read the truth at `path` (a file or a folder of VOC XML), detecting its format.
pub fn read_truth(path: &Path) -> Result<Truth> {
    let meta = std::fs::metadata(path).map_err(|source| Error::Io {
        path: path.to_owned(),
        source,
    })?;
    let (format, images, any_image) = if meta.is_dir() {
        (TruthFormat::PascalVoc, read_voc_folder(path)?, false)
    } else {
        let bytes = read_bytes(path)?;
        let first = bytes
            .iter()
            .copied()
            // Past white space and a UTF-8 byte order mark.
            .find(|b| !(b.is_ascii_whitespace() || matches!(b, 0xEF | 0xBB | 0xBF)));
        match first {
            Some(b'<') => (
                TruthFormat::PascalVoc,
                vec![parse_voc(path, &bytes)?],
                false,
            ),
            Some(b'{') => read_json(path, &bytes)?,
            _ => return Err(format_err(path, not_truth_msg())),
        }
    };
    if images.is_empty() {
        return Err(format_err(path, "the truth holds no images"));
    }
    let mut images = images;
    images.sort_by(|a, b| a.name.cmp(&b.name));
    for w in images.windows(2) {
        if w[0].name == w[1].name {
            let msg = if w[0].source == w[1].source {
                format!("image {:?} is annotated twice", w[0].name)
            } else {
                format!(
                    "image {:?} is annotated twice (also in {})",
                    w[0].name,
                    w[0].source.display()
                )
            };
            return Err(format_err(&w[1].source, msg));
        }
    }
    Ok(Truth {
        format,
        images,
        any_image,
    })
}

fn not_truth_msg() -> String {
    "not a truth file: expected PASCAL VOC XML, COCO JSON (images + annotations), boxes JSON \
     ({\"images\": {\"name\": [[x0, y0, x1, y1], ...]}}) or a GeoJSON FeatureCollection of points"
        .into()
}

/// Every `*.xml` under `dir` (recursively), sorted.
fn xml_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let rd = std::fs::read_dir(dir).map_err(|source| Error::Io {
        path: dir.to_owned(),
        source,
    })?;
    for e in rd {
        let e = e.map_err(|source| Error::Io {
            path: dir.to_owned(),
            source,
        })?;
        let p = e.path();
        if p.is_dir() {
            xml_files(&p, out)?;
        } else if p.extension().is_some_and(|x| x.eq_ignore_ascii_case("xml")) {
            out.push(p);
        }
    }
    Ok(())
}

fn read_voc_folder(dir: &Path) -> Result<Vec<TruthImage>> {
    let mut files = Vec::new();
    xml_files(dir, &mut files)?;
    files.sort();
    if files.is_empty() {
        return Err(format_err(
            dir,
            "no PASCAL VOC annotations (*.xml) in this folder",
        ));
    }
    files
        .iter()
        .map(|f| parse_voc(f, &read_bytes(f)?))
        .collect()
}

/// The first child element of `n` called `name`.
fn child<'a, 'i>(n: roxmltree::Node<'a, 'i>, name: &str) -> Option<roxmltree::Node<'a, 'i>> {
    n.children()
        .find(|c| c.is_element() && c.tag_name().name() == name)
}

/// One PASCAL VOC annotation file.
pub fn parse_voc(path: &Path, bytes: &[u8]) -> Result<TruthImage> {
    let text = std::str::from_utf8(bytes)
        .map_err(|e| format_err(path, format!("malformed XML: not UTF-8 ({e})")))?;
    let doc = roxmltree::Document::parse(text)
        .map_err(|e| format_err(path, format!("malformed XML: {e}")))?;
    let root = doc.root_element();
    if root.tag_name().name() != "annotation" {
        return Err(format_err(
            path,
            format!(
                "not a PASCAL VOC annotation (root element <{}>, expected <annotation>)",
                root.tag_name().name()
            ),
        ));
    }
    let name = child(root, "filename")
        .and_then(|n| n.text())
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        // Without <filename>, the annotation file's own name stands for the image's.
        .unwrap_or_else(|| {
            path.file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into()
        });
    let mut objects = Vec::new();
    for (i, obj) in root
        .children()
        .filter(|c| c.is_element() && c.tag_name().name() == "object")
        .enumerate()
    {
        let bb = child(obj, "bndbox")
            .ok_or_else(|| format_err(path, format!("object {}: no <bndbox>", i + 1)))?;
        let mut v = [0.0f64; 4];
        for (slot, tag) in v.iter_mut().zip(["xmin", "ymin", "xmax", "ymax"]) {
            let t = child(bb, tag).and_then(|n| n.text()).map(str::trim);
            *slot = t
                .and_then(|t| t.parse::<f64>().ok())
                .filter(|x| x.is_finite())
                .ok_or_else(|| {
                    format_err(
                        path,
                        match t {
                            None => format!("object {}: no <{tag}> in <bndbox>", i + 1),
                            Some(t) => format!("object {}: <{tag}> is not a number: {t:?}", i + 1),
                        },
                    )
                })?;
        }
        if v[2] < v[0] || v[3] < v[1] {
            return Err(format_err(
                path,
                format!(
                    "object {}: box has xmax < xmin or ymax < ymin ({}, {}, {}, {})",
                    i + 1,
                    v[0],
                    v[1],
                    v[2],
                    v[3]
                ),
            ));
        }
        objects.push(TruthObject::from_box(v));
    }
    Ok(TruthImage {
        name,
        aliases: Vec::new(),
        source: path.to_owned(),
        objects,
    })
}

type Images = (TruthFormat, Vec<TruthImage>, bool);

fn read_json(path: &Path, bytes: &[u8]) -> Result<Images> {
    let v: Value = serde_json::from_slice(bytes)
        .map_err(|e| format_err(path, format!("malformed JSON: {e}")))?;
    if v.get("type").and_then(Value::as_str) == Some("FeatureCollection") {
        return parse_geojson(path, &v);
    }
    match (v.get("images"), v.get("annotations")) {
        (Some(Value::Array(imgs)), Some(Value::Array(anns))) => {
            Ok((TruthFormat::Coco, parse_coco(path, imgs, anns)?, false))
        }
        (Some(Value::Object(m)), _) => Ok((TruthFormat::BoxesJson, parse_boxes(path, m)?, false)),
        _ => Err(format_err(path, not_truth_msg())),
    }
}

fn num(v: &Value) -> Option<f64> {
    v.as_f64().filter(|x| x.is_finite())
}

/// An id as a map key: numbers and strings alike.
fn id_key(v: &Value) -> Option<String> {
    match v {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) => Some(format!("{s:?}")),
        _ => None,
    }
}

fn parse_coco(path: &Path, imgs: &[Value], anns: &[Value]) -> Result<Vec<TruthImage>> {
    let mut images = Vec::with_capacity(imgs.len());
    let mut by_id: BTreeMap<String, usize> = BTreeMap::new();
    for (i, im) in imgs.iter().enumerate() {
        let bad = |what: &str| format_err(path, format!("images[{i}]: {what}"));
        let id = im.get("id").and_then(id_key).ok_or_else(|| bad("no id"))?;
        let name = im
            .get("file_name")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("no file_name"))?;
        let aliases = match im.get("files") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(a)) => a
                .iter()
                .map(|f| f.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| bad("files is not a list of names"))?,
            Some(_) => return Err(bad("files is not a list of names")),
        };
        if by_id.insert(id.clone(), images.len()).is_some() {
            return Err(bad(&format!("id {id} is used twice")));
        }
        images.push(TruthImage {
            name: name.to_owned(),
            aliases,
            source: path.to_owned(),
            objects: Vec::new(),
        });
    }
    for (i, a) in anns.iter().enumerate() {
        let bad = |what: &str| format_err(path, format!("annotations[{i}]: {what}"));
        let id = a
            .get("image_id")
            .and_then(id_key)
            .ok_or_else(|| bad("no image_id"))?;
        let &k = by_id
            .get(&id)
            .ok_or_else(|| bad(&format!("image_id {id} is not in images")))?;
        let b = match a.get("bbox") {
            Some(Value::Array(b)) if b.len() == 4 => {
                let v: Option<Vec<f64>> = b.iter().map(num).collect();
                v.ok_or_else(|| bad("bbox is not 4 numbers"))?
            }
            _ => return Err(bad("bbox is not [x, y, w, h]")),
        };
        if b[2] < 0.0 || b[3] < 0.0 {
            return Err(bad("bbox has a negative width or height"));
        }
        images[k].objects.push(TruthObject::from_box([
            b[0],
            b[1],
            b[0] + b[2],
            b[1] + b[3],
        ]));
    }
    Ok(images)
}

fn parse_boxes(path: &Path, m: &serde_json::Map<String, Value>) -> Result<Vec<TruthImage>> {
    let mut images = Vec::with_capacity(m.len());
    for (name, boxes) in m {
        let bad = |what: String| format_err(path, format!("images[{name:?}]: {what}"));
        let list = boxes
            .as_array()
            .ok_or_else(|| bad("not a list of [x0, y0, x1, y1] boxes".into()))?;
        let mut objects = Vec::with_capacity(list.len());
        for (j, b) in list.iter().enumerate() {
            let v: Option<Vec<f64>> = b
                .as_array()
                .filter(|a| a.len() == 4)
                .and_then(|a| a.iter().map(num).collect());
            let v = v.ok_or_else(|| bad(format!("box {j} is not [x0, y0, x1, y1]")))?;
            if v[2] < v[0] || v[3] < v[1] {
                return Err(bad(format!("box {j} has x1 < x0 or y1 < y0")));
            }
            // Inclusive pixel corners: the last pixel's far edge is one further.
            objects.push(TruthObject::from_box([v[0], v[1], v[2] + 1.0, v[3] + 1.0]));
        }
        images.push(TruthImage {
            name: name.clone(),
            aliases: Vec::new(),
            source: path.to_owned(),
            objects,
        });
    }
    Ok(images)
}

fn parse_geojson(path: &Path, v: &Value) -> Result<Images> {
    let synth = v.get("vesselscan_synth").is_some();
    let features = v
        .get("features")
        .and_then(Value::as_array)
        .ok_or_else(|| format_err(path, "FeatureCollection without a features list"))?;
    let mut named: BTreeMap<String, Vec<TruthObject>> = BTreeMap::new();
    let mut unnamed: Vec<TruthObject> = Vec::new();
    for (i, f) in features.iter().enumerate() {
        let bad = |what: &str| format_err(path, format!("features[{i}]: {what}"));
        let g = f.get("geometry").ok_or_else(|| bad("no geometry"))?;
        let kind = g.get("type").and_then(Value::as_str).unwrap_or("none");
        if kind != "Point" {
            return Err(bad(&format!(
                "geometry is a {kind}; truth features must be Points"
            )));
        }
        let c = g
            .get("coordinates")
            .and_then(Value::as_array)
            .filter(|c| c.len() >= 2)
            .and_then(|c| Some([num(&c[0])?, num(&c[1])?]))
            .ok_or_else(|| bad("Point coordinates are not [lon, lat]"))?;
        let props = f.get("properties").filter(|p| p.is_object());
        let prop = |k: &str| props.and_then(|p| p.get(k)).filter(|x| !x.is_null());
        let centre_px = match (prop("x").and_then(num), prop("y").and_then(num)) {
            (Some(x), Some(y)) => Some([x, y]),
            _ => None,
        };
        let bbox = if synth {
            prop("bbox")
                .and_then(Value::as_array)
                .filter(|a| a.len() == 4)
                .and_then(|a| Some([num(&a[0])?, num(&a[1])?, num(&a[2])?, num(&a[3])?]))
        } else {
            None
        };
        let obj = TruthObject {
            bbox,
            centre_px,
            lonlat: Some(c),
        };
        match prop("image").or_else(|| prop("input")) {
            Some(Value::String(s)) => named.entry(s.clone()).or_default().push(obj),
            Some(_) => return Err(bad("the image property is not a string")),
            None => unnamed.push(obj),
        }
    }
    match (named.is_empty(), unnamed.is_empty()) {
        (false, false) => Err(format_err(
            path,
            format!(
                "{} features name their image (property image or input) and {} do not; name it in all or none",
                named.values().map(Vec::len).sum::<usize>(),
                unnamed.len()
            ),
        )),
        (false, true) => Ok((
            TruthFormat::GeoJson,
            named
                .into_iter()
                .map(|(name, objects)| TruthImage {
                    name,
                    aliases: Vec::new(),
                    source: path.to_owned(),
                    objects,
                })
                .collect(),
            false,
        )),
        // All points (possibly none) belong to the one image the predictions describe.
        (true, _) => Ok((
            TruthFormat::GeoJson,
            vec![TruthImage {
                name: String::new(),
                aliases: Vec::new(),
                source: path.to_owned(),
                objects: unnamed,
            }],
            true,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str, text: &str) -> (tempfile::TempDir, PathBuf) {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join(name);
        std::fs::write(&p, text).unwrap();
        (d, p)
    }

    const VOC: &str = r#"<?xml version="1.0" ?><annotation>
      <filename>000002.jpg</filename>
      <object><name>ship</name><bndbox><xmin>212</xmin><ymin>150</ymin><xmax>264</xmax><ymax>169</ymax></bndbox></object>
      <object><name>ship</name><bndbox><xmin>1.5</xmin><ymin>2</ymin><xmax>3</xmax><ymax>4</ymax></bndbox></object>
    </annotation>"#;

    #[test]
    fn voc_boxes_are_corners() {
        let (_d, p) = tmp("a.xml", VOC);
        let t = read_truth(&p).unwrap();
        assert_eq!(t.format, TruthFormat::PascalVoc);
        assert_eq!(t.images.len(), 1);
        let im = &t.images[0];
        assert_eq!(im.name, "000002.jpg");
        assert_eq!(im.keys(), vec!["000002".to_string()]);
        assert_eq!(im.objects[0].bbox, Some([212.0, 150.0, 264.0, 169.0]));
        assert_eq!(im.objects[0].centre_px, Some([238.0, 159.5]));
        assert_eq!(im.objects[1].bbox, Some([1.5, 2.0, 3.0, 4.0]));
    }

    #[test]
    fn voc_errors_name_the_file_and_object() {
        let (_d, p) = tmp("bad.xml", "<annotation><object><bndbox>");
        let e = read_truth(&p).unwrap_err().to_string();
        assert!(
            e.starts_with(&format!("{}: malformed XML:", p.display())),
            "{e}"
        );
        let (_d, p) = tmp(
            "n.xml",
            "<annotation><object><bndbox><xmin>a</xmin></bndbox></object></annotation>",
        );
        let e = read_truth(&p).unwrap_err().to_string();
        assert!(
            e.ends_with("object 1: <xmin> is not a number: \"a\""),
            "{e}"
        );
        let (_d, p) = tmp("r.xml", "<svg/>");
        let e = read_truth(&p).unwrap_err().to_string();
        assert!(e.contains("not a PASCAL VOC annotation"), "{e}");
        assert!(!e.contains('\n'));
    }

    #[test]
    fn voc_folder_and_empty_folder() {
        let d = tempfile::tempdir().unwrap();
        let e = read_truth(d.path()).unwrap_err().to_string();
        assert!(e.contains("no PASCAL VOC annotations"), "{e}");
        std::fs::write(d.path().join("a.xml"), VOC).unwrap();
        std::fs::write(
            d.path().join("b.xml"),
            "<annotation><filename>b.png</filename></annotation>",
        )
        .unwrap();
        let t = read_truth(d.path()).unwrap();
        let names: Vec<_> = t.images.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(names, ["000002.jpg", "b.png"]);
        assert!(t.images[1].objects.is_empty());
        // The same image annotated twice.
        std::fs::write(d.path().join("c.xml"), VOC).unwrap();
        let e = read_truth(d.path()).unwrap_err().to_string();
        assert!(e.contains("annotated twice"), "{e}");
    }

    #[test]
    fn coco_boxes_are_half_open_and_files_are_aliases() {
        let (_d, p) = tmp(
            "c.json",
            r#"{"images": [{"id": 1, "file_name": "busan_rgb.tiff", "width": 10, "height": 10,
                 "files": ["busan/busan_B08.tif"]}, {"id": 2, "file_name": "x.png"}],
               "annotations": [{"image_id": 1, "bbox": [479.0, 425.0, 7.0, 6.0]}]}"#,
        );
        let t = read_truth(&p).unwrap();
        assert_eq!(t.format, TruthFormat::Coco);
        assert_eq!(t.images[0].keys(), vec!["busan_rgb", "busan_b08"]);
        assert_eq!(
            t.images[0].objects[0].bbox,
            Some([479.0, 425.0, 486.0, 431.0])
        );
        assert!(t.images[1].objects.is_empty());
        let (_d, p) = tmp(
            "c.json",
            r#"{"images": [], "annotations": [{"image_id": 3, "bbox": [0, 0, 1, 1]}]}"#,
        );
        let e = read_truth(&p).unwrap_err().to_string();
        assert!(
            e.ends_with("annotations[0]: image_id 3 is not in images"),
            "{e}"
        );
    }

    #[test]
    fn boxes_json_is_inclusive() {
        let (_d, p) = tmp(
            "b.json",
            r#"{"note": "x", "images": {"images/P1.png": [[59, 90, 74, 165]], "images/P0.png": []}}"#,
        );
        let t = read_truth(&p).unwrap();
        assert_eq!(t.format, TruthFormat::BoxesJson);
        assert_eq!(t.images[0].name, "images/P0.png");
        assert_eq!(t.images[1].objects[0].bbox, Some([59.0, 90.0, 75.0, 166.0]));
    }

    #[test]
    fn geojson_points_with_and_without_image_names() {
        let (_d, p) = tmp(
            "t.geojson",
            r#"{"type": "FeatureCollection", "features": [
                {"type": "Feature", "geometry": {"type": "Point", "coordinates": [3.0, 52.0]},
                 "properties": {"image": "b.tif"}},
                {"type": "Feature", "geometry": {"type": "Point", "coordinates": [3.1, 52.1]},
                 "properties": {"input": "a.tif", "x": 5, "y": 6}}]}"#,
        );
        let t = read_truth(&p).unwrap();
        assert!(!t.any_image);
        assert_eq!(t.images[0].name, "a.tif");
        assert_eq!(t.images[0].objects[0].centre_px, Some([5.0, 6.0]));
        assert_eq!(t.images[0].objects[0].bbox, None);
        assert_eq!(t.images[1].objects[0].lonlat, Some([3.0, 52.0]));

        let (_d, p) = tmp(
            "s.truth.geojson",
            r#"{"type": "FeatureCollection", "vesselscan_synth": {"width": 10}, "features": [
                {"type": "Feature", "id": 1, "geometry": {"type": "Point", "coordinates": [3.0, 52.0]},
                 "properties": {"id": 1, "x": 5.5, "y": 6.5, "bbox": [4, 5, 7, 8]}}]}"#,
        );
        let t = read_truth(&p).unwrap();
        assert!(t.any_image);
        assert_eq!(t.images[0].objects[0].bbox, Some([4.0, 5.0, 7.0, 8.0]));
        assert_eq!(t.images[0].objects[0].centre_px, Some([5.5, 6.5]));
    }

    #[test]
    fn unknown_json_is_refused() {
        let (_d, p) = tmp("u.json", r#"{"detections": []}"#);
        let e = read_truth(&p).unwrap_err().to_string();
        assert!(e.contains("not a truth file"), "{e}");
        let (_d, p) = tmp("u.json", r#"{"images": "#);
        let e = read_truth(&p).unwrap_err().to_string();
        assert!(e.contains("malformed JSON"), "{e}");
    }
}
