//! Sprig's functions as Argo CD offers them (all but `env`, `expandenv` and `getHostByName`),
//! and Argo CD's own: `normalize`, `slugify`, `toYaml`, `fromYaml`, `fromYamlArray` (`tpl`
//! lives with the executor). Arguments are typed as Sprig's Go signatures type them: a
//! function taking a string refuses a number, as Go's template engine does.

use std::cell::RefCell;
use std::rc::Rc;

use base64::Engine;
use regex::Regex;

use super::printf::format_float;
use super::semver::{self, Version};
use super::text::{
    b32dec, b32enc, base, camelcase, clean, delimit, dir, ext, go_replace, go_split, hex, initials,
    map_case, normalize, quote_meta, regex_split, swapcase, title, untitle, url_parse, wrap,
};
use super::value::{
    Map, MapRef, Value, deep_copy, deep_eq, fmt_v, go_quote, holds, strval, to_json,
};
use super::yaml;

/// A function's name and arguments, with Go's checks of their number and types.
pub(super) struct Args<'a> {
    pub name: &'a str,
    pub v: Vec<Value>,
}

impl Args<'_> {
    /// An error of the function itself, as Go reports it.
    pub fn fail(&self, message: impl std::fmt::Display) -> String {
        format!("error calling {}: {message}", self.name)
    }

    pub fn count(&self, n: usize) -> Result<(), String> {
        if self.v.len() == n {
            return Ok(());
        }
        Err(format!(
            "wrong number of args for {}: want {n} got {}",
            self.name,
            self.v.len()
        ))
    }

    pub fn at_least(&self, n: usize) -> Result<(), String> {
        if self.v.len() >= n {
            return Ok(());
        }
        Err(format!(
            "wrong number of args for {}: want at least {n} got {}",
            self.name,
            self.v.len()
        ))
    }

    fn wrong(&self, i: usize, want: &str) -> String {
        match &self.v[i] {
            Value::Missing | Value::Nil => format!("invalid value; expected {want}"),
            v => format!(
                "wrong type for value; expected {want}; got {}",
                v.type_name()
            ),
        }
    }

    pub fn str(&self, i: usize) -> Result<String, String> {
        match &self.v[i] {
            Value::Str(s) => Ok(s.clone()),
            _ => Err(self.wrong(i, "string")),
        }
    }

    pub fn int(&self, i: usize) -> Result<i64, String> {
        match &self.v[i] {
            Value::Int(n) => Ok(*n),
            _ => Err(self.wrong(i, "int")),
        }
    }

    fn float(&self, i: usize) -> Result<f64, String> {
        match &self.v[i] {
            Value::Float(f) => Ok(*f),
            Value::Int(n) => Ok(*n as f64),
            _ => Err(self.wrong(i, "float64")),
        }
    }

    fn boolean(&self, i: usize) -> Result<bool, String> {
        match &self.v[i] {
            Value::Bool(b) => Ok(*b),
            _ => Err(self.wrong(i, "bool")),
        }
    }

    /// A `map[string]interface{}` argument; nil is Go's nil map.
    fn map(&self, i: usize) -> Result<Option<MapRef>, String> {
        match &self.v[i] {
            Value::Map(m) => Ok(Some(m.clone())),
            Value::Missing | Value::Nil => Ok(None),
            _ => Err(self.wrong(i, "map[string]interface {}")),
        }
    }

    /// A list for Sprig's list functions, which name the type they cannot work on.
    fn list(&self, i: usize, what: &str) -> Result<Rc<Vec<Value>>, String> {
        match &self.v[i] {
            Value::List(l) => Ok(l.clone()),
            Value::Missing | Value::Nil => {
                Err(self.fail("runtime error: invalid memory address or nil pointer dereference"))
            }
            v => Err(self.fail(what.replace("{}", v.kind_name()))),
        }
    }

    fn strs(&self, from: usize) -> Result<Vec<String>, String> {
        (from..self.v.len()).map(|i| self.str(i)).collect()
    }
}

const ENV: &str = "is not available in ApplicationSet templates (Argo CD removes it)";
const CLOCK: &str = "is not supported by kpush: dates depend on the clock or on Go's time values, and a commit must render the same way every time";
const RANDOM: &str = "is not supported by kpush: its result is random, and a commit must render the same way every time";
const UNSUPPORTED: &str = "is not supported by kpush";

