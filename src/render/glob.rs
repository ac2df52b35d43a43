//! File-name patterns for directory sources (`include`/`exclude`): `*` within a path segment,
//! `**` across segments, `?`, and `{a,b}` alternatives, as Argo CD accepts them.

/// Whether `path` (relative, `/`-separated) matches `pattern`.
pub fn matches(pattern: &str, path: &str) -> bool {
    expand_braces(pattern)
        .iter()
        .any(|p| match_here(p.as_bytes(), path.as_bytes()))
}

fn expand_braces(pattern: &str) -> Vec<String> {
    let Some(open) = pattern.find('{') else {
        return vec![pattern.to_string()];
    };
    let Some(close) = pattern[open..].find('}').map(|i| open + i) else {
        return vec![pattern.to_string()];
    };
    let (head, tail) = (&pattern[..open], &pattern[close + 1..]);
    pattern[open + 1..close]
        .split(',')
        .flat_map(|alt| expand_braces(&format!("{head}{alt}{tail}")))
        .collect()
}

fn match_here(p: &[u8], s: &[u8]) -> bool {
    match p {
        [] => s.is_empty(),
        [b'*', b'*', rest @ ..] => {
            let rest = rest.strip_prefix(b"/").unwrap_or(rest);
            (0..=s.len()).any(|i| (i == 0 || s[i - 1] == b'/') && match_here(rest, &s[i..]))
                || match_here(rest, s)
        }
        [b'*', rest @ ..] => (0..=s.len())
            .take_while(|&i| i == 0 || s[i - 1] != b'/')
            .any(|i| match_here(rest, &s[i..])),
        [b'?', rest @ ..] => !s.is_empty() && s[0] != b'/' && match_here(rest, &s[1..]),
        [c, rest @ ..] => s.first() == Some(c) && match_here(rest, &s[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        let cases = [
            ("*.yaml", "a.yaml", true),
            ("*.yaml", "dir/a.yaml", false),
            ("**/*.yaml", "dir/sub/a.yaml", true),
            ("**/*.yaml", "a.yaml", true),
            ("{a.yaml,b.yml}", "b.yml", true),
            ("{a.yaml,b.yml}", "c.yml", false),
            ("crds/*", "crds/x.yaml", true),
            ("v?.yaml", "v1.yaml", true),
            ("*-prod.yaml", "web-dev.yaml", false),
        ];
        for (pattern, path, expected) in cases {
            assert_eq!(matches(pattern, path), expected, "{pattern} vs {path}");
        }
    }
}
