//! Image promotion: tags checked against the app's policy before any cluster call, then put in
//! place for Helm, kustomize and plain manifests.

mod common;

use common::{GitRepo, cluster, kpush};
use serde_json::Value;

/// App `web` with the seed's image policy: development takes only `2.x.y-SNAPSHOT` tags.
fn web_app_with_tag_policy(namespace: &str) -> String {
    format!(
        r#"apiVersion: kpush.dev/v1alpha1
kind: Application
metadata:
  name: web
  annotations:
    argocd-image-updater.argoproj.io/image-list: web=registry.example/shop/web
spec:
  source: {{path: web}}
  destination: {{namespace: {namespace}}}
  environments:
    dev:
      images:
        - alias: web
          allowTags: 'regexp:^2\.\d+\.\d+-SNAPSHOT$'
    prod:
      images:
        - alias: web
          allowTags: 'regexp:^2\.\d+\.\d+$'
"#
    )
}

#[test]
fn refused_tags_stop_before_any_cluster_call() {
    let repo = GitRepo::new();
    repo.write("kpush.yaml", web_app_with_tag_policy("shop"))
        .write(
            "web/deploy.yaml",
            common::deployment("web", 0, "registry.example/shop/web:2.0.0"),
        )
        .commit("web");
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = common::unreachable_kubeconfig(dir.path());
    for tag in ["2.3.0", "latest"] {
        let run = kpush(
            repo.path(),
            &[
                "--kubeconfig",
                &kubeconfig,
                "apply",
                "--env",
                "dev",
                "--image",
                &format!("web={tag}"),
            ],
        );
        // 3, not 1: the unreachable server was never contacted.
        run.expect_code(3);
        assert!(
            run.stderr.contains(&format!("image `web` tag `{tag}` is refused for app `web` in environment `dev` by allow-tags")),
            "{}",
            run.stderr
        );
    }
    // An allowed tag gets past the policy, to the (unreachable) cluster.
    let run = kpush(
        repo.path(),
        &[
            "--kubeconfig",
            &kubeconfig,
            "apply",
            "--env",
            "dev",
            "--image",
            "web=2.3.0-SNAPSHOT",
        ],
    );
    run.expect_code(1);
    assert!(run.stderr.contains("cannot reach"), "{}", run.stderr);
    // Production takes releases only.
    let run = kpush(
        repo.path(),
        &["render", "--env", "prod", "--image", "web=2.3.0-SNAPSHOT"],
    );
    run.expect_code(3);
    let run = kpush(
        repo.path(),
        &[
            "render",
            "--env",
            "prod",
            "--image",
            "web=2.3.0",
            "-o",
            "json",
        ],
    );
    run.expect_code(0);
    let list: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        list["items"][0]["spec"]["template"]["spec"]["containers"][0]["image"],
        "registry.example/shop/web:2.3.0"
    );
    let run = kpush(repo.path(), &["render", "--image", "api=1.0"]);
    run.expect_code(3);
    assert!(
        run.stderr
            .contains("no app defines the image alias `api` (known: web)"),
        "{}",
        run.stderr
    );
}

