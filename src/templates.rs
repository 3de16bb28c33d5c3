//! Tera templates for maintainer scripts, copyright, changelog and man pages.
