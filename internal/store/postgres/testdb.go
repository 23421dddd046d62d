package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// DefaultTestAdminURL is the server tests use when SIGNET_TEST_POSTGRES_URL
// is not set: a local PostgreSQL accepting the current user without a
// password.
const DefaultTestAdminURL = "postgres://root@127.0.0.1:5432/postgres?sslmode=disable"

// TestAdminURLEnv names the environment variable holding the URL of a
// database tests may connect to and create databases from.
const TestAdminURLEnv = "SIGNET_TEST_POSTGRES_URL"

// NewTestDatabase creates an empty database for one test and returns its
// URL; the database is dropped (WITH (FORCE), so leftover connections do
// not keep it) when the test ends. Without a reachable server the test is
// skipped, unless the environment says it runs in CI (CI=true), where a
// missing database is a broken pipeline and the test fails.
func NewTestDatabase(t testing.TB) string {
	t.Helper()
	admin := os.Getenv(TestAdminURLEnv)
	if admin == "" {
		admin = DefaultTestAdminURL
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		unreachable(t, admin, err)
	}
	defer func() { _ = conn.Close(context.Background()) }()

	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "signet_test_" + hex.EncodeToString(b[:])
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("postgres: create test database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, admin)
		if err != nil {
			t.Errorf("postgres: drop test database %s: %v", name, err)
			return
		}
		defer func() { _ = conn.Close(context.Background()) }()
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("postgres: drop test database %s: %v", name, err)
		}
	})
	u, err := withDatabase(admin, name)
	if err != nil {
		t.Fatalf("postgres: %s: %v", TestAdminURLEnv, err)
	}
	return u
}

func unreachable(t testing.TB, admin string, err error) {
	t.Helper()
	msg := "PostgreSQL is not reachable at " + redact(admin) + " (set " + TestAdminURLEnv + " to a server tests may " +
		"create databases on): " + err.Error()
	if ci, _ := strconv.ParseBool(os.Getenv("CI")); ci {
		t.Fatal(msg + "; CI is set, so this fails instead of skipping")
	}
	t.Skip(msg)
}

// withDatabase points a connection string (URL or key=value form) at
// another database on the same server.
func withDatabase(conn, db string) (string, error) {
	if strings.HasPrefix(conn, "postgres://") || strings.HasPrefix(conn, "postgresql://") {
		u, err := url.Parse(conn)
		if err != nil {
			return "", err
		}
		u.Path, u.RawPath = "/"+db, ""
		return u.String(), nil
	}
	return conn + " dbname=" + db, nil // the last dbname setting wins
}

// redact hides a password in a connection string meant for a message.
func redact(conn string) string {
	if !strings.Contains(conn, "://") {
		fields := strings.Fields(conn)
		for i, f := range fields {
			if strings.HasPrefix(f, "password=") {
				fields[i] = "password=xxxxx"
			}
		}
		return strings.Join(fields, " ")
	}
	u, err := url.Parse(conn)
	if err != nil || u.User == nil {
		return conn
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}
