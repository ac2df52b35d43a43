//! ApplicationSets as Argo CD's documentation writes them, expanded from an in-memory
//! repository and kubeconfig.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::{Cluster, Inputs, RESOURCES_FINALIZER, expand};

struct Repo {
    files: BTreeMap<&'static str, &'static str>,
    clusters: Vec<Cluster>,
}

impl Inputs for Repo {
    fn file_paths(&self) -> Result<Vec<String>, String> {
        Ok(self.files.keys().map(|k| k.to_string()).collect())
    }
    fn read(&self, path: &str) -> Result<Option<Vec<u8>>, String> {
        Ok(self.files.get(path).map(|c| c.as_bytes().to_vec()))
    }
    fn clusters(&self) -> Result<Vec<Cluster>, String> {
        Ok(self.clusters.clone())
    }
    fn is_this_repository(&self, url: &str) -> bool {
        url.contains("example/platform")
    }
}

fn repo() -> Repo {
    let cluster = |name: &str, server: &str, env: &str| Cluster {
        name: name.into(),
        server: server.into(),
        labels: BTreeMap::from([("env".to_string(), env.to_string())]),
        annotations: BTreeMap::new(),
    };
    Repo {
        files: BTreeMap::from([
            ("apps/web/deploy.yaml", "kind: Deployment"),
            ("apps/api/deploy.yaml", "kind: Deployment"),
            ("apps/api/sub/extra.yaml", "kind: ConfigMap"),
            ("apps/legacy/deploy.yaml", "kind: Deployment"),
            ("README.md", "docs"),
            (
                "clusters/dev/config.json",
                r#"{"cluster": {"name": "dev", "address": "https://dev.example"}, "replicas": 1}"#,
            ),
            (
                "clusters/prod/config.yaml",
                "cluster: {name: prod, address: 'https://prod.example'}\nreplicas: 3\n",
            ),
            (
                "teams/list.yaml",
                "- {team: a, ns: team-a}\n- {team: b, ns: team-b}\n",
            ),
        ]),
        clusters: vec![
            cluster("dev-ctx", "https://dev.example", "dev"),
            cluster("Prod_Ctx", "https://prod.example", "prod"),
        ],
    }
}

/// An ApplicationSet around `generators` and a template whose name and path use `name` and
/// `path`.
fn set(go: bool, generators: Value, name: &str, path: &str) -> Value {
    json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "ApplicationSet",
        "metadata": {"name": "set"},
        "spec": {
            "goTemplate": go,
            "generators": generators,
            "template": {
                "metadata": {"name": name},
                "spec": {
                    "project": "default",
                    "source": {"repoURL": "https://github.com/example/platform", "path": path, "targetRevision": "HEAD"},
                    "destination": {"server": "https://kubernetes.default.svc", "namespace": name},
                },
            },
        },
    })
}

