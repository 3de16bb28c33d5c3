//! Per-project overrides (`py2deb.toml`): what a user knows about a project that its
//! metadata does not say — requirements it forgot or under-declares, a package name, a
//! conflicts policy, requirements to leave out — so upstream mistakes are fixed without
//! patching wheels.
//!
//! ```toml
//! [project.mypy-boto3-s3]
//! requires = ["botocore"]           # added to its Requires-Dist
//! [project.bump-my-version]
//! requires = ["rich-click>=1.7"]    # tightens a bound it declares unversioned
//! skip = ["some-optional-dep"]      # its requirements left out
//! package = "bump-my-version"       # the Debian package name to build it as
//! conflicts = "bundle"              # --conflicts for its requirements
//! ```
//!
//! Files are read in order and later ones win: `~/.config/py2deb/py2deb.toml`, then
//! `py2deb.toml` beside the repository (`--repo DIR`), then each `--override FILE`.

use crate::python::PackageName;
use crate::resolve::ConflictMode;
use anyhow::{bail, Context, Result};
use pep508_rs::Requirement;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What the overrides say about one project.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProjectOverride {
    /// Requirements added to the project's own (extra ones, or tighter bounds: both apply).
    pub requires: Vec<Requirement>,
    /// Normalized names of requirements to leave out.
    pub skip: Vec<PackageName>,
    /// The Debian binary package name to build it as.
    pub package: Option<String>,
    pub conflicts: Option<ConflictMode>,
}

/// Every project's overrides, and the files they came from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Overrides {
    projects: BTreeMap<PackageName, ProjectOverride>,
    pub sources: Vec<PathBuf>,
}

impl Overrides {
    /// Parse one file's text; errors name the file, the project and the key.
    pub fn parse(text: &str, origin: &Path) -> Result<Overrides> {
        let at = origin.display();
        let doc: toml_edit::Document<&str> = toml_edit::Document::parse(text)
            .map_err(|e| anyhow::anyhow!("{at}: invalid TOML: {e}"))?;
        let mut out = Overrides {
            projects: BTreeMap::new(),
            sources: vec![origin.to_path_buf()],
        };
        for (key, item) in doc.iter() {
            if key != "project" {
                bail!("{at}: unknown table `{key}`: overrides go under [project.NAME]");
            }
            let Some(table) = item.as_table_like() else {
                bail!("{at}: `project` must be a table of [project.NAME] tables");
            };
            for (name, item) in table.iter() {
                let normalized = PackageName::normalize(name);
                let where_ = format!("{at}: [project.{name}]");
                let Some(fields) = item.as_table_like() else {
                    bail!("{where_} must be a table");
                };
                let mut o = ProjectOverride::default();
                for (field, value) in fields.iter() {
                    match field {
                        "requires" => {
                            for s in strings(value).with_context(|| format!("{where_} requires"))? {
                                let req = crate::python::markers::parse_requirement(&s)
                                    .with_context(|| format!("{where_} requires"))?;
                                o.requires.push(req);
                            }
                        }
                        "skip" => {
                            o.skip = strings(value)
                                .with_context(|| format!("{where_} skip"))?
                                .iter()
                                .map(|s| PackageName::normalize(s))
                                .collect();
                        }
                        "package" => {
                            let Some(p) = value.as_str() else {
                                bail!("{where_} package must be a string");
                            };
                            crate::debian::control::validate_package_name(p)
                                .with_context(|| format!("{where_} package"))?;
                            o.package = Some(p.to_owned());
                        }
                        "conflicts" => {
                            let Some(c) = value.as_str() else {
                                bail!("{where_} conflicts must be a string");
                            };
                            o.conflicts = Some(c.parse::<ConflictMode>().map_err(|_| {
                                anyhow::anyhow!(
                                    "{where_} conflicts = \"{c}\": must be auto, bundle, replace or fail"
                                )
                            })?);
                        }
                        other if value.is_table_like() => bail!(
                            "{where_}: unknown key `{other}`; a project name with dots must be quoted: [project.\"{name}.{other}\"]"
                        ),
                        other => bail!(
                            "{where_}: unknown key `{other}` (known: requires, skip, package, conflicts)"
                        ),
                    }
                }
                if out.projects.insert(normalized, o).is_some() {
                    bail!(
                        "{where_} is given twice (names are compared after PEP 503 normalization)"
                    );
                }
            }
        }
        Ok(out)
    }

