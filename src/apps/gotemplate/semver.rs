//! Sprig's `semver` and `semverCompare`, with Masterminds/semver's rules: lenient versions
//! (`v1.2` is 1.2.0) and its constraint language (`>= 1.2, < 2`, `~1.2`, `^1`, `1.2.x`,
//! `1 - 2`, `||`). A version with a pre-release matches only constraints that have one.

use std::cmp::Ordering;
use std::fmt;
use std::sync::LazyLock;

use regex::Regex;

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Version {
    pub major: u64,
    pub minor: u64,
    pub patch: u64,
    pub pre: String,
    pub meta: String,
    pub original: String,
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)?;
        if !self.pre.is_empty() {
            write!(f, "-{}", self.pre)?;
        }
        if !self.meta.is_empty() {
            write!(f, "+{}", self.meta)?;
        }
        Ok(())
    }
}

static VERSION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^v?([0-9]+)(?:\.([0-9]+))?(?:\.([0-9]+))?(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$",
    )
    .expect("valid regex")
});

static CONSTRAINT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(=|!=|>=|=>|<=|=<|>|<|~>|~|\^)?\s*v?([0-9xX*]+)(?:\.([0-9xX*]+))?(?:\.([0-9xX*]+))?(?:-([0-9A-Za-z.-]+))?(?:\+([0-9A-Za-z.-]+))?",
    )
    .expect("valid regex")
});

static HYPHEN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(\S+)\s+-\s+(\S+)").expect("valid regex"));

fn number(s: &str) -> Result<u64, String> {
    s.parse()
        .map_err(|_| format!("invalid version segment {s:?}"))
}

impl Version {
    pub fn parse(s: &str) -> Result<Version, String> {
        let m = VERSION
            .captures(s)
            .ok_or_else(|| "Invalid Semantic Version".to_string())?;
        let part = |i: usize| m.get(i).map_or("", |g| g.as_str());
        let opt =
            |i: usize| -> Result<u64, String> { m.get(i).map_or(Ok(0), |g| number(g.as_str())) };
        Ok(Version {
            major: number(part(1))?,
            minor: opt(2)?,
            patch: opt(3)?,
            pre: part(4).to_string(),
            meta: part(5).to_string(),
            original: s.to_string(),
        })
    }

    fn compare(&self, other: &Version) -> Ordering {
        (self.major, self.minor, self.patch)
            .cmp(&(other.major, other.minor, other.patch))
            .then_with(|| compare_pre(&self.pre, &other.pre))
    }
}

/// Semantic versioning's pre-release order; no pre-release sorts last.
fn compare_pre(a: &str, b: &str) -> Ordering {
    match (a.is_empty(), b.is_empty()) {
        (true, true) => return Ordering::Equal,
        (true, false) => return Ordering::Greater,
        (false, true) => return Ordering::Less,
        _ => {}
    }
    let (mut x, mut y) = (a.split('.'), b.split('.'));
    loop {
        match (x.next(), y.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(p), Some(q)) => {
                let o = match (p.parse::<u64>(), q.parse::<u64>()) {
                    (Ok(m), Ok(n)) => m.cmp(&n),
                    (Ok(_), Err(_)) => Ordering::Less,
                    (Err(_), Ok(_)) => Ordering::Greater,
                    (Err(_), Err(_)) => p.cmp(q),
                };
                if o != Ordering::Equal {
                    return o;
                }
            }
        }
    }
}

#[derive(Debug)]
struct Constraint {
    op: String,
    con: Version,
    /// `*` or `x` as the major: any version.
    any: bool,
    minor_dirty: bool,
    patch_dirty: bool,
}

fn is_x(s: &str) -> bool {
    matches!(s, "x" | "X" | "*")
}

