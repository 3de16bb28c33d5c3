//! The one integration-test binary. Fixtures (wheels, indexes) are built inside the tests.

mod build;
mod closure;
mod hostile_index;
mod index;
mod index_props;
mod mapping;
mod repo;
mod sdist;
mod source;
mod support;
mod version_props;
