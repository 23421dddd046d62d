package cli

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	keystore "github.com/pavlo-v-chernykh/keystore-go/v4"
	"software.sslmate.com/src/go-pkcs12"

	"github.com/signet-pki/signet/internal/certutil"
)

// collectCertificates reads certificates from files and directory trees:
// PEM (certificate blocks only: private keys are never read out), DER, and
// PKCS#12 key stores with password. Unreadable files are reported, not fatal.
func collectCertificates(paths []string, password string) (bundle []byte, notes []string, err error) {
	var out bytes.Buffer
	seen := map[string]bool{}
	add := func(der []byte) {
		if !seen[string(der)] {
			seen[string(der)] = true
			_ = pem.Encode(&out, &pem.Block{Type: "CERTIFICATE", Bytes: der})
		}
	}
	for _, root := range paths {
		info, err := os.Stat(root)
		if err != nil {
			return nil, nil, err
		}
		if !info.IsDir() {
			notes = append(notes, readCertFile(root, password, add)...)
			continue
		}
		err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				notes = append(notes, fmt.Sprintf("%s: %v", path, err))
				return nil
			}
			if d.IsDir() || d.Type()&fs.ModeSymlink != 0 {
				return nil
			}
			if fi, err := d.Info(); err != nil || fi.Size() > maxInputFile {
				notes = append(notes, path+": skipped (unreadable or larger than the import limit)")
				return nil
			}
			notes = append(notes, readCertFile(path, password, add)...)
			return nil
		})
		if err != nil {
			return nil, nil, err
		}
	}
	return out.Bytes(), notes, nil
}

func readCertFile(path, password string, add func([]byte)) []string {
	data, err := os.ReadFile(path)
	if err != nil {
		return []string{fmt.Sprintf("%s: %v", path, err)}
	}
	if bytes.Contains(data, []byte("-----BEGIN")) {
		found := 0
		for rest := data; ; {
			var blk *pem.Block
			blk, rest = pem.Decode(rest)
			if blk == nil {
				break
			}
			switch blk.Type {
			case "CERTIFICATE", "TRUSTED CERTIFICATE":
				if _, err := x509.ParseCertificate(blk.Bytes); err == nil {
					add(blk.Bytes)
					found++
				}
			case "PKCS7", "CMS":
				if certs, err := certutil.PKCS7Certificates(blk.Bytes); err == nil {
					for _, c := range certs {
						add(c.Raw)
						found++
					}
				}
			}
		}
		if found == 0 {
			return []string{path + ": no certificate in this PEM file"}
		}
		return nil
	}
	if c, err := x509.ParseCertificate(data); err == nil {
		add(c.Raw)
		return nil
	}
	if certs, err := certutil.PKCS7Certificates(data); err == nil { // a DER .p7b
		for _, c := range certs {
			add(c.Raw)
		}
		return nil
	}
	if bytes.HasPrefix(data, jksMagic) {
		return readJKS(path, data, password, add)
	}
	ext := strings.ToLower(filepath.Ext(path))
	if ext == ".p12" || ext == ".pfx" {
		if _, leaf, cas, err := pkcs12.DecodeChain(data, password); err == nil {
			add(leaf.Raw)
			for _, c := range cas {
				add(c.Raw)
			}
			return nil
		}
		if certs, err := pkcs12.DecodeTrustStore(data, password); err == nil {
			for _, c := range certs {
				add(c.Raw)
			}
			return nil
		}
		return []string{path + ": not a PKCS#12 store this password opens (see --password)"}
	}
	return nil // not a certificate file: silently ignored in directory walks
}

// jksMagic starts every Java KeyStore (JKS) file.
var jksMagic = []byte{0xfe, 0xed, 0xfe, 0xed}

// readJKS adds the certificates of a Java KeyStore: trusted certificate
// entries and the chains of private key entries (whose keys are not read).
// The password checks the store's integrity, as keytool does.
func readJKS(path string, data []byte, password string, add func([]byte)) []string {
	ks := keystore.New()
	if err := ks.Load(bytes.NewReader(data), []byte(password)); err != nil {
		return []string{fmt.Sprintf("%s: not a Java KeyStore this password opens (see --password): %v", path, err)}
	}
	var notes []string
	for _, alias := range ks.Aliases() {
		var chain []keystore.Certificate
		if e, err := ks.GetTrustedCertificateEntry(alias); err == nil {
			chain = []keystore.Certificate{e.Certificate}
		} else if chain, err = ks.GetPrivateKeyEntryCertificateChain(alias); err != nil {
			notes = append(notes, fmt.Sprintf("%s: entry %q holds no certificate", path, alias))
			continue
		}
		for _, c := range chain {
			if _, err := x509.ParseCertificate(c.Content); err != nil {
				notes = append(notes, fmt.Sprintf("%s: entry %q: %v", path, alias, err))
				continue
			}
			add(c.Content)
		}
	}
	return notes
}
