//! `kiosk-platform keys init|rotate`: the key file `serve --keys` reads (the data key personal
//! data is encrypted with, the applicant key, the sealing key pairs, the certificate key).

use std::path::{Path, PathBuf};

use clap::Subcommand;
use kiosk_platform::keys::{KeyFile, Keys};
use kiosk_platform::{DbUrl, Store};

use super::block_on;

#[derive(Subcommand)]
pub enum KeysCommand {
    /// Create a new key file (mode 0600; an existing file is never overwritten). Back it up
    /// apart from the database: without it, the database's personal data cannot be read.
    Init {
        /// The key file to create.
        #[arg(long)]
        file: PathBuf,
        /// Carry over the secrets a database made before key files keeps in its settings, so
        /// its applicants' records and what terminals sealed to it still open; they are then
        /// removed from the database at the next start of `serve`.
        #[arg(long, requires = "db")]
        from_database: bool,
        /// The database to carry the secrets from: sqlite://PATH or postgres://….
        #[arg(long)]
        db: Option<DbUrl>,
    },
    /// Add a new sealing key pair: terminals are given it with their configuration and seal
    /// to it from then on; what was sealed to the older keys still opens. Restart every
    /// instance after rotating (an instance not yet restarted still opens the new key's
    /// items: it reads the file again when a sealed body opens with none of its keys).
    Rotate {
        /// The key file.
        #[arg(long)]
        file: PathBuf,
    },
}

/// Runs one `keys` command.
pub fn run(command: KeysCommand) -> anyhow::Result<()> {
    match command {
        KeysCommand::Init {
            file,
            from_database,
            db,
        } => {
            let legacy = match (from_database, db) {
                (true, Some(db)) => block_on(async move {
                    let store = Store::open(&db).await?;
                    store.legacy_secrets().await?.ok_or_else(|| {
                        anyhow::anyhow!(
                            "{db} keeps no secrets of its own (it was made with a key file): use the key file it was made with"
                        )
                    })
                })
                .map(Some)?,
                _ => None,
            };
            KeyFile::create(&file, legacy.as_ref())?;
            println!("key file written to {} (mode 0600)", file.display());
            if legacy.is_some() {
                println!(
                    "it carries the database's secrets: start `serve --keys {}`, which then removes them from the database",
                    file.display()
                );
            }
            Ok(())
        }
        KeysCommand::Rotate { file } => {
            let (id, public) = KeyFile::rotate(&file)?;
            println!("sealing key {id} added and published: {public}");
            println!("restart every platform instance sharing this file");
            Ok(())
        }
    }
}

/// The key file at `path`, loaded for a command that reads or writes personal data.
pub fn load(path: &Path) -> anyhow::Result<Keys> {
    Ok(KeyFile::load(path)?.into_keys())
}
