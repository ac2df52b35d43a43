//! Go's template parser: actions, pipelines and control structures into a tree, with Go's
//! parse-time checks (functions must exist, variables must be declared, `{{break}}` only in a
//! `{{range}}`).

use std::collections::HashMap;
use std::rc::Rc;

use super::lex::{Tok, lex};
use super::{exec, sprig};

#[derive(Debug)]
pub(super) enum Node {
    Text(String),
    /// `{{pipeline}}`; `text` is the action as written, for errors.
    Action {
        text: Rc<str>,
        pipe: Pipe,
    },
    /// `{{if}}` or, with `with`, `{{with}}` (which moves the dot).
    If {
        text: Rc<str>,
        pipe: Pipe,
        with: bool,
        then: Vec<Node>,
        els: Option<Vec<Node>>,
    },
    Range {
        text: Rc<str>,
        pipe: Pipe,
        body: Vec<Node>,
        els: Option<Vec<Node>>,
    },
    Template {
        text: Rc<str>,
        name: String,
        pipe: Option<Pipe>,
    },
    Break,
    Continue,
}

#[derive(Debug)]
pub(super) struct Pipe {
    /// Variables the pipeline declares (`:=`) or assigns (`=`).
    pub decl: Vec<String>,
    pub assign: bool,
    pub cmds: Vec<Cmd>,
}

#[derive(Debug)]
pub(super) struct Cmd {
    pub args: Vec<Arg>,
}

#[derive(Debug)]
pub(super) enum Arg {
    Dot,
    Nil,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    /// `.a.b`
    Field(Vec<String>),
    /// `$x.a.b`
    Var(String, Vec<String>),
    /// A function, called with the command's other arguments.
    Func(String),
    /// `fn.a`: a function called without arguments, then fields.
    Call(String, Vec<String>),
    /// `(pipeline).a.b`
    Pipe(Box<Pipe>, Vec<String>),
}

pub(super) type Defines = HashMap<String, Rc<Vec<Node>>>;

pub(super) struct Tree {
    pub root: Vec<Node>,
    pub defines: Defines,
}

/// Actions longer than this are cut short in errors.
const SHOWN: usize = 100;

/// How deeply control structures and parentheses may nest: parsing and running recurse.
const MAX_NESTING: usize = 100;

/// The action starting at `start` as written, to name it in an error.
pub(super) fn action_text(src: &str, start: usize, end: Option<usize>) -> String {
    let end = end
        .or_else(|| src[start..].find("}}").map(|e| start + e + 2))
        .unwrap_or(src.len());
    let text = &src[start..end];
    if text.chars().count() > SHOWN {
        let cut: String = text.chars().take(SHOWN).collect();
        format!("{cut}…")
    } else {
        text.to_string()
    }
}

pub(super) fn parse(src: &str) -> Result<Tree, String> {
    let toks =
        lex(src).map_err(|e| format!("`{}`: {}", action_text(src, e.at, None), e.message))?;
    let mut p = Parser {
        src,
        toks,
        i: 0,
        vars: vec!["$".into()],
        loops: 0,
        depth: 0,
        parens: 0,
        defines: HashMap::new(),
        action: Rc::from(""),
    };
    let (root, stop) = p.list()?;
    match stop {
        Stop::Eof => Ok(Tree {
            root,
            defines: p.defines,
        }),
        Stop::End => Err(p.err("unexpected {{end}}")),
        Stop::Else => Err(p.err("unexpected {{else}}")),
    }
}

enum Stop {
    Eof,
    End,
    Else,
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    If,
    With,
    Range,
}

struct Parser<'a> {
    src: &'a str,
    toks: Vec<(Tok, usize)>,
    i: usize,
    /// Variables in scope, innermost last.
    vars: Vec<String>,
    /// Enclosing `{{range}}` bodies, for `{{break}}` and `{{continue}}`.
    loops: usize,
    /// Enclosing control structures and definitions; `{{define}}` only at the top.
    depth: usize,
    /// Enclosing parentheses.
    parens: usize,
    defines: Defines,
    /// The action being parsed, as written.
    action: Rc<str>,
}

