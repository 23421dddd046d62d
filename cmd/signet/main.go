// Command signet is Signet's single binary: the server (`signet serve`) and
// the command-line client for its REST API.
package main

import (
	"context"
	"os"

	"github.com/signet-pki/signet/internal/cli"
)

func main() {
	os.Exit(cli.Execute(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}
