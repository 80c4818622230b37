//! Storage of the ops console: operators, sessions, the audit log, and the read models the
//! pages show (fleet, terminal detail, catalog versions, configuration layers, statistics).

use super::sql::{Row, args};
use super::{Store, StoreError, now_rfc3339};

/// An operator's role: what they may do in the console.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// Reads everything, changes nothing.
    Viewer,
    /// Reads like a viewer, and works the applications of their departments only in the
    /// workbench: the one role that sees applicants' personal data (see
    /// `Store::editor_departments`, which holds a clerk's departments too).
    Clerk,
    /// Reads like a viewer, and edits and publishes the matters of their departments only
    /// (see `Store::editor_departments`).
    Editor,
    /// Also sends remote commands and creates enrollment tokens.
    Operator,
    /// Also publishes catalogs, edits configuration, reads the audit log.
    Admin,
}

impl Role {
    /// The role's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Clerk => "clerk",
            Role::Editor => "editor",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }

    /// The role named `name`.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "viewer" => Some(Role::Viewer),
            "clerk" => Some(Role::Clerk),
            "editor" => Some(Role::Editor),
            "operator" => Some(Role::Operator),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

/// An operator's account, as a login checks it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// The argon2 PHC string of their password.
    pub password_hash: String,
    /// Their role.
    pub role: Role,
    /// True when an administrator disabled the account: it cannot log in.
    pub disabled: bool,
}

/// A logged-in operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Operator name.
    pub operator: String,
    /// Their role.
    pub role: Role,
    /// The CSRF token every form of this session carries.
    pub csrf: String,
}

/// A line of the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRow {
    /// Its id: newer lines have larger ones.
    pub id: i64,
    /// When (RFC 3339, Beijing time).
    pub at: String,
    /// Who (`cli` and `platform` for the command line and the platform itself).
    pub operator: String,
    /// What kind of change (`login`, `login_failed`, `config_set`, ...).
    pub action: String,
    /// What changed.
    pub detail: String,
}

/// Which audit lines a page shows: every given condition holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// This action.
    pub kind: Option<String>,
    /// This operator.
    pub operator: Option<String>,
    /// Lines whose detail names this terminal.
    pub terminal: Option<String>,
    /// At or after this time (RFC 3339, Beijing time).
    pub from: Option<String>,
    /// Before this time (RFC 3339, Beijing time).
    pub until: Option<String>,
    /// Older than this line (the next page).
    pub before: Option<i64>,
    /// Lines per page (1 to 500).
    pub limit: i64,
}

/// `text` matched literally by LIKE … ESCAPE '\\'.
fn like_escaped(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A terminal as the fleet list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FleetRow {
    /// Terminal id.
    pub id: String,
    /// Site.
    pub site: Option<String>,
    /// Hardware serial.
    pub serial: String,
    /// Last heartbeat, Unix seconds.
    pub last_seen: Option<i64>,
    /// Overall health of the last heartbeat.
    pub health: Option<String>,
    /// The last heartbeat, JSON.
    pub heartbeat: Option<String>,
    /// When enrolled.
    pub enrolled_at: String,
    /// When revoked and why; `None` for a terminal in service.
    pub revoked: Option<(String, String)>,
}

/// A line of a terminal's event log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRow {
    /// Unix seconds.
    pub at: i64,
    /// `enrolled`, `health`, `command`…
    pub kind: String,
    /// What happened.
    pub detail: String,
}

/// A remote command as the console shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandRow {
    /// Id.
    pub id: i64,
    /// Kind.
    pub kind: String,
    /// queued/sent/succeeded/failed.
    pub state: String,
    /// Who queued it.
    pub created_by: String,
    /// When.
    pub created_at: String,
    /// The terminal's answer.
    pub result: Option<String>,
}

/// A catalog version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogVersion {
    /// Version.
    pub version: String,
    /// When (last) published.
    pub published_at: String,
    /// True for the one terminals get.
    pub current: bool,
}

/// An enrollment token as listed (never the token itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRow {
    /// Site.
    pub site: Option<String>,
    /// Created.
    pub created_at: String,
    /// Expiry, Unix seconds.
    pub expires_at: i64,
    /// When used.
    pub used_at: Option<String>,
    /// The terminal it enrolled.
    pub terminal_id: Option<String>,
    /// The terminal it re-keys; `None` for a token that enrolls new devices only.
    pub for_terminal: Option<String>,
    /// Its public id (see [`super::token_id`]).
    pub id: String,
}

/// A configuration layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigRow {
    /// global/site/terminal.
    pub scope: String,
    /// Site or terminal id ("" for global).
    pub key: String,
    /// JSON.
    pub body: String,
    /// Last change.
    pub updated_at: String,
}

