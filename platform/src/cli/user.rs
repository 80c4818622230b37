//! `kiosk-platform user add|disable|enable|remove`: console accounts.

use anyhow::Context;
use clap::Subcommand;
use kiosk_platform::DbUrl;
use kiosk_platform::console::hash_password;
use kiosk_platform::store::Role;

use super::{block_on, open_with_seed};

#[derive(Subcommand)]
pub enum UserCommand {
    /// Create an operator account (or set a new password and role); the password is read from
    /// standard input (asked for, without echo, on a terminal).
    Add {
        /// Login name: 1 to 64 letters, digits, `.`, `_` or `-`.
        name: String,
        /// viewer (reads), clerk (also works the applications of their departments in the
        /// workbench), editor (also edits and publishes the matters of their departments),
        /// operator (also commands and tokens), admin (also catalog and config).
        #[arg(long, value_parser = ["viewer", "clerk", "editor", "operator", "admin"])]
        role: String,
        /// A department id a clerk works the applications of, or an editor edits the matters
        /// of (repeat for several; clerks and editors only).
        #[arg(long = "department")]
        departments: Vec<String>,
        /// Database: sqlite://PATH or postgres://USER:PASSWORD@HOST/DATABASE.
        #[arg(long, default_value = "sqlite://kiosk-platform.db")]
        db: DbUrl,
    },
    /// Stop an account logging in, and end its sessions now (its audit lines stay).
    Disable {
        /// Login name.
        name: String,
        /// Database: sqlite://PATH or postgres://USER:PASSWORD@HOST/DATABASE.
        #[arg(long, default_value = "sqlite://kiosk-platform.db")]
        db: DbUrl,
    },
    /// Let a disabled account log in again.
    Enable {
        /// Login name.
        name: String,
        /// Database: sqlite://PATH or postgres://USER:PASSWORD@HOST/DATABASE.
        #[arg(long, default_value = "sqlite://kiosk-platform.db")]
        db: DbUrl,
    },
    /// Delete an account and end its sessions (its audit lines stay).
    Remove {
        /// Login name.
        name: String,
        /// Database: sqlite://PATH or postgres://USER:PASSWORD@HOST/DATABASE.
        #[arg(long, default_value = "sqlite://kiosk-platform.db")]
        db: DbUrl,
    },
}

/// Runs one `user` subcommand.
pub fn run(command: UserCommand) -> anyhow::Result<()> {
    match command {
        UserCommand::Add {
            name,
            role,
            departments,
            db,
        } => add(name, &role, &departments, &db),
        UserCommand::Disable { name, db } => change(&name, &db, Change::Disable),
        UserCommand::Enable { name, db } => change(&name, &db, Change::Enable),
        UserCommand::Remove { name, db } => change(&name, &db, Change::Remove),
    }
}

/// What `disable`, `enable` and `remove` do to an account.
#[derive(Clone, Copy)]
enum Change {
    Disable,
    Enable,
    Remove,
}

/// Applies `change` to the account `name`, audited; an unknown name is an error.
fn change(name: &str, db: &DbUrl, change: Change) -> anyhow::Result<()> {
    let (action, done) = match change {
        Change::Disable => ("user_disable", "is disabled; its sessions are ended"),
        Change::Enable => ("user_enable", "can log in again"),
        Change::Remove => ("user_remove", "is removed; its sessions are ended"),
    };
    block_on(async {
        let store = open_with_seed(db).await?;
        let found = match change {
            Change::Disable => store.set_operator_disabled(name, true).await?,
            Change::Enable => store.set_operator_disabled(name, false).await?,
            Change::Remove => store.remove_operator(name).await?,
        };
        if !found {
            anyhow::bail!("there is no operator {name}");
        }
        store.audit("cli", action, name).await?;
        anyhow::Ok(())
    })?;
    println!("operator {name} {done}");
    Ok(())
}

/// `user add`: creates an account or sets its password and role (ending its sessions).
fn add(name: String, role: &str, departments: &[String], db: &DbUrl) -> anyhow::Result<()> {
    if name.is_empty()
        || name.len() > 64
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
    {
        anyhow::bail!("the name must be 1 to 64 letters, digits, `.`, `_` or `-`");
    }
    let role =
        Role::parse(role).context("the role must be viewer, clerk, editor, operator or admin")?;
    match (role, departments.is_empty()) {
        (Role::Editor, true) => {
            anyhow::bail!("an editor needs at least one --department whose matters they edit")
        }
        (Role::Clerk, true) => {
            anyhow::bail!("a clerk needs at least one --department whose applications they work")
        }
        (Role::Editor | Role::Clerk, false) => {}
        (_, false) => anyhow::bail!("only an editor or a clerk has departments (--department)"),
        (_, true) => {}
    }
    let password = read_password()?;
    if password.chars().count() < 10 || password.len() > 256 {
        anyhow::bail!("the password must be 10 to 256 characters");
    }
    let hash = hash_password(&password).context("cannot hash the password")?;
    block_on(async {
        let store = open_with_seed(db).await?;
        if let Ok(published) = store.current_catalog().await {
            let catalog: kiosk_protocol::Catalog = serde_json::from_str(&published.body)?;
            if let Some(unknown) = departments
                .iter()
                .find(|d| !catalog.departments.iter().any(|known| &known.id == *d))
            {
                anyhow::bail!("the current catalog has no department {unknown}");
            }
        }
        store.put_operator(&name, &hash, role).await?;
        store.set_editor_departments(&name, departments).await?;
        let scope = if departments.is_empty() {
            String::new()
        } else {
            format!(" of {}", departments.join(", "))
        };
        store
            .audit(
                "cli",
                "user_add",
                &format!("{name} as {}{scope}", role.as_str()),
            )
            .await?;
        anyhow::Ok(())
    })?;
    println!("operator {name} can log in as {}", role.as_str());
    Ok(())
}

/// Reads a password: without echo from a terminal (asked twice), else one line of stdin.
fn read_password() -> anyhow::Result<String> {
    use std::io::{BufRead, IsTerminal};
    let stdin = std::io::stdin();
    let read_line = || -> anyhow::Result<String> {
        let mut line = String::new();
        stdin
            .lock()
            .read_line(&mut line)
            .context("cannot read the password")?;
        Ok(line.trim_end_matches(['\n', '\r']).to_owned())
    };
    if !stdin.is_terminal() {
        return read_line();
    }
    let fd = std::io::stdin();
    let saved = nix::sys::termios::tcgetattr(&fd).context("cannot read terminal settings")?;
    let mut quiet = saved.clone();
    quiet
        .local_flags
        .remove(nix::sys::termios::LocalFlags::ECHO);
    nix::sys::termios::tcsetattr(&fd, nix::sys::termios::SetArg::TCSANOW, &quiet)
        .context("cannot turn off echo")?;
    let ask = |prompt: &str| -> anyhow::Result<String> {
        eprint!("{prompt}");
        let answer = read_line();
        eprintln!();
        answer
    };
    let first = ask("password: ");
    let second = ask("again: ");
    let _ = nix::sys::termios::tcsetattr(&fd, nix::sys::termios::SetArg::TCSANOW, &saved);
    let (first, second) = (first?, second?);
    if first != second {
        anyhow::bail!("the two passwords differ");
    }
    Ok(first)
}
