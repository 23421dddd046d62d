//go:build tools

package tools
import (
 _ "github.com/spf13/cobra"
 _ "modernc.org/sqlite"
 _ "github.com/jackc/pgx/v5"
 _ "github.com/zmap/zlint/v3"
 _ "github.com/titanous/rocacheck"
 _ "github.com/smallstep/pkcs7"
 _ "software.sslmate.com/src/go-pkcs12"
 _ "golang.org/x/crypto/scrypt"
 _ "golang.org/x/crypto/argon2"
 _ "gopkg.in/yaml.v3"
)

