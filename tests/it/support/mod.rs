//! Test fixtures: tiny wheels built on the fly and a loopback package index.
