//! What rendering one source reads from the repository: the paths helm or kustomize are given
//! (never the whole repository), and whether that is all it reads.

use std::path::{Component, Path, PathBuf};

use super::spec::{RenderSpec, ValueLayer};
use super::{RenderError, SourceKind};
use crate::source::Snapshot;

/// The repository paths one source reads.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Reads {
    /// Files, or directories standing for everything under them; sorted, none inside another.
    pub paths: Vec<PathBuf>,
    /// What the render reads besides the repository at this commit (a chart repository, a
    /// remote kustomize base), if anything: then it is not known from the commit alone.
    pub outside: Option<String>,
    /// The render also sees the commit itself (templates read `git.sha`).
    pub commit: bool,
}

impl Reads {
    pub fn add(&mut self, path: PathBuf) {
        self.paths.push(path);
    }

    pub fn outside(&mut self, what: String) {
        self.outside.get_or_insert(what);
    }

    /// Sorted, without duplicates or paths inside another one.
    pub fn tidy(mut self) -> Reads {
        self.paths.sort();
        self.paths.dedup();
        let mut kept: Vec<PathBuf> = Vec::new();
        for path in self.paths {
            // Sorted, so a directory comes right before what is under it.
            if !kept.iter().any(|k| path.starts_with(k)) {
                kept.push(path);
            }
        }
        self.paths = kept;
        self
    }
}

/// What one source of an app reads, as `render_source` renders it.
pub fn of_source(snapshot: &Snapshot, spec: &RenderSpec) -> Result<Reads, RenderError> {
    let mut reads = Reads::default();
    for layer in &spec.values {
        if let ValueLayer::File(path) = layer {
            reads.add(path.clone());
        }
    }
    if spec.origin.is_some() || !spec.refs.is_empty() {
        reads.outside("another git repository".to_string());
    }
    if let Some(chart) = &spec.chart {
        if chart.digest.is_none() {
            reads.outside(format!(
                "chart {} {} from {}",
                chart.name, chart.version, chart.repo_url
            ));
        }
        for file in &spec.helm.value_files {
            if let Some(rest) = file.strip_prefix("$/") {
                reads.add(lexical(Path::new(rest)));
            }
        }
        return Ok(reads.tidy());
    }
    let mut spec = spec.clone();
    super::overrides::apply_argocd_source(snapshot, &mut spec)?;
    match super::detect(snapshot, &spec.path)? {
        SourceKind::Helm => super::helm::reads(snapshot, &spec, &mut reads)?,
        SourceKind::Kustomize => super::kustomize::reads(snapshot, &spec, &mut reads)?,
        SourceKind::Directory => {
            reads.add(spec.path.clone());
            let programs = snapshot
                .file_paths(&spec.path)
                .map_err(|e| RenderError::single(&spec.path, e.to_string()))?
                .iter()
                .any(|p| p.extension().is_some_and(|e| e == "j2") || super::jsonnet::is_jsonnet(p));
            // A template or a Jsonnet file may read any file of the commit, and the commit
            // itself (`git.sha`, `$ARGOCD_APP_REVISION`).
            if programs {
                reads.add(PathBuf::new());
                reads.commit = true;
            }
        }
    }
    Ok(reads.tidy())
}

