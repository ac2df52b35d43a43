//! How a tag is chosen among a registry's tags: Argo CD Image Updater's update strategies.
//! Pure: the registry's answers come in, the chosen tag goes out.

use semver::{Version, VersionReq};

/// `update-strategy`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Strategy {
    /// The highest semantic version, within the constraint.
    #[default]
    Semver,
    /// The most recently built image.
    NewestBuild,
    /// The last tag in lexical order (calendar versions).
    Alphabetical,
    /// The current digest of one mutable tag (the constraint names it).
    Digest,
}

impl Strategy {
    /// Image Updater's names, with its older aliases `latest` and `name`.
    pub fn parse(text: &str) -> Result<Strategy, String> {
        match text.trim() {
            "semver" => Ok(Strategy::Semver),
            "newest-build" | "latest" => Ok(Strategy::NewestBuild),
            "alphabetical" | "name" => Ok(Strategy::Alphabetical),
            "digest" => Ok(Strategy::Digest),
            other => Err(format!(
                "update-strategy `{other}` is not semver, newest-build, alphabetical or digest"
            )),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Strategy::Semver => "semver",
            Strategy::NewestBuild => "newest-build",
            Strategy::Alphabetical => "alphabetical",
            Strategy::Digest => "digest",
        }
    }
}

/// A tag read as a semantic version the way Image Updater reads it: an optional `v`, and
/// `X`, `X.Y` or `X.Y.Z` with an optional pre-release and build.
pub fn version(tag: &str) -> Option<Version> {
    let text = tag.strip_prefix('v').unwrap_or(tag);
    let split = text.find(['-', '+']).unwrap_or(text.len());
    let (core, rest) = text.split_at(split);
    let parts: Vec<&str> = core.split('.').collect();
    if parts.is_empty()
        || parts.len() > 3
        || parts
            .iter()
            .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    let mut padded = parts.clone();
    padded.resize(3, "0");
    Version::parse(&format!("{}{rest}", padded.join("."))).ok()
}

/// Whether `version` is within `constraint`, as Image Updater reads constraints: `1.2.x`,
/// `^2.0`, `>= 1.0 < 2.0` (space or comma between comparators), `a || b`, a `v` before a
/// version. Pre-releases count only when the constraint allows them with a `-` suffix
/// (`2.x-0`), as Image Updater's documentation asks.
pub fn within(constraint: &str, version: &Version) -> Result<bool, String> {
    let allows_pre = constraint.contains('-');
    let mut release = version.clone();
    if !version.pre.is_empty() {
        if !allows_pre {
            return Ok(false);
        }
        release.pre = semver::Prerelease::EMPTY;
    }
    for alternative in constraint.split("||") {
        let req = parse_req(alternative)
            .map_err(|e| format!("the semver constraint `{constraint}` ({e})"))?;
        if req.matches(&release) {
            return Ok(true);
        }
    }
    Ok(false)
}

fn parse_req(text: &str) -> Result<VersionReq, semver::Error> {
    // Comparators as Image Updater writes them: `>= 1.0 <2`, `v1.x`, `2.x-0`.
    let mut comparators: Vec<String> = Vec::new();
    let mut pending_op = String::new();
    for word in text.split([' ', ',']).filter(|w| !w.is_empty()) {
        if word.chars().all(|c| "<>=~^!".contains(c)) {
            pending_op.push_str(word);
            continue;
        }
        let op_len = word
            .find(|c: char| !"<>=~^".contains(c))
            .unwrap_or(word.len());
        let (op, version) = word.split_at(op_len);
        let version = version.strip_prefix('v').unwrap_or(version);
        // A pre-release marker only widens the range; the comparison is on the release.
        let version = match version.split_once('-') {
            Some((release, _)) => release,
            None => version,
        };
        comparators.push(format!("{pending_op}{op}{version}"));
        pending_op.clear();
    }
    if comparators.is_empty() {
        return Ok(VersionReq::STAR);
    }
    VersionReq::parse(&comparators.join(", "))
}

