//! Collapsible log sections: `::group::` on GitHub Actions, `section_start` on GitLab.

use super::CiSystem;

/// Opens a section titled `title`; `id` names it for GitLab (letters, digits, `_`, `.`, `-`).
/// Empty outside those CI systems.
pub fn section_start(ci: Option<CiSystem>, id: &str, title: &str) -> String {
    match ci {
        Some(CiSystem::GitHubActions) => format!("::group::{}\n", one_line(title)),
        Some(CiSystem::GitLab) => format!(
            "\x1b[0Ksection_start:{}:{}[collapsed=false]\r\x1b[0K{}\n",
            now(),
            section_id(id),
            one_line(title)
        ),
        _ => String::new(),
    }
}

pub fn section_end(ci: Option<CiSystem>, id: &str) -> String {
    match ci {
        Some(CiSystem::GitHubActions) => "::endgroup::\n".to_string(),
        Some(CiSystem::GitLab) => {
            format!("\x1b[0Ksection_end:{}:{}\r\x1b[0K\n", now(), section_id(id))
        }
        _ => String::new(),
    }
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn section_id(id: &str) -> String {
    let id: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("kpush_{id}")
}

/// A title is one log line: a newline would end the marker early.
fn one_line(text: &str) -> String {
    text.replace(['\r', '\n'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github_groups_wrap_one_line_titles() {
        let ci = Some(CiSystem::GitHubActions);
        assert_eq!(
            section_start(ci, "web", "kpush web\n(prod)"),
            "::group::kpush web (prod)\n"
        );
        assert_eq!(section_end(ci, "web"), "::endgroup::\n");
    }

    #[test]
    fn gitlab_sections_have_safe_ids() {
        let ci = Some(CiSystem::GitLab);
        let start = section_start(ci, "web app/prod", "kpush web");
        assert!(
            start.contains(":kpush_web_app_prod[collapsed=false]\r"),
            "{start:?}"
        );
        assert!(section_end(ci, "web app/prod").contains(":kpush_web_app_prod\r"));
    }

    #[test]
    fn nothing_outside_ci() {
        assert_eq!(section_start(None, "web", "kpush web"), "");
        assert_eq!(section_start(Some(CiSystem::Bitbucket), "web", "t"), "");
        assert_eq!(section_end(None, "web"), "");
    }
}