/// `(name, path)` of every generated Application.
fn names_and_paths(doc: &Value) -> Vec<(String, String)> {
    let expanded = expand(doc, &repo()).unwrap_or_else(|e| panic!("{e:?}"));
    expanded
        .applications
        .iter()
        .map(|a| {
            (
                a["metadata"]["name"].as_str().unwrap().to_string(),
                a["spec"]["source"]["path"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[test]
fn generators_give_one_application_per_parameter_set() {
    type Case = (&'static str, Value, Vec<(&'static str, &'static str)>);
    let cases: Vec<Case> = vec![
        (
            "list",
            set(
                false,
                json!([{"list": {"elements": [{"cluster": "dev", "url": "u"}, {"cluster": "prod", "url": "u"}]}}]),
                "{{cluster}}-guestbook",
                "guestbook/{{cluster}}",
            ),
            vec![
                ("dev-guestbook", "guestbook/dev"),
                ("prod-guestbook", "guestbook/prod"),
            ],
        ),
        (
            "list with elementsYaml and nested values",
            set(
                false,
                json!([{"list": {"elementsYaml": "- {app: {name: x}, values: {dir: d1}}"}}]),
                "{{app.name}}",
                "{{values.dir}}",
            ),
            vec![("x", "d1")],
        ),
        (
            "git directories with exclude",
            set(
                false,
                json!([{"git": {"repoURL": "https://github.com/example/platform.git", "revision": "HEAD",
                    "directories": [{"path": "apps/*"}, {"path": "apps/legacy", "exclude": true}]}}]),
                "{{path.basename}}",
                "{{path}}",
            ),
            vec![("api", "apps/api"), ("web", "apps/web")],
        ),
        (
            "git directories, segments and normalized names",
            set(
                false,
                json!([{"git": {"repoURL": "r", "directories": [{"path": "apps/api/*"}]}}]),
                "{{path[1]}}-{{path.basenameNormalized}}",
                "{{path}}",
            ),
            vec![("api-sub", "apps/api/sub")],
        ),
        (
            "git files, flattened content and path parameters",
            set(
                false,
                json!([{"git": {"repoURL": "r", "files": [{"path": "clusters/**/config.*"}]}}]),
                "{{cluster.name}}-{{path.basename}}-{{replicas}}",
                "{{path}}/{{path.filename}}",
            ),
            vec![
                ("dev-dev-1", "clusters/dev/config.json"),
                ("prod-prod-3", "clusters/prod/config.yaml"),
            ],
        ),
        (
            "git file holding a list",
            set(
                false,
                json!([{"git": {"repoURL": "r", "files": [{"path": "teams/*.yaml"}]}}]),
                "{{team}}",
                "{{ns}}",
            ),
            vec![("a", "team-a"), ("b", "team-b")],
        ),
        (
            "git path parameter prefix and generator values",
            set(
                false,
                json!([{"git": {"repoURL": "r", "pathParamPrefix": "app", "directories": [{"path": "apps/web"}],
                    "values": {"release": "rel-{{app.path.basename}}"}}}]),
                "{{values.release}}",
                "{{app.path}}",
            ),
            vec![("rel-web", "apps/web")],
        ),
        (
            "clusters with a label selector",
            set(
                false,
                json!([{"clusters": {"selector": {"matchLabels": {"env": "prod"}}}}]),
                "{{nameNormalized}}-{{metadata.labels.env}}",
                "{{server}}",
            ),
            vec![("prod-ctx-prod", "https://prod.example")],
        ),
        (
            "matrix of clusters and git directories, the second using the first",
            set(
                false,
                json!([{"matrix": {"generators": [
                    {"clusters": {"selector": {"matchExpressions": [{"key": "env", "operator": "In", "values": ["dev"]}]}}},
                    {"git": {"repoURL": "r", "directories": [{"path": "apps/w*"}], "values": {"on": "{{name}}"}}}
                ]}}]),
                "{{path.basename}}-{{values.on}}",
                "{{path}}",
            ),
            vec![("web-dev-ctx", "apps/web")],
        ),
        (
            "merge by key: the second generator overrides the first",
            set(
                false,
                json!([{"merge": {"mergeKeys": ["name"], "generators": [
                    {"clusters": {"values": {"size": "small"}}},
                    {"list": {"elements": [{"name": "Prod_Ctx", "values.size": "large"}, {"name": "absent", "values.size": "x"}]}}
                ]}}]),
                "{{nameNormalized}}-{{values.size}}",
                "p",
            ),
            vec![("dev-ctx-small", "p"), ("prod-ctx-large", "p")],
        ),
        (
            "a post selector on generated parameters",
            set(
                false,
                json!([{"list": {"elements": [{"n": "a", "keep": "yes"}, {"n": "b", "keep": "no"}]}, "selector": {"matchLabels": {"keep": "yes"}}}]),
                "{{n}}",
                "p",
            ),
            vec![("a", "p")],
        ),
        (
            "go template: list, directories and files",
            set(
                true,
                json!([
                    {"list": {"elements": [{"env": "Dev"}]}},
                    {"git": {"repoURL": "r", "directories": [{"path": "apps/api/*"}]}},
                    {"git": {"repoURL": "r", "files": [{"path": "clusters/dev/*.json"}]}}
                ]),
                "{{ if .env }}{{ .env | lower }}{{ else if .replicas }}{{ .cluster.name }}-{{ .replicas }}{{ else }}{{ index .path.segments 1 }}-{{ .path.basename }}{{ end }}",
                "{{ if .path }}{{ .path.path }}{{ else }}none{{ end }}",
            ),
            vec![
                ("dev", "none"),
                ("api-sub", "apps/api/sub"),
                ("dev-1", "clusters/dev"),
            ],
        ),
        (
            "go template: matrix merges nested parameters",
            set(
                true,
                json!([{"matrix": {"generators": [
                    {"list": {"elements": [{"meta": {"team": "a"}}]}},
                    {"list": {"elements": [{"meta": {"tier": "web"}}]}}
                ]}}]),
                "{{ .meta.team }}-{{ .meta.tier }}",
                "p",
            ),
            vec![("a-web", "p")],
        ),
    ];
    for (what, doc, expected) in cases {
        assert_eq!(names_and_paths(&doc), pairs(&expected), "{what}");
    }
}

#[test]
fn templates_patches_and_finalizers() {
    let mut doc = set(
        true,
        json!([{"list": {"elements": [{"name": "web", "auto": true}, {"name": "db", "auto": false}],
            "template": {"metadata": {}, "spec": {"destination": {"namespace": "own-{{ .name }}"}}}}}]),
        "{{ .name }}",
        "apps/{{ .name }}",
    );
    doc["spec"]["templatePatch"] =
        json!("{{- if .auto }}\nspec:\n  syncPolicy:\n    automated: {prune: true}\n{{- end }}\n");
    let expanded = expand(&doc, &repo()).unwrap();
    let [web, db] = expanded.applications.as_slice() else {
        panic!("{:?}", expanded.applications)
    };
    assert_eq!(web["spec"]["syncPolicy"]["automated"]["prune"], json!(true));
    assert!(db["spec"].get("syncPolicy").is_none(), "{db}");
    // The generator's own template wins where it sets a field; the set's fills the rest.
    assert_eq!(web["spec"]["destination"]["namespace"], json!("own-web"));
    assert_eq!(web["spec"]["source"]["path"], json!("apps/web"));
    assert_eq!(web["metadata"]["finalizers"], json!([RESOURCES_FINALIZER]));

    doc["spec"]["syncPolicy"] = json!({"preserveResourcesOnDeletion": true});
    let kept = expand(&doc, &repo()).unwrap();
    assert!(kept.applications[0]["metadata"].get("finalizers").is_none());
}

#[test]
fn what_kpush_cannot_evaluate_is_refused_naming_it() {
    let refused = |doc: Value| -> String {
        match expand(&doc, &repo()) {
            Ok(e) => panic!("expanded: {:?}", e.applications),
            Err(errors) => errors.join("\n"),
        }
    };
    let cases: Vec<(Value, &str)> = vec![
        (
            set(false, json!([{"pullRequest": {"github": {}}}]), "x", "p"),
            "`spec.generators[0].pullRequest`: the `pullRequest` generator",
        ),
        (
            set(false, json!([{"scmProvider": {}}]), "x", "p"),
            "`scmProvider` generator",
        ),
        (
            set(false, json!([{"clusterDecisionResource": {}}]), "x", "p"),
            "`clusterDecisionResource` generator",
        ),
        (
            set(
                false,
                json!([{"matrix": {"generators": [{"plugin": {}}, {"list": {"elements": []}}]}}]),
                "x",
                "p",
            ),
            "`spec.generators[0].matrix.generators[0].plugin`",
        ),
        (
            set(
                false,
                json!([{"list": {"elements": [{"a": "1"}]}, "git": {}}]),
                "x",
                "p",
            ),
            "exactly one generator",
        ),
        (
            set(
                false,
                json!([{"matrix": {"generators": [{"list": {"elements": [{"a": "1"}]}}]}}]),
                "x",
                "p",
            ),
            "exactly two generators",
        ),
        (
            set(
                false,
                json!([{"list": {"elements": [{"a": "1"}, {"a": "1"}]}}]),
                "{{a}}",
                "p",
            ),
            "two Applications named `1`",
        ),
        (
            set(
                true,
                json!([{"list": {"elements": [{"a": "1"}]}}]),
                "{{ env \"HOME\" }}",
                "p",
            ),
            "env",
        ),
        (
            set(
                true,
                json!([{"list": {"elements": [{"a": "1"}]}}]),
                "{{ .a | frobnicate }}",
                "p",
            ),
            "frobnicate",
        ),
        (
            set(false, json!([{"git": {"repoURL": "r"}}]), "x", "p"),
            "needs either `directories` or `files`",
        ),
    ];
    for (doc, expected) in cases {
        let message = refused(doc);
        assert!(
            message.contains(expected),
            "{message}\nshould name: {expected}"
        );
    }
    let mut fast_patch = set(
        false,
        json!([{"list": {"elements": [{"a": "1"}]}}]),
        "x",
        "p",
    );
    fast_patch["spec"]["templatePatch"] = json!("spec: {}");
    assert!(refused(fast_patch).contains("needs `goTemplate: true`"));
    let mut missing = set(
        true,
        json!([{"list": {"elements": [{"a": "1"}]}}]),
        "{{ .b }}",
        "p",
    );
    missing["spec"]["goTemplateOptions"] = json!(["missingkey=error"]);
    assert!(refused(missing).contains(".b"));
}
