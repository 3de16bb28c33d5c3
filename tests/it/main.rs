//! The one integration-test binary. Fixtures (wheels, indexes) are built inside the tests.

mod build;
mod closure;
mod hostile_build;
mod index;
mod mapping;
mod parser_props;
mod repo;
mod sdist;
mod source;
mod support;
mod version_props;
