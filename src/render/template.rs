//! `.j2` files: minijinja templates rendered to manifests. Strict about undefined values,
//! no HTML escaping (the output is YAML), includes and imports only from the same git tree,
//! and bounded work so a template cannot loop forever.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use minijinja::value::Serde;
use minijinja::{AutoEscape, Environment, Error, ErrorKind, UndefinedBehavior, Value, context};

use super::Problem;
use crate::object::Origin;
use crate::source::CommitInfo;

/// What a template sees besides its values.
#[derive(Debug, Clone, Default)]
pub struct TemplateContext {
    pub values: serde_json::Value,
    pub git: Option<CommitInfo>,
    pub env: Option<String>,
    pub app: String,
    pub images: BTreeMap<String, String>,
    /// Only the process environment variables the config lists (`templateEnv`).
    pub env_vars: BTreeMap<String, String>,
}

/// Enough for any real template; a runaway loop or recursion stops with an error instead.
const FUEL: u64 = 50_000_000;

/// Renders templates found in `files` (repository-relative path → text).
pub struct Templates {
    env: Environment<'static>,
}

/// Reads a template or an included file by its repository-relative path, on demand.
pub type TemplateFiles = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

impl Templates {
    pub fn new(files: TemplateFiles) -> Templates {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_auto_escape_callback(|_| AutoEscape::None);
        // YAML documents end in a newline; keep it so concatenated output stays well-formed.
        if let Ok(syntax) = minijinja::syntax::SyntaxConfig::builder()
            .keep_trailing_newline(true)
            .build()
        {
            env.set_syntax(syntax);
        }
        env.set_fuel(Some(FUEL));
        env.set_path_join_callback(|name, parent| join(parent, name).into());
        env.set_loader(move |name| {
            if name.starts_with("../") || name.starts_with('/') {
                return Err(Error::new(
                    ErrorKind::InvalidOperation,
                    format!("`{name}` is outside the repository; templates may only include files of the same commit"),
                ));
            }
            Ok(files(name))
        });
        env.add_filter("b64encode", |s: String| STANDARD.encode(s));
        env.add_filter("b64decode", b64decode);
        env.add_filter("to_yaml", to_yaml);
        env.add_filter("to_json", to_json);
        env.add_filter("sha256", |s: String| {
            crate::digest::sha256_hex(s.as_bytes())
        });
        env.add_filter("quote", |s: String| {
            serde_json::to_string(&s).unwrap_or_else(|_| format!("\"{s}\""))
        });
        env.add_filter("required", required);
        env.add_function("required", required);
        Templates { env }
    }

    /// Renders the template at `path`; errors name the template (or the included file) and
    /// the line.
    pub fn render(&self, path: &Path, ctx: &TemplateContext) -> Result<String, Problem> {
        let name = path.to_string_lossy().replace('\\', "/");
        let git = ctx.git.as_ref().map(|g| Value::from(Serde(g)));
        let result = self.env.get_template(&name).and_then(|t| {
            t.render(context! {
                values => Value::from(Serde(&ctx.values)),
                git => git,
                env => &ctx.env,
                app => &ctx.app,
                images => Value::from(Serde(&ctx.images)),
                env_vars => Value::from(Serde(&ctx.env_vars)),
            })
        });
        result.map_err(|e| problem(path, &e))
    }
}

fn problem(path: &Path, error: &Error) -> Problem {
    let file = error
        .name()
        .map(PathBuf::from)
        .unwrap_or_else(|| path.to_path_buf());
    // An error in an included template comes wrapped once per include level (hundreds for an
    // include of itself); the innermost one says what is wrong, and where.
    let mut root = error;
    let mut depth = 0;
    let mut other = None;
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        match cause.downcast_ref::<Error>() {
            Some(inner) => {
                root = inner;
                depth += 1;
            }
            None => {
                other = Some(cause);
                break;
            }
        }
        source = cause.source();
    }
    let what = match (root.kind(), root.detail()) {
        (ErrorKind::UndefinedError, None) => "undefined value (a value the template uses is not \
             set; check the values files and --set)"
            .to_string(),
        (ErrorKind::OutOfFuel, _) => {
            "the template did too much work (an endless loop or recursion?)".to_string()
        }
        (_, Some(detail)) if detail.contains("recursion limit exceeded") => {
            "recursion limit exceeded (a macro or include that calls itself?)".to_string()
        }
        (_, Some(detail)) => detail.to_string(),
        (kind, None) => kind.to_string(),
    };
    let mut message = format!("template error: {what}");
    if depth > 0
        && let Some(name) = root.name()
    {
        message.push_str(&format!(" (in {name}:{}", root.line().unwrap_or(0)));
        if depth > 1 {
            message.push_str(&format!(", {depth} includes deep"));
        }
        message.push(')');
    }
    let mut source = other;
    while let Some(cause) = source {
        message.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    Problem {
        origin: Origin {
            file,
            line: error.line().unwrap_or(0) as u64,
        },
        column: None,
        message,
    }
}

