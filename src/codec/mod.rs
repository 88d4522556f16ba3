//! Encodings: every byte format of the store, and every bincode call of the crate.
//!
//! - [`document`]: documents as stored (bincode).
//! - [`keycode`]: index keys whose byte order is the values' order.
//! - [`typed`]: serde types read straight from stored documents.
//! - [`postings`]: a text index's posting blocks, length pages and corpus record.
//! - [`ids`]: a value index's blocks of document ids.
//! - [`pages`]: a collection's documents, packed into pages of consecutive ids.
//! - `varint`: the LEB128 integers both kinds of block are made of.
//! - [`encode_record`] / [`decode_record`]: catalog records (bincode through serde).

pub mod document;
pub mod ids;
pub mod keycode;
pub mod pages;
pub mod postings;
pub mod typed;
mod varint;

pub use document::CodecError;

/// Encodes a catalog record (a plain serde struct).
///
/// ```
/// #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
/// struct R { name: String, n: u32 }
/// let bytes = quarry::internals::codec::encode_record(&R { name: "a".into(), n: 1 }).unwrap();
/// assert_eq!(quarry::internals::codec::decode_record::<R>(&bytes).unwrap(), R { name: "a".into(), n: 1 });
/// ```
pub fn encode_record<T: serde::Serialize>(record: &T) -> Result<Vec<u8>, CodecError> {
    Ok(bincode::serde::encode_to_vec(
        record,
        bincode::config::standard(),
    )?)
}

/// Decodes a catalog record.
pub fn decode_record<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, CodecError> {
    let config = bincode::config::standard().with_limit::<{ 1 << 24 }>();
    let (record, read) = bincode::serde::decode_from_slice(bytes, config)?;
    if read != bytes.len() {
        return Err(CodecError::Decode("trailing bytes after the record".into()));
    }
    Ok(record)
}