    /// Read `paths` in order, later files winning field by field (`requires` and `skip`
    /// add up). Missing optional files are not an error: pass only existing ones.
    pub fn load(paths: &[PathBuf]) -> Result<Overrides> {
        let mut all = Overrides::default();
        for p in paths {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("reading overrides from {}", p.display()))?;
            all.merge(Overrides::parse(&text, p)?);
        }
        Ok(all)
    }

    pub fn merge(&mut self, other: Overrides) {
        for (name, o) in other.projects {
            let mine = self.projects.entry(name).or_default();
            mine.requires.extend(o.requires);
            mine.skip.extend(o.skip);
            if o.package.is_some() {
                mine.package = o.package;
            }
            if o.conflicts.is_some() {
                mine.conflicts = o.conflicts;
            }
        }
        self.sources.extend(other.sources);
    }

    pub fn is_empty(&self) -> bool {
        self.projects.is_empty()
    }

    pub fn get(&self, project: &str) -> Option<&ProjectOverride> {
        self.projects.get(&PackageName::normalize(project))
    }

    /// The project's requirements with the overrides applied: skipped ones left out, added
    /// ones appended (a tighter bound is simply a second requirement on the same project).
    pub fn requirements(&self, project: &str, requires_dist: &[Requirement]) -> Vec<Requirement> {
        let Some(o) = self.get(project) else {
            return requires_dist.to_vec();
        };
        requires_dist
            .iter()
            .filter(|r| !o.skip.contains(&PackageName::from(&r.name)))
            .chain(o.requires.iter())
            .cloned()
            .collect()
    }

    /// The Debian package name to build `project` as, when an override names one.
    pub fn package(&self, project: &str) -> Option<&str> {
        self.get(project).and_then(|o| o.package.as_deref())
    }
}

fn strings(item: &toml_edit::Item) -> Result<Vec<String>> {
    let Some(array) = item.as_array() else {
        bail!("must be an array of strings");
    };
    array
        .iter()
        .map(|v| {
            v.as_str()
                .map(str::to_owned)
                .ok_or_else(|| anyhow::anyhow!("must be an array of strings"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"
[project."Mypy_Boto3.S3"]
requires = ["botocore"]

[project.bump-my-version]
requires = ["rich-click>=1.7"]
skip = ["Optional_Thing"]
package = "bump-my-version"
conflicts = "bundle"
"#;

    fn parse(text: &str) -> Result<Overrides> {
        Overrides::parse(text, Path::new("py2deb.toml"))
    }

    fn reqs(lines: &[&str]) -> Vec<Requirement> {
        lines
            .iter()
            .map(|l| crate::python::markers::parse_requirement(l).unwrap())
            .collect()
    }

    #[test]
    fn overrides_add_tighten_and_skip_requirements() {
        let o = parse(FILE).unwrap();
        // Names are matched after normalization, however the file spells them.
        let got = o.requirements("mypy-boto3-s3", &reqs(&["typing-extensions"]));
        let got: Vec<String> = got.iter().map(ToString::to_string).collect();
        assert_eq!(got, ["typing-extensions", "botocore"]);
        let got = o.requirements(
            "bump_my_version",
            &reqs(&["rich-click", "optional-thing>=1", "click"]),
        );
        let got: Vec<String> = got.iter().map(ToString::to_string).collect();
        assert_eq!(got, ["rich-click", "click", "rich-click>=1.7"]);
        assert_eq!(o.package("bump-my-version"), Some("bump-my-version"));
        assert_eq!(
            o.get("bump-my-version").unwrap().conflicts,
            Some(ConflictMode::Bundle)
        );
        // Projects without overrides keep their requirements.
        assert_eq!(o.requirements("other", &reqs(&["x"])).len(), 1);
    }

    #[test]
    fn later_files_win() {
        let mut a = parse(FILE).unwrap();
        a.merge(
            parse("[project.bump-my-version]\nconflicts = \"fail\"\nrequires = [\"click>=8\"]\n")
                .unwrap(),
        );
        let o = a.get("bump-my-version").unwrap();
        assert_eq!(o.conflicts, Some(ConflictMode::Fail));
        assert_eq!(o.requires.len(), 2);
        assert_eq!(o.package.as_deref(), Some("bump-my-version"));
    }

    #[test]
    fn bad_overrides_name_the_file_and_key() {
        for (text, needle) in [
            ("[project.x]\nrequire = []\n", "unknown key `require`"),
            (
                "[project.x]\nrequires = [\"not a ; ; req\"]\n",
                "[project.x] requires",
            ),
            (
                "[project.x]\nrequires = \"botocore\"\n",
                "must be an array of strings",
            ),
            (
                "[project.x]\npackage = \"Bad_Name\"\n",
                "[project.x] package",
            ),
            (
                "[project.x]\nconflicts = \"sometimes\"\n",
                "must be auto, bundle, replace or fail",
            ),
            ("[projects.x]\n", "unknown table `projects`"),
            ("[project.a_b]\n[project.a-b]\n", "given twice"),
            ("[project.x\n", "invalid TOML"),
            (
                "[project.zope.interface]\nrequires = []\n",
                "[project.\"zope.interface\"]",
            ),
        ] {
            let e = format!("{:#}", parse(text).unwrap_err());
            assert!(e.contains("py2deb.toml"), "{text}: {e}");
            assert!(e.contains(needle), "{text}: {e}");
        }
    }
}
