//! Helping a project into Debian itself: what an upstream sdist says about itself (core
//! metadata in `PKG-INFO`, `pyproject.toml`, its license files and tests), read once and
//! used by `py2deb rfp` ([`rfp`]: WNPP requests as `reportbug wnpp` writes them) and
//! `py2deb debianize` ([`debianize`]: a source package after the Debian Python Team's
//! conventions, <https://salsa.debian.org/python-team/tools/python-team-policy>).
//!
//! Both follow the converter's stages: the sdist is chosen and hash-checked by
//! [`crate::index`], unpacked with the checks of [`crate::inspect::sdist::unpack`], and its
//! requirements are mapped onto the target with [`crate::resolve::mapping`]. Nothing of the
//! project is executed: only files are read, so what the metadata leaves open (requirements
//! computed by `setup.py`, a compiled extension's libraries) is reported, never guessed.

pub mod debianize;
pub mod rfp;

use crate::debian::archive::Archive;
use crate::debian::control::Description;
use crate::debian::target::Target;
use crate::index::fetch::{self, Cache};
use crate::index::Index;
use crate::inspect::sdist::pyproject::{self, BuildSystem};
use crate::inspect::sdist::unpack;
use crate::inspect::wheel::Limits;
use crate::python::markers;
use crate::python::metadata::Metadata;
use crate::python::PackageName;
use crate::report::Reporter;
use crate::resolve::mapping::{DistMap, Universe};
use anyhow::{bail, Context, Result};
use pep440_rs::Version;
use pep508_rs::{Requirement, VersionOrUrl};
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// Extras that by convention hold a project's test requirements.
const TEST_EXTRAS: &[&str] = &["test", "tests", "testing"];

/// Most files looked at when walking an unpacked sdist (a real sdist has far fewer).
const MAX_WALK: usize = 50_000;

/// What an upstream source distribution says about itself.
#[derive(Debug, Clone)]
pub struct Upstream {
    pub meta: Metadata,
    pub build: BuildSystem,
    /// The sdist as downloaded (byte for byte the file the index lists).
    pub sdist: PathBuf,
    pub sdist_filename: String,
    /// Lowercase hex sha256 of the sdist.
    pub sha256: String,
    /// The index published no hash for it (the sha256 above is only what was received).
    pub unverified: bool,
    /// The unpacked top-level directory.
    pub root: PathBuf,
    /// The `pyproject.toml` text, if any.
    pub pyproject: Option<String>,
    /// Names of `[project.scripts]` and `[project.gui-scripts]`.
    pub scripts: Vec<String>,
    /// Runtime requirements (all of them; markers are evaluated per target).
    pub requires: Vec<Requirement>,
    /// The runtime requirements cannot be read from the files (computed by `setup.py`).
    pub requires_unknown: bool,
    /// Requirements of the test extras and `[dependency-groups]` test groups.
    pub test_requires: Vec<Requirement>,
    /// Test modules, relative to the root.
    pub test_files: Vec<String>,
    /// Test modules that look like they reach the network (a hint, listed as such).
    pub network_test_files: Vec<String>,
    /// Top-level modules the test modules import that are not part of the tree, sorted
    /// (stdlib modules included: only the caller can tell them from distributions).
    pub test_imports: Vec<String>,
    /// Sources of compiled extensions (C, C++, Cython, Rust, Fortran), relative paths.
    pub compiled_sources: Vec<String>,
    /// License files (relative path, text).
    pub license_files: Vec<(String, String)>,
    /// Copyright lines found in the license files (`2019-2024 Jane Doe`).
    pub copyright_holders: Vec<String>,
}

impl Upstream {
    /// Normalized project name (PEP 503).
    pub fn normalized(&self) -> PackageName {
        PackageName::normalize(&self.meta.name)
    }

