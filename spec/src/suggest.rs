//! "Did you mean": the candidate closest to a misspelled name, when it is close enough to be a
//! plausible typo (edit distance at most a third of the name's last `.`-segment, 1 to 3).

/// The candidate nearest to `word`, if one is a plausible typo of it.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let tail = word.rsplit('.').next().unwrap_or(word);
    let limit = (tail.chars().count() / 3).clamp(1, 3);
    candidates
        .into_iter()
        .filter(|c| *c != word)
        .map(|c| (strsim::damerau_levenshtein(word, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, c)| (*d, *c))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_names_are_suggested_and_far_ones_are_not() {
        let names = ["bytes.concat", "bytes.lit", "view.slice"];
        assert_eq!(did_you_mean("bytes.concta", names), Some("bytes.concat"));
        assert_eq!(did_you_mean("byte.lit", names), Some("bytes.lit"));
        assert_eq!(did_you_mean("os.fs.write", names), None);
        assert_eq!(
            did_you_mean("bytes.nope", ["bytes.copy"]),
            None,
            "two edits in a short name"
        );
        assert_eq!(
            did_you_mean("allow_host", ["allow_hosts", "allow_dns"]),
            Some("allow_hosts")
        );
    }
}
