//! Typed confirmations for destructive verbs. `--yes` skips them; without a
//! terminal and without `--yes`, a destructive verb refuses to run.

use std::io::{BufRead, IsTerminal, Write};

use crate::failure::{failed, usage};

/// Asks the admin to type `word`; `Ok` when they did or `--yes` was given.
pub fn typed(yes: bool, prompt: &str, word: &str) -> anyhow::Result<()> {
    if yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        return Err(usage(
            backupdesk_core::ErrorKind::ConfirmationRequired,
            "this changes data and there is no terminal to confirm on: add --yes",
        ));
    }
    print!("{prompt} Type {word} to continue: ");
    std::io::stdout().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    if answer.trim() == word {
        Ok(())
    } else {
        Err(failed(
            backupdesk_core::ErrorKind::NotConfirmed,
            "not confirmed; nothing was changed",
        ))
    }
}

/// Reads one line from the terminal after `prompt`.
pub fn ask(prompt: &str) -> anyhow::Result<String> {
    print!("{prompt}");
    std::io::stdout().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(answer.trim().to_owned())
}
