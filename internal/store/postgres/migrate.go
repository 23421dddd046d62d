package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"log/slog"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// lockKey turns a lock name into a PostgreSQL advisory lock key. Advisory
// keys are one namespace per database, shared with any other application
// using it; hashing a descriptive name keeps Signet's keys apart from
// small integers others tend to pick.
func lockKey(name string) int64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	return int64(h.Sum64())
}

// migrate applies the embedded migrations in name order, each once and each
// in its own transaction, recorded in schema_migrations. Nodes starting at
// once queue on a session advisory lock, so exactly one applies a migration
// and the others find it recorded. A database carrying a migration this
// binary does not know was written by a newer Signet; opening it could
// misread it, so that fails. trigram reports whether the substring index
// exists.
func migrate(ctx context.Context, conn *pgx.Conn, now time.Time, log *slog.Logger) (trigram bool, err error) {
	migrateLock := lockKey("signet.store.migrate")
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", migrateLock); err != nil {
		return false, fmt.Errorf("postgres: take the migration lock: %w", err)
	}
	defer func() {
		if _, unlockErr := conn.Exec(context.Background(), "SELECT pg_advisory_unlock($1)", migrateLock); unlockErr != nil {
			err = errors.Join(err, fmt.Errorf("postgres: release the migration lock: %w", unlockErr))
		}
	}()
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		name text PRIMARY KEY, applied_at timestamptz NOT NULL)`); err != nil {
		return false, fmt.Errorf("postgres: create schema_migrations: %w", err)
	}
	names, err := fs.Glob(migrationFiles, "migrations/*.sql")
	if err != nil {
		return false, fmt.Errorf("postgres: list migrations: %w", err)
	}
	slices.Sort(names)
	applied, err := queryMany(ctx, conn, func(s scanner) (name string, err error) { return name, s.Scan(&name) },
		`SELECT name FROM schema_migrations`)
	if err != nil {
		return false, fmt.Errorf("postgres: read schema_migrations: %w", err)
	}
	for _, name := range applied {
		if !slices.Contains(names, name) {
			return false, fmt.Errorf("postgres: database has migration %s, which this version of Signet does not know", name)
		}
	}
	for _, name := range names {
		if slices.Contains(applied, name) {
			continue
		}
		if err := applyMigration(ctx, conn, name, now); err != nil {
			return false, err
		}
		log.Info("applied database migration", "name", name)
	}
	return ensureTrigramIndex(ctx, conn, log)
}

func applyMigration(ctx context.Context, conn *pgx.Conn, name string, now time.Time) (err error) {
	body, err := migrationFiles.ReadFile(name)
	if err != nil {
		return fmt.Errorf("postgres: read migration %s: %w", name, err)
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		return fmt.Errorf("postgres: begin migration %s: %w", name, err)
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, tx.Rollback(context.Background()))
		}
	}()
	// No arguments: pgx sends it as a simple query, which may hold many statements.
	if _, err := tx.Exec(ctx, string(body)); err != nil {
		return fmt.Errorf("postgres: apply migration %s: %w", name, err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (name, applied_at) VALUES ($1, $2)`, name, now); err != nil {
		return fmt.Errorf("postgres: record migration %s: %w", name, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("postgres: commit migration %s: %w", name, err)
	}
	return nil
}

// trigramIndex serves substring ("contains") search. It needs the pg_trgm
// extension, which is trusted (a database owner may create it) since
// PostgreSQL 13 and offered by the managed services, but which a server
// may still lack. So it is not a migration: Open creates it when it can,
// and otherwise a contains search reads the rows (still correct, slower at
// scale) and a warning says why.
const trigramIndex = "certificates_names_trgm"

func ensureTrigramIndex(ctx context.Context, conn *pgx.Conn, log *slog.Logger) (bool, error) {
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, trigramIndex).Scan(&exists); err != nil {
		return false, fmt.Errorf("postgres: look for the trigram index: %w", err)
	}
	if exists {
		return true, nil
	}
	if _, err := conn.Exec(ctx, `CREATE EXTENSION IF NOT EXISTS pg_trgm`); err != nil {
		log.Warn("pg_trgm is not available: certificate substring search will scan rows", "err", err)
		return false, nil
	}
	// Building it over an existing inventory blocks writes meanwhile; that
	// happens once, when pg_trgm first becomes available.
	if _, err := conn.Exec(ctx, `CREATE INDEX IF NOT EXISTS `+trigramIndex+
		` ON certificates USING gin ((`+trigramExpr+`) gin_trgm_ops)`); err != nil {
		return false, fmt.Errorf("postgres: create the trigram index: %w", err)
	}
	return true, nil
}