    /// The PEP 517 backend's distribution, from the backend module path.
    pub fn backend_dist(&self) -> &'static str {
        backend_dist(&self.build.backend)
    }

    /// Runtime requirements that apply on `target`.
    pub fn runtime_for(&self, target: &Target) -> Result<Vec<Requirement>> {
        let env = markers::environment(target)?;
        Ok(self
            .requires
            .iter()
            .filter(|r| markers::applies(r, &env, &[]))
            .cloned()
            .collect())
    }

    /// Build requirements (`[build-system] requires`) that apply on `target`.
    pub fn build_for(&self, target: &Target) -> Result<Vec<Requirement>> {
        let env = markers::environment(target)?;
        let mut out = Vec::new();
        for r in &self.build.requires {
            let req = markers::parse_requirement(r)
                .with_context(|| format!("in [build-system] requires of {}", self.meta.name))?;
            if markers::applies(&req, &env, &[]) {
                out.push(req);
            }
        }
        Ok(out)
    }

    /// Test requirements that apply on `target` (the extra requested).
    pub fn tests_for(&self, target: &Target) -> Result<Vec<Requirement>> {
        let env = markers::environment(target)?;
        let extras: Vec<_> = TEST_EXTRAS
            .iter()
            .filter_map(|e| markers::parse_extra(e).ok())
            .collect();
        Ok(self
            .test_requires
            .iter()
            .filter(|r| markers::applies(r, &env, &extras))
            .cloned()
            .collect())
    }

    /// The package's description, as py2deb writes it into control files.
    pub fn description(&self) -> Description {
        description(&self.meta)
    }

    /// `Name <mail>` of the upstream maintainer, else the author, as far as known.
    pub fn contact(&self) -> Option<String> {
        let m = &self.meta;
        contact(m.maintainer.as_deref(), m.maintainer_email.as_deref())
            .or_else(|| contact(m.author.as_deref(), m.author_email.as_deref()))
    }

    /// The project's home page: `Home-page`, else a `Homepage`-like project URL, else its
    /// page on PyPI.
    pub fn homepage(&self) -> String {
        let m = &self.meta;
        m.home_page
            .clone()
            .filter(|h| crate::assemble::is_homepage_url(h))
            .or_else(|| self.project_url(&["homepage", "home", "home-page"]))
            .or_else(|| self.repository())
            .or_else(|| self.project_url(&["documentation", "docs"]))
            .unwrap_or_else(|| format!("https://pypi.org/project/{}/", self.normalized()))
    }

    /// The upstream source repository, when the metadata names one.
    pub fn repository(&self) -> Option<String> {
        self.project_url(&[
            "source",
            "repository",
            "source code",
            "code",
            "github",
            "git",
        ])
        .or_else(|| {
            self.meta
                .home_page
                .clone()
                .filter(|h| crate::assemble::is_homepage_url(h) && is_forge(h))
        })
        .or_else(|| {
            self.meta
                .project_urls
                .iter()
                .map(|(_, u)| u)
                .find(|u| crate::assemble::is_homepage_url(u) && is_forge(u))
                .cloned()
        })
        .map(|u| u.trim_end_matches('/').trim_end_matches(".git").to_owned())
    }

    /// The first project URL whose label (case and punctuation aside) is one of `labels`.
    pub fn project_url(&self, labels: &[&str]) -> Option<String> {
        let norm = |s: &str| {
            s.chars()
                .filter(|c| c.is_alphanumeric() || *c == ' ')
                .collect::<String>()
                .to_ascii_lowercase()
        };
        self.meta
            .project_urls
            .iter()
            .find(|(label, url)| {
                let l = norm(label);
                labels.iter().any(|w| l == *w || l.replace(' ', "-") == *w)
                    && crate::assemble::is_homepage_url(url)
            })
            .map(|(_, u)| u.clone())
    }

    /// Does the sdist carry tests to run at build time?
    pub fn has_tests(&self) -> bool {
        !self.test_files.is_empty()
    }

    /// Is the project compiled (extensions, or a backend that only builds them)?
    pub fn compiled(&self) -> bool {
        !self.compiled_sources.is_empty()
            || matches!(self.backend_dist(), "maturin" | "scikit-build-core")
    }

    /// Is it an application (a program named after the project) rather than a library?
    pub fn is_application(&self) -> bool {
        let n = self.normalized();
        self.scripts.iter().any(|s| PackageName::normalize(s) == n)
    }
}

