//! Running a parsed template: Go's evaluation rules (fields on maps, missing keys, pipelines,
//! variables, control structures) and its builtin functions.

use std::rc::Rc;

use super::Options;
use super::parse::{Arg, Cmd, Defines, Node, Pipe, Tree, parse};
use super::printf::{sprint, sprintf, sprintln};
use super::sprig::{self, Args};
use super::value::{Value, fmt_v, go_quote};

/// How deeply `{{template}}` and `tpl` may nest; Go allows more, but a render must not
/// exhaust a worker thread's stack.
const MAX_DEPTH: usize = 100;

/// The most `{{range}}` over a number iterates, and the most a render writes.
const MAX_RANGE: i64 = 1_000_000;
const MAX_OUTPUT: usize = 64 << 20;

/// The functions the executor runs itself: Go's builtins and Argo CD's `tpl`.
pub(super) fn is_builtin(name: &str) -> bool {
    matches!(
        name,
        "and"
            | "or"
            | "not"
            | "len"
            | "index"
            | "print"
            | "printf"
            | "println"
            | "eq"
            | "ne"
            | "lt"
            | "le"
            | "gt"
            | "ge"
            | "html"
            | "js"
            | "urlquery"
            | "tpl"
    )
}

pub(super) fn execute(tree: Tree, data: Value, options: &Options) -> Result<String, String> {
    let mut exec = Exec {
        options,
        defines: Rc::new(tree.defines),
        vars: vec![("$".into(), data.clone())],
        depth: 0,
    };
    let mut out = String::new();
    exec.walk(&mut out, &data, &tree.root)?;
    Ok(out)
}

#[derive(PartialEq)]
enum Flow {
    Normal,
    Break,
    Continue,
}

struct Exec<'o> {
    options: &'o Options,
    defines: Rc<Defines>,
    vars: Vec<(String, Value)>,
    depth: usize,
}

fn locate(text: &str, e: String) -> String {
    format!("`{text}`: {e}")
}

