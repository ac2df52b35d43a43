//! A directory source's `*.jsonnet` files, evaluated as Argo CD evaluates them: each file with
//! the app's `directory.jsonnet` external variables and top-level arguments (their values after
//! Argo CD's build-environment substitution), imports read from the commit beside the importing
//! file, then in the library paths (the last first), then in the app's directory. A file's value
//! is an object or a list of objects; each becomes a manifest of that file.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use rsjsonnet_lang::arena::Arena;
use rsjsonnet_lang::interner::InternedStr;
use rsjsonnet_lang::program::{
    Callbacks, EvalError, EvalErrorKind, EvalErrorValueType, EvalStackTraceItem, ImportError,
    LoadError, NativeError, Program, Thunk, Value,
};
use rsjsonnet_lang::span::{SourceId, SpanContext, SpanId};
use serde_json::Value as Json;

use super::spec::RenderSpec;
use super::{Manifest, Problem};
use crate::config::JsonnetVar;
use crate::input::Document;
use crate::object::Origin;
use crate::source::{EntryKind, Snapshot, SourceFile};

/// Whether `path` is a Jsonnet file Argo CD renders (`*.libsonnet` files are only imported).
pub fn is_jsonnet(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "jsonnet")
}

/// The manifests of every file of `files`, in their order, and the problems found.
pub fn render(
    snapshot: &Snapshot,
    spec: &RenderSpec,
    files: &[&SourceFile],
) -> (Vec<Manifest>, Vec<Problem>) {
    let mut manifests = Vec::new();
    let mut problems = Vec::new();
    if files.is_empty() {
        return (manifests, problems);
    }
    let settings = &spec.directory.jsonnet;
    let env = BuildEnv::of(snapshot, spec);
    let substituted = |vars: &[JsonnetVar], field: &str, problems: &mut Vec<Problem>| {
        let mut out: Vec<JsonnetVar> = Vec::new();
        for var in vars {
            match env.substitute(&var.value) {
                Ok(value) => {
                    // Argo CD keeps the last of two with one name.
                    out.retain(|v| v.name != var.name);
                    out.push(JsonnetVar {
                        value,
                        ..var.clone()
                    });
                }
                Err(unknown) => problems.push(Problem {
                    origin: Origin {
                        file: spec.path.clone(),
                        line: 0,
                    },
                    column: None,
                    message: format!(
                        "`directory.jsonnet.{field}` `{}` names `${{{unknown}}}`, which kpush does not know (it has no Argo CD project)\nhint: write the value itself",
                        var.name
                    ),
                }),
            }
        }
        out
    };
    let ext_vars = substituted(&settings.ext_vars, "extVars", &mut problems);
    let tlas = substituted(&settings.tlas, "tlas", &mut problems);
    if !problems.is_empty() {
        return (manifests, problems);
    }
    let mut search: Vec<PathBuf> = settings
        .libs
        .iter()
        .rev()
        .map(|lib| super::reads::lexical(Path::new(lib.trim_start_matches('/'))))
        .collect();
    search.push(spec.path.clone());

    let arena = Arena::new();
    let mut vm = Vm {
        program: Program::new(&arena),
        files: Files {
            snapshot,
            search,
            sources: HashMap::new(),
            imported: HashMap::new(),
            failed: None,
        },
        tlas: None,
    };
    if let Err(problem) = vm.ext_vars(&ext_vars) {
        problems.push(problem);
        return (manifests, problems);
    }
    for file in files {
        match vm.evaluate(file, &tlas) {
            Ok(json) => objects(&file.path, json, &mut manifests, &mut problems),
            Err(problem) => problems.push(problem),
        }
        vm.program.maybe_gc();
    }
    (manifests, problems)
}

/// Argo CD's build environment, substituted into external variables and top-level arguments
/// as Go's `os.Expand` does: `$NAME` and `${NAME}`, `$$` for a `$`, any other name empty.
struct BuildEnv {
    vars: Vec<(&'static str, String)>,
}

impl BuildEnv {
    fn of(snapshot: &Snapshot, spec: &RenderSpec) -> BuildEnv {
        let sha = snapshot
            .commit
            .as_ref()
            .map(|c| c.sha.clone())
            .unwrap_or_default();
        let short = |n: usize| sha.chars().take(n).collect::<String>();
        BuildEnv {
            vars: vec![
                ("ARGOCD_APP_NAME", spec.app.clone()),
                (
                    "ARGOCD_APP_NAMESPACE",
                    spec.namespace.clone().unwrap_or_default(),
                ),
                ("ARGOCD_APP_REVISION", sha.clone()),
                ("ARGOCD_APP_REVISION_SHORT", short(7)),
                ("ARGOCD_APP_REVISION_SHORT_8", short(8)),
                (
                    "ARGOCD_APP_SOURCE_REPO_URL",
                    snapshot.origin_url().unwrap_or_default(),
                ),
                (
                    "ARGOCD_APP_SOURCE_PATH",
                    spec.path.to_string_lossy().into_owned(),
                ),
                (
                    "ARGOCD_APP_SOURCE_TARGET_REVISION",
                    snapshot.revision_name(),
                ),
            ],
        }
    }

