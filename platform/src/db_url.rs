//! The `--db` argument: which database engine and where.

use std::path::PathBuf;
use std::str::FromStr;

/// A parsed `--db` value.
#[derive(Clone, PartialEq, Eq)]
pub enum DbUrl {
    /// `sqlite://PATH`: one file, created on first use.
    Sqlite(PathBuf),
    /// `postgres://USER:PASSWORD@HOST[:PORT]/DATABASE[?options]`: a PostgreSQL database shared
    /// by any number of platform instances.
    Postgres(PostgresUrl),
}

/// A PostgreSQL connection URL. Its password never appears in `Display` or `Debug`, so the
/// value can be logged and printed in errors.
#[derive(Clone, PartialEq, Eq)]
pub struct PostgresUrl {
    url: String,
    redacted: String,
    transport: PgTransport,
}

/// How the platform's connections to PostgreSQL travel. Application bodies, hashes and
/// credentials cross this link, so plain TCP is used only where it cannot leave the machine
/// or where the URL asks for it in so many words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PgTransport {
    /// No TLS: `sslmode=disable`, or (without `sslmode`, or with `prefer`) a Unix socket or a
    /// loopback host.
    Plain,
    /// TLS, the server's certificate checked (chain, dates and host name) against the CA
    /// certificates in `sslrootcert`, or the system's roots without it: `sslmode=require`,
    /// `verify-ca` and `verify-full` alike (a password never goes to a server nobody
    /// checked), and the default towards any other host.
    Verified {
        /// `sslrootcert=FILE`: PEM CA certificates.
        root_cert: Option<PathBuf>,
    },
}

impl PostgresUrl {
    /// The full URL, password included: only for connecting.
    pub fn expose(&self) -> &str {
        &self.url
    }

    /// How connections travel.
    pub fn transport(&self) -> &PgTransport {
        &self.transport
    }

    /// The connection settings.
    pub fn config(&self) -> Result<tokio_postgres::Config, DbUrlError> {
        self.url
            .parse()
            .map_err(|e: tokio_postgres::Error| DbUrlError::BadPostgres {
                url: self.redacted.clone(),
                detail: e.to_string(),
            })
    }

    /// Parses `url`, taking `sslmode` and `sslrootcert` for [`PgTransport`] and handing the
    /// driver an `sslmode` it knows (`require` or `disable`).
    fn parse(url: &str) -> Result<Self, DbUrlError> {
        let redacted = redact(url);
        let bad = |detail: String| DbUrlError::BadPostgres {
            url: redacted.clone(),
            detail,
        };
        let (base, query) = url.split_once('?').unwrap_or((url, ""));
        let mut mode = None;
        let mut root_cert = None;
        let mut kept = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            match pair.split_once('=') {
                Some(("sslmode", value)) => mode = Some(value.to_owned()),
                Some(("sslrootcert", value)) => root_cert = Some(PathBuf::from(value)),
                _ => kept.push(pair),
            }
        }
        let stripped = match kept.is_empty() {
            true => base.to_owned(),
            false => format!("{base}?{}", kept.join("&")),
        };
        let mut parsed = PostgresUrl {
            url: stripped,
            redacted: redacted.clone(),
            transport: PgTransport::Plain,
        };
        let local = parsed.config().map(|config| is_local(&config))?;
        parsed.transport = match mode.as_deref() {
            Some("disable") => PgTransport::Plain,
            None | Some("prefer") if local && root_cert.is_none() => PgTransport::Plain,
            None | Some("prefer" | "require" | "verify-ca" | "verify-full") => {
                PgTransport::Verified { root_cert }
            }
            Some(other) => {
                return Err(bad(format!(
                    "sslmode={other}: use disable, require or verify-full"
                )));
            }
        };
        kept.push(match parsed.transport {
            PgTransport::Plain => "sslmode=disable",
            PgTransport::Verified { .. } => "sslmode=require",
        });
        parsed.url = format!("{base}?{}", kept.join("&"));
        Ok(parsed)
    }
}

