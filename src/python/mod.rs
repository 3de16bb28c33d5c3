//! What a Python distribution is, by the PyPA specifications: requirements and markers
//! (PEP 508), core metadata (METADATA/PKG-INFO), wheel file names and tags (PEP 427,
//! PEP 425, PEP 600), and the one project-name normalization (PEP 503).

pub mod markers;
pub mod metadata;
pub mod requirements;
pub mod tags;

/// PEP 503 normalization, the one used everywhere (the index, the mapping, the wheel
/// reader, package names): lowercase, runs of `-_.` → `-`.
pub fn normalize_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut in_run = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !in_run {
                out.push('-');
            }
            in_run = true;
        } else {
            out.push(c.to_ascii_lowercase());
            in_run = false;
        }
    }
    out
}
