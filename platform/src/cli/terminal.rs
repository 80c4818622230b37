//! `kiosk-platform terminal tag|revoke|restore …`: tags on terminals (which rollouts can
//! target), and revoking a terminal (a stolen or compromised device) or restoring it.

use clap::Subcommand;
use kiosk_platform::{DbUrl, StoreError};

use super::{block_on, open_with_seed};

#[derive(Subcommand)]
pub enum TerminalCommand {
    /// Add or remove a terminal's tags (which rollouts can target); prints its tags.
    Tag {
        /// The terminal id.
        #[arg(long)]
        terminal: String,
        /// Tag to add (1 to 32 of a-z 0-9 - _ .); may be repeated.
        #[arg(long)]
        add: Vec<String>,
        /// Tag to remove; may be repeated.
        #[arg(long)]
        remove: Vec<String>,
        /// Database: sqlite://PATH or postgres://USER:PASSWORD@HOST/DATABASE.
        #[arg(long, default_value = "sqlite://kiosk-platform.db")]
        db: DbUrl,
    },
    /// Revoke a terminal: every signed request it makes is refused (`terminal_revoked`) until
    /// it is restored; its key and records stay.
    Revoke {
        /// The terminal id.
        id: String,
        /// Why (kept in the audit log and the terminal's events).
        #[arg(long)]
        reason: String,
        /// Database: sqlite://PATH or postgres://USER:PASSWORD@HOST/DATABASE.
        #[arg(long, default_value = "sqlite://kiosk-platform.db")]
        db: DbUrl,
    },
    /// Restore a revoked terminal: it works again with the key it had.
    Restore {
        /// The terminal id.
        id: String,
        /// Database: sqlite://PATH or postgres://USER:PASSWORD@HOST/DATABASE.
        #[arg(long, default_value = "sqlite://kiosk-platform.db")]
        db: DbUrl,
    },
}

/// Runs one `terminal` subcommand.
pub fn run(command: TerminalCommand) -> anyhow::Result<()> {
    let (terminal, add, remove, db) = match command {
        TerminalCommand::Tag {
            terminal,
            add,
            remove,
            db,
        } => (terminal, add, remove, db),
        TerminalCommand::Revoke { id, reason, db } => return revoke(&id, Some(&reason), &db),
        TerminalCommand::Restore { id, db } => return revoke(&id, None, &db),
    };
    let tags = block_on(async {
        let store = open_with_seed(&db).await?;
        let tags = store
            .tag_terminal(&terminal, &add, &remove)
            .await
            .map_err(|e| match e {
                StoreError::UnknownTerminal => {
                    anyhow::anyhow!("no terminal {terminal}")
                }
                other => other.into(),
            })?;
        if !add.is_empty() || !remove.is_empty() {
            store
                .audit(
                    "cli",
                    "terminal_tag",
                    &format!("{terminal}: +{} -{}", add.join(","), remove.join(",")),
                )
                .await?;
        }
        anyhow::Ok(tags)
    })?;
    println!(
        "{terminal}: {}",
        if tags.is_empty() {
            "no tags".to_owned()
        } else {
            tags.join(", ")
        }
    );
    Ok(())
}

/// Revokes terminal `id` (with a reason) or restores it (`None`), audited as the CLI's.
fn revoke(id: &str, reason: Option<&str>, db: &DbUrl) -> anyhow::Result<()> {
    let reason = reason.map(str::trim);
    if reason
        .is_some_and(|r| r.is_empty() || r.chars().count() > 200 || r.chars().any(char::is_control))
    {
        anyhow::bail!("--reason must be 1 to 200 characters without control characters");
    }
    block_on(async {
        let store = open_with_seed(db).await?;
        store
            .set_revoked(id, reason, "cli")
            .await
            .map_err(|e| match e {
                StoreError::UnknownTerminal => anyhow::anyhow!("no terminal {id}"),
                other => other.into(),
            })
    })?;
    match reason {
        Some(_) => {
            println!("{id}: revoked (its requests are refused until `terminal restore {id}`)")
        }
        None => println!("{id}: restored"),
    }
    Ok(())
}
