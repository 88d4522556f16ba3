//! The one error type of the crate: every fallible call returns [`Error`]; a statement that
//! does not parse carries a [`ParseError`] with where and why.

use std::path::PathBuf;

mod parse;

pub use parse::ParseError;

/// A `Result` whose error is [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in quarry, with variants a caller can match on.
///
/// ```
/// let err = quarry::Error::from(quarry::Value::float(f64::NAN).unwrap_err());
/// assert!(matches!(err, quarry::Error::InvalidDocument(_)));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A collection, index or document that does not exist (the message says which, and
    /// may suggest the nearest name).
    #[error("{0}")]
    NotFound(String),

    /// A write would give two documents the same value in a unique index; nothing was written.
    #[error("unique index `{index}` already has a document with {value}")]
    UniqueViolation {
        /// The index's name.
        index: String,
        /// The duplicated value (or values, for a compound index), as JSON.
        value: String,
    },

    /// A document that cannot be stored (not an object, NaN, too deep, two arrays in a compound
    /// index, …); nothing was written.
    #[error("invalid document: {0}")]
    InvalidDocument(String),

    /// A collection name that is not allowed.
    #[error("invalid name: {0}")]
    InvalidName(String),

    /// An index definition that cannot be created (bad path, too many paths, …).
    #[error("invalid index: {0}")]
    InvalidIndex(String),

    /// Another process has the database open.
    #[error(
        "database {} is locked: another quarry process has it open (close it, or try again when it is done)",
        path.display()
    )]
    Locked {
        /// The database's path.
        path: PathBuf,
    },

    /// Stored data that cannot be read back.
    #[error("corrupt data: {0}")]
    Corrupt(String),

    /// The database was written by a format this build does not read.
    #[error(
        "database format version {found} is not supported: this build of quarry reads format version {supported}"
    )]
    FormatVersion {
        /// The version recorded in the database.
        found: u32,
        /// The version this build reads and writes.
        supported: u32,
    },

    /// A statement that does not parse (with line, column and what was expected).
    #[error("{0}")]
    Parse(#[from] ParseError),

    /// A statement that cannot run: an unknown collection in a query, a bad regular
    /// expression, a wrong type for `limit`, an unbound parameter, …
    #[error("{0}")]
    Query(String),

    /// A transaction that cannot begin, go on or end as asked: `begin` inside one, `commit`
    /// with none open, a write past its size limit, a statement it cannot hold, a write on
    /// its thread that bypasses it. The transaction itself is left as it was.
    #[error("{0}")]
    Transaction(String),

    /// A running statement was stopped (Ctrl-C in the shell); nothing it was writing was kept.
    #[error("interrupted")]
    Interrupted,

    /// A value given to or asked of serde that does not fit (for example a typed read of a
    /// document whose fields do not match the type).
    #[error("cannot convert document: {0}")]
    Conversion(String),

    /// An error from the file system.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),

    /// Any other error from the storage engine.
    #[error("storage error: {0}")]
    Storage(String),
}

impl Error {
    /// Maps a sled error, recognising the lock failure of a database held by another process.
    pub(crate) fn from_sled(err: sled::Error, path: &std::path::Path) -> Error {
        match err {
            sled::Error::Io(io) if io.to_string().contains("could not acquire lock") => {
                Error::Locked {
                    path: path.to_path_buf(),
                }
            }
            sled::Error::Io(io) => Error::Io(io),
            sled::Error::Corruption { at, .. } => {
                Error::Corrupt(format!("the storage file is damaged (at {at:?})"))
            }
            sled::Error::CollectionNotFound(_) => Error::NotFound("collection not found".into()),
            other => Error::Storage(other.to_string()),
        }
    }
}

impl Error {
    /// A sled error met while opening the store at `path`: a lock held elsewhere, or damage
    /// (and anything that is not a quarry store reads as damage) said with the path.
    pub(crate) fn opening(err: sled::Error, path: &std::path::Path) -> Error {
        use std::io::ErrorKind;
        let damaged = |detail: String| Error::not_a_database(path, &detail);
        match err {
            sled::Error::Io(io)
                if matches!(
                    io.kind(),
                    ErrorKind::NotADirectory
                        | ErrorKind::InvalidData
                        | ErrorKind::UnexpectedEof
                        | ErrorKind::InvalidInput
                ) =>
            {
                damaged(io.to_string())
            }
            sled::Error::Unsupported(detail) => damaged(detail),
            sled::Error::Corruption { at, .. } => damaged(format!("damaged at {at:?}")),
            sled::Error::ReportableBug(detail) => damaged(detail),
            other => Error::from_sled(other, path),
        }
    }

    /// `PATH is not a quarry database, or it is damaged (detail)`.
    pub(crate) fn not_a_database(path: &std::path::Path, detail: &str) -> Error {
        Error::Corrupt(format!(
            "{} is not a quarry database, or it is damaged ({detail})",
            path.display()
        ))
    }
}

impl From<sled::Error> for Error {
    fn from(err: sled::Error) -> Error {
        Error::from_sled(err, std::path::Path::new(""))
    }
}

impl From<crate::codec::CodecError> for Error {
    fn from(err: crate::codec::CodecError) -> Error {
        match err {
            crate::codec::CodecError::Decode(what) => Error::Corrupt(what),
            crate::codec::CodecError::Convert(what) => Error::Conversion(what),
            other => Error::Storage(other.to_string()),
        }
    }
}

impl From<crate::value::ValueError> for Error {
    fn from(err: crate::value::ValueError) -> Error {
        Error::InvalidDocument(err.0)
    }
}

impl From<crate::path::SetError> for Error {
    fn from(err: crate::path::SetError) -> Error {
        Error::Query(err.0)
    }
}
