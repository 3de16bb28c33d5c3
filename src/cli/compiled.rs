//! Options of `py2deb build` for file clashes with the target and for compiled code.

use crate::resolve::clash::OnClash;
use clap::Args;

/// How files shared with the target's packages and ELF files are handled.
#[derive(Debug, Args)]
pub struct CompiledArgs {
    /// A file an unrelated package of the target ships too (`/usr/bin/tldr`): stop before
    /// writing anything and name both packages (`error`), or declare `Conflicts` +
    /// `Replaces` on that package, so that installing the new one removes it
    /// (`conflicts`, said in the summary).
    #[arg(long, value_name = "conflicts|error", default_value = "error")]
    pub on_clash: OnClash,
    /// Keep the symbols of ELF shared objects and programs instead of stripping them as
    /// dh_strip does (with binutils' strip).
    #[arg(long)]
    pub no_strip: bool,
}