    /// `text` with the variables substituted, or the name of one kpush cannot fill.
    fn substitute(&self, text: &str) -> Result<String, String> {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(at) = rest.find('$') {
            out.push_str(&rest[..at]);
            let after = &rest[at + 1..];
            if after.is_empty() {
                out.push('$');
                rest = after;
                break;
            }
            let (name, width) = shell_name(after);
            match name {
                // `${}` and an unclosed `${`: Go drops them.
                None if width > 0 => {}
                // A `$` before anything else stays.
                None => out.push('$'),
                Some("$") => out.push('$'),
                Some("ARGOCD_APP_PROJECT_NAME") => return Err("ARGOCD_APP_PROJECT_NAME".into()),
                Some(name) => {
                    if let Some((_, value)) = self.vars.iter().find(|(n, _)| *n == name) {
                        out.push_str(value);
                    }
                }
            }
            rest = &after[width..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

/// Go's `getShellName`: the name after a `$` and how many bytes it takes.
fn shell_name(s: &str) -> (Option<&str>, usize) {
    let bytes = s.as_bytes();
    let special = |c: u8| b"*#$@!?-0123456789".contains(&c);
    if bytes[0] == b'{' {
        if bytes.len() > 2 && special(bytes[1]) && bytes[2] == b'}' {
            return (Some(&s[1..2]), 3);
        }
        return match s[1..].find('}') {
            Some(0) => (None, 2),
            Some(end) => (Some(&s[1..=end]), end + 2),
            None => (None, 1),
        };
    }
    if special(bytes[0]) {
        return (Some(&s[..1]), 1);
    }
    let end = bytes
        .iter()
        .position(|c| !(c.is_ascii_alphanumeric() || *c == b'_'))
        .unwrap_or(bytes.len());
    if end == 0 {
        (None, 0)
    } else {
        (Some(&s[..end]), end)
    }
}

struct Vm<'p, 's> {
    program: Program<'p>,
    files: Files<'p, 's>,
    /// The top-level arguments, made once for every file that is a function.
    tlas: Option<Vec<(InternedStr<'p>, Thunk<'p>)>>,
}

/// What a source of the program is, for error locations and relative imports.
struct Loaded {
    /// Repository-relative path of a file, or the setting a snippet came from.
    name: PathBuf,
    bytes: Vec<u8>,
    /// A file of the commit, whose directory its imports are relative to (not a snippet).
    file: bool,
}

/// Reads imports from the commit, never the disk.
struct Files<'p, 's> {
    snapshot: &'s Snapshot,
    /// Library paths to search after the importing file's directory, in order.
    search: Vec<PathBuf>,
    sources: HashMap<SourceId, Loaded>,
    imported: HashMap<PathBuf, Thunk<'p>>,
    /// Why the last import failed, for the error the evaluator then reports.
    failed: Option<Problem>,
}

impl<'p> Vm<'p, '_> {
    fn ext_vars(&mut self, vars: &[JsonnetVar]) -> Result<(), Problem> {
        for var in vars {
            let thunk = self.argument(var, "extVars")?;
            let name = self.program.intern_str(&var.name);
            self.program.add_ext_var(name, &thunk);
        }
        Ok(())
    }

    /// A string, or Jsonnet code (evaluated when first used) when `code`.
    fn argument(&mut self, var: &JsonnetVar, field: &str) -> Result<Thunk<'p>, Problem> {
        if !var.code {
            return Ok(self.program.value_to_thunk(&Value::string(&var.value)));
        }
        let name = PathBuf::from(format!("directory.jsonnet.{field} `{}`", var.name));
        self.load(name, var.value.clone().into_bytes(), false)
            .map_err(|e| self.files.load_problem(&self.program, &e))
    }

    fn load(&mut self, name: PathBuf, bytes: Vec<u8>, file: bool) -> Result<Thunk<'p>, LoadError> {
        load(&mut self.program, &mut self.files, name, bytes, file)
    }

    /// The file's value as JSON text, called with the top-level arguments when a function.
    fn evaluate(&mut self, file: &SourceFile, tlas: &[JsonnetVar]) -> Result<String, Problem> {
        if file.bytes.len() > crate::input::MAX_FILE_BYTES {
            return Err(problem_at(
                &file.path,
                0,
                format!(
                    "the file is larger than {} MiB\nhint: split it into several files",
                    crate::input::MAX_FILE_BYTES / (1024 * 1024)
                ),
            ));
        }
        self.files.failed = None;
        let thunk = match self.load(file.path.clone(), file.bytes.clone(), true) {
            Ok(thunk) => thunk,
            Err(e) => return Err(self.files.load_problem(&self.program, &e)),
        };
        let mut value = self
            .program
            .eval_value(&thunk, &mut self.files)
            .map_err(|e| self.files.eval_problem(&self.program, &file.path, &e))?;
        // A file whose value is a function is called with the top-level arguments, as
        // go-jsonnet calls it (with none when there are none).
        if value.is_function() {
            if self.tlas.is_none() {
                let mut args = Vec::new();
                for var in tlas {
                    let thunk = self.argument(var, "tlas")?;
                    args.push((self.program.intern_str(&var.name), thunk));
                }
                self.tlas = Some(args);
            }
            let function = self.program.value_to_thunk(&value);
            let args = self.tlas.clone().unwrap_or_default();
            value = self
                .program
                .eval_call(&function, &[], &args, &mut self.files)
                .map_err(|e| self.files.eval_problem(&self.program, &file.path, &e))?;
        }
        self.program
            .manifest_json(&value, false)
            .map_err(|e| self.files.eval_problem(&self.program, &file.path, &e))
    }
}

fn load<'p>(
    program: &mut Program<'p>,
    files: &mut Files<'p, '_>,
    name: PathBuf,
    bytes: Vec<u8>,
    file: bool,
) -> Result<Thunk<'p>, LoadError> {
    let (context, source) = program
        .span_manager_mut()
        .insert_source_context(bytes.len());
    let this_file = name.to_string_lossy().into_owned();
    let loaded = program.load_source(context, &bytes, true, &this_file);
    files.sources.insert(source, Loaded { name, bytes, file });
    loaded
}