/// A forge whose project pages are also the repository.
fn is_forge(url: &str) -> bool {
    [
        "github.com/",
        "gitlab.com/",
        "codeberg.org/",
        "salsa.debian.org/",
        "sr.ht/",
        "bitbucket.org/",
    ]
    .iter()
    .any(|f| url.contains(f))
}

fn contact(name: Option<&str>, email: Option<&str>) -> Option<String> {
    let name = name
        .map(str::trim)
        .filter(|n| !n.is_empty() && *n != "UNKNOWN");
    let email = email
        .map(str::trim)
        .filter(|e| !e.is_empty() && *e != "UNKNOWN");
    match (name, email) {
        // PEP 621 backends write `Author-email: Jane Doe <jane@example.org>`.
        (_, Some(e)) if e.contains('<') => Some(e.split(',').next().unwrap_or(e).trim().to_owned()),
        (Some(n), Some(e)) => Some(format!("{n} <{}>", e.split(',').next().unwrap_or(e).trim())),
        (None, Some(e)) => Some(format!("<{}>", e.split(',').next().unwrap_or(e).trim())),
        (Some(n), None) => Some(n.to_owned()),
        (None, None) => None,
    }
}

/// The distribution a PEP 517 backend module belongs to.
pub fn backend_dist(backend: &str) -> &'static str {
    let top = backend.split([':', '.']).next().unwrap_or("");
    match top {
        "setuptools" => "setuptools",
        "hatchling" => "hatchling",
        "flit_core" => "flit-core",
        "flit" => "flit",
        "poetry" => "poetry-core",
        "pdm" => "pdm-backend",
        "scikit_build_core" => "scikit-build-core",
        "maturin" => "maturin",
        "mesonpy" => "meson-python",
        "whey" => "whey",
        _ => "unknown",
    }
}

/// The synopsis and extended description py2deb writes into control files for `meta`
/// (Summary → synopsis without a leading article; the README as a few plain paragraphs,
/// none merely repeating the synopsis).
pub fn description(meta: &Metadata) -> Description {
    crate::assemble::description_of(meta)
}

/// The Debian Python Team's source name for a binary package: `python-foo` for the
/// library `python3-foo`, the program's own name for an application.
pub fn source_name(binary: &str) -> String {
    match binary.strip_prefix("python3-") {
        Some(rest) => format!("python-{rest}"),
        None => binary.to_owned(),
    }
}

/// The binary package name, by the converter's rules: the name of the package the target
/// already ships the project as (an application such as `yt-dlp`), else `python3-<name>`.
pub fn binary_name(project: &str, dists: &DistMap, archive: &Archive) -> Result<String> {
    if let Some(e) = dists.lookup(project, archive) {
        return Ok(e.package.clone());
    }
    crate::assemble::package_name(project)
}

/// Where a project's sdist comes from.
pub enum SdistSource {
    /// A requirement resolved on the index (newest matching sdist).
    Requirement(Requirement),
    /// A local `.tar.gz` or `.zip`.
    File(PathBuf),
}

impl SdistSource {
    /// Parse a SPEC: a local sdist path or a PEP 508 requirement without markers.
    pub fn parse(spec: &str) -> Result<SdistSource> {
        if spec.contains("://") {
            bail!("`{spec}`: direct URL requirements are not supported; download the sdist and give its path");
        }
        if let Some(tree) = crate::inspect::sdist::SourceTree::from_spec(spec) {
            return match tree {
                crate::inspect::sdist::SourceTree::Sdist(p) => {
                    if !p.is_file() {
                        bail!("source distribution `{spec}` does not exist");
                    }
                    Ok(SdistSource::File(p))
                }
                crate::inspect::sdist::SourceTree::Dir(_) => bail!(
                    "`{spec}` is a project directory; give its sdist (`python3 -m build --sdist`) or its name on the index: Debian packages are made from the released sdist"
                ),
            };
        }
        if spec.ends_with(".whl") {
            bail!("`{spec}` is a wheel; Debian packages are built from source: give the sdist or the project name");
        }
        let req = Requirement::from_str(spec).map_err(|e| {
            anyhow::anyhow!(
                "`{spec}` is not a project name, a requirement (`name==1.0`) or an sdist path: {e}"
            )
        })?;
        if !req.marker.is_true() {
            bail!("`{spec}`: environment markers (`; ...`) make no sense here; drop them");
        }
        if let Some(VersionOrUrl::Url(_)) = req.version_or_url {
            bail!("`{spec}`: direct URL requirements are not supported; download the sdist and give its path");
        }
        Ok(SdistSource::Requirement(req))
    }
}

