//! Manifest adjustments that keep server-side apply working on every supported server without
//! changing what is deployed.

use serde_json::Value;

/// Port lists are keyed by port *and* protocol under server-side apply, and servers before
/// 1.21 refuse an entry without `protocol` ("associative list with keys has an element that
/// omits key field"). The server defaults it to TCP anyway, so kpush writes that default.
pub fn fill_port_protocols(object: &mut Value) {
    let kind = object["kind"].as_str().unwrap_or("").to_string();
    // Indexing a JSON value mutably inserts missing keys: walk with `pointer_mut` instead.
    if kind == "Service" {
        if let Some(ports) = object.pointer_mut("/spec/ports") {
            fill(ports);
        }
        return;
    }
    let Some(pod_spec) = crate::object::pod_spec_pointer(&kind) else {
        return;
    };
    let Some(spec) = object.pointer_mut(pod_spec) else {
        return;
    };
    for list in ["containers", "initContainers"] {
        let containers = spec.get_mut(list).and_then(Value::as_array_mut);
        for container in containers.into_iter().flatten() {
            if let Some(ports) = container.get_mut("ports") {
                fill(ports);
            }
        }
    }
}

fn fill(ports: &mut Value) {
    if let Some(ports) = ports.as_array_mut() {
        for port in ports.iter_mut() {
            if let Some(port) = port.as_object_mut()
                && port.get("protocol").is_none_or(Value::is_null)
            {
                port.insert("protocol".into(), Value::String("TCP".into()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ports_get_the_default_protocol() {
        let mut svc = json!({"kind": "Service", "spec": {"ports": [{"port": 80}, {"port": 53, "protocol": "UDP"}]}});
        fill_port_protocols(&mut svc);
        assert_eq!(
            svc["spec"]["ports"],
            json!([{"port": 80, "protocol": "TCP"}, {"port": 53, "protocol": "UDP"}])
        );

        let mut deploy = json!({"kind": "Deployment", "spec": {"template": {"spec": {
            "containers": [{"name": "a", "ports": [{"containerPort": 8080}]}, {"name": "b"}]}}}});
        fill_port_protocols(&mut deploy);
        assert_eq!(
            deploy["spec"]["template"]["spec"]["containers"][0]["ports"][0]["protocol"],
            "TCP"
        );
        assert!(
            deploy["spec"]["template"]["spec"]["containers"][1]
                .get("ports")
                .is_none()
        );

        let mut cm = json!({"kind": "ConfigMap", "data": {"ports": "80"}});
        let before = cm.clone();
        fill_port_protocols(&mut cm);
        assert_eq!(cm, before);
    }
}
