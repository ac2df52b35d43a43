//! Argo CD's `toYaml`, `fromYaml` and `fromYamlArray`. `toYaml` writes what sigs.k8s.io/yaml
//! (go-yaml v2 underneath) writes: the value goes through JSON first (so a whole float is an
//! integer), keys sort in go-yaml's natural order, strings that would read back as another type
//! are double-quoted, multi-line strings are literal blocks, and long lines fold at 80 columns.

use std::cmp::Ordering;
use std::sync::LazyLock;

use regex::Regex;

use super::printf::format_float;
use super::value::{Value, json_float};
use crate::input::parse_yaml;

enum Y {
    Null,
    Bool(bool),
    Num(String),
    Str(String),
    Seq(Vec<Y>),
    Map(Vec<(String, Y)>),
}

fn node(v: &Value) -> Result<Y, String> {
    Ok(match v {
        Value::Missing | Value::Nil => Y::Null,
        Value::Bool(b) => Y::Bool(*b),
        Value::Int(i) => Y::Num(i.to_string()),
        Value::Float(f) => {
            // what go-yaml reads back from encoding/json's text
            let json = json_float(*f)?;
            let whole = !json.contains(['.', 'e', 'E']);
            match (json.parse::<i64>(), json.parse::<u64>()) {
                (Ok(i), _) if whole => Y::Num(i.to_string()),
                (_, Ok(u)) if whole => Y::Num(u.to_string()),
                _ => Y::Num(format_float(*f, 'g', None)),
            }
        }
        Value::Str(s) => Y::Str(s.clone()),
        Value::Version(ver) => Y::Str(ver.to_string()),
        Value::List(items) => Y::Seq(items.iter().map(node).collect::<Result<_, _>>()?),
        Value::Map(m) => {
            let mut entries = m
                .borrow()
                .iter()
                .map(|(k, v)| Ok((k.clone(), node(v)?)))
                .collect::<Result<Vec<_>, String>>()?;
            entries.sort_by(|a, b| natural(&a.0, &b.0));
            Y::Map(entries)
        }
    })
}

/// go-yaml v2's key order: runs of digits compare as numbers, letters after other characters.
fn natural(a: &str, b: &str) -> Ordering {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    for i in 0..a.len().min(b.len()) {
        if a[i] == b[i] {
            continue;
        }
        let (al, bl) = (a[i].is_alphabetic(), b[i].is_alphabetic());
        if al && bl {
            return a[i].cmp(&b[i]);
        }
        if al || bl {
            return if bl {
                Ordering::Less
            } else {
                Ordering::Greater
            };
        }
        let number = |s: &[char], from: usize| -> (i64, usize) {
            let mut n = 0i64;
            let mut j = from;
            while j < s.len() && s[j].is_ascii_digit() {
                n = n
                    .saturating_mul(10)
                    .saturating_add(i64::from(s[j] as u8 - b'0'));
                j += 1;
            }
            (n, j)
        };
        let (mut an, ai) = number(&a, i);
        let (mut bn, bi) = number(&b, i);
        if a[i] == '0' || b[i] == '0' {
            // a run of zeros before the difference counts as a non-zero number
            let mut j = i;
            while j > 0 && a[j - 1].is_ascii_digit() {
                j -= 1;
                if a[j] != '0' {
                    an = 1;
                    bn = 1;
                    break;
                }
            }
        }
        if an != bn {
            return an.cmp(&bn);
        }
        if ai != bi {
            return ai.cmp(&bi);
        }
        return a[i].cmp(&b[i]);
    }
    a.len().cmp(&b.len())
}

pub(super) fn to_yaml(v: &Value) -> Result<String, String> {
    let y = node(v)?;
    let mut e = Emitter { out: String::new() };
    match &y {
        Y::Map(m) if !m.is_empty() => e.map(m, 0, false)?,
        Y::Seq(s) if !s.is_empty() => e.seq(s, 0, false)?,
        y => {
            e.scalar(y, 2, false)?;
            e.end_line();
        }
    }
    Ok(e.out)
}

