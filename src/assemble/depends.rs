//! The relations step of [`super::assemble`]: `Depends` as dh_python3 computes it
//! (python3, its version range for compiled modules or Requires-Python's floor, libc6 for
//! a manylinux tag, then the mapped requirements), and the `Breaks`/`Replaces` of a
//! renamed package or one beside the target's library (Debian Policy §7.6). Shared-library
//! dependencies are added later ([`super::shlibs`]).

use super::Package;
use crate::debian::control::BinaryControl;
use crate::debian::relation::{Dep, Op, Relations};
use crate::python::metadata::Metadata;

/// The package's `Depends`.
pub(super) fn depends(
    pkg: &Package,
    version_specific: bool,
    min_glibc: Option<(u32, u32)>,
) -> Relations {
    let Package {
        meta,
        pure,
        target,
        opts,
        ..
    } = *pkg;
    // Depends, as dh_python3 would compute it.
    let mut depends = Relations::default();
    depends.push(Dep::new("python3").any_arch());
    if version_specific {
        let (maj, min) = target.python;
        depends.push(Dep::with("python3", Op::Ge, format!("{maj}.{min}~")));
        depends.push(Dep::with("python3", Op::Lt, format!("{maj}.{}", min + 1)));
    } else if let Some(min) = requires_python_floor(meta) {
        depends.push(Dep::with(
            "python3",
            Op::Ge,
            format!("{}.{}~", min.0, min.1),
        ));
    }
    if let Some((maj, min)) = min_glibc.filter(|_| !pure) {
        depends.push(Dep::with("libc6", Op::Ge, format!("{maj}.{min}")));
    }
    depends.extend(opts.requirement_depends.clone());
    depends
}

/// The `Breaks` and `Replaces` that let this package take over files from the packages it
/// renames or stands beside.
pub(super) fn relations(pkg: &Package, control: &mut BinaryControl) {
    let Package { version, opts, .. } = *pkg;
    // A package renamed after its project (its modules went private) upgrades from its old
    // python3-X name in a repository: `Breaks` makes apt remove the old package when this
    // one is installed, `Replaces` lets it take the files both ship (Debian Policy §7.6.2).
    // No `Provides`: a private package must not satisfy a `Depends` on the module.
    if let Some(old) = &opts.renames {
        let below = Dep::with(old, Op::Lt, version);
        control.breaks.push(below.clone());
        control.replaces.push(below);
    }
    // Beside the distribution's library of the same project, only its files may be taken
    // over (Policy §7.6.1): the library stays installed for what depends on it.
    for package in &opts.stands_beside {
        control.replaces.push(Dep::new(package));
    }
}

/// The lowest `3.X` Requires-Python allows, when it sets a floor above 3.0.
fn requires_python_floor(meta: &Metadata) -> Option<(u64, u64)> {
    use pep440_rs::Operator;
    let spec = meta.requires_python.as_ref()?;
    let mut floor: Option<(u64, u64)> = None;
    for s in spec.iter() {
        let r = s.version().release();
        let (maj, min) = (
            r.first().copied().unwrap_or(0),
            r.get(1).copied().unwrap_or(0),
        );
        let min = match s.operator() {
            Operator::GreaterThanEqual
            | Operator::TildeEqual
            | Operator::Equal
            | Operator::EqualStar => min,
            Operator::GreaterThan if r.len() <= 2 => min + 1,
            Operator::GreaterThan => min,
            _ => continue,
        };
        if maj == 3 && floor.is_none_or(|f| (maj, min) > f) {
            floor = Some((maj, min));
        }
    }
    floor.filter(|f| f.1 > 0)
}
