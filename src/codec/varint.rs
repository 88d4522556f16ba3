//! LEB128 varints, the integer encoding of every block the store packs (text postings, value
//! index id blocks).
//!
//! Invariant: a value takes at most ten bytes; a reader refuses a value cut short, a varint
//! longer than that, and bytes left over when it is done.

use crate::codec::CodecError;

/// Appends `value` as a LEB128 varint.
pub(crate) fn put(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// The error of a stored value that does not decode, saying `what` is wrong.
pub(crate) fn bad(what: &str) -> CodecError {
    CodecError::Decode(what.into())
}

/// Reads varints from the front of a byte slice, one after another.
pub(crate) struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    /// A cursor at the start of `bytes`.
    pub fn new(bytes: &'a [u8]) -> Cursor<'a> {
        Cursor { bytes, at: 0 }
    }

    /// The next varint.
    pub fn next(&mut self) -> Result<u64, CodecError> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = *self
                .bytes
                .get(self.at)
                .ok_or_else(|| CodecError::Decode("stored value cut short".into()))?;
            self.at += 1;
            value |= u64::from(byte & 0x7F) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(CodecError::Decode(
            "varint too long in a stored value".into(),
        ))
    }

    /// How many bytes were read.
    pub fn position(&self) -> usize {
        self.at
    }

    /// Fails unless every byte was read.
    pub fn done(&self) -> Result<(), CodecError> {
        match self.at == self.bytes.len() {
            true => Ok(()),
            false => Err(CodecError::Decode(
                "trailing bytes in a stored value".into(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_and_damage_is_refused() {
        let values = [0, 1, 127, 128, 300, u64::from(u32::MAX), u64::MAX];
        let mut bytes = Vec::new();
        values.iter().for_each(|&v| put(&mut bytes, v));
        let mut cursor = Cursor::new(&bytes);
        for &v in &values {
            assert_eq!(cursor.next().unwrap(), v);
        }
        cursor.done().unwrap();
        assert!(cursor.next().is_err());
        assert!(Cursor::new(&[0x80; 11]).next().is_err());
        let mut short = Cursor::new(&[1, 2]);
        short.next().unwrap();
        assert!(short.done().is_err());
    }
}
