package cli

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/signet-pki/signet/internal/audit"
	"github.com/signet-pki/signet/internal/config"
	"github.com/signet-pki/signet/internal/store/sqlite"
)

// newBackupCmd is `signet backup`: an online, consistent snapshot of a data
// directory's database, taken while the server keeps serving.
func newBackupCmd() *cobra.Command {
	var dataDir, out string
	cmd := &cobra.Command{Use: "backup", Short: "Write a consistent snapshot of the database (safe while the server runs)", Args: cobra.NoArgs,
		Example: "  signet backup --data-dir ./signet-data --out signet-$(date +%F).db",
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				out = "signet-backup-" + time.Now().UTC().Format("20060102T150405Z") + ".db"
			}
			src := (&config.Config{DataDir: dataDir}).DatabasePath()
			if err := sqlite.Backup(cmd.Context(), src, out); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "backup written to %s\n", out)
			fmt.Fprintln(cmd.ErrOrStderr(), "CA keys inside are sealed: keep SIGNET_KEY_PASSPHRASE (or the data directory's ca-passphrase file) to restore them.")
			return nil
		}}
	cmd.Flags().StringVar(&dataDir, "data-dir", "signet-data", "data directory to back up")
	cmd.Flags().StringVar(&out, "out", "", "snapshot file to write (default: signet-backup-<time>.db)")
	return cmd
}

// newRestoreCmd is `signet restore`: a snapshot becomes the database of an
// empty data directory, checked for integrity and an intact audit chain.
func newRestoreCmd() *cobra.Command {
	var dataDir, from string
	cmd := &cobra.Command{Use: "restore", Short: "Install a snapshot as the database of a new data directory", Args: cobra.NoArgs,
		Example: "  signet restore --from signet-2026-11-29.db --data-dir ./signet-data",
		RunE: func(cmd *cobra.Command, _ []string) error {
			if from == "" {
				return usagef("--from is required")
			}
			dst := (&config.Config{DataDir: dataDir}).DatabasePath()
			if err := sqlite.Restore(cmd.Context(), from, dst); err != nil {
				return err
			}
			st, err := sqlite.Open(cmd.Context(), dst, sqlite.Options{})
			if err != nil {
				return fmt.Errorf("open restored database: %w", err)
			}
			res, err := audit.Verify(cmd.Context(), st)
			if err = errors.Join(err, st.Close()); err != nil {
				return err
			}
			if !res.OK {
				return fmt.Errorf("restored, but the audit chain is broken at event %d: %s", res.FirstBad, res.Problem)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "restored %s into %s: integrity ok, audit chain intact (%d events)\n", from, dataDir, res.Checked)
			fmt.Fprintln(cmd.ErrOrStderr(), "Start the server with the same SIGNET_KEY_PASSPHRASE (or copy the ca-passphrase file) to unseal the CA keys.")
			return nil
		}}
	cmd.Flags().StringVar(&dataDir, "data-dir", "signet-data", "empty data directory to restore into")
	cmd.Flags().StringVar(&from, "from", "", "snapshot written by signet backup")
	return cmd
}
