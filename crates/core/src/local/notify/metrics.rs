//! Prometheus' text exposition format (version 0.0.4, as node_exporter's
//! textfile collector reads it): families of gauges, each with its `HELP`
//! and `TYPE` lines, label values escaped. Pure: what is measured is
//! decided by the callers (a job's metrics file, `fleet --format
//! prometheus`).

use std::fmt::Write as _;

/// One gauge family.
#[derive(Debug, Clone, PartialEq)]
pub struct Family {
    /// `backupdesk_…` (letters, digits, `_`).
    pub name: &'static str,
    pub help: &'static str,
    pub samples: Vec<Sample>,
}

/// One sample of a family.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub labels: Vec<(&'static str, String)>,
    pub value: f64,
}

impl Family {
    /// A family with no sample yet.
    pub fn new(name: &'static str, help: &'static str) -> Self {
        Family {
            name,
            help,
            samples: Vec::new(),
        }
    }

    /// Adds a sample with `labels`.
    pub fn with(mut self, labels: &[(&'static str, &str)], value: f64) -> Self {
        self.push(labels, value);
        self
    }

    /// Adds a sample with `labels`, in place.
    pub fn push(&mut self, labels: &[(&'static str, &str)], value: f64) {
        self.samples.push(Sample {
            labels: labels.iter().map(|(k, v)| (*k, (*v).to_owned())).collect(),
            value,
        });
    }
}

/// The families as text; a family without samples is left out.
pub fn render(families: &[Family]) -> String {
    let mut text = String::new();
    for family in families.iter().filter(|f| !f.samples.is_empty()) {
        let _ = writeln!(
            text,
            "# HELP {} {}",
            family.name,
            family.help.replace('\n', " ")
        );
        let _ = writeln!(text, "# TYPE {} gauge", family.name);
        for sample in &family.samples {
            text.push_str(family.name);
            if !sample.labels.is_empty() {
                let labels: Vec<String> = sample
                    .labels
                    .iter()
                    .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
                    .collect();
                let _ = write!(text, "{{{}}}", labels.join(","));
            }
            let _ = writeln!(text, " {}", number(sample.value));
        }
    }
    text
}

/// A label value escaped: backslash, double quote, line feed.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn number(value: f64) -> String {
    if value.is_nan() {
        "NaN".to_owned()
    } else if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{}", value as i64)
    } else {
        format!("{value}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_render_in_the_text_format_with_labels_escaped() {
        let text = render(&[
            Family::new("backupdesk_backups", "Backups kept.")
                .with(&[("installation", "/opt/a \"b\"\\c\nd")], 3.0),
            Family::new("backupdesk_empty", "Left out."),
            Family::new("backupdesk_ratio", "A ratio.").with(&[], 0.25),
        ]);
        assert_eq!(
            text,
            "# HELP backupdesk_backups Backups kept.\n# TYPE backupdesk_backups gauge\n\
             backupdesk_backups{installation=\"/opt/a \\\"b\\\"\\\\c\\nd\"} 3\n\
             # HELP backupdesk_ratio A ratio.\n# TYPE backupdesk_ratio gauge\nbackupdesk_ratio 0.25\n"
        );
    }
}