impl Parser<'_> {
    fn err(&self, message: impl std::fmt::Display) -> String {
        format!("`{}`: {message}", self.action)
    }

    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.i).map(|(t, _)| t)
    }

    fn next(&mut self) -> Option<(Tok, usize)> {
        let t = self.toks.get(self.i).cloned();
        self.i += 1;
        t
    }

    fn skip_spaces(&mut self) {
        while matches!(self.peek(), Some(Tok::Space)) {
            self.i += 1;
        }
    }

    /// The keyword that starts the current action, if any, without consuming it.
    fn peek_word(&mut self) -> Option<String> {
        self.skip_spaces();
        match self.peek() {
            Some(Tok::Word(w)) => Some(w.clone()),
            _ => None,
        }
    }

    /// Expects the end of the action (after optional spaces).
    fn close(&mut self, what: &str) -> Result<(), String> {
        self.skip_spaces();
        match self.next() {
            Some((Tok::Close, _)) => Ok(()),
            Some((t, _)) => Err(self.err(format!("unexpected {} in {what}", describe(&t)))),
            None => Err(self.err("unclosed action")),
        }
    }

    fn begin_action(&mut self, start: usize) {
        let end = self.toks[self.i..]
            .iter()
            .find(|(t, _)| *t == Tok::Close)
            .map(|(_, e)| *e);
        self.action = Rc::from(action_text(self.src, start, end));
    }

    fn list(&mut self) -> Result<(Vec<Node>, Stop), String> {
        let mut nodes = Vec::new();
        while let Some((tok, pos)) = self.next() {
            let Tok::Open = tok else {
                if let Tok::Text(t) = tok {
                    nodes.push(Node::Text(t));
                }
                continue;
            };
            self.begin_action(pos);
            let word = self.peek_word();
            match word.as_deref() {
                Some("end") => {
                    self.i += 1;
                    self.close("end")?;
                    return Ok((nodes, Stop::End));
                }
                Some("else") => {
                    self.i += 1;
                    return Ok((nodes, Stop::Else));
                }
                Some("if") => {
                    self.i += 1;
                    nodes.push(self.control(Kind::If)?);
                }
                Some("with") => {
                    self.i += 1;
                    nodes.push(self.control(Kind::With)?);
                }
                Some("range") => {
                    self.i += 1;
                    nodes.push(self.control(Kind::Range)?);
                }
                Some("template") => {
                    self.i += 1;
                    nodes.push(self.template(false)?);
                }
                Some("block") => {
                    self.i += 1;
                    nodes.push(self.template(true)?);
                }
                Some("define") => {
                    self.i += 1;
                    if self.depth > 0 {
                        return Err(self.err("{{define}} is only allowed at the top level"));
                    }
                    let name = self.template_name("define")?;
                    self.close("define")?;
                    self.define(name)?;
                }
                Some(w @ ("break" | "continue")) => {
                    self.i += 1;
                    if self.loops == 0 {
                        return Err(self.err(format!("{{{{{w}}}}} outside {{{{range}}}}")));
                    }
                    self.close(w)?;
                    nodes.push(if w == "break" {
                        Node::Break
                    } else {
                        Node::Continue
                    });
                }
                _ => {
                    let text = self.action.clone();
                    let pipe = self.pipeline("command", false)?;
                    nodes.push(Node::Action { text, pipe });
                }
            }
        }
        Ok((nodes, Stop::Eof))
    }

    fn control(&mut self, kind: Kind) -> Result<Node, String> {
        let text = self.action.clone();
        let context = match kind {
            Kind::If => "if",
            Kind::With => "with",
            Kind::Range => "range",
        };
        let mark = self.vars.len();
        let pipe = self.pipeline(context, false)?;
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err(self.err(format!("nested deeper than kpush allows ({MAX_NESTING})")));
        }
        if kind == Kind::Range {
            self.loops += 1;
        }
        let (body, stop) = self.list()?;
        if kind == Kind::Range {
            self.loops -= 1;
        }
        let missing_end = || format!("`{text}` has no matching {{{{end}}}}");
        let els = match stop {
            Stop::Eof => return Err(missing_end()),
            Stop::End => None,
            Stop::Else => {
                let chained = match self.peek_word().as_deref() {
                    Some("if") => kind == Kind::If,
                    Some("with") => kind == Kind::With,
                    _ => false,
                };
                if chained {
                    // `{{else if …}}` is `{{else}}{{if …}}…{{end}}{{end}}` with one `{{end}}`
                    self.i += 1;
                    Some(vec![self.control(kind)?])
                } else {
                    self.close("else")?;
                    let (els, stop) = self.list()?;
                    match stop {
                        Stop::End => Some(els),
                        Stop::Eof => return Err(missing_end()),
                        Stop::Else => {
                            return Err(self.err("expected {{end}}, found a second {{else}}"));
                        }
                    }
                }
            }
        };
        self.depth -= 1;
        self.vars.truncate(mark);
        Ok(match kind {
            Kind::Range => Node::Range {
                text,
                pipe,
                body,
                els,
            },
            _ => Node::If {
                text,
                pipe,
                with: kind == Kind::With,
                then: body,
                els,
            },
        })
    }

    fn template_name(&mut self, context: &str) -> Result<String, String> {
        self.skip_spaces();
        match self.next() {
            Some((Tok::Str(name), _)) => Ok(name),
            Some((t, _)) => {
                Err(self.err(format!("unexpected {} in {context} clause", describe(&t))))
            }
            None => Err(self.err("unclosed action")),
        }
    }

    /// `{{template "name" pipeline}}`, or `{{block "name" pipeline}}…{{end}}` which also
    /// defines the template.
    fn template(&mut self, block: bool) -> Result<Node, String> {
        let text = self.action.clone();
        let context = if block { "block" } else { "template" };
        let name = self.template_name(context)?;
        self.skip_spaces();
        let pipe = if !block && self.peek() == Some(&Tok::Close) {
            self.i += 1;
            None
        } else {
            Some(self.pipeline(context, false)?)
        };
        if block {
            self.define(name.clone())?;
        }
        Ok(Node::Template { text, name, pipe })
    }

    /// The body of a definition, up to its `{{end}}`; it sees only `$`.
    fn define(&mut self, name: String) -> Result<(), String> {
        let text = self.action.clone();
        let vars = std::mem::replace(&mut self.vars, vec!["$".into()]);
        let loops = std::mem::replace(&mut self.loops, 0);
        self.depth += 1;
        let (body, stop) = self.list()?;
        self.depth -= 1;
        self.vars = vars;
        self.loops = loops;
        match stop {
            Stop::End => {}
            Stop::Eof => return Err(format!("`{text}` has no matching {{{{end}}}}")),
            Stop::Else => return Err(self.err("unexpected {{else}}")),
        }
        if self.defines.insert(name.clone(), Rc::new(body)).is_some() {
            return Err(format!("`{text}`: template {name:?} is defined twice"));
        }
        Ok(())
    }

    /// A pipeline up to the end of the action, or to `)` when `paren`.
    fn pipeline(&mut self, context: &str, paren: bool) -> Result<Pipe, String> {
        let mut decl = Vec::new();
        let mut assign = false;
        loop {
            self.skip_spaces();
            let Some(Tok::Var(v)) = self.peek().cloned() else {
                break;
            };
            let save = self.i;
            self.i += 1;
            self.skip_spaces();
            match self.peek() {
                Some(Tok::Declare | Tok::Assign) => {
                    assign = self.peek() == Some(&Tok::Assign);
                    self.i += 1;
                    decl.push(v.clone());
                    self.vars.push(v);
                    break;
                }
                Some(Tok::Comma) if context == "range" && decl.is_empty() => {
                    self.i += 1;
                    decl.push(v.clone());
                    self.vars.push(v);
                }
                Some(Tok::Comma) => {
                    return Err(self.err(format!("too many declarations in {context}")));
                }
                _ if !decl.is_empty() => {
                    return Err(self.err("range can only initialize variables"));
                }
                _ => {
                    self.i = save;
                    break;
                }
            }
        }
        let mut cmds = Vec::new();
        loop {
            let cmd = self.command(context)?;
            if !cmds.is_empty()
                && let Some(
                    Arg::Bool(_) | Arg::Dot | Arg::Nil | Arg::Int(_) | Arg::Float(_) | Arg::Str(_),
                ) = cmd.args.first()
            {
                return Err(self.err(format!(
                    "non executable command in pipeline stage {}",
                    cmds.len() + 1
                )));
            }
            cmds.push(cmd);
            self.skip_spaces();
            match self.next() {
                // Go accepts a `|` right before the end
                Some((Tok::Pipe, _)) => {
                    self.skip_spaces();
                    match self.peek() {
                        Some(Tok::Close) if !paren => self.i += 1,
                        Some(Tok::RParen) if paren => self.i += 1,
                        _ => continue,
                    }
                    break;
                }
                Some((Tok::Close, _)) if !paren => break,
                Some((Tok::RParen, _)) if paren => break,
                Some((t, _)) => {
                    return Err(self.err(format!("unexpected {} in {context}", describe(&t))));
                }
                None => return Err(self.err("unclosed action")),
            }
        }
        Ok(Pipe { decl, assign, cmds })
    }

    fn command(&mut self, context: &str) -> Result<Cmd, String> {
        let mut args = Vec::new();
        loop {
            self.skip_spaces();
            if matches!(
                self.peek(),
                None | Some(Tok::Pipe | Tok::Close | Tok::RParen)
            ) {
                break;
            }
            args.push(self.operand()?);
            match self.peek() {
                None | Some(Tok::Space | Tok::Pipe | Tok::Close | Tok::RParen) => {}
                Some(t) => {
                    let t = describe(t);
                    return Err(self.err(format!("unexpected {t} in operand")));
                }
            }
        }
        if args.is_empty() {
            return Err(self.err(format!("missing value for {context}")));
        }
        Ok(Cmd { args })
    }

    fn operand(&mut self) -> Result<Arg, String> {
        let (tok, _) = self.next().ok_or_else(|| self.err("unclosed action"))?;
        let term = match tok {
            Tok::Word(w) if is_keyword(&w) => {
                return Err(self.err(format!("unexpected {{{{{w}}}}} in an operand")));
            }
            Tok::Word(w) => {
                check_function(&w).map_err(|e| self.err(e))?;
                Arg::Func(w)
            }
            Tok::Dot => Arg::Dot,
            Tok::Nil => Arg::Nil,
            Tok::Bool(b) => Arg::Bool(b),
            Tok::Str(s) => Arg::Str(s),
            Tok::Char(c) => Arg::Int(c),
            Tok::Num(text) => number(&text).map_err(|e| self.err(e))?,
            Tok::Field(f) => Arg::Field(vec![f]),
            Tok::Var(v) => {
                if !self.vars.contains(&v) {
                    return Err(self.err(format!("undefined variable {v:?}")));
                }
                Arg::Var(v, Vec::new())
            }
            Tok::LParen => {
                self.parens += 1;
                if self.parens > MAX_NESTING {
                    return Err(
                        self.err(format!("nested deeper than kpush allows ({MAX_NESTING})"))
                    );
                }
                let pipe = self.pipeline("parenthesized pipeline", true)?;
                self.parens -= 1;
                Arg::Pipe(Box::new(pipe), Vec::new())
            }
            t => return Err(self.err(format!("unexpected {} in operand", describe(&t)))),
        };
        let mut fields = Vec::new();
        while let Some(Tok::Field(f)) = self.peek() {
            fields.push(f.clone());
            self.i += 1;
        }
        if fields.is_empty() {
            return Ok(term);
        }
        Ok(match term {
            Arg::Field(mut names) => {
                names.extend(fields);
                Arg::Field(names)
            }
            Arg::Var(name, _) => Arg::Var(name, fields),
            Arg::Pipe(pipe, _) => Arg::Pipe(pipe, fields),
            Arg::Func(name) => Arg::Call(name, fields),
            _ => return Err(self.err("unexpected . after term")),
        })
    }
}