/// Find, fetch (hash-checked, cached) and read the sdist `source` names.
pub fn obtain(
    source: &SdistSource,
    index: &Index,
    cache: &Cache,
    target: &Target,
    unpack_dir: &Path,
    limits: &Limits,
    reporter: &dyn Reporter,
) -> Result<Upstream> {
    let (path, filename, unverified) = match source {
        SdistSource::File(p) => {
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            (p.clone(), name, false)
        }
        SdistSource::Requirement(req) => {
            let spec = match &req.version_or_url {
                Some(VersionOrUrl::VersionSpecifier(s)) => s.clone(),
                _ => pep440_rs::VersionSpecifiers::empty(),
            };
            let (_, file) = index
                .select_sdist(req.name.as_ref(), &spec, target)
                .with_context(|| format!("looking for the sdist of `{req}`"))?;
            let unverified = file.sha256.is_none();
            let path = fetch::fetch(index.http, cache, &file, reporter)?;
            (path, file.filename.clone(), unverified)
        }
    };
    let sha256 = fetch::sha256_file(&path)?;
    if unverified {
        reporter.warn(&format!(
            "the index published no sha256 for {filename}; the file received has sha256 {sha256}: compare it with upstream's before uploading"
        ));
    }
    read_sdist(&path, &filename, &sha256, unverified, unpack_dir, limits)
}

