//! The standard library modules embedded in x07 (`builder/stdlib/**/*.x07.json`).

/// The JSON text of an embedded standard-library module, by module id.
pub fn lookup(module_id: &str) -> Option<&'static str> {
    crate::runtime::stdlib_sources()
        .iter()
        .find(|(id, _)| *id == module_id)
        .map(|(_, text)| *text)
}

/// Ids of every embedded module, sorted.
pub fn module_ids() -> impl Iterator<Item = &'static str> {
    crate::runtime::stdlib_sources().iter().map(|(id, _)| *id)
}
