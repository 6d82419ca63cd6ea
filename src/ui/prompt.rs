//! Questions on the terminal: yes or no, asked off the async thread so that a signal still ends
//! the command while it waits.

use futures::future::BoxFuture;

/// The answer to a question: `Ok(Some(yes))`, `Ok(None)` when there is no terminal to ask on,
/// `Err(signal)` when SIGINT or SIGTERM came first.
pub type Answer = Result<Option<bool>, &'static str>;

/// Who answers a workflow's questions: the terminal ([`terminal`]), or a test.
pub type Ask<'a> = &'a (dyn Fn(String) -> BoxFuture<'static, Answer> + Sync);

/// Asks on the terminal; a signal ends the wait.
pub fn terminal(question: String) -> BoxFuture<'static, Answer> {
    Box::pin(ask(question))
}

/// Asks a yes/no question on the terminal, off the async thread so that a signal still stops
/// the command while it waits. `Err` is the signal that came first.
pub async fn ask(question: String) -> Answer {
    let answer = tokio::task::spawn_blocking(move || confirm(&question));
    tokio::select! {
        a = answer => Ok(a.unwrap_or(None)),
        s = crate::signal::signalled() => Err(s),
    }
}

/// Asks a yes/no question on the terminal. `None` when there is no terminal to ask on.
pub fn confirm(question: &str) -> Option<bool> {
    use std::io::{BufRead, IsTerminal, Write};
    if !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
        return None;
    }
    let mut err = std::io::stderr();
    let _ = write!(err, "{question} [y/N] ");
    let _ = err.flush();
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer).ok()?;
    Some(matches!(answer.trim().to_lowercase().as_str(), "y" | "yes"))
}