/// Resolves an include relative to the including template; `..` that climbs out of the
/// repository is kept so the loader refuses it.
fn join(parent: &str, name: &str) -> String {
    if name.starts_with('/') {
        return name.to_string();
    }
    let base = Path::new(parent).parent().unwrap_or(Path::new(""));
    let mut parts: Vec<String> = Vec::new();
    let mut escaped = false;
    for component in base.join(name).components() {
        match component {
            Component::Normal(c) => parts.push(c.to_string_lossy().into_owned()),
            Component::ParentDir if parts.pop().is_none() => escaped = true,
            _ => {}
        }
    }
    let joined = parts.join("/");
    if escaped {
        format!("../{joined}")
    } else {
        joined
    }
}

fn b64decode(s: String) -> Result<String, Error> {
    let bytes = STANDARD
        .decode(s.trim())
        .map_err(|e| Error::new(ErrorKind::InvalidOperation, format!("b64decode: {e}")))?;
    String::from_utf8(bytes).map_err(|_| {
        Error::new(
            ErrorKind::InvalidOperation,
            "b64decode: the result is not UTF-8 text",
        )
    })
}

fn to_yaml(value: Value) -> Result<String, Error> {
    let json: serde_json::Value = serde_json::to_value(&value)
        .map_err(|e| Error::new(ErrorKind::InvalidOperation, format!("to_yaml: {e}")))?;
    let text = serde_saphyr::to_string(&json)
        .map_err(|e| Error::new(ErrorKind::InvalidOperation, format!("to_yaml: {e}")))?;
    Ok(text.trim_end_matches('\n').to_string())
}

fn to_json(value: Value) -> Result<String, Error> {
    serde_json::to_string(&value)
        .map_err(|e| Error::new(ErrorKind::InvalidOperation, format!("to_json: {e}")))
}