/// A count under a label (statistics).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Count {
    /// What is counted.
    pub label: String,
    /// Second label (e.g. the level), if any.
    pub sub: Option<String>,
    /// How many.
    pub n: i64,
}

fn counts(rows: &[Row], with_sub: bool) -> Result<Vec<Count>, StoreError> {
    rows.iter()
        .map(|r| {
            Ok(Count {
                label: r.opt_text(0)?.unwrap_or_else(|| "—".into()),
                sub: if with_sub { r.opt_text(1)? } else { None },
                n: r.int(if with_sub { 2 } else { 1 })?,
            })
        })
        .collect()
}

impl Store {
    /// Creates an operator (or replaces their password and role, ending their sessions: a
    /// password changed because it leaked must lock out whoever used it).
    pub async fn put_operator(
        &self,
        name: &str,
        password_hash: &str,
        role: Role,
    ) -> Result<(), StoreError> {
        self.exec_all(vec![
            (
                "INSERT INTO operators (name, password_hash, role, created_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (name) DO UPDATE SET password_hash = excluded.password_hash, role = excluded.role",
                args![name, password_hash, role.as_str(), now_rfc3339()],
            ),
            (
                "DELETE FROM console_sessions WHERE operator = $1",
                args![name],
            ),
        ])
        .await
    }

    /// An operator's account.
    pub async fn operator(&self, name: &str) -> Result<Option<Account>, StoreError> {
        let rows = self
            .rows(
                "SELECT password_hash, role, disabled_at FROM operators WHERE name = $1",
                args![name],
            )
            .await?;
        let Some(row) = rows.first() else {
            return Ok(None);
        };
        let role = row.text(1)?;
        Ok(Some(Account {
            password_hash: row.text(0)?,
            role: Role::parse(&role)
                .ok_or_else(|| StoreError::Task(format!("stored role {role}")))?,
            disabled: row.opt_text(2)?.is_some(),
        }))
    }

    /// Disables (`true`) or enables an operator's account; disabling ends their sessions.
    /// False when there is no such operator.
    pub async fn set_operator_disabled(
        &self,
        name: &str,
        disabled: bool,
    ) -> Result<bool, StoreError> {
        // A session of a disabled account is refused by `session` already; deleting it only
        // tidies up.
        let changed = self
            .exec(
                "UPDATE operators SET disabled_at = $2 WHERE name = $1",
                args![name, disabled.then(now_rfc3339)],
            )
            .await?;
        self.exec(
            "DELETE FROM console_sessions WHERE operator = $1",
            args![name],
        )
        .await?;
        Ok(changed > 0)
    }

    /// Removes an operator's account and sessions (their audit lines stay). False when there
    /// is no such operator.
    pub async fn remove_operator(&self, name: &str) -> Result<bool, StoreError> {
        self.exec(
            "DELETE FROM console_sessions WHERE operator = $1",
            args![name],
        )
        .await?;
        let removed = self
            .exec("DELETE FROM operators WHERE name = $1", args![name])
            .await?;
        Ok(removed > 0)
    }

    /// Opens a console session (only the token's hash is stored).
    pub async fn create_session(
        &self,
        token_hash: &str,
        operator: &str,
        csrf: &str,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        self.exec(
            "DELETE FROM console_sessions WHERE expires_at < $1",
            args![super::unix_now()],
        )
        .await?;
        self.exec(
            "INSERT INTO console_sessions (token_hash, operator, csrf, expires_at) VALUES ($1, $2, $3, $4)",
            args![token_hash, operator, csrf, expires_at],
        )
        .await?;
        Ok(())
    }

    /// The live session with this token hash.
    pub async fn session(&self, token_hash: &str, now: i64) -> Result<Option<Session>, StoreError> {
        let rows = self
            .rows(
                "SELECT s.operator, o.role, s.csrf FROM console_sessions s JOIN operators o ON o.name = s.operator
                 WHERE s.token_hash = $1 AND s.expires_at > $2 AND o.disabled_at IS NULL",
                args![token_hash, now],
            )
            .await?;
        let Some(row) = rows.first() else {
            return Ok(None);
        };
        let role = row.text(1)?;
        Ok(Some(Session {
            operator: row.text(0)?,
            role: Role::parse(&role)
                .ok_or_else(|| StoreError::Task(format!("stored role {role}")))?,
            csrf: row.text(2)?,
        }))
    }

    /// Ends a session.
    pub async fn end_session(&self, token_hash: &str) -> Result<(), StoreError> {
        self.exec(
            "DELETE FROM console_sessions WHERE token_hash = $1",
            args![token_hash],
        )
        .await?;
        Ok(())
    }