impl Exec<'_> {
    /// Errors come back naming the action they happened in.
    fn walk(&mut self, out: &mut String, dot: &Value, nodes: &[Node]) -> Result<Flow, String> {
        for node in nodes {
            let flow = match node {
                Node::Text(t) => {
                    out.push_str(t);
                    Flow::Normal
                }
                Node::Action { text, pipe } => {
                    let v = self.pipeline(dot, pipe).map_err(|e| locate(text, e))?;
                    if pipe.decl.is_empty() {
                        match v {
                            Value::Missing => out.push_str("<no value>"),
                            v => out.push_str(&fmt_v(&v)),
                        }
                    }
                    Flow::Normal
                }
                Node::If {
                    text,
                    pipe,
                    with,
                    then,
                    els,
                } => {
                    let mark = self.vars.len();
                    let v = self.pipeline(dot, pipe).map_err(|e| locate(text, e))?;
                    let flow = if v.truth() {
                        self.walk(out, if *with { &v } else { dot }, then)
                    } else if let Some(els) = els {
                        self.walk(out, dot, els)
                    } else {
                        Ok(Flow::Normal)
                    };
                    self.vars.truncate(mark);
                    flow?
                }
                Node::Range {
                    text,
                    pipe,
                    body,
                    els,
                } => {
                    let mark = self.vars.len();
                    let flow = self.range(out, dot, text, pipe, body, els.as_deref());
                    self.vars.truncate(mark);
                    flow?
                }
                Node::Template { text, name, pipe } => {
                    let dot = match pipe {
                        Some(pipe) => self.pipeline(dot, pipe).map_err(|e| locate(text, e))?,
                        None => Value::Missing,
                    };
                    let Some(body) = self.defines.get(name).cloned() else {
                        return Err(locate(text, format!("no such template {}", go_quote(name))));
                    };
                    if self.depth >= MAX_DEPTH {
                        return Err(locate(
                            text,
                            format!("exceeded maximum template depth ({MAX_DEPTH})"),
                        ));
                    }
                    let vars = std::mem::replace(&mut self.vars, vec![("$".into(), dot.clone())]);
                    self.depth += 1;
                    let result = self.walk(out, &dot, &body);
                    self.depth -= 1;
                    self.vars = vars;
                    result?;
                    Flow::Normal
                }
                Node::Break => Flow::Break,
                Node::Continue => Flow::Continue,
            };
            if out.len() > MAX_OUTPUT {
                return Err(format!(
                    "the output is larger than kpush allows ({} MiB)",
                    MAX_OUTPUT >> 20
                ));
            }
            if flow != Flow::Normal {
                return Ok(flow);
            }
        }
        Ok(Flow::Normal)
    }

    fn range(
        &mut self,
        out: &mut String,
        dot: &Value,
        text: &str,
        pipe: &Pipe,
        body: &[Node],
        els: Option<&[Node]>,
    ) -> Result<Flow, String> {
        let v = self.pipeline(dot, pipe).map_err(|e| locate(text, e))?;
        // (index or key, element) pairs
        let items: Box<dyn Iterator<Item = (Value, Value)>> = match &v {
            Value::List(items) => {
                let items = items.clone();
                Box::new((0..items.len()).map(move |i| (Value::Int(i as i64), items[i].clone())))
            }
            Value::Map(m) => {
                let entries: Vec<(Value, Value)> = m
                    .borrow()
                    .iter()
                    .map(|(k, v)| (Value::Str(k.clone()), v.clone()))
                    .collect();
                Box::new(entries.into_iter())
            }
            Value::Int(n) => {
                if pipe.decl.len() > 1 {
                    return Err(locate(
                        text,
                        format!("can't use {n} to iterate over more than one variable"),
                    ));
                }
                if *n > MAX_RANGE {
                    return Err(locate(
                        text,
                        format!("range over {n}: kpush iterates at most {MAX_RANGE} times"),
                    ));
                }
                Box::new((0..*n).map(|i| (Value::Int(i), Value::Int(i))))
            }
            Value::Missing => Box::new(std::iter::empty()),
            v => {
                return Err(locate(
                    text,
                    format!("range can't iterate over {}", fmt_v(v)),
                ));
            }
        };
        let mut items = items.peekable();
        if items.peek().is_none() {
            return match els {
                Some(els) => self.walk(out, dot, els),
                None => Ok(Flow::Normal),
            };
        }
        let mark = self.vars.len();
        for (index, elem) in items {
            let set = match pipe.decl.as_slice() {
                [] => Ok(()),
                [e] => self.set_range_var(pipe.assign, e, mark, 1, elem.clone()),
                [i, e, ..] => self
                    .set_range_var(pipe.assign, e, mark, 1, elem.clone())
                    .and_then(|_| self.set_range_var(pipe.assign, i, mark, 2, index)),
            };
            set.map_err(|e| locate(text, e))?;
            let flow = self.walk(out, &elem, body);
            self.vars.truncate(mark);
            if flow? == Flow::Break {
                break;
            }
        }
        Ok(Flow::Normal)
    }

    /// Sets the variable `from_top` places below `mark` (declared by the range), or the
    /// variable of that name when the range assigns.
    fn set_range_var(
        &mut self,
        assign: bool,
        name: &str,
        mark: usize,
        from_top: usize,
        v: Value,
    ) -> Result<(), String> {
        if assign {
            return self.set_var(name, v);
        }
        self.vars[mark - from_top].1 = v;
        Ok(())
    }

    fn set_var(&mut self, name: &str, v: Value) -> Result<(), String> {
        match self.vars.iter_mut().rev().find(|(n, _)| n == name) {
            Some(slot) => {
                slot.1 = v;
                Ok(())
            }
            None => Err(format!("undefined variable: {name}")),
        }
    }

    fn var(&self, name: &str) -> Result<Value, String> {
        self.vars
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .ok_or_else(|| format!("undefined variable: {name}"))
    }

    fn pipeline(&mut self, dot: &Value, pipe: &Pipe) -> Result<Value, String> {
        let mut value: Option<Value> = None;
        for cmd in &pipe.cmds {
            value = Some(self.command(dot, cmd, value.take())?.dig());
        }
        let value = value.unwrap_or(Value::Missing);
        for name in &pipe.decl {
            if pipe.assign {
                self.set_var(name, value.clone())?;
            } else {
                self.vars.push((name.clone(), value.clone()));
            }
        }
        Ok(value)
    }

    fn command(&mut self, dot: &Value, cmd: &Cmd, fin: Option<Value>) -> Result<Value, String> {
        let args = &cmd.args[1..];
        let not_a_function = |what: String| -> Result<(), String> {
            if args.is_empty() && fin.is_none() {
                Ok(())
            } else {
                Err(format!("can't give argument to non-function {what}"))
            }
        };
        match &cmd.args[0] {
            Arg::Func(name) => self.call(dot, name, args, fin),
            Arg::Field(names) => self.fields(dot.clone(), names, args, fin),
            Arg::Var(name, fields) if fields.is_empty() => {
                not_a_function(name.clone())?;
                self.var(name)
            }
            Arg::Var(name, fields) => {
                let v = self.var(name)?;
                self.fields(v, fields, args, fin)
            }
            Arg::Call(name, fields) => {
                let v = self.call(dot, name, &[], None)?;
                self.fields(v, fields, args, fin)
            }
            Arg::Pipe(pipe, fields) if fields.is_empty() => {
                not_a_function("(pipeline)".into())?;
                self.pipeline(dot, pipe)
            }
            Arg::Pipe(pipe, fields) => {
                let v = self.pipeline(dot, pipe)?;
                self.fields(v, fields, args, fin)
            }
            Arg::Nil => Err("nil is not a command".into()),
            literal => {
                let v = self.arg(dot, literal)?;
                not_a_function(match &v {
                    Value::Str(s) => go_quote(s),
                    Value::Missing => ".".into(),
                    v => fmt_v(v),
                })?;
                Ok(v)
            }
        }
    }

    /// An argument's value.
    fn arg(&mut self, dot: &Value, arg: &Arg) -> Result<Value, String> {
        Ok(match arg {
            Arg::Dot => dot.clone(),
            Arg::Nil => Value::Missing,
            Arg::Bool(b) => Value::Bool(*b),
            Arg::Int(i) => Value::Int(*i),
            Arg::Float(f) => Value::Float(*f),
            Arg::Str(s) => Value::Str(s.clone()),
            Arg::Field(names) => self.fields(dot.clone(), names, &[], None)?,
            Arg::Var(name, fields) => {
                let v = self.var(name)?;
                if fields.is_empty() {
                    v
                } else {
                    self.fields(v, fields, &[], None)?
                }
            }
            Arg::Func(name) => self.call(dot, name, &[], None)?,
            Arg::Call(name, fields) => {
                let v = self.call(dot, name, &[], None)?;
                self.fields(v, fields, &[], None)?
            }
            Arg::Pipe(pipe, fields) => {
                let v = self.pipeline(dot, pipe)?;
                if fields.is_empty() {
                    v
                } else {
                    self.fields(v, fields, &[], None)?
                }
            }
        })
    }

    /// `receiver.a.b…`; arguments, if any, go to the last name, which Go would call as a
    /// method.
    fn fields(
        &mut self,
        receiver: Value,
        names: &[String],
        args: &[Arg],
        fin: Option<Value>,
    ) -> Result<Value, String> {
        let (last, path) = names.split_last().expect("a field chain has a name");
        let mut r = receiver;
        for name in path {
            r = self.field(r, name, 0)?;
        }
        self.field(r, last, args.len() + usize::from(fin.is_some()))
    }

    fn field(&self, receiver: Value, name: &str, nargs: usize) -> Result<Value, String> {
        match receiver {
            Value::Missing => {
                if self.options.missing_key_error {
                    Err(format!("nil data; no entry for key {}", go_quote(name)))
                } else {
                    Ok(Value::Missing)
                }
            }
            Value::Nil => Err(format!("nil pointer evaluating interface {{}}.{name}")),
            Value::Map(m) => {
                if nargs > 0 {
                    return Err(format!("{name} is not a method but has arguments"));
                }
                match m.borrow().get(name) {
                    Some(v) => Ok(v.clone()),
                    None if self.options.missing_key_error => {
                        Err(format!("map has no entry for key {}", go_quote(name)))
                    }
                    None => Ok(Value::Missing),
                }
            }
            Value::Version(v) => {
                let result = match name {
                    "Major" => Value::Int(v.major as i64),
                    "Minor" => Value::Int(v.minor as i64),
                    "Patch" => Value::Int(v.patch as i64),
                    "Prerelease" => Value::Str(v.pre.clone()),
                    "Metadata" => Value::Str(v.meta.clone()),
                    "Original" => Value::Str(v.original.clone()),
                    "String" => Value::Str(v.to_string()),
                    _ => {
                        return Err(format!(
                            "can't evaluate field {name} in type *semver.Version (kpush knows Major, Minor, Patch, Prerelease, Metadata, Original and String)"
                        ));
                    }
                };
                if nargs > 0 {
                    return Err(format!(
                        "wrong number of args for {name}: want 0 got {nargs}"
                    ));
                }
                Ok(result)
            }
            r => Err(format!(
                "can't evaluate field {name} in type {}",
                r.type_name()
            )),
        }
    }

    fn call(
        &mut self,
        dot: &Value,
        name: &str,
        args: &[Arg],
        fin: Option<Value>,
    ) -> Result<Value, String> {
        if name == "and" || name == "or" {
            // both stop at the first argument that decides, and return it
            if args.is_empty() && fin.is_none() {
                return Err(format!(
                    "wrong number of args for {name}: want at least 1 got 0"
                ));
            }
            let mut last = Value::Missing;
            for a in args {
                let v = self.arg(dot, a)?;
                if v.truth() == (name == "or") {
                    return Ok(v);
                }
                last = v;
            }
            return Ok(fin.unwrap_or(last));
        }
        let mut values = Vec::with_capacity(args.len() + 1);
        for a in args {
            values.push(self.arg(dot, a)?);
        }
        values.extend(fin);
        let a = Args { name, v: values };
        match name {
            "tpl" => self.tpl(a),
            "not" | "len" | "index" | "print" | "printf" | "println" | "eq" | "ne" | "lt"
            | "le" | "gt" | "ge" | "html" | "js" | "urlquery" => builtin(a),
            _ => sprig::call(a),
        }
    }

    /// Argo CD's `tpl`: renders a string as a template with the same functions, options and
    /// definitions; `<no value>` becomes empty.
    fn tpl(&mut self, a: Args) -> Result<Value, String> {
        a.count(2)?;
        let text = a.str(0)?;
        let vals = a.v[1].clone();
        let tree = parse(&text)
            .map_err(|e| a.fail(format!("cannot parse template {}: {e}", go_quote(&text))))?;
        if self.depth >= MAX_DEPTH {
            return Err(a.fail(format!("exceeded maximum template depth ({MAX_DEPTH})")));
        }
        let mut defines: Defines = (*self.defines).clone();
        defines.extend(tree.defines);
        let mut sub = Exec {
            options: self.options,
            defines: Rc::new(defines),
            vars: vec![("$".into(), vals.clone())],
            depth: self.depth + 1,
        };
        let mut out = String::new();
        sub.walk(&mut out, &vals, &tree.root).map_err(|e| {
            a.fail(format!(
                "error during tpl function execution for {}: {e}",
                go_quote(&text)
            ))
        })?;
        Ok(Value::Str(out.replace("<no value>", "")))
    }
}