fn required(value: Value, message: Option<String>) -> Result<Value, Error> {
    let missing =
        value.is_undefined() || value.is_none() || value.as_str().is_some_and(str::is_empty);
    if missing {
        Err(Error::new(
            ErrorKind::InvalidOperation,
            message.unwrap_or_else(|| "a required value is missing".into()),
        ))
    } else {
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn templates(files: &[(&str, &str)]) -> Templates {
        let files: BTreeMap<String, String> = files
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Templates::new(Arc::new(move |name: &str| files.get(name).cloned()))
    }

    fn ctx(values: serde_json::Value) -> TemplateContext {
        TemplateContext {
            values,
            app: "web".into(),
            env: Some("dev".into()),
            git: Some(CommitInfo {
                sha: "0123456789abcdef".into(),
                short_sha: "0123456".into(),
                ..CommitInfo::default()
            }),
            ..TemplateContext::default()
        }
    }

    #[test]
    fn renders_values_git_and_filters() {
        let t = templates(&[(
            "apps/web/cm.yaml.j2",
            "name: {{ app }}-{{ env }}\nsha: {{ git.short_sha }}\nreplicas: {{ values.replicas }}\n\
             token: {{ 'secret' | b64encode }}\nplain: {{ 'c2VjcmV0' | b64decode }}\n\
             sum: {{ 'x' | sha256 }}\nq: {{ 'a: b' | quote }}\nlabels:\n  {{ values.labels | to_yaml | indent(2) }}\n",
        )]);
        let out = t
            .render(
                Path::new("apps/web/cm.yaml.j2"),
                &ctx(json!({"replicas": 2, "labels": {"a": "1", "b": "2"}})),
            )
            .unwrap();
        assert!(out.contains("name: web-dev\n"), "{out}");
        assert!(out.contains("sha: 0123456\n"));
        assert!(out.contains("replicas: 2\n"));
        assert!(out.contains("token: c2VjcmV0\n"));
        assert!(out.contains("plain: secret\n"));
        assert!(
            out.contains("sum: 2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881\n")
        );
        assert!(out.contains("q: \"a: b\"\n"));
        assert!(
            out.contains("labels:\n  a: '1'\n  b: '2'\n")
                || out.contains("labels:\n  a: \"1\"\n  b: \"2\"\n"),
            "{out}"
        );
    }

    #[test]
    fn undefined_values_name_file_and_line() {
        let t = templates(&[("app/d.yaml.j2", "a: 1\nb: {{ values.missing }}\n")]);
        let p = t
            .render(Path::new("app/d.yaml.j2"), &ctx(json!({})))
            .unwrap_err();
        assert_eq!(p.origin.to_string(), "app/d.yaml.j2:2");
        assert!(p.message.contains("undefined"), "{}", p.message);
        let t = templates(&[(
            "app/r.yaml.j2",
            "a: {{ values.tag | required('set values.tag') }}\n",
        )]);
        let p = t
            .render(Path::new("app/r.yaml.j2"), &ctx(json!({"tag": ""})))
            .unwrap_err();
        assert!(p.message.contains("set values.tag"), "{}", p.message);
    }

    #[test]
    fn includes_and_macros_come_from_the_same_tree() {
        let t = templates(&[
            (
                "lib/macros.j2",
                "{% macro label(k, v) %}{{ k }}: {{ v }}{% endmacro %}",
            ),
            ("apps/web/part.j2", "included: yes"),
            (
                "apps/web/m.yaml.j2",
                "{% import '../../lib/macros.j2' as m %}{{ m.label('x', 1) }}\n{% include 'part.j2' %}\n",
            ),
            (
                "apps/web/evil.yaml.j2",
                "{% include '../../../etc/passwd' %}",
            ),
            ("apps/web/abs.yaml.j2", "{% include '/etc/passwd' %}"),
        ]);
        let out = t
            .render(Path::new("apps/web/m.yaml.j2"), &ctx(json!({})))
            .unwrap();
        assert_eq!(out, "x: 1\nincluded: yes\n");
        for evil in ["apps/web/evil.yaml.j2", "apps/web/abs.yaml.j2"] {
            let p = t.render(Path::new(evil), &ctx(json!({}))).unwrap_err();
            assert!(
                p.message.contains("outside the repository"),
                "{evil}: {}",
                p.message
            );
        }
    }

    #[test]
    fn endless_recursion_is_stopped() {
        let t = templates(&[(
            "a.yaml.j2",
            "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}",
        )]);
        let p = t
            .render(Path::new("a.yaml.j2"), &ctx(json!({})))
            .unwrap_err();
        assert!(p.message.contains("calls itself"), "{}", p.message);
    }

    #[test]
    fn errors_in_includes_say_where_once() {
        let t = templates(&[
            ("app/self.yaml.j2", "a: 1\n{% include 'self.yaml.j2' %}\n"),
            ("app/a.yaml.j2", "x: 1\n{% include 'lib/b.j2' %}\n"),
            ("app/lib/b.j2", "y: 1\nz: {{ values.missing }}\n"),
        ]);
        let p = t
            .render(Path::new("app/self.yaml.j2"), &ctx(json!({})))
            .unwrap_err();
        assert_eq!(p.origin.to_string(), "app/self.yaml.j2:2");
        assert!(p.message.contains("calls itself"), "{}", p.message);
        assert!(p.message.len() < 200, "{}", p.message);
        let p = t
            .render(Path::new("app/a.yaml.j2"), &ctx(json!({})))
            .unwrap_err();
        assert_eq!(p.origin.to_string(), "app/a.yaml.j2:2");
        assert_eq!(
            p.message,
            "template error: `values.missing` is undefined (in app/lib/b.j2:2)"
        );
    }
}