/// The tag a strategy picks among `candidates` (tags the policy allows), with each one's build
/// date where the strategy needs it. `None` when no candidate qualifies.
pub fn pick(
    strategy: Strategy,
    candidates: &[(String, Option<jiff::Timestamp>)],
) -> Option<String> {
    let best = match strategy {
        Strategy::Semver => candidates
            .iter()
            .filter_map(|(tag, _)| Some((version(tag)?, tag)))
            .max_by(|(a, ta), (b, tb)| a.cmp(b).then_with(|| ta.cmp(tb)))
            .map(|(_, tag)| tag),
        Strategy::Alphabetical => candidates.iter().map(|(tag, _)| tag).max(),
        // Tags of one build share its date; the lexically last of them wins, as Image Updater
        // picks it.
        Strategy::NewestBuild => candidates
            .iter()
            .filter(|(_, created)| created.is_some())
            .max_by(|(ta, a), (tb, b)| a.cmp(b).then_with(|| ta.cmp(tb)))
            .map(|(tag, _)| tag),
        Strategy::Digest => candidates.first().map(|(tag, _)| tag),
    };
    best.cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(list: &[&str]) -> Vec<(String, Option<jiff::Timestamp>)> {
        list.iter().map(|t| (t.to_string(), None)).collect()
    }

    #[test]
    fn versions_as_image_updater_reads_them() {
        let cases = [
            ("1.2.3", Some("1.2.3")),
            ("v1.2.3", Some("1.2.3")),
            ("1.2", Some("1.2.0")),
            ("2", Some("2.0.0")),
            ("2.0.0-rc1", Some("2.0.0-rc1")),
            ("v1.4-beta.2+build.7", Some("1.4.0-beta.2+build.7")),
            ("latest", None),
            ("1.2.3.4", None),
            ("a1b2c3d", None),
            ("", None),
        ];
        for (tag, expected) in cases {
            assert_eq!(
                version(tag).map(|v| v.to_string()).as_deref(),
                expected,
                "{tag}"
            );
        }
    }

    #[test]
    fn constraints() {
        let cases = [
            ("1.2.x", "1.2.9", true),
            ("1.2.x", "1.3.0", false),
            ("1.x", "1.15.2", true),
            ("v1.x", "1.0.0", true),
            ("^2.1", "2.4.0", true),
            ("~1.4", "1.5.0", false),
            (">= 1.0 < 2.0", "1.9.9", true),
            (">=1.0, <2.0", "2.0.0", false),
            ("1.x || 3.x", "3.1.0", true),
            ("1.x || 3.x", "2.1.0", false),
            ("2.x", "2.1.0-rc1", false),
            ("2.x-0", "2.1.0-rc1", true),
        ];
        for (constraint, v, expected) in cases {
            let got = within(constraint, &version(v).unwrap()).unwrap();
            assert_eq!(got, expected, "{constraint} / {v}");
        }
        assert!(within("not a constraint", &version("1.0.0").unwrap()).is_err());
    }

    #[test]
    fn strategies_pick() {
        let some = tags(&["1.9.0", "1.10.0", "v1.2.0", "latest"]);
        assert_eq!(pick(Strategy::Semver, &some).as_deref(), Some("1.10.0"));
        let dates = tags(&["2024-05-01", "2024-12-31", "2024-06-15"]);
        assert_eq!(
            pick(Strategy::Alphabetical, &dates).as_deref(),
            Some("2024-12-31")
        );
        assert_eq!(pick(Strategy::Semver, &tags(&["latest", "main"])), None);
        let at = |s: &str| Some(s.parse::<jiff::Timestamp>().unwrap());
        let built = vec![
            ("f33bacd".to_string(), at("2026-01-02T00:00:00Z")),
            ("dev".to_string(), at("2026-01-02T00:00:00Z")),
            ("0a1b2c3".to_string(), at("2026-01-01T00:00:00Z")),
            ("undated".to_string(), None),
        ];
        assert_eq!(
            pick(Strategy::NewestBuild, &built).as_deref(),
            Some("f33bacd")
        );
        assert_eq!(pick(Strategy::NewestBuild, &built[3..]), None);
        for (text, strategy) in [
            ("latest", Strategy::NewestBuild),
            ("name", Strategy::Alphabetical),
            ("digest", Strategy::Digest),
        ] {
            assert_eq!(Strategy::parse(text).unwrap(), strategy);
        }
        assert!(Strategy::parse("newest").is_err());
    }
}
