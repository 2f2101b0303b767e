package backtest

import (
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
	"time"
)

// WriteTable writes the report as plain-text tables: the prediction metrics
// per predictor, then the plan regret per origin.
func (r *Report) WriteTable(out io.Writer) error {
	days := r.SimEnd.Sub(r.SimStart).Hours() / 24
	var b strings.Builder
	fmt.Fprintf(&b, "Matching back-test: simulator seed %d, %d events over %.1f simulated days; %d users, %d brands × %d products, %d influencers; %d lives, %d sponsored\n",
		r.Seed, r.Events, days, r.World.Users, r.World.Brands, r.World.ProductsPerBrand, r.World.Influencers, r.AllLives, r.SponsoredLives)
	var fr []string
	for _, o := range r.Origins {
		fr = append(fr, trimFloat(o.Fraction))
	}
	fmt.Fprintf(&b, "Origins at %s of the timeline, each predicting the sponsored lives of the next %.1f days from profiles frozen at the cut: %d lives\n",
		strings.Join(fr, ", "), r.Horizon*days, len(r.Lives))
	fmt.Fprintf(&b, "Spearman and WAPE against the realised GMV of each live (and against its true expected GMV), 95%% bootstrap intervals over lives\n\n")
	if _, err := io.WriteString(out, b.String()); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "predictor\tSpearman\t95% CI\tSpearman vs E[GMV]\tWAPE\t95% CI\tWAPE vs E[GMV]\tP10–P90 coverage\tlives\tplan regret\t")
	for _, row := range r.Rows {
		cov := "–"
		if row.Coverage != nil {
			cov = fmt.Sprintf("%.3f [%.3f, %.3f]", row.Coverage.Value, row.Coverage.Lo, row.Coverage.Hi)
		}
		fmt.Fprintf(tw, "%s\t%.3f\t[%.3f, %.3f]\t%.3f\t%.3f\t[%.3f, %.3f]\t%.3f\t%s\t%d\t%s\t\n",
			row.Name, row.Spearman.Value, row.Spearman.Lo, row.Spearman.Hi, row.SpearmanTrue.Value,
			row.WAPE.Value, row.WAPE.Lo, row.WAPE.Hi, row.WAPETrue, cov, row.Lives, pct(row.Regret))
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	fmt.Fprintf(out, "\nPlans at each origin: the window's brands want 2–3 lives within a budget of 0.75–1.5 median fees per live; every influencer with a fee\n"+
		"offers 1–2 lives. Each plan is solved with the predictor's scores and valued at the true expected GMV; regret = 1 − value / oracle plan's value.\n\n")
	tw = tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprint(tw, "origin\tcut\tbrands\tlives wanted\toracle value\toracle solve\t")
	for _, name := range Predictors[:len(Predictors)-1] {
		fmt.Fprintf(tw, "%s\t", name)
	}
	fmt.Fprintln(tw)
	for _, o := range r.Origins {
		solve := o.Plan.OracleMethod
		if o.Plan.OracleExact {
			solve += ", exact"
		} else {
			solve += fmt.Sprintf(", gap %.2g", o.Plan.OracleGap)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%.0f\t%s\t", trimFloat(o.Fraction), o.Cut.Format(time.DateTime), o.Plan.Brands, o.Plan.LivesWanted,
			o.Plan.Value[Oracle], solve)
		for _, name := range Predictors[:len(Predictors)-1] {
			fmt.Fprintf(tw, "%s\t", pct(o.Plan.Regret[name]))
		}
		fmt.Fprintln(tw)
	}
	return tw.Flush()
}

func pct(v float64) string {
	if math.IsNaN(v) {
		return "–"
	}
	return fmt.Sprintf("%.1f%%", 100*v)
}

func trimFloat(v float64) string { return fmt.Sprintf("%g", v) }
