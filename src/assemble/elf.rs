//! What a package's ELF files ask of the system (System V ABI, ELF gABI; GNU symbol
//! versioning): their kind (shared object or program), the libraries they need
//! (`DT_NEEDED`) and, per library, the version nodes their symbols are bound to
//! (`.gnu.version_r`, e.g. `libc.so.6: GLIBC_2.28`), as dpkg-shlibdeps reads them.
//!
//! Parsing uses the `object` crate's ELF reader, which checks every offset against the
//! data: a damaged or hostile file gives an error, never a panic.

use anyhow::{anyhow, Result};
use object::elf;
use object::read::elf::{Dyn, FileHeader, ProgramHeader};
use object::Endianness;
use std::collections::BTreeMap;

/// The ELF magic number.
pub const MAGIC: &[u8; 4] = b"\x7fELF";

/// Whether `data` starts like an ELF file.
pub fn is_elf(data: &[u8]) -> bool {
    data.starts_with(MAGIC)
}

/// How dh_strip treats a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A shared object (`ET_DYN` without an interpreter): extension modules, libraries.
    SharedObject,
    /// A program (`ET_EXEC`, or a position-independent `ET_DYN` with `PT_INTERP`).
    Executable,
    /// Relocatable objects, core files and the like: left alone.
    Other,
}

/// One ELF file's dynamic needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Needs {
    pub kind: Kind,
    /// `DT_NEEDED` entries, in order.
    pub needed: Vec<String>,
    /// Library (soname) → version nodes required from it (`GLIBC_2.28`).
    pub versions: BTreeMap<String, Vec<String>>,
}

/// Parse an ELF file (32- or 64-bit, either byte order).
pub fn parse(data: &[u8]) -> Result<Needs> {
    // e_ident[EI_CLASS], the fifth byte, says the word size.
    match data.get(4) {
        Some(&elf::ELFCLASS64) => parse_as::<elf::FileHeader64<Endianness>>(data),
        Some(&elf::ELFCLASS32) => parse_as::<elf::FileHeader32<Endianness>>(data),
        _ => Err(anyhow!("not a 32- or 64-bit ELF file")),
    }
}

fn parse_as<H: FileHeader<Endian = Endianness>>(data: &[u8]) -> Result<Needs> {
    let header = H::parse(data).map_err(|e| anyhow!("ELF header: {e}"))?;
    let endian = header.endian().map_err(|e| anyhow!("ELF header: {e}"))?;
    let has_interp = header
        .program_headers(endian, data)
        .map_err(|e| anyhow!("ELF program headers: {e}"))?
        .iter()
        .any(|p| p.p_type(endian) == elf::PT_INTERP);
    let kind = match header.e_type(endian) {
        elf::ET_EXEC => Kind::Executable,
        elf::ET_DYN if has_interp => Kind::Executable,
        elf::ET_DYN => Kind::SharedObject,
        _ => Kind::Other,
    };
    let sections = header
        .sections(endian, data)
        .map_err(|e| anyhow!("ELF section headers: {e}"))?;
    let mut needed = Vec::new();
    for section in sections.iter() {
        use object::read::elf::SectionHeader;
        let Some((dyns, link)) = section
            .dynamic(endian, data)
            .map_err(|e| anyhow!("ELF dynamic section: {e}"))?
        else {
            continue;
        };
        let strings = sections
            .strings(endian, data, link)
            .map_err(|e| anyhow!("ELF dynamic strings: {e}"))?;
        for d in dyns {
            if d.tag32(endian) == Some(elf::DT_NEEDED) {
                let name = d
                    .string(endian, strings)
                    .map_err(|e| anyhow!("DT_NEEDED name: {e}"))?;
                needed.push(String::from_utf8_lossy(name).into_owned());
            }
            if d.tag32(endian) == Some(elf::DT_NULL) {
                break;
            }
        }
    }
    let mut versions: BTreeMap<String, Vec<String>> = BTreeMap::new();
    if let Some((mut verneeds, link)) = sections
        .gnu_verneed(endian, data)
        .map_err(|e| anyhow!("ELF version needs: {e}"))?
    {
        let strings = sections
            .strings(endian, data, link)
            .map_err(|e| anyhow!("ELF version strings: {e}"))?;
        while let Some((verneed, mut auxes)) = verneeds
            .next()
            .map_err(|e| anyhow!("ELF version needs: {e}"))?
        {
            let file = verneed
                .file(endian, strings)
                .map_err(|e| anyhow!("ELF version needs: {e}"))?;
            let file = String::from_utf8_lossy(file).into_owned();
            while let Some(aux) = auxes
                .next()
                .map_err(|e| anyhow!("ELF version needs: {e}"))?
            {
                let name = aux
                    .name(endian, strings)
                    .map_err(|e| anyhow!("ELF version needs: {e}"))?;
                let list = versions.entry(file.clone()).or_default();
                let name = String::from_utf8_lossy(name).into_owned();
                if !list.contains(&name) {
                    list.push(name);
                }
            }
        }
    }
    Ok(Needs {
        kind,
        needed,
        versions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_elf_headers_are_errors_not_panics() {
        assert!(parse(b"\x7fELF").is_err());
        let mut junk = b"\x7fELF\x02\x01\x01".to_vec();
        junk.resize(64, 0xff);
        assert!(parse(&junk).is_err());
        // Every truncation of a plausible header.
        let mut h = [0u8; 64];
        h[..4].copy_from_slice(MAGIC);
        h[4] = 2;
        h[5] = 1;
        h[6] = 1;
        for n in 0..h.len() {
            let _ = parse(&h[..n]);
        }
        assert!(!is_elf(b"#!/bin/sh"));
    }
}
