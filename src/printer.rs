//! Where output goes and whether it is coloured: data on stdout, progress and logs on stderr.

use std::io::{IsTerminal, Write};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Added,
    Removed,
    Changed,
    Header,
    Dim,
    Error,
}

#[derive(Debug, Clone, Copy)]
pub struct Printer {
    color: bool,
}

impl Printer {
    /// Colour only on a terminal, and never with `--no-color` or `NO_COLOR` set.
    pub fn new(no_color: bool) -> Printer {
        let env_off = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Printer {
            color: !no_color && !env_off && std::io::stdout().is_terminal(),
        }
    }

    pub fn plain() -> Printer {
        Printer { color: false }
    }

    pub fn paint(&self, style: Style, text: &str) -> String {
        if !self.color {
            return text.to_string();
        }
        let code = match style {
            Style::Added => "32",
            Style::Removed => "31",
            Style::Changed => "33",
            Style::Header => "1",
            Style::Dim => "2",
            Style::Error => "1;31",
        };
        format!("\x1b[{code}m{text}\x1b[0m")
    }

    /// Writes to stdout; a closed pipe (`kpush diff | head`) is not an error worth a panic.
    pub fn out(&self, text: &str) {
        let mut stdout = std::io::stdout().lock();
        let _ = stdout.write_all(text.as_bytes());
        let _ = stdout.flush();
    }

    /// Progress and notes for people, on stderr.
    pub fn note(&self, text: &str) {
        let mut stderr = std::io::stderr().lock();
        let _ = writeln!(stderr, "{text}");
    }
}
