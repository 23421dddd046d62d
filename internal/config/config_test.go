package config

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestLoadFileAndValidate(t *testing.T) {
	tests := []struct {
		name, yaml string
		wantErr    bool
		check      func(t *testing.T, c Config)
	}{
		{"durations", "crl_validity: 12h\ncrl_interval: 15m\ncrl_expired_grace: 720h\nocsp_signing: delegated\n", false, func(t *testing.T, c Config) {
			if c.CRLValidity != 12*time.Hour || c.CRLInterval != 15*time.Minute || c.CRLExpiredGrace != 30*24*time.Hour || c.OCSPSigning != "delegated" {
				t.Errorf("got %+v", c)
			}
		}},
		{"bad duration", "crl_validity: soon\n", true, nil},
		{"negative duration", "crl_interval: -1h\n", true, nil},
		{"bad signing mode", "ocsp_signing: hsm\n", true, nil},
		{"bad listen", "listen: nowhere\n", true, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "signet.yaml")
			if err := os.WriteFile(path, []byte(tc.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			c := Defaults()
			err := c.LoadFile(path)
			if err == nil {
				err = c.Validate()
			}
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if tc.check != nil {
				tc.check(t, c)
			}
		})
	}
}