/// Functions kpush implements.
const KNOWN: &[&str] = &[
    // strings
    "abbrev",
    "abbrevboth",
    "trunc",
    "trim",
    "upper",
    "lower",
    "title",
    "untitle",
    "substr",
    "repeat",
    "trimall",
    "trimAll",
    "trimSuffix",
    "trimPrefix",
    "nospace",
    "initials",
    "swapcase",
    "snakecase",
    "camelcase",
    "kebabcase",
    "wrap",
    "wrapWith",
    "contains",
    "hasPrefix",
    "hasSuffix",
    "quote",
    "squote",
    "cat",
    "indent",
    "nindent",
    "replace",
    "plural",
    "sha1sum",
    "sha256sum",
    "adler32sum",
    "toString",
    "hello",
    // conversions and lists of strings
    "atoi",
    "int64",
    "int",
    "float64",
    "seq",
    "toDecimal",
    "split",
    "splitList",
    "splitn",
    "toStrings",
    "join",
    "sortAlpha",
    // arithmetic
    "until",
    "untilStep",
    "add1",
    "add",
    "sub",
    "div",
    "mod",
    "mul",
    "add1f",
    "addf",
    "subf",
    "divf",
    "mulf",
    "biggest",
    "max",
    "min",
    "maxf",
    "minf",
    "ceil",
    "floor",
    "round",
    // defaults, JSON, reflection
    "default",
    "empty",
    "coalesce",
    "all",
    "any",
    "compact",
    "mustCompact",
    "fromJson",
    "toJson",
    "toPrettyJson",
    "toRawJson",
    "mustFromJson",
    "mustToJson",
    "mustToPrettyJson",
    "mustToRawJson",
    "ternary",
    "deepCopy",
    "mustDeepCopy",
    "typeOf",
    "typeIs",
    "typeIsLike",
    "kindOf",
    "kindIs",
    "deepEqual",
    // paths, encodings, URLs
    "base",
    "dir",
    "clean",
    "ext",
    "isAbs",
    "osBase",
    "osClean",
    "osDir",
    "osExt",
    "osIsAbs",
    "b64enc",
    "b64dec",
    "b32enc",
    "b32dec",
    "urlParse",
    // dicts and lists
    "tuple",
    "list",
    "dict",
    "get",
    "set",
    "unset",
    "hasKey",
    "pluck",
    "keys",
    "pick",
    "omit",
    "merge",
    "mergeOverwrite",
    "mustMerge",
    "mustMergeOverwrite",
    "values",
    "append",
    "push",
    "mustAppend",
    "mustPush",
    "prepend",
    "mustPrepend",
    "first",
    "mustFirst",
    "rest",
    "mustRest",
    "last",
    "mustLast",
    "initial",
    "mustInitial",
    "reverse",
    "mustReverse",
    "uniq",
    "mustUniq",
    "without",
    "mustWithout",
    "has",
    "mustHas",
    "slice",
    "mustSlice",
    "concat",
    "dig",
    "chunk",
    "mustChunk",
    // semver, flow, regular expressions
    "semver",
    "semverCompare",
    "fail",
    "regexMatch",
    "mustRegexMatch",
    "regexFindAll",
    "mustRegexFindAll",
    "regexFind",
    "mustRegexFind",
    "regexReplaceAll",
    "mustRegexReplaceAll",
    "regexReplaceAllLiteral",
    "mustRegexReplaceAllLiteral",
    "regexSplit",
    "mustRegexSplit",
    "regexQuoteMeta",
    // Argo CD's
    "normalize",
    "slugify",
    "toYaml",
    "fromYaml",
    "fromYamlArray",
];

#[cfg(test)]
pub(super) fn known() -> &'static [&'static str] {
    KNOWN
}

/// Whether a function exists: `Ok` if kpush implements it, `Err` with why it is refused.
pub(super) fn lookup(name: &str) -> Option<Result<(), &'static str>> {
    if KNOWN.contains(&name) {
        return Some(Ok(()));
    }
    Some(Err(match name {
        "env" | "expandenv" | "getHostByName" => ENV,
        "now" | "date" | "dateInZone" | "date_in_zone" | "dateModify" | "date_modify"
        | "mustDateModify" | "must_date_modify" | "ago" | "toDate" | "mustToDate" | "unixEpoch"
        | "htmlDate" | "htmlDateInZone" | "duration" | "durationRound" => CLOCK,
        "randAlphaNum"
        | "randAlpha"
        | "randAscii"
        | "randNumeric"
        | "randInt"
        | "randBytes"
        | "uuidv4"
        | "shuffle"
        | "genPrivateKey"
        | "genCA"
        | "genCAWithKey"
        | "genSelfSignedCert"
        | "genSelfSignedCertWithKey"
        | "genSignedCert"
        | "genSignedCertWithKey"
        | "buildCustomCert"
        | "bcrypt"
        | "htpasswd"
        | "encryptAES" => RANDOM,
        "derivePassword" | "decryptAES" | "urlJoin" | "call" => UNSUPPORTED,
        _ => return None,
    }))
}

/// `cast.ToInt64`: numbers truncate, strings parse (else 0), true is 1, anything else 0.
fn to_i64(v: &Value) -> i64 {
    match v {
        Value::Int(i) => *i,
        Value::Float(f) => *f as i64,
        Value::Bool(b) => i64::from(*b),
        Value::Str(s) => parse_int(&trim_zero_decimal(s)).unwrap_or(0),
        _ => 0,
    }
}

/// `cast.ToFloat64`.
fn to_f64(v: &Value) -> f64 {
    match v {
        Value::Int(i) => *i as f64,
        Value::Float(f) => *f,
        Value::Bool(b) => f64::from(u8::from(*b)),
        Value::Str(s) => s.parse().unwrap_or(0.0),
        _ => 0.0,
    }
}

/// "1.00" is "1" to cast, so that it parses as an integer.
fn trim_zero_decimal(s: &str) -> String {
    let mut found_zero = false;
    for (i, c) in s.char_indices().rev() {
        match c {
            '.' if found_zero => return s[..i].to_string(),
            '0' => found_zero = true,
            _ => return s.to_string(),
        }
    }
    s.to_string()
}

/// Go's `strconv.ParseInt(s, 0, 64)`: a sign, then `0x`, `0o`, `0b` or `0` (octal) prefixes.
fn parse_int(s: &str) -> Option<i64> {
    let (neg, body) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
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
        (lower.clone(), 10)
    };
    let digits = if radix == 10 {
        digits
    } else {
        digits.replace('_', "")
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    let u = u64::from_str_radix(&digits, radix).ok()?;
    if neg {
        0i64.checked_sub_unsigned(u)
    } else {
        i64::try_from(u).ok()
    }
}

/// Sprig's `strslice`: a list's non-nil items as strings; nil is empty; else one string.
fn strslice(v: &Value) -> Vec<String> {
    match v {
        Value::List(items) => items.iter().filter(|i| !i.is_nil()).map(strval).collect(),
        v if v.is_nil() => Vec::new(),
        v => vec![strval(v)],
    }
}

fn strings(items: Vec<String>) -> Value {
    Value::list(items.into_iter().map(Value::Str).collect())
}

fn regex(a: &Args, i: usize) -> Result<Regex, String> {
    let pattern = a.str(i)?;
    Regex::new(&pattern).map_err(|e| a.fail(format!("error parsing regexp: {e}")))
}

