//! Go `text/template`, as ApplicationSets with `goTemplate: true` use it: the language, Go's
//! builtins, Sprig's functions less those Argo CD removes, and Argo CD's own (`normalize`,
//! `slugify`, `toYaml`, `fromYaml`, `fromYamlArray`, `tpl`).
//!
//! Pure and in-process. Data behaves as it does in Argo CD, where generator parameters come
//! from JSON: every number is a float64 and prints as Go prints one (`1e+06`), while numbers
//! written in a template are ints. Functions are resolved when a template is parsed, so an
//! unknown one fails even in a branch never taken. What kpush does not implement (dates,
//! random values, a few Sprig functions) is refused by name, never rendered differently.
//! Sprig's `keys` and `values` come out sorted by key, where Go's order is random.
//!
//! A render is bounded: nesting, `{{template}}`/`tpl` depth, `range` over a number, and the
//! size of what it writes have limits, so a template cannot exhaust the stack or memory.

mod exec;
mod lex;
mod parse;
mod printf;
mod semver;
mod sprig;
mod text;
mod value;
mod yaml;

/// Argo CD's `normalize`, also its `…Normalized` generator parameters.
pub use text::normalize;

#[cfg(test)]
mod tests;

/// `goTemplateOptions` of an ApplicationSet: only `missingkey=error` (and `missingkey=default`/`missingkey=zero`/`missingkey=invalid`) matter.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Options {
    pub missing_key_error: bool,
}

impl Options {
    /// Go's `Template.Option` values; the last `missingkey` wins.
    pub fn parse(options: &[String]) -> Result<Options, String> {
        let mut parsed = Options::default();
        for option in options {
            parsed.missing_key_error = match option.as_str() {
                "missingkey=error" => true,
                // with map data `zero` prints `<no value>` as the default does; Go differs only
                // in failing on a field of a missing key (`.nope.x`), which renders empty here
                "missingkey=default" | "missingkey=invalid" | "missingkey=zero" => false,
                other => {
                    return Err(format!(
                        "unknown goTemplateOptions entry `{other}` (Go templates know missingkey=default, invalid, zero and error)"
                    ));
                }
            };
        }
        Ok(parsed)
    }
}

/// Renders `template` with `data` as dot. An error names the expression (the `{{ … }}` action text) and why, e.g. "`{{ .path.nope | upper }}`: map has no entry for key \"nope\"" or "function `env` is not available in ApplicationSet templates".
pub fn render(
    template: &str,
    data: &serde_json::Value,
    options: &Options,
) -> Result<String, String> {
    let tree = parse::parse(template)?;
    exec::execute(tree, value::Value::from_json(data), options)
}
