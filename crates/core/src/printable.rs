//! Text from elsewhere (a profile book edited by hand, names a store
//! lists, a server's stderr), made safe to print: control characters, the
//! terminal's escape sequences and line breaks among them, are shown as
//! escapes, so such text can neither drive the admin's terminal nor forge
//! a line of our output.

/// `text` with every control character written as an escape (`\n`, `\r`,
/// `\t`, `\e` for ESC, `\u{…}` for the rest, C1 controls included).
pub fn escaped(text: &str) -> String {
    if !text.chars().any(char::is_control) {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{1b}' => out.push_str("\\e"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", u32::from(c))),
            c => out.push(c),
        }
    }
    out
}

/// [`escaped`], keeping line breaks: for multi-line text such as a
/// server's stderr, where each line is escaped on its own.
pub(crate) fn escaped_lines(text: &str) -> String {
    text.split_inclusive('\n')
        .map(|line| match line.strip_suffix('\n') {
            Some(body) => format!("{}\n", escaped(body.strip_suffix('\r').unwrap_or(body))),
            None => escaped(line),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_unchanged() {
        assert_eq!(
            escaped("prod-db.eu (Paris) ünïcode"),
            "prod-db.eu (Paris) ünïcode"
        );
    }

    #[test]
    fn control_characters_cannot_reach_the_terminal() {
        assert_eq!(
            escaped("x\u{1b}]0;pwned\u{7}\u{1b}[2J"),
            "x\\e]0;pwned\\u{7}\\e[2J"
        );
        assert_eq!(escaped("a\nok: forged"), "a\\nok: forged");
        assert_eq!(escaped("\u{9b}31m"), "\\u{9b}31m");
        assert!(!escaped("\u{0}\u{8}\u{7f}").chars().any(char::is_control));
    }

    #[test]
    fn lines_stay_lines_each_escaped() {
        assert_eq!(escaped_lines("one\u{1b}[1m\r\ntwo\n"), "one\\e[1m\ntwo\n");
    }
}
