//! `--update-images`: tags chosen from a real registry (the CNCF distribution registry on
//! loopback, images pushed with skopeo) by Argo CD Image Updater's strategies, checked by the
//! app's policy, deployed, recorded and written back.

mod common;

use common::registry::{Registry, push_image};
use common::{GitRepo, cluster};
use serde_json::Value;

/// An app `web` whose Deployment runs `image` with `policy` (the kpush `images` block entry,
/// alias `web`).
fn web_app(namespace: &str, image: &str, policy: &str) -> GitRepo {
    let repo = GitRepo::new();
    repo.write(
        "kpush.yaml",
        format!(
            "apiVersion: kpush.dev/v1alpha1\nkind: Application\nmetadata: {{name: web}}\nspec:\n  source: {{path: web}}\n  destination: {{namespace: {namespace}}}\n  images:\n    - {{alias: web, {policy}}}\n"
        ),
    )
    .write("web/deploy.yaml", common::deployment("web", 0, image))
    .commit("web");
    repo
}

fn live_image(cluster: &common::TestCluster, ns: &str) -> String {
    let run = cluster.kubectl(&[
        "get",
        "deployment",
        "web",
        "-n",
        ns,
        "-o",
        "jsonpath={.spec.template.spec.containers[0].image}",
    ]);
    run.expect_code(0);
    run.stdout.trim().to_string()
}

/// A registry holding `shop/web` at each of `tags` (built on one day); returns it and the
/// repository's name.
fn web_images(tags: &[&str]) -> (Registry, String) {
    let registry = Registry::start();
    for tag in tags {
        push_image(
            &registry.host,
            "shop/web",
            tag,
            "2026-01-01T00:00:00Z",
            None,
        );
    }
    let repository = format!("{}/shop/web", registry.host);
    (registry, repository)
}

/// Environment that keeps the machine's docker config out of the test.
fn no_docker_config(dir: &std::path::Path) -> Vec<(&'static str, String)> {
    vec![
        ("DOCKER_CONFIG", dir.display().to_string()),
        ("DOCKER_AUTH_CONFIG", String::new()),
        (
            "REGISTRY_AUTH_FILE",
            dir.join("none.json").display().to_string(),
        ),
    ]
}

fn kpush(
    cluster: &common::TestCluster,
    repo: &GitRepo,
    args: &[&str],
    env: &[(&str, String)],
) -> common::Run {
    let kubeconfig = cluster.kubeconfig.to_str().unwrap().to_string();
    let mut full = vec!["--kubeconfig", &kubeconfig];
    full.extend_from_slice(args);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    common::kpush_env(repo.path(), &full, &env)
}

#[test]
fn semver_picks_the_highest_allowed_version_and_the_run_records_it() {
    let (registry, repository) = web_images(&[
        "1.0.0",
        "1.2.0",
        "v1.4.0",
        "1.5.0-rc1",
        "1.6.0",
        "2.0.0",
        "latest",
    ]);
    let cluster = cluster();
    let ns = cluster.namespace("kp-upd-semver");
    let repo = web_app(
        &ns.name,
        &format!("{repository}:1.0.0"),
        &format!("repository: {repository}, constraint: 1.x, ignoreTags: ['1.6.*']"),
    );
    let home = tempfile::tempdir().unwrap();
    let env = no_docker_config(home.path());

    // The diff shows the choice and why, before anything is written.
    let diff = kpush(
        &cluster,
        &repo,
        &["diff", "--update-images", "-o", "json"],
        &env,
    );
    diff.expect_code(0);
    let report: Value = serde_json::from_str(&diff.stdout).unwrap();
    let app = &report["apps"][0];
    assert_eq!(
        app["images"][0],
        format!("{repository}:v1.4.0"),
        "{}",
        diff.stdout
    );
    let how = app["updated_images"][0].as_str().unwrap();
    assert!(
        how.contains("semver `1.x`: chosen from 3 allowed of 7 tag(s) in the registry"),
        "{how}"
    );

    let apply = kpush(&cluster, &repo, &["apply", "--update-images"], &env);
    apply.expect_code(0);
    assert!(
        apply
            .stdout
            .contains(&format!("{repository}:v1.4.0 (semver")),
        "{}",
        apply.stdout
    );
    assert_eq!(
        live_image(&cluster, &ns.name),
        format!("{repository}:v1.4.0")
    );

    // The history records the promotion, so a run without --update-images keeps it.
    let history = kpush(&cluster, &repo, &["history", "-o", "json"], &env);
    history.expect_code(0);
    assert!(history.stdout.contains("v1.4.0"), "{}", history.stdout);
    let again = kpush(&cluster, &repo, &["diff", "--exit-code"], &env);
    again.expect_code(0);

    // A newer allowed version is picked up by the next run.
    push_image(
        &registry.host,
        "shop/web",
        "1.7.1",
        "2026-01-02T00:00:00Z",
        None,
    );
    kpush(&cluster, &repo, &["apply", "--update-images"], &env).expect_code(0);
    assert_eq!(
        live_image(&cluster, &ns.name),
        format!("{repository}:1.7.1")
    );

    // `--image` wins over the registry.
    kpush(
        &cluster,
        &repo,
        &["apply", "--update-images", "--image", "web=1.2.0"],
        &env,
    )
    .expect_code(0);
    assert_eq!(
        live_image(&cluster, &ns.name),
        format!("{repository}:1.2.0")
    );
}

