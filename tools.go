//go:build tools

package tools

import (
	_ "github.com/jackc/pgx/v5"
	_ "github.com/smallstep/pkcs7"
	_ "github.com/spf13/cobra"
	_ "github.com/titanous/rocacheck"
	_ "github.com/zmap/zlint/v3"
	_ "golang.org/x/crypto/argon2"
	_ "golang.org/x/crypto/scrypt"
	_ "gopkg.in/yaml.v3"
	_ "modernc.org/sqlite"
	_ "software.sslmate.com/src/go-pkcs12"
)
