//! Admission policies a test puts in force in its namespace.

use super::{Cleanup, TestCluster, server_minor_of, unique, until};

/// A ValidatingAdmissionPolicy refusing, in `namespace`, what `rule` matches unless
/// `expression` holds; `None` on servers without admission policies. Deleted on drop. It is
/// in force once a ConfigMap with `value: v` is refused, which every policy here refuses.
pub fn refuse<'a>(
    cluster: &'a TestCluster,
    namespace: &str,
    rule: &str,
    expression: &str,
    message: &str,
) -> Option<(Cleanup<'a>, Cleanup<'a>)> {
    // admissionregistration.k8s.io/v1 policies are served from 1.30.
    if server_minor_of(cluster) < 30 {
        return None;
    }
    let policy = unique("kp-refuse");
    let guards = (
        cluster.cleanup("validatingadmissionpolicy", &policy),
        cluster.cleanup("validatingadmissionpolicybinding", &policy),
    );
    let manifests = format!(
        "apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {{name: {policy}}}
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
      - {{{rule}}}
  validations:
    - expression: {expression:?}
      message: {message}
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {{name: {policy}}}
spec:
  policyName: {policy}
  validationActions: [Deny]
  matchResources:
    namespaceSelector:
      matchLabels: {{kubernetes.io/metadata.name: {namespace}}}
"
    );
    cluster.apply_yaml(manifests, &[]);
    // Policies take effect a moment after they are created.
    until(
        "the policy to refuse",
        std::time::Duration::from_secs(30),
        || {
            cluster
                .kubectl(&[
                    "create",
                    "configmap",
                    "probe",
                    "--from-literal=value=v",
                    "--dry-run=server",
                    "-n",
                    namespace,
                ])
                .code
                != 0
        },
    );
    Some(guards)
}
