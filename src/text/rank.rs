//! Scores: BM25 as SQLite's FTS5 computes it, over every field of the text index.
//!
//! Invariant: a score is a function of the document's occurrences of each phrase or prefix
//! looked for, its length, and the index's statistics, summed in the order the search is
//! written; the posting lists and a document's own terms give the same inputs, so the same
//! document gets the same score whichever way it was found.

/// BM25's term-frequency saturation.
pub const K1: f64 = 1.2;
/// BM25's length normalisation.
pub const B: f64 = 0.75;

/// What a score needs to know of the whole index.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Corpus {
    /// Documents with at least one indexed word.
    pub documents: u64,
    /// Indexed words in all of them.
    pub words: u64,
}

impl Corpus {
    /// The mean document length (1 for an empty index, so nothing divides by zero).
    pub fn average_length(&self) -> f64 {
        if self.documents == 0 {
            1.0
        } else {
            (self.words as f64 / self.documents as f64).max(f64::MIN_POSITIVE)
        }
    }

    /// The inverse document frequency of something found in `containing` documents: FTS5's
    /// `ln((N - n + 0.5) / (n + 0.5))`, at least one millionth (a word in most documents
    /// still counts a little).
    ///
    /// ```
    /// let corpus = quarry::text::rank::Corpus { documents: 100, words: 1000 };
    /// assert!(corpus.idf(1) > corpus.idf(10));
    /// assert_eq!(corpus.idf(90), 1e-6);
    /// ```
    pub fn idf(&self, containing: u64) -> f64 {
        let n = self.documents as f64;
        let c = containing as f64;
        let idf = ((n - c + 0.5) / (c + 0.5)).ln();
        if idf > 0.0 { idf } else { 1e-6 }
    }
}

/// The BM25 score of a document of `length` words in which each wanted phrase or prefix
/// (with its idf) occurs `occurrences[i]` times.
///
/// ```
/// use quarry::text::rank::{Corpus, bm25};
/// let corpus = Corpus { documents: 10, words: 100 };
/// let rare = corpus.idf(1);
/// assert!(bm25(&[rare], &[2], 10, &corpus) > bm25(&[rare], &[1], 10, &corpus));
/// assert!(bm25(&[rare], &[1], 5, &corpus) > bm25(&[rare], &[1], 50, &corpus));
/// ```
pub fn bm25(idfs: &[f64], occurrences: &[u32], length: u32, corpus: &Corpus) -> f64 {
    let norm = K1 * (1.0 - B + B * f64::from(length) / corpus.average_length());
    idfs.iter()
        .zip(occurrences)
        .map(|(idf, &tf)| {
            let tf = f64::from(tf);
            idf * tf * (K1 + 1.0) / (tf + norm)
        })
        .sum()
}
