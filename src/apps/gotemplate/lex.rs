//! Go's template lexer: text, `{{ }}` actions with their trim markers (`{{- ` and ` -}}`) and
//! comments, and the tokens inside an action.

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
    Text(String),
    /// `{{`; its offset is where the action starts.
    Open,
    /// `}}`; its offset is just past the action.
    Close,
    Space,
    /// An identifier: a function name or a keyword (`if`, `range`, …).
    Word(String),
    /// `.name`, without the dot.
    Field(String),
    /// `$name`, or `$` alone.
    Var(String),
    Dot,
    Str(String),
    Num(String),
    Char(i64),
    Bool(bool),
    Nil,
    Pipe,
    LParen,
    RParen,
    Declare,
    Assign,
    Comma,
}

pub(super) struct LexError {
    /// Where the action with the problem starts.
    pub at: usize,
    pub message: String,
}

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

fn is_alnum(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

/// `}}` or ` -}}` at the start of `s`: its length and whether it trims the text after it.
fn right_delim(s: &str) -> Option<(usize, bool)> {
    if s.starts_with("}}") {
        return Some((2, false));
    }
    let b = s.as_bytes();
    (b.len() >= 4 && is_space(b[0] as char) && b[1] == b'-' && s[2..].starts_with("}}"))
        .then_some((4, true))
}

/// What may follow a word, a field or a variable.
fn at_terminator(s: &str) -> bool {
    match s.chars().next() {
        None => true,
        Some(c) => {
            is_space(c) || matches!(c, '.' | ',' | '|' | ':' | ')' | '(') || s.starts_with("}}")
        }
    }
}

pub(super) fn lex(src: &str) -> Result<Vec<(Tok, usize)>, LexError> {
    let mut toks = Vec::new();
    let mut pos = 0;
    let mut trim_next = false;
    loop {
        let open = src[pos..].find("{{").map(|o| pos + o);
        let text_end = open.unwrap_or(src.len());
        let mut text = &src[pos..text_end];
        if trim_next {
            text = text.trim_start_matches(is_space);
        }
        let trim_left = open.is_some_and(|o| {
            let after = &src.as_bytes()[o + 2..];
            after.len() >= 2 && after[0] == b'-' && is_space(after[1] as char)
        });
        if trim_left {
            text = text.trim_end_matches(is_space);
        }
        if !text.is_empty() {
            toks.push((Tok::Text(text.to_string()), pos));
        }
        let Some(start) = open else { break };
        let mut p = start + 2 + if trim_left { 2 } else { 0 };
        if src[p..].starts_with("/*") {
            let Some(close) = src[p + 2..].find("*/") else {
                return Err(error(start, "unclosed comment"));
            };
            p += 2 + close + 2;
            let Some((n, trim)) = right_delim(&src[p..]) else {
                return Err(error(start, "comment ends before closing delimiter"));
            };
            trim_next = trim;
            pos = p + n;
            continue;
        }
        toks.push((Tok::Open, start));
        let (end, trim) = lex_action(src, p, start, &mut toks)?;
        toks.push((Tok::Close, end));
        trim_next = trim;
        pos = end;
    }
    Ok(toks)
}

fn error(at: usize, message: impl Into<String>) -> LexError {
    LexError {
        at,
        message: message.into(),
    }
}

/// The tokens of one action from `p`; returns where it ends and whether it trims after.
fn lex_action(
    src: &str,
    mut p: usize,
    start: usize,
    toks: &mut Vec<(Tok, usize)>,
) -> Result<(usize, bool), LexError> {
    let mut depth = 0usize;
    loop {
        let rest = &src[p..];
        if let Some((n, trim)) = right_delim(rest) {
            if depth > 0 {
                return Err(error(start, "unclosed left paren"));
            }
            return Ok((p + n, trim));
        }
        let Some(c) = rest.chars().next() else {
            return Err(error(start, "unclosed action"));
        };
        let at = p;
        match c {
            c if is_space(c) => {
                let mut q = p + rest.len() - rest.trim_start_matches(is_space).len();
                // the space of a trimming ` -}}` belongs to the delimiter
                if right_delim(&src[q - 1..]).is_some_and(|(_, trim)| trim) {
                    q -= 1;
                }
                if q > p {
                    toks.push((Tok::Space, at));
                }
                p = q;
                continue;
            }
            '|' => toks.push((Tok::Pipe, at)),
            ',' => toks.push((Tok::Comma, at)),
            '=' => toks.push((Tok::Assign, at)),
            ':' => {
                if !rest.starts_with(":=") {
                    return Err(error(start, "expected :="));
                }
                toks.push((Tok::Declare, at));
                p += 1;
            }
            '(' => {
                depth += 1;
                toks.push((Tok::LParen, at));
            }
            ')' => {
                if depth == 0 {
                    return Err(error(start, "unexpected right paren"));
                }
                depth -= 1;
                toks.push((Tok::RParen, at));
            }
            '"' => {
                let b = rest.as_bytes();
                let mut q = 1;
                loop {
                    match b.get(q) {
                        None | Some(b'\n') => {
                            return Err(error(start, "unterminated quoted string"));
                        }
                        Some(b'\\') if matches!(b.get(q + 1), None | Some(b'\n')) => {
                            return Err(error(start, "unterminated quoted string"));
                        }
                        Some(b'\\') => q += 2,
                        Some(b'"') => break,
                        Some(_) => q += 1,
                    }
                }
                let s = unquote(&rest[1..q]).map_err(|e| error(start, e))?;
                toks.push((Tok::Str(s), at));
                p += q + 1;
                continue;
            }
            '`' => {
                let Some(close) = rest[1..].find('`') else {
                    return Err(error(start, "unterminated raw quoted string"));
                };
                toks.push((Tok::Str(rest[1..1 + close].replace('\r', "")), at));
                p += close + 2;
                continue;
            }
            '\'' => {
                let b = rest.as_bytes();
                let mut q = 1;
                loop {
                    match b.get(q) {
                        None | Some(b'\n') => {
                            return Err(error(start, "unterminated character constant"));
                        }
                        Some(b'\\') if matches!(b.get(q + 1), None | Some(b'\n')) => {
                            return Err(error(start, "unterminated character constant"));
                        }
                        Some(b'\\') => q += 2,
                        Some(b'\'') => break,
                        Some(_) => q += 1,
                    }
                }
                let s = unquote(&rest[1..q]).map_err(|e| error(start, e))?;
                let mut chars = s.chars();
                let (Some(ch), None) = (chars.next(), chars.next()) else {
                    return Err(error(
                        start,
                        format!("malformed character constant: {}", &rest[..=q]),
                    ));
                };
                toks.push((Tok::Char(ch as i64), at));
                p += q + 1;
                continue;
            }
            '$' => {
                let n = 1 + alnum_len(&rest[1..]);
                if !at_terminator(&rest[n..]) {
                    return Err(bad_char(start, &rest[n..]));
                }
                toks.push((Tok::Var(rest[..n].to_string()), at));
                p += n;
                continue;
            }
            '.' if !rest[1..].starts_with(|c: char| c.is_ascii_digit()) => {
                let n = 1 + alnum_len(&rest[1..]);
                if !at_terminator(&rest[n..]) {
                    return Err(bad_char(start, &rest[n..]));
                }
                toks.push((
                    if n == 1 {
                        Tok::Dot
                    } else {
                        Tok::Field(rest[1..n].to_string())
                    },
                    at,
                ));
                p += n;
                continue;
            }
            '.' | '+' | '-' | '0'..='9' => {
                let n = number_len(rest);
                if rest[n..].starts_with(is_alnum) {
                    let bad_end = n + rest[n..].chars().next().map_or(0, char::len_utf8);
                    return Err(error(
                        start,
                        format!("bad number syntax: {:?}", &rest[..bad_end]),
                    ));
                }
                toks.push((Tok::Num(rest[..n].to_string()), at));
                p += n;
                continue;
            }
            c if is_alnum(c) => {
                let n = alnum_len(rest);
                if !at_terminator(&rest[n..]) {
                    return Err(bad_char(start, &rest[n..]));
                }
                let word = &rest[..n];
                toks.push((
                    match word {
                        "true" => Tok::Bool(true),
                        "false" => Tok::Bool(false),
                        "nil" => Tok::Nil,
                        w => Tok::Word(w.to_string()),
                    },
                    at,
                ));
                p += n;
                continue;
            }
            c => {
                return Err(error(start, format!("unexpected {c:?} in action")));
            }
        }
        p += c.len_utf8();
    }
}

fn bad_char(start: usize, rest: &str) -> LexError {
    let c = rest.chars().next().unwrap_or(' ');
    error(start, format!("bad character {c:?}"))
}

fn alnum_len(s: &str) -> usize {
    s.len() - s.trim_start_matches(is_alnum).len()
}

/// The length of Go's number syntax at the start of `s` (sign, base prefix, digits, fraction,
/// exponent, imaginary `i`).
fn number_len(s: &str) -> usize {
    let b = s.as_bytes();
    let mut i = 0;
    let accept = |i: &mut usize, set: &[u8]| -> bool {
        if b.get(*i).is_some_and(|c| set.contains(c)) {
            *i += 1;
            true
        } else {
            false
        }
    };
    let run = |i: &mut usize, set: &[u8]| {
        while b.get(*i).is_some_and(|c| set.contains(c)) {
            *i += 1;
        }
    };
    accept(&mut i, b"+-");
    let mut digits: &[u8] = b"0123456789_";
    if accept(&mut i, b"0") {
        if accept(&mut i, b"xX") {
            digits = b"0123456789abcdefABCDEF_";
        } else if accept(&mut i, b"oO") {
            digits = b"01234567_";
        } else if accept(&mut i, b"bB") {
            digits = b"01_";
        }
    }
    run(&mut i, digits);
    if accept(&mut i, b".") {
        run(&mut i, digits);
    }
    if digits.len() == 11 && accept(&mut i, b"eE") {
        accept(&mut i, b"+-");
        run(&mut i, b"0123456789_");
    }
    if digits.len() == 23 && accept(&mut i, b"pP") {
        accept(&mut i, b"+-");
        run(&mut i, b"0123456789_");
    }
    accept(&mut i, b"i");
    i
}

/// The body of a Go double-quoted string (or character constant) with its escapes resolved.
fn unquote(s: &str) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let e = chars.next().ok_or("invalid syntax in string literal")?;
        let hex = |chars: &mut std::str::Chars, n: usize| -> Result<u32, String> {
            let digits: String = chars.by_ref().take(n).collect();
            if digits.len() != n {
                return Err("invalid escape in string literal".into());
            }
            u32::from_str_radix(&digits, 16).map_err(|_| "invalid escape in string literal".into())
        };
        let code = match e {
            'a' => 7,
            'b' => 8,
            'f' => 12,
            'n' => 10,
            'r' => 13,
            't' => 9,
            'v' => 11,
            '\\' => 92,
            '"' => 34,
            '\'' => 39,
            'x' => hex(&mut chars, 2)?,
            'u' => hex(&mut chars, 4)?,
            'U' => hex(&mut chars, 8)?,
            '0'..='7' => {
                let rest: String = chars.by_ref().take(2).collect();
                u32::from_str_radix(&format!("{e}{rest}"), 8)
                    .map_err(|_| "invalid escape in string literal".to_string())?
            }
            other => return Err(format!("invalid escape \\{other} in string literal")),
        };
        if matches!(e, 'x' | '0'..='7') && code > 0x7f {
            return Err(
                "byte escapes above \\x7f (not UTF-8 text) are not supported by kpush".into(),
            );
        }
        out.push(char::from_u32(code).ok_or("invalid Unicode escape in string literal")?);
    }
    Ok(out)
}