fn is_keyword(w: &str) -> bool {
    matches!(
        w,
        "if" | "else"
            | "end"
            | "range"
            | "with"
            | "define"
            | "template"
            | "block"
            | "break"
            | "continue"
    )
}

/// Go resolves functions when it parses, so a misspelt one fails even in a branch never taken.
fn check_function(name: &str) -> Result<(), String> {
    if exec::is_builtin(name) {
        return Ok(());
    }
    match sprig::lookup(name) {
        Some(Ok(())) => Ok(()),
        Some(Err(reason)) => Err(format!("function `{name}` {reason}")),
        None => Err(match name {
            "required" | "include" | "lookup" | "toToml" => format!(
                "function `{name}` is not defined: it is Helm's, not part of ApplicationSet templates"
            ),
            _ => format!("function `{name}` is not defined"),
        }),
    }
}

/// A number literal as Go hands it to a function taking any value: an int unless it is
/// written with a fraction or an exponent.
fn number(text: &str) -> Result<Arg, String> {
    if text.ends_with('i') {
        return Err(format!("complex number {text} is not supported by kpush"));
    }
    let clean = text.replace('_', "");
    let (neg, body) = match clean.as_bytes().first() {
        Some(b'-') => (true, &clean[1..]),
        Some(b'+') => (false, &clean[1..]),
        _ => (false, &clean[..]),
    };
    let lower = body.to_ascii_lowercase();
    let (digits, radix) = if let Some(h) = lower.strip_prefix("0x") {
        (h, 16)
    } else if let Some(o) = lower.strip_prefix("0o") {
        (o, 8)
    } else if let Some(b) = lower.strip_prefix("0b") {
        (b, 2)
    } else if lower.len() > 1 && lower.starts_with('0') && lower.bytes().all(|b| b.is_ascii_digit())
    {
        (&lower[1..], 8)
    } else {
        (&lower[..], 10)
    };
    let illegal = || format!("illegal number syntax: {text:?}");
    if radix == 16 && digits.contains(['.', 'p']) {
        return Err(format!(
            "hexadecimal float {text} is not supported by kpush"
        ));
    }
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_alphanumeric()) {
        if let Ok(u) = u64::from_str_radix(digits, radix) {
            let i = if neg {
                0i64.checked_sub_unsigned(u)
            } else {
                i64::try_from(u).ok()
            };
            return i
                .map(Arg::Int)
                .ok_or_else(|| format!("integer overflow: {text:?}"));
        }
        if radix != 10 || !digits.contains('e') {
            return Err(if digits.bytes().all(|b| b.is_ascii_digit()) {
                format!("integer overflow: {text:?}")
            } else {
                illegal()
            });
        }
    }
    let f: f64 = body.parse().map_err(|_| illegal())?;
    Ok(Arg::Float(if neg { -f } else { f }))
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::Text(_) => "text".into(),
        Tok::Open => "{{".into(),
        Tok::Close => "}}".into(),
        Tok::Space => "space".into(),
        Tok::Word(w) => format!("{w:?}"),
        Tok::Field(f) => format!("\".{f}\""),
        Tok::Var(v) => format!("{v:?}"),
        Tok::Dot => "\".\"".into(),
        Tok::Str(s) => format!("{s:?}"),
        Tok::Num(n) => n.clone(),
        Tok::Char(c) => format!("character {c}"),
        Tok::Bool(b) => b.to_string(),
        Tok::Nil => "nil".into(),
        Tok::Pipe => "\"|\"".into(),
        Tok::LParen => "\"(\"".into(),
        Tok::RParen => "\")\"".into(),
        Tok::Declare => "\":=\"".into(),
        Tok::Assign => "\"=\"".into(),
        Tok::Comma => "\",\"".into(),
    }
}
