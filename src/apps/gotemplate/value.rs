//! What a template works on: Go's values as JSON data gives them, with Go's rules for truth,
//! types and printing (`fmt`'s `%v`), and `encoding/json`'s output.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use super::printf::format_float;
use super::semver::Version;

pub(super) type Map = BTreeMap<String, Value>;
/// Go maps are references: `set` changes the map every holder sees.
pub(super) type MapRef = Rc<RefCell<Map>>;

#[derive(Debug, Clone)]
pub(super) enum Value {
    /// Go's invalid value: a missing map key, a nil result after a pipeline; prints `<no value>`.
    Missing,
    /// A nil held in a map or a list (JSON null); prints `<nil>` inside a collection.
    Nil,
    Bool(bool),
    /// Go's ints (template literals, `len`, Sprig's arithmetic).
    Int(i64),
    /// Go's float64: every number of JSON data, as `encoding/json` decodes it.
    Float(f64),
    Str(String),
    List(Rc<Vec<Value>>),
    Map(MapRef),
    /// Sprig's `semver` result (a `*semver.Version`).
    Version(Rc<Version>),
}

impl Value {
    pub fn from_json(v: &serde_json::Value) -> Value {
        match v {
            serde_json::Value::Null => Value::Nil,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
            serde_json::Value::String(s) => Value::Str(s.clone()),
            serde_json::Value::Array(items) => {
                Value::list(items.iter().map(Value::from_json).collect())
            }
            serde_json::Value::Object(m) => Value::map(
                m.iter()
                    .map(|(k, v)| (k.clone(), Value::from_json(v)))
                    .collect(),
            ),
        }
    }

    pub fn list(items: Vec<Value>) -> Value {
        Value::List(Rc::new(items))
    }

    pub fn map(m: Map) -> Value {
        Value::Map(Rc::new(RefCell::new(m)))
    }

    pub fn is_nil(&self) -> bool {
        matches!(self, Value::Missing | Value::Nil)
    }

    /// What a pipeline hands on: Go unwraps a nil interface into the invalid value.
    pub fn dig(self) -> Value {
        match self {
            Value::Nil => Value::Missing,
            v => v,
        }
    }

    /// Go's `if`: false, 0, "", nil and empty collections are false.
    pub fn truth(&self) -> bool {
        match self {
            Value::Missing | Value::Nil => false,
            Value::Bool(b) => *b,
            Value::Int(i) => *i != 0,
            Value::Float(f) => *f != 0.0,
            Value::Str(s) => !s.is_empty(),
            Value::List(l) => !l.is_empty(),
            Value::Map(m) => !m.borrow().is_empty(),
            Value::Version(_) => true,
        }
    }

    /// Go's `%T`.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Missing | Value::Nil => "<nil>",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float64",
            Value::Str(_) => "string",
            Value::List(_) => "[]interface {}",
            Value::Map(_) => "map[string]interface {}",
            Value::Version(_) => "*semver.Version",
        }
    }

    /// `reflect.Kind`'s name, as Sprig's `kindOf` and its errors print it.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Value::Missing | Value::Nil => "invalid",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float64",
            Value::Str(_) => "string",
            Value::List(_) => "slice",
            Value::Map(_) => "map",
            Value::Version(_) => "ptr",
        }
    }
}

/// Go's `fmt.Sprint` of one value (`%v`).
pub(super) fn fmt_v(v: &Value) -> String {
    let mut out = String::new();
    write_v(&mut out, v);
    out
}

fn write_v(out: &mut String, v: &Value) {
    match v {
        Value::Missing | Value::Nil => out.push_str("<nil>"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => out.push_str(&i.to_string()),
        Value::Float(f) => out.push_str(&format_float(*f, 'g', None)),
        Value::Str(s) => out.push_str(s),
        Value::List(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                write_v(out, item);
            }
            out.push(']');
        }
        Value::Map(m) => {
            out.push_str("map[");
            for (i, (k, v)) in m.borrow().iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                out.push_str(k);
                out.push(':');
                write_v(out, v);
            }
            out.push(']');
        }
        Value::Version(ver) => out.push_str(&ver.to_string()),
    }
}

/// Sprig's `strval`: a string as it is, anything else as `%v`.
pub(super) fn strval(v: &Value) -> String {
    match v {
        Value::Str(s) => s.clone(),
        v => fmt_v(v),
    }
}

/// `reflect.DeepEqual`.
pub(super) fn deep_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (x, y) if x.is_nil() && y.is_nil() => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Int(x), Value::Int(y)) => x == y,
        (Value::Float(x), Value::Float(y)) => x == y,
        (Value::Str(x), Value::Str(y)) => x == y,
        (Value::List(x), Value::List(y)) => {
            x.len() == y.len() && x.iter().zip(y.iter()).all(|(p, q)| deep_eq(p, q))
        }
        (Value::Map(x), Value::Map(y)) => {
            Rc::ptr_eq(x, y) || {
                let (x, y) = (x.borrow(), y.borrow());
                x.len() == y.len()
                    && x.iter()
                        .all(|(k, v)| y.get(k).is_some_and(|w| deep_eq(v, w)))
            }
        }
        (Value::Version(x), Value::Version(y)) => x == y,
        _ => false,
    }
}

