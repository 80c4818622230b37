//! `kiosk update …`: what runs, what is published, installing and going back, by hand.
//!
//! Operations staff normally update terminals through rollouts; these commands are for the
//! terminal in front of a technician (or reached over the maintenance link). They work on
//! the same slots and record as the running kiosk, and print one line per step so a cut
//! install can be seen for what it is.

use std::path::PathBuf;

use anyhow::Context;
use kiosk_protocol::{ReleaseKind, UpdateState};
use serde::Serialize;

use super::UpdateSettings;
use super::install::{ARCH, Outcome, Wanted};
use super::launch::{Launch, plan, signed_and_intact};
use crate::config::KioskConfig;
use crate::uplink::identity::TerminalIdentity;
use crate::uplink::tls::{PlatformTls, check_platform_url};

/// `kiosk update` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum UpdateCommand {
    /// What is committed, on trial, kept for going back, waiting to be reported; checks the
    /// slots' files against their signed hashes. Exits non-zero when a slot is damaged.
    Status {
        /// Configuration file.
        #[arg(long, default_value = "/etc/kiosk/kiosk.toml")]
        config: PathBuf,
        /// Print JSON instead of lines.
        #[arg(long)]
        json: bool,
    },
    /// Verifies the platform's signed release metadata and says which releases are
    /// published for this terminal.
    Check {
        /// Configuration file.
        #[arg(long, default_value = "/etc/kiosk/kiosk.toml")]
        config: PathBuf,
        /// Print JSON instead of lines.
        #[arg(long)]
        json: bool,
    },
    /// Installs a release into the inactive slot and switches to it (on trial); restarts the
    /// kiosk service unless told not to.
    Apply {
        /// Configuration file.
        #[arg(long, default_value = "/etc/kiosk/kiosk.toml")]
        config: PathBuf,
        /// The release version (default: the newest published).
        #[arg(long)]
        version: Option<String>,
        /// `app` (the kiosk's slots) or `os` (a system image, through RAUC).
        #[arg(long, default_value = "app", value_parser = parse_kind)]
        kind: ReleaseKind,
        /// Install a release older than the committed one.
        #[arg(long)]
        allow_downgrade: bool,
        /// Switch only; do not restart the kiosk service.
        #[arg(long)]
        no_restart: bool,
    },
    /// Answers the kiosk's request to place a downloaded release into a slot: checks it
    /// against the signed release metadata itself and copies it into the root-owned slot
    /// folder. Run as root by kiosk-slot-install.service when the kiosk asks.
    Place {
        /// Configuration file.
        #[arg(long, default_value = "/etc/kiosk/kiosk.toml")]
        config: PathBuf,
    },
    /// Goes back: ends a trial, or returns to the release committed before this one (or the
    /// packaged kiosk), then restarts the kiosk service unless told not to.
    Rollback {
        /// Configuration file.
        #[arg(long, default_value = "/etc/kiosk/kiosk.toml")]
        config: PathBuf,
        /// Do not restart the kiosk service.
        #[arg(long)]
        no_restart: bool,
    },
}

/// A `--kind` that is neither `app` nor `os`.
#[derive(Debug, thiserror::Error)]
#[error("`{0}`: the kind is `app` or `os`")]
struct UnknownKind(String);

fn parse_kind(text: &str) -> Result<ReleaseKind, UnknownKind> {
    ReleaseKind::parse(text).ok_or_else(|| UnknownKind(text.to_owned()))
}

/// Runs one `kiosk update` command.
pub fn run(command: UpdateCommand) -> anyhow::Result<()> {
    match command {
        UpdateCommand::Status { config, json } => status(&KioskConfig::load(&config)?, json),
        UpdateCommand::Check { config, json } => check(&KioskConfig::load(&config)?, json),
        UpdateCommand::Apply {
            config,
            version,
            kind,
            allow_downgrade,
            no_restart,
        } => apply(
            &KioskConfig::load(&config)?,
            version,
            kind,
            allow_downgrade,
            no_restart,
        ),
        UpdateCommand::Place { config } => place(&KioskConfig::load(&config)?),
        UpdateCommand::Rollback { config, no_restart } => {
            rollback(&KioskConfig::load(&config)?, no_restart)
        }
    }
}

