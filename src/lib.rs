//! py2deb: turn Python distributions from a package index into Debian binary packages
//! that install like the distribution's own (dh-python layout, Debian Policy).
//!
//! The pipeline is a chain of typed stages: resolve ([`index`]) → fetch ([`fetch`]) →
//! inspect ([`wheel`], [`metadata`]) → map ([`version`], [`relation`]) → assemble
//! ([`assemble`], [`deb`]) → publish ([`repo`]). Library code never prints: progress and
//! warnings go through a [`report::Reporter`].

pub mod archive;
pub mod assemble;
pub mod check;
pub mod cli;
pub mod cli_repo;
pub mod control;
pub mod deb;
pub mod debfile;
pub mod fetch;
pub mod index;
pub mod mapping;
pub mod markers;
pub mod metadata;
pub mod overrides;
pub mod pipeline;
pub mod relation;
pub mod repo;
pub mod report;
pub mod resolve;
pub mod sdist;
pub mod tags;
pub mod target;
pub mod templates;
pub mod version;
pub mod wheel;