    /// Appends to the audit log.
    pub async fn audit(
        &self,
        operator: &str,
        action: &str,
        detail: &str,
    ) -> Result<(), StoreError> {
        self.audit_line(operator, action, detail).await.map(drop)
    }

    /// Appends to the audit log; answers the line's id (for [`Store::rewrite_audit`]).
    pub async fn audit_line(
        &self,
        operator: &str,
        action: &str,
        detail: &str,
    ) -> Result<i64, StoreError> {
        self.row(
            "INSERT INTO audit_log (at, operator, action, detail) VALUES ($1, $2, $3, $4) RETURNING id",
            args![now_rfc3339(), operator, action, detail],
        )
        .await?
        .ok_or_else(|| StoreError::Task("an audit line without its id".into()))?
        .int(0)
    }

    /// Brings an audit line that counts repeated events up to date: its time becomes now.
    pub async fn rewrite_audit(&self, id: i64, detail: &str) -> Result<(), StoreError> {
        self.exec(
            "UPDATE audit_log SET at = $2, detail = $3 WHERE id = $1",
            args![id, now_rfc3339(), detail],
        )
        .await?;
        Ok(())
    }

    /// A page of the audit log, newest first, with what `filter` asks.
    pub async fn audit_log(&self, filter: &AuditFilter) -> Result<Vec<AuditRow>, StoreError> {
        // An absent condition is a NULL parameter (cast, so PostgreSQL knows its type).
        let terminal = filter
            .terminal
            .as_deref()
            .map(|t| format!("%{}%", like_escaped(t)));
        self.rows(
            "SELECT id, at, operator, action, detail FROM audit_log
             WHERE (CAST($1 AS TEXT) IS NULL OR action = $1)
               AND (CAST($2 AS TEXT) IS NULL OR operator = $2)
               AND (CAST($3 AS TEXT) IS NULL OR detail LIKE $3 ESCAPE '\\')
               AND (CAST($4 AS TEXT) IS NULL OR at >= $4) AND (CAST($5 AS TEXT) IS NULL OR at < $5)
               AND (CAST($6 AS BIGINT) IS NULL OR id < $6)
             ORDER BY id DESC LIMIT $7",
            args![
                filter.kind.clone(),
                filter.operator.clone(),
                terminal,
                filter.from.clone(),
                filter.until.clone(),
                filter.before,
                filter.limit.clamp(1, 500),
            ],
        )
        .await?
        .iter()
        .map(|r| {
            Ok(AuditRow {
                id: r.int(0)?,
                at: r.text(1)?,
                operator: r.text(2)?,
                action: r.text(3)?,
                detail: r.text(4)?,
            })
        })
        .collect()
    }

    /// Every terminal (at most 5000), by id.
    pub async fn fleet(&self) -> Result<Vec<FleetRow>, StoreError> {
        self.flush().await?;
        let rows = self
            .rows(
                "SELECT id, site, hardware_serial, last_seen, health, heartbeat, enrolled_at,
                     revoked_at, revoked_reason
                 FROM terminals ORDER BY site, id LIMIT 5000",
                args![],
            )
            .await?;
        rows.iter().map(fleet_row).collect()
    }

    /// One terminal.
    pub async fn terminal(&self, id: &str) -> Result<Option<FleetRow>, StoreError> {
        self.flush().await?;
        self.rows(
            "SELECT id, site, hardware_serial, last_seen, health, heartbeat, enrolled_at,
                 revoked_at, revoked_reason
             FROM terminals WHERE id = $1",
            args![id],
        )
        .await?
        .first()
        .map(fleet_row)
        .transpose()
    }

    /// A terminal's newest events.
    pub async fn events(&self, terminal_id: &str) -> Result<Vec<EventRow>, StoreError> {
        self.rows(
            "SELECT at, kind, detail FROM terminal_events WHERE terminal_id = $1 ORDER BY id DESC LIMIT 100",
            args![terminal_id],
        )
        .await?
        .iter()
        .map(|r| {
            Ok(EventRow {
                at: r.int(0)?,
                kind: r.text(1)?,
                detail: r.text(2)?,
            })
        })
        .collect()
    }

    /// A terminal's newest commands.
    pub async fn commands_of(&self, terminal_id: &str) -> Result<Vec<CommandRow>, StoreError> {
        self.rows(
            "SELECT id, kind, state, created_by, created_at, result FROM commands
             WHERE terminal_id = $1 ORDER BY id DESC LIMIT 50",
            args![terminal_id],
        )
        .await?
        .iter()
        .map(|r| {
            Ok(CommandRow {
                id: r.int(0)?,
                kind: r.text(1)?,
                state: r.text(2)?,
                created_by: r.text(3)?,
                created_at: r.text(4)?,
                result: r.opt_text(5)?,
            })
        })
        .collect()
    }

