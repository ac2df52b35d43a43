//! Manifests as generators and chart authors write them: explicit zero values and defaults
//! everywhere the API allows them. What `kubectl apply --server-side` accepts, kpush deploys.

mod common;

use common::{GitRepo, TestCluster, cluster, server_minor, unique};

/// A Deployment with every boolean, number, string, list and map it may hold set to its zero
/// value or default, as generated manifests have them (`readOnly: false`,
/// `minReadySeconds: 0`, `hostNetwork: false`, `privileged: false`, `replicas: 0`).
const DEPLOYMENT: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: zero-deploy
  labels: {app: zero-deploy}
  annotations: {}
spec:
  replicas: 0
  minReadySeconds: 0
  revisionHistoryLimit: 0
  paused: false
  progressDeadlineSeconds: 600
  selector:
    matchLabels: {app: zero-deploy}
  strategy:
    type: RollingUpdate
    rollingUpdate: {maxSurge: 0, maxUnavailable: 1}
  template:
    metadata:
      labels: {app: zero-deploy}
      annotations: {}
    spec:
      hostNetwork: false
      hostPID: false
      hostIPC: false
      automountServiceAccountToken: false
      enableServiceLinks: false
      shareProcessNamespace: false
      terminationGracePeriodSeconds: 0
      dnsPolicy: ClusterFirst
      restartPolicy: Always
      schedulerName: default-scheduler
      securityContext: {runAsNonRoot: false, runAsUser: 0, runAsGroup: 0, fsGroup: 0, supplementalGroups: []}
      nodeSelector: {}
      tolerations: []
      imagePullSecrets: []
      initContainers: []
      volumes:
        - name: data
          emptyDir: {}
        - name: cfg
          configMap: {name: cfg, optional: false, defaultMode: 420}
        - name: secret
          secret: {secretName: s, optional: false}
      containers:
        - name: app
          image: registry.example/app:1
          imagePullPolicy: IfNotPresent
          args: []
          command: []
          env:
            - {name: EMPTY, value: \"\"}
          envFrom: []
          ports:
            - {containerPort: 8080, protocol: TCP, hostPort: 0, name: http}
          stdin: false
          stdinOnce: false
          tty: false
          workingDir: \"\"
          terminationMessagePath: /dev/termination-log
          terminationMessagePolicy: File
          resources: {limits: {}, requests: {}}
          volumeMounts:
            - {name: data, mountPath: /data, readOnly: false, subPath: \"\"}
            - {name: cfg, mountPath: /cfg, readOnly: true}
          securityContext:
            privileged: false
            readOnlyRootFilesystem: false
            allowPrivilegeEscalation: false
            runAsNonRoot: false
            capabilities: {add: [], drop: []}
          readinessProbe:
            tcpSocket: {port: 8080}
            initialDelaySeconds: 0
            timeoutSeconds: 1
            periodSeconds: 10
            successThreshold: 1
            failureThreshold: 3
";

const STATEFULSET: &str = "apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: zero-sts
spec:
  replicas: 0
  serviceName: zero-sts
  podManagementPolicy: OrderedReady
  revisionHistoryLimit: 0
  updateStrategy:
    type: RollingUpdate
    rollingUpdate: {partition: 0}
  selector:
    matchLabels: {app: zero-sts}
  volumeClaimTemplates: []
  template:
    metadata:
      labels: {app: zero-sts}
    spec:
      hostNetwork: false
      terminationGracePeriodSeconds: 0
      containers:
        - name: app
          image: registry.example/app:1
          securityContext: {privileged: false}
          volumeMounts: []
";

const DAEMONSET: &str = "apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: zero-ds
spec:
  minReadySeconds: 0
  revisionHistoryLimit: 0
  updateStrategy:
    type: RollingUpdate
    rollingUpdate: {maxUnavailable: 1}
  selector:
    matchLabels: {app: zero-ds}
  template:
    metadata:
      labels: {app: zero-ds}
    spec:
      hostNetwork: false
      hostPID: false
      tolerations: []
      containers:
        - name: app
          image: registry.example/app:1
          securityContext: {privileged: false, readOnlyRootFilesystem: false}
";

/// `ttlSecondsAfterFinished` is in the schema of every supported version, but 1.20 drops it
/// (its feature gate is off there): a field the server omits is not a typo.
const JOB: &str = "apiVersion: batch/v1
kind: Job
metadata:
  name: zero-job
spec:
  ttlSecondsAfterFinished: 600
  backoffLimit: 0
  parallelism: 1
  completions: 1
  manualSelector: false
  template:
    metadata: {}
    spec:
      restartPolicy: Never
      hostNetwork: false
      terminationGracePeriodSeconds: 0
      containers:
        - name: job
          image: registry.example/job:1
          args: []
          securityContext: {privileged: false}
";

/// `batch/v1` CronJobs are served from 1.21, `batch/v1beta1` until 1.24.
fn cronjob() -> String {
    let api = match server_minor() {
        Some(minor) if minor < 21 => "batch/v1beta1",
        _ => "batch/v1",
    };
    format!(
        "apiVersion: {api}
kind: CronJob
metadata:
  name: zero-cron
spec:
  schedule: \"0 3 * * *\"
  suspend: false
  concurrencyPolicy: Allow
  startingDeadlineSeconds: 0
  successfulJobsHistoryLimit: 0
  failedJobsHistoryLimit: 0
  jobTemplate:
    spec:
      backoffLimit: 0
      template:
        spec:
          restartPolicy: OnFailure
          hostNetwork: false
          containers:
            - name: job
              image: registry.example/job:1
              securityContext: {{privileged: false}}
"
    )
}

const SERVICE: &str = "apiVersion: v1
kind: Service
metadata:
  name: zero-svc
spec:
  type: ClusterIP
  selector: {app: zero-deploy}
  sessionAffinity: None
  publishNotReadyAddresses: false
  ports:
    - {name: http, port: 80, targetPort: 8080, protocol: TCP}
";

const CONFIGMAP: &str = "apiVersion: v1
kind: ConfigMap
metadata:
  name: cfg
  labels: {}
immutable: false
data:
  empty: \"\"
binaryData: {}
";

/// A CRD whose `spec.config` keeps whatever it is given (`x-kubernetes-preserve-unknown-fields`),
/// as operators' CRDs do for embedded configuration.
fn crd(group: &str) -> String {
    common::crd(
        group,
        "Gadget",
        "type: object
properties:
  enabled: {type: boolean}
  count: {type: integer}
  name: {type: string}
  tags: {type: array, items: {type: string}}
  config:
    type: object
    x-kubernetes-preserve-unknown-fields: true
",
    )
}

fn gadget(group: &str) -> String {
    // A 1.20 server turns an empty string of a custom resource into null and refuses it,
    // whoever applies it (kubectl too).
    let name = match server_minor() {
        Some(minor) if minor < 21 => "",
        _ => "\n  name: \"\"",
    };
    format!(
        "apiVersion: {group}/v1
kind: Gadget
metadata:
  name: zero-gadget
spec:
  enabled: false
  count: 0{name}
  tags: []
  config:
    anything: {{nested: [1, 2], off: false, zero: 0}}
"
    )
}

/// Writes the corpus under `app/` and the CRD under `crd/`.
fn corpus(repo: &GitRepo, group: &str) {
    repo.write("crd/gadgets.yaml", crd(group))
        .write("app/deployment.yaml", DEPLOYMENT)
        .write("app/statefulset.yaml", STATEFULSET)
        .write("app/daemonset.yaml", DAEMONSET)
        .write("app/job.yaml", JOB)
        .write("app/cronjob.yaml", cronjob())
        .write("app/service.yaml", SERVICE)
        .write("app/configmap.yaml", CONFIGMAP)
        .write("app/gadget.yaml", gadget(group))
        .commit("manifests as generators write them");
}

/// The corpus in a repository, with its CRD (in a group of its own, removed when the guard
/// drops) deployed.
fn corpus_with_its_crd(cluster: &TestCluster) -> (String, GitRepo, common::Cleanup<'_>) {
    let group = format!("{}.kpush.dev", unique("z"));
    let crd = cluster.cleanup("crd", &format!("gadgets.{group}"));
    let repo = GitRepo::new();
    corpus(&repo, &group);
    cluster
        .kpush(repo.path(), &["apply", "crd", "--no-wait"])
        .expect_code(0);
    (group, repo, crd)
}

#[test]
fn zero_values_and_defaults_deploy_and_diff_clean() {
    let cluster = cluster();
    let ns = cluster.namespace("kp-zero");
    let (group, repo, _crd) = corpus_with_its_crd(&cluster);
    let run = cluster.kpush(repo.path(), &["apply", "app", "-n", &ns.name, "--no-wait"]);
    run.expect_code(0);
    assert!(!run.all().contains("dropped"), "{}", run.all());
    // Deployed as declared, and nothing is left to change.
    let deployment = cluster
        .get("deployment", Some(&ns.name), "zero-deploy")
        .expect("deployed");
    assert_eq!(deployment["spec"]["replicas"], 0);
    let gadget = cluster
        .get(&format!("gadgets.{group}"), Some(&ns.name), "zero-gadget")
        .expect("deployed");
    assert_eq!(gadget["spec"]["config"]["anything"]["off"], false);
    cluster
        .kpush(repo.path(), &["diff", "app", "-n", &ns.name, "--exit-code"])
        .expect_code(0);
    cluster
        .kpush(
            repo.path(),
            &[
                "diff",
                "app",
                "-n",
                &ns.name,
                "--exit-code",
                "--verify-unchanged",
            ],
        )
        .expect_code(0);
}

#[test]
fn what_kubectl_server_side_apply_accepts_kpush_accepts() {
    let cluster = cluster();
    let ours = cluster.namespace("kp-fid-kpush");
    let theirs = cluster.namespace("kp-fid-kubectl");
    let (_, repo, _crd) = corpus_with_its_crd(&cluster);
    let app = repo.path().join("app");
    let kubectl = cluster.kubectl(&[
        "apply",
        "--server-side",
        "-n",
        &theirs.name,
        "-f",
        app.to_str().unwrap(),
    ]);
    kubectl.expect_code(0);
    let kpush = cluster.kpush(
        repo.path(),
        &["apply", "app", "-n", &ours.name, "--no-wait"],
    );
    kpush.expect_code(0);
    // Both hold the same objects.
    for (kind, name) in [
        ("deployment", "zero-deploy"),
        ("statefulset", "zero-sts"),
        ("daemonset", "zero-ds"),
        ("job", "zero-job"),
        ("cronjob", "zero-cron"),
        ("service", "zero-svc"),
        ("configmap", "cfg"),
    ] {
        assert!(
            cluster.get(kind, Some(&theirs.name), name).is_some(),
            "{kind}"
        );
        assert!(
            cluster.get(kind, Some(&ours.name), name).is_some(),
            "{kind}"
        );
    }
}