pub(super) fn from_yaml(text: &str, array: bool) -> Result<Value, String> {
    let docs = parse_yaml(text.as_bytes()).map_err(|e| {
        format!(
            "error converting YAML to JSON: yaml: line {}: {}",
            e.line, e.message
        )
    })?;
    let value = docs.into_iter().next().map(|d| Value::from_json(&d.value));
    let want = if array {
        "[]interface {}"
    } else {
        "map[string]interface {}"
    };
    match value {
        None if array => Ok(Value::list(Vec::new())),
        None => Ok(Value::map(Default::default())),
        Some(v @ Value::List(_)) if array => Ok(v),
        Some(v @ Value::Map(_)) if !array => Ok(v),
        Some(v) => Err(format!(
            "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go value of type {want}",
            match v {
                Value::List(_) => "array",
                Value::Map(_) => "object",
                Value::Str(_) => "string",
                Value::Bool(_) => "bool",
                Value::Nil | Value::Missing => "null",
                _ => "number",
            }
        )),
    }
}

struct Emitter {
    out: String,
}

#[derive(PartialEq)]
enum Style {
    Plain,
    Single,
    Double,
    Literal,
}

/// Where a string may go, as libyaml's scalar analysis decides.
struct Analysis {
    block_plain: bool,
    single: bool,
    block: bool,
}

fn is_break(c: char) -> bool {
    matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

fn is_printable(c: char) -> bool {
    let u = c as u32;
    u == 0x0A
        || (0x20..=0x7E).contains(&u)
        || u == 0x85
        || (0xA0..=0xD7FF).contains(&u)
        || ((0xE000..=0xFFFD).contains(&u) && u != 0xFEFF)
        || (0x10000..=0x10FFFF).contains(&u)
}

fn analyze(s: &str) -> Analysis {
    let chars: Vec<char> = s.chars().collect();
    // only block context matters: toYaml never writes flow collections with content
    let mut block_ind = s.starts_with("---") || s.starts_with("...");
    let (mut leading, mut trailing_space, mut trailing_break) = (false, false, false);
    let (mut break_space, mut space_break, mut special, mut line_breaks) =
        (false, false, false, false);
    let (mut prev_space, mut prev_break) = (false, false);
    let mut preceded_by_ws = true;
    let last = chars.len().saturating_sub(1);
    for (i, &c) in chars.iter().enumerate() {
        let followed_by_ws = chars
            .get(i + 1)
            .is_none_or(|&n| n == ' ' || n == '\t' || is_break(n));
        let indicator = if i == 0 {
            match c {
                '#' | ',' | '[' | ']' | '{' | '}' | '&' | '*' | '!' | '|' | '>' | '\'' | '"'
                | '%' | '@' | '`' => true,
                '?' | ':' | '-' => followed_by_ws,
                _ => false,
            }
        } else {
            (c == ':' && followed_by_ws) || (c == '#' && preceded_by_ws)
        };
        block_ind |= indicator;
        if !is_printable(c) {
            special = true;
        }
        if c == ' ' {
            leading |= i == 0;
            trailing_space |= i == last;
            break_space |= prev_break;
            prev_space = true;
            prev_break = false;
        } else if is_break(c) {
            line_breaks = true;
            leading |= i == 0;
            trailing_break |= i == last;
            space_break |= prev_space;
            prev_break = true;
            prev_space = false;
        } else {
            prev_space = false;
            prev_break = false;
        }
        preceded_by_ws = c == ' ' || c == '\t' || is_break(c);
    }
    let mut a = Analysis {
        block_plain: true,
        single: true,
        block: true,
    };
    if leading || trailing_space || trailing_break {
        a.block_plain = false;
    }
    if trailing_space {
        a.block = false;
    }
    if break_space {
        a.block_plain = false;
        a.single = false;
    }
    if space_break || special {
        a.block_plain = false;
        a.single = false;
        a.block = false;
    }
    if line_breaks || block_ind {
        a.block_plain = false;
    }
    a
}

static FLOAT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$").expect("valid regex")
});
static BASE60: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$").expect("valid regex")
});
static TIMESTAMP: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt][0-9]{1,2}:[0-9]{1,2}:[0-9]{1,2}(?:\.[0-9]+)?(?:Z|[-+][0-9]{2}:[0-9]{2})|[ ][0-9]{1,2}:[0-9]{1,2}:[0-9]{1,2}(?:\.[0-9]+)?)?$")
        .expect("valid regex")
});

