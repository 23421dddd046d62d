package keystore

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/signet-pki/signet/internal/problem"
)

// LoadPassphrase returns envValue when set; otherwise it reads the key file
// at path, creating it with a random passphrase (mode 0600, O_EXCL so it is
// never world-readable, not even briefly) when it does not exist. A file
// readable by group or others is refused.
func LoadPassphrase(envValue, path string) ([]byte, error) {
	if envValue != "" {
		return []byte(envValue), nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return createKeyFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("read key file: %w", err)
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("stat key file: %w", err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, problem.Invalid("key_file_permissions", "key file %s has mode %v; it must not be readable by group or others (chmod 600)", path, st.Mode().Perm())
	}
	return bytes.TrimRight(b, "\r\n"), nil
}

func createKeyFile(path string) ([]byte, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return nil, fmt.Errorf("generate passphrase: %w", err)
	}
	pass := []byte(base64.RawURLEncoding.EncodeToString(raw))
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create key file: %w", err)
	}
	if _, err := f.Write(append(pass, '\n')); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("write key file: %w", err)
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("sync key file: %w", err)
	}
	return pass, f.Close()
}
