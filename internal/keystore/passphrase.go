package keystore

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"

	"github.com/signet-pki/signet/internal/problem"
)

// maxKeyFileLen bounds how much of a key file is read.
const maxKeyFileLen = 4 << 10

// LoadPassphrase returns the CA key passphrase: envValue when it is set,
// otherwise the contents of the key file at path (trailing newline trimmed).
// When the file does not exist it is created with a random passphrase
// (32 random bytes, base64url), mode 0600 and O_EXCL, so it is never
// readable by others, not even briefly. An existing file readable or
// writable by group or others is refused ("key_file_permissions") before
// it is read.
func LoadPassphrase(envValue, path string) ([]byte, error) {
	if envValue != "" {
		return []byte(envValue), nil
	}
	pass, err := readKeyFile(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return pass, err
	}
	pass, err = createKeyFile(path)
	if errors.Is(err, fs.ErrExist) {
		// Another process created it between our read and our create.
		return readKeyFile(path)
	}
	return pass, err
}

func readKeyFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open key file: %w", err)
	}
	defer f.Close()
	st, err := f.Stat() // the file we opened, not whatever path names now
	if err != nil {
		return nil, fmt.Errorf("stat key file: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, problem.Invalid("key_file_invalid", "key file %s is not a regular file", path)
	}
	if perm := st.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
		return nil, problem.Invalid("key_file_permissions",
			"key file %s has mode %#o; it must not be accessible to group or others (chmod 600 %s)", path, perm, path)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxKeyFileLen+1))
	if err != nil {
		return nil, fmt.Errorf("read key file: %w", err)
	}
	if len(b) > maxKeyFileLen {
		clear(b)
		return nil, problem.Invalid("key_file_invalid", "key file %s is larger than %d bytes", path, maxKeyFileLen)
	}
	pass := bytes.TrimRight(b, "\r\n")
	if len(pass) == 0 {
		return nil, problem.Invalid("key_file_invalid",
			"key file %s is empty; if no CA key was ever sealed with it, delete it to generate a new one", path)
	}
	return pass, nil
}

// createKeyFile writes a fresh random passphrase to path, failing with an
// fs.ErrExist error when the file already exists. A partly written file is
// removed, so a failed start does not leave an unusable key file behind.
func createKeyFile(path string) ([]byte, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return nil, fmt.Errorf("generate passphrase: %w", err)
	}
	pass := make([]byte, base64.RawURLEncoding.EncodedLen(len(raw)), base64.RawURLEncoding.EncodedLen(len(raw))+1)
	base64.RawURLEncoding.Encode(pass, raw)
	clear(raw)

	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create key file: %w", err)
	}
	if err := writeAndSync(f, append(pass, '\n')); err != nil {
		_ = os.Remove(path)
		return nil, fmt.Errorf("write key file %s: %w", path, err)
	}
	syncDir(filepath.Dir(path))
	return pass, nil
}

func writeAndSync(f *os.File, b []byte) error {
	_, err := f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// syncDir makes the new directory entry durable: losing the key file after a
// crash would make every CA key sealed with it unrecoverable. Best effort,
// since some platforms cannot sync a directory.
func syncDir(dir string) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	_ = d.Sync()
	_ = d.Close()
}
