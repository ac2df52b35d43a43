//! Text functions behind Sprig and Argo CD: Go's case mapping and `strings.Title`, goutils'
//! and xstrings' word functions, Go's `path`, base32, `regexp.Split`, `url.Parse`, and Argo CD's
//! `normalize`. Pure functions of strings.

use regex::Regex;

use super::value::{Map, Value};

/// Go's `strings.ToUpper`/`ToLower`/`ToTitle` map one rune to one rune.
pub(super) fn map_case(s: &str, upper: bool) -> String {
    s.chars().map(|c| case(c, upper)).collect()
}

fn case(c: char, upper: bool) -> char {
    let mut m: Vec<char> = if upper {
        c.to_uppercase().collect()
    } else {
        c.to_lowercase().collect()
    };
    if m.len() == 1 {
        m.pop().unwrap_or(c)
    } else {
        c
    }
}

/// Go's `strings.Title`: the first letter of each word upper-cased.
pub(super) fn title(s: &str) -> String {
    let separator = |c: char| {
        if c.is_ascii() {
            !(c.is_ascii_alphanumeric() || c == '_')
        } else {
            !c.is_alphanumeric() && c.is_whitespace()
        }
    };
    let mut prev = ' ';
    s.chars()
        .map(|c| {
            let out = if separator(prev) { case(c, true) } else { c };
            prev = c;
            out
        })
        .collect()
}

/// goutils' `Uncapitalize`: the first letter of each space-separated word lower-cased.
pub(super) fn untitle(s: &str) -> String {
    let mut next = true;
    s.chars()
        .map(|c| {
            if c.is_whitespace() {
                next = true;
                c
            } else if next {
                next = false;
                case(c, false)
            } else {
                c
            }
        })
        .collect()
}

/// goutils' `SwapCase`: upper to lower, lower to upper (title case after a space).
pub(super) fn swapcase(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_uppercase() {
                case(c, false)
            } else if c.is_lowercase() {
                case(c, true)
            } else {
                c
            }
        })
        .collect()
}

/// goutils' `Initials`: the first character of each whitespace-separated word.
pub(super) fn initials(s: &str) -> String {
    s.split(char::is_whitespace)
        .filter_map(|w| w.chars().next())
        .collect()
}

/// goutils' `WrapCustom` (Apache Commons' `WordUtils.wrap`).
pub(super) fn wrap(s: &str, width: i64, newline: &str, long_words: bool) -> String {
    let b = s.as_bytes();
    let width = width.max(1) as usize;
    let newline = if newline.is_empty() { "\n" } else { newline };
    let mut out: Vec<u8> = Vec::new();
    let mut offset = 0;
    while b.len() - offset > width {
        if b[offset] == b' ' {
            offset += 1;
            continue;
        }
        let end = (width + offset + 1).min(b.len());
        match b[offset..end].iter().rposition(|&c| c == b' ') {
            Some(space) => {
                out.extend_from_slice(&b[offset..offset + space]);
                out.extend_from_slice(newline.as_bytes());
                offset += space + 1;
            }
            None if long_words => {
                out.extend_from_slice(&b[offset..offset + width]);
                out.extend_from_slice(newline.as_bytes());
                offset += width;
            }
            None => match b[offset + width..].iter().position(|&c| c == b' ') {
                None => {
                    out.extend_from_slice(&b[offset..]);
                    offset = b.len();
                }
                Some(i) => {
                    let space = offset + width + i;
                    out.extend_from_slice(&b[offset..space]);
                    out.extend_from_slice(newline.as_bytes());
                    offset = space + 1;
                }
            },
        }
    }
    out.extend_from_slice(&b[offset..]);
    String::from_utf8_lossy(&out).into_owned()
}

/// xstrings' word splitting for `snakecase` and `kebabcase`.
#[derive(Clone, Copy, PartialEq)]
enum Word {
    None,
    Number,
    Upper,
    Alpha,
    Connector,
    Punct,
    Other,
}

fn is_connector(c: char) -> bool {
    c == '-' || c == '_' || c.is_whitespace()
}

fn is_alphabet(c: char) -> bool {
    c.is_alphabetic() && !matches!(c as u32, 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0x20000..=0x2B81D)
}

