//! The `--db` argument: which database engine and where.

use std::path::PathBuf;
use std::str::FromStr;

/// A parsed `--db` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DbUrl {
    /// `sqlite://PATH`: one file, created on first use.
    Sqlite(PathBuf),
}

/// Why a `--db` value cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DbUrlError {
    /// A scheme this build does not speak.
    #[error(
        "unsupported database URL scheme in `{0}`: use sqlite://PATH (e.g. sqlite://platform.db)"
    )]
    UnsupportedScheme(String),
    /// `sqlite://` with nothing after it.
    #[error("`{0}` names no file: use sqlite://PATH (e.g. sqlite://platform.db)")]
    MissingPath(String),
}

impl FromStr for DbUrl {
    type Err = DbUrlError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.split_once("://") {
            Some(("sqlite", "")) => Err(DbUrlError::MissingPath(s.to_owned())),
            Some(("sqlite", path)) => Ok(DbUrl::Sqlite(PathBuf::from(path))),
            _ => Err(DbUrlError::UnsupportedScheme(s.to_owned())),
        }
    }
}

impl std::fmt::Display for DbUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DbUrl::Sqlite(path) => write!(f, "sqlite://{}", path.display()),
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
}
