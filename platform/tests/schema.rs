//! The two engines' schemas agree: a freshly migrated SQLite database and a freshly migrated
//! PostgreSQL one have the same tables, columns (types mapped), defaults, keys, indexes, foreign
//! keys and checks, read from each engine's own catalog.

mod common;

use std::collections::BTreeSet;

use common::{Backend, TestDb};
use kiosk_platform::DbUrl;

/// One fact of a schema, in words both engines' catalogs can be brought to.
type Facts = BTreeSet<String>;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_engines_migrate_to_the_same_schema() {
    let sqlite_db = TestDb::new(Backend::Sqlite).await.expect("sqlite");
    let _sqlite = sqlite_db.store().await;
    let sqlite = match &sqlite_db.url {
        DbUrl::Sqlite(path) => sqlite_facts(path),
        DbUrl::Postgres(_) => unreachable!("a SQLite test database"),
    };
    assert!(
        sqlite
            .iter()
            .any(|f| f.starts_with("column upload_chunks.data bytea")),
        "{sqlite:#?}"
    );
    let Some(postgres_db) = TestDb::new(Backend::Postgres).await else {
        return;
    };
    let _postgres = postgres_db.store().await;
    let postgres = match &postgres_db.url {
        DbUrl::Postgres(url) => postgres_facts(url.expose()).await,
        DbUrl::Sqlite(_) => unreachable!("a PostgreSQL test database"),
    };
    let only_sqlite: Vec<_> = sqlite.difference(&postgres).collect();
    let only_postgres: Vec<_> = postgres.difference(&sqlite).collect();
    assert!(
        only_sqlite.is_empty() && only_postgres.is_empty(),
        "the schemas differ\nonly in SQLite: {only_sqlite:#?}\nonly in PostgreSQL: {only_postgres:#?}"
    );
}

/// The SQLite type a column was declared with, as PostgreSQL names the type it stands for.
fn sqlite_type(declared: &str, autoincrement_key: bool) -> String {
    match declared.to_ascii_uppercase().as_str() {
        // BIGSERIAL PRIMARY KEY: a 64-bit key the database numbers.
        "INTEGER" if autoincrement_key => "bigint".into(),
        "INTEGER" => "integer".into(),
        "BIGINT" => "bigint".into(),
        "TEXT" => "text".into(),
        "BOOLEAN" => "boolean".into(),
        "BLOB" => "bytea".into(),
        other => format!("unmapped {other}"),
    }
}

fn sqlite_facts(path: &std::path::Path) -> Facts {
    let conn = rusqlite::Connection::open(path).expect("open sqlite");
    let strings = |sql: &str, arg: &str| -> Vec<Vec<Option<String>>> {
        let mut statement = conn.prepare(sql).expect("prepare");
        let columns = statement.column_count();
        statement
            .query_map([arg], |row| {
                (0..columns)
                    .map(|i| {
                        Ok(match row.get_ref(i)? {
                            rusqlite::types::ValueRef::Null => None,
                            rusqlite::types::ValueRef::Integer(n) => Some(n.to_string()),
                            value => Some(value.as_str()?.to_owned()),
                        })
                    })
                    .collect()
            })
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows")
    };
    let text = |cell: &Option<String>| cell.clone().unwrap_or_default();
    let mut facts = Facts::new();
    let tables = strings(
        "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE ?1",
        "sqlite_%",
    );
    for table in &tables {
        let (name, sql) = (text(&table[0]), text(&table[1]));
        let autoincrement = sql.contains("AUTOINCREMENT");
        let mut key = Vec::new();
        for column in strings(
            "SELECT name, type, \"notnull\", dflt_value, pk FROM pragma_table_info(?1)",
            &name,
        ) {
            let (column_name, pk) = (text(&column[0]), text(&column[4]));
            let in_key = pk != "0";
            let not_null = text(&column[2]) == "1" || in_key;
            facts.insert(format!(
                "column {name}.{column_name} {}{}",
                sqlite_type(&text(&column[1]), in_key && autoincrement),
                if not_null { " not null" } else { "" }
            ));
            if let Some(default) = &column[3] {
                facts.insert(format!(
                    "default {name}.{column_name} {}",
                    default.to_ascii_lowercase()
                ));
            }
            if in_key {
                key.push((pk.parse::<u32>().unwrap_or(0), column_name));
            }
        }
        key.sort();
        let key: Vec<_> = key.into_iter().map(|(_, c)| c).collect();
        if !key.is_empty() {
            facts.insert(format!("primary key {name} ({})", key.join(",")));
        }
        for index in strings(
            "SELECT name, \"unique\", origin, partial FROM pragma_index_list(?1)",
            &name,
        ) {
            let index_name = text(&index[0]);
            let columns: Vec<String> = strings(
                "SELECT name FROM pragma_index_info(?1) ORDER BY seqno",
                &index_name,
            )
            .iter()
            .map(|c| text(&c[0]))
            .collect();
            let columns = columns.join(",");
            match text(&index[2]).as_str() {
                "pk" => {}
                "u" => {
                    facts.insert(format!("unique {name} ({columns})"));
                }
                _ => {
                    facts.insert(format!(
                        "index {index_name} on {name} ({columns}){}{}",
                        if text(&index[1]) == "1" {
                            " unique"
                        } else {
                            ""
                        },
                        if text(&index[3]) == "1" {
                            " partial"
                        } else {
                            ""
                        }
                    ));
                }
            }
        }
        for fk in strings(
            "SELECT \"table\", \"from\", \"to\", on_delete FROM pragma_foreign_key_list(?1)",
            &name,
        ) {
            facts.insert(format!(
                "foreign key {name} ({}) references {} ({}) on delete {}",
                text(&fk[1]),
                text(&fk[0]),
                text(&fk[2]),
                text(&fk[3]).to_ascii_lowercase()
            ));
        }
        for line in sql.lines().filter(|l| l.contains("CHECK (")) {
            let column = line.split_whitespace().next().unwrap_or_default();
            facts.insert(format!("check {name} ({column})"));
        }
    }
    facts
}