/// Argo CD's `slugify`: `normalize`, then gosimple/slug with a maximum length and, when
/// smart, a cut at the last `-` before it.
fn slugify(a: &Args) -> Result<Value, String> {
    let mut max = 50i64;
    let mut smart = true;
    let mut name = String::new();
    let n = a.v.len();
    for (i, v) in a.v.iter().enumerate() {
        let conversion = |want: &str| {
            a.fail(format!(
                "interface conversion: interface {{}} is {}, not {want}",
                v.type_name()
            ))
        };
        if i == n - 1 {
            let Value::Str(s) = v else {
                return Err(conversion("string"));
            };
            name = s.clone();
        } else if i == 0 {
            let Value::Int(m) = v else {
                return Err(conversion("int"));
            };
            max = *m;
        } else if i == 1 {
            let Value::Bool(b) = v else {
                return Err(conversion("bool"));
            };
            smart = *b;
        }
    }
    let mut slug = normalize(&name);
    if !smart && slug.len() as i64 >= max {
        slug.truncate(max.max(0) as usize);
    }
    let slug = slug.replace('.', "-");
    let mut collapsed = String::with_capacity(slug.len());
    for c in slug.chars() {
        if !(c == '-' && collapsed.ends_with('-')) {
            collapsed.push(c);
        }
    }
    let mut slug = collapsed.trim_matches(['-', '_']).to_string();
    if max > 0 && smart && slug.len() as i64 > max {
        let max = max as usize;
        let cut = slug.as_bytes()[..=max].iter().rposition(|&b| b == b'-');
        slug.truncate(cut.unwrap_or(max));
    }
    Ok(Value::Str(slug))
}

/// mergo's `Merge` of maps (with `overwrite`, `WithOverride`): nested maps merge, a value
/// fills a missing or empty one, and with `overwrite` replaces it.
fn merge_into(dst: &MapRef, src: &MapRef, overwrite: bool) -> Result<(), String> {
    if Rc::ptr_eq(dst, src) {
        return Ok(());
    }
    let entries: Vec<(String, Value)> = src
        .borrow()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for (k, sv) in entries {
        if holds(&sv, dst) {
            return Err("merging would make a map contain itself".into());
        }
        let dv = dst.borrow().get(&k).cloned();
        if sv.is_nil() {
            if overwrite {
                dst.borrow_mut().insert(k, Value::Nil);
            }
            continue;
        }
        let dst_empty = dv.as_ref().is_none_or(|d| !d.truth());
        match &sv {
            Value::List(_) if overwrite => {
                dst.borrow_mut().insert(k, sv);
                continue;
            }
            Value::Map(sm) => {
                if let Some(Value::Map(dm)) = &dv {
                    merge_into(dm, sm, overwrite)?;
                }
                if !dst_empty {
                    continue;
                }
            }
            Value::List(_) if !dst_empty => continue,
            _ => {}
        }
        if overwrite || dst_empty {
            dst.borrow_mut().insert(k, sv);
        }
    }
    Ok(())
}

fn json_value(a: &Args, text: &str) -> Result<Value, String> {
    serde_json::from_str::<serde_json::Value>(text)
        .map(|v| Value::from_json(&v))
        .map_err(|e| a.fail(e))
}

