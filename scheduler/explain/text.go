package explain

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// Text writes r for a terminal: the pod and its queue state, the decision, the summary, then
// the listed nodes, one line each.
func (r *Report) Text(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "pod %s/%s (profile %s)\n", r.Pod.Namespace, r.Pod.Name, r.Profile)
	if q := r.Queue; q != nil {
		fmt.Fprintf(&b, "queue: %s, %d attempt(s)", q.State, q.Attempts)
		if q.LastAttempt != nil {
			fmt.Fprintf(&b, ", last at %s", q.LastAttempt.UTC().Format(time.RFC3339))
		}
		b.WriteString("\n")
		if q.LastMessage != "" {
			fmt.Fprintf(&b, "last message: %s\n", q.LastMessage)
		}
	}
	if len(r.Gates) > 0 {
		fmt.Fprintf(&b, "scheduling gates: %s (not tried until they are removed; below is what would happen then)\n", strings.Join(r.Gates, ", "))
	}
	if r.BoundTo != "" {
		fmt.Fprintf(&b, "bound to %s; the decision below is recomputed on today's cluster without the pod\n", r.BoundTo)
	}
	d := r.Decision
	switch {
	case d.Error:
		fmt.Fprintf(&b, "decision: error: %s\n", d.Message)
	case d.Node == "":
		fmt.Fprintf(&b, "decision: fits no node: %s\n", d.Message)
	case d.Nominated:
		fmt.Fprintf(&b, "decision: %s (its nominated node, taken without ranking)\n", d.Node)
	default:
		fmt.Fprintf(&b, "decision: %s\n", d.Node)
	}
	fmt.Fprintf(&b, "nodes: %d, feasible: %d, ranked sample: %d\n", d.Nodes, d.Feasible, d.Sample)
	if len(r.Summary.Groups) > 0 {
		b.WriteString("rejected:\n")
		for _, g := range r.Summary.Groups {
			fmt.Fprintf(&b, "  %d  %s: %s\n", g.Count, g.Plugin, g.Reason)
		}
	}
	if len(r.Summary.Hints) > 0 {
		b.WriteString("would fit if:\n")
		for _, h := range r.Summary.Hints {
			fmt.Fprintf(&b, "  - %s\n", h)
		}
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("writing the report: %w", err)
	}
	return r.textNodes(w)
}

func (r *Report) textNodes(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if len(r.Feasible) > 0 {
		fmt.Fprintf(tw, "\nFEASIBLE\tTOTAL\tSCORES (plugin raw/normalised x weight)\n")
		for _, n := range r.Feasible {
			name := n.Name
			if n.Chosen {
				name += " *"
			}
			if !n.Ranked {
				fmt.Fprintf(tw, "%s\t-\toutside the ranked sample\n", name)
				continue
			}
			parts := make([]string, 0, len(n.Scores))
			for _, s := range n.Scores {
				parts = append(parts, fmt.Sprintf("%s %d/%d x%d", s.Plugin, s.Raw, s.Normalized, s.Weight))
			}
			fmt.Fprintf(tw, "%s\t%d\t%s\n", name, n.Total, strings.Join(parts, ", "))
		}
	}
	if len(r.Rejected) > 0 {
		fmt.Fprintf(tw, "\nREJECTED\tPLUGIN\tREASON\n")
		for _, n := range r.Rejected {
			why := strings.Join(n.Reasons, ", ")
			if len(n.Missing) > 0 {
				why += " (" + strings.Join(n.Missing, "; ") + ")"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\n", n.Name, n.RejectedBy, why)
		}
	}
	if r.Omitted > 0 {
		fmt.Fprintf(tw, "\n(%d more nodes not listed; ?nodes=a,b lists given nodes)\n", r.Omitted)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("writing the report: %w", err)
	}
	return nil
}

// PendingText writes the pending pods as a table.
func PendingText(w io.Writer, pods []Pending) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "NAMESPACE\tNAME\tPROFILE\tQUEUE\tATTEMPTS\tAGE\tLAST MESSAGE\n")
	for _, p := range pods {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", p.Namespace, p.Name, p.Profile, p.State, p.Attempts, p.Age, p.LastMessage)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("writing the pending pods: %w", err)
	}
	return nil
}