/// Go's own functions (`and` and `or` short-circuit in [`Exec::call`]).
fn builtin(a: Args) -> Result<Value, String> {
    let v = &a.v;
    match a.name {
        "not" => {
            a.count(1)?;
            Ok(Value::Bool(!v[0].truth()))
        }
        "len" => {
            a.count(1)?;
            Ok(Value::Int(match &v[0] {
                Value::Str(s) => s.len(),
                Value::List(l) => l.len(),
                Value::Map(m) => m.borrow().len(),
                Value::Missing | Value::Nil => return Err(a.fail("len of nil pointer")),
                other => return Err(a.fail(format!("len of type {}", other.type_name()))),
            } as i64))
        }
        "index" => {
            a.at_least(1)?;
            index(&a)
        }
        "print" => Ok(Value::Str(sprint(v))),
        "println" => Ok(Value::Str(sprintln(v))),
        "printf" => {
            a.at_least(1)?;
            let format = a.str(0)?;
            sprintf(&format, &v[1..]).map(Value::Str)
        }
        "eq" => {
            a.at_least(1)?;
            if v.len() < 2 {
                return Err(a.fail("missing argument for comparison"));
            }
            for other in &v[1..] {
                if eq(&v[0], other).map_err(|e| a.fail(e))? {
                    return Ok(Value::Bool(true));
                }
            }
            Ok(Value::Bool(false))
        }
        "ne" => {
            a.count(2)?;
            Ok(Value::Bool(!eq(&v[0], &v[1]).map_err(|e| a.fail(e))?))
        }
        "lt" | "le" | "gt" | "ge" => {
            a.count(2)?;
            let lt = less(&v[0], &v[1]).map_err(|e| a.fail(e))?;
            let r = match a.name {
                "lt" => lt,
                "ge" => !lt,
                _ => {
                    let le = lt || eq(&v[0], &v[1]).map_err(|e| a.fail(e))?;
                    if a.name == "le" { le } else { !le }
                }
            };
            Ok(Value::Bool(r))
        }
        "html" => Ok(Value::Str(html_escape(&eval_args(v)))),
        "js" => Ok(Value::Str(js_escape(&eval_args(v)))),
        "urlquery" => Ok(Value::Str(query_escape(&eval_args(v)))),
        _ => unreachable!("not a builtin: {}", a.name),
    }
}

