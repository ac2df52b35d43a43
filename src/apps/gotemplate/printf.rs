//! Go's `fmt` for templates: `printf`'s verbs and flags, and `strconv`'s float formats (a
//! float64 prints as `1e+06`, not `1000000`).

use super::value::{Value, go_quote, is_print, strval};

/// Go's `strconv.FormatFloat(f, verb, prec, 64)` for `e`, `E`, `f`, `g` and `G`; `None` is
/// the shortest precision that reads back the same float (-1 in Go).
pub(super) fn format_float(f: f64, verb: char, prec: Option<usize>) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    let sign = if f.is_sign_negative() { "-" } else { "" };
    let a = f.abs();
    let upper = verb.is_ascii_uppercase();
    let body = match verb.to_ascii_lowercase() {
        'f' => match prec {
            Some(p) => format!("{a:.p$}"),
            None => {
                let (digits, dp) = shortest(a);
                fixed(&digits, dp, (digits.len() as i32 - dp).max(0) as usize)
            }
        },
        'e' => {
            let (digits, dp) = match prec {
                Some(p) => rounded(a, p + 1),
                None => shortest(a),
            };
            let p = prec.unwrap_or(digits.len() - 1);
            exponent(&digits, dp, p, upper)
        }
        _ => {
            // %e when the exponent is below -4 or at least the precision (6 for the shortest).
            let (mut digits, dp) = match prec {
                Some(p) => rounded(a, p.max(1)),
                None => shortest(a),
            };
            while digits.len() > 1 && digits.ends_with('0') {
                digits.pop();
            }
            let mut eprec = match prec {
                Some(p) => p.max(1),
                None => 6,
            };
            if prec.is_some() && eprec > digits.len() && digits.len() as i32 >= dp {
                eprec = digits.len();
            }
            let exp = if a == 0.0 { 0 } else { dp - 1 };
            if exp < -4 || exp >= eprec as i32 {
                exponent(&digits, dp, digits.len() - 1, upper)
            } else {
                let frac = (digits.len() as i32 - dp).max(0) as usize;
                fixed(&digits, dp, frac)
            }
        }
    };
    format!("{sign}{body}")
}

/// The shortest digits of `a` (positive or zero) that read back as `a`, and where the decimal
/// point goes (`0.0123` is `123` at -1).
fn shortest(a: f64) -> (String, i32) {
    split_exp(&format!("{a:e}"))
}

/// `a` rounded to `n` significant digits.
fn rounded(a: f64, n: usize) -> (String, i32) {
    split_exp(&format!("{a:.*e}", n - 1))
}

fn split_exp(s: &str) -> (String, i32) {
    let (mantissa, exp) = s.split_once('e').unwrap_or((s, "0"));
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    if digits.chars().all(|c| c == '0') {
        return ("0".into(), 1);
    }
    (digits, exp.parse::<i32>().unwrap_or(0) + 1)
}

fn fixed(digits: &str, dp: i32, frac: usize) -> String {
    let d = digits.as_bytes();
    let digit = |i: i32| -> char {
        if i >= 0 && (i as usize) < d.len() {
            d[i as usize] as char
        } else {
            '0'
        }
    };
    let mut out = String::new();
    if dp > 0 {
        for i in 0..dp {
            out.push(digit(i));
        }
    } else {
        out.push('0');
    }
    if frac > 0 {
        out.push('.');
        for i in 0..frac as i32 {
            out.push(digit(dp + i));
        }
    }
    out
}

fn exponent(digits: &str, dp: i32, prec: usize, upper: bool) -> String {
    let mut out = String::new();
    let mut chars = digits.chars();
    out.push(chars.next().unwrap_or('0'));
    if prec > 0 {
        out.push('.');
        let rest: Vec<char> = chars.collect();
        for i in 0..prec {
            out.push(*rest.get(i).unwrap_or(&'0'));
        }
    }
    let exp = if digits == "0" { 0 } else { dp - 1 };
    out.push(if upper { 'E' } else { 'e' });
    out.push(if exp < 0 { '-' } else { '+' });
    out.push_str(&format!("{:02}", exp.abs()));
    out
}