/// Unicode punctuation (Go's `unicode.IsPunct`), near enough: ASCII punctuation that is not a
/// symbol, and the general punctuation block.
fn is_punct(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_punctuation() && !"$+<=>^`|~".contains(c);
    }
    matches!(c as u32, 0x2010..=0x2027 | 0x2030..=0x205E | 0x3001..=0x3003 | 0xA1 | 0xA7 | 0xAB | 0xB6 | 0xB7 | 0xBB | 0xBF)
}

fn next_word(s: &str) -> (Word, &str, &str) {
    let Some(c) = s.chars().next() else {
        return (Word::None, "", "");
    };
    let run = |from: usize, keep: &dyn Fn(char) -> bool| -> usize {
        from + s[from..]
            .chars()
            .take_while(|&c| keep(c))
            .map(char::len_utf8)
            .sum::<usize>()
    };
    let first = c.len_utf8();
    let (kind, end) = if is_connector(c) {
        (Word::Connector, run(first, &is_connector))
    } else if is_punct(c) {
        (Word::Punct, run(first, &is_punct))
    } else if c.is_uppercase() {
        match s[first..].chars().next() {
            Some(n) if n.is_uppercase() => {
                let end = run(first, &|c: char| c.is_uppercase());
                // "HTTPServer" is "HTTP" and "Server"
                match s[end..].chars().next() {
                    Some(n) if is_alphabet(n) => {
                        let last = s[..end].chars().next_back().map_or(0, char::len_utf8);
                        (Word::Upper, end - last)
                    }
                    _ => (Word::Upper, end),
                }
            }
            Some(n) if is_alphabet(n) => (
                Word::Upper,
                run(first, &|c: char| is_alphabet(c) && !c.is_uppercase()),
            ),
            _ => (Word::Upper, first),
        }
    } else if is_alphabet(c) {
        (
            Word::Alpha,
            run(first, &|c: char| is_alphabet(c) && !c.is_uppercase()),
        )
    } else if c.is_numeric() {
        (Word::Number, run(first, &|c: char| c.is_numeric()))
    } else {
        (
            Word::Other,
            run(first, &|c: char| {
                !(is_connector(c) || is_alphabet(c) || c.is_numeric() || is_punct(c))
            }),
        )
    };
    (kind, &s[..end], &s[end..])
}

fn lower_word(out: &mut String, kind: Word, word: &str, connector: char) {
    if kind != Word::Upper && kind != Word::Connector {
        out.push_str(word);
        return;
    }
    for c in word.chars() {
        if is_connector(c) {
            out.push(connector);
        } else {
            out.push(case(c, false));
        }
    }
}

/// xstrings' `ToSnakeCase`/`ToKebabCase`: "HTTPServer2xx" is "http_server_2xx".
pub(super) fn delimit(s: &str, connector: char) -> String {
    let mut out = String::new();
    if s.is_empty() {
        return out;
    }
    let (mut kind, mut word, mut rest) = next_word(s);
    while !rest.is_empty() {
        if kind != Word::Connector {
            lower_word(&mut out, kind, word, connector);
        }
        let prev = kind;
        let last = word;
        (kind, word, rest) = next_word(rest);
        match prev {
            Word::Number => {
                while kind == Word::Alpha || kind == Word::Number {
                    lower_word(&mut out, kind, word, connector);
                    (kind, word, rest) = next_word(rest);
                }
                if !matches!(kind, Word::None | Word::Punct | Word::Connector) {
                    out.push(connector);
                }
            }
            Word::Connector => lower_word(&mut out, prev, last, connector),
            Word::Punct => {}
            _ => {
                if kind != Word::Number {
                    if kind != Word::Connector && kind != Word::Punct {
                        out.push(connector);
                    }
                    continue;
                }
                if rest.is_empty() {
                    continue;
                }
                let number = word;
                (kind, word, rest) = next_word(rest);
                // a number is part of the word before it, unless letters follow it
                if kind != Word::Alpha {
                    lower_word(&mut out, Word::Number, number, connector);
                    if kind != Word::Connector && kind != Word::Punct {
                        out.push(connector);
                    }
                    continue;
                }
                out.push(connector);
                lower_word(&mut out, Word::Number, number, connector);
                while kind == Word::Alpha || kind == Word::Number {
                    lower_word(&mut out, kind, word, connector);
                    (kind, word, rest) = next_word(rest);
                }
                if !matches!(kind, Word::None | Word::Connector | Word::Punct) {
                    out.push(connector);
                }
            }
        }
    }
    lower_word(&mut out, kind, word, connector);
    out
}

