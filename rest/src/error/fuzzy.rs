//! The approximate string matching behind PostgREST's "Perhaps you meant …" hints: a port of
//! the Haskell `fuzzyset` library (0.2, `Data.FuzzySet` with `defaultSet`: gram sizes 3 then 2,
//! Levenshtein re-scoring) that `PostgREST.Error` queries with `getOne`, `get` and
//! `getOneWithMinScore 0.75`.
//!
//! A query is lower-cased; an entry equal to it (ignoring case) scores 1. Otherwise, for gram
//! size 3 and then 2, both strings are normalised (lower case, only alphanumerics, spaces and
//! commas kept), enclosed in `-` and cut into n-grams; entries sharing at least one gram are
//! ranked by the cosine similarity of the gram-count vectors, the best 50 are re-scored with the
//! normalised Levenshtein similarity `1 - distance / max(len)` of the lower-cased strings, and
//! those at or above the minimum score are the answer. The first gram size with an answer wins.

use std::collections::HashMap;

/// `getOne`'s and `get`'s minimum score.
pub(crate) const DEFAULT_MIN_SCORE: f64 = 0.33;

/// The minimum score PostgREST's `getFuzzyHint` uses for table and function names.
pub(crate) const NAME_MIN_SCORE: f64 = 0.75;

/// Candidates kept from the cosine ranking before the Levenshtein re-scoring.
const LEVENSHTEIN_CANDIDATES: usize = 50;

struct Entry {
    value: String,
    key: String,
    /// Gram counts and vector magnitude for gram sizes 2 and 3.
    grams: [(HashMap<String, u32>, f64); 2],
}

/// A set of strings to match queries against (`Data.FuzzySet.fromList`).
pub(crate) struct FuzzySet {
    entries: Vec<Entry>,
}

impl FuzzySet {
    /// The set of `values`; of values equal but for case, the first is kept.
    pub(crate) fn new<'a>(values: impl IntoIterator<Item = &'a str>) -> Self {
        let mut entries: Vec<Entry> = Vec::new();
        for value in values {
            let key = value.to_lowercase();
            if entries.iter().any(|e| e.key == key) {
                continue;
            }
            let grams = [gram_vector(&key, 2), gram_vector(&key, 3)];
            entries.push(Entry {
                value: value.to_string(),
                key,
                grams,
            });
        }
        Self { entries }
    }

    /// `getWithMinScore`: the matches of `query` scoring at least `min_score`, best first.
    pub(crate) fn get(&self, query: &str, min_score: f64) -> Vec<(f64, &str)> {
        let key = query.to_lowercase();
        if let Some(exact) = self.entries.iter().find(|e| e.key == key) {
            return vec![(1.0, exact.value.as_str())];
        }
        for size in [3usize, 2] {
            let found = self.matches(&key, size, min_score);
            if !found.is_empty() {
                return found;
            }
        }
        Vec::new()
    }

    /// `getOneWithMinScore`: the best match of `query` scoring at least `min_score`.
    pub(crate) fn get_one(&self, query: &str, min_score: f64) -> Option<&str> {
        self.get(query, min_score).first().map(|(_, v)| *v)
    }

    fn matches(&self, key: &str, size: usize, min_score: f64) -> Vec<(f64, &str)> {
        let (query, query_norm) = gram_vector(key, size);
        let slot = size - 2;
        let mut cosine: Vec<(f64, &Entry)> = self
            .entries
            .iter()
            .filter_map(|e| {
                let (grams, norm) = &e.grams[slot];
                let dot: u64 = query
                    .iter()
                    .filter_map(|(g, n)| grams.get(g).map(|m| u64::from(*n) * u64::from(*m)))
                    .sum();
                (dot > 0).then(|| (dot as f64 / (query_norm * norm), e))
            })
            .collect();
        cosine.sort_by(|a, b| b.0.total_cmp(&a.0));
        let mut scored: Vec<(f64, &str)> = cosine
            .into_iter()
            .take(LEVENSHTEIN_CANDIDATES)
            .map(|(_, e)| (levenshtein_similarity(key, &e.key), e.value.as_str()))
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0));
        scored.retain(|(score, _)| *score >= min_score);
        scored
    }
}

