package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/vetrina/vetrina/store"
)

func runMigrate(ctx context.Context, log *slog.Logger, args []string) error {
	f := newFlags("migrate", "Creates the database and applies the schema migrations not yet applied.")
	ch := f.clickhouse("127.0.0.1:9000")
	print := f.Bool("print", false, "print the migrations' SQL for this layout (with --clickhouse-cluster: the cluster form) instead of applying it")
	if err := f.parse(args); err != nil {
		return err
	}
	if *print {
		return printMigrations(os.Stdout, *ch.database, *ch.cluster, *ch.clusterMode)
	}
	st, err := openStore(ch, 0)
	if err != nil {
		return err
	}
	defer st.Close()
	applied, err := st.Migrate(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("database %s: applied migrations %v\n", st.Database(), applied)
	return nil
}

// printMigrations writes every migration's statements, as Migrate would
// run them, to w.
func printMigrations(w io.Writer, db, cluster, mode string) error {
	migs, err := store.Migrations(db)
	if cluster != "" {
		migs, err = store.ClusterMigrations(db, cluster, mode)
	}
	if err != nil {
		return err
	}
	for _, m := range migs {
		fmt.Fprintf(w, "-- migration %d: %s\n", m.Version, m.Name)
		for _, stmt := range m.Statements {
			fmt.Fprintf(w, "%s;\n\n", stmt)
		}
	}
	return nil
}
