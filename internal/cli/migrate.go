package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/signet-pki/signet/internal/app"
	"github.com/signet-pki/signet/internal/audit"
	"github.com/signet-pki/signet/internal/store/transfer"
)

// newMigrateCmd is `signet migrate`: copy everything from one store into an
// empty other one, then verify the copy's audit chain.
func newMigrateCmd() *cobra.Command {
	var from, to string
	cmd := &cobra.Command{Use: "migrate", Short: "Copy all data into an empty database (e.g. SQLite to PostgreSQL) and verify it",
		Args: cobra.NoArgs,
		Example: "  signet migrate --from sqlite:./signet-data --to postgres://signet@db/signet\n" +
			"  signet migrate --from ./signet-data --to sqlite:./copy/signet.db",
		RunE: func(cmd *cobra.Command, _ []string) error {
			if from == "" || to == "" {
				return usagef("--from and --to are required")
			}
			ctx := cmd.Context()
			now := func() time.Time { return time.Now().UTC() }
			src, err := app.OpenStore(ctx, from, now)
			if err != nil {
				return fmt.Errorf("open source: %w", err)
			}
			defer src.Close()
			dst, err := app.OpenStore(ctx, to, now)
			if err != nil {
				return fmt.Errorf("open target: %w", err)
			}
			rep, err := transfer.Copy(ctx, src, dst)
			if err != nil {
				return errors.Join(err, dst.Close())
			}
			res, err := audit.Verify(ctx, dst)
			if err = errors.Join(err, dst.Close()); err != nil {
				return err
			}
			if !res.OK {
				return fmt.Errorf("copied, but the target's audit chain is broken at event %d: %s", res.FirstBad, res.Problem)
			}
			b, _ := json.MarshalIndent(rep.Counts, "", "  ")
			fmt.Fprintf(cmd.OutOrStdout(), "copied %s\naudit chain verified on the target: %d events\n", b, res.Checked)
			return nil
		}}
	cmd.Flags().StringVar(&from, "from", "", "source: sqlite:PATH (database file or data directory) or postgres://...")
	cmd.Flags().StringVar(&to, "to", "", "empty target, same forms")
	return cmd
}
