//! Sample kinds and order keys.
//!
//! Every stage after reading sees pixels as **order keys**: one `u32` per pixel whose unsigned
//! order is the order of the sample values. The GPU kernels (`shaders/*.wgsl`) and their CPU
//! twins (`src/cpu/*.rs`) compare keys only, so a threshold test is one integer comparison on
//! both backends, exact for every sample type (no float rounding, no denormal flushing).
//!
//! * `u8`, `u16`, `u32`: the key is the value.
//! * `i16`: the key is the sign-extended value with its top bit flipped.
//! * `f32`: the IEEE bits, with negatives inverted and positives' sign bit set (the classic
//!   radix-sort trick). Every NaN is stored as [`NAN_KEY`], which is never a target.

use serde::Serialize;

/// Key under which every NaN is stored for `f32` scenes (bits 0x7FFF_FFFF, a NaN, mapped).
pub const NAN_KEY: u32 = 0xFFFF_FFFF;

/// Key of +0.0 (and of -0.0, which equals it).
pub const ZERO_F32_KEY: u32 = 0x8000_0000;
/// Keys of -inf and +inf: left out of the f32 sum scale and of histogram ranges.
pub const NEG_INF_KEY: u32 = 0x007F_FFFF;
pub const POS_INF_KEY: u32 = 0xFF80_0000;

/// Exponent `s` of the fixed-point sums of an `f32` scene (each target pixel adds
/// `trunc(v * 2^s)`, saturated to +-(2^31 - 128)), from the largest finite |value| of the scene:
/// the largest `s <= 100` with `max_abs * 2^s < 2^31`, so no finite pixel saturates and a
/// component's sum is exact in 64 bits. Resolution of the sums: 2^-s.
pub fn f32_sum_exponent(max_abs: f64) -> i32 {
    if max_abs.is_nan() || max_abs <= 0.0 || max_abs.is_infinite() {
        return 0;
    }
    // e: smallest integer with max_abs < 2^e.
    let mut e = max_abs.log2().floor() as i32 + 1;
    while max_abs >= (e as f64).exp2() {
        e += 1;
    }
    while e > -150 && max_abs < ((e - 1) as f64).exp2() {
        e -= 1;
    }
    (31 - e).clamp(-100, 100)
}

/// The sample type of a raster band.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SampleKind {
    U8,
    U16,
    I16,
    U32,
    F32,
}

impl SampleKind {
    /// Code passed to the kernels in `Params.kind` (keep in sync with `shaders/common.wgsl`).
    pub fn code(self) -> u32 {
        match self {
            SampleKind::U8 => 0,
            SampleKind::U16 => 1,
            SampleKind::I16 => 2,
            SampleKind::U32 => 3,
            SampleKind::F32 => 4,
        }
    }

    /// Bytes per sample as stored in the file.
    pub fn bytes(self) -> usize {
        match self {
            SampleKind::U8 => 1,
            SampleKind::U16 | SampleKind::I16 => 2,
            SampleKind::U32 | SampleKind::F32 => 4,
        }
    }

    pub fn is_float(self) -> bool {
        self == SampleKind::F32
    }

    pub fn name(self) -> &'static str {
        match self {
            SampleKind::U8 => "u8",
            SampleKind::U16 => "u16",
            SampleKind::I16 => "i16",
            SampleKind::U32 => "u32",
            SampleKind::F32 => "f32",
        }
    }
}

#[inline]
pub fn key_u8(v: u8) -> u32 {
    v as u32
}
#[inline]
pub fn key_u16(v: u16) -> u32 {
    v as u32
}
#[inline]
pub fn key_u32(v: u32) -> u32 {
    v
}
#[inline]
pub fn key_i16(v: i16) -> u32 {
    (v as i32 as u32) ^ 0x8000_0000
}
#[inline]
pub fn key_f32(v: f32) -> u32 {
    if v.is_nan() {
        return NAN_KEY;
    }
    if v == 0.0 {
        // -0.0 == 0.0: one key, so thresholds and nodata treat them alike.
        return ZERO_F32_KEY;
    }
    let b = v.to_bits();
    if b & 0x8000_0000 != 0 {
        !b
    } else {
        b | 0x8000_0000
    }
}

/// The sample value a key stands for.
pub fn key_to_value(kind: SampleKind, key: u32) -> f64 {
    match kind {
        SampleKind::U8 | SampleKind::U16 | SampleKind::U32 => key as f64,
        SampleKind::I16 => (key ^ 0x8000_0000) as i32 as f64,
        SampleKind::F32 => {
            if key == NAN_KEY {
                return f64::NAN;
            }
            let b = if key & 0x8000_0000 != 0 {
                key & 0x7FFF_FFFF
            } else {
                !key
            };
            f32::from_bits(b) as f64
        }
    }
}

