// Command signet is Signet's single binary: the server (`signet serve`) and
// the command-line client for its REST API.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/signet-pki/signet/internal/cli"
)

func main() {
	cmd, err := cli.NewRoot().ExecuteContextC(context.Background())
	if err == nil {
		return
	}
	fmt.Fprintln(os.Stderr, "error:", err)
	code := cli.ExitCode(err)
	if code == 2 && cmd != nil {
		fmt.Fprintf(os.Stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
	}
	os.Exit(code)
}
