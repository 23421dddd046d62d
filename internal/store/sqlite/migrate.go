package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"time"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrate applies the embedded migrations in name order, each once and each
// in its own transaction, recording them in schema_migrations. A database
// carrying a migration this binary does not know was written by another
// (newer, or pre-release) Signet; opening it could misread it, so that fails.
func migrate(ctx context.Context, conn *sql.Conn, clock func() time.Time) error {
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		name TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	names, err := fs.Glob(migrationFiles, "migrations/*.sql")
	if err != nil {
		return fmt.Errorf("list migrations: %w", err)
	}
	slices.Sort(names)
	applied, err := appliedMigrations(ctx, conn)
	if err != nil {
		return err
	}
	for name := range applied {
		if !slices.Contains(names, name) {
			return fmt.Errorf("database has migration %s, which this version of Signet does not know", name)
		}
	}
	for _, name := range names {
		if applied[name] {
			continue
		}
		if err := applyMigration(ctx, conn, name, clock()); err != nil {
			return err
		}
	}
	return nil
}

func appliedMigrations(ctx context.Context, conn *sql.Conn) (map[string]bool, error) {
	rows, err := conn.QueryContext(ctx, `SELECT name FROM schema_migrations`)
	if err != nil {
		return nil, fmt.Errorf("read schema_migrations: %w", err)
	}
	defer rows.Close()
	applied := map[string]bool{}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, fmt.Errorf("read schema_migrations: %w", err)
		}
		applied[name] = true
	}
	return applied, rows.Err()
}

func applyMigration(ctx context.Context, conn *sql.Conn, name string, now time.Time) (err error) {
	body, err := migrationFiles.ReadFile(name)
	if err != nil {
		return fmt.Errorf("read migration %s: %w", name, err)
	}
	// IMMEDIATE: two processes opening a fresh file at once serialize here,
	// and the loser finds the migration recorded.
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return fmt.Errorf("begin migration %s: %w", name, err)
	}
	defer func() {
		if err != nil {
			_, rbErr := conn.ExecContext(context.Background(), "ROLLBACK")
			err = errors.Join(err, rbErr)
		}
	}()
	var done int
	if err := conn.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE name = ?`, name).Scan(&done); err != nil {
		return fmt.Errorf("check migration %s: %w", name, err)
	}
	if done == 0 {
		if _, err := conn.ExecContext(ctx, string(body)); err != nil {
			return fmt.Errorf("apply migration %s: %w", name, err)
		}
		if _, err := conn.ExecContext(ctx, `INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)`,
			name, toDB(now)); err != nil {
			return fmt.Errorf("record migration %s: %w", name, err)
		}
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		return fmt.Errorf("commit migration %s: %w", name, err)
	}
	return nil
}

// Ready reports whether the store can serve: the database answers and every
// migration this binary knows has been applied (another node may have
// migrated further, which Open refuses, or a restore may have gone back).
func (s *Store) Ready(ctx context.Context) error {
	conn, err := s.read.Conn(ctx)
	if err != nil {
		return fmt.Errorf("database unreachable: %w", err)
	}
	defer conn.Close()
	applied, err := appliedMigrations(ctx, conn)
	if err != nil {
		return err
	}
	names, err := fs.Glob(migrationFiles, "migrations/*.sql")
	if err != nil {
		return fmt.Errorf("list migrations: %w", err)
	}
	for _, name := range names {
		if !applied[name] {
			return fmt.Errorf("migration %s is not applied", name)
		}
	}
	return nil
}

// Stats reports the read pool's state, for metrics.
func (s *Store) Stats() sql.DBStats { return s.read.Stats() }