/// Whether go-yaml v2 would read the plain text back as something other than a string.
fn ambiguous(s: &str) -> bool {
    if matches!(
        s,
        "" | "~"
            | "null"
            | "Null"
            | "NULL"
            | "y"
            | "Y"
            | "yes"
            | "Yes"
            | "YES"
            | "n"
            | "N"
            | "no"
            | "No"
            | "NO"
            | "true"
            | "True"
            | "TRUE"
            | "false"
            | "False"
            | "FALSE"
            | "on"
            | "On"
            | "ON"
            | "off"
            | "Off"
            | "OFF"
            | ".inf"
            | ".Inf"
            | ".INF"
            | "+.inf"
            | "+.Inf"
            | "+.INF"
            | "-.inf"
            | "-.Inf"
            | "-.INF"
            | ".nan"
            | ".NaN"
            | ".NAN"
    ) {
        return true;
    }
    let first = s.chars().next().unwrap_or(' ');
    if first == '.' {
        return s.parse::<f64>().is_ok();
    }
    if !(first.is_ascii_digit() || first == '-' || first == '+') {
        return false;
    }
    if TIMESTAMP.is_match(s) {
        return true;
    }
    let plain = s.replace('_', "");
    let body = plain.trim_start_matches(['-', '+']);
    let integer = {
        let lower = body.to_ascii_lowercase();
        let (digits, radix) = if let Some(h) = lower.strip_prefix("0x") {
            (h.to_string(), 16)
        } else if let Some(o) = lower.strip_prefix("0o") {
            (o.to_string(), 8)
        } else if let Some(b) = lower.strip_prefix("0b") {
            (b.to_string(), 2)
        } else if lower.len() > 1 && lower.starts_with('0') {
            (lower[1..].to_string(), 8)
        } else {
            (lower, 10)
        };
        plain.len() - body.len() <= 1
            && !digits.is_empty()
            && digits.chars().all(|c| c.is_digit(radix))
    };
    integer || FLOAT.is_match(&plain) || BASE60.is_match(s)
}

impl Emitter {
    fn column(&self) -> usize {
        self.out
            .rsplit('\n')
            .next()
            .map_or(0, |line| line.chars().count())
    }

    fn end_line(&mut self) {
        if !self.out.ends_with('\n') {
            self.out.push('\n');
        }
    }

    fn indent(&mut self, n: usize) {
        self.out.extend(std::iter::repeat_n(' ', n));
    }

    fn map(&mut self, m: &[(String, Y)], indent: usize, inline: bool) -> Result<(), String> {
        for (i, (k, v)) in m.iter().enumerate() {
            if i > 0 || !inline {
                self.indent(indent);
            }
            if k.contains(is_break) {
                return Err("toYaml: map keys with line breaks are not supported by kpush".into());
            }
            if k.len() > 128 {
                return Err(
                    "toYaml: map keys longer than 128 bytes are not supported by kpush".into(),
                );
            }
            self.string(k, indent, true);
            self.out.push(':');
            match v {
                Y::Map(m) if !m.is_empty() => {
                    self.out.push('\n');
                    self.map(m, indent + 2, false)?;
                }
                Y::Seq(s) if !s.is_empty() => {
                    self.out.push('\n');
                    self.seq(s, indent, false)?;
                }
                y => {
                    self.out.push(' ');
                    self.scalar(y, indent + 2, false)?;
                    self.end_line();
                }
            }
        }
        Ok(())
    }

    fn seq(&mut self, s: &[Y], indent: usize, inline: bool) -> Result<(), String> {
        for (i, item) in s.iter().enumerate() {
            if i > 0 || !inline {
                self.indent(indent);
            }
            self.out.push_str("- ");
            match item {
                Y::Map(m) if !m.is_empty() => self.map(m, indent + 2, true)?,
                Y::Seq(s) if !s.is_empty() => self.seq(s, indent + 2, true)?,
                y => {
                    self.scalar(y, indent + 2, false)?;
                    self.end_line();
                }
            }
        }
        Ok(())
    }

    /// A scalar or an empty collection; `indent` is where folded lines continue.
    fn scalar(&mut self, y: &Y, indent: usize, key: bool) -> Result<(), String> {
        match y {
            Y::Null => self.out.push_str("null"),
            Y::Bool(b) => self.out.push_str(if *b { "true" } else { "false" }),
            Y::Num(n) => self.out.push_str(n),
            Y::Str(s) => self.string(s, indent, key),
            Y::Seq(_) => self.out.push_str("[]"),
            Y::Map(_) => self.out.push_str("{}"),
        }
        Ok(())
    }

