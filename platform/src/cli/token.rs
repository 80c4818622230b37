//! `kiosk-platform token create`: one-time enrollment tokens, for a new device or to re-key
//! one enrolled terminal.

use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;
use kiosk_platform::http::tls::pins_of_certificate_file;
use kiosk_platform::store::{random_hex, token_hash, token_id, unix_now};
use kiosk_platform::{DbUrl, StoreError};
use kiosk_protocol::EnrollmentPayload;

use super::{block_on, duration, open_with_seed};

#[derive(Subcommand)]
pub enum TokenCommand {
    /// Create a one-time enrollment token and print it with the enrollment payload (for the
    /// QR code a technician shows the new terminal).
    Create {
        /// Site (hall, branch) the enrolled terminal belongs to.
        #[arg(long, conflicts_with = "terminal")]
        site: Option<String>,
        /// Make a token that re-keys this enrolled terminal (a replaced disk, a lost key) and
        /// nothing else; the terminal keeps its id and site. Without it, the token enrolls
        /// only a device new to the platform.
        #[arg(long)]
        terminal: Option<String>,
        /// How long the token stays usable: e.g. 30m, 24h, 7d.
        #[arg(long, default_value = "24h", value_parser = duration::token_lifetime)]
        expires_in: i64,
        /// The platform's public base URL, put into the payload.
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        platform_url: String,
        /// The certificate (PEM) the platform serves, or its CA's: the payload carries the
        /// pin of its first certificate's key, and the terminal trusts no other afterwards.
        #[arg(long)]
        tls_cert: Option<PathBuf>,
        /// Database: sqlite://PATH or postgres://USER:PASSWORD@HOST/DATABASE.
        #[arg(long, default_value = "sqlite://kiosk-platform.db")]
        db: DbUrl,
    },
}

/// Runs one `token` subcommand.
pub fn run(command: TokenCommand) -> anyhow::Result<()> {
    let TokenCommand::Create {
        site,
        terminal,
        expires_in,
        platform_url,
        tls_cert,
        db,
    } = command;
    let tls_pin = match &tls_cert {
        Some(file) => pins_of_certificate_file(file)?.into_iter().next(),
        None => None,
    };
    if let Some(site) = &site
        && (site.is_empty() || site.chars().count() > 64 || site.chars().any(char::is_control))
    {
        anyhow::bail!("--site must be 1 to 64 characters without control characters");
    }
    let token = random_hex(24)?;
    let expires_at = unix_now() + expires_in;
    let site = block_on(async {
        let store = open_with_seed(&db).await?;
        let Some(terminal) = &terminal else {
            store
                .create_enrollment_token(&token, site.as_deref(), expires_at)
                .await?;
            return anyhow::Ok(site);
        };
        let site = store
            .create_rekey_token(&token, terminal, expires_at)
            .await
            .map_err(|e| match e {
                StoreError::UnknownTerminal => anyhow::anyhow!("no terminal {terminal}"),
                other => other.into(),
            })?;
        let token_id = token_id(&token_hash(&token));
        store
            .audit(
                "cli",
                "token_rekey",
                &format!("token {token_id} re-keys {terminal}"),
            )
            .await?;
        anyhow::Ok(site)
    })?;
    let expires = time::OffsetDateTime::from_unix_timestamp(expires_at)
        .context("expiry out of range")?
        .to_offset(time::macros::offset!(+8))
        .format(&time::format_description::well_known::Rfc3339)
        .context("cannot format the expiry")?;
    let payload = EnrollmentPayload {
        platform: platform_url.trim_end_matches('/').to_owned(),
        token: token.clone(),
        site,
        expires_at: expires.clone(),
        tls_pin,
    };
    println!("token: {token}");
    if let Some(terminal) = &terminal {
        println!(
            "re-keys: {terminal} only (id {})",
            token_id(&token_hash(&token))
        );
    }
    println!("expires: {expires} (one use)");
    println!("payload: {}", serde_json::to_string(&payload)?);
    Ok(())
}