impl<'p> Files<'p, '_> {
    /// Where `path`, imported from the source of `from`, is in the commit: beside the importing
    /// file, then in the library paths.
    fn resolve(&self, program: &Program<'p>, from: SpanId, path: &str) -> Result<PathBuf, String> {
        if path.is_empty() {
            return Err("an empty import path".into());
        }
        if Path::new(path).is_absolute() {
            return Err(format!(
                "`{path}` is an absolute path: kpush reads imports from the commit, relative to the importing file or a library path"
            ));
        }
        let beside = self
            .source_of(program, from)
            .filter(|l| l.file)
            .map(|l| l.name.parent().unwrap_or(Path::new("")).to_path_buf());
        let mut outside = false;
        for dir in beside.iter().chain(&self.search) {
            let Some(candidate) = crate::source::inside_repository(&dir.join(path)) else {
                outside = true;
                continue;
            };
            match self.snapshot.kind(&candidate) {
                Ok(Some(EntryKind::File)) => return Ok(candidate),
                Ok(Some(EntryKind::Dir)) => {
                    return Err(format!("`{}` is a directory", candidate.display()));
                }
                Ok(None) => {}
                Err(e) => return Err(e.to_string()),
            }
        }
        let searched: Vec<String> = beside
            .iter()
            .chain(&self.search)
            .map(|d| format!("`{}/`", d.display()))
            .collect();
        Err(format!(
            "`{path}` is in none of {} in this commit{}",
            searched.join(", "),
            if outside {
                " (a path that leaves the repository is never read)"
            } else {
                ""
            }
        ))
    }

    fn read(
        &mut self,
        program: &Program<'p>,
        from: SpanId,
        path: &str,
    ) -> Result<(PathBuf, Vec<u8>), ImportError> {
        let fail = |files: &mut Self, message: String| {
            let (file, line) = files.location(program, from);
            files.failed = Some(problem_at(
                &file,
                line,
                format!(
                    "import failed: {message}\nhint: imports are read from the commit: beside the importing file, then in `directory.jsonnet.libs` (relative to the repository root, the last first), then in the app's directory"
                ),
            ));
            ImportError
        };
        let found = match self.resolve(program, from, path) {
            Ok(found) => found,
            Err(message) => return Err(fail(self, message)),
        };
        match self.snapshot.read(&found) {
            Ok(Some(bytes)) if bytes.len() <= crate::input::MAX_FILE_BYTES => Ok((found, bytes)),
            Ok(Some(_)) => Err(fail(
                self,
                format!(
                    "`{}` is larger than {} MiB",
                    found.display(),
                    crate::input::MAX_FILE_BYTES / (1024 * 1024)
                ),
            )),
            Ok(None) => Err(fail(
                self,
                format!("`{}` could not be read", found.display()),
            )),
            Err(e) => Err(fail(self, e.to_string())),
        }
    }

    fn source_of(&self, program: &Program<'p>, span: SpanId) -> Option<&Loaded> {
        let (context, _, _) = program.span_manager().get_span(span);
        let SpanContext::Source(source) = program.span_manager().get_context(context);
        self.sources.get(source)
    }

    /// The file and line of `span`; a snippet or the standard library counts as line 0 of
    /// what it came from.
    fn location(&self, program: &Program<'p>, span: SpanId) -> (PathBuf, u64) {
        let (_, start, _) = program.span_manager().get_span(span);
        match self.source_of(program, span) {
            Some(loaded) => (loaded.name.clone(), line_of(&loaded.bytes, start)),
            None => (PathBuf::from("<std>"), 0),
        }
    }

    /// The source text at `span`, shortened, for messages.
    fn text(&self, program: &Program<'p>, span: SpanId) -> Option<String> {
        let (_, start, end) = program.span_manager().get_span(span);
        let loaded = self.source_of(program, span)?;
        let text = String::from_utf8_lossy(loaded.bytes.get(start..end)?);
        let text: String = text.chars().take(60).collect();
        Some(text.split_whitespace().collect::<Vec<_>>().join(" "))
    }

    fn load_problem(&self, program: &Program<'p>, error: &LoadError) -> Problem {
        let (span, message) = match error {
            LoadError::Lex(e) => lex_message(e),
            LoadError::Parse(rsjsonnet_lang::parser::ParseError::Expected {
                span,
                instead,
                ..
            }) => {
                let found = match instead {
                    rsjsonnet_lang::parser::ActualToken::EndOfFile => "the end of the file".into(),
                    _ => self
                        .text(program, *span)
                        .map_or("this".to_string(), |t| format!("`{t}`")),
                };
                (*span, format!("syntax error: unexpected {found}"))
            }
            LoadError::Analyze(e) => analyze_message(e),
        };
        let (file, line) = self.location(program, span);
        problem_at(&file, line, format!("Jsonnet {message}"))
    }

    fn eval_problem(
        &mut self,
        program: &Program<'p>,
        evaluated: &Path,
        error: &EvalError,
    ) -> Problem {
        if let (EvalErrorKind::ImportFailed { .. }, Some(failed)) =
            (&error.kind, self.failed.take())
        {
            return failed;
        }
        let (span, mut message) = eval_message(&error.kind);
        // Where it happened: the error's own place if it is in a file of the commit, else the
        // innermost one on the stack that is (a call into the standard library fails there).
        let in_commit = |s: &SpanId| self.source_of(program, *s).is_some();
        let span = span.filter(in_commit).or_else(|| {
            error.stack_trace.iter().rev().find_map(|item| match item {
                EvalStackTraceItem::Expr { span }
                | EvalStackTraceItem::Variable { span, .. }
                | EvalStackTraceItem::Import { span } => Some(*span).filter(in_commit),
                EvalStackTraceItem::Call { span, .. }
                | EvalStackTraceItem::ArrayItem { span, .. }
                | EvalStackTraceItem::ObjectField { span, .. } => span.filter(in_commit),
                _ => None,
            })
        });
        if let EvalErrorKind::UnknownExtVar { name } = &error.kind {
            message.push_str(&format!(
                "\nhint: set `{name}` in the app's `directory.jsonnet.extVars`"
            ));
        }
        if let EvalErrorKind::CallParamNotBound { param_name, .. } = &error.kind {
            message.push_str(&format!(
                "\nhint: a file whose value is a function gets its arguments from `directory.jsonnet.tlas`: set `{param_name}` there, or give the parameter a default"
            ));
        }
        let (file, line) = match span {
            Some(span) => self.location(program, span),
            None => (evaluated.to_path_buf(), 0),
        };
        if file != evaluated {
            message.push_str(&format!("\n(while rendering {})", evaluated.display()));
        }
        problem_at(&file, line, format!("Jsonnet {message}"))
    }
}