pub(super) fn call(a: Args) -> Result<Value, String> {
    let v = &a.v;
    let s = |i: usize| a.str(i);
    let i = |i: usize| a.int(i);
    let str_value = |s: String| -> Result<Value, String> { Ok(Value::Str(s)) };
    match a.name {
        // strings
        "abbrev" => {
            a.count(2)?;
            let (width, text) = (i(0)?, s(1)?);
            if width < 4 || text.len() as i64 <= width {
                return str_value(text);
            }
            str_value(format!(
                "{}...",
                byte_prefix(&a, &text, (width - 3) as usize)?
            ))
        }
        "abbrevboth" => {
            a.count(3)?;
            let (left, right, text) = (i(0)?, i(1)?, s(2)?);
            if right < 4 || (left > 0 && right < 7) || text.len() as i64 <= right {
                return str_value(text);
            }
            let len = text.len() as i64;
            let mut offset = left.clamp(0, len);
            if len - offset < right - 3 {
                offset = len - (right - 3);
            }
            if offset <= 4 {
                return str_value(format!(
                    "{}...",
                    byte_prefix(&a, &text, (right - 3) as usize)?
                ));
            }
            let tail = byte_suffix(&a, &text, offset as usize)?;
            if offset + right - 3 < len {
                let inner = if (tail.len() as i64) <= right - 3 {
                    tail.to_string()
                } else {
                    format!("{}...", byte_prefix(&a, tail, (right - 6) as usize)?)
                };
                return str_value(format!("...{inner}"));
            }
            str_value(format!(
                "...{}",
                byte_suffix(&a, &text, (len - (right - 3)) as usize)?
            ))
        }
        "trunc" => {
            a.count(2)?;
            let (c, text) = (i(0)?, s(1)?);
            let len = text.len() as i64;
            if c < 0 && len + c > 0 {
                return str_value(byte_suffix(&a, &text, (len + c) as usize)?.to_string());
            }
            if c >= 0 && len > c {
                return str_value(byte_prefix(&a, &text, c as usize)?.to_string());
            }
            str_value(text)
        }
        "trim" => one(&a, |t| t.trim().to_string()),
        "upper" => one(&a, |t| map_case(t, true)),
        "lower" => one(&a, |t| map_case(t, false)),
        "title" => one(&a, title),
        "untitle" => one(&a, untitle),
        "nospace" => one(&a, |t| t.chars().filter(|c| !c.is_whitespace()).collect()),
        "initials" => one(&a, initials),
        "swapcase" => one(&a, swapcase),
        "snakecase" => one(&a, |t| delimit(t, '_')),
        "kebabcase" => one(&a, |t| delimit(t, '-')),
        "camelcase" => one(&a, camelcase),
        "substr" => {
            a.count(3)?;
            let (start, end, text) = (i(0)?, i(1)?, s(2)?);
            let len = text.len() as i64;
            let (from, to) = if start < 0 {
                (0, end)
            } else if end < 0 || end > len {
                (start, len)
            } else {
                (start, end)
            };
            if from < 0 || to < from || to > len {
                return Err(a.fail(format!(
                    "runtime error: slice bounds out of range [{from}:{to}]"
                )));
            }
            let out = text
                .get(from as usize..to as usize)
                .ok_or_else(|| a.fail("the cut would split a multi-byte character (kpush refuses to produce invalid UTF-8)"))?;
            str_value(out.to_string())
        }
        "repeat" => {
            a.count(2)?;
            let (count, text) = (i(0)?, s(1)?);
            if count < 0 {
                return Err(a.fail("strings: negative Repeat count"));
            }
            if text.len().saturating_mul(count as usize) > 1 << 24 {
                return Err(a.fail("the result would be larger than kpush allows (16 MiB)"));
            }
            str_value(text.repeat(count as usize))
        }
        "trimall" | "trimAll" => two(&a, |cut, t| t.trim_matches(|c| cut.contains(c)).to_string()),
        "trimSuffix" => two(&a, |x, t| t.strip_suffix(x).unwrap_or(t).to_string()),
        "trimPrefix" => two(&a, |x, t| t.strip_prefix(x).unwrap_or(t).to_string()),
        "wrap" => {
            a.count(2)?;
            str_value(wrap(&s(1)?, i(0)?, "", false))
        }
        "wrapWith" => {
            a.count(3)?;
            str_value(wrap(&s(2)?, i(0)?, &s(1)?, true))
        }
        "contains" | "hasPrefix" | "hasSuffix" => {
            a.count(2)?;
            let (x, t) = (s(0)?, s(1)?);
            Ok(Value::Bool(match a.name {
                "contains" => t.contains(&x),
                "hasPrefix" => t.starts_with(&x),
                _ => t.ends_with(&x),
            }))
        }
        "quote" | "squote" => {
            let parts: Vec<String> = v
                .iter()
                .filter(|x| !x.is_nil())
                .map(|x| {
                    if a.name == "quote" {
                        go_quote(&strval(x))
                    } else {
                        format!("'{}'", fmt_v(x))
                    }
                })
                .collect();
            str_value(parts.join(" "))
        }
        "cat" => {
            let parts: Vec<String> = v.iter().filter(|x| !x.is_nil()).map(fmt_v).collect();
            str_value(parts.join(" "))
        }
        "indent" | "nindent" => {
            a.count(2)?;
            let (n, text) = (i(0)?, s(1)?);
            if n < 0 {
                return Err(a.fail("strings: negative Repeat count"));
            }
            let lines = text.matches('\n').count() + 1;
            if (n as usize)
                .saturating_mul(lines)
                .saturating_add(text.len())
                > 1 << 24
            {
                return Err(a.fail("the result would be larger than kpush allows (16 MiB)"));
            }
            let pad = " ".repeat(n as usize);
            let indented = format!("{pad}{}", text.replace('\n', &format!("\n{pad}")));
            str_value(if a.name == "nindent" {
                format!("\n{indented}")
            } else {
                indented
            })
        }
        "replace" => {
            a.count(3)?;
            let (old, new, text) = (s(0)?, s(1)?, s(2)?);
            str_value(go_replace(&text, &old, &new))
        }
        "plural" => {
            a.count(3)?;
            let (one, many, count) = (s(0)?, s(1)?, i(2)?);
            str_value(if count == 1 { one } else { many })
        }
        "sha1sum" => one(&a, |t| {
            hex(
                ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, t.as_bytes())
                    .as_ref(),
            )
        }),
        "sha256sum" => one(&a, |t| {
            hex(ring::digest::digest(&ring::digest::SHA256, t.as_bytes()).as_ref())
        }),
        "adler32sum" => one(&a, |t| {
            let (mut x, mut y) = (1u32, 0u32);
            for b in t.bytes() {
                x = (x + u32::from(b)) % 65521;
                y = (y + x) % 65521;
            }
            ((y << 16) | x).to_string()
        }),
        "toString" => {
            a.count(1)?;
            str_value(strval(&v[0]))
        }
        "hello" => {
            a.count(0)?;
            str_value("Hello!".into())
        }

        // conversions
        "atoi" => {
            a.count(1)?;
            Ok(Value::Int(s(0)?.parse::<i64>().unwrap_or(0)))
        }
        "int" | "int64" => {
            a.count(1)?;
            Ok(Value::Int(to_i64(&v[0])))
        }
        "float64" => {
            a.count(1)?;
            Ok(Value::Float(to_f64(&v[0])))
        }
        "toDecimal" => {
            a.count(1)?;
            Ok(Value::Int(
                i64::from_str_radix(&strval(&v[0]), 8).unwrap_or(0),
            ))
        }
        "split" | "splitn" => {
            let (sep, n, text) = if a.name == "split" {
                a.count(2)?;
                (s(0)?, -1, s(1)?)
            } else {
                a.count(3)?;
                (s(0)?, i(1)?, s(2)?)
            };
            let parts = go_split(&text, &sep, n);
            Ok(Value::map(
                parts
                    .into_iter()
                    .enumerate()
                    .map(|(i, p)| (format!("_{i}"), Value::Str(p)))
                    .collect(),
            ))
        }
        "splitList" => {
            a.count(2)?;
            Ok(strings(go_split(&s(1)?, &s(0)?, -1)))
        }
        "toStrings" => {
            a.count(1)?;
            Ok(strings(strslice(&v[0])))
        }
        "join" => {
            a.count(2)?;
            str_value(strslice(&v[1]).join(&s(0)?))
        }
        "sortAlpha" => {
            a.count(1)?;
            let mut items = match &v[0] {
                Value::List(_) => strslice(&v[0]),
                other => vec![strval(other)],
            };
            items.sort();
            Ok(strings(items))
        }
        "seq" => {
            let n: Vec<i64> = (0..v.len()).map(i).collect::<Result<_, _>>()?;
            let (start, step, end) = match n.as_slice() {
                [end] => (1, if *end < 1 { -1 } else { 1 }, *end),
                [start, end] => (*start, if end < start { -1 } else { 1 }, *end),
                [start, step, end] => {
                    if end < start && *step > 0 {
                        return str_value(String::new());
                    }
                    (*start, *step, *end)
                }
                _ => return str_value(String::new()),
            };
            let increment = if end < start { -1 } else { 1 };
            let items = until_step(&a, start, end + increment, step)?;
            let parts: Vec<String> = items.iter().map(|x| x.to_string()).collect();
            str_value(parts.join(" "))
        }

        // arithmetic
        "until" => {
            a.count(1)?;
            let n = i(0)?;
            int_list(until_step(&a, 0, n, if n < 0 { -1 } else { 1 })?)
        }
        "untilStep" => {
            a.count(3)?;
            int_list(until_step(&a, i(0)?, i(1)?, i(2)?)?)
        }
        "add1" => {
            a.count(1)?;
            Ok(Value::Int(to_i64(&v[0]).wrapping_add(1)))
        }
        "add" => Ok(Value::Int(
            v.iter().fold(0i64, |acc, x| acc.wrapping_add(to_i64(x))),
        )),
        "sub" | "div" | "mod" => {
            a.count(2)?;
            let (x, y) = (to_i64(&v[0]), to_i64(&v[1]));
            if a.name != "sub" && y == 0 {
                return Err(a.fail("runtime error: integer divide by zero"));
            }
            Ok(Value::Int(match a.name {
                "sub" => x.wrapping_sub(y),
                "div" => x.wrapping_div(y),
                _ => x.wrapping_rem(y),
            }))
        }
        "mul" => {
            a.at_least(1)?;
            Ok(Value::Int(
                v[1..]
                    .iter()
                    .fold(to_i64(&v[0]), |acc, x| acc.wrapping_mul(to_i64(x))),
            ))
        }
        "max" | "biggest" | "min" => {
            a.at_least(1)?;
            let all = v.iter().map(to_i64);
            Ok(Value::Int(if a.name == "min" {
                all.min().unwrap_or(0)
            } else {
                all.max().unwrap_or(0)
            }))
        }
        "maxf" | "minf" => {
            a.at_least(1)?;
            let first = to_f64(&v[0]);
            Ok(Value::Float(v[1..].iter().map(to_f64).fold(
                first,
                |acc, x| {
                    if a.name == "maxf" {
                        go_max(acc, x)
                    } else {
                        go_min(acc, x)
                    }
                },
            )))
        }
        "add1f" | "addf" | "subf" | "mulf" | "divf" => decimal_op(&a),
        "floor" | "ceil" => {
            a.count(1)?;
            let x = to_f64(&v[0]);
            Ok(Value::Float(if a.name == "floor" {
                x.floor()
            } else {
                x.ceil()
            }))
        }
        "round" => {
            a.at_least(2)?;
            let places = i(1)?;
            let round_on = if v.len() > 2 { a.float(2)? } else { 0.5 };
            let pow = 10f64.powf(places as f64);
            let digit = pow * to_f64(&v[0]);
            let rounded = if digit.fract() >= round_on {
                digit.ceil()
            } else {
                digit.floor()
            };
            Ok(Value::Float(rounded / pow))
        }

        // defaults, JSON, reflection
        "default" => {
            a.at_least(1)?;
            Ok(match v.get(1) {
                Some(given) if given.truth() => given.clone(),
                _ => v[0].clone(),
            })
        }
        "empty" => {
            a.count(1)?;
            Ok(Value::Bool(!v[0].truth()))
        }
        "coalesce" => Ok(v.iter().find(|x| x.truth()).cloned().unwrap_or(Value::Nil)),
        "all" => Ok(Value::Bool(v.iter().all(Value::truth))),
        "any" => Ok(Value::Bool(v.iter().any(Value::truth))),
        "compact" | "mustCompact" => {
            a.count(1)?;
            let l = a.list(0, "Cannot compact on type {}")?;
            Ok(Value::list(
                l.iter().filter(|x| x.truth()).cloned().collect(),
            ))
        }
        "fromJson" | "mustFromJson" => {
            a.count(1)?;
            let text = s(0)?;
            match json_value(&a, &text) {
                Ok(v) => Ok(v),
                Err(_) if a.name == "fromJson" => Ok(Value::Nil),
                Err(e) => Err(e),
            }
        }
        "toJson" | "toPrettyJson" | "toRawJson" | "mustToJson" | "mustToPrettyJson"
        | "mustToRawJson" => {
            a.count(1)?;
            let pretty = a.name.ends_with("PrettyJson");
            let raw = a.name.ends_with("RawJson");
            match to_json(&v[0], raw, pretty) {
                Ok(j) => str_value(j),
                Err(_) if !a.name.starts_with("must") => str_value(String::new()),
                Err(e) => Err(a.fail(e)),
            }
        }
        "ternary" => {
            a.count(3)?;
            Ok(if a.boolean(2)? {
                v[0].clone()
            } else {
                v[1].clone()
            })
        }
        "deepCopy" | "mustDeepCopy" => {
            a.count(1)?;
            if v[0].is_nil() {
                return Err(a.fail("Cannot deep copy nil"));
            }
            Ok(deep_copy(&v[0]))
        }
        "typeOf" => {
            a.count(1)?;
            str_value(v[0].type_name().into())
        }
        "kindOf" => {
            a.count(1)?;
            str_value(v[0].kind_name().into())
        }
        "typeIs" | "typeIsLike" | "kindIs" => {
            a.count(2)?;
            let target = s(0)?;
            let actual = if a.name == "kindIs" {
                v[1].kind_name()
            } else {
                v[1].type_name()
            };
            Ok(Value::Bool(
                target == actual || (a.name == "typeIsLike" && format!("*{target}") == actual),
            ))
        }
        "deepEqual" => {
            a.count(2)?;
            Ok(Value::Bool(deep_eq(&v[0], &v[1])))
        }

        // paths, encodings, URLs
        "base" | "osBase" => one(&a, base),
        "dir" | "osDir" => one(&a, dir),
        "clean" | "osClean" => one(&a, clean),
        "ext" | "osExt" => one(&a, ext),
        "isAbs" | "osIsAbs" => {
            a.count(1)?;
            Ok(Value::Bool(s(0)?.starts_with('/')))
        }
        "b64enc" => one(&a, |t| base64::engine::general_purpose::STANDARD.encode(t)),
        "b64dec" => one(&a, |t| {
            match base64::engine::general_purpose::STANDARD.decode(t) {
                Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
                Err(base64::DecodeError::InvalidByte(at, _))
                | Err(base64::DecodeError::InvalidLastSymbol { offset: at, .. }) => {
                    format!("illegal base64 data at input byte {at}")
                }
                Err(_) => format!("illegal base64 data at input byte {}", t.len()),
            }
        }),
        "b32enc" => one(&a, |t| b32enc(t.as_bytes())),
        "b32dec" => one(&a, |t| match b32dec(t) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(e) => e,
        }),
        "urlParse" => {
            a.count(1)?;
            let url = s(0)?;
            let parsed = url_parse(&url).map_err(|e| {
                a.fail(format!(
                    "unable to parse url: parse {}: {e}",
                    go_quote(&url)
                ))
            })?;
            Ok(Value::map(parsed))
        }

        // dicts
        "dict" => {
            let mut m = Map::new();
            for pair in v.chunks(2) {
                let value = pair.get(1).cloned().unwrap_or(Value::Str(String::new()));
                m.insert(strval(&pair[0]), value);
            }
            Ok(Value::map(m))
        }
        "get" => {
            a.count(2)?;
            let (m, key) = (a.map(0)?, s(1)?);
            Ok(m.and_then(|m| m.borrow().get(&key).cloned())
                .unwrap_or(Value::Str(String::new())))
        }
        "set" => {
            a.count(3)?;
            let (m, key) = (a.map(0)?, s(1)?);
            let Some(m) = m else {
                return Err(a.fail("assignment to entry in nil map"));
            };
            if holds(&v[2], &m) {
                return Err(a.fail("a map cannot contain itself"));
            }
            m.borrow_mut().insert(key, v[2].clone());
            Ok(Value::Map(m))
        }
        "unset" => {
            a.count(2)?;
            let (m, key) = (a.map(0)?, s(1)?);
            Ok(match m {
                Some(m) => {
                    m.borrow_mut().remove(&key);
                    Value::Map(m)
                }
                None => Value::Nil,
            })
        }
        "hasKey" => {
            a.count(2)?;
            let (m, key) = (a.map(0)?, s(1)?);
            Ok(Value::Bool(
                m.is_some_and(|m| m.borrow().contains_key(&key)),
            ))
        }
        "pluck" => {
            a.at_least(1)?;
            let key = s(0)?;
            let mut out = Vec::new();
            for idx in 1..v.len() {
                if let Some(m) = a.map(idx)?
                    && let Some(x) = m.borrow().get(&key)
                {
                    out.push(x.clone());
                }
            }
            Ok(Value::list(out))
        }
        "keys" => {
            // Go's map order is random; sorted is the one order that is always right
            let mut out = Vec::new();
            for idx in 0..v.len() {
                if let Some(m) = a.map(idx)? {
                    out.extend(m.borrow().keys().cloned());
                }
            }
            out.sort();
            Ok(strings(out))
        }
        "values" => {
            a.count(1)?;
            Ok(Value::list(
                a.map(0)?
                    .map(|m| m.borrow().values().cloned().collect())
                    .unwrap_or_default(),
            ))
        }
        "pick" | "omit" => {
            a.at_least(1)?;
            let m = a.map(0)?;
            let names = a.strs(1)?;
            let m = m.map(|m| m.borrow().clone()).unwrap_or_default();
            let keep = |k: &String| names.contains(k) == (a.name == "pick");
            Ok(Value::map(m.into_iter().filter(|(k, _)| keep(k)).collect()))
        }
        "merge" | "mustMerge" | "mergeOverwrite" | "mustMergeOverwrite" => {
            a.at_least(1)?;
            let overwrite = a.name.ends_with("Overwrite");
            let dst = a
                .map(0)?
                .unwrap_or_else(|| Rc::new(RefCell::new(Map::new())));
            for idx in 1..v.len() {
                if let Some(src) = a.map(idx)? {
                    merge_into(&dst, &src, overwrite).map_err(|e| a.fail(e))?;
                }
            }
            Ok(Value::Map(dst))
        }
        "dig" => {
            a.at_least(3)?;
            let n = v.len();
            let keys = (0..n - 2).map(|idx| {
                a.str(idx).map_err(|_| {
                    a.fail(format!(
                        "interface conversion: interface {{}} is {}, not string",
                        v[idx].type_name()
                    ))
                })
            });
            let keys: Vec<String> = keys.collect::<Result<_, _>>()?;
            let mut current = match &v[n - 1] {
                Value::Map(m) => m.clone(),
                other => {
                    return Err(a.fail(format!(
                        "interface conversion: interface {{}} is {}, not map[string]interface {{}}",
                        other.type_name()
                    )));
                }
            };
            for (idx, key) in keys.iter().enumerate() {
                let step = current.borrow().get(key).cloned();
                let Some(step) = step else {
                    return Ok(v[n - 2].clone());
                };
                if idx == keys.len() - 1 {
                    return Ok(step);
                }
                current = match step {
                    Value::Map(m) => m,
                    other => {
                        return Err(a.fail(format!(
                            "interface conversion: interface {{}} is {}, not map[string]interface {{}}",
                            other.type_name()
                        )));
                    }
                };
            }
            unreachable!("dig has at least one key")
        }

        // lists
        "list" | "tuple" => Ok(Value::list(v.clone())),
        "append" | "push" | "mustAppend" | "mustPush" | "prepend" | "mustPrepend" => {
            a.count(2)?;
            let prepend = a.name.to_lowercase().contains("prepend");
            let what = if prepend {
                "Cannot prepend on type {}"
            } else {
                "Cannot push on type {}"
            };
            let mut l = a.list(0, what)?.as_ref().clone();
            if prepend {
                l.insert(0, v[1].clone());
            } else {
                l.push(v[1].clone());
            }
            Ok(Value::list(l))
        }
        "first" | "mustFirst" | "last" | "mustLast" => {
            a.count(1)?;
            let is_first = a.name.ends_with("irst");
            let what = if is_first {
                "Cannot find first on type {}"
            } else {
                "Cannot find last on type {}"
            };
            let l = a.list(0, what)?;
            Ok(if is_first { l.first() } else { l.last() }
                .cloned()
                .unwrap_or(Value::Nil))
        }
        "rest" | "mustRest" | "initial" | "mustInitial" => {
            a.count(1)?;
            let is_rest = a.name.ends_with("est");
            let what = if is_rest {
                "Cannot find rest on type {}"
            } else {
                "Cannot find initial on type {}"
            };
            let l = a.list(0, what)?;
            if l.is_empty() {
                return Ok(Value::Nil);
            }
            Ok(Value::list(if is_rest {
                l[1..].to_vec()
            } else {
                l[..l.len() - 1].to_vec()
            }))
        }
        "reverse" | "mustReverse" => {
            a.count(1)?;
            let l = a.list(0, "Cannot find reverse on type {}")?;
            Ok(Value::list(l.iter().rev().cloned().collect()))
        }
        "uniq" | "mustUniq" => {
            a.count(1)?;
            let l = a.list(0, "Cannot find uniq on type {}")?;
            let mut out: Vec<Value> = Vec::new();
            for x in l.iter() {
                if !out.iter().any(|y| deep_eq(x, y)) {
                    out.push(x.clone());
                }
            }
            Ok(Value::list(out))
        }
        "without" | "mustWithout" => {
            a.at_least(1)?;
            let l = a.list(0, "Cannot find without on type {}")?;
            let omit = &v[1..];
            Ok(Value::list(
                l.iter()
                    .filter(|x| !omit.iter().any(|o| deep_eq(x, o)))
                    .cloned()
                    .collect(),
            ))
        }
        "has" | "mustHas" => {
            a.count(2)?;
            if v[1].is_nil() {
                return Ok(Value::Bool(false));
            }
            let l = a.list(1, "Cannot find has on type {}")?;
            Ok(Value::Bool(l.iter().any(|x| deep_eq(x, &v[0]))))
        }
        "slice" | "mustSlice" => {
            a.at_least(1)?;
            let l = a.list(0, "list should be type of slice or array but {}")?;
            if l.is_empty() {
                return Ok(Value::Nil);
            }
            let start = v.get(1).map_or(0, to_i64);
            let end = v.get(2).map_or(l.len() as i64, to_i64);
            if start < 0 || end < start || end > l.len() as i64 {
                return Err(a.fail(format!(
                    "reflect: slice index out of range [{start}:{end}] with length {}",
                    l.len()
                )));
            }
            Ok(Value::list(l[start as usize..end as usize].to_vec()))
        }
        "concat" => {
            let mut out = Vec::new();
            for idx in 0..v.len() {
                out.extend(
                    a.list(idx, "Cannot concat type {} as list")?
                        .iter()
                        .cloned(),
                );
            }
            Ok(Value::list(out))
        }
        "chunk" | "mustChunk" => {
            a.count(2)?;
            let size = i(0)?;
            let l = a.list(1, "Cannot chunk type {}")?;
            if size <= 0 {
                return Err(a.fail("runtime error: chunk size must be positive"));
            }
            Ok(Value::list(
                l.chunks(size as usize)
                    .map(|c| Value::list(c.to_vec()))
                    .collect(),
            ))
        }

        // semver
        "semver" => {
            a.count(1)?;
            let version = Version::parse(&s(0)?).map_err(|e| a.fail(e))?;
            Ok(Value::Version(Rc::new(version)))
        }
        "semverCompare" => {
            a.count(2)?;
            let (constraint, version) = (s(0)?, s(1)?);
            let version = Version::parse(&version).map_err(|e| a.fail(e))?;
            Ok(Value::Bool(
                semver::check(&constraint, &version).map_err(|e| a.fail(e))?,
            ))
        }
        "fail" => {
            a.count(1)?;
            Err(a.fail(s(0)?))
        }

        // regular expressions
        "regexMatch" | "mustRegexMatch" => {
            a.count(2)?;
            Ok(Value::Bool(regex(&a, 0)?.is_match(&s(1)?)))
        }
        "regexFind" | "mustRegexFind" => {
            a.count(2)?;
            let text = s(1)?;
            str_value(
                regex(&a, 0)?
                    .find(&text)
                    .map_or("", |m| m.as_str())
                    .to_string(),
            )
        }
        "regexFindAll" | "mustRegexFindAll" => {
            a.count(3)?;
            let (re, text, n) = (regex(&a, 0)?, s(1)?, i(2)?);
            let limit = if n < 0 { usize::MAX } else { n as usize };
            Ok(strings(
                re.find_iter(&text)
                    .take(limit)
                    .map(|m| m.as_str().to_string())
                    .collect(),
            ))
        }
        "regexReplaceAll" | "mustRegexReplaceAll" => {
            a.count(3)?;
            let (re, text, repl) = (regex(&a, 0)?, s(1)?, s(2)?);
            str_value(re.replace_all(&text, repl.as_str()).into_owned())
        }
        "regexReplaceAllLiteral" | "mustRegexReplaceAllLiteral" => {
            a.count(3)?;
            let (re, text, repl) = (regex(&a, 0)?, s(1)?, s(2)?);
            str_value(re.replace_all(&text, regex::NoExpand(&repl)).into_owned())
        }
        "regexSplit" | "mustRegexSplit" => {
            a.count(3)?;
            let (re, text, n) = (regex(&a, 0)?, s(1)?, i(2)?);
            Ok(strings(regex_split(&re, &text, n)))
        }
        "regexQuoteMeta" => one(&a, quote_meta),

        // Argo CD's
        "normalize" => one(&a, normalize),
        "slugify" => slugify(&a),
        "toYaml" => {
            a.count(1)?;
            let y = yaml::to_yaml(&v[0]).map_err(|e| a.fail(e))?;
            str_value(y.strip_suffix('\n').unwrap_or(&y).to_string())
        }
        "fromYaml" | "fromYamlArray" => {
            a.count(1)?;
            yaml::from_yaml(&s(0)?, a.name == "fromYamlArray").map_err(|e| a.fail(e))
        }
        name => Err(format!("function `{name}` is not supported by kpush")),
    }
}