/// What `html`, `js` and `urlquery` escape: one string as it is, anything else printed.
fn eval_args(v: &[Value]) -> String {
    match v {
        [Value::Str(s)] => s.clone(),
        v => sprint(v),
    }
}

fn index(a: &Args) -> Result<Value, String> {
    let mut item = a.v[0].clone();
    if matches!(item, Value::Missing) {
        return Err(a.fail("index of untyped nil"));
    }
    for ix in &a.v[1..] {
        item = match &item {
            Value::Nil | Value::Missing => return Err(a.fail("index of nil pointer")),
            Value::List(_) | Value::Str(_) => {
                let len = match &item {
                    Value::List(l) => l.len(),
                    Value::Str(s) => s.len(),
                    _ => 0,
                };
                let i = match ix {
                    Value::Int(i) => *i,
                    Value::Missing | Value::Nil => {
                        return Err(a.fail("cannot index slice/array with nil"));
                    }
                    other => {
                        return Err(a.fail(format!(
                            "cannot index slice/array with type {}",
                            other.type_name()
                        )));
                    }
                };
                if i < 0 || i as usize >= len {
                    return Err(a.fail(format!("index out of range: {i}")));
                }
                match &item {
                    Value::List(l) => l[i as usize].clone(),
                    Value::Str(s) => Value::Int(i64::from(s.as_bytes()[i as usize])),
                    _ => unreachable!(),
                }
            }
            Value::Map(m) => match ix {
                Value::Str(k) => m.borrow().get(k).cloned().unwrap_or(Value::Nil),
                Value::Missing | Value::Nil => {
                    return Err(a.fail("value is nil; should be of type string"));
                }
                other => {
                    return Err(a.fail(format!(
                        "value has type {}; should be string",
                        other.type_name()
                    )));
                }
            },
            other => {
                return Err(a.fail(format!("can't index item of type {}", other.type_name())));
            }
        };
    }
    Ok(item)
}