impl<'p> Callbacks<'p> for Files<'p, '_> {
    fn import(
        &mut self,
        program: &mut Program<'p>,
        from: SpanId,
        path: &str,
    ) -> Result<Thunk<'p>, ImportError> {
        let (found, bytes) = self.read(program, from, path)?;
        if let Some(thunk) = self.imported.get(&found) {
            return Ok(thunk.clone());
        }
        match load(program, self, found.clone(), bytes, true) {
            Ok(thunk) => {
                self.imported.insert(found, thunk.clone());
                Ok(thunk)
            }
            Err(e) => {
                self.failed = Some(self.load_problem(program, &e));
                Err(ImportError)
            }
        }
    }

    fn import_str(
        &mut self,
        program: &mut Program<'p>,
        from: SpanId,
        path: &str,
    ) -> Result<String, ImportError> {
        let (found, bytes) = self.read(program, from, path)?;
        String::from_utf8(bytes).map_err(|_| {
            let (file, line) = self.location(program, from);
            self.failed = Some(problem_at(
                &file,
                line,
                format!(
                    "`importstr` of `{}`: the file is not UTF-8 text\nhint: read it with `importbin`",
                    found.display()
                ),
            ));
            ImportError
        })
    }

    fn import_bin(
        &mut self,
        program: &mut Program<'p>,
        from: SpanId,
        path: &str,
    ) -> Result<Vec<u8>, ImportError> {
        Ok(self.read(program, from, path)?.1)
    }

    /// `std.trace` prints nothing: a render's output is the objects.
    fn trace(&mut self, _: &mut Program<'p>, _: &str, _: &[EvalStackTraceItem]) {}

    /// No native functions are registered, so none is ever called.
    fn native_call(
        &mut self,
        _: &mut Program<'p>,
        _: InternedStr<'p>,
        _: &[Value<'p>],
    ) -> Result<Value<'p>, NativeError> {
        Err(NativeError)
    }
}

/// The objects of one file's value, as Argo CD reads them: an object, or a list whose items
/// are objects (a `null` item is skipped; nothing else is flattened); `kind: *List` objects
/// hold their items as in every other manifest.
fn objects(file: &Path, json: String, manifests: &mut Vec<Manifest>, problems: &mut Vec<Problem>) {
    let value: Json = match serde_json::from_str(&json) {
        Ok(value) => value,
        Err(e) => {
            problems.push(problem_at(
                file,
                0,
                format!("the file's value could not be read as JSON ({e})\nhint: objects nest at most 128 levels deep"),
            ));
            return;
        }
    };
    let items = match value {
        Json::Array(items) => items,
        Json::Null => Vec::new(),
        object @ Json::Object(_) => vec![object],
        other => {
            problems.push(problem_at(
                file,
                0,
                format!(
                    "the file's value is {}; it must be an object or a list of objects",
                    crate::input::describe(&other)
                ),
            ));
            return;
        }
    };
    let mut docs = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        match item {
            Json::Null => {}
            Json::Object(_) => docs.push(Document {
                line: 0,
                value: item,
            }),
            other => problems.push(problem_at(
                file,
                0,
                format!(
                    "item {i} of the file's list is {}; every item must be an object (Argo CD does not flatten nested lists)",
                    crate::input::describe(&other)
                ),
            )),
        }
    }
    super::directory::push_documents(file, docs, manifests, problems);
}