/// True when every host of `config` is a Unix socket or a loopback address: the connection
/// does not leave the machine.
fn is_local(config: &tokio_postgres::Config) -> bool {
    use tokio_postgres::config::Host;
    let addresses_local = config.get_hostaddrs().iter().all(|ip| ip.is_loopback());
    let hosts_local = config.get_hosts().iter().all(|host| match host {
        Host::Unix(_) => true,
        Host::Tcp(name) => {
            name.eq_ignore_ascii_case("localhost")
                || name
                    .trim_matches(['[', ']'])
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
        }
    });
    addresses_local && hosts_local
}

impl std::fmt::Display for PostgresUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redacted)
    }
}

impl std::fmt::Debug for PostgresUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PostgresUrl({})", self.redacted)
    }
}

impl std::fmt::Debug for DbUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DbUrl::Sqlite(path) => write!(f, "Sqlite({})", path.display()),
            DbUrl::Postgres(url) => write!(f, "Postgres({url})"),
        }
    }
}

/// Why a `--db` value cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DbUrlError {
    /// A scheme this build does not speak.
    #[error(
        "unsupported database URL scheme in `{0}`: use sqlite://PATH (e.g. sqlite://platform.db) or postgres://USER:PASSWORD@HOST/DATABASE"
    )]
    UnsupportedScheme(String),
    /// `sqlite://` with nothing after it.
    #[error("`{0}` names no file: use sqlite://PATH (e.g. sqlite://platform.db)")]
    MissingPath(String),
    /// A `postgres://` URL that does not parse.
    #[error(
        "`{url}` is not a usable PostgreSQL URL ({detail}): use postgres://USER:PASSWORD@HOST/DATABASE"
    )]
    BadPostgres {
        /// The URL, password hidden.
        url: String,
        /// What the parser said.
        detail: String,
    },
}

/// Hides the password of `scheme://user:password@host/...`.
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, tail) = match rest.find(['/', '?']) {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or_default();
            let hidden = if userinfo.contains(':') { ":***" } else { "" };
            // A password in the query string (`?password=`) is hidden too.
            let tail = redact_query_password(tail);
            format!("{scheme}://{user}{hidden}@{host}{tail}")
        }
        None => format!("{scheme}://{authority}{}", redact_query_password(tail)),
    }
}

fn redact_query_password(tail: &str) -> String {
    let Some((path, query)) = tail.split_once('?') else {
        return tail.to_owned();
    };
    let parts: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}=***"),
            _ => pair.to_owned(),
        })
        .collect();
    format!("{path}?{}", parts.join("&"))
}

impl FromStr for DbUrl {
    type Err = DbUrlError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.split_once("://") {
            Some(("sqlite", "")) => Err(DbUrlError::MissingPath(s.to_owned())),
            Some(("sqlite", path)) => Ok(DbUrl::Sqlite(PathBuf::from(path))),
            Some(("postgres" | "postgresql", _)) => {
                let url = PostgresUrl::parse(s)?;
                let config = url.config()?;
                if config.get_dbname().is_none() {
                    return Err(DbUrlError::BadPostgres {
                        url: url.redacted,
                        detail: "no database named".into(),
                    });
                }
                Ok(DbUrl::Postgres(url))
            }
            _ => Err(DbUrlError::UnsupportedScheme(redact(s))),
        }
    }
}

