//! The formats a report is written in: `--output` (text, json, markdown) and `--report-to`
//! (json, markdown, dotenv, gitlab-terraform).

/// One report format; each has one renderer in this module's siblings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// For people, streamed as the run goes.
    Text,
    Json,
    Markdown,
    /// `KPUSH_*` lines with the counts, revision and exit code.
    Dotenv,
    /// The counts GitLab's merge-request widget shows.
    GitlabTerraform,
}

impl Format {
    pub const ALL: [Format; 5] = [
        Format::Text,
        Format::Json,
        Format::Markdown,
        Format::Dotenv,
        Format::GitlabTerraform,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Format::Text => "text",
            Format::Json => "json",
            Format::Markdown => "markdown",
            Format::Dotenv => "dotenv",
            Format::GitlabTerraform => "gitlab-terraform",
        }
    }

    pub fn parse(name: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.name() == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for format in Format::ALL {
            assert_eq!(Format::parse(format.name()), Some(format));
        }
        assert_eq!(Format::parse("yaml"), None);
    }
}