fn problem_at(file: &Path, line: u64, message: String) -> Problem {
    Problem {
        origin: Origin {
            file: file.to_path_buf(),
            line,
        },
        column: None,
        message,
    }
}

/// The 1-based line of byte `offset`.
fn line_of(bytes: &[u8], offset: usize) -> u64 {
    let before = &bytes[..offset.min(bytes.len())];
    before.iter().filter(|b| **b == b'\n').count() as u64 + 1
}

fn type_name(t: EvalErrorValueType) -> &'static str {
    match t {
        EvalErrorValueType::Null => "null",
        EvalErrorValueType::Bool => "boolean",
        EvalErrorValueType::Number => "number",
        EvalErrorValueType::String => "string",
        EvalErrorValueType::Array => "array",
        EvalErrorValueType::Object => "object",
        EvalErrorValueType::Function => "function",
    }
}

fn lex_message(e: &rsjsonnet_lang::lexer::LexError) -> (SpanId, String) {
    use rsjsonnet_lang::lexer::LexError::*;
    let (span, what) = match e {
        InvalidChar { span, chr } => (span, format!("unexpected character {chr:?}")),
        InvalidUtf8 { span, .. } => (span, "invalid UTF-8".into()),
        UnfinishedMultilineComment { span } => (span, "a `/*` comment is not closed".into()),
        LeadingZeroInNumber { span } => (span, "a number starts with 0".into()),
        MissingFracDigits { span } => (span, "a number has no digits after `.`".into()),
        MissingExpDigits { span } => (span, "a number has no exponent digits".into()),
        MissingDigitAfterUnderscore { span } => (span, "a number has no digit after `_`".into()),
        ExpOverflow { span } => (span, "a number's exponent is too large".into()),
        InvalidEscapeInString { span, chr } => {
            (span, format!("invalid escape `\\{chr}` in a string"))
        }
        IncompleteUnicodeEscape { span } => (span, "an incomplete `\\u` escape".into()),
        InvalidUtf16EscapeSequence { span, .. } => (span, "an invalid `\\u` escape".into()),
        UnfinishedString { span } => (span, "a string is not closed".into()),
        MissingLineBreakAfterTextBlockStart { span } => (span, "no line break after `|||`".into()),
        MissingWhitespaceTextBlockStart { span } => {
            (span, "a text block's first line is not indented".into())
        }
        InvalidTextBlockTermination { span } => (span, "a text block is not closed".into()),
    };
    (*span, format!("syntax error: {what}"))
}

fn analyze_message(e: &rsjsonnet_lang::program::AnalyzeError) -> (SpanId, String) {
    use rsjsonnet_lang::program::AnalyzeError::*;
    match e {
        UnknownVariable { span, name } => (*span, format!("error: unknown variable `{name}`")),
        SelfOutsideObject { self_span } => (*self_span, "error: `self` outside an object".into()),
        SuperOutsideObject { super_span } => {
            (*super_span, "error: `super` outside an object".into())
        }
        DollarOutsideObject { dollar_span } => {
            (*dollar_span, "error: `$` outside an object".into())
        }
        RepeatedLocalName {
            repeated_span,
            name,
            ..
        } => (
            *repeated_span,
            format!("error: local `{name}` is defined twice"),
        ),
        RepeatedFieldName {
            repeated_span,
            name,
            ..
        } => (
            *repeated_span,
            format!("error: field `{name}` is defined twice"),
        ),
        RepeatedParamName {
            repeated_span,
            name,
            ..
        } => (
            *repeated_span,
            format!("error: parameter `{name}` is named twice"),
        ),
        PositionalArgAfterNamed { arg_span } => (
            *arg_span,
            "error: a positional argument after a named one".into(),
        ),
        TextBlockAsImportPath { span } => {
            (*span, "error: an import path cannot be a text block".into())
        }
        ComputedImportPath { span } => (
            *span,
            "error: an import path must be a literal string".into(),
        ),
    }
}

