package keystore

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/signet-pki/signet/internal/problem"
)

func TestLoadPassphraseEnvWins(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ca-passphrase")
	if err := os.WriteFile(path, []byte("from the file, long enough\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := LoadPassphrase("from the environment", path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "from the environment" {
		t.Fatalf("got %q", got)
	}
	// The env value is used as given; the (badly permissioned) file is not touched.
	missing := filepath.Join(t.TempDir(), "absent")
	if _, err := LoadPassphrase("from the environment", missing); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Fatalf("key file was created although the environment set a passphrase: %v", err)
	}
}

func TestLoadPassphraseCreatesFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ca-passphrase")
	first, err := LoadPassphrase("", path)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base64.RawURLEncoding.DecodeString(string(first))
	if err != nil || len(raw) != 32 {
		t.Fatalf("generated passphrase %q: %d bytes, %v; want 32 random bytes base64url", first, len(raw), err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %#o, want 0600", st.Mode().Perm())
	}
	onDisk, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(onDisk) != string(first)+"\n" {
		t.Fatalf("file holds %q, want %q plus newline", onDisk, first)
	}
	for range 2 {
		again, err := LoadPassphrase("", path)
		if err != nil {
			t.Fatal(err)
		}
		if string(again) != string(first) {
			t.Fatalf("passphrase changed between calls: %q then %q", first, again)
		}
	}
	if _, err := NewSealer(first); err != nil {
		t.Fatalf("generated passphrase rejected by NewSealer: %v", err)
	}
	other, err := LoadPassphrase("", filepath.Join(t.TempDir(), "ca-passphrase"))
	if err != nil {
		t.Fatal(err)
	}
	if string(other) == string(first) {
		t.Fatal("two generated passphrases are equal")
	}
}

func TestLoadPassphraseFile(t *testing.T) {
	tests := []struct {
		name     string
		content  string
		mode     os.FileMode
		want     string
		code     string // "" when the load succeeds
		unixOnly bool
	}{
		{name: "trailing newline trimmed", content: "an operator's passphrase\n", mode: 0o600, want: "an operator's passphrase"},
		{name: "CRLF trimmed", content: "an operator's passphrase\r\n", mode: 0o600, want: "an operator's passphrase"},
		{name: "no newline", content: "an operator's passphrase", mode: 0o600, want: "an operator's passphrase"},
		{name: "inner spaces kept", content: " spaced  out \n", mode: 0o600, want: " spaced  out "},
		{name: "read-only for owner", content: "an operator's passphrase\n", mode: 0o400, want: "an operator's passphrase"},
		{name: "world readable", content: "an operator's passphrase\n", mode: 0o644, code: "key_file_permissions", unixOnly: true},
		{name: "group readable", content: "an operator's passphrase\n", mode: 0o640, code: "key_file_permissions", unixOnly: true},
		{name: "other writable", content: "an operator's passphrase\n", mode: 0o602, code: "key_file_permissions", unixOnly: true},
		{name: "empty", content: "", mode: 0o600, code: "key_file_invalid"},
		{name: "only newline", content: "\n", mode: 0o600, code: "key_file_invalid"},
		{name: "too large", content: string(make([]byte, maxKeyFileLen+1)), mode: 0o600, code: "key_file_invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.unixOnly && runtime.GOOS == "windows" {
				t.Skip("no Unix permission bits")
			}
			path := filepath.Join(t.TempDir(), "ca-passphrase")
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, tt.mode); err != nil { // exact mode, whatever the umask
				t.Fatal(err)
			}
			got, err := LoadPassphrase("", path)
			if tt.code != "" {
				if !problem.Is(err, tt.code) {
					t.Fatalf("got %q, %v; want code %s", got, err, tt.code)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestLoadPassphraseNotAFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	_, err := LoadPassphrase("", dir)
	if !problem.Is(err, "key_file_invalid") {
		t.Fatalf("got %v, want key_file_invalid", err)
	}
	// A missing parent directory is an error, not a silently empty passphrase.
	if _, err := LoadPassphrase("", filepath.Join(dir, "missing", "ca-passphrase")); err == nil {
		t.Fatal("want an error for a key file in a missing directory")
	}
}
