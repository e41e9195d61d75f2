//! Small helpers shared by the bench binaries.

/// The value after `--name` on the command line, if any.
pub fn flag(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

/// Whether `--name` is on the command line.
pub fn switch(name: &str) -> bool {
    std::env::args().any(|a| a == name)
}

/// The median of `values` (the upper one for an even count).
///
/// # Panics
/// On an empty slice.
pub fn median<T: PartialOrd + Copy>(values: &[T]) -> T {
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.partial_cmp(b).expect("comparable values"));
    v[v.len() / 2]
}