/// Smallest key whose value is `>= v`, or `None` when no sample of this kind reaches `v`.
/// A pixel is a target when `key >= threshold_key(v)`, i.e. when `value >= v`.
pub fn threshold_key(kind: SampleKind, v: f64) -> Option<u32> {
    if v.is_nan() {
        return None;
    }
    match kind {
        SampleKind::U8 | SampleKind::U16 | SampleKind::U32 | SampleKind::I16 => {
            let (lo, hi) = match kind {
                SampleKind::U8 => (0.0, u8::MAX as f64),
                SampleKind::U16 => (0.0, u16::MAX as f64),
                SampleKind::U32 => (0.0, u32::MAX as f64),
                _ => (i16::MIN as f64, i16::MAX as f64),
            };
            let c = v.ceil();
            if c > hi {
                return None;
            }
            let c = c.max(lo);
            Some(match kind {
                SampleKind::I16 => key_i16(c as i16),
                _ => c as u32,
            })
        }
        SampleKind::F32 => {
            // Smallest f32 >= v.
            let mut f = v as f32;
            if (f as f64) < v {
                f = next_up(f);
            }
            Some(key_f32(f))
        }
    }
}

fn next_up(f: f32) -> f32 {
    if f.is_nan() || f == f32::INFINITY {
        return f;
    }
    if f == 0.0 {
        return f32::from_bits(1);
    }
    let b = f.to_bits();
    if f > 0.0 {
        f32::from_bits(b + 1)
    } else {
        f32::from_bits(b - 1)
    }
}

/// The key of a nodata value, or `None` when no sample of this kind can equal it
/// (then no pixel is nodata). For `f32` the value is rounded to f32 first, as GDAL does.
/// NaN nodata is implicit for `f32` (every NaN is nodata).
pub fn nodata_key(kind: SampleKind, v: f64) -> Option<u32> {
    if v.is_nan() {
        return None;
    }
    match kind {
        SampleKind::U8 | SampleKind::U16 | SampleKind::U32 => {
            let max = match kind {
                SampleKind::U8 => u8::MAX as f64,
                SampleKind::U16 => u16::MAX as f64,
                _ => u32::MAX as f64,
            };
            (v.fract() == 0.0 && (0.0..=max).contains(&v)).then_some(v as u32)
        }
        SampleKind::I16 => (v.fract() == 0.0 && (i16::MIN as f64..=i16::MAX as f64).contains(&v))
            .then(|| key_i16(v as i16)),
        // As GDAL does: the nodata value rounded to f32 (out of range: +-inf).
        SampleKind::F32 => Some(key_f32(v as f32)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_preserve_order() {
        let fs = [
            f32::NEG_INFINITY,
            -1e30,
            -1.5,
            -f32::MIN_POSITIVE,
            -0.0,
            0.0,
            f32::from_bits(1),
            1.0,
            3.5e20,
            f32::INFINITY,
        ];
        for w in fs.windows(2) {
            assert!(key_f32(w[0]) <= key_f32(w[1]), "{:?}", w);
        }
        for w in [i16::MIN, -5, -1, 0, 1, i16::MAX].windows(2) {
            assert!(key_i16(w[0]) < key_i16(w[1]));
        }
        for f in fs {
            assert_eq!(key_to_value(SampleKind::F32, key_f32(f)), f as f64);
        }
        assert_eq!(key_to_value(SampleKind::I16, key_i16(-300)), -300.0);
    }

    #[test]
    fn sum_exponent_keeps_pixels_below_2_31() {
        for m in [
            1e-30,
            0.3,
            1.0,
            1.5,
            2.0,
            100.0,
            65535.0,
            1e14,
            f32::MAX as f64,
        ] {
            let s = f32_sum_exponent(m);
            assert!(m * (s as f64).exp2() < 2147483648.0, "{m} {s}");
            assert!(
                s == 100 || m * ((s + 1) as f64).exp2() >= 2147483648.0,
                "{m} {s}"
            );
        }
        assert_eq!(f32_sum_exponent(1.0), 30);
        assert_eq!(f32_sum_exponent(0.0), 0);
    }

    #[test]
    fn threshold_keys() {
        assert_eq!(threshold_key(SampleKind::U8, 10.0), Some(10));
        assert_eq!(threshold_key(SampleKind::U8, 10.2), Some(11));
        assert_eq!(threshold_key(SampleKind::U8, -4.0), Some(0));
        assert_eq!(threshold_key(SampleKind::U8, 256.0), None);
        assert_eq!(threshold_key(SampleKind::I16, -3.5), Some(key_i16(-3)));
        let k = threshold_key(SampleKind::F32, 0.1).unwrap();
        assert!(key_to_value(SampleKind::F32, k) >= 0.1);
        assert!(key_to_value(SampleKind::F32, k - 1) < 0.1);
        assert_eq!(nodata_key(SampleKind::U16, 0.0), Some(0));
        assert_eq!(key_f32(-0.0), key_f32(0.0));
        assert_eq!(threshold_key(SampleKind::F32, 0.0), Some(key_f32(-0.0)));
        assert_eq!(nodata_key(SampleKind::F32, -9999.9), Some(key_f32(-9999.9)));
        assert_eq!(
            nodata_key(SampleKind::F32, -3.4028235e38),
            Some(key_f32(f32::MIN))
        );
        assert_eq!(key_f32(f32::NEG_INFINITY), NEG_INF_KEY);
        assert_eq!(key_f32(f32::INFINITY), POS_INF_KEY);
        assert_eq!(nodata_key(SampleKind::U16, 0.5), None);
    }
}