#[test]
fn newest_build_alphabetical_and_digest_strategies() {
    let registry = Registry::start();
    let host = registry.host.clone();
    // Build dates out of name order; `latest` is newest but not allowed.
    for (tag, created) in [
        ("aaaaaaa", "2026-01-01T00:00:00Z"),
        ("bbbbbbb", "2026-03-01T00:00:00Z"),
        ("ccccccc", "2026-02-01T00:00:00Z"),
        ("latest", "2026-04-01T00:00:00Z"),
    ] {
        push_image(&host, "shop/build", tag, created, None);
    }
    for tag in ["2025-11-30", "2025-12-24", "2026-01-05-rc"] {
        push_image(&host, "shop/cal", tag, "2026-01-01T00:00:00Z", None);
    }
    let first = push_image(&host, "shop/edge", "stable", "2026-01-01T00:00:00Z", None);
    let home = tempfile::tempdir().unwrap();
    let env = no_docker_config(home.path());
    let cluster = cluster();
    let ns = cluster.namespace("kp-upd-strategies");

    let cases = [
        (
            "shop/build",
            "updateStrategy: newest-build, allowTags: 'regexp:^[0-9a-f]{7}$'",
            "bbbbbbb".to_string(),
            "newest-build: chosen from 3 allowed of 4 tag(s) in the registry, built 2026-03-01T00:00:00Z",
        ),
        (
            "shop/cal",
            "updateStrategy: alphabetical, ignoreTags: ['*-rc']",
            "2025-12-24".to_string(),
            "alphabetical: chosen from 2 allowed of 3 tag(s)",
        ),
        (
            "shop/edge",
            "updateStrategy: digest, constraint: stable",
            format!("stable@{first}"),
            "digest: `stable` is sha256:",
        ),
    ];
    for (name, policy, expected, how) in cases {
        let repository = format!("{host}/{name}");
        let repo = web_app(
            &ns.name,
            &format!("{repository}:old"),
            &format!("repository: {repository}, {policy}"),
        );
        let diff = kpush(
            &cluster,
            &repo,
            &["diff", "--update-images", "-o", "json"],
            &env,
        );
        diff.expect_code(0);
        let report: Value = serde_json::from_str(&diff.stdout).unwrap();
        assert_eq!(
            report["apps"][0]["images"][0],
            format!("{repository}:{expected}"),
            "{name}"
        );
        let shown = report["apps"][0]["updated_images"][0].as_str().unwrap();
        assert!(shown.contains(how), "{name}: {shown}");
    }

    // The digest strategy follows the tag: a new push of `stable` is a new deploy.
    let repository = format!("{host}/shop/edge");
    let repo = web_app(
        &ns.name,
        &format!("{repository}:stable"),
        &format!("repository: {repository}, updateStrategy: digest, constraint: stable"),
    );
    kpush(&cluster, &repo, &["apply", "--update-images"], &env).expect_code(0);
    assert_eq!(
        live_image(&cluster, &ns.name),
        format!("{repository}:stable@{first}")
    );
    let second = push_image(&host, "shop/edge", "stable", "2026-02-01T00:00:00Z", None);
    assert_ne!(first, second);
    kpush(&cluster, &repo, &["apply", "--update-images"], &env).expect_code(0);
    assert_eq!(
        live_image(&cluster, &ns.name),
        format!("{repository}:stable@{second}")
    );
}

