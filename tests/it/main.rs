//! The one integration-test binary. Fixtures (wheels, indexes) are built inside the tests.

mod build;
mod cache;
mod cli_env;
mod closure;
mod control_props;
mod hostile_build;
mod hostile_index;
mod index;
mod index_pages;
mod index_props;
mod mapping;
mod metadata_text;
mod naming;
mod parallel;
mod parser_props;
mod repo;
mod repo_hostile;
mod repo_kill;
mod sdist;
mod source;
mod support;
mod version_props;
