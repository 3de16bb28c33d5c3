//! What a Python distribution is, by the PyPA specifications: requirements and markers
//! (PEP 508), core metadata (METADATA/PKG-INFO), wheel file names and tags (PEP 427,
//! PEP 425, PEP 600), and the one project-name type, normalized by PEP 503.

pub mod markers;
pub mod metadata;
pub mod name;
pub mod requirements;
pub mod tags;

pub use name::{InvalidPackageName, InvalidProjects, PackageName, Projects};