fn image_of(cluster: &common::TestCluster, ns: &str, name: &str) -> String {
    cluster.get("deployment", Some(ns), name).unwrap()["spec"]["template"]["spec"]["containers"][0]
        ["image"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn helm_kustomize_and_plain_apps_run_the_promoted_tag() {
    let cluster = cluster();
    let ns = cluster.namespace("kp-images");
    let repo = GitRepo::new();
    repo.write(
        "kpush.yaml",
        format!(
            r#"apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: chart
  annotations:
    argocd-image-updater.argoproj.io/image-list: web=registry.example/shop/web
    argocd-image-updater.argoproj.io/web.helm.image-tag: .image.tag
spec:
  source: {{path: chart}}
  destination: {{namespace: {ns}}}
---
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: kust
  annotations:
    argocd-image-updater.argoproj.io/image-list: api=registry.example/shop/api
spec:
  source: {{path: kust}}
  destination: {{namespace: {ns}}}
---
apiVersion: kpush.dev/v1alpha1
kind: Application
metadata: {{name: plain}}
spec:
  source: {{path: plain}}
  destination: {{namespace: {ns}}}
  images: [{{alias: worker, repository: registry.example/shop/worker}}]
"#,
            ns = ns.name
        ),
    )
    .write(
        "chart/Chart.yaml",
        "apiVersion: v2\nname: chart\nversion: 0.1.0\n",
    )
    .write(
        "chart/values.yaml",
        "image: {repository: registry.example/shop/web, tag: '1.0.0'}\n",
    )
    .write(
        "chart/templates/deploy.yaml",
        common::deployment(
            "web",
            0,
            "{{ .Values.image.repository }}:{{ .Values.image.tag }}",
        ),
    )
    .write("kust/kustomization.yaml", "resources: [deploy.yaml]\n")
    .write(
        "kust/deploy.yaml",
        common::deployment("api", 0, "registry.example/shop/api:1.0.0"),
    )
    .write(
        "plain/deploy.yaml",
        common::deployment("worker", 0, "registry.example/shop/worker:1.0.0"),
    )
    .commit("three apps");

    let helm = std::env::var("KPUSH_TEST_HELM").unwrap_or_else(|_| "helm".into());
    let run = cluster.kpush(
        repo.path(),
        &[
            "apply",
            "--helm-bin",
            &helm,
            "--kustomize-bin",
            &common::kubectl_recent(),
            "--image",
            "web=2.4.1",
            "--image",
            "api=registry.example/shop/api:3.1.0",
            "--image",
            "worker=0.9.2",
        ],
    );
    run.expect_code(0);
    assert_eq!(
        image_of(&cluster, &ns.name, "web"),
        "registry.example/shop/web:2.4.1"
    );
    assert_eq!(
        image_of(&cluster, &ns.name, "api"),
        "registry.example/shop/api:3.1.0"
    );
    assert_eq!(
        image_of(&cluster, &ns.name, "worker"),
        "registry.example/shop/worker:0.9.2"
    );
    // The deployed tags are in the history.
    let history = cluster.kpush(repo.path(), &["history", "--app", "chart", "-o", "json"]);
    let doc: Value = serde_json::from_str(&history.stdout).unwrap();
    assert_eq!(
        doc["apps"][0]["history"][0]["images"][0],
        "registry.example/shop/web:2.4.1"
    );
}

#[test]
fn templates_see_promoted_images_and_argocd_source_files_apply() {
    let repo = GitRepo::new();
    repo.write(
        "kpush.yaml",
        "apiVersion: kpush.dev/v1alpha1\nkind: Application\nmetadata: {name: web}\nspec:\n  source: {path: web}\n  images: [{alias: web, repository: ghcr.io/shop/web}]\n",
    )
    .write("web/cm.yaml.j2", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: images\ndata:\n  web: {{ images.web }}\n")
    .write("chart/Chart.yaml", "apiVersion: v2\nname: chart\nversion: 0.1.0\n")
    .write("chart/templates/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: tag\ndata:\n  tag: {{ .Values.image.tag | quote }}\n")
    .write("chart/.argocd-source-chart.yaml", "helm:\n  parameters:\n    - {name: image.tag, value: '7.7.7', forceString: true}\n")
    .commit("web");
    let run = kpush(
        repo.path(),
        &["render", "--image", "web=1.2.3", "-o", "json"],
    );
    run.expect_code(0);
    let list: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(list["items"][0]["data"]["web"], "ghcr.io/shop/web:1.2.3");

    let helm = std::env::var("KPUSH_TEST_HELM").unwrap_or_else(|_| "helm".into());
    let run = kpush(
        repo.path(),
        &["render", "chart", "--helm-bin", &helm, "-o", "json"],
    );
    run.expect_code(0);
    let list: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(list["items"][0]["data"]["tag"], "7.7.7");
}

#[test]
fn write_back_commits_exactly_one_file_that_later_renders_the_tag() {
    let cluster = cluster();
    let ns = cluster.namespace("kp-writeback");
    let repo = GitRepo::new();
    repo.write(
        "kpush.yaml",
        format!(
            "apiVersion: kpush.dev/v1alpha1\nkind: Application\nmetadata: {{name: worker}}\nspec:\n  source: {{path: apps/worker}}\n  destination: {{namespace: {}}}\n  images: [{{alias: worker, repository: registry.example/shop/worker}}]\n",
            ns.name
        ),
    )
    .write("apps/worker/deploy.yaml", common::deployment("worker", 0, "registry.example/shop/worker:1.0.0"))
    .write("notes.txt", "uncommitted edits stay out of the commit\n");
    let before = repo.commit("worker");
    repo.write("notes.txt", "changed but not committed\n");

    let run = cluster.kpush(
        repo.path(),
        &[
            "apply",
            "--image",
            "worker=1.1.0",
            "--write-back",
            "--git-user",
            "Release Bot",
            "--git-email",
            "bot@example.com",
        ],
    );
    run.expect_code(0);
    assert!(run.stderr.contains("recorded registry.example/shop/worker:1.1.0 in `apps/worker/.argocd-source-worker.yaml`"), "{}", run.stderr);

    let head = repo.repo.head().unwrap().peel_to_commit().unwrap();
    assert_eq!(
        head.parent_id(0).unwrap().to_string(),
        before,
        "exactly one new commit"
    );
    assert_eq!(head.author().name().unwrap(), "Release Bot");
    let parent_tree = head.parent(0).unwrap().tree().unwrap();
    let diff = repo
        .repo
        .diff_tree_to_tree(Some(&parent_tree), Some(&head.tree().unwrap()), None)
        .unwrap();
    let changed: Vec<String> = diff
        .deltas()
        .map(|d| d.new_file().path().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(changed, ["apps/worker/.argocd-source-worker.yaml"]);
    // The uncommitted edit is still only in the working tree.
    assert_eq!(
        std::fs::read_to_string(repo.path().join("notes.txt")).unwrap(),
        "changed but not committed\n"
    );

    // The new commit renders the promoted tag without --image.
    let render = kpush(repo.path(), &["render", "-o", "json"]);
    render.expect_code(0);
    let list: Value = serde_json::from_str(&render.stdout).unwrap();
    assert_eq!(
        list["items"][0]["spec"]["template"]["spec"]["containers"][0]["image"],
        "registry.example/shop/worker:1.1.0"
    );
}

/// A promoted image stays deployed until another promotion changes it, as Argo CD keeps an
/// Image Updater override: diffs and deploys without `--image` keep it, and say so.
#[test]
fn a_promoted_image_is_kept_by_runs_that_name_no_tag() {
    let cluster = cluster();
    let ns = cluster.namespace("kp-kept");
    let repo = GitRepo::new();
    repo.write("kpush.yaml", web_app_with_tag_policy(&ns.name))
        .write(
            "web/deploy.yaml",
            common::deployment("web", 0, "registry.example/shop/web:2.0.0"),
        )
        .write("web/settings.yaml", common::configmap("settings", "1"))
        .commit("web");
    let run = |args: &[&str]| cluster.kpush(repo.path(), args);
    run(&["apply", "--env", "prod", "--image", "web=2.1.0"]).expect_code(0);
    assert_eq!(
        image_of(&cluster, &ns.name, "web"),
        "registry.example/shop/web:2.1.0"
    );

    // The nightly drift check and a pull request's diff name no image: no drift.
    let diff = run(&["diff", "--env", "prod", "--exit-code"]);
    diff.expect_code(0);
    assert!(
        diff.stdout
            .contains("registry.example/shop/web:2.1.0 (kept from revision 1)"),
        "{}",
        diff.all()
    );
    // A deploy of another change keeps it too, and records it for the next one.
    repo.write("web/settings.yaml", common::configmap("settings", "2"))
        .commit("settings");
    run(&["apply", "--env", "prod"]).expect_code(0);
    assert_eq!(
        image_of(&cluster, &ns.name, "web"),
        "registry.example/shop/web:2.1.0"
    );
    run(&["diff", "--env", "prod", "--exit-code"]).expect_code(0);

    // A new promotion replaces it.
    run(&["apply", "--env", "prod", "--image", "web=2.2.0"]).expect_code(0);
    assert_eq!(
        image_of(&cluster, &ns.name, "web"),
        "registry.example/shop/web:2.2.0"
    );
    // A rollback puts back what it goes back to, and that stays too.
    run(&["rollback", "--env", "prod"]).expect_code(0);
    assert_eq!(
        image_of(&cluster, &ns.name, "web"),
        "registry.example/shop/web:2.1.0"
    );
    run(&["diff", "--env", "prod", "--exit-code"]).expect_code(0);
    // A policy that now refuses the kept tag drops it: the manifest's tag is the plan.
    repo.write(
        "kpush.yaml",
        web_app_with_tag_policy(&ns.name).replace(r"'regexp:^2\.\d+\.\d+$'", "'regexp:^3\\.'"),
    )
    .commit("stricter policy");
    let diff = run(&["diff", "--env", "prod", "--exit-code"]);
    diff.expect_code(2);
    assert!(diff.stderr.contains("is not kept"), "{}", diff.all());
}
