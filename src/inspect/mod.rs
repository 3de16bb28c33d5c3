//! Inspecting a distribution: reading wheels safely (PEP 427) and building wheels from
//! sdists and project directories (PEP 517/518).

pub mod sdist;
pub mod wheel;