impl std::fmt::Display for DbUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DbUrl::Sqlite(path) => write!(f, "sqlite://{}", path.display()),
            DbUrl::Postgres(url) => write!(f, "{url}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sqlite_paths_and_refuses_the_rest() {
        assert_eq!(
            "sqlite://a/b.db".parse::<DbUrl>(),
            Ok(DbUrl::Sqlite("a/b.db".into()))
        );
        assert_eq!(
            "sqlite:///var/lib/p.db".parse::<DbUrl>(),
            Ok(DbUrl::Sqlite("/var/lib/p.db".into()))
        );
        assert!(matches!(
            "sqlite://".parse::<DbUrl>(),
            Err(DbUrlError::MissingPath(_))
        ));
        assert!(matches!(
            "mysql://x".parse::<DbUrl>(),
            Err(DbUrlError::UnsupportedScheme(_))
        ));
        assert!(matches!(
            "platform.db".parse::<DbUrl>(),
            Err(DbUrlError::UnsupportedScheme(_))
        ));
    }

    #[test]
    fn postgres_urls_parse_and_never_show_their_password() {
        let url: DbUrl = "postgres://kiosk:s3cret@db.example:5433/platform"
            .parse()
            .expect("parses");
        let DbUrl::Postgres(pg) = &url else {
            panic!("not postgres: {url}")
        };
        let config = pg.config().expect("config");
        assert_eq!(config.get_dbname(), Some("platform"));
        assert_eq!(config.get_user(), Some("kiosk"));
        for shown in [url.to_string(), format!("{url:?}")] {
            assert!(!shown.contains("s3cret"), "{shown}");
            assert!(shown.contains("db.example:5433/platform"), "{shown}");
        }
        let with_query: DbUrl = "postgresql://kiosk@h/p?password=s3cret&connect_timeout=5"
            .parse()
            .expect("parses");
        assert!(!with_query.to_string().contains("s3cret"), "{with_query}");
        let err = "postgres://kiosk:s3cret@h".parse::<DbUrl>().unwrap_err();
        assert!(matches!(err, DbUrlError::BadPostgres { .. }), "{err}");
        assert!(!err.to_string().contains("s3cret"), "{err}");
        let err = "postgres://kiosk:s3cret@h/p?sslmode=bogus"
            .parse::<DbUrl>()
            .unwrap_err();
        assert!(!err.to_string().contains("s3cret"), "{err}");
    }

    fn transport(url: &str) -> (PgTransport, tokio_postgres::config::SslMode) {
        let DbUrl::Postgres(pg) = url.parse::<DbUrl>().expect(url) else {
            panic!("not postgres: {url}")
        };
        let mode = pg.config().expect("config").get_ssl_mode();
        (pg.transport().clone(), mode)
    }

    #[test]
    fn postgres_leaves_the_machine_only_over_verified_tls_unless_told_otherwise() {
        use tokio_postgres::config::SslMode;
        let verified = |root: Option<&str>| PgTransport::Verified {
            root_cert: root.map(PathBuf::from),
        };
        for (url, expected, mode) in [
            // Another host: TLS, checked, whether or not the URL asks.
            (
                "postgres://k:p@db.example/kiosk",
                verified(None),
                SslMode::Require,
            ),
            (
                "postgres://k:p@db.example/kiosk?sslmode=prefer",
                verified(None),
                SslMode::Require,
            ),
            (
                "postgres://k:p@db.example/kiosk?sslmode=require",
                verified(None),
                SslMode::Require,
            ),
            (
                "postgres://k:p@10.0.0.7:5433/kiosk?sslmode=verify-full&sslrootcert=/etc/kiosk/pg-ca.pem&connect_timeout=5",
                verified(Some("/etc/kiosk/pg-ca.pem")),
                SslMode::Require,
            ),
            // Only when told in so many words, or on this machine.
            (
                "postgres://k:p@db.example/kiosk?sslmode=disable",
                PgTransport::Plain,
                SslMode::Disable,
            ),
            (
                "postgres://k:p@127.0.0.1:5432/kiosk",
                PgTransport::Plain,
                SslMode::Disable,
            ),
            (
                "postgres://k:p@localhost/kiosk",
                PgTransport::Plain,
                SslMode::Disable,
            ),
            (
                "postgres://k:p@[::1]/kiosk",
                PgTransport::Plain,
                SslMode::Disable,
            ),
            (
                "postgres://k@%2Fvar%2Frun%2Fpostgresql/kiosk",
                PgTransport::Plain,
                SslMode::Disable,
            ),
            (
                "postgres://k:p@127.0.0.1/kiosk?sslmode=verify-full",
                verified(None),
                SslMode::Require,
            ),
        ] {
            assert_eq!(transport(url), (expected, mode), "{url}");
        }
        let err = "postgres://k:s3cret@db.example/kiosk?sslmode=allow"
            .parse::<DbUrl>()
            .unwrap_err();
        assert!(err.to_string().contains("sslmode=allow"), "{err}");
        assert!(!err.to_string().contains("s3cret"), "{err}");
    }
}