    /// Every catalog version, newest publication first.
    pub async fn catalog_versions(&self) -> Result<Vec<CatalogVersion>, StoreError> {
        self.rows(
            "SELECT version, published_at, CASE WHEN current THEN 1 ELSE 0 END FROM catalog_versions
             ORDER BY published_at DESC, version DESC",
            args![],
        )
        .await?
        .iter()
        .map(|r| {
            Ok(CatalogVersion {
                version: r.text(0)?,
                published_at: r.text(1)?,
                current: r.int(2)? == 1,
            })
        })
        .collect()
    }

    /// The stored body of a catalog version.
    pub async fn catalog_body(&self, version: &str) -> Result<Option<String>, StoreError> {
        self.rows(
            "SELECT body FROM catalog_versions WHERE version = $1",
            args![version],
        )
        .await?
        .first()
        .map(|r| r.text(0))
        .transpose()
    }

    /// Enrollment tokens, newest first.
    pub async fn tokens(&self) -> Result<Vec<TokenRow>, StoreError> {
        self.rows(
            "SELECT site, created_at, expires_at, used_at, terminal_id, for_terminal, token_hash
             FROM enrollment_tokens ORDER BY created_at DESC LIMIT 200",
            args![],
        )
        .await?
        .iter()
        .map(|r| {
            Ok(TokenRow {
                site: r.opt_text(0)?,
                created_at: r.text(1)?,
                expires_at: r.int(2)?,
                used_at: r.opt_text(3)?,
                terminal_id: r.opt_text(4)?,
                for_terminal: r.opt_text(5)?,
                id: super::token_id(&r.text(6)?),
            })
        })
        .collect()
    }

    /// Every configuration layer.
    pub async fn config_rows(&self) -> Result<Vec<ConfigRow>, StoreError> {
        self.rows(
            "SELECT scope, scope_key, body, updated_at FROM config_layers
             ORDER BY CASE scope WHEN 'global' THEN 0 WHEN 'site' THEN 1 ELSE 2 END, scope_key",
            args![],
        )
        .await?
        .iter()
        .map(|r| {
            Ok(ConfigRow {
                scope: r.text(0)?,
                key: r.text(1)?,
                body: r.text(2)?,
                updated_at: r.text(3)?,
            })
        })
        .collect()
    }

    /// Ratings per matter and level.
    pub async fn ratings_by_matter(&self) -> Result<Vec<Count>, StoreError> {
        let rows = self
            .rows(
                "SELECT matter_id, CAST(level AS TEXT), COUNT(*) FROM ratings GROUP BY matter_id, level ORDER BY matter_id, level",
                args![],
            )
            .await?;
        counts(&rows, true)
    }

    /// Ratings per site and level.
    pub async fn ratings_by_site(&self) -> Result<Vec<Count>, StoreError> {
        let rows = self
            .rows(
                "SELECT t.site, CAST(r.level AS TEXT), COUNT(*) FROM ratings r LEFT JOIN terminals t ON t.id = r.terminal_id
                 GROUP BY t.site, r.level ORDER BY t.site, r.level",
                args![],
            )
            .await?;
        counts(&rows, true)
    }

    /// Ratings per level.
    pub async fn ratings_by_level(&self) -> Result<Vec<Count>, StoreError> {
        let rows = self
            .rows(
                "SELECT CAST(level AS TEXT), COUNT(*) FROM ratings GROUP BY level ORDER BY level DESC",
                args![],
            )
            .await?;
        counts(&rows, false)
    }

    /// Applications per day (Beijing date), the last 30 days that have any.
    pub async fn applications_per_day(&self) -> Result<Vec<Count>, StoreError> {
        let rows = self
            .rows(
                "SELECT substr(accepted_at, 1, 10) AS day, COUNT(*) FROM applications
                 GROUP BY substr(accepted_at, 1, 10) ORDER BY day DESC LIMIT 30",
                args![],
            )
            .await?;
        let mut days = counts(&rows, false)?;
        days.reverse();
        Ok(days)
    }
}

fn fleet_row(r: &Row) -> Result<FleetRow, StoreError> {
    Ok(FleetRow {
        id: r.text(0)?,
        site: r.opt_text(1)?,
        serial: r.text(2)?,
        last_seen: match r.opt_text(3)? {
            Some(_) => Some(r.int(3)?),
            None => None,
        },
        health: r.opt_text(4)?,
        heartbeat: r.opt_text(5)?,
        enrolled_at: r.text(6)?,
        revoked: match r.opt_text(7)? {
            Some(at) => Some((at, r.opt_text(8)?.unwrap_or_default())),
            None => None,
        },
    })
}