#[derive(Serialize)]
struct StatusView {
    /// What `kiosk run` would start now.
    starts: String,
    committed: Option<super::slots::Installed>,
    previous: Option<super::slots::Installed>,
    trial: Option<super::slots::Trial>,
    os_trial: Option<super::slots::OsTrial>,
    failed: Vec<super::slots::FailedRelease>,
    unreported: usize,
    problems: Vec<String>,
}

fn status(config: &KioskConfig, json: bool) -> anyhow::Result<()> {
    let settings = UpdateSettings::from_config(config);
    let slots = settings.slots();
    let record = slots.load()?;
    // The launcher's own check: the slot's hash must be the signed one.
    let anchor = std::fs::read(&settings.root).ok();
    let usable = |i: &super::slots::Installed| signed_and_intact(&slots, anchor.as_deref(), i);
    let problems = slots.verify_with(&record, usable);
    let mut preview = record.clone();
    let starts = match plan(&mut preview, usable, crate::unix_now()) {
        Launch::Package => format!("the packaged kiosk {}", env!("CARGO_PKG_VERSION")),
        Launch::Slot { slot, trial } => {
            let version = if trial {
                record.trial.as_ref().map(|t| t.release.version.clone())
            } else {
                preview.committed.as_ref().map(|c| c.version.clone())
            };
            format!(
                "release {} from slot {}{}",
                version.unwrap_or_default(),
                slot.name(),
                if trial { " (on trial)" } else { "" }
            )
        }
    };
    let view = StatusView {
        starts,
        committed: record.committed.clone(),
        previous: record.previous.clone(),
        trial: record.trial.clone(),
        os_trial: record.os_trial.clone(),
        failed: record.failed.clone(),
        unreported: record.reports.len(),
        problems,
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&view)?);
    } else {
        println!("starts:     {}", view.starts);
        let describe = |i: &Option<super::slots::Installed>| match i {
            Some(i) => format!("{} in slot {}", i.version, i.slot.name()),
            None => format!("the packaged kiosk {}", env!("CARGO_PKG_VERSION")),
        };
        println!("committed:  {}", describe(&view.committed));
        println!("previous:   {}", describe(&view.previous));
        match &view.trial {
            Some(t) => println!(
                "on trial:   {} in slot {}, started {} of {} times",
                t.release.version,
                t.release.slot.name(),
                t.starts,
                super::slots::MAX_TRIAL_STARTS
            ),
            None => println!("on trial:   nothing"),
        }
        if let Some(os) = &view.os_trial {
            println!("system image on trial: {}", os.version);
        }
        for f in &view.failed {
            println!("failed:     {} ({})", f.version, f.reason);
        }
        println!(
            "unreported: {} report(s) wait for the platform",
            view.unreported
        );
        for p in &view.problems {
            println!("PROBLEM:    {p}");
        }
    }
    if !view.problems.is_empty() {
        anyhow::bail!("{} slot problem(s)", view.problems.len());
    }
    Ok(())
}

/// The platform releases come from, and how its certificate is checked (the enrolled
/// identity's pins, or the system's roots before enrollment).
fn platform_base(config: &KioskConfig) -> anyhow::Result<(String, PlatformTls)> {
    let identity = TerminalIdentity::load(&config.data_dir).ok();
    let url = config
        .platform_url(identity.as_ref().map(|i| i.platform.as_str()))
        .context("no platform: this terminal is not enrolled and kiosk.toml names none")?;
    check_platform_url(&url)?;
    let tls = identity.map(|i| i.platform_tls()).unwrap_or_default();
    Ok((url, tls))
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

#[derive(Serialize)]
struct Published {
    kind: &'static str,
    version: String,
    length: u64,
    newer: bool,
}

fn check(config: &KioskConfig, json: bool) -> anyhow::Result<()> {
    let settings = UpdateSettings::from_config(config);
    let installer = {
        let (platform, tls) = platform_base(config)?;
        settings.installer(&platform, tls)
    };
    let record = settings.slots().load()?;
    let committed = record
        .committed
        .as_ref()
        .map(|c| c.version.clone())
        .unwrap_or_else(|| env!("CARGO_PKG_VERSION").to_owned());
    let repository = runtime()?.block_on(installer.repository())?;
    let mut published = Vec::new();
    for kind in [ReleaseKind::App, ReleaseKind::Os] {
        if let Some(target) = repository.newest(kind, ARCH) {
            let newer = kind == ReleaseKind::Os
                || kiosk_protocol::compare_versions(&target.version, &committed).is_gt();
            published.push(Published {
                kind: kind.as_str(),
                version: target.version.clone(),
                length: target.length,
                newer,
            });
        }
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&published)?);
    } else {
        println!("metadata:  signed, current, verified against the trusted root");
        println!("committed: {committed}");
        if published.is_empty() {
            println!("published: nothing for {ARCH}");
        }
        for p in &published {
            println!(
                "published: {} {} ({} bytes){}",
                p.kind,
                p.version,
                p.length,
                if p.newer && p.kind == "app" {
                    " — newer"
                } else {
                    ""
                }
            );
        }
    }
    Ok(())
}