    fn string(&mut self, s: &str, indent: usize, key: bool) {
        let chars: Vec<char> = s.chars().collect();
        let fold = !key;
        match style(s, key) {
            Style::Plain => {
                let mut col = self.column();
                let mut spaces = false;
                for (i, &c) in chars.iter().enumerate() {
                    if c == ' ' {
                        if fold && !spaces && col > 80 && chars.get(i + 1) != Some(&' ') {
                            self.break_line(indent);
                            col = indent;
                        } else {
                            self.out.push(' ');
                            col += 1;
                        }
                        spaces = true;
                    } else {
                        self.out.push(c);
                        col += 1;
                        spaces = false;
                    }
                }
            }
            Style::Single => {
                self.out.push('\'');
                let mut col = self.column();
                let (mut spaces, mut breaks) = (false, false);
                for (i, &c) in chars.iter().enumerate() {
                    if is_break(c) {
                        // only U+0085, U+2028 and U+2029 get here; go-yaml indents after them
                        self.out.push(c);
                        col = 0;
                        breaks = true;
                    } else if c == ' ' {
                        if fold
                            && !spaces
                            && col > 80
                            && i > 0
                            && i + 1 < chars.len()
                            && chars[i + 1] != ' '
                        {
                            self.break_line(indent);
                            col = indent;
                        } else {
                            self.out.push(' ');
                            col += 1;
                        }
                        spaces = true;
                    } else {
                        if breaks {
                            self.indent(indent.saturating_sub(col));
                            col = col.max(indent);
                            breaks = false;
                        }
                        if c == '\'' {
                            self.out.push('\'');
                            col += 1;
                        }
                        self.out.push(c);
                        col += 1;
                        spaces = false;
                    }
                }
                self.out.push('\'');
            }
            Style::Double => {
                self.out.push('"');
                let mut col = self.column();
                let mut spaces = false;
                for (i, &c) in chars.iter().enumerate() {
                    if !is_printable(c) || c == '\u{FEFF}' || is_break(c) || c == '"' || c == '\\' {
                        let escaped = match c {
                            '\0' => "\\0".to_string(),
                            '\x07' => "\\a".into(),
                            '\x08' => "\\b".into(),
                            '\t' => "\\t".into(),
                            '\n' => "\\n".into(),
                            '\x0b' => "\\v".into(),
                            '\x0c' => "\\f".into(),
                            '\r' => "\\r".into(),
                            '\x1b' => "\\e".into(),
                            '"' => "\\\"".into(),
                            '\\' => "\\\\".into(),
                            '\u{85}' => "\\N".into(),
                            '\u{2028}' => "\\L".into(),
                            '\u{2029}' => "\\P".into(),
                            c if (c as u32) <= 0xFF => format!("\\x{:02X}", c as u32),
                            c if (c as u32) <= 0xFFFF => format!("\\u{:04X}", c as u32),
                            c => format!("\\U{:08X}", c as u32),
                        };
                        col += escaped.len();
                        self.out.push_str(&escaped);
                        spaces = false;
                    } else if c == ' ' {
                        if fold && !spaces && col > 80 && i > 0 && i + 1 < chars.len() {
                            self.break_line(indent);
                            col = indent;
                            if chars[i + 1] == ' ' {
                                self.out.push('\\');
                                col += 1;
                            }
                        } else {
                            self.out.push(' ');
                            col += 1;
                        }
                        spaces = true;
                    } else {
                        self.out.push(c);
                        col += 1;
                        spaces = false;
                    }
                }
                self.out.push('"');
            }
            Style::Literal => {
                self.out.push('|');
                if chars.first().is_some_and(|&c| c == ' ' || is_break(c)) {
                    self.out.push('2');
                }
                let n = chars.len();
                if !is_break(chars[n - 1]) {
                    self.out.push('-');
                } else if n == 1 || is_break(chars[n - 2]) {
                    self.out.push('+');
                }
                self.out.push('\n');
                let mut breaks = true;
                for &c in &chars {
                    if is_break(c) {
                        self.out.push(c);
                        breaks = true;
                    } else {
                        if breaks {
                            self.indent(indent);
                            breaks = false;
                        }
                        self.out.push(c);
                    }
                }
            }
        }
    }

    fn break_line(&mut self, indent: usize) {
        self.out.push('\n');
        self.indent(indent);
    }
}

/// go-yaml's choice of style for a string.
fn style(s: &str, key: bool) -> Style {
    let a = analyze(s);
    let mut style = if s.contains('\n') {
        Style::Literal
    } else if ambiguous(s) {
        Style::Double
    } else {
        Style::Plain
    };
    if style == Style::Plain && (!a.block_plain || (key && s.is_empty())) {
        style = Style::Single;
    }
    if style == Style::Single && !a.single {
        style = Style::Double;
    }
    if style == Style::Literal && (!a.block || key) {
        style = Style::Double;
    }
    style
}