/// A function of one string returning a string.
fn one(a: &Args, f: impl Fn(&str) -> String) -> Result<Value, String> {
    a.count(1)?;
    Ok(Value::Str(f(&a.str(0)?)))
}

/// A function of two strings (the piped one last) returning a string.
fn two(a: &Args, f: impl Fn(&str, &str) -> String) -> Result<Value, String> {
    a.count(2)?;
    Ok(Value::Str(f(&a.str(0)?, &a.str(1)?)))
}

fn byte_prefix<'s>(a: &Args, s: &'s str, n: usize) -> Result<&'s str, String> {
    s.get(..n).ok_or_else(|| {
        a.fail(
            "the cut would split a multi-byte character (kpush refuses to produce invalid UTF-8)",
        )
    })
}

fn byte_suffix<'s>(a: &Args, s: &'s str, from: usize) -> Result<&'s str, String> {
    s.get(from..).ok_or_else(|| {
        a.fail(
            "the cut would split a multi-byte character (kpush refuses to produce invalid UTF-8)",
        )
    })
}

fn until_step(a: &Args, start: i64, stop: i64, step: i64) -> Result<Vec<i64>, String> {
    let too_long = |n: i128| n > 1_000_000;
    let mut out = Vec::new();
    if stop < start {
        if step >= 0 {
            return Ok(out);
        }
        if too_long((i128::from(start) - i128::from(stop)) / -i128::from(step)) {
            return Err(a.fail("the list would be longer than kpush allows (1000000)"));
        }
        let mut x = start;
        while x > stop {
            out.push(x);
            x += step;
        }
        return Ok(out);
    }
    if step <= 0 {
        return Ok(out);
    }
    if too_long((i128::from(stop) - i128::from(start)) / i128::from(step)) {
        return Err(a.fail("the list would be longer than kpush allows (1000000)"));
    }
    let mut x = start;
    while x < stop {
        out.push(x);
        x = match x.checked_add(step) {
            Some(n) => n,
            None => break,
        };
    }
    Ok(out)
}