/// Unpack the sdist at `path` into the empty directory `unpack_dir` and read it.
pub fn read_sdist(
    path: &Path,
    filename: &str,
    sha256: &str,
    unverified: bool,
    unpack_dir: &Path,
    limits: &Limits,
) -> Result<Upstream> {
    let unpacked = unpack::unpack(path, unpack_dir, limits)?;
    let root = unpacked.root;
    let pkg_info = root.join("PKG-INFO");
    let text = std::fs::read(&pkg_info).with_context(|| {
        format!(
            "{filename} has no PKG-INFO at its top level, so it is not an sdist made by a build backend; give a released sdist"
        )
    })?;
    let text = String::from_utf8(text)
        .map_err(|_| anyhow::anyhow!("{filename}: PKG-INFO is not UTF-8"))?;
    let meta = Metadata::parse(&text).with_context(|| format!("reading PKG-INFO of {filename}"))?;
    let build = pyproject::read(&root).with_context(|| format!("in {filename}"))?;
    let pyproject = std::fs::read_to_string(root.join("pyproject.toml")).ok();
    let project = pyproject
        .as_deref()
        .and_then(|t| t.parse::<toml_edit::DocumentMut>().ok());

    let mut scripts = Vec::new();
    let mut static_deps = Vec::new();
    let mut groups = Vec::new();
    if let Some(doc) = &project {
        if let Some(p) = doc.get("project").and_then(|p| p.as_table_like()) {
            for key in ["scripts", "gui-scripts"] {
                if let Some(t) = p.get(key).and_then(|t| t.as_table_like()) {
                    scripts.extend(t.iter().map(|(k, _)| k.to_owned()));
                }
            }
            if let Some(a) = p.get("dependencies").and_then(|d| d.as_array()) {
                static_deps.extend(a.iter().filter_map(|v| v.as_str().map(str::to_owned)));
            }
        }
        // PEP 735 dependency groups named like the test extras.
        if let Some(g) = doc.get("dependency-groups").and_then(|g| g.as_table_like()) {
            for name in TEST_EXTRAS {
                if let Some(a) = g.get(name).and_then(|a| a.as_array()) {
                    groups.extend(a.iter().filter_map(|v| v.as_str().map(str::to_owned)));
                }
            }
        }
    }

    // Requirements: PKG-INFO's, split by whether only the test extras turn them on.
    let mut requires = Vec::new();
    let mut test_requires = Vec::new();
    let any_env = markers::environment(&Target::named("sid", "amd64")?)?;
    let test_extras: Vec<_> = TEST_EXTRAS
        .iter()
        .filter_map(|e| markers::parse_extra(e).ok())
        .collect();
    for r in &meta.requires_dist {
        if mentions_extra(r) {
            let marker = marker_text(r);
            let only_tests = markers::applies(r, &any_env, &test_extras)
                || TEST_EXTRAS.iter().any(|e| {
                    marker.contains(&format!("'{e}'")) || marker.contains(&format!("\"{e}\""))
                });
            if only_tests {
                test_requires.push(r.clone());
            }
        } else {
            requires.push(r.clone());
        }
    }
    let mut requires_unknown = false;
    if meta.requires_dist.is_empty() {
        for d in &static_deps {
            requires.push(
                markers::parse_requirement(d)
                    .with_context(|| format!("in [project] dependencies of {filename}"))?,
            );
        }
        // Old setuptools sdists: setup.py computes the requirements at build time.
        // From Metadata-Version 2.2 on, a field not marked Dynamic is final (PEP 643),
        // and other backends write every requirement (poetry's generated setup.py too).
        let final_metadata = Version::from_str(&meta.metadata_version)
            .is_ok_and(|v| v >= Version::from_str("2.2").expect("constant"));
        requires_unknown = static_deps.is_empty()
            && !final_metadata
            && backend_dist(&build.backend) == "setuptools"
            && root.join("setup.py").is_file();
    }
    for d in &groups {
        if let Ok(r) = markers::parse_requirement(d) {
            if !test_requires.iter().any(|t| t.name == r.name) {
                test_requires.push(r);
            }
        }
    }

    let mut test_files = Vec::new();
    let mut network_test_files = Vec::new();
    let mut test_imports: Vec<String> = Vec::new();
    let mut local_modules: Vec<String> = Vec::new();
    let mut compiled_sources = Vec::new();
    let mut top_files = Vec::new();
    walk(&root, &root, &mut 0, &mut |rel, path| {
        let name = rel.rsplit('/').next().unwrap_or(rel);
        if !rel.contains('/') {
            top_files.push(rel.to_owned());
        }
        let ext = name.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
        // Every directory and module name of the tree is local, whatever the tests import.
        for comp in rel.split('/') {
            let m = comp.strip_suffix(".py").unwrap_or(comp).to_owned();
            if !local_modules.contains(&m) {
                local_modules.push(m);
            }
        }
        if matches!(ext, "c" | "cc" | "cpp" | "cxx" | "pyx" | "rs" | "f90" | "f")
            || name == "Cargo.toml"
        {
            compiled_sources.push(rel.to_owned());
        }
        let in_tests = rel
            .split('/')
            .any(|c| c == "tests" || c == "test" || c == "testing");
        let test_module = ext == "py"
            && (name.starts_with("test_")
                || name.ends_with("_test.py")
                || (in_tests && name == "conftest.py"));
        if test_module {
            test_files.push(rel.to_owned());
            if let Ok(text) = std::fs::read_to_string(path) {
                if NETWORK_HINTS.iter().any(|h| text.contains(h)) {
                    network_test_files.push(rel.to_owned());
                }
                for m in imports(&text) {
                    if !test_imports.contains(&m) {
                        test_imports.push(m);
                    }
                }
            }
        }
    })?;
    test_files.sort();
    network_test_files.sort();
    test_imports.retain(|m| !local_modules.contains(m));
    test_imports.sort();
    compiled_sources.sort();

    // License files: those the metadata names (PEP 639), else the usual names at the top.
    let mut license_names: Vec<String> = meta
        .license_files
        .iter()
        .filter(|f| !f.contains("..") && !f.starts_with('/'))
        .cloned()
        .collect();
    if license_names.is_empty() {
        top_files.sort();
        license_names = top_files
            .into_iter()
            .filter(|f| {
                let u = f.to_ascii_uppercase();
                ["LICENSE", "LICENCE", "COPYING", "COPYRIGHT", "NOTICE"]
                    .iter()
                    .any(|p| u.starts_with(p))
            })
            .collect();
    }
    let mut license_files = Vec::new();
    let mut copyright_holders = Vec::new();
    for rel in license_names {
        let p = root.join(&rel);
        // Only regular files inside the tree (unpack refused anything leaving it).
        if !p.is_file() {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&p) else {
            continue;
        };
        // The text goes into debian/copyright: page breaks (old GPL texts) are dropped,
        // and a file with other control, line-separator or bidi characters is not used.
        let text = text.replace("\r\n", "\n").replace('\x0c', "");
        if text
            .chars()
            .any(|c| c != '\n' && crate::python::metadata::is_unsafe_char(c))
        {
            continue;
        }
        for h in copyright_lines(&text) {
            if !copyright_holders.contains(&h) {
                copyright_holders.push(h);
            }
        }
        license_files.push((rel, text));
    }

    Ok(Upstream {
        meta,
        build,
        sdist: path.to_owned(),
        sdist_filename: filename.to_owned(),
        sha256: sha256.to_owned(),
        unverified,
        root,
        pyproject,
        scripts,
        requires,
        requires_unknown,
        test_requires,
        test_files,
        network_test_files,
        test_imports,
        compiled_sources,
        license_files,
        copyright_holders,
    })
}