/// `a/b/../c` as `a/c`, without touching the disk.
pub fn lexical(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// `dir/relative` inside the repository, or `None` when it is absolute or climbs out of it.
pub fn inside(dir: &Path, relative: &str) -> Option<PathBuf> {
    let relative = Path::new(relative);
    if relative.is_absolute() {
        return None;
    }
    crate::source::inside_repository(&dir.join(relative))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `spec` reads in a working tree of `files`.
    fn reads_of(files: &[(&str, &str)], spec: RenderSpec) -> Reads {
        let dir = tempfile::tempdir().unwrap();
        for (path, text) in files {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        let snapshot = Snapshot::worktree_for_tests(dir.path());
        of_source(&snapshot, &spec).unwrap()
    }

    fn at(path: &str) -> RenderSpec {
        RenderSpec {
            app: "app".into(),
            path: path.into(),
            ..RenderSpec::default()
        }
    }

    fn paths(reads: &Reads) -> Vec<&str> {
        reads.paths.iter().map(|p| p.to_str().unwrap()).collect()
    }

    const CM: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n";

    #[test]
    fn a_kustomization_reads_what_its_kustomizations_name() {
        let files = [
            (
                "shop/overlays/prod/kustomization.yaml",
                "resources: [../../base]\ncomponents: [../../components/eu]\npatches: [{path: patch.yaml}]\nconfigMapGenerator: [{name: c, files: [app.conf=../../../shared/app.conf]}]\n",
            ),
            ("shop/overlays/prod/patch.yaml", CM),
            (
                "shop/base/kustomization.yaml",
                "resources: [cm.yaml, ../../common]\n",
            ),
            ("shop/base/cm.yaml", CM),
            ("common/kustomization.yaml", "resources: [cm.yaml]\n"),
            ("common/cm.yaml", CM),
            ("shop/components/eu/kustomization.yaml", "kind: Component\n"),
            ("shared/app.conf", "x=1\n"),
            ("unrelated/cm.yaml", CM),
        ];
        let reads = reads_of(&files, at("shop/overlays/prod"));
        assert_eq!(
            paths(&reads),
            [
                "common",
                "shared/app.conf",
                "shop/base",
                "shop/components/eu",
                "shop/overlays/prod"
            ]
        );
        assert_eq!(reads.outside, None);

        let remote = [(
            "app/kustomization.yaml",
            "resources: [https://github.com/org/repo//deploy?ref=v1]\n",
        )];
        let reads = reads_of(&remote, at("app"));
        assert!(
            reads
                .outside
                .unwrap()
                .contains("https://github.com/org/repo")
        );
    }

    #[test]
    fn a_chart_reads_its_values_files_and_local_dependencies() {
        let chart = "apiVersion: v2\nname: web\nversion: 0.1.0\ndependencies:\n  - {name: lib, version: 0.1.0, repository: 'file://../lib'}\n";
        let files = [
            ("charts/web/Chart.yaml", chart),
            ("charts/web/templates/cm.yaml", CM),
            (
                "charts/lib/Chart.yaml",
                "apiVersion: v2\nname: lib\nversion: 0.1.0\n",
            ),
            ("values/web.yaml", "a: 1\n"),
            ("files/banner.txt", "hello\n"),
            ("unrelated/cm.yaml", CM),
        ];
        let mut spec = at("charts/web");
        spec.helm.value_files = vec!["../../values/web.yaml".into()];
        spec.helm.file_parameters = vec![("banner".into(), "../../files/banner.txt".into())];
        let reads = reads_of(&files, spec);
        assert_eq!(
            paths(&reads),
            [
                "charts/lib",
                "charts/web",
                "files/banner.txt",
                "values/web.yaml"
            ]
        );
        assert_eq!(reads.outside, None);

        // A dependency from a repository is pinned only by a committed `Chart.lock`.
        let fetched = "apiVersion: v2\nname: web\nversion: 0.1.0\ndependencies:\n  - {name: redis, version: '^18', repository: 'https://charts.example'}\n";
        let reads = reads_of(&[("web/Chart.yaml", fetched)], at("web"));
        assert!(reads.outside.unwrap().contains("redis"));
        let locked = [
            ("web/Chart.yaml", fetched),
            ("web/Chart.lock", "dependencies: []\n"),
        ];
        assert_eq!(reads_of(&locked, at("web")).outside, None);
    }

    #[test]
    fn templates_and_jsonnet_read_the_whole_commit_and_plain_files_their_directory() {
        let plain = reads_of(&[("app/cm.yaml", CM), ("other/cm.yaml", CM)], at("app"));
        assert_eq!(paths(&plain), ["app"]);
        assert!(!plain.commit);
        let templated = reads_of(&[("app/cm.yaml.j2", CM), ("other/cm.yaml", CM)], at("app"));
        assert_eq!(paths(&templated), [""]);
        assert!(templated.commit);
        let jsonnet = reads_of(
            &[("app/cm.jsonnet", "{}"), ("lib/l.libsonnet", "{}")],
            at("app"),
        );
        assert_eq!(paths(&jsonnet), [""]);
        assert!(jsonnet.commit);
        // A library alone renders nothing.
        let library = reads_of(&[("app/cm.yaml", CM), ("app/l.libsonnet", "{}")], at("app"));
        assert_eq!(paths(&library), ["app"]);
    }

    #[test]
    fn paths_inside_others_are_dropped() {
        let reads = Reads {
            paths: [
                "apps/web",
                "apps/web/values.yaml",
                "base",
                "apps/web",
                "apps/webx",
            ]
            .map(PathBuf::from)
            .to_vec(),
            outside: None,
            commit: false,
        }
        .tidy();
        assert_eq!(
            reads.paths,
            ["apps/web", "apps/webx", "base"].map(PathBuf::from)
        );
        let whole = Reads {
            paths: ["", "apps/web"].map(PathBuf::from).to_vec(),
            outside: None,
            commit: false,
        }
        .tidy();
        assert_eq!(whole.paths, [PathBuf::new()]);
    }

    #[test]
    fn references_stay_inside_the_repository() {
        let dir = Path::new("apps/web/overlays/prod");
        assert_eq!(
            inside(dir, "../../base"),
            Some(PathBuf::from("apps/web/base"))
        );
        assert_eq!(
            inside(dir, "./patch.yaml"),
            Some(PathBuf::from("apps/web/overlays/prod/patch.yaml"))
        );
        assert_eq!(inside(dir, "../../../../.."), None);
        assert_eq!(inside(dir, "/etc/passwd"), None);
        assert_eq!(inside(dir, "../../../.."), Some(PathBuf::new()));
    }
}