fn int_list(items: Vec<i64>) -> Result<Value, String> {
    Ok(Value::list(items.into_iter().map(Value::Int).collect()))
}

/// Go's `math.Max`/`math.Min`: NaN wins.
fn go_max(x: f64, y: f64) -> f64 {
    if x.is_nan() || y.is_nan() {
        f64::NAN
    } else {
        x.max(y)
    }
}

fn go_min(x: f64, y: f64) -> f64 {
    if x.is_nan() || y.is_nan() {
        f64::NAN
    } else {
        x.min(y)
    }
}

/// A decimal number `m × 10^e`, for Sprig's float arithmetic, which goes through
/// shopspring/decimal so that 0.1 + 0.2 is 0.3.
#[derive(Clone, Copy)]
struct Dec {
    m: i128,
    e: i32,
}

impl Dec {
    /// The shortest decimal that reads back as `f` (what `decimal.NewFromFloat` takes).
    fn from_f64(f: f64) -> Option<Dec> {
        if !f.is_finite() {
            return None;
        }
        let s = format!("{:e}", f);
        let (mantissa, exp) = s.split_once('e')?;
        let exp: i32 = exp.parse().ok()?;
        let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        let m: i128 = format!("{int}{frac}").parse().ok()?;
        Some(Dec {
            m,
            e: exp - frac.len() as i32,
        })
    }