/// Calls a test module's text is taken to reach the network with; only a hint for the
/// human, who decides what to deselect.
const NETWORK_HINTS: &[&str] = &[
    "urlopen(",
    "requests.get(",
    "requests.post(",
    "requests.Session(",
    "httpx.get(",
    "httpx.Client(",
    "aiohttp.ClientSession(",
    "socket.create_connection(",
    "pytest.mark.network",
    "pytest.mark.online",
];

/// The marker of a requirement as written after its `;`.
fn marker_text(r: &Requirement) -> String {
    r.to_string()
        .split_once(';')
        .map(|(_, m)| m.to_owned())
        .unwrap_or_default()
}

/// Top-level modules a Python file imports (`import a.b, c`, `from a.b import x`; relative
/// imports are local and skipped). Read line by line: enough for a hint, never executed.
pub fn imports(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let ident = |s: &str| {
        let top = s.trim().split(['.', ' ']).next().unwrap_or("").to_owned();
        (!top.is_empty()
            && top.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !top.starts_with(|c: char| c.is_ascii_digit()))
        .then_some(top)
    };
    for line in text.lines().take(20_000) {
        let t = line.trim_start();
        if let Some(rest) = t.strip_prefix("import ") {
            for part in rest.split('#').next().unwrap_or("").split(',') {
                if let Some(m) = ident(part) {
                    out.push(m);
                }
            }
        } else if let Some(rest) = t.strip_prefix("from ") {
            if let Some((module, _)) = rest.split_once(" import") {
                if !module.trim_start().starts_with('.') {
                    if let Some(m) = ident(module) {
                        out.push(m);
                    }
                }
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

fn mentions_extra(r: &Requirement) -> bool {
    marker_text(r).contains("extra")
}

/// Walk regular files under `dir` (no symlinks followed), calling `f(relative, path)`.
fn walk(root: &Path, dir: &Path, seen: &mut usize, f: &mut dyn FnMut(&str, &Path)) -> Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok())
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        *seen += 1;
        if *seen > MAX_WALK {
            bail!(
                "{} has more than {MAX_WALK} files; that is no sdist py2deb can describe",
                root.display()
            );
        }
        let path = e.path();
        let ft = e.file_type()?;
        if ft.is_dir() {
            walk(root, &path, seen, f)?;
        } else if ft.is_file() {
            if let Ok(rel) = path.strip_prefix(root) {
                if let Some(rel) = rel.to_str() {
                    f(rel, &path);
                }
            }
        }
    }
    Ok(())
}

/// `Copyright (c) 2019-2024 Jane Doe` lines of a license text, as `2019-2024 Jane Doe`.
pub fn copyright_lines(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines().take(400) {
        let t = line.trim();
        let lower = t.to_ascii_lowercase();
        let Some(rest) = lower.strip_prefix("copyright") else {
            continue;
        };
        let mut rest = t[t.len() - rest.len()..].trim_start();
        // Template text and the license's own wording are no holders.
        if rest.is_empty()
            || [
                "notice",
                "holder",
                "owner",
                "and permission",
                "license",
                "statement",
                "(c) <year>",
                "[yyyy]",
                "[year]",
                "{yyyy}",
                "<year>",
                "law",
            ]
            .iter()
            .any(|w| rest.to_ascii_lowercase().starts_with(w))
        {
            continue;
        }
        rest = rest.trim_start_matches(':').trim_start();
        for mark in ["(c)", "(C)", "©"] {
            rest = rest.trim_start_matches(mark).trim_start();
        }
        let holder = rest
            .trim_end_matches("All rights reserved.")
            .trim_end_matches("All Rights Reserved.")
            .trim()
            .trim_end_matches([',', '.'])
            .trim();
        if holder.len() < 2
            || holder.len() > 200
            || holder.chars().any(|c| c.is_control())
            || holder.contains("[yyyy]")
        {
            continue;
        }
        let holder = holder.to_owned();
        if !out.contains(&holder) {
            out.push(holder);
        }
    }
    out
}

/// A target's archive and dist-info map, loaded by the caller.
pub struct Suite {
    pub target: Target,
    pub archive: Archive,
    pub dists: DistMap,
}

impl Suite {
    pub fn universe(&self) -> Universe<'_> {
        Universe {
            target: &self.target,
            archive: &self.archive,
            dists: &self.dists,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copyright_lines_skip_template_wording() {
        let text = "MIT License\n\nCopyright (c) 2019-2024 Jane Doe\nCopyright 2020 ACME, Inc. All rights reserved.\n\nThe above copyright notice and this permission notice shall be included\n";
        assert_eq!(
            copyright_lines(text),
            ["2019-2024 Jane Doe", "2020 ACME, Inc"]
        );
        assert!(copyright_lines("Copyright [yyyy] [name of copyright owner]").is_empty());
    }

    #[test]
    fn imports_of_a_test_module() {
        let text = "import os, sys\nimport hypothesis.strategies as st\nfrom yaml import safe_load\nfrom . import helper\nfrom .x import y\n    import numpy  # optional\nimportant = 1\n";
        assert_eq!(imports(text), ["hypothesis", "numpy", "os", "sys", "yaml"]);
    }

    #[test]
    fn team_source_names() {
        assert_eq!(source_name("python3-foo-bar"), "python-foo-bar");
        assert_eq!(source_name("yt-dlp"), "yt-dlp");
        assert_eq!(backend_dist("flit_core.buildapi"), "flit-core");
        assert_eq!(backend_dist("poetry.core.masonry.api"), "poetry-core");
        assert_eq!(
            backend_dist("setuptools.build_meta:__legacy__"),
            "setuptools"
        );
    }

    #[test]
    fn hostile_specs_get_one_clear_error_each() {
        let err = |s: &str| match SdistSource::parse(s) {
            Err(e) => e.to_string(),
            Ok(_) => panic!("`{s}` accepted"),
        };
        let e = err("foo-1.0-py3-none-any.whl");
        assert!(
            e.contains("foo-1.0-py3-none-any.whl") && e.contains("sdist"),
            "{e}"
        );
        let e = err("foo; python_version < \"3\"");
        assert!(e.contains("markers"), "{e}");
        let e = err("foo @ https://example.org/foo.tar.gz");
        assert!(e.contains("direct URL") && e.contains("sdist"), "{e}");
        let e = err("/nonexistent/foo-1.0.tar.gz");
        assert!(
            e.contains("/nonexistent/foo-1.0.tar.gz") && e.contains("does not exist"),
            "{e}"
        );
        let e = err("not a name!");
        assert!(e.contains("not a name!"), "{e}");
        assert!(matches!(
            SdistSource::parse("foo>=1,<2"),
            Ok(SdistSource::Requirement(_))
        ));
    }

    #[test]
    fn contact_forms() {
        assert_eq!(
            contact(None, Some("Jane Doe <jane@example.org>, Bob <b@x.org>")).as_deref(),
            Some("Jane Doe <jane@example.org>")
        );
        assert_eq!(
            contact(Some("Jane"), Some("jane@example.org")).as_deref(),
            Some("Jane <jane@example.org>")
        );
        assert_eq!(contact(Some("UNKNOWN"), None), None);
    }
}