#[derive(PartialEq)]
enum Basic {
    Bool,
    Int,
    Float,
    Str,
    Other,
    Nil,
}

fn basic(v: &Value) -> Basic {
    match v {
        Value::Bool(_) => Basic::Bool,
        Value::Int(_) => Basic::Int,
        Value::Float(_) => Basic::Float,
        Value::Str(_) => Basic::Str,
        Value::Missing | Value::Nil => Basic::Nil,
        _ => Basic::Other,
    }
}

/// Go's `eq` for two values: same basic kinds compare, nil equals only nil, other mixes are
/// an error.
fn eq(a: &Value, b: &Value) -> Result<bool, String> {
    let (ka, kb) = (basic(a), basic(b));
    if ka != kb {
        if ka == Basic::Nil || kb == Basic::Nil {
            return Ok(false);
        }
        return Err(incompatible(a, b));
    }
    Ok(match (a, b) {
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Int(x), Value::Int(y)) => x == y,
        (Value::Float(x), Value::Float(y)) => x == y,
        (Value::Str(x), Value::Str(y)) => x == y,
        (x, y) if x.is_nil() && y.is_nil() => true,
        (Value::Version(x), Value::Version(y)) => Rc::ptr_eq(x, y),
        (x, _) => {
            return Err(format!(
                "non-comparable type {}: {}",
                fmt_v(x),
                x.type_name()
            ));
        }
    })
}

fn incompatible(a: &Value, b: &Value) -> String {
    format!(
        "incompatible types for comparison: {} and {}",
        a.type_name(),
        b.type_name()
    )
}

fn less(a: &Value, b: &Value) -> Result<bool, String> {
    let (ka, kb) = (basic(a), basic(b));
    if matches!(ka, Basic::Nil | Basic::Other | Basic::Bool) {
        return Err("invalid type for comparison".into());
    }
    if ka != kb {
        return Err(incompatible(a, b));
    }
    Ok(match (a, b) {
        (Value::Int(x), Value::Int(y)) => x < y,
        (Value::Float(x), Value::Float(y)) => x < y,
        (Value::Str(x), Value::Str(y)) => x < y,
        _ => unreachable!(),
    })
}

fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\0' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

fn js_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '<' => out.push_str("\\u003C"),
            '>' => out.push_str("\\u003E"),
            '&' => out.push_str("\\u0026"),
            '=' => out.push_str("\\u003D"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04X}", c as u32)),
            c if (c as u32) >= 0x80 && !super::value::is_print(c) => {
                out.push_str(&format!("\\u{:04X}", c as u32));
            }
            c => out.push(c),
        }
    }
    out
}

/// Go's `url.QueryEscape`.
pub(super) fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char);
            }
            b' ' => out.push('+'),
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}