    fn align(a: Dec, b: Dec) -> Option<(i128, i128, i32)> {
        let e = a.e.min(b.e);
        let scale =
            |d: Dec| -> Option<i128> { d.m.checked_mul(10i128.checked_pow((d.e - e) as u32)?) };
        Some((scale(a)?, scale(b)?, e))
    }

    fn to_f64(self) -> f64 {
        format!("{}e{}", self.m, self.e).parse().unwrap_or(f64::NAN)
    }
}

fn decimal_op(a: &Args) -> Result<Value, String> {
    let v = &a.v;
    let (first, rest): (f64, Vec<f64>) = match a.name {
        "add1f" => {
            a.count(1)?;
            (to_f64(&v[0]), vec![1.0])
        }
        "addf" => (0.0, v.iter().map(to_f64).collect()),
        _ => {
            a.at_least(1)?;
            (to_f64(&v[0]), v[1..].iter().map(to_f64).collect())
        }
    };
    let exact = || -> Option<f64> {
        let mut acc = Dec::from_f64(first)?;
        for x in &rest {
            let d = Dec::from_f64(*x)?;
            acc = match a.name {
                "add1f" | "addf" | "subf" => {
                    let (p, q, e) = Dec::align(acc, d)?;
                    let m = if a.name == "subf" {
                        p.checked_sub(q)?
                    } else {
                        p.checked_add(q)?
                    };
                    Dec { m, e }
                }
                "mulf" => Dec {
                    m: acc.m.checked_mul(d.m)?,
                    e: acc.e + d.e,
                },
                _ => {
                    // shopspring rounds a quotient to 16 decimal places
                    if d.m == 0 {
                        return Some(f64::NAN);
                    }
                    let shift = 16 + acc.e - d.e;
                    let num = if shift >= 0 {
                        acc.m.checked_mul(10i128.checked_pow(shift as u32)?)?
                    } else {
                        acc.m / 10i128.checked_pow((-shift) as u32)?
                    };
                    let (q, r) = (num / d.m, num % d.m);
                    let half_up = (r.abs() * 2 >= d.m.abs()) as i128;
                    let sign = if (num < 0) != (d.m < 0) { -1 } else { 1 };
                    Dec {
                        m: q + sign * half_up,
                        e: -16,
                    }
                }
            };
        }
        Some(acc.to_f64())
    };
    match exact() {
        Some(f) if f.is_nan() => Err(a.fail("decimal division by 0")),
        Some(f) => Ok(Value::Float(f)),
        None => Err(a.fail(format!(
            "{} of {} is beyond the decimal precision kpush supports",
            a.name,
            format_float(first, 'g', None)
        ))),
    }
}
