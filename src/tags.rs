//! Wheel file names (PEP 427) and compatibility tags (PEP 425, PEP 600 manylinux).

use crate::target::Target;
use pep440_rs::Version;

/// A parsed wheel file name `{name}-{version}(-{build})?-{python}-{abi}-{platform}.whl`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WheelFilename {
    /// As written in the file name (escaped form, `_` for `-`).
    pub name: String,
    pub version: Version,
    pub build: Option<String>,
    pub python_tags: Vec<String>,
    pub abi_tags: Vec<String>,
    pub platform_tags: Vec<String>,
}

/// Whether a wheel fits a target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Compat {
    /// Fits; higher `priority` is preferred among files of one version.
    Compatible { priority: u32 },
    /// Does not fit, and why (shown to the user).
    Incompatible(String),
}

impl WheelFilename {
    /// Pure wheel (`py3-none-any` or similar): Architecture `all`.
    pub fn is_pure(&self) -> bool {
        todo!()
    }
    /// The lowest glibc among the manylinux platform tags (`manylinux2014` = 2.17).
    pub fn min_glibc(&self) -> Option<(u32, u32)> {
        todo!()
    }
    /// Whether (and how well) this wheel fits the target.
    pub fn compatibility(&self, target: &Target) -> Compat {
        todo!("{target:?}")
    }
}

impl std::str::FromStr for WheelFilename {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        todo!("{s}")
    }
}
