//! The one integration-test binary. Fixtures (wheels, indexes) are built inside the tests.

mod index;
mod support;
mod build;
mod repo;
mod version_props;
mod mapping;