fn parse_one(m: &regex::Captures) -> Result<Constraint, String> {
    let part = |i: usize| m.get(i).map(|g| g.as_str());
    let major = part(2).unwrap_or("");
    let minor = part(3);
    let patch = part(4);
    let any = is_x(major);
    let minor_dirty = !any && minor.is_none_or(is_x);
    let patch_dirty = !any && !minor_dirty && patch.is_none_or(is_x);
    let value = |s: Option<&str>| -> Result<u64, String> {
        match s {
            Some(s) if !is_x(s) => number(s),
            _ => Ok(0),
        }
    };
    Ok(Constraint {
        op: part(1).unwrap_or("").to_string(),
        con: Version {
            major: if any { 0 } else { number(major)? },
            minor: value(minor)?,
            patch: value(patch)?,
            pre: part(5).unwrap_or("").to_string(),
            meta: part(6).unwrap_or("").to_string(),
            original: String::new(),
        },
        any,
        minor_dirty,
        patch_dirty,
    })
}

/// Masterminds' `Constraints.Check`: any `||` alternative whose every constraint holds.
pub(super) fn check(constraints: &str, version: &Version) -> Result<bool, String> {
    let improper = || format!("improper constraint: {constraints}");
    let mut alternatives = Vec::new();
    for alternative in constraints.split("||") {
        let alternative = HYPHEN.replace_all(alternative, ">= $1, <= $2");
        let mut all = Vec::new();
        let mut covered = 0;
        for m in CONSTRAINT.captures_iter(&alternative) {
            let whole = m.get(0).expect("match");
            if !alternative[covered..whole.start()]
                .chars()
                .all(|c| c.is_whitespace() || c == ',')
            {
                return Err(improper());
            }
            covered = whole.end();
            all.push(parse_one(&m)?);
        }
        if all.is_empty()
            || !alternative[covered..]
                .chars()
                .all(|c| c.is_whitespace() || c == ',')
        {
            return Err(improper());
        }
        alternatives.push(all);
    }
    Ok(alternatives
        .iter()
        .any(|all| all.iter().all(|c| holds(c, version))))
}

fn holds(c: &Constraint, v: &Version) -> bool {
    let con = &c.con;
    let dirty = c.minor_dirty || c.patch_dirty;
    if !v.pre.is_empty() && con.pre.is_empty() && c.op != "!=" {
        return false;
    }
    if c.any {
        return c.op != "!=";
    }
    let cmp = v.compare(con);
    match c.op.as_str() {
        "!=" => {
            if dirty {
                if !v.pre.is_empty() && con.pre.is_empty() {
                    return false;
                }
                v.major != con.major || (!c.minor_dirty && v.minor != con.minor)
            } else {
                cmp != Ordering::Equal
            }
        }
        ">" => {
            if !dirty {
                cmp == Ordering::Greater
            } else if v.major != con.major {
                v.major > con.major
            } else if c.minor_dirty {
                false
            } else {
                v.minor > con.minor
            }
        }
        "<" => cmp == Ordering::Less,
        ">=" | "=>" => cmp != Ordering::Less,
        "<=" | "=<" => {
            if !dirty {
                cmp != Ordering::Greater
            } else {
                !(v.major > con.major
                    || (v.major == con.major && !c.minor_dirty && v.minor > con.minor))
            }
        }
        "~" | "~>" => tilde(c, v),
        "^" => {
            if cmp == Ordering::Less {
                false
            } else if con.major > 0 || c.minor_dirty {
                v.major == con.major
            } else if v.major > 0 {
                false
            } else if con.minor > 0 || c.patch_dirty {
                v.minor == con.minor
            } else {
                v.minor == 0 && v.patch == con.patch
            }
        }
        _ => {
            if dirty {
                tilde(c, v)
            } else {
                cmp == Ordering::Equal
            }
        }
    }
}

fn tilde(c: &Constraint, v: &Version) -> bool {
    let con = &c.con;
    if v.compare(con) == Ordering::Less {
        return false;
    }
    if con.major == 0 && con.minor == 0 && con.patch == 0 && !c.minor_dirty && !c.patch_dirty {
        return true;
    }
    v.major == con.major && (c.minor_dirty || v.minor == con.minor)
}