/// A copy sharing nothing with `v`.
pub(super) fn deep_copy(v: &Value) -> Value {
    match v {
        Value::List(items) => Value::list(items.iter().map(deep_copy).collect()),
        Value::Map(m) => Value::map(
            m.borrow()
                .iter()
                .map(|(k, v)| (k.clone(), deep_copy(v)))
                .collect(),
        ),
        v => v.clone(),
    }
}

/// Whether `v` holds the map `target`, so that storing `v` in it would make a cycle.
pub(super) fn holds(v: &Value, target: &MapRef) -> bool {
    match v {
        Value::Map(m) => Rc::ptr_eq(m, target) || m.borrow().values().any(|v| holds(v, target)),
        Value::List(items) => items.iter().any(|v| holds(v, target)),
        _ => false,
    }
}

/// Go's `strconv.Quote` (what `%q` and Sprig's `quote` print).
pub(super) fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x0b' => out.push_str("\\v"),
            c if is_print(c) => out.push(c),
            c if (c as u32) < 0x80 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push_str(&format!("\\U{:08x}", c as u32)),
        }
    }
    out.push('"');
    out
}

/// Go's `unicode.IsPrint`, near enough: controls, non-ASCII spaces and format characters are
/// not printable.
pub(super) fn is_print(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    let u = c as u32;
    !matches!(u,
        0xAD | 0x600..=0x605 | 0x61C | 0x6DD | 0x70F | 0x180E | 0x200B..=0x200F
        | 0x202A..=0x202E | 0x2060..=0x206F | 0xFEFF | 0xFFF9..=0xFFFB | 0xE000..=0xF8FF
        | 0xF0000..=0x10FFFF)
}

/// `encoding/json`'s output: sorted keys, Go's number format, HTML characters escaped unless
/// `raw`, two-space indentation when `pretty`.
pub(super) fn to_json(v: &Value, raw: bool, pretty: bool) -> Result<String, String> {
    let mut out = String::new();
    write_json(&mut out, v, raw, pretty.then_some(0))?;
    Ok(out)
}

fn write_json(out: &mut String, v: &Value, raw: bool, indent: Option<usize>) -> Result<(), String> {
    let newline = |out: &mut String, level: usize| {
        out.push('\n');
        out.push_str(&"  ".repeat(level));
    };
    match v {
        Value::Missing | Value::Nil => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => out.push_str(&i.to_string()),
        Value::Float(f) => out.push_str(&json_float(*f)?),
        Value::Str(s) => json_string(out, s, raw),
        Value::Version(ver) => json_string(out, &ver.to_string(), raw),
        Value::List(items) => {
            if items.is_empty() {
                out.push_str("[]");
                return Ok(());
            }
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                if let Some(level) = indent {
                    newline(out, level + 1);
                }
                write_json(out, item, raw, indent.map(|l| l + 1))?;
            }
            if let Some(level) = indent {
                newline(out, level);
            }
            out.push(']');
        }
        Value::Map(m) => {
            let m = m.borrow();
            if m.is_empty() {
                out.push_str("{}");
                return Ok(());
            }
            out.push('{');
            for (i, (k, item)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                if let Some(level) = indent {
                    newline(out, level + 1);
                }
                json_string(out, k, raw);
                out.push(':');
                if indent.is_some() {
                    out.push(' ');
                }
                write_json(out, item, raw, indent.map(|l| l + 1))?;
            }
            if let Some(level) = indent {
                newline(out, level);
            }
            out.push('}');
        }
    }
    Ok(())
}

/// A float as `encoding/json` writes it: fixed notation, exponent below 1e-6 and from 1e21.
pub(super) fn json_float(f: f64) -> Result<String, String> {
    if !f.is_finite() {
        return Err(format!(
            "json: unsupported value: {}",
            format_float(f, 'g', None)
        ));
    }
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        // e-07 is written e-7
        let s = format_float(f, 'e', None);
        return Ok(match s.find("e-0") {
            Some(i) if s.len() == i + 4 => format!("{}e-{}", &s[..i], &s[i + 3..]),
            _ => s,
        });
    }
    Ok(format_float(f, 'f', None))
}

fn json_string(out: &mut String, s: &str, raw: bool) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '<' | '>' | '&' if !raw => out.push_str(&format!("\\u{:04x}", c as u32)),
            '\u{2028}' | '\u{2029}' => out.push_str(&format!("\\u{:04x}", c as u32)),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}