fn number(chars: &mut std::iter::Peekable<std::str::Chars>) -> Option<usize> {
    let mut n: Option<usize> = None;
    while let Some(d) = chars.peek().and_then(|c| c.to_digit(10)) {
        n = Some(n.unwrap_or(0).saturating_mul(10).saturating_add(d as usize));
        chars.next();
    }
    n
}

#[derive(Default, Clone, Copy)]
struct Spec {
    minus: bool,
    plus: bool,
    space: bool,
    zero: bool,
    sharp: bool,
    width: Option<usize>,
    prec: Option<usize>,
    verb: char,
}

/// Go's `fmt.Sprintf`. Flags and verbs kpush does not render as Go would are refused.
pub(super) fn sprintf(format: &str, args: &[Value]) -> Result<String, String> {
    let mut out = String::new();
    let mut chars = format.chars().peekable();
    let mut next_arg = 0;
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut spec = Spec::default();
        while let Some(&f) = chars.peek() {
            match f {
                '-' => spec.minus = true,
                '+' => spec.plus = true,
                ' ' => spec.space = true,
                '0' => spec.zero = true,
                '#' => spec.sharp = true,
                _ => break,
            }
            chars.next();
        }
        spec.width = number(&mut chars);
        if chars.peek() == Some(&'.') {
            chars.next();
            spec.prec = Some(number(&mut chars).unwrap_or(0));
        }
        if spec.width.max(spec.prec).is_some_and(|n| n > 1_000_000) {
            return Err("printf: widths and precisions above 1000000 are not supported".into());
        }
        let Some(verb) = chars.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if matches!(verb, '*' | '[') {
            return Err(format!(
                "printf: `{verb}` in a verb is not supported by kpush"
            ));
        }
        spec.verb = verb;
        if verb == '%' {
            out.push('%');
            continue;
        }
        let Some(arg) = args.get(next_arg) else {
            out.push_str(&format!("%!{verb}(MISSING)"));
            continue;
        };
        next_arg += 1;
        if arg.is_nil() {
            let s = match verb {
                'v' | 'T' => "<nil>".to_string(),
                _ => format!("%!{verb}(<nil>)"),
            };
            out.push_str(&pad(&s, &spec));
            continue;
        }
        out.push_str(&fmt_arg(arg, &spec)?);
    }
    if next_arg < args.len() {
        let extra: Vec<String> = args[next_arg..]
            .iter()
            .map(|a| {
                if a.is_nil() {
                    "<nil>".to_string()
                } else {
                    format!("{}={}", a.type_name(), strval(a))
                }
            })
            .collect();
        out.push_str(&format!("%!(EXTRA {})", extra.join(", ")));
    }
    Ok(out)
}

fn fmt_arg(v: &Value, spec: &Spec) -> Result<String, String> {
    if spec.verb == 'T' {
        return Ok(pad(v.type_name(), spec));
    }
    if spec.sharp && matches!(spec.verb, 'v' | 'q' | 'e' | 'E' | 'f' | 'F' | 'g' | 'G') {
        return Err(format!(
            "printf: `%#{}` is not supported by kpush",
            spec.verb
        ));
    }
    if spec.verb == 'p' {
        return Err("printf: `%p` is not supported by kpush".into());
    }
    match v {
        Value::List(items) => {
            let parts: Result<Vec<String>, String> =
                items.iter().map(|i| fmt_elem(i, spec)).collect();
            Ok(format!("[{}]", parts?.join(" ")))
        }
        Value::Map(m) => {
            let mut parts = Vec::new();
            for (k, v) in m.borrow().iter() {
                parts.push(format!(
                    "{}:{}",
                    fmt_arg(&Value::Str(k.clone()), spec)?,
                    fmt_elem(v, spec)?
                ));
            }
            Ok(format!("map[{}]", parts.join(" ")))
        }
        Value::Bool(b) => match spec.verb {
            't' | 'v' => Ok(pad(if *b { "true" } else { "false" }, spec)),
            _ => Ok(bad_verb(v, spec)),
        },
        Value::Int(i) => fmt_int(*i, v, spec),
        Value::Float(f) => fmt_float(*f, v, spec),
        Value::Str(s) => fmt_str(s, v, spec),
        Value::Version(ver) => fmt_str(&ver.to_string(), v, spec),
        Value::Missing | Value::Nil => Ok(pad("<nil>", spec)),
    }
}