#[test]
fn no_qualifying_tag_leaves_the_image_and_says_why() {
    let (registry, repository) = web_images(&["latest"]);
    let cluster = cluster();
    let ns = cluster.namespace("kp-upd-none");
    let repo = web_app(
        &ns.name,
        &format!("{repository}:1.0.0"),
        &format!("repository: {repository}"),
    );
    let home = tempfile::tempdir().unwrap();
    let env = no_docker_config(home.path());
    let run = kpush(&cluster, &repo, &["apply", "--update-images"], &env);
    run.expect_code(0);
    assert!(
        run.stderr.contains("none of the 1 tag(s) of")
            && run.stderr.contains("the image is not updated"),
        "{}",
        run.stderr
    );
    assert_eq!(
        live_image(&cluster, &ns.name),
        format!("{repository}:1.0.0")
    );

    // A repository the registry does not have is an error before any cluster call.
    let missing = web_app(
        &ns.name,
        "x:1",
        &format!("repository: {}/shop/nothing", registry.host),
    );
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = common::unreachable_kubeconfig(dir.path());
    let mut full_env = env.clone();
    full_env.push(("KPUSH_UPDATE_IMAGES", "true".to_string()));
    let env_refs: Vec<(&str, &str)> = full_env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let run = common::kpush_env(
        missing.path(),
        &["--kubeconfig", &kubeconfig, "diff"],
        &env_refs,
    );
    run.expect_code(3);
    assert!(
        run.stderr.contains("the repository does not exist"),
        "{}",
        run.stderr
    );
}

