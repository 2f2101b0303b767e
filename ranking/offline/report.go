package offline

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// WriteTable prints the report for people: the data, the cut points with
// their numbers of test users, one row per model with its metrics and 95%
// confidence intervals, and how each model compares with the baseline.
func (r *Report) WriteTable(w io.Writer) error {
	var b strings.Builder
	relevant := "unseen items"
	if r.Repeats {
		relevant = "items (bought again included, history ranked)"
	}
	fmt.Fprintf(&b, "== %s: %d interactions, %d users, %d items; relevant = %s of kind %s in the test window\n",
		r.Dataset, r.Interactions, r.Users, r.Items, relevant, r.Target)
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "origin\tcut\ttest until\ttrain interactions\tvalidation users\ttest users\trelevant items (cold)\n")
	for _, o := range r.Origins {
		fmt.Fprintf(tw, "%.2f\t%s\t%s\t%d\t%d\t%d\t%d (%d)\n", o.Fraction, o.Cut.Format("2006-01-02 15:04"),
			o.End.Format("2006-01-02 15:04"), o.TrainInteractions, o.ValidationUsers, o.TestUsers, o.Relevant, o.ColdRelevant)
	}
	tw.Flush()
	fmt.Fprintf(&b, "test users: %d evaluations of %d distinct users (horizon %.0f%% of the timeline); 95%% CIs: bootstrap over users, %d resamples\n\n",
		r.TestRows, r.TestUsers, 100*r.Horizon, r.Resamples)

	tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	header := "model\tNDCG@10 [95% CI]\tRecall@20 [95% CI]\tMRR [95% CI]\tcoverage@10"
	if r.Baseline != "" {
		header += "\tΔNDCG@10 vs " + r.Baseline + " [95% CI]"
	}
	fmt.Fprintln(tw, header+"\ttuned")
	row := func(m *ModelReport) {
		name := m.Name
		if m.Reference {
			name += " (reference)"
		}
		line := fmt.Sprintf("%s\t%s\t%s\t%s\t%.3f", name, estimate(m.NDCG), estimate(m.Recall), estimate(m.MRR), m.Coverage)
		if r.Baseline != "" {
			d := ""
			if m.VsBaseline != nil {
				d = signedEstimate(*m.VsBaseline)
			}
			line += "\t" + d
		}
		fmt.Fprintln(tw, line+"\t"+tuned(m.Params))
	}
	refs := 0
	for i := range r.Models {
		if r.Models[i].Reference {
			refs++
			continue
		}
		row(&r.Models[i])
	}
	for i := range r.Models {
		if r.Models[i].Reference {
			row(&r.Models[i])
		}
	}
	tw.Flush()
	if refs > 0 {
		b.WriteString("(reference: not a contender; scores by the simulator's true affinity, the best any model could learn)\n")
	}
	if r.Baseline != "" {
		b.WriteString("\n")
		for _, m := range r.Models {
			if m.VsBaseline == nil || m.Reference {
				continue
			}
			b.WriteString(verdict(r.Baseline, m.Name, *m.VsBaseline) + "\n")
		}
	}
	if len(r.Models) > 0 && len(r.Models[0].ByOrigin) > 1 {
		b.WriteString("\nNDCG@10 by origin")
		if r.Baseline != "" {
			fmt.Fprintf(&b, " (Δ: %s − model, paired 95%% CI over that origin's users)", r.Baseline)
		}
		b.WriteString(":\n")
		tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		fmt.Fprint(tw, "model")
		for _, o := range r.Models[0].ByOrigin {
			fmt.Fprintf(tw, "\t%.2f", o.Origin)
		}
		fmt.Fprintln(tw)
		for _, m := range r.Models {
			fmt.Fprint(tw, m.Name)
			for _, o := range m.ByOrigin {
				fmt.Fprintf(tw, "\t%.4f", o.NDCG.Mean)
				if o.VsBaseline != nil {
					fmt.Fprintf(tw, " (Δ %s)", signedEstimate(Estimate{Mean: -o.VsBaseline.Mean, Lo: -o.VsBaseline.Hi, Hi: -o.VsBaseline.Lo}))
				}
			}
			fmt.Fprintln(tw)
		}
		tw.Flush()
	}
	for _, v := range r.VsBest {
		word := "no clear difference"
		switch {
		case v.Diff.Lo > 0:
			word = "ahead"
		case v.Diff.Hi < 0:
			word = "BEHIND"
		}
		fmt.Fprintf(&b, "%.2f: %s − best other (%s) %s: %s\n", v.Origin, r.Baseline, v.Model, signedEstimate(v.Diff), word)
	}
	for _, m := range r.Models {
		if len(m.Learned) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n%s learned, per origin:\n", m.Name)
		for _, l := range m.Learned {
			fmt.Fprintf(&b, "  %.2f (%s):", l.Origin, l.How)
			for _, w := range l.Weights {
				fmt.Fprintf(&b, " %s %.3g", w.Name, w.Value)
			}
			b.WriteString("\n")
		}
	}
	fmt.Fprintf(&b, "wall time %.1fs\n", r.Seconds)
	_, err := io.WriteString(w, b.String())
	return err
}

func estimate(e Estimate) string {
	return fmt.Sprintf("%.4f [%.4f, %.4f]", e.Mean, e.Lo, e.Hi)
}

func signedEstimate(e Estimate) string {
	return fmt.Sprintf("%+.4f [%+.4f, %+.4f]", e.Mean, e.Lo, e.Hi)
}

// verdict says in words whether the baseline's NDCG@10 differs from the
// model's; d is model minus baseline.
func verdict(base, model string, d Estimate) string {
	switch {
	case d.Hi < 0:
		return fmt.Sprintf("%s beats %s: NDCG@10 +%.4f (95%% CI %.4f to %.4f)", base, model, -d.Mean, -d.Hi, -d.Lo)
	case d.Lo > 0:
		return fmt.Sprintf("%s LOSES to %s: NDCG@10 %.4f (95%% CI %.4f to %.4f)", base, model, -d.Mean, -d.Hi, -d.Lo)
	default:
		return fmt.Sprintf("%s vs %s: no clear difference, NDCG@10 %+.4f (95%% CI %+.4f to %+.4f)", base, model, -d.Mean, -d.Hi, -d.Lo)
	}
}

// tuned lists the chosen parameters, once if every cut point chose the
// same.
func tuned(ps []Params) string {
	if len(ps) == 0 {
		return "-"
	}
	same := true
	for _, p := range ps[1:] {
		if p.String() != ps[0].String() {
			same = false
		}
	}
	if same {
		return ps[0].String()
	}
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, " | ")
}
