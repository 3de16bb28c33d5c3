//! The one integration-test binary. Fixtures (wheels, indexes) are built inside the tests.

mod build;
mod cache;
mod clash;
mod cli_env;
mod closure;
mod control_props;
mod debianize;
mod elf;
mod hostile_build;
mod hostile_index;
mod index;
mod index_pages;
mod index_props;
mod install;
mod mapping;
mod parallel;
mod parser_props;
mod repo;
mod repo_hostile;
mod repo_kill;
mod rfp;
mod requirements;
mod sdist;
mod source;
mod support;
mod version_props;
