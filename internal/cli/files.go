package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// Limits on files the client reads.
const (
	maxInputFile = 16 << 20
	maxSmallFile = 1 << 20
)

// readInput reads a file, or standard input for "-", refusing more than limit bytes.
func readInput(stdin io.Reader, path string, limit int64) ([]byte, error) {
	if path == "-" {
		return readAllLimited(stdin, "standard input", limit)
	}
	return readLimited(path, limit)
}

func readLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readAllLimited(f, path, limit)
}

func readAllLimited(r io.Reader, name string, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", name, limit)
	}
	return b, nil
}

// writeFile writes data to path with mode, which is applied from creation
// (and enforced on an existing file) so a key is never readable by others.
func writeFile(path string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	err = f.Chmod(mode)
	if err == nil {
		_, err = f.Write(data)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// checkWritable fails early when path cannot be created, before a request
// whose answer (a private key) cannot be fetched a second time.
func checkWritable(path string) error {
	if path == "" {
		return nil
	}
	_, statErr := os.Stat(path)
	existed := statErr == nil
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	_ = f.Close()
	if !existed {
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("cannot write %s: %w", path, err)
		}
	}
	return nil
}