async fn postgres_facts(url: &str) -> Facts {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(connection);
    let rows = |sql: &'static str| {
        let client = &client;
        async move {
            client
                .query(sql, &[])
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"))
                .iter()
                .map(|row| {
                    (0..row.len())
                        .map(|i| row.get::<_, Option<String>>(i).unwrap_or_default())
                        .collect::<Vec<String>>()
                })
                .collect::<Vec<_>>()
        }
    };
    let mut facts = Facts::new();
    for c in rows(
        "SELECT table_name::text, column_name::text, data_type::text, is_nullable::text, column_default::text
         FROM information_schema.columns
         WHERE table_schema = current_schema() AND table_name <> 'schema_migrations'",
    )
    .await
    {
        facts.insert(format!(
            "column {}.{} {}{}",
            c[0],
            c[1],
            c[2],
            if c[3] == "NO" { " not null" } else { "" }
        ));
        // A BIGSERIAL's default is its sequence: SQLite numbers the key itself.
        if !c[4].is_empty() && !c[4].starts_with("nextval(") {
            let default = c[4].split("::").next().unwrap_or_default();
            facts.insert(format!("default {}.{} {default}", c[0], c[1]));
        }
    }
    for i in rows(
        "SELECT t.relname::text, i.relname::text, ix.indisunique::text, (ix.indpred IS NOT NULL)::text,
                COALESCE(c.contype::text, ''),
                (SELECT string_agg(a.attname::text, ',' ORDER BY k.o)
                 FROM unnest(ix.indkey::int2[]) WITH ORDINALITY AS k(n, o)
                 JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.n)
         FROM pg_index ix
         JOIN pg_class i ON i.oid = ix.indexrelid
         JOIN pg_class t ON t.oid = ix.indrelid
         JOIN pg_namespace ns ON ns.oid = t.relnamespace
         LEFT JOIN pg_constraint c ON c.conindid = ix.indexrelid AND c.contype IN ('p', 'u')
         WHERE ns.nspname = current_schema() AND t.relname <> 'schema_migrations'",
    )
    .await
    {
        let (table, index, columns) = (&i[0], &i[1], &i[5]);
        facts.insert(match i[4].as_str() {
            "p" => format!("primary key {table} ({columns})"),
            "u" => format!("unique {table} ({columns})"),
            _ => format!(
                "index {index} on {table} ({columns}){}{}",
                if i[2] == "true" { " unique" } else { "" },
                if i[3] == "true" { " partial" } else { "" }
            ),
        });
    }
    for f in rows(
        "SELECT t.relname::text, a.attname::text, rt.relname::text, ra.attname::text,
                CASE c.confdeltype WHEN 'c' THEN 'cascade' WHEN 'a' THEN 'no action' ELSE c.confdeltype::text END
         FROM pg_constraint c
         JOIN pg_class t ON t.oid = c.conrelid
         JOIN pg_class rt ON rt.oid = c.confrelid
         JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
         JOIN pg_attribute ra ON ra.attrelid = c.confrelid AND ra.attnum = c.confkey[1]
         JOIN pg_namespace ns ON ns.oid = t.relnamespace
         WHERE c.contype = 'f' AND ns.nspname = current_schema()",
    )
    .await
    {
        facts.insert(format!(
            "foreign key {} ({}) references {} ({}) on delete {}",
            f[0], f[1], f[2], f[3], f[4]
        ));
    }
    for c in rows(
        "SELECT t.relname::text, a.attname::text
         FROM pg_constraint c
         JOIN pg_class t ON t.oid = c.conrelid
         JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)
         JOIN pg_namespace ns ON ns.oid = t.relnamespace
         WHERE c.contype = 'c' AND ns.nspname = current_schema()",
    )
    .await
    {
        facts.insert(format!("check {} ({})", c[0], c[1]));
    }
    facts
}