fn apply(
    config: &KioskConfig,
    version: Option<String>,
    kind: ReleaseKind,
    allow_downgrade: bool,
    no_restart: bool,
) -> anyhow::Result<()> {
    let settings = UpdateSettings::from_config(config);
    let installer = {
        let (platform, tls) = platform_base(config)?;
        settings.installer(&platform, tls)
    };
    let wanted = version.map_or(Wanted::Newest, Wanted::Version);
    let outcome =
        runtime()?.block_on(installer.install(wanted, kind, 0, allow_downgrade, |step| {
            println!("{step}");
        }))?;
    match outcome {
        Outcome::AlreadyRunning => {
            println!("nothing to do: that release is the committed one");
            Ok(())
        }
        Outcome::Switched { version, .. } => {
            if no_restart {
                println!("restart the kiosk to start {version}");
                Ok(())
            } else {
                restart_service("kiosk.service", "restart")
            }
        }
        Outcome::HandedToRauc { version } => {
            if no_restart {
                println!("reboot to start the system image {version}");
                Ok(())
            } else {
                restart_service("", "reboot")
            }
        }
    }
}

fn place(config: &KioskConfig) -> anyhow::Result<()> {
    let settings = UpdateSettings::from_config(config);
    let anchor = settings.placement_anchor();
    let answers = super::place::serve(&settings.slots(), anchor.as_deref())?;
    if answers.is_empty() {
        println!("no placement request waits");
    }
    for answer in answers {
        println!("{}: {}", answer.code, answer.detail);
    }
    Ok(())
}

fn rollback(config: &KioskConfig, no_restart: bool) -> anyhow::Result<()> {
    let slots = UpdateSettings::from_config(config).slots();
    let now = crate::unix_now();
    let said = slots.update(|record| {
        if let Some(trial) = record.roll_back_trial("rolled back by a technician", now) {
            return Ok(format!(
                "ended the trial of {}; back to {}",
                trial.release.version,
                record
                    .committed
                    .as_ref()
                    .map_or("the packaged kiosk".to_owned(), |c| c.version.clone())
            ));
        }
        let Some(current) = record.committed.take() else {
            return Err(anyhow::anyhow!(
                "the packaged kiosk runs; there is nothing to go back from"
            ));
        };
        record.report(
            0,
            &current.version,
            UpdateState::RolledBack,
            "rolled back by a technician",
            now,
        );
        record.mark_failed(&current.version, "rolled back by a technician", now);
        record.committed = record.previous.take();
        Ok(format!(
            "left {}; back to {}",
            current.version,
            record
                .committed
                .as_ref()
                .map_or("the packaged kiosk".to_owned(), |c| c.version.clone())
        ))
    })??;
    println!("{said}");
    if no_restart {
        Ok(())
    } else {
        restart_service("kiosk.service", "restart")
    }
}

/// Asks systemd to restart `unit` (or to reboot), when systemd runs this machine.
fn restart_service(unit: &str, verb: &str) -> anyhow::Result<()> {
    if !std::path::Path::new("/run/systemd/system").exists() {
        println!("no systemd here: {verb} the kiosk yourself to start it");
        return Ok(());
    }
    let mut command = std::process::Command::new("systemctl");
    command.arg(verb);
    if !unit.is_empty() {
        command.arg(unit);
    }
    let status = command
        .status()
        .with_context(|| format!("cannot run systemctl {verb}"))?;
    anyhow::ensure!(
        status.success(),
        "systemctl {verb} {unit} failed ({status})"
    );
    println!("systemctl {verb} {unit}: done");
    Ok(())
}
