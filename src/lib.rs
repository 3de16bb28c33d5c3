//! py2deb: turn Python distributions from a package index into Debian binary packages
//! that install like the distribution's own (dh-python layout, Debian Policy).
//!
//! The pipeline is a chain of typed stages, a folder each: [`index`] (find and fetch a
//! distribution) → [`inspect`] (read the wheel, or build one from the sdist) → [`resolve`]
//! (map every requirement onto the target's archive, decide the closure) → [`assemble`]
//! (lay packages out as dh-python does) → [`debian`] (write the `.deb`) → [`repo`]
//! (publish). [`python`] and [`debian`] hold the formats of both worlds; [`pipeline`]
//! orchestrates; [`cli`] is the only code that knows the command line or prints. Library
//! code reports through a [`report::Reporter`].

pub mod assemble;
pub mod check;
pub mod cli;
pub mod debian;
pub mod fsutil;
pub mod index;
pub mod inspect;
pub mod install;
pub mod overrides;
pub mod packaging;
pub mod pipeline;
pub mod python;
pub mod repo;
pub mod report;
pub mod resolve;