/// An element of a collection: a nil prints `<nil>` whatever the verb.
fn fmt_elem(v: &Value, spec: &Spec) -> Result<String, String> {
    if v.is_nil() {
        return Ok("<nil>".into());
    }
    fmt_arg(v, spec)
}

fn bad_verb(v: &Value, spec: &Spec) -> String {
    format!("%!{}({}={})", spec.verb, v.type_name(), strval(v))
}

fn fmt_str(s: &str, v: &Value, spec: &Spec) -> Result<String, String> {
    let s = match (spec.verb, spec.prec) {
        ('s' | 'v' | 'x' | 'X' | 'q', Some(p)) => s.chars().take(p).collect(),
        _ => s.to_string(),
    };
    match spec.verb {
        's' | 'v' => Ok(pad(&s, spec)),
        'q' => Ok(pad(&go_quote(&s), spec)),
        'x' | 'X' => {
            // `% x` separates the bytes, `%#x` prefixes 0x (to each byte with a space)
            let prefix = match (spec.sharp, spec.verb) {
                (false, _) => "",
                (true, 'x') => "0x",
                (true, _) => "0X",
            };
            let bytes: Vec<String> = s
                .bytes()
                .map(|b| {
                    if spec.verb == 'x' {
                        format!("{b:02x}")
                    } else {
                        format!("{b:02X}")
                    }
                })
                .collect();
            let hex = if spec.space {
                bytes
                    .iter()
                    .map(|b| format!("{prefix}{b}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            } else if bytes.is_empty() {
                String::new()
            } else {
                format!("{prefix}{}", bytes.concat())
            };
            Ok(pad(&hex, spec))
        }
        _ => Ok(bad_verb(v, spec)),
    }
}

fn fmt_int(i: i64, v: &Value, spec: &Spec) -> Result<String, String> {
    let mag = i.unsigned_abs();
    let (mut digits, prefix) = match spec.verb {
        'd' | 'v' => (mag.to_string(), ""),
        'b' => (format!("{mag:b}"), if spec.sharp { "0b" } else { "" }),
        'o' => (format!("{mag:o}"), if spec.sharp { "0" } else { "" }),
        'O' => (format!("{mag:o}"), "0o"),
        'x' => (format!("{mag:x}"), if spec.sharp { "0x" } else { "" }),
        'X' => (format!("{mag:X}"), if spec.sharp { "0X" } else { "" }),
        'c' => {
            let c = u32::try_from(i)
                .ok()
                .and_then(char::from_u32)
                .unwrap_or('\u{FFFD}');
            return Ok(pad(&c.to_string(), spec));
        }
        'q' => {
            let c = u32::try_from(i)
                .ok()
                .and_then(char::from_u32)
                .unwrap_or('\u{FFFD}');
            let quoted = go_quote(&c.to_string());
            let inner = &quoted[1..quoted.len() - 1];
            let inner = if inner == "\\\"" { "\"" } else { inner };
            let inner = if c == '\'' { "\\'" } else { inner };
            return Ok(pad(&format!("'{inner}'"), spec));
        }
        'U' => {
            let c = u32::try_from(i).ok().and_then(char::from_u32);
            let shown = match c {
                Some(c) if spec.sharp && is_print(c) => format!("U+{mag:04X} '{c}'"),
                _ => format!("U+{mag:04X}"),
            };
            return Ok(pad(&shown, spec));
        }
        _ => return Ok(bad_verb(v, spec)),
    };
    let sign = if i < 0 {
        "-"
    } else if spec.plus {
        "+"
    } else if spec.space {
        " "
    } else {
        ""
    };
    if let Some(p) = spec.prec {
        if p == 0 && mag == 0 {
            digits.clear();
        }
        while digits.len() < p {
            digits.insert(0, '0');
        }
    } else if spec.zero
        && !spec.minus
        && let Some(w) = spec.width
    {
        while sign.len() + prefix.len() + digits.len() < w {
            digits.insert(0, '0');
        }
    }
    let prefix = if spec.verb == 'o' && digits.starts_with('0') {
        ""
    } else {
        prefix
    };
    Ok(pad_spaces(&format!("{sign}{prefix}{digits}"), spec))
}

fn fmt_float(f: f64, v: &Value, spec: &Spec) -> Result<String, String> {
    let s = match spec.verb {
        'v' => format_float(f, 'g', spec.prec),
        'g' | 'G' => format_float(f, spec.verb, spec.prec),
        'e' | 'E' => format_float(f, spec.verb, Some(spec.prec.unwrap_or(6))),
        'f' | 'F' => format_float(f, 'f', Some(spec.prec.unwrap_or(6))),
        'x' | 'X' | 'b' => {
            return Err(format!(
                "printf: `%{}` of a float is not supported by kpush",
                spec.verb
            ));
        }
        _ => return Ok(bad_verb(v, spec)),
    };
    if f.is_nan() || f.is_infinite() {
        let s = match (f.is_nan(), spec.plus, spec.space) {
            (true, true, _) => "+NaN".into(),
            (true, _, true) => " NaN".into(),
            (false, false, true) if f > 0.0 => " Inf".into(),
            _ => s,
        };
        return Ok(pad_spaces(&s, spec));
    }
    let (sign, digits) = match s.strip_prefix('-') {
        Some(rest) => ("-", rest.to_string()),
        None if spec.plus => ("+", s),
        None if spec.space => (" ", s),
        None => ("", s),
    };
    let mut digits = digits;
    if spec.zero
        && !spec.minus
        && let Some(w) = spec.width
    {
        while sign.len() + digits.chars().count() < w {
            digits.insert(0, '0');
        }
    }
    Ok(pad_spaces(&format!("{sign}{digits}"), spec))
}

/// Pads to the width; `0` pads strings with zeros too, as Go does.
fn pad(s: &str, spec: &Spec) -> String {
    if spec.zero
        && !spec.minus
        && let Some(w) = spec.width
    {
        let n = s.chars().count();
        if n < w {
            return format!("{}{s}", "0".repeat(w - n));
        }
    }
    pad_spaces(s, spec)
}

fn pad_spaces(s: &str, spec: &Spec) -> String {
    let Some(w) = spec.width else {
        return s.to_string();
    };
    let n = s.chars().count();
    if n >= w {
        return s.to_string();
    }
    let fill = " ".repeat(w - n);
    if spec.minus {
        format!("{s}{fill}")
    } else {
        format!("{fill}{s}")
    }
}

/// Go's `fmt.Sprint`: a space between operands when neither is a string.
pub(super) fn sprint(args: &[Value]) -> String {
    let mut out = String::new();
    let mut prev_string = false;
    for (i, a) in args.iter().enumerate() {
        let is_string = matches!(a, Value::Str(_));
        if i > 0 && !is_string && !prev_string {
            out.push(' ');
        }
        out.push_str(&strval(a));
        prev_string = is_string;
    }
    out
}

/// Go's `fmt.Sprintln`: always a space between operands, and a newline.
pub(super) fn sprintln(args: &[Value]) -> String {
    let parts: Vec<String> = args.iter().map(strval).collect();
    format!("{}\n", parts.join(" "))
}