/// The message of a runtime error, and where it is when the error knows.
fn eval_message(kind: &EvalErrorKind) -> (Option<SpanId>, String) {
    use EvalErrorKind::*;
    let (span, what): (Option<SpanId>, String) = match kind {
        StackOverflow => (None, "stack overflow (more than 500 nested calls)".into()),
        InfiniteRecursion => (None, "infinite recursion".into()),
        InvalidIndexedType { span, got_type } => (
            Some(*span),
            format!("cannot index a {}", type_name(*got_type)),
        ),
        InvalidSlicedType { span, got_type } => (
            Some(*span),
            format!("cannot slice a {}", type_name(*got_type)),
        ),
        SliceIndexOrStepIsNotNumber { span, got_type }
        | StringIndexIsNotNumber { span, got_type }
        | ArrayIndexIsNotNumber { span, got_type } => (
            Some(*span),
            format!(
                "an index must be a number, found a {}",
                type_name(*got_type)
            ),
        ),
        NumericIndexIsNotValid { span, index } => {
            (Some(*span), format!("index {index} is not a whole number"))
        }
        NumericIndexOutOfRange {
            span,
            index,
            length,
        } => (
            Some(*span),
            format!("index {index} is out of range (length {length})"),
        ),
        ObjectIndexIsNotString { span, got_type } | FieldNameIsNotString { span, got_type } => (
            Some(*span),
            format!(
                "a field name must be a string, found a {}",
                type_name(*got_type)
            ),
        ),
        RepeatedFieldName { span, name } => {
            (Some(*span), format!("field `{name}` is defined twice"))
        }
        UnknownObjectField { span, field_name } => {
            (Some(*span), format!("field does not exist: {field_name}"))
        }
        FieldOfNonObject { span } => (
            Some(*span),
            "a field of something that is not an object".into(),
        ),
        SuperWithoutSuperObject { span } => (Some(*span), "`super` without a super object".into()),
        ForSpecValueIsNotArray { span, got_type } => (
            Some(*span),
            format!("`for` needs an array, found a {}", type_name(*got_type)),
        ),
        CondIsNotBool { span, got_type } => (
            Some(*span),
            format!(
                "a condition must be a boolean, found a {}",
                type_name(*got_type)
            ),
        ),
        CalleeIsNotFunction { span, got_type } => {
            (*span, format!("cannot call a {}", type_name(*got_type)))
        }
        TooManyCallArgs { span, num_params } => (
            *span,
            format!("too many arguments (the function takes {num_params})"),
        ),
        UnknownCallParam { span, param_name } => (
            *span,
            format!("the function has no parameter `{param_name}`"),
        ),
        RepeatedCallParam { span, param_name } => {
            (*span, format!("argument `{param_name}` is given twice"))
        }
        CallParamNotBound { span, param_name } => {
            (*span, format!("missing argument: `{param_name}`"))
        }
        NativeCallFailed => (None, "a native function failed".into()),
        InvalidUnaryOpType { span, op, rhs_type } => (
            Some(*span),
            format!(
                "operator {op:?} does not apply to a {}",
                type_name(*rhs_type)
            ),
        ),
        InvalidBinaryOpTypes {
            span,
            op,
            lhs_type,
            rhs_type,
        } => (
            *span,
            format!(
                "operator {op:?} does not apply to a {} and a {}",
                type_name(*lhs_type),
                type_name(*rhs_type)
            ),
        ),
        NumberNotBitwiseSafe { span } => (
            *span,
            "the number is too large for a bitwise operation".into(),
        ),
        NumberOverflow { span } => (*span, "number overflow".into()),
        NumberNan { span } => (*span, "the result is not a number".into()),
        DivByZero { span } => (*span, "division by zero".into()),
        ShiftByNegative { span } => (*span, "a shift by a negative number".into()),
        InvalidStdFuncArgType {
            func_name,
            arg_index,
            expected_types,
            got_type,
        } => (
            None,
            format!(
                "std.{func_name}: argument {} must be a {}, found a {}",
                arg_index + 1,
                expected_types
                    .iter()
                    .map(|t| type_name(*t))
                    .collect::<Vec<_>>()
                    .join(" or "),
                type_name(*got_type)
            ),
        ),
        AssertFailed { span, message } => (
            Some(*span),
            match message {
                Some(message) => format!("assertion failed: {message}"),
                None => "assertion failed".into(),
            },
        ),
        AssertEqualFailed { lhs, rhs } => (None, format!("assertion failed: {lhs} != {rhs}")),
        ExplicitError { span, message } => (Some(*span), message.clone()),
        ImportFailed { span, path } => (Some(*span), format!("import failed: `{path}`")),
        UnknownExtVar { name } => (None, format!("undefined external variable: {name}")),
        ManifestFunction => (None, "a function cannot be a value of the output".into()),
        CompareNullInequality => (None, "nulls cannot be compared with < or >".into()),
        CompareBooleanInequality => (None, "booleans cannot be compared with < or >".into()),
        CompareObjectInequality => (None, "objects cannot be compared with < or >".into()),
        CompareFunctions => (None, "functions cannot be compared".into()),
        CompareDifferentTypesInequality { lhs_type, rhs_type } => (
            None,
            format!(
                "a {} and a {} cannot be compared",
                type_name(*lhs_type),
                type_name(*rhs_type)
            ),
        ),
        PrimitiveEqualsNonPrimitive { got_type } => (
            None,
            format!(
                "std.primitiveEquals cannot compare a {}",
                type_name(*got_type)
            ),
        ),
        Other { span, message } => (*span, message.clone()),
    };
    let what = match kind {
        ExplicitError { .. } => format!("error: {what}"),
        _ => format!("runtime error: {what}"),
    };
    (span, what)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::config::{DirectorySpec, JsonnetSpec};
    use crate::render::render_app;

    const CM: &str = "{apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: 'a'}}";

    fn var(name: &str, value: &str, code: bool) -> JsonnetVar {
        JsonnetVar {
            name: name.into(),
            value: value.into(),
            code,
        }
    }

    /// Renders the app at `app/` of a working tree of `files`: the objects, or the problems
    /// as `file:line: message`.
    fn render_files(
        files: &[(&str, &str)],
        jsonnet: JsonnetSpec,
    ) -> Result<Vec<Json>, Vec<String>> {
        let dir = tempfile::tempdir().unwrap();
        for (path, text) in files {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        let snapshot = Snapshot::worktree_for_tests(dir.path());
        let spec = RenderSpec {
            app: "web".into(),
            path: "app".into(),
            namespace: Some("shop".into()),
            directory: DirectorySpec {
                jsonnet,
                ..DirectorySpec::default()
            },
            ..RenderSpec::default()
        };
        render_app(&snapshot, &spec)
            .map(|r| r.manifests.into_iter().map(|m| m.object).collect())
            .map_err(|e| e.problems.iter().map(ToString::to_string).collect())
    }

    /// A case: its name, the files of the working tree, the app's Jsonnet settings, and what
    /// it renders to.
    type Case<'a, T> = (&'a str, Vec<(&'a str, &'a str)>, JsonnetSpec, T);

    fn cm(name: &str) -> Json {
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}})
    }

    #[test]
    fn values_become_objects() {
        let list =
            "[{apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: n}} for n in ['a', 'b']]";
        let cases: Vec<Case<Vec<Json>>> = vec![
            (
                "an object",
                vec![("app/cm.jsonnet", CM)],
                JsonnetSpec::default(),
                vec![cm("a")],
            ),
            (
                "a list",
                vec![("app/cms.jsonnet", list)],
                JsonnetSpec::default(),
                vec![cm("a"), cm("b")],
            ),
            (
                "a kind: List holds its items; null items are skipped; null renders nothing",
                vec![
                    (
                        "app/a.jsonnet",
                        "[{apiVersion: 'v1', kind: 'List', items: [import 'cm.libsonnet']}, null]",
                    ),
                    ("app/b.jsonnet", "null"),
                    ("app/cm.libsonnet", CM),
                ],
                JsonnetSpec::default(),
                vec![cm("a")],
            ),
            (
                "files render in path order among plain manifests; libsonnet is not rendered",
                vec![
                    (
                        "app/b.jsonnet",
                        "[{apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: 'b'}}]",
                    ),
                    (
                        "app/a.yaml",
                        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n",
                    ),
                    (
                        "app/c.yaml",
                        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n",
                    ),
                    ("app/lib.libsonnet", CM),
                ],
                JsonnetSpec::default(),
                vec![cm("a"), cm("b"), cm("c")],
            ),
            (
                "extVars and tlas, plain and code",
                vec![(
                    "app/cm.jsonnet",
                    "function(name, replicas) {apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: name}, data: {env: std.extVar('env'), size: std.toString(std.extVar('size') * replicas)}}",
                )],
                JsonnetSpec {
                    ext_vars: vec![var("env", "prod", false), var("size", "{a: 2}.a", true)],
                    tlas: vec![var("name", "web", false), var("replicas", "1 + 2", true)],
                    libs: Vec::new(),
                },
                vec![
                    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "web"}, "data": {"env": "prod", "size": "6"}}),
                ],
            ),
            (
                "the build environment is substituted; $$ is a $; a duplicate name keeps the last",
                vec![(
                    "app/cm.jsonnet",
                    "function(n) {apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: n}, data: {v: std.extVar('v')}}",
                )],
                JsonnetSpec {
                    ext_vars: vec![
                        var("v", "first", false),
                        var(
                            "v",
                            "$$x ${ARGOCD_APP_NAMESPACE}/$ARGOCD_APP_SOURCE_PATH $UNSET.",
                            false,
                        ),
                    ],
                    tlas: vec![var("n", "${ARGOCD_APP_NAME}-cm", false)],
                    libs: Vec::new(),
                },
                vec![
                    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "web-cm"}, "data": {"v": "$x shop/app ."}}),
                ],
            ),
            (
                "imports: beside the file, then the libraries (the last first), then the app directory",
                vec![
                    (
                        "app/sub/cm.jsonnet",
                        "local a = import 'a.libsonnet'; local b = import 'b.libsonnet'; local c = import 'c.libsonnet'; {apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: 'a'}, data: {a: a, b: b, c: c, s: importstr 'text.txt'}}",
                    ),
                    ("app/sub/a.libsonnet", "'beside'"),
                    ("app/sub/text.txt", "hello"),
                    ("vendor/one/a.libsonnet", "'lib one'"),
                    ("vendor/one/b.libsonnet", "'lib one'"),
                    ("vendor/two/b.libsonnet", "'lib two'"),
                    ("app/b.libsonnet", "'app'"),
                    ("app/c.libsonnet", "'app'"),
                ],
                JsonnetSpec {
                    libs: vec!["vendor/one".into(), "/vendor/two".into()],
                    ..JsonnetSpec::default()
                },
                vec![
                    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"a": "beside", "b": "lib two", "c": "app", "s": "hello"}}),
                ],
            ),
            (
                "an override file's Jsonnet arguments replace the app's",
                vec![
                    (
                        "app/cm.jsonnet",
                        "function(who) {apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: who}}",
                    ),
                    (
                        "app/.argocd-source-web.yaml",
                        "directory:\n  jsonnet:\n    tlas: [{name: who, value: from-file}]\n",
                    ),
                ],
                JsonnetSpec {
                    tlas: vec![var("who", "from-app", false)],
                    ..JsonnetSpec::default()
                },
                vec![cm("from-file")],
            ),
            (
                "an import relative to the importing file, through ..",
                vec![
                    ("app/cm.jsonnet", "import '../lib/cm.libsonnet'"),
                    ("lib/cm.libsonnet", "import 'inner/cm.json'"),
                    (
                        "lib/inner/cm.json",
                        "{\"apiVersion\": \"v1\", \"kind\": \"ConfigMap\", \"metadata\": {\"name\": \"a\"}}",
                    ),
                ],
                JsonnetSpec::default(),
                vec![cm("a")],
            ),
        ];
        for (name, files, jsonnet, want) in cases {
            match render_files(&files, jsonnet) {
                Ok(got) => assert_eq!(got, want, "{name}"),
                Err(problems) => panic!("{name}: {problems:#?}"),
            }
        }
    }

    #[test]
    fn errors_name_the_file_and_line() {
        let nested = format!("[[{CM}]]");
        let cases: Vec<Case<&str>> = vec![
            (
                "a syntax error",
                vec![("app/cm.jsonnet", "{\n  a: 1,\n  b: ]\n}")],
                JsonnetSpec::default(),
                "app/cm.jsonnet:3: Jsonnet syntax error: unexpected `]`",
            ),
            (
                "error in an imported file",
                vec![
                    ("app/cm.jsonnet", "local l = import 'l.libsonnet';\nl.f(1)"),
                    ("app/l.libsonnet", "{\n  f(x):: error 'bad value ' + x,\n}"),
                ],
                JsonnetSpec::default(),
                "app/l.libsonnet:2: Jsonnet error: bad value 1\n(while rendering app/cm.jsonnet)",
            ),
            (
                "a syntax error in an imported file",
                vec![
                    ("app/cm.jsonnet", "import 'l.libsonnet'"),
                    ("app/l.libsonnet", "\n{a: }"),
                ],
                JsonnetSpec::default(),
                "app/l.libsonnet:2: Jsonnet syntax error: unexpected `}`",
            ),
            (
                "a missing field",
                vec![("app/cm.jsonnet", "local o = {a: 1};\n\no.b")],
                JsonnetSpec::default(),
                "app/cm.jsonnet:3: Jsonnet runtime error: field does not exist: b",
            ),
            (
                "an import that is not in the commit",
                vec![("app/cm.jsonnet", "\nimport 'missing.libsonnet'")],
                JsonnetSpec::default(),
                "app/cm.jsonnet:2: import failed: `missing.libsonnet` is in none of `app/`",
            ),
            (
                "an import that leaves the repository",
                vec![("app/cm.jsonnet", "importstr '../../../etc/passwd'")],
                JsonnetSpec::default(),
                "a path that leaves the repository is never read",
            ),
            (
                "an absolute import",
                vec![("app/cm.jsonnet", "importstr '/etc/passwd'")],
                JsonnetSpec::default(),
                "`/etc/passwd` is an absolute path",
            ),
            (
                "an unset external variable",
                vec![("app/cm.jsonnet", "std.extVar('env')")],
                JsonnetSpec::default(),
                "undefined external variable: env\nhint: set `env` in the app's `directory.jsonnet.extVars`",
            ),
            (
                "a missing top-level argument",
                vec![("app/cm.jsonnet", "function(name) {}")],
                JsonnetSpec::default(),
                "missing argument: `name`",
            ),
            (
                "a syntax error in a code argument",
                vec![("app/cm.jsonnet", "function(n) {}")],
                JsonnetSpec {
                    tlas: vec![var("n", "{", true)],
                    ..JsonnetSpec::default()
                },
                "directory.jsonnet.tlas `n`:1: Jsonnet syntax error: unexpected the end of the file",
            ),
            (
                "a value that is not an object",
                vec![("app/cm.jsonnet", "'text'")],
                JsonnetSpec::default(),
                "app/cm.jsonnet: the file's value is a string; it must be an object or a list of objects",
            ),
            (
                "nested lists are not flattened",
                vec![("app/cm.jsonnet", &nested)],
                JsonnetSpec::default(),
                "item 0 of the file's list is a list",
            ),
            (
                "an object kpush cannot apply",
                vec![("app/cm.jsonnet", "{apiVersion: 'v1', kind: 'ConfigMap'}")],
                JsonnetSpec::default(),
                "app/cm.jsonnet: ConfigMap has no `metadata`",
            ),
            (
                "the project is not known",
                vec![("app/cm.jsonnet", CM)],
                JsonnetSpec {
                    ext_vars: vec![var("p", "$ARGOCD_APP_PROJECT_NAME", false)],
                    ..JsonnetSpec::default()
                },
                "names `${ARGOCD_APP_PROJECT_NAME}`",
            ),
        ];
        for (name, files, jsonnet, want) in cases {
            let problems = render_files(&files, jsonnet).expect_err(name);
            assert!(
                problems.iter().any(|p| p.contains(want)),
                "{name}: want {want:?} in {problems:#?}"
            );
        }
    }

    #[test]
    fn a_shell_name_is_read_as_go_reads_it() {
        let env = BuildEnv {
            vars: vec![("A", "1".into())],
        };
        for (text, want) in [
            ("$A", "1"),
            ("${A}x", "1x"),
            ("$Ax", ""),
            ("a$", "a$"),
            ("$$A", "$A"),
            ("${}b", "b"),
            ("${A", "A"),
            ("$-x", "x"),
            ("$ x", "$ x"),
        ] {
            assert_eq!(env.substitute(text).unwrap(), want, "{text}");
        }
    }
}