/// xstrings' `ToPascalCase`, which Sprig's `camelcase` is: "http_server" is "HttpServer".
pub(super) fn camelcase(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    let mut r0 = '\0';
    let mut first_upper = false;
    let mut found = false;
    for c in chars.by_ref() {
        if !is_connector(c) {
            first_upper = c.is_uppercase();
            r0 = case(c, true);
            found = true;
            break;
        }
        out.push(c);
    }
    if !found {
        return out;
    }
    for c in chars {
        let r1 = r0;
        r0 = c;
        if is_connector(r0) && is_connector(r1) {
            out.push(r1);
            continue;
        }
        if is_connector(r1) {
            first_upper = r0.is_uppercase();
            r0 = case(r0, true);
        } else {
            if first_upper {
                if r0.is_uppercase() {
                    r0 = case(r0, false);
                } else {
                    first_upper = false;
                }
            }
            out.push(r1);
        }
    }
    out.push(r0);
    out
}

/// Go's `path.Clean`.
pub(super) fn clean(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let rooted = p.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in p.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|l| *l != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            part => parts.push(part),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".into(),
        (false, false) => joined,
    }
}

pub(super) fn base(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let trimmed = p.trim_end_matches('/');
    if trimmed.is_empty() {
        return "/".into();
    }
    trimmed.rsplit('/').next().unwrap_or(trimmed).to_string()
}

pub(super) fn dir(p: &str) -> String {
    let d = match p.rfind('/') {
        Some(i) => &p[..=i],
        None => "",
    };
    clean(d)
}

pub(super) fn ext(p: &str) -> String {
    let last = p.rsplit('/').next().unwrap_or(p);
    last.rfind('.')
        .map_or(String::new(), |i| last[i..].to_string())
}

const B32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