/// The n-gram counts of `key` (normalised, enclosed in `-`) and their euclidean norm.
fn gram_vector(key: &str, size: usize) -> (HashMap<String, u32>, f64) {
    let normalized: Vec<char> = std::iter::once('-')
        .chain(
            key.to_lowercase()
                .chars()
                .filter(|c| c.is_alphanumeric() || c.is_whitespace() || *c == ','),
        )
        .chain(std::iter::once('-'))
        .collect();
    let mut counts: HashMap<String, u32> = HashMap::new();
    if normalized.len() >= size {
        for window in normalized.windows(size) {
            *counts.entry(window.iter().collect()).or_insert(0) += 1;
        }
    }
    let norm = counts
        .values()
        .map(|n| f64::from(*n) * f64::from(*n))
        .sum::<f64>()
        .sqrt();
    (counts, norm)
}

/// `text-metrics`' `levenshteinNorm`: 1 − distance / length of the longer string (1 for two
/// empty strings).
pub(crate) fn levenshtein_similarity(a: &str, b: &str) -> f64 {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let longest = a.len().max(b.len());
    if longest == 0 {
        return 1.0;
    }
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = Vec::with_capacity(b.len() + 1);
        cur.push(i + 1);
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    1.0 - prev[b.len()] as f64 / longest as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATES: [&str; 12] = [
        "Virgin Islands",
        "Rhode Island",
        "Northern Marianas Islands",
        "Maryland",
        "Wyoming",
        "Connecticut",
        "Pennsylvania",
        "California",
        "Arkansas",
        "Kansas",
        "Alaska",
        "Nebraska",
    ];

    #[test]
    fn matches_the_libraries_documented_examples() {
        let set = FuzzySet::new(STATES);
        let top = |q: &str| set.get(q, DEFAULT_MIN_SCORE).first().copied();
        assert_eq!(top("Why-oh-me-ing").map(|m| m.1), Some("Wyoming"));
        assert_eq!(top("Connect a cat").map(|m| m.1), Some("Connecticut"));
        assert_eq!(top("Transylvania"), Some((0.75, "Pennsylvania")));
        assert_eq!(top("Alaska"), Some((1.0, "Alaska")));
        assert_eq!(top("ALASKA"), Some((1.0, "Alaska")));
        assert_eq!(top("Burger Islands"), Some((10.0 / 14.0, "Virgin Islands")));
    }

    #[test]
    fn postgrest_hint_examples() {
        // Error.hs doctests: noRpcHint and noRelBetweenHint.
        let procs = FuzzySet::new(["test", "another"]);
        assert_eq!(procs.get_one("testt", NAME_MIN_SCORE), Some("test"));
        assert_eq!(procs.get_one("noclosealternative", NAME_MIN_SCORE), None);
        let params = FuzzySet::new(["(name, param, val)", "(attr, id)"]);
        assert_eq!(
            params.get_one("(nam, pqaram, vall)", DEFAULT_MIN_SCORE),
            Some("(name, param, val)")
        );
        assert_eq!(
            params.get_one("(param, val)", DEFAULT_MIN_SCORE),
            Some("(name, param, val)")
        );
        assert_eq!(
            params.get_one("(attrs, id)", DEFAULT_MIN_SCORE),
            Some("(attr, id)")
        );
        assert_eq!(
            params.get_one("(id)", DEFAULT_MIN_SCORE),
            Some("(attr, id)")
        );
        assert_eq!(
            params.get_one("(noclosealternative)", DEFAULT_MIN_SCORE),
            None
        );
        let children = FuzzySet::new(["directors", "roles", "actors"]);
        assert_eq!(children.get_one("role", DEFAULT_MIN_SCORE), Some("roles"));
        assert_eq!(
            children.get_one("noclosealternative", DEFAULT_MIN_SCORE),
            None
        );
        // ErrorSpec.hs: projectx / projecxx get a table hint at 0.75, projxxxx does not.
        let tables = FuzzySet::new(["projects", "clients", "tasks"]);
        assert_eq!(tables.get_one("projectx", NAME_MIN_SCORE), Some("projects"));
        assert_eq!(tables.get_one("projecxx", NAME_MIN_SCORE), Some("projects"));
        assert_eq!(tables.get_one("projxxxx", NAME_MIN_SCORE), None);
    }

    #[test]
    fn levenshtein_similarity_is_normalised() {
        assert_eq!(levenshtein_similarity("", ""), 1.0);
        assert_eq!(levenshtein_similarity("abc", ""), 0.0);
        assert_eq!(levenshtein_similarity("kitten", "sitting"), 1.0 - 3.0 / 7.0);
    }
}