#[test]
fn registry_credentials_from_ci_variables_and_the_docker_config_never_show() {
    const PASSWORD: &str = "s3cret-registry-password";
    let registry = Registry::with_user("ci", PASSWORD);
    push_image(
        &registry.host,
        "shop/web",
        "1.1.0",
        "2026-01-01T00:00:00Z",
        Some(&format!("ci:{PASSWORD}")),
    );
    let repository = format!("{}/shop/web", registry.host);
    let home = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = common::unreachable_kubeconfig(dir.path());
    let run_with = |repo: &GitRepo, extra: &[(&str, String)]| {
        let mut env = no_docker_config(home.path());
        env.extend(extra.iter().cloned());
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        // The unreachable cluster proves that a registry failure stops the run before it.
        common::kpush_env(
            repo.path(),
            &[
                "--kubeconfig",
                &kubeconfig,
                "-vv",
                "diff",
                "--update-images",
            ],
            &env,
        )
    };
    let repo = web_app(
        "default",
        &format!("{repository}:1.0.0"),
        &format!("repository: {repository}"),
    );

    let anonymous = run_with(&repo, &[]);
    anonymous.expect_code(3);
    assert!(
        anonymous
            .stderr
            .contains("needs credentials and none were found"),
        "{}",
        anonymous.stderr
    );
    assert!(
        anonymous.stderr.contains("DOCKER_AUTH_CONFIG"),
        "{}",
        anonymous.stderr
    );

    let auth = |user: &str, password: &str| {
        use base64::Engine;
        let pair = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        format!(
            r#"{{"auths": {{"{}": {{"auth": "{pair}"}}}}}}"#,
            registry.host
        )
    };
    let wrong = run_with(
        &repo,
        &[("DOCKER_AUTH_CONFIG", auth("ci", "wrong-password"))],
    );
    wrong.expect_code(3);
    assert!(
        wrong.stderr.contains("refused the credentials of `ci`"),
        "{}",
        wrong.stderr
    );

    // Right credentials get past the registry to the (unreachable) cluster: exit 1.
    let right = run_with(&repo, &[("DOCKER_AUTH_CONFIG", auth("ci", PASSWORD))]);
    right.expect_code(1);
    assert!(right.stderr.contains("cannot reach"), "{}", right.stderr);

    // The docker config file, as `docker login` writes it.
    std::fs::write(home.path().join("config.json"), auth("ci", PASSWORD)).unwrap();
    run_with(&repo, &[]).expect_code(1);

    // A credential helper the docker config names for the registry, as cloud registries set
    // up (`docker-credential-<name> get`, given the registry on stdin).
    let helpers = tempfile::tempdir().unwrap();
    let helper = helpers.path().join("docker-credential-kpushtest");
    std::fs::write(
        &helper,
        format!(
            "#!/bin/sh\nread server\n[ \"$server\" = \"{}\" ] || {{ echo \"credentials not found in native keychain\"; exit 1; }}\necho '{{\"Username\": \"ci\", \"Secret\": \"{PASSWORD}\"}}'\n",
            registry.host
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(
        home.path().join("config.json"),
        format!(r#"{{"credHelpers": {{"{}": "kpushtest"}}}}"#, registry.host),
    )
    .unwrap();
    let path = format!(
        "{}:{}",
        helpers.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let helped = run_with(&repo, &[("PATH", path.clone())]);
    helped.expect_code(1);
    assert!(helped.stderr.contains("cannot reach"), "{}", helped.all());
    // A helper that fails says so, naming the helper and never a secret.
    std::fs::write(
        home.path().join("config.json"),
        format!(r#"{{"credHelpers": {{"{}": "missing"}}}}"#, registry.host),
    )
    .unwrap();
    let missing = run_with(&repo, &[("PATH", path)]);
    missing.expect_code(3);
    assert!(
        missing.stderr.contains("docker-credential-missing"),
        "{}",
        missing.all()
    );
    std::fs::remove_file(home.path().join("config.json")).unwrap();

    // Image Updater's pull-secret `env:VARIABLE`.
    let with_secret = web_app(
        "default",
        &format!("{repository}:1.0.0"),
        &format!("repository: {repository}, pullSecret: 'env:REGISTRY_CREDS'"),
    );
    let unset = run_with(&with_secret, &[]);
    unset.expect_code(3);
    assert!(
        unset
            .stderr
            .contains("the variable REGISTRY_CREDS is not set"),
        "{}",
        unset.stderr
    );
    let set = run_with(
        &with_secret,
        &[("REGISTRY_CREDS", format!("ci:{PASSWORD}"))],
    );
    set.expect_code(1);

    for run in [&anonymous, &wrong, &right, &unset, &set, &helped, &missing] {
        assert!(
            !run.all().contains(PASSWORD),
            "the password was printed:\n{}",
            run.all()
        );
    }
}

#[test]
fn write_back_records_the_registry_choice() {
    let (_registry, repository) = web_images(&["2.1.0"]);
    let cluster = cluster();
    let ns = cluster.namespace("kp-upd-writeback");
    let repo = web_app(
        &ns.name,
        &format!("{repository}:2.0.0"),
        &format!("repository: {repository}"),
    );
    let home = tempfile::tempdir().unwrap();
    let env = no_docker_config(home.path());
    let run = kpush(
        &cluster,
        &repo,
        &[
            "apply",
            "--update-images",
            "--write-back",
            "--git-user",
            "Image Bot",
            "--git-email",
            "bot@example.com",
        ],
        &env,
    );
    run.expect_code(0);
    assert!(
        run.stderr.contains(&format!("recorded {repository}:2.1.0")),
        "{}",
        run.stderr
    );
    // The commit renders the chosen tag without the registry.
    let render = common::kpush(repo.path(), &["render", "-o", "json"]);
    render.expect_code(0);
    let list: Value = serde_json::from_str(&render.stdout).unwrap();
    assert_eq!(
        list["items"][0]["spec"]["template"]["spec"]["containers"][0]["image"],
        format!("{repository}:2.1.0")
    );
}

/// Public registries (Docker Hub, ghcr.io, quay.io) answer with a `Bearer` challenge: the
/// client gets a token from the realm, anonymously for a public repository or with its
/// credentials for a private one, and sends the credentials to the token service only.
#[test]
fn the_bearer_token_flow_anonymous_and_with_credentials() {
    use common::token::{Grants, TokenService};
    const PASSWORD: &str = "s3cret-token-password";
    let tokens = TokenService::start(Grants {
        public: true,
        user: "ci".into(),
        password: PASSWORD.into(),
    });
    let registry = Registry::with_tokens(&tokens);
    let creds = format!("ci:{PASSWORD}");
    for tag in ["1.0.0", "1.3.0"] {
        push_image(
            &registry.host,
            "shop/web",
            tag,
            "2026-01-01T00:00:00Z",
            Some(&creds),
        );
    }
    let repository = format!("{}/shop/web", registry.host);
    let home = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = common::unreachable_kubeconfig(dir.path());
    let repo = web_app(
        "default",
        &format!("{repository}:1.0.0"),
        &format!("repository: {repository}"),
    );
    let run = |extra: &[(&str, String)]| {
        let mut env = no_docker_config(home.path());
        env.extend(extra.iter().cloned());
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        common::kpush_env(
            repo.path(),
            &[
                "--kubeconfig",
                &kubeconfig,
                "-vv",
                "diff",
                "--update-images",
            ],
            &env,
        )
    };
    // Anonymous: past the registry (to the unreachable cluster, exit 1) with a pull token.
    tokens.seen.lock().unwrap().clear();
    let anonymous = run(&[]);
    anonymous.expect_code(1);
    assert!(
        anonymous.stderr.contains("cannot reach"),
        "{}",
        anonymous.stderr
    );
    assert_eq!(
        tokens.seen.lock().unwrap().as_slice(),
        [""],
        "one anonymous token request"
    );

    // With credentials (here from DOCKER_AUTH_CONFIG): they go to the token service only.
    let auth = {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(&creds)
    };
    let config = format!(
        r#"{{"auths": {{"{}": {{"auth": "{auth}"}}}}}}"#,
        registry.host
    );
    tokens.seen.lock().unwrap().clear();
    let private = run(&[("DOCKER_AUTH_CONFIG", config)]);
    private.expect_code(1);
    let seen = tokens.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert!(seen[0].starts_with("Basic "), "{seen:?}");
    assert!(!private.all().contains(PASSWORD));
}

/// A private repository behind a token service: anonymous access is refused with the hint,
/// and wrong credentials are named by user, never by password.
#[test]
fn a_private_token_registry_needs_credentials() {
    use common::token::{Grants, TokenService};
    let tokens = TokenService::start(Grants {
        public: false,
        user: "ci".into(),
        password: "right-password".into(),
    });
    let registry = Registry::with_tokens(&tokens);
    push_image(
        &registry.host,
        "shop/web",
        "1.0.0",
        "2026-01-01T00:00:00Z",
        Some("ci:right-password"),
    );
    let repository = format!("{}/shop/web", registry.host);
    let home = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = common::unreachable_kubeconfig(dir.path());
    let repo = web_app(
        "default",
        &format!("{repository}:0.9.0"),
        &format!("repository: {repository}, pullSecret: 'env:REGISTRY_CREDS'"),
    );
    let run = |creds: &str| {
        let mut env = no_docker_config(home.path());
        env.push(("REGISTRY_CREDS", creds.to_string()));
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        common::kpush_env(
            repo.path(),
            &["--kubeconfig", &kubeconfig, "diff", "--update-images"],
            &env,
        )
    };
    let wrong = run("ci:wrong-password");
    wrong.expect_code(3);
    assert!(
        wrong.stderr.contains("refused the credentials of `ci`"),
        "{}",
        wrong.stderr
    );
    assert!(!wrong.all().contains("wrong-password"), "{}", wrong.all());
    run("ci:right-password").expect_code(1);
}

/// `updateImages: true` on an app or one of its environments does what the flag does, for that
/// environment only.
#[test]
fn an_environment_can_ask_for_image_updates() {
    let (_registry, repository) = web_images(&["3.1.0"]);
    let repo = GitRepo::new();
    repo.write(
        "kpush.yaml",
        format!(
            "apiVersion: kpush.dev/v1alpha1\nkind: Application\nmetadata: {{name: web}}\nspec:\n  source: {{path: web}}\n  images: [{{alias: web, repository: {repository}}}]\n  environments:\n    nightly: {{namespace: default, updateImages: true}}\n    prod: {{namespace: default}}\n"
        ),
    )
    .write("web/deploy.yaml", common::deployment("web", 0, &format!("{repository}:3.0.0")))
    .commit("web");
    let cluster = cluster();
    let home = tempfile::tempdir().unwrap();
    let env = no_docker_config(home.path());
    let image_of = |run: &common::Run| -> Value {
        let report: Value = serde_json::from_str(&run.stdout).unwrap();
        report["apps"][0]["images"].clone()
    };
    let nightly = kpush(
        &cluster,
        &repo,
        &["diff", "--env", "nightly", "-o", "json"],
        &env,
    );
    nightly.expect_code(0);
    assert_eq!(
        image_of(&nightly)[0],
        format!("{repository}:3.1.0"),
        "{}",
        nightly.all()
    );
    let prod = kpush(
        &cluster,
        &repo,
        &["diff", "--env", "prod", "-o", "json"],
        &env,
    );
    prod.expect_code(0);
    assert!(image_of(&prod).is_null(), "{}", prod.stdout);
}

/// A registry on HTTPS reached through the proxy `HTTPS_PROXY` names (a CONNECT tunnel), its
/// certificate checked against the roots `SSL_CERT_FILE` adds; without them the TLS check
/// fails rather than being skipped. The cluster is reached through the same proxy: a runner
/// behind a corporate proxy sets `HTTPS_PROXY` for everything.
#[test]
fn an_https_registry_through_a_proxy() {
    // A CA, and the registry's certificate for `registry.test` signed by it.
    let dir = tempfile::tempdir().unwrap();
    let file = |name: &str| dir.path().join(name).display().to_string();
    let openssl = |args: &[&str]| {
        let out = std::process::Command::new("openssl")
            .args(args)
            .output()
            .expect("openssl");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let (ca, ca_key, key, csr, cert) = (
        file("ca.pem"),
        file("ca.key"),
        file("key.pem"),
        file("leaf.csr"),
        file("cert.pem"),
    );
    openssl(
        &[
            &["req", "-x509"],
            &ec[..],
            &[
                "-keyout",
                &ca_key,
                "-out",
                &ca,
                "-days",
                "2",
                "-subj",
                "/CN=kpush-test-ca",
            ],
        ]
        .concat(),
    );
    openssl(
        &[
            &["req"],
            &ec[..],
            &["-keyout", &key, "-out", &csr, "-subj", "/CN=registry.test"],
        ]
        .concat(),
    );
    std::fs::write(
        file("ext.cnf"),
        "subjectAltName=DNS:registry.test\nbasicConstraints=CA:FALSE\n",
    )
    .unwrap();
    openssl(&[
        "x509",
        "-req",
        "-in",
        &csr,
        "-CA",
        &ca,
        "-CAkey",
        &ca_key,
        "-CAcreateserial",
        "-out",
        &cert,
        "-days",
        "2",
        "-extfile",
        &file("ext.cnf"),
    ]);
    let (cert, key) = (
        std::path::PathBuf::from(cert),
        std::path::PathBuf::from(key),
    );
    let registry = Registry::with_tls(&cert, &key);
    for tag in ["4.0.0", "4.2.0"] {
        push_image(
            &registry.host,
            "shop/web",
            tag,
            "2026-01-01T00:00:00Z",
            None,
        );
    }
    let port = registry.host.rsplit_once(':').unwrap().1;
    let repository = format!("registry.test:{port}/shop/web");
    let proxy = common::proxy::ConnectProxy::start();
    let cluster = cluster();
    let repo = web_app(
        "default",
        &format!("{repository}:4.0.0"),
        &format!("repository: {repository}"),
    );
    let home = tempfile::tempdir().unwrap();
    let mut env = no_docker_config(home.path());
    env.extend([
        ("HTTPS_PROXY", proxy.url.clone()),
        ("NO_PROXY", String::new()),
        ("no_proxy", String::new()),
    ]);
    let untrusted = kpush(&cluster, &repo, &["diff", "--update-images"], &env);
    untrusted.expect_code(3);
    assert!(
        untrusted.stderr.contains("registry registry.test"),
        "{}",
        untrusted.stderr
    );
    env.push(("SSL_CERT_FILE", ca.clone()));
    let run = kpush(
        &cluster,
        &repo,
        &["diff", "--update-images", "-o", "json"],
        &env,
    );
    run.expect_code(0);
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        report["apps"][0]["images"][0],
        format!("{repository}:4.2.0"),
        "{}",
        run.all()
    );
    // The registry was reached through the proxy, and so was the cluster: NO_PROXY is empty.
    let api_port = cluster_port(&cluster);
    let connects = std::mem::take(&mut *proxy.connects.lock().unwrap());
    assert!(
        connects.contains(&format!("registry.test:{port}")),
        "{connects:?}"
    );
    assert!(
        connects
            .iter()
            .any(|c| c.ends_with(&format!(":{api_port}"))),
        "{connects:?}"
    );

    // NO_PROXY naming the API server's address keeps the cluster direct.
    for (name, value) in env.iter_mut() {
        if *name == "NO_PROXY" {
            *value = "127.0.0.1".to_string();
        }
    }
    kpush(&cluster, &repo, &["diff", "--update-images"], &env).expect_code(0);
    let connects = proxy.connects.lock().unwrap().clone();
    assert_eq!(connects, [format!("registry.test:{port}")]);
}

/// The port of the test cluster's API server.
fn cluster_port(cluster: &common::TestCluster) -> String {
    let kubeconfig = std::fs::read_to_string(&cluster.kubeconfig).unwrap();
    let server = kubeconfig
        .lines()
        .find_map(|l| l.trim().strip_prefix("server:"))
        .expect("a server in the kubeconfig")
        .trim()
        .trim_end_matches('/')
        .to_string();
    server.rsplit_once(':').unwrap().1.to_string()
}