pub(super) fn b32enc(data: &[u8]) -> String {
    let mut out = String::new();
    for chunk in data.chunks(5) {
        let mut buf = [0u8; 5];
        buf[..chunk.len()].copy_from_slice(chunk);
        let bits = buf.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
        let chars = (chunk.len() * 8).div_ceil(5);
        for i in 0..8 {
            if i < chars {
                out.push(B32[((bits >> (35 - i * 5)) & 31) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

pub(super) fn b32dec(s: &str) -> Result<Vec<u8>, String> {
    let bytes = s.as_bytes();
    if !bytes.len().is_multiple_of(8) {
        return Err(format!(
            "illegal base32 data at input byte {}",
            bytes.len() / 8 * 8
        ));
    }
    let mut out = Vec::new();
    for (n, chunk) in bytes.chunks(8).enumerate() {
        let data = chunk.iter().take_while(|&&c| c != b'=').count();
        let mut bits = 0u64;
        for (i, &c) in chunk.iter().enumerate() {
            let v = if i < data {
                B32.iter()
                    .position(|&x| x == c)
                    .ok_or_else(|| format!("illegal base32 data at input byte {}", n * 8 + i))?
                    as u64
            } else if c == b'=' {
                0
            } else {
                return Err(format!("illegal base32 data at input byte {}", n * 8 + i));
            };
            bits = (bits << 5) | v;
        }
        let len = match data {
            8 => 5,
            7 => 4,
            5 => 3,
            4 => 2,
            2 => 1,
            _ => {
                return Err(format!(
                    "illegal base32 data at input byte {}",
                    n * 8 + data
                ));
            }
        };
        out.extend_from_slice(&bits.to_be_bytes()[3..3 + len]);
    }
    Ok(out)
}

pub(super) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Go's `Regexp.Split`.
pub(super) fn regex_split(re: &Regex, s: &str, n: i64) -> Vec<String> {
    if n == 0 {
        return Vec::new();
    }
    if !re.as_str().is_empty() && s.is_empty() {
        return vec![String::new()];
    }
    let mut out = Vec::new();
    let (mut beg, mut end) = (0, 0);
    for m in re.find_iter(s) {
        if n > 0 && out.len() as i64 == n - 1 {
            break;
        }
        end = m.start();
        if m.end() != 0 {
            out.push(s[beg..end].to_string());
        }
        beg = m.end();
    }
    if end != s.len() {
        out.push(s[beg..].to_string());
    }
    out
}

/// Go's `regexp.QuoteMeta`.
pub(super) fn quote_meta(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Argo CD's `normalize` (its cluster-name sanitizer): lower case, anything but `a-z`, `0-9`,
/// `-` and `.` becomes `-`, at most 253 characters, no `-` or `.` at either end.
pub fn normalize(s: &str) -> String {
    let mut out: String = map_case(s, false)
        .chars()
        .map(|c| {
            if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.' {
                c
            } else {
                '-'
            }
        })
        .collect();
    out.truncate(253);
    out.trim_matches(['-', '.']).to_string()
}

/// Go's `url.Parse`, for `urlParse`'s fields.
pub(super) fn url_parse(s: &str) -> Result<Map, String> {
    let unescape = |p: &str| -> Result<String, String> {
        let b = p.as_bytes();
        let mut out = Vec::with_capacity(b.len());
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'%' {
                let h = p
                    .get(i + 1..i + 3)
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                let Some(h) = h else {
                    return Err(format!(
                        "invalid URL escape {:?}",
                        &p[i..(i + 3).min(p.len())]
                    ));
                };
                out.push(h);
                i += 3;
            } else {
                out.push(b[i]);
                i += 1;
            }
        }
        String::from_utf8(out).map_err(|_| "URL escapes are not UTF-8".to_string())
    };
    let (rest, fragment) = match s.split_once('#') {
        Some((r, f)) => (r, unescape(f)?),
        None => (s, String::new()),
    };
    let mut scheme = String::new();
    let mut rest = rest;
    if let Some(i) = rest.find(':') {
        let candidate = &rest[..i];
        if candidate.starts_with(|c: char| c.is_ascii_alphabetic())
            && candidate
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        {
            scheme = candidate.to_ascii_lowercase();
            rest = &rest[i + 1..];
        } else if i == 0 {
            return Err("missing protocol scheme".into());
        }
    }
    let (rest, query) = match rest.split_once('?') {
        Some((r, q)) => (r, q.to_string()),
        None => (rest, String::new()),
    };
    let mut opaque = String::new();
    let (mut host, mut userinfo, mut path) = (String::new(), String::new(), String::new());
    if !scheme.is_empty() && !rest.starts_with('/') {
        opaque = rest.to_string();
    } else if let Some(authority) = rest.strip_prefix("//") {
        let (auth, p) = match authority.find('/') {
            Some(i) => (&authority[..i], &authority[i..]),
            None => (authority, ""),
        };
        let h = match auth.rfind('@') {
            Some(i) => {
                userinfo = auth[..i].to_string();
                &auth[i + 1..]
            }
            None => auth,
        };
        host = unescape(h)?;
        path = unescape(p)?;
    } else {
        path = unescape(rest)?;
    }
    let hostname = if let Some(v6) = host.strip_prefix('[') {
        v6.split(']').next().unwrap_or("").to_string()
    } else {
        host.split(':').next().unwrap_or("").to_string()
    };
    Ok([
        ("scheme", scheme),
        ("host", host),
        ("hostname", hostname),
        ("path", path),
        ("query", query),
        ("opaque", opaque),
        ("fragment", fragment),
        ("userinfo", userinfo),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), Value::Str(v)))
    .collect())
}

/// Go's `strings.Replace(s, old, new, -1)`: an empty `old` matches between every character.
pub(super) fn go_replace(s: &str, old: &str, new: &str) -> String {
    if !old.is_empty() {
        return s.replace(old, new);
    }
    let mut out = String::from(new);
    for c in s.chars() {
        out.push(c);
        out.push_str(new);
    }
    out
}

/// Go's `strings.SplitN` (n < 0: all); an empty separator splits into characters.
pub(super) fn go_split(s: &str, sep: &str, n: i64) -> Vec<String> {
    if n == 0 {
        return Vec::new();
    }
    let limit = if n < 0 { usize::MAX } else { n as usize };
    if sep.is_empty() {
        let chars: Vec<char> = s.chars().collect();
        let mut out: Vec<String> = Vec::new();
        for (idx, c) in chars.iter().enumerate() {
            if out.len() + 1 == limit {
                out.push(chars[idx..].iter().collect());
                return out;
            }
            out.push(c.to_string());
        }
        return out;
    }
    s.splitn(limit, sep).map(str::to_string).collect()
}
